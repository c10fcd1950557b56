// The embedded default: one etcd member as a child process of the control
// plane, its data under <dataDir>/etcd, listening on loopback only, restarted
// with backoff when it dies. See README.md for the flow.

import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { EtcdError } from './errors.js';
import { freePorts } from './ports.js';
import {
  clientUrl,
  etcdArgs,
  isOurChild,
  launchEtcd,
  stopEtcdProcess,
  type EtcdExit,
  type EtcdMember,
  type EtcdProcess,
} from './process.js';

/** The subset of pino's Logger the supervisor uses. */
export interface EtcdLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface EtcdSupervisorOptions {
  /** The control plane's data directory; etcd's lives in <dataDir>/etcd. */
  dataDir: string;
  /** Fixed ports; by default the ones of the previous start, else free ones. */
  clientPort?: number;
  peerPort?: number;
  logger?: EtcdLogger;
  /** Default: `etcd` from PATH (Debian's /usr/bin/etcd). */
  etcdBinary?: string;
  /** How long start() waits for etcd to report healthy. Default 60 s. */
  startTimeoutMs?: number;
  /** How long stop() waits after SIGTERM before SIGKILL. Default 10 s. */
  stopGraceMs?: number;
  /** Appended to etcd's command line; a repeated flag overrides the default. */
  extraArgs?: string[];
}

/** Persisted next to etcd's data so that every start is the same member on the same ports. */
interface MemberRecord {
  name: string;
  clusterToken: string;
  clientPort: number;
  peerPort: number;
}

export const MEMBER_FILE = 'etcd-member.json';
export const LOG_FILE = 'etcd.log';

const RESTART_BASE_MS = 500;
const RESTART_MAX_MS = 30_000;
/** A member that stayed up this long counts as recovered: the backoff starts over. */
const STABLE_AFTER_MS = 60_000;
/** Fresh ports can be taken between choosing and binding them; choose again this often. */
const PORT_ATTEMPTS = 5;

const noopLogger: EtcdLogger = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

type State = 'idle' | 'starting' | 'running' | 'stopping';

export class EtcdSupervisor {
  private readonly dataDir: string;
  private readonly etcdDataDir: string;
  private readonly logPath: string;
  private readonly log: EtcdLogger;
  private readonly binary: string;
  private readonly startTimeoutMs: number;
  private readonly graceMs: number;

  private state: State = 'idle';
  private member: (EtcdMember & { clusterToken: string }) | undefined;
  /** The healthy etcd being supervised. */
  private proc: EtcdProcess | undefined;
  /** An etcd that is coming up (start or restart), so stop() can end it early. */
  private launching: EtcdProcess | undefined;
  private starting: Promise<unknown> | undefined;
  private restarting: Promise<void> | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private healthySince = 0;

  constructor(private readonly opts: EtcdSupervisorOptions) {
    this.dataDir = resolve(opts.dataDir);
    this.etcdDataDir = join(this.dataDir, 'etcd');
    this.logPath = join(this.dataDir, LOG_FILE);
    this.log = opts.logger ?? noopLogger;
    this.binary = opts.etcdBinary ?? 'etcd';
    this.startTimeoutMs = opts.startTimeoutMs ?? 60_000;
    this.graceMs = opts.stopGraceMs ?? 10_000;
  }

  /** The pid of the running etcd, or undefined while none runs (stopped, or between restarts). */
  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /** The client URLs, fixed from the first successful start() on. */
  get endpoints(): string[] {
    return this.member ? [clientUrl(this.member.clientPort)] : [];
  }

  /**
   * Starts etcd on this data directory (reusing the member, data and ports of
   * an earlier start) and resolves once it reports healthy. Calling it while
   * running returns the same endpoints. Rejects with EtcdError when etcd does
   * not come up; nothing is left running then.
   */
  async start(): Promise<{ endpoints: string[] }> {
    if (this.state === 'running') return { endpoints: this.endpoints };
    if (this.state !== 'idle') throw new Error(`EtcdSupervisor.start: etcd is ${this.state}`);
    this.state = 'starting';
    const starting = this.startOnce();
    this.starting = starting;
    try {
      await starting;
      return { endpoints: this.endpoints };
    } finally {
      this.starting = undefined;
    }
  }

