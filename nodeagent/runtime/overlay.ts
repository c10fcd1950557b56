// A container's root filesystem: an overlayfs over the image's unpacked
// layers (read-only) with a per-container upper dir taking its writes.

import { mkdir, readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { sharedSpawner } from '../spawner.js';

export interface OverlayOptions {
  /** Unpacked layers, lowest (the base layer) first, as an image manifest lists them. */
  lowerDirs: string[];
  upperDir: string;
  workDir: string;
  target: string;
}

export class MountError extends Error {
  override readonly name = 'MountError';
}

/** Mounts the overlay at target, creating upper, work and target dirs as needed. */
export async function mountRootfs(opts: OverlayOptions): Promise<void> {
  if (opts.lowerDirs.length === 0) throw new MountError('overlay needs at least one lower dir');
  const all = [...opts.lowerDirs, opts.upperDir, opts.workDir, opts.target].map((p) => resolve(p));
  for (const p of all) {
    // The option string separates with ',' and lowerdir with ':'; overlayfs
    // has escapes for them but mount(8) does not pass them through reliably.
    if (/[,:]/.test(p)) throw new MountError(`path not usable in overlay options: ${p}`);
  }
  await Promise.all(
    [opts.upperDir, opts.workDir, opts.target].map((d) => mkdir(d, { recursive: true })),
  );
  // overlayfs stacks lowerdir left over right: the topmost layer comes first.
  const lower = opts.lowerDirs
    .map((p) => resolve(p))
    .reverse()
    .join(':');
  const options = `lowerdir=${lower},upperdir=${resolve(opts.upperDir)},workdir=${resolve(opts.workDir)}`;
  // mount(2) made by the spawner: no process at all (spawner.ts).
  const r = await sharedSpawner().builtin('mount', [
    'overlay',
    resolve(opts.target),
    'overlay',
    '0',
    options,
  ]);
  if (r.exitCode !== 0) {
    throw new MountError(`mount overlay at ${opts.target}: ${r.stderr.trim()}`);
  }
}

/** Unmounts target; a target that is not mounted is fine. */
export async function unmount(target: string): Promise<void> {
  if (!(await isMounted(target))) return;
  const r = await sharedSpawner().builtin('umount', [resolve(target), '0']);
  if (r.exitCode === 0) return;
  // Someone else may have unmounted it between the check and umount.
  if (!(await isMounted(target))) return;
  throw new MountError(r.stderr.trim());
}

/** True when target is a mount point in this process's mount namespace. */
export async function isMounted(target: string): Promise<boolean> {
  const wanted = resolve(target);
  return (await mountPoints()).includes(wanted);
}

/** Every mount point of this mount namespace, from /proc/self/mountinfo. */
export async function mountPoints(): Promise<string[]> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  const out: string[] = [];
  for (const line of info.split('\n')) {
    // Fields: id parent major:minor root mount-point options …
    const field = line.split(' ')[4];
    if (field !== undefined) out.push(unescapeMountinfo(field));
  }
  return out;
}

// mountinfo writes space, tab, newline and backslash as \ooo octal escapes.
function unescapeMountinfo(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}
