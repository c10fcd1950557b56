// API benchmark (issue 2), one run, each figure beside its baseline:
//   1. raw etcd puts from etcd3 at 32 concurrent clients (pod-sized values);
//   2. pod creates through the API over HTTPS at 32 concurrent clients;
//   3. a list of all those pods (time and bytes);
//   4. 100 watchers on pods: delay from a write's response to each watcher's event.
// The control plane runs as its own process (as in production), so the load
// generator does not share its event loop.
//
//   node dist/test/bench/api.js [--pods 10000] [--concurrency 32] [--watchers 100]

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir, cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'node:https';
import { Etcd3 } from 'etcd3';
import { EtcdSupervisor } from '../../controlplane/etcd/supervisor.js';
import { freePort } from '../../controlplane/etcd/ports.js';
import { parse } from 'yaml';

interface Options {
  pods: number;
  concurrency: number;
  watchers: number;
  watchWrites: number;
}

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function podManifest(i: number): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `bench-${i}`, labels: { app: 'bench', shard: String(i % 10) } },
    spec: {
      containers: [
        {
          name: 'main',
          image: 'registry.local/busybox:1.36',
          command: ['sh', '-c', 'sleep 3600'],
          resources: { requests: { cpu: '10m', memory: '16Mi' } },
          ports: [{ containerPort: 8080, name: 'http' }],
        },
      ],
    },
  });
}

/** Runs `total` operations with `concurrency` in flight; returns each one's latency in ms. */
async function load(
  total: number,
  concurrency: number,
  op: (i: number) => Promise<void>,
): Promise<{ latencies: number[]; seconds: number }> {
  const latencies: number[] = [];
  let next = 0;
  const start = performance.now();
  const worker = async (): Promise<void> => {
    while (next < total) {
      const i = next++;
      const t0 = performance.now();
      await op(i);
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  return { latencies, seconds };
}

interface Api {
  call(method: string, path: string, body?: string): Promise<{ status: number; body: Buffer }>;
  watch(path: string, onLine: (line: string) => void): () => void;
}

function apiClient(server: string, ca: string, token: string): Api {
  const url = new URL(server);
  const agent = new Agent({ keepAlive: true, maxSockets: 256, ca });
  const base = {
    host: url.hostname,
    port: url.port,
    agent,
    headers: { authorization: `Bearer ${token}` },
  };
  return {
    call: (method, path, body) =>
      new Promise((resolve, reject) => {
        const req = request(
          {
            ...base,
            method,
            path,
            headers: { ...base.headers, ...(body ? { 'content-type': 'application/json' } : {}) },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () =>
              resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }),
            );
            res.on('error', reject);
          },
        );
        req.on('error', reject);
        req.end(body);
      }),
    watch: (path, onLine) => {
      const req = request({ ...base, method: 'GET', path, agent: new Agent({ ca }) }, (res) => {
        let buf = '';
        res.on('data', (c: Buffer) => {
          buf += c.toString();
          let nl: number;
          while ((nl = buf.indexOf('\n')) >= 0) {
            onLine(buf.slice(0, nl));
            buf = buf.slice(nl + 1);
          }
        });
        res.on('error', () => undefined);
      });
      req.on('error', () => undefined);
      req.end();
      return () => req.destroy();
    },
  };
}