  private async startOnce(): Promise<void> {
    try {
      await mkdir(this.dataDir, { recursive: true, mode: 0o700 });
      // etcd warns about, and later versions refuse, a data dir others can read.
      await mkdir(this.etcdDataDir, { recursive: true, mode: 0o700 });
      await this.reapOrphans();
      const saved = await this.readMemberRecord();
      const identity = {
        name: saved?.name ?? `shoal-${randomBytes(4).toString('hex')}`,
        clusterToken: saved?.clusterToken ?? `shoal-${randomBytes(8).toString('hex')}`,
      };
      let proc: EtcdProcess | undefined;
      for (let attempt = 1; !proc; attempt++) {
        const member = {
          ...identity,
          dataDir: this.etcdDataDir,
          ...(await this.choosePorts(saved, attempt)),
        };
        try {
          proc = await this.launch(member);
          this.member = member;
        } catch (err) {
          const canRepick = this.opts.clientPort === undefined || this.opts.peerPort === undefined;
          if (!(
            err instanceof EtcdError &&
            err.type === 'AddressInUse' &&
            canRepick &&
            attempt < PORT_ATTEMPTS
          )) {
            throw err;
          }
          this.log.warn(
            { clientPort: member.clientPort, peerPort: member.peerPort },
            'etcd port taken; choosing others',
          );
        }
        // stop() ran while etcd was coming up.
        if (this.state !== 'starting') {
          if (proc) await stopEtcdProcess(proc, this.graceMs);
          throw new EtcdError('Exited', 'etcd was stopped while it was starting');
        }
      }
      await this.writeMemberRecord();
      this.adopt(proc);
      this.failures = 0;
      this.state = 'running';
      this.log.info(
        { pid: proc.pid, endpoints: this.endpoints, dataDir: this.etcdDataDir },
        'etcd started',
      );
    } catch (err) {
      this.state = 'idle';
      throw err;
    }
  }

  /**
   * Ports given in the options always win; otherwise the previous start's, so
   * clients and logs keep one address. Only when those are taken (after the
   * first attempt) are ports not fixed by the options chosen anew.
   */
  private async choosePorts(
    saved: MemberRecord | undefined,
    attempt: number,
  ): Promise<{ clientPort: number; peerPort: number }> {
    const reuse = attempt === 1 ? saved : undefined;
    let clientPort = this.opts.clientPort ?? reuse?.clientPort;
    let peerPort = this.opts.peerPort ?? reuse?.peerPort;
    if (clientPort === undefined || peerPort === undefined) {
      const taken = [clientPort, peerPort].filter((p) => p !== undefined);
      // One spare in case a fixed port is among the free ones.
      const free = (await freePorts(3)).filter((p) => !taken.includes(p));
      clientPort ??= free.shift();
      peerPort ??= free.shift();
    }
    return { clientPort: clientPort!, peerPort: peerPort! };
  }

  private launch(member: EtcdMember & { clusterToken: string }): Promise<EtcdProcess> {
    return launchEtcd({
      binary: this.binary,
      args: etcdArgs(
        member,
        { members: [member], token: member.clusterToken },
        this.opts.extraArgs,
      ),
      logPath: this.logPath,
      clientPort: member.clientPort,
      timeoutMs: this.startTimeoutMs,
      graceMs: this.graceMs,
      onSpawn: (proc) => {
        this.launching = proc;
      },
    }).finally(() => {
      this.launching = undefined;
    });
  }

  /** Makes `proc` the supervised etcd: its exit from now on means a restart. */
  private adopt(proc: EtcdProcess): void {
    this.proc = proc;
    this.healthySince = Date.now();
    void proc.exited.then((exit) => this.onExit(proc, exit));
  }

  private onExit(proc: EtcdProcess, exit: EtcdExit): void {
    if (this.proc !== proc) return;
    this.proc = undefined;
    if (this.state !== 'running') return;
    if (Date.now() - this.healthySince >= STABLE_AFTER_MS) this.failures = 0;
    const delayMs = this.nextDelay();
    this.log.warn(
      { pid: proc.pid, ...exit, restartInMs: delayMs, log: this.logPath },
      'etcd exited unexpectedly',
    );
    this.scheduleRestart(delayMs);
  }

  private nextDelay(): number {
    const delayMs = Math.min(RESTART_MAX_MS, RESTART_BASE_MS * 2 ** this.failures);
    this.failures++;
    return delayMs;
  }

