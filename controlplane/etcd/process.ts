// One etcd process: its command line, spawning it with output to a log file,
// and ending it. Shared by the supervisor (one member, restarted on exit) and
// the test cluster helper (several members, killed and restarted on purpose).

import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, fstatSync, openSync } from 'node:fs';
import { open, rename, stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { EtcdError } from './errors.js';
import { waitHealthy } from './health.js';

/** One member's identity and addresses; all listeners are on 127.0.0.1. */
export interface EtcdMember {
  name: string;
  /** etcd's own --data-dir. */
  dataDir: string;
  clientPort: number;
  peerPort: number;
}

export interface EtcdExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface EtcdProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Settles (never rejects) when the process has exited. */
  readonly exited: Promise<EtcdExit>;
  /** Where this process's output starts in the log file (earlier runs' output precedes it). */
  readonly logPath: string;
  readonly logOffset: number;
}

/** 4 GiB: twice etcd's default, well under the 8 GiB etcd suggests as the ceiling. */
const QUOTA_BACKEND_BYTES = 4 * 1024 * 1024 * 1024;
/** Rotate etcd.log when it is larger than this at a (re)start. */
const MAX_LOG_BYTES = 16 * 1024 * 1024;

export function clientUrl(port: number): string {
  return `http://127.0.0.1:${port}`;
}

export function peerUrl(port: number): string {
  return `http://127.0.0.1:${port}`;
}

/**
 * The command line for `member` of a cluster of `members` (itself included).
 * The --initial-* flags only matter on the first start: etcd ignores them once
 * its data directory holds a member. `extraArgs` come last, and etcd takes the
 * last value of a repeated flag, so they may override any default here.
 */
export function etcdArgs(
  member: EtcdMember,
  cluster: { members: EtcdMember[]; token: string },
  extraArgs: readonly string[] = [],
): string[] {
  const initialCluster = cluster.members.map((m) => `${m.name}=${peerUrl(m.peerPort)}`).join(',');
  return [
    `--name=${member.name}`,
    `--data-dir=${member.dataDir}`,
    `--listen-client-urls=${clientUrl(member.clientPort)}`,
    `--advertise-client-urls=${clientUrl(member.clientPort)}`,
    `--listen-peer-urls=${peerUrl(member.peerPort)}`,
    `--initial-advertise-peer-urls=${peerUrl(member.peerPort)}`,
    `--initial-cluster=${initialCluster}`,
    '--initial-cluster-state=new',
    `--initial-cluster-token=${cluster.token}`,
    `--quota-backend-bytes=${QUOTA_BACKEND_BYTES}`,
    // The store keeps no history of its own; without compaction the database
    // grows until the quota alarm makes etcd read-only. Ten minutes of history
    // is ample for watchers to resume (Kubernetes keeps five); older
    // revisions answer 410 Expired and clients relist.
    '--auto-compaction-mode=periodic',
    '--auto-compaction-retention=10m',
    // etcd 3.5's default: fewer entries kept in memory between snapshots.
    '--snapshot-count=10000',
    // capnslog, 3.4's default logger, is deprecated; zap writes JSON lines.
    '--logger=zap',
    '--log-outputs=stderr',
    ...extraArgs,
  ];
}

/**
 * Starts `binary` with `args`, stdout and stderr appended to `logPath` (never
 * our own stdout). Resolves once the process exists; rejects with EtcdError
 * 'SpawnFailed' when it cannot be started.
 *
 * The child gets its own process group (detached) so that a Ctrl-C meant for
 * us does not also kill etcd behind the supervisor's back: etcd is stopped by
 * whoever started it. It is not unref'd: a running etcd keeps Node alive.
 */
export async function spawnEtcd(
  binary: string,
  args: string[],
  logPath: string,
): Promise<EtcdProcess> {
  await rotateLog(logPath);
  const fd = openSync(logPath, 'a', 0o600);
  const logOffset = fstatSync(fd).size;
  let child: ChildProcess;
  try {
    child = spawn(binary, args, {
      detached: true,
      stdio: ['ignore', fd, fd],
      env: etcdEnv(),
    });
  } finally {
    // The child holds its own copy of the descriptor.
    closeSync(fd);
  }
  const exited = new Promise<EtcdExit>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', () => resolve());
    child.once('error', (err) =>
      reject(
        new EtcdError('SpawnFailed', `cannot start ${binary}: ${err.message}`, { cause: err }),
      ),
    );
  });
  // Later errors (a failed kill) must not crash the process as unhandled 'error' events.
  child.on('error', () => undefined);
  track(child.pid!, exited);
  return { child, pid: child.pid!, exited, logPath, logOffset };
}

