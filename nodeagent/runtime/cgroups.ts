// Reading and removing the cgroups runc's cgroupfs driver makes for a
// cgroupsPath. This machine kind is cgroup v1 "hybrid" (one mount per v1
// controller under /sys/fs/cgroup plus cgroup2 at /sys/fs/cgroup/unified);
// a pure cgroup v2 host has /sys/fs/cgroup/cgroup.controllers.

import { access, readFile, readdir, rmdir } from 'node:fs/promises';
import { join } from 'node:path';

export const CGROUP_ROOT = '/sys/fs/cgroup';

export async function isCgroupV2(): Promise<boolean> {
  try {
    await access(join(CGROUP_ROOT, 'cgroup.controllers'));
    return true;
  } catch {
    return false;
  }
}

/** The directory of cgroupsPath in one v1 controller's hierarchy (e.g. "memory"), or in the v2 tree. */
export async function cgroupDir(controller: string, cgroupsPath: string): Promise<string> {
  return (await isCgroupV2())
    ? join(CGROUP_ROOT, cgroupsPath)
    : join(CGROUP_ROOT, controller, cgroupsPath);
}

/**
 * How many processes the kernel's OOM killer has killed in this cgroup:
 * memory.oom_control's oom_kill on v1, memory.events' oom_kill on v2.
 * Undefined when the cgroup is gone (it lives until `runc delete`).
 */
export async function oomKillCount(cgroupsPath: string): Promise<number | undefined> {
  const v2 = await isCgroupV2();
  const file = v2
    ? join(CGROUP_ROOT, cgroupsPath, 'memory.events')
    : join(CGROUP_ROOT, 'memory', cgroupsPath, 'memory.oom_control');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  const m = /^oom_kill (\d+)$/m.exec(text);
  return m?.[1] !== undefined ? Number(m[1]) : 0;
}

/**
 * Removes cgroupsPath from every hierarchy, then its parents up to (not
 * including) stopAt, e.g. the agent's cgroup parent. runc deletes a
 * container's own cgroup but leaves the pod level it implied; the agent calls
 * this when a pod is gone. Non-empty or missing directories are left alone.
 */
export async function removeCgroup(cgroupsPath: string, stopAt = '/'): Promise<void> {
  const hierarchies = (await isCgroupV2()) ? [CGROUP_ROOT] : await v1Hierarchies();
  const paths: string[] = [];
  for (
    let p = cgroupsPath.replace(/\/+$/, '');
    p !== '' && p !== '/' && p !== stopAt.replace(/\/+$/, '');
  ) {
    paths.push(p);
    p = p.slice(0, p.lastIndexOf('/'));
  }
  for (const h of hierarchies) {
    for (const p of paths) {
      try {
        await rmdir(join(h, p));
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') continue;
        if (code === 'EBUSY' || code === 'ENOTEMPTY') break;
        throw err;
      }
    }
  }
}

// Every mounted hierarchy: the v1 controllers, name=systemd and the unified
// cgroup2 mount of a hybrid host (runc 1.1 creates the path in each).
async function v1Hierarchies(): Promise<string[]> {
  const entries = await readdir(CGROUP_ROOT, { withFileTypes: true });
  // Symlinks (cpu -> cpu,cpuacct) name a hierarchy already listed.
  return entries.filter((e) => e.isDirectory()).map((e) => join(CGROUP_ROOT, e.name));
}
