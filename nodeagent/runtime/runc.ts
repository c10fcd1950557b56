// Runc: the agent's handle on one runc state directory (`runc --root`).
//
// Containers are created detached, each with a small monitor process
// (monitor.ts) as its parent that pipes their stdout/stderr into the log
// files, with timestamps, and records the exit status. Neither depends on the agent, so the agent can die and come back:
// list() shows what runs, exitStatus() what ended while it was away.

import { spawn } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { constants as osConstants } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { oomKillCount } from './cgroups.js';
import { RuncError } from './errors.js';
import { prctlSyscallNumber } from './monitor.js';
import { sharedSpawner, type SpawnResult, type Spawner } from '../spawner.js';
import type { ContainerExit, RuncState } from './types.js';

export interface RuncOptions {
  /** runc's state directory (`runc --root`), one per agent. */
  root: string;
  binary?: string;
  /** Where monitors leave exit files; defaults to `<root>-monitor`. */
  stateDir?: string;
  /** Starts the monitors (default: the agent's shared one). */
  spawner?: Spawner;
  logger?: Logger;
}

export interface CreateOptions {
  /**
   * Log files (may be the same): the monitor appends the container's stdout
   * and stderr lines to them in the CRI log format (log-format.ts).
   */
  stdoutPath: string;
  stderrPath: string;
}

export interface ExecOptions {
  timeoutMs: number;
  /** Output beyond this many bytes per stream is dropped (default 1 MiB). */
  maxOutputBytes?: number;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface WaitOptions {
  pollMs?: number;
  signal?: AbortSignal;
}

interface ExitRecord {
  pid: number;
  status: number;
  time: number;
}

// runc's own rule for ids; it also keeps ids safe as file names here.
const ID_PATTERN = /^[\w+.-]+$/;
// How long a stopped container may lack an exit file before the monitor is
// presumed dead (it writes the file right after reaping the process).
const MONITOR_GRACE_MS = 2_000;

export class Runc {
  readonly root: string;
  readonly binary: string;
  readonly stateDir: string;
  private readonly spawner: Spawner;
  private stateDirReady: Promise<void> | undefined;
  private readonly log: Logger | undefined;

  constructor(opts: RuncOptions) {
    this.root = resolve(opts.root);
    this.binary = opts.binary ?? 'runc';
    this.stateDir = resolve(opts.stateDir ?? `${opts.root}-monitor`);
    this.spawner = opts.spawner ?? sharedSpawner();
    this.log = opts.logger;
  }

  /**
   * `runc create` under a detached monitor: on return the container exists in
   * state "created", its stdout and stderr piped into the log files.
   */
  create(id: string, bundleDir: string, opts: CreateOptions): Promise<void> {
    return this.launch('create', id, bundleDir, opts);
  }

  /**
   * create() and start() in one: `runc run --detach` under the same monitor,
   * so on return the container runs. One runc process instead of two, which
   * is what a pod start costs most of when many start at once.
   */
  run(id: string, bundleDir: string, opts: CreateOptions): Promise<void> {
    return this.launch('run', id, bundleDir, opts);
  }

  private async launch(
    verb: 'create' | 'run',
    id: string,
    bundleDir: string,
    opts: CreateOptions,
  ): Promise<void> {
    checkId(id);
    const f = this.files(id);
    // All at once (each file system call is a trip through libuv's pool, and
    // a container start is on the clock); the state dir only the first time.
    this.stateDirReady ??= mkdir(this.stateDir, { recursive: true }).then(() => undefined);
    await this.stateDirReady.catch((err: unknown) => {
      this.stateDirReady = undefined;
      throw err;
    });
    await Promise.all([
      ...Object.values(f).map((p) => rm(p, { force: true })),
      ...[opts.stdoutPath, opts.stderrPath].map((p) => mkdir(dirname(p), { recursive: true })),
    ]);

    const runcArgv = [
      this.binary,
      '--root',
      this.root,
      '--log',
      f.runcLog,
      '--log-format',
      'json',
      ...(verb === 'run' ? ['run', '--detach'] : ['create']),
      '--bundle',
      resolve(bundleDir),
      '--pid-file',
      f.pid,
      id,
    ];
    // The monitor opens the log files and pipes the container's output into
    // them (monitor.ts). Its own process group, so nothing aimed at the
    // agent's reaches it; cwd / (the spawner's) so it pins no directory. The
    // answer is its one line on fd 3; it runs on after that. A fork of the
    // spawner runs it (../spawner.ts): a fork of the agent, or a new perl,
    // costs several times more.
    let launched: SpawnResult;
    try {
      launched = await this.spawner.builtin(
        'monitor',
        [
          String(prctlSyscallNumber()),
          f.exit,
          f.pid,
          id,
          resolve(opts.stdoutPath),
          resolve(opts.stderrPath),
          ...runcArgv,
        ],
        { fd3: true, noWait: true, quiet: true, ownGroup: true },
      );
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      throw new RuncError(verb, undefined, `container monitor: ${message}`, null, { cause: err });
    }
    const line = launched.fd3.trim();
    const created = /^created (\d+)$/.exec(line);
    if (created) {
      this.log?.debug(
        { id, pid: Number(created[1]), monitor: launched.pid },
        verb === 'run' ? 'container running' : 'container created',
      );
      await Promise.all([
        launched.pid > 0 ? writeFile(f.monitor, String(launched.pid)) : undefined,
        rm(f.runcLog, { force: true }),
      ]);
      return;
    }
    if (launched.pid > 0) await writeFile(f.monitor, String(launched.pid));
    const runcLog = await readFile(f.runcLog, 'utf8').catch(() => '');
    await rm(f.runcLog, { force: true });
    const status = /^error (\d+)$/.exec(line);
    const exitCode =
      status?.[1] !== undefined ? decodeWaitStatus(Number(status[1])).exitCode : null;
    throw new RuncError(
      verb,
      id,
      runcLog || line || 'container monitor exited without a word',
      exitCode,
    );
  }