  private scheduleRestart(delayMs: number): void {
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      this.restarting = this.restartOnce().finally(() => {
        this.restarting = undefined;
      });
    }, delayMs);
  }

  /** Never rejects: a failed restart schedules the next one. */
  private async restartOnce(): Promise<void> {
    const member = this.member;
    if (this.state !== 'running' || !member) return;
    try {
      // Same member, same ports: clients hold these endpoints.
      const proc = await this.launch(member);
      if (this.state !== 'running') {
        await stopEtcdProcess(proc, this.graceMs);
        return;
      }
      this.adopt(proc);
      this.log.info({ pid: proc.pid, endpoints: this.endpoints }, 'etcd restarted');
    } catch (err) {
      if (this.state !== 'running') return;
      const delayMs = this.nextDelay();
      this.log.error({ err, restartInMs: delayMs }, 'etcd restart failed');
      this.scheduleRestart(delayMs);
    }
  }

  /**
   * Stops etcd (SIGTERM, SIGKILL after the grace period) and any pending
   * restart; resolves when no etcd process of ours is left. Data stays.
   */
  async stop(): Promise<void> {
    if (this.state === 'idle' || this.state === 'stopping') {
      await this.starting?.catch(() => undefined);
      return;
    }
    this.state = 'stopping';
    clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    if (this.launching) await stopEtcdProcess(this.launching, this.graceMs);
    await this.starting?.catch(() => undefined);
    await this.restarting;
    const proc = this.proc;
    this.proc = undefined;
    if (proc) {
      const exit = await stopEtcdProcess(proc, this.graceMs);
      this.log.info({ pid: proc.pid, ...exit }, 'etcd stopped');
    }
    this.state = 'idle';
  }

  private async readMemberRecord(): Promise<MemberRecord | undefined> {
    const path = join(this.dataDir, MEMBER_FILE);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    const record = parseMemberRecord(text);
    // etcd's own data names the member; this file only keeps ports and flags
    // stable, so a damaged one is replaced rather than fatal.
    if (!record) this.log.warn({ path }, 'ignoring unreadable etcd member file');
    return record;
  }

  private async writeMemberRecord(): Promise<void> {
    const m = this.member!;
    const record: MemberRecord = {
      name: m.name,
      clusterToken: m.clusterToken,
      clientPort: m.clientPort,
      peerPort: m.peerPort,
    };
    const path = join(this.dataDir, MEMBER_FILE);
    const tmp = `${path}.${process.pid}.tmp`;
    await writeFile(tmp, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
    await rename(tmp, path);
  }

  /**
   * An etcd still running on our data directory is an orphan of a control
   * plane that died without stop() (SIGKILL, crash): it holds the data lock and
   * the ports, so the new start would fail. It is ours by its --data-dir; end it.
   */
  private async reapOrphans(): Promise<void> {
    for (const pid of await findEtcdOn(this.etcdDataDir)) {
      if (isOurChild(pid)) {
        throw new Error(
          `EtcdSupervisor: another supervisor in this process runs etcd on ${this.etcdDataDir}`,
        );
      }
      this.log.warn(
        { pid, dataDir: this.etcdDataDir },
        'stopping an orphaned etcd left on this data directory',
      );
      await killAndWaitGone(pid, this.etcdDataDir, this.graceMs);
    }
  }
}

function parseMemberRecord(text: string): MemberRecord | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const r = v as Record<string, unknown>;
  const isPort = (p: unknown): p is number =>
    Number.isInteger(p) && (p as number) > 0 && (p as number) < 65536;
  if (typeof r.name !== 'string' || typeof r.clusterToken !== 'string') return undefined;
  if (!isPort(r.clientPort) || !isPort(r.peerPort)) return undefined;
  return {
    name: r.name,
    clusterToken: r.clusterToken,
    clientPort: r.clientPort,
    peerPort: r.peerPort,
  };
}

/** Pids of processes whose command line has `--data-dir <dir>` (either spelling). */
async function findEtcdOn(dir: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let argv: string[];
    try {
      argv = (await readFile(`/proc/${entry}/cmdline`, 'utf8')).split('\0');
    } catch {
      continue; // exited meanwhile, or not ours to read
    }
    const matches = argv.some(
      (a, i) => a === `--data-dir=${dir}` || (a === '--data-dir' && argv[i + 1] === dir),
    );
    if (matches) pids.push(Number(entry));
  }
  return pids;
}

async function killAndWaitGone(pid: number, dir: string, graceMs: number): Promise<void> {
  const signal = (sig: NodeJS.Signals): void => {
    try {
      process.kill(pid, sig);
    } catch {
      // already gone
    }
  };
  // Not our child, so there is no exit event: poll /proc until the process
  // no longer runs on `dir` (a zombie has an empty command line).
  const gone = async (deadlineMs: number): Promise<boolean> => {
    const deadline = Date.now() + deadlineMs;
    while (Date.now() < deadline) {
      if (!(await findEtcdOn(dir)).includes(pid)) return true;
      await sleep(50);
    }
    return false;
  };
  signal('SIGTERM');
  if (await gone(graceMs)) return;
  signal('SIGKILL');
  if (!(await gone(5_000)))
    throw new Error(`EtcdSupervisor: orphaned etcd ${pid} on ${dir} does not exit`);
}
