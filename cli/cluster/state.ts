// <state dir>/state.json: what `up` decided (subnet, node count) and what it
// changed outside the state directory (the kubeconfig), written before
// anything is made, so `down` can undo a half-finished `up` too.

import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { isRecord } from '../../controlplane/api/objects.js';
import { writeFileAtomic } from '../../controlplane/pki/files.js';

export interface KubeconfigRecord {
  /** The file the context was written into. */
  path: string;
  /** The file did not exist before `up`: `down` removes it if nothing else is left in it. */
  createdFile: boolean;
  /** Likewise its directory (~/.kube). */
  createdDir: boolean;
  /** The current context before `up` switched to ours, restored by `down`. */
  previousContext?: string;
}

export interface ClusterState {
  name: string;
  /** "a.b.c" of the /24. */
  prefix: string;
  nodes: number;
  kubeconfig?: KubeconfigRecord;
}

export async function readState(path: string): Promise<ClusterState | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const value: unknown = JSON.parse(text);
  if (
    !isRecord(value) ||
    typeof value['name'] !== 'string' ||
    typeof value['prefix'] !== 'string' ||
    typeof value['nodes'] !== 'number'
  ) {
    throw new Error(`${path} is not a cluster state file`);
  }
  return value as unknown as ClusterState;
}

export async function writeState(path: string, state: ClusterState): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFileAtomic(path, `${JSON.stringify(state, null, 2)}\n`, 0o600);
}