  async start(id: string): Promise<void> {
    await this.invoke('start', id, ['start', id]);
  }

  /** Sends signal to the container's init, or with `all` to every process in it. */
  async kill(id: string, signal: NodeJS.Signals | number = 'SIGTERM', all = false): Promise<void> {
    await this.invoke('kill', id, ['kill', ...(all ? ['--all'] : []), id, String(signal)]);
  }

  /**
   * Removes the container (force: kill it first) and its monitor's files. An
   * unknown id is not an error: deleting is how the agent converges.
   */
  async delete(id: string, opts: { force?: boolean } = {}): Promise<void> {
    checkId(id);
    try {
      await this.invoke('delete', id, ['delete', ...(opts.force ? ['--force'] : []), id]);
    } catch (err) {
      if (!(err instanceof RuncError && err.notFound)) throw err;
    }
    const f = this.files(id);
    // Let the monitor finish its exit file first, so none is left behind.
    const monitorPid = Number(await readFile(f.monitor, 'utf8').catch(() => '0'));
    for (
      let waited = 0;
      monitorPid > 0 && isAlive(monitorPid) && waited < MONITOR_GRACE_MS;
      waited += 20
    ) {
      await sleep(20);
    }
    await Promise.all(Object.values(f).map((p) => rm(p, { force: true })));
  }

  /** runc's view of the container, or undefined for an unknown id. */
  async state(id: string): Promise<RuncState | undefined> {
    try {
      const { stdout } = await this.invoke('state', id, ['state', id]);
      return JSON.parse(stdout) as RuncState;
    } catch (err) {
      if (err instanceof RuncError && err.notFound) return undefined;
      throw err;
    }
  }

  /**
   * True while the container's monitor runs (it exits only after recording
   * the exit status): a look at /proc instead of a `runc state` process, for
   * the pod workers' every-second check of every container. False says
   * nothing (no monitor recorded, or it died): ask state() then.
   */
  async isMonitored(id: string): Promise<boolean> {
    checkId(id);
    const pid = Number(await readFile(this.files(id).monitor, 'utf8').catch(() => '0'));
    if (!(pid > 0)) return false;
    // The name the monitor gives itself ($0), so a recycled pid is not taken for it.
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    return cmdline.split('\0')[0] === `shoal-monitor ${id}`;
  }

  async list(): Promise<RuncState[]> {
    const { stdout } = await this.invoke('list', undefined, ['list', '--format', 'json']);
    // runc prints "null" for an empty list.
    return (JSON.parse(stdout) as RuncState[] | null) ?? [];
  }

  /**
   * Runs args in the running container with its config's env, cwd and user.
   * runc exec exits with the process's status, so a runc failure (e.g. the
   * container stopped) shows as a non-zero exit code with runc's message on
   * stderr. On timeout the process is killed.
   */
  async exec(id: string, args: string[], opts: ExecOptions): Promise<ExecResult> {
    checkId(id);
    await mkdir(this.stateDir, { recursive: true });
    const pidFile = join(this.stateDir, `${id}.exec-${process.pid}-${execSeq++}.pid`);
    const max = opts.maxOutputBytes ?? 1024 * 1024;
    const child = spawn(
      this.binary,
      ['--root', this.root, 'exec', '--pid-file', pidFile, id, ...args],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const stdout = collect(child.stdout, max);
    const stderr = collect(child.stderr, max);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      // The process in the container, then runc exec itself (which would
      // otherwise wait for it).
      void readFile(pidFile, 'utf8')
        .then((pid) => process.kill(Number(pid), 'SIGKILL'))
        .catch(() => undefined)
        .finally(() => child.kill('SIGKILL'));
    }, opts.timeoutMs);
    try {
      const exitCode = await new Promise<number>((res, rej) => {
        child.once('error', rej);
        child.once('close', (code, signal) => res(code ?? 128 + signalNumber(signal)));
      });
      return { exitCode, stdout: stdout.text(), stderr: stderr.text(), timedOut };
    } catch (err) {
      throw new RuncError('exec', id, stderr.text(), null, { cause: err });
    } finally {
      clearTimeout(timer);
      await rm(pidFile, { force: true });
    }
  }

