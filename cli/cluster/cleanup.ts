// What an agent leaves behind on purpose: its containers outlive it (each
// held by a monitor process), their overlay and network-namespace mounts live
// in the root mount namespace, and runc's cgroups sit under the agent's
// cgroup parent. `cluster down` removes all of it after the agents stopped.

import { execFile } from 'node:child_process';
import { readFile, readdir, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const CGROUP_ROOT = '/sys/fs/cgroup';

/** The ids runc knows under `root` (none when the root does not exist). */
export async function runcContainers(root: string): Promise<string[]> {
  const out = await run('runc', ['--root', root, 'list', '--format', 'json']).then(
    (r) => r.stdout,
    () => '[]',
  );
  const list = (JSON.parse(out || '[]') as { id: string }[] | null) ?? [];
  return list.map((c) => c.id);
}

/** Kills every container under the runc root (all its processes) and deletes it. */
export async function removeRuncContainers(root: string): Promise<void> {
  for (const id of await runcContainers(root)) {
    await run('runc', ['--root', root, 'kill', '--all', id, 'KILL']).catch(() => undefined);
    await run('runc', ['--root', root, 'delete', '--force', id]).catch(() => undefined);
  }
}

/** Mount points at or below `dir`, in mount order. */
export async function mountsUnder(dir: string): Promise<string[]> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  return info
    .split('\n')
    .map((l) => (l.split(' ')[4] ?? '').replace(/\\040/g, ' '))
    .filter((p) => p === dir || p.startsWith(`${dir}/`));
}

/** Unmounts everything below `dir`, last mounted first; lazily, as `ip netns del` does. */
export async function unmountAllUnder(dir: string): Promise<void> {
  // A mount can be stacked (a bind onto itself, then more below): repeat until none is left.
  for (let round = 0; round < 5; round++) {
    const mounts = await mountsUnder(dir);
    if (mounts.length === 0) return;
    for (const m of mounts.reverse()) await run('umount', ['-l', m]).catch(() => undefined);
  }
}

/** `name`'s directory in every cgroup hierarchy where it exists. */
export async function cgroupDirs(name: string): Promise<string[]> {
  const out: string[] = [];
  const controllers = await readdir(CGROUP_ROOT).catch(() => [] as string[]);
  // A pure cgroup v2 host has the tree right at the root.
  const roots = [CGROUP_ROOT, ...controllers.map((c) => join(CGROUP_ROOT, c))];
  for (const root of roots) {
    const dir = join(root, name);
    if (
      await readdir(dir).then(
        () => true,
        () => false,
      )
    )
      out.push(dir);
  }
  return out;
}

async function walk(dir: string, into: string[]): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) if (e.isDirectory()) await walk(join(dir, e.name), into);
  into.push(dir);
}

/** The pids in the cgroup tree `name` (every hierarchy). */
export async function cgroupPids(name: string): Promise<number[]> {
  const pids = new Set<number>();
  for (const top of await cgroupDirs(name)) {
    const dirs: string[] = [];
    await walk(top, dirs);
    for (const d of dirs) {
      const text = await readFile(join(d, 'cgroup.procs'), 'utf8').catch(() => '');
      for (const line of text.split('\n')) if (line.trim()) pids.add(Number(line));
    }
  }
  return [...pids];
}

/** rmdir of the tree `name` in every hierarchy, deepest first. */
export async function removeCgroupTree(name: string): Promise<void> {
  for (const top of await cgroupDirs(name)) {
    const dirs: string[] = [];
    await walk(top, dirs);
    for (const d of dirs) await rmdir(d).catch(() => undefined);
  }
}
