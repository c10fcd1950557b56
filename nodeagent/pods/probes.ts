// Container probes as the kubelet runs them (pkg/kubelet/prober): one probe
// attempt (exec, httpGet, tcpSocket) and a worker per container and probe
// kind that applies initialDelaySeconds, periodSeconds and the success and
// failure thresholds, and reports only changes of the verdict.

import { request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import { KUBERNETES_VERSION } from '../../controlplane/version.js';
import type { PortRef, Probe } from './types.js';

/**
 * 'unknown' is the kubelet's "probe errored" (the exec could not run, a named
 * port does not exist): the worker discards it, neither success nor failure.
 */
export interface ProbeResult {
  result: 'success' | 'failure' | 'unknown';
  message?: string;
}

export interface ExecResult {
  exitCode: number;
  output: string;
  /** Set when the command outlived its timeout; the kubelet counts that as a failure. */
  timedOut?: boolean;
}

export interface ProbeContext {
  podIP: string;
  /** Runs a command in the container; rejects only when it cannot be run at all. */
  exec: (cmd: string[], timeoutMs: number) => Promise<ExecResult>;
  /** Resolves a named container port. */
  namedPort?: (name: string) => number | undefined;
}

export type ProbeKind = 'liveness' | 'readiness' | 'startup';

// API defaults for a probe's fields (pkg/apis/core/v1/defaults.go).
export function probeSettings(probe: Probe): {
  initialDelaySeconds: number;
  timeoutSeconds: number;
  periodSeconds: number;
  successThreshold: number;
  failureThreshold: number;
} {
  return {
    initialDelaySeconds: probe.initialDelaySeconds ?? 0,
    timeoutSeconds: probe.timeoutSeconds || 1,
    periodSeconds: probe.periodSeconds || 10,
    successThreshold: probe.successThreshold || 1,
    failureThreshold: probe.failureThreshold || 3,
  };
}

// The kubelet reads at most this much of an HTTP probe's body.
const MAX_BODY = 10 * 1024;
const USER_AGENT = `kube-probe/${KUBERNETES_VERSION.major}.${KUBERNETES_VERSION.minor}`;

/** One probe attempt. */
export async function runProbe(probe: Probe, ctx: ProbeContext): Promise<ProbeResult> {
  const timeoutMs = probeSettings(probe).timeoutSeconds * 1000;
  if (probe.exec) {
    const command = probe.exec.command ?? [];
    let r: ExecResult;
    try {
      r = await ctx.exec(command, timeoutMs);
    } catch (err) {
      return { result: 'unknown', message: (err as Error).message };
    }
    if (r.timedOut)
      return {
        result: 'failure',
        message: `command ${JSON.stringify(command.join(' '))} timed out`,
      };
    return r.exitCode === 0
      ? { result: 'success', message: r.output }
      : { result: 'failure', message: r.output };
  }
  if (probe.httpGet) {
    const get = probe.httpGet;
    const port = resolvePort(get.port, ctx);
    if (typeof port === 'string') return { result: 'unknown', message: port };
    const scheme = (get.scheme ?? 'HTTP').toLowerCase();
    const host = get.host || ctx.podIP;
    const reqPath = !get.path ? '/' : get.path.startsWith('/') ? get.path : `/${get.path}`;
    const url = `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}${reqPath}`;
    const headers: OutgoingHttpHeaders = {};
    for (const h of get.httpHeaders ?? []) {
      const key = h.name.toLowerCase();
      const prev = headers[key];
      headers[key] =
        prev === undefined ? h.value : [...(Array.isArray(prev) ? prev : [String(prev)]), h.value];
    }
    headers['user-agent'] ??= USER_AGENT;
    headers['accept'] ??= '*/*';
    return httpProbe(url, scheme === 'https', headers, timeoutMs);
  }
  if (probe.tcpSocket) {
    const port = resolvePort(probe.tcpSocket.port, ctx);
    if (typeof port === 'string') return { result: 'unknown', message: port };
    return tcpProbe(probe.tcpSocket.host || ctx.podIP, port, timeoutMs);
  }
  if (probe.grpc) return { result: 'unknown', message: 'grpc probes are not supported' };
  return { result: 'unknown', message: 'missing probe handler' };
}

function resolvePort(port: PortRef, ctx: ProbeContext): number | string {
  const n = typeof port === 'number' ? port : ctx.namedPort?.(port);
  if (n === undefined) return `couldn't find port: ${port}`;
  if (!Number.isInteger(n) || n <= 0 || n > 65535) return `invalid port number: ${n}`;
  return n;
}

// DoHTTPProbe: 2xx and 3xx succeed. The kubelet follows redirects on the same
// host; this does not, so any 3xx succeeds (as a redirect to another host does
// in the kubelet). Errors, timeouts included, are failures that name the URL
// as Go's client does.
function httpProbe(
  url: string,
  tls: boolean,
  headers: OutgoingHttpHeaders,
  timeoutMs: number,
): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (r: ProbeResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    const options = { method: 'GET', headers, agent: false as const, rejectUnauthorized: false };
    const req = tls ? httpsRequest(url, options) : httpRequest(url, options);
    const timer = setTimeout(() => {
      finish({
        result: 'failure',
        message: `Get "${url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`,
      });
      req.destroy();
    }, timeoutMs);
    req.on('error', (err) =>
      finish({ result: 'failure', message: `Get "${url}": ${err.message}` }),
    );
    req.on('response', (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        if (size < MAX_BODY) chunks.push(chunk.subarray(0, MAX_BODY - size));
        size += chunk.length;
      });
      res.on('error', (err) =>
        finish({ result: 'failure', message: `Get "${url}": ${err.message}` }),
      );
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        const body = Buffer.concat(chunks).toString('utf8');
        finish(
          status >= 200 && status < 400
            ? { result: 'success', message: body }
            : { result: 'failure', message: `HTTP probe failed with statuscode: ${status}` },
        );
        req.destroy();
      });
    });
    req.end();
  });
}

