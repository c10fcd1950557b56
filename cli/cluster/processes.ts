// The cluster's daemons run detached from the `shoal cluster up` that
// started them (own session, stdio in log files), so they outlive it. Each
// one's pid is kept in <state>/run/<name>.pid. A pid is only trusted while
// the process behind it still names the state directory on its command line
// (every daemon gets a path below it as a flag), so a recycled pid is never
// signalled.

import { spawn } from 'node:child_process';
import { mkdir, open, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface DaemonSpec {
  /** Names the pid file and the log file. */
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
}

export interface DaemonDirs {
  runDir: string;
  logsDir: string;
  /** Every daemon's command line mentions it: how a pid is recognised as ours. */
  stateDir: string;
}

export function pidFile(dirs: DaemonDirs, name: string): string {
  return join(dirs.runDir, `${name}.pid`);
}

export function logFile(dirs: DaemonDirs, name: string): string {
  return join(dirs.logsDir, `${name}.log`);
}

/** Starts the daemon detached, appending its output to its log; returns its pid. */
export async function startDaemon(dirs: DaemonDirs, spec: DaemonSpec): Promise<number> {
  await mkdir(dirs.runDir, { recursive: true, mode: 0o700 });
  await mkdir(dirs.logsDir, { recursive: true, mode: 0o700 });
  const log = await open(logFile(dirs, spec.name), 'a', 0o600);
  try {
    const child = spawn(spec.command, spec.args, {
      detached: true,
      cwd: '/',
      stdio: ['ignore', log.fd, log.fd],
      env: spec.env ?? process.env,
    });
    const pid = await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('spawn', () => resolve(child.pid!));
    });
    child.unref();
    await writeFile(pidFile(dirs, spec.name), `${pid}\n`, { mode: 0o600 });
    return pid;
  } finally {
    await log.close();
  }
}

/** The command line of a live process, or undefined when there is none (or a zombie). */
async function cmdline(pid: number): Promise<string[] | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The state follows the parenthesised command name, which may hold spaces.
    if (/\) Z /.test(stat)) return undefined;
    const raw = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    return raw.split('\0').filter(Boolean);
  } catch {
    return undefined;
  }
}

function mentions(args: string[], dir: string): boolean {
  return args.some((a) => a === dir || a.includes(`${dir}/`) || a.endsWith(`=${dir}`));
}

/** The pid of the named daemon while it runs as ours, else undefined. */
export async function runningPid(dirs: DaemonDirs, name: string): Promise<number | undefined> {
  let pid: number;
  try {
    pid = Number((await readFile(pidFile(dirs, name), 'utf8')).trim());
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 1) return undefined;
  const args = await cmdline(pid);
  return args && mentions(args, dirs.stateDir) ? pid : undefined;
}

export async function isRunning(pid: number): Promise<boolean> {
  return (await cmdline(pid)) !== undefined;
}

/**
 * SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone.
 * The pid file is removed.
 */
export async function stopDaemon(dirs: DaemonDirs, name: string, graceMs: number): Promise<void> {
  const pid = await runningPid(dirs, name);
  if (pid !== undefined) await terminate(pid, graceMs);
  await rm(pidFile(dirs, name), { force: true });
}

export async function terminate(pid: number, graceMs: number): Promise<void> {
  signal(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (await isRunning(pid)) {
    if (Date.now() > deadline) {
      signal(pid, 'SIGKILL');
      // After SIGKILL the kernel takes it away promptly; wait for that.
      for (let i = 0; i < 100 && (await isRunning(pid)); i++) await sleep(50);
      return;
    }
    await sleep(100);
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/**
 * Every live process (but this one) whose command line names a path inside
 * `dir`: what is left of a cluster after its daemons were stopped, such as an
 * etcd orphaned by a killed control plane or a container monitor.
 */
export async function processesMentioning(dir: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    const args = await cmdline(pid);
    if (args && mentions(args, dir)) pids.push(pid);
  }
  return pids;
}

/** The last `bytes` of a daemon's log, for error messages. */
export async function logTail(dirs: DaemonDirs, name: string, bytes = 2000): Promise<string> {
  const text = await readFile(logFile(dirs, name), 'utf8').catch(() => '');
  return text.slice(-bytes);
}
