// A container's CPU time and memory working set, read from its cgroup at
// scrape time as cAdvisor does. On cgroup v1 (this machine's kind: one
// hierarchy per controller) CPU is cpuacct.usage in nanoseconds and memory
// memory.usage_in_bytes minus memory.stat's total_inactive_file; on v2 they
// are cpu.stat's usage_usec and memory.current minus memory.stat's
// inactive_file. The working set is what the OOM killer and kubectl top look at.

import { readFile } from 'node:fs/promises';
import { cgroupDir, isCgroupV2 } from '../runtime/cgroups.js';

export interface ContainerStats {
  /** Cumulative CPU time in seconds, or undefined when the cgroup is gone. */
  cpuSeconds?: number;
  /** usage − inactive file pages, never below 0; undefined when unreadable. */
  workingSetBytes?: number;
}

/** A "key value" line's value from a stat file (memory.stat, cpu.stat). */
export function statValue(text: string, key: string): number | undefined {
  for (const line of text.split('\n')) {
    const sp = line.indexOf(' ');
    if (sp > 0 && line.slice(0, sp) === key) {
      const n = Number(line.slice(sp + 1));
      return Number.isFinite(n) ? n : undefined;
    }
  }
  return undefined;
}

/** cAdvisor's working set: usage minus inactive file cache, clamped at 0. */
export function workingSet(usage: number, inactiveFile: number | undefined): number {
  return Math.max(0, usage - (inactiveFile ?? 0));
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** Reads the stats of the cgroup at cgroupsPath (as runc's cgroupfs driver names it). */
export async function readContainerStats(cgroupsPath: string): Promise<ContainerStats> {
  const out: ContainerStats = {};
  if (await isCgroupV2()) {
    const dir = await cgroupDir('', cgroupsPath);
    const [cpu, current, stat] = await Promise.all([
      readText(`${dir}/cpu.stat`),
      readText(`${dir}/memory.current`),
      readText(`${dir}/memory.stat`),
    ]);
    const usec = cpu !== undefined ? statValue(cpu, 'usage_usec') : undefined;
    if (usec !== undefined) out.cpuSeconds = usec / 1e6;
    const usage = current !== undefined ? Number(current.trim()) : NaN;
    if (Number.isFinite(usage))
      out.workingSetBytes = workingSet(usage, stat ? statValue(stat, 'inactive_file') : undefined);
    return out;
  }
  const [cpuDir, memDir] = await Promise.all([
    cgroupDir('cpuacct', cgroupsPath),
    cgroupDir('memory', cgroupsPath),
  ]);
  const [cpu, usageText, stat] = await Promise.all([
    readText(`${cpuDir}/cpuacct.usage`),
    readText(`${memDir}/memory.usage_in_bytes`),
    readText(`${memDir}/memory.stat`),
  ]);
  const ns = cpu !== undefined ? Number(cpu.trim()) : NaN;
  if (Number.isFinite(ns)) out.cpuSeconds = ns / 1e9;
  const usage = usageText !== undefined ? Number(usageText.trim()) : NaN;
  if (Number.isFinite(usage)) {
    out.workingSetBytes = workingSet(
      usage,
      stat ? statValue(stat, 'total_inactive_file') : undefined,
    );
  }
  return out;
}