// DoTCPProbe: a connection opened within the timeout is a success.
function tcpProbe(host: string, port: number, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const addr = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    const socket = connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ result: 'failure', message: `dial tcp ${addr}: i/o timeout` });
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ result: 'success' });
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ result: 'failure', message: `dial tcp ${addr}: ${err.message}` });
    });
  });
}

export interface ProbeWorkerOptions {
  /** When the container started (ms since epoch); initialDelaySeconds counts from it. Defaults to start(). */
  startedAt?: number;
  now?: () => number;
  /** Every failed attempt, as the kubelet records an Unhealthy event for each. */
  onFailure?: (message: string) => void;
}

/**
 * The kubelet's prober worker for one container and one probe kind. It probes
 * at once on start() and then every periodSeconds, skipping attempts until
 * initialDelaySeconds after the container started. A verdict needs
 * successThreshold (failureThreshold) equal results in a row; onChange fires
 * only when the verdict differs from the last one. Readiness starts false,
 * liveness true, startup unknown. After a liveness or startup failure the
 * worker holds (the container is going to be restarted, and a new worker
 * made); after startup succeeds it stops probing.
 */
export class ProbeWorker {
  private readonly settings: ReturnType<typeof probeSettings>;
  private readonly now: () => number;
  private startedAt: number | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;
  private inFlight = false;
  private pendingTick = false;
  private stopped = true;
  private onHold = false;
  private lastResult: boolean | undefined;
  private resultRun = 0;
  private reported: boolean | undefined;
  private readonly onFailure: ((message: string) => void) | undefined;

  constructor(
    probe: Probe,
    private readonly kind: ProbeKind,
    private readonly run: () => Promise<ProbeResult>,
    private readonly onChange: (ok: boolean, message?: string) => void,
    opts: ProbeWorkerOptions = {},
  ) {
    this.settings = probeSettings(probe);
    this.now = opts.now ?? Date.now;
    this.startedAt = opts.startedAt;
    this.onFailure = opts.onFailure;
    this.reported = kind === 'readiness' ? false : kind === 'liveness' ? true : undefined;
  }

  /** The current verdict: readiness false until proven, liveness true until disproven, startup undefined. */
  get verdict(): boolean | undefined {
    return this.reported;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.startedAt ??= this.now();
    this.timer = setInterval(() => this.tick(), this.settings.periodSeconds * 1000);
    this.tick();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  // Like a Go ticker with its one-slot channel: a tick that arrives while a
  // probe is still running is kept, and further ones are dropped.
  private tick(): void {
    if (this.stopped) return;
    if (this.inFlight) {
      this.pendingTick = true;
      return;
    }
    this.inFlight = true;
    void this.doProbe().finally(() => {
      this.inFlight = false;
      if (this.pendingTick) {
        this.pendingTick = false;
        this.tick();
      }
    });
  }

  private async doProbe(): Promise<void> {
    if (this.onHold) return;
    const elapsedSeconds = Math.floor((this.now() - (this.startedAt ?? 0)) / 1000);
    if (elapsedSeconds < this.settings.initialDelaySeconds) return;

    let r: ProbeResult;
    try {
      r = await this.run();
    } catch (err) {
      r = { result: 'unknown', message: (err as Error).message };
    }
    if (this.stopped || r.result === 'unknown') return;

    const ok = r.result === 'success';
    if (!ok) this.onFailure?.(r.message ?? '');
    if (this.lastResult === ok) {
      this.resultRun++;
    } else {
      this.lastResult = ok;
      this.resultRun = 1;
    }
    if (
      (!ok && this.resultRun < this.settings.failureThreshold) ||
      (ok && this.resultRun < this.settings.successThreshold)
    ) {
      return;
    }

    if (this.reported !== ok) {
      this.reported = ok;
      this.onChange(ok, r.message);
    }
    if ((this.kind === 'liveness' || this.kind === 'startup') && !ok) {
      this.onHold = true;
      this.resultRun = 0;
    }
    if (this.kind === 'startup' && ok) this.stop();
  }
}
