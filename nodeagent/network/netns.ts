// Persistent network namespaces kept as bind-mounted files in one directory
// that belongs to this agent alone (not /run/netns, which `ip netns` shares
// among every user on the machine, so two agents' pods could collide there and
// one agent's cleanup could see another's namespaces).
//
// A namespace lives as long as something holds it: a process in it, or a bind
// mount of its /proc/<pid>/ns/net file. The spawner's `netns` built-in creates
// one as `unshare --net=<file>` would and leaves the bind mount behind, so the
// namespace outlives both the process that made it and the agent; a restarted agent finds its pods' namespaces where it
// left them. Like `ip netns`, the directory is made a shared mount first: a
// mount namespace copied while a pod's namespace is mounted (a service started
// with PrivateTmp, say) then receives the unmount too, instead of pinning the
// namespace forever.

import { execFile } from 'node:child_process';
import { mkdir, readFile, readdir, realpath, statfs, unlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { sharedSpawner } from '../spawner.js';

const run = promisify(execFile);

/** statfs(2) f_type of nsfs, the filesystem of /proc/<pid>/ns/* and their bind mounts. */
const NSFS_MAGIC = 0x6e736673;

/** umount2(2) flag: detach now, free when no longer busy (`umount --lazy`). */
const MNT_DETACH = 2;

export class NetnsDir {
  readonly dir: string;
  private sharedReady: Promise<void> | undefined;

  constructor(dir: string) {
    this.dir = resolve(dir);
  }

  path(name: string): string {
    return join(this.dir, name);
  }

  /**
   * Creates the namespace `name` with its loopback interface up; resolves to
   * its path. Fails if it already exists.
   */
  async create(name: string): Promise<string> {
    await this.ensureShared();
    const path = this.path(name);
    // The bind mount needs a file to land on; 'wx' refuses to reuse a leftover.
    await writeFile(path, '', { flag: 'wx' });
    try {
      // A fork of the spawner makes the namespace, mounts it on the file and
      // brings lo up (what `unshare --net=path ip link set lo up` does, less
      // two exec'd programs; CNI's loopback plugin would be a third).
      const r = await sharedSpawner().builtin('netns', [path]);
      if (r.exitCode !== 0) throw new Error(r.stderr.trim());
    } catch (err) {
      await unlink(path).catch(() => undefined);
      throw new Error(`could not create network namespace ${path}`, { cause: err });
    }
    return path;
  }

  /** Unmounts and deletes the namespace file `name`; nothing there is fine. */
  async remove(name: string): Promise<void> {
    const path = this.path(name);
    if (await isNetns(path)) {
      // Lazy, as `ip netns del` does: a process still inside keeps the
      // namespace alive, but the name goes now.
      const r = await sharedSpawner().builtin('umount', [path, String(MNT_DETACH)]);
      if (r.exitCode !== 0) throw new Error(r.stderr.trim());
    }
    await unlink(path).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }

  /** Names of the files in the directory: mounted namespaces and half-made ones alike. */
  async list(): Promise<string[]> {
    try {
      return (await readdir(this.dir)).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  }

  private ensureShared(): Promise<void> {
    // Once per object: a second bind mount over the directory would hide the
    // namespaces mounted beneath the first, so this checks before mounting.
    this.sharedReady ??= makeSharedMount(this.dir).catch((err: unknown) => {
      this.sharedReady = undefined;
      throw err;
    });
    return this.sharedReady;
  }
}

/** True when `path` is a mounted network (or other) namespace file. */
export async function isNetns(path: string): Promise<boolean> {
  try {
    return (await statfs(path)).type === NSFS_MAGIC;
  } catch {
    return false;
  }
}

async function makeSharedMount(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o755 });
  // mountinfo names the real path; a symlink on the way would never match.
  dir = await realpath(dir);
  const mount = await mountOf(dir);
  if (mount === undefined) {
    await run('mount', ['--bind', dir, dir]);
  } else if (mount.shared) {
    return;
  }
  await run('mount', ['--make-shared', dir]);
}

/** The mount whose mount point is exactly `dir`, from /proc/self/mountinfo. */
async function mountOf(dir: string): Promise<{ shared: boolean } | undefined> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  let found: { shared: boolean } | undefined;
  for (const line of info.split('\n')) {
    // Fields: id parent major:minor root mount-point options [optional...] - fstype ...
    const fields = line.split(' ');
    const mountPoint = fields[4];
    if (mountPoint === undefined || unescapeMountinfo(mountPoint) !== dir) continue;
    const sep = fields.indexOf('-');
    const optional = fields.slice(6, sep === -1 ? undefined : sep);
    // The last match wins: it is the mount on top.
    found = { shared: optional.some((f) => f.startsWith('shared:')) };
  }
  return found;
}

/** mountinfo writes space, tab, newline and backslash as \ooo octal escapes. */
function unescapeMountinfo(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}