/** etcd reads ETCD_* variables as flags; a stray one must not change our member. */
function etcdEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('ETCD_')) env[key] = value;
  }
  return env;
}

async function rotateLog(logPath: string): Promise<void> {
  try {
    if ((await stat(logPath)).size > MAX_LOG_BYTES) await rename(logPath, `${logPath}.1`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/**
 * Spawns etcd and waits until it reports healthy on `clientPort`. On failure
 * the process is stopped and the EtcdError carries the end of its log:
 * 'AddressInUse' when a port was taken (the caller may pick others), else
 * 'SpawnFailed', 'Exited' or 'Timeout'. `onSpawn` sees the process as soon as
 * it exists, so a caller can stop it while it is still coming up.
 */
export async function launchEtcd(opts: {
  binary: string;
  args: string[];
  logPath: string;
  clientPort: number;
  timeoutMs: number;
  graceMs: number;
  onSpawn?: (proc: EtcdProcess) => void;
}): Promise<EtcdProcess> {
  const proc = await spawnEtcd(opts.binary, opts.args, opts.logPath);
  opts.onSpawn?.(proc);
  try {
    await waitHealthy({
      clientUrl: clientUrl(opts.clientPort),
      timeoutMs: opts.timeoutMs,
      exited: proc.exited,
    });
    return proc;
  } catch (err) {
    const exit = await stopEtcdProcess(proc, opts.graceMs);
    const tail = await readLogTail(proc);
    const type = mentionsAddressInUse(tail)
      ? 'AddressInUse'
      : err instanceof EtcdError
        ? err.type
        : 'Exited';
    const how = exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`;
    throw new EtcdError(
      type,
      `${err instanceof Error ? err.message : String(err)} (exit ${how}); ${opts.logPath} ends with:\n${tail}`,
      { cause: err },
    );
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process has exited. */
export async function stopEtcdProcess(proc: EtcdProcess, graceMs: number): Promise<EtcdExit> {
  if (proc.child.exitCode !== null || proc.child.signalCode !== null) return proc.exited;
  proc.child.kill('SIGTERM');
  const ac = new AbortController();
  const killed = sleep(graceMs, undefined, { signal: ac.signal }).then(
    () => {
      proc.child.kill('SIGKILL');
    },
    () => undefined,
  );
  const exit = await proc.exited;
  ac.abort();
  await killed;
  return exit;
}

/** The last `maxBytes` that `proc` wrote to its log, for error messages; '' if none. */
export async function readLogTail(proc: EtcdProcess, maxBytes = 4_000): Promise<string> {
  try {
    const file = await open(proc.logPath, 'r');
    try {
      const { size } = await file.stat();
      const from = Math.max(proc.logOffset, size - maxBytes);
      const length = Math.max(0, size - from);
      const buf = Buffer.alloc(length);
      await file.read(buf, 0, length, from);
      return buf.toString('utf8');
    } finally {
      await file.close();
    }
  } catch {
    return '';
  }
}

/** Whether etcd's log says a listener could not bind (bind: address already in use). */
export function mentionsAddressInUse(logTail: string): boolean {
  return logTail.includes('address already in use');
}

/**
 * etcd runs in its own process group, so it outlives us unless told. On a
 * normal exit of Node every etcd we started and that still runs gets SIGTERM
 * (after SIGKILL of Node nothing runs: the supervisor's orphan reaping covers
 * that). One listener for all processes.
 */
const liveChildren = new Set<number>();
let exitHookInstalled = false;

function track(pid: number, exited: Promise<EtcdExit>): void {
  liveChildren.add(pid);
  void exited.then(() => liveChildren.delete(pid));
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of liveChildren) {
      try {
        process.kill(child, 'SIGTERM');
      } catch {
        // already gone
      }
    }
  });
}

/** Whether `pid` is an etcd this Node process started and that has not exited. */
export function isOurChild(pid: number): boolean {
  return liveChildren.has(pid);
}
