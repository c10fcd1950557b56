// The user-facing commands that talk to a cluster through the Kubernetes API
// (apply, get, delete, …), added to the `shoal` program by registerKubeCommands.

import type { Command } from 'commander';
import { registerApply } from './apply.js';
import { registerCompletion } from './completion.js';
import { registerCompose } from './compose.js';
import { registerConfig } from './config.js';
import { registerDescribe } from './describe.js';
import { registerDiff } from './diff.js';
import { registerDelete } from './delete.js';
import { registerDrain } from './drain.js';
import { registerLogs } from './logs.js';
import { registerGet } from './get.js';
import { processIO, type KubeIO } from './io.js';
import { registerAnnotate, registerLabel } from './metadata.js';
import { registerRollout } from './rollout.js';
import { registerScale } from './scale.js';
import { registerVersion } from './version.js';

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
  registerDrain(program, io);
  registerRollout(program, io);
  registerLogs(program, io);
  registerDescribe(program, io);
  registerDiff(program, io);
  registerConfig(program, io);
  registerVersion(program, io);
  registerCompletion(program, io);
  registerCompose(program, io);
}
