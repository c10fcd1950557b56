// The agent's runtime directory (paths.ts `run`): a tmpfs mounted once, on
// the agent's first start after a boot. A restarted agent finds it mounted
// and its contents (runc state, monitors' exit files, network namespaces)
// intact, which is what re-adopting running containers needs.

import { mkdir } from 'node:fs/promises';
import { isMounted } from './runtime/overlay.js';
import { sharedSpawner } from './spawner.js';

/**
 * Room for runtime state only (bundles, runc state, IP leases): a few KiB per
 * container. tmpfs takes memory only for what it holds; the cap stops a
 * runaway writer there from eating the node's memory.
 */
const SIZE = '64m';

export async function mountRunDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  if (await isMounted(dir)) return;
  const r = await sharedSpawner().builtin('mount', [
    'shoal-run',
    dir,
    'tmpfs',
    '0',
    `mode=0700,size=${SIZE}`,
  ]);
  if (r.exitCode !== 0) throw new Error(`tmpfs for the agent's runtime state: ${r.stderr.trim()}`);
}
