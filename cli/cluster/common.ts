// What `up`, `down` and `status` share: their options, where they write, the
// root check, and the layout of an existing cluster read from its state.

import type { Writable } from 'node:stream';
import {
  clusterLayout,
  defaultStateDir,
  validateClusterName,
  type ClusterLayout,
} from './layout.js';
import type { DaemonDirs } from './processes.js';
import { readState, type ClusterState } from './state.js';

export interface ClusterOptions {
  /** Default "dev". */
  name?: string;
  /** Default /var/lib/shoal/clusters/<name>. */
  stateDir?: string;
  /** Results (default process.stdout). */
  out?: Writable;
  /** Progress (default process.stderr). */
  err?: Writable;
}

/** A failure the user can act on; the message is the whole story. */
export class ClusterError extends Error {
  override readonly name = 'ClusterError';
}

export function resolveNameAndDir(opts: ClusterOptions): { name: string; stateDir: string } {
  const name = opts.name ?? 'dev';
  const invalid = validateClusterName(name);
  if (invalid) throw new ClusterError(invalid);
  return { name, stateDir: opts.stateDir ?? defaultStateDir(name) };
}

export function requireRoot(what: string): void {
  if (process.getuid?.() !== 0) {
    throw new ClusterError(
      `cluster ${what} must run as root: it creates network namespaces, a bridge, mounts and cgroups (try sudo)`,
    );
  }
}

export interface Existing {
  state: ClusterState;
  layout: ClusterLayout;
}

/** The cluster recorded in the state directory, or undefined when there is none. */
export async function loadExisting(name: string, stateDir: string): Promise<Existing | undefined> {
  const layout0 = clusterLayout(name, stateDir, '0.0.0', 0);
  const state = await readState(layout0.stateFile);
  if (!state) return undefined;
  if (state.name !== name) {
    throw new ClusterError(
      `${layout0.stateDir} holds cluster "${state.name}", not "${name}" (pass --name ${state.name})`,
    );
  }
  return { state, layout: clusterLayout(name, stateDir, state.prefix, state.nodes) };
}

export function daemonDirs(layout: ClusterLayout): DaemonDirs {
  return { runDir: layout.runDir, logsDir: layout.logsDir, stateDir: layout.stateDir };
}

export function writer(w: Writable | undefined, fallback: Writable): (line: string) => void {
  const stream = w ?? fallback;
  return (line) => {
    stream.write(`${line}\n`);
  };
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