async function startControlplaneProcess(
  dataDir: string,
  endpoints: string[],
): Promise<{ child: ChildProcess; server: string; ca: string; token: string }> {
  const port = await freePort();
  const agentPort = await freePort();
  const child = spawn(
    process.execPath,
    [
      // SHOAL_BENCH_PROFILE=DIR writes a CPU profile of the control plane there.
      ...(process.env.SHOAL_BENCH_PROFILE
        ? ['--cpu-prof', `--cpu-prof-dir=${process.env.SHOAL_BENCH_PROFILE}`]
        : []),
      new URL('../../cli/main.js', import.meta.url).pathname,
      'controlplane',
      '--data-dir',
      dataDir,
      '--listen',
      `127.0.0.1:${port}`,
      '--agent-listen',
      `127.0.0.1:${agentPort}`,
      '--etcd-endpoints',
      endpoints.join(','),
      // The API server alone, as kube-apiserver is measured: no scheduler reacting to 10,000 pods.
      '--no-controllers',
    ],
    { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, LOG_LEVEL: 'warn' } },
  );
  const kubeconfig = join(dataDir, 'admin.kubeconfig');
  for (let i = 0; i < 300; i++) {
    try {
      const kc = parse(await readFile(kubeconfig, 'utf8')) as {
        clusters: { cluster: { server: string; 'certificate-authority-data': string } }[];
        users: { user: { token: string } }[];
      };
      const cluster = kc.clusters[0]!.cluster;
      return {
        child,
        server: cluster.server,
        ca: Buffer.from(cluster['certificate-authority-data'], 'base64').toString(),
        token: kc.users[0]!.user.token,
      };
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  child.kill('SIGKILL');
  throw new Error('control plane did not start');
}

async function main(): Promise<void> {
  const opts: Options = {
    pods: option('pods', 10_000),
    concurrency: option('concurrency', 32),
    watchers: option('watchers', 100),
    watchWrites: option('watch-writes', 200),
  };
  const dir = await mkdtemp(join(tmpdir(), 'shoal-bench-'));
  const etcd = new EtcdSupervisor({ dataDir: join(dir, 'etcd-host') });
  let cp: Awaited<ReturnType<typeof startControlplaneProcess>> | undefined;
  const rows: [string, string, string][] = [];
  try {
    const { endpoints } = await etcd.start();

    // 1. Raw etcd, same value size and concurrency as the API run.
    const raw = new Etcd3({ hosts: endpoints });
    const value = podManifest(0);
    const etcdRun = await load(opts.pods, opts.concurrency, async (i) => {
      await raw.put(`/bench-raw/${i}`).value(value);
    });
    await raw.delete().prefix('/bench-raw/');
    raw.close();
    const etcdRate = opts.pods / etcdRun.seconds;

    // 2. Pod creates through the API.
    cp = await startControlplaneProcess(join(dir, 'cp'), endpoints);
    const api = apiClient(cp.server, cp.ca, cp.token);
    const createRun = await load(opts.pods, opts.concurrency, async (i) => {
      const res = await api.call('POST', '/api/v1/namespaces/default/pods', podManifest(i));
      if (res.status !== 201) throw new Error(`create ${i}: ${res.status} ${res.body.toString()}`);
    });
    const apiRate = opts.pods / createRun.seconds;

    // 3. List them all.
    const listTimes: number[] = [];
    let listBytes = 0;
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      const res = await api.call('GET', '/api/v1/namespaces/default/pods');
      listTimes.push(performance.now() - t0);
      if (res.status !== 200)
        throw new Error(`list: ${res.status} ${res.body.toString().slice(0, 200)}`);
      listBytes = res.body.length;
    }
    listTimes.sort((a, b) => a - b);

    // 4. Watch fan-out: each write's response time → each watcher's receipt.
    const sent = new Map<string, number>();
    const delays: number[] = [];
    let ready = 0;
    const rv = JSON.parse(
      (await api.call('GET', '/api/v1/namespaces/default/pods?limit=1')).body.toString(),
    ) as {
      metadata: { resourceVersion: string };
    };
    const stops = Array.from({ length: opts.watchers }, () =>
      api.watch(
        `/api/v1/namespaces/default/pods?watch=true&resourceVersion=${rv.metadata.resourceVersion}&labelSelector=app%3Dwatched`,
        (line) => {
          const ev = JSON.parse(line) as { object: { metadata: { name: string } } };
          const t = sent.get(ev.object.metadata.name);
          if (t !== undefined) delays.push(performance.now() - t);
        },
      ),
    );
    ready = opts.watchers;
    await new Promise((r) => setTimeout(r, 1000));
    for (let i = 0; i < opts.watchWrites; i++) {
      const name = `watched-${i}`;
      const body = JSON.parse(podManifest(i)) as { metadata: Record<string, unknown> };
      body.metadata = { name, labels: { app: 'watched' } };
      const t0 = performance.now();
      sent.set(name, t0);
      await api.call('POST', '/api/v1/namespaces/default/pods', JSON.stringify(body));
      await new Promise((r) => setTimeout(r, 5));
    }
    const expected = opts.watchWrites * ready;
    for (let i = 0; i < 100 && delays.length < expected; i++)
      await new Promise((r) => setTimeout(r, 100));
    for (const stop of stops) stop();
    delays.sort((a, b) => a - b);

    const fmt = (n: number, d = 0): string => n.toFixed(d);
    rows.push([
      'etcd puts/s, raw etcd3, 32 clients (baseline)',
      fmt(etcdRate),
      `p50 ${fmt(percentile(etcdRun.latencies, 50), 1)} ms, p99 ${fmt(percentile(etcdRun.latencies, 99), 1)} ms`,
    ]);
    rows.push([
      `API pod creates/s over HTTPS, ${opts.concurrency} clients, ${opts.pods} pods`,
      fmt(apiRate),
      `${fmt(apiRate / etcdRate, 2)} × raw etcd; p50 ${fmt(percentile(createRun.latencies, 50), 1)} ms, p99 ${fmt(percentile(createRun.latencies, 99), 1)} ms`,
    ]);
    rows.push([
      `list ${opts.pods} pods`,
      `${fmt(percentile(listTimes, 50))} ms`,
      `${fmt(listBytes / 1e6, 1)} MB, median of 5`,
    ]);
    rows.push([
      `watch fan-out, ${opts.watchers} watchers × ${opts.watchWrites} writes`,
      `p99 ${fmt(percentile(delays, 99), 1)} ms`,
      `p50 ${fmt(percentile(delays, 50), 1)} ms; ${delays.length}/${expected} events delivered`,
    ]);

    const cpu = cpus()[0]?.model ?? 'unknown cpu';
    console.log(
      `\nShoal API benchmark — ${cpus().length} × ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}\n`,
    );
    console.log('| measure | result | notes |');
    console.log('| --- | --- | --- |');
    for (const [a, b, c] of rows) console.log(`| ${a} | ${b} | ${c} |`);
  } finally {
    if (cp) {
      cp.child.kill('SIGTERM');
      await new Promise((r) => cp!.child.once('exit', r));
    }
    await etcd.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
