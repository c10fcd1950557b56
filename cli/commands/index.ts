// The user-facing commands that talk to a cluster through the Kubernetes API
// (apply, get, delete, …), added to the `shoal` program by registerKubeCommands.

import type { Command } from 'commander';
import { registerApply } from './apply.js';
import { registerDelete } from './delete.js';
import { registerGet } from './get.js';
import { processIO, type KubeIO } from './io.js';
import { registerAnnotate, registerLabel } from './metadata.js';
import { registerScale } from './scale.js';

export type { KubeIO } from './io.js';
export { processIO } from './io.js';
export { CliError, ApiStatusError, ReportedError, reportKubeError } from './errors.js';

export interface KubeCommandsOptions {
  /** Where commands read and write; the process's stdio by default. */
  io?: KubeIO;
}

/** Adds the kube commands to `program`; each has --kubeconfig, --context and -n. */
export function registerKubeCommands(program: Command, opts: KubeCommandsOptions = {}): void {
  const io = opts.io ?? processIO();
  registerApply(program, io);
  registerGet(program, io);
  registerDelete(program, io);
  registerScale(program, io);
  registerLabel(program, io);
  registerAnnotate(program, io);
}