  /**
   * How the container's process ended, or undefined while it has not. Call
   * before delete(): the OOM count lives in the container's cgroup, which
   * runc removes on delete.
   */
  async exitStatus(id: string): Promise<ContainerExit | undefined> {
    checkId(id);
    let record: ExitRecord;
    try {
      record = JSON.parse(await readFile(this.files(id).exit, 'utf8')) as ExitRecord;
    } catch {
      return undefined;
    }
    const finishedAt = new Date(record.time * 1000);
    if (record.status < 0) return { exitCode: 137, reason: 'Unknown', finishedAt };
    const { exitCode, signal } = decodeWaitStatus(record.status);
    const ooms = await this.oomKills(id);
    const reason = ooms > 0 ? 'OOMKilled' : exitCode === 0 ? 'Completed' : 'Error';
    return { exitCode, ...(signal ? { signal } : {}), reason, finishedAt };
  }

  /**
   * Resolves when the container's process has ended. A container that
   * stopped without its monitor recording anything (the monitor was killed)
   * resolves as reason Unknown, exit code 137, as kubelet reports it.
   */
  async waitExit(id: string, opts: WaitOptions = {}): Promise<ContainerExit> {
    const pollMs = opts.pollMs ?? 100;
    let stoppedSince: number | undefined;
    for (;;) {
      opts.signal?.throwIfAborted();
      const exit = await this.exitStatus(id);
      if (exit) return exit;
      const st = await this.state(id);
      if (!st) throw new RuncError('wait', id, 'container does not exist', null);
      if (st.status === 'stopped') {
        stoppedSince ??= Date.now();
        if (Date.now() - stoppedSince > MONITOR_GRACE_MS) {
          this.log?.warn({ id }, 'container stopped but its monitor recorded no exit status');
          return { exitCode: 137, reason: 'Unknown', finishedAt: new Date() };
        }
      }
      await sleep(pollMs);
    }
  }

  // The cgroup comes from the bundle's config.json, which runc reports.
  private async oomKills(id: string): Promise<number> {
    const st = await this.state(id).catch(() => undefined);
    if (!st?.bundle) return 0;
    try {
      const config = JSON.parse(await readFile(join(st.bundle, 'config.json'), 'utf8')) as {
        linux?: { cgroupsPath?: string };
      };
      const path = config.linux?.cgroupsPath;
      return path?.startsWith('/') ? ((await oomKillCount(path)) ?? 0) : 0;
    } catch {
      return 0;
    }
  }

  private files(id: string): { exit: string; pid: string; monitor: string; runcLog: string } {
    return {
      exit: join(this.stateDir, `${id}.exit.json`),
      pid: join(this.stateDir, `${id}.pid`),
      monitor: join(this.stateDir, `${id}.monitor.pid`),
      runcLog: join(this.stateDir, `${id}.runc-log.json`),
    };
  }

  private async invoke(
    operation: string,
    id: string | undefined,
    args: string[],
  ): Promise<{ stdout: string }> {
    if (id !== undefined) checkId(id);
    // Through the spawner, as the monitors are: the pod workers call these
    // (state, kill, delete) for every container they stop.
    let r: SpawnResult;
    try {
      r = await this.spawner.run({ file: this.binary, args: ['--root', this.root, ...args] });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      throw new RuncError(operation, id, message, null, { cause: err });
    }
    if (r.exitCode === 0) return { stdout: r.stdout };
    const why = r.signal ? `killed by ${r.signal}` : `exit code ${r.exitCode}`;
    throw new RuncError(operation, id, r.stderr || why, r.exitCode);
  }
}

let execSeq = 0;

function checkId(id: string): void {
  if (!ID_PATTERN.test(id))
    throw new RuncError('validate', id, `invalid container id "${id}"`, null);
}

/** A raw wait(2) status as Kubernetes reports it: the exit code, or 128 + signal. */
export function decodeWaitStatus(status: number): { exitCode: number; signal?: string } {
  const sig = status & 0x7f;
  if (sig === 0) return { exitCode: (status >> 8) & 0xff };
  const name = Object.entries(osConstants.signals).find(([, n]) => n === sig)?.[0];
  return { exitCode: 128 + sig, ...(name ? { signal: name } : {}) };
}

function signalNumber(signal: NodeJS.Signals | null): number {
  return signal ? (osConstants.signals[signal] ?? 0) : 0;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function collect(stream: Readable, max: number): { text(): string } {
  const chunks: Buffer[] = [];
  let size = 0;
  stream.on('data', (chunk: Buffer) => {
    if (size >= max) return;
    chunks.push(chunk.subarray(0, max - size));
    size += chunk.length;
  });
  return { text: () => Buffer.concat(chunks).toString('utf8') };
}
