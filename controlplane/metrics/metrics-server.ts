// A plain-HTTP listener for Prometheus without credentials (the control
// plane's and the agent's --metrics-listen, like kube-proxy's :10249 or
// kubelet's read-only port): GET /metrics, /healthz, /livez and /readyz,
// nothing else. Bind it to loopback or a private network: it has no
// authentication by design. Node's http module, not fastify: four fixed
// paths need no router.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { runHealthChecks, type HealthCheck } from './health.js';

export interface MetricsServerOptions {
  /** The text exposition and its content type. */
  metrics: () => Promise<string>;
  contentType: string;
  /** Checks of /livez and /healthz: the process works. */
  liveChecks?: readonly HealthCheck[];
  /** Checks of /readyz: liveness plus what serving needs (etcd, caches, registration). */
  readyChecks?: readonly HealthCheck[];
}

export interface RunningMetricsServer {
  /** host:port actually bound (port 0 resolved). */
  address: string;
  port: number;
  close(): Promise<void>;
}

/** Parses HOST:PORT ([v6]:PORT too) of a --metrics-listen flag; a clear error names the flag. */
export function parseMetricsListen(value: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(value);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`--metrics-listen: expected HOST:PORT, got "${value}"`);
  }
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

async function handle(
  opts: MetricsServerOptions,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const path = (q < 0 ? url : url.slice(0, q)).replace(/\/+$/, '') || '/';
  const query = q < 0 ? '' : url.slice(q + 1);
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { 'Content-Type': 'text/plain', Allow: 'GET, HEAD' });
    res.end('method not allowed\n');
    return;
  }
  if (path === '/metrics') {
    const text = await opts.metrics();
    res.writeHead(200, { 'Content-Type': opts.contentType });
    res.end(req.method === 'HEAD' ? undefined : text);
    return;
  }
  const live = opts.liveChecks ?? [];
  const checks =
    path === '/readyz'
      ? [...live, ...(opts.readyChecks ?? [])]
      : path === '/livez' || path === '/healthz'
        ? live
        : undefined;
  if (!checks) {
    res.writeHead(404, { 'Content-Type': 'text/plain' });
    res.end('404 page not found\n');
    return;
  }
  const answer = await runHealthChecks(path.slice(1), checks, query);
  res.writeHead(answer.status, { 'Content-Type': 'text/plain; charset=utf-8' });
  res.end(answer.body);
}

/** Listens on listen (HOST:PORT, port 0 for any free port); resolves once bound. */
export async function startMetricsServer(
  listen: string,
  opts: MetricsServerOptions,
): Promise<RunningMetricsServer> {
  const { host, port } = parseMetricsListen(listen);
  const server: Server = createServer((req, res) => {
    handle(opts, req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' });
      res.end(`${err instanceof Error ? err.message : String(err)}\n`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    address: `${host.includes(':') ? `[${host}]` : host}:${bound}`,
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Prometheus keeps connections alive; without this close() waits for them.
        server.closeAllConnections();
      }),
  };
}
