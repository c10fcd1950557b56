// Service benchmark, one run as root, each figure beside its baseline:
//   1. a client in a pod on host 1 makes sequential HTTP requests (a new
//      connection each) to a Service cluster IP backed by 3 busybox httpd
//      pods on hosts 2 and 3, against the same client hitting one of those
//      pods by its IP: requests per second and p50/p99 latency;
//   2. with 100 Services and 1,000 endpoints programmed on every host, the
//      time from an Endpoints change (written through the API) until the new
//      rule is in the nat table of all three hosts.
// The client is a Node process placed in the pod's network namespace
// (nsenter --net=<the pod's netns>): the same packets as a program in the
// pod, with a timer finer than busybox offers.
//
//   npm run build && node dist/test/bench/service.js [--requests 500] [--changes 10]
//
// Everything it makes is removed before it exits, on failure too.

import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { createLab, type Lab } from '../support/hosts.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { startTestControlplane, type TestControlplane } from '../support/controlplane.js';
import { scrubAgent, startAgentOn, type TestAgent } from '../support/agents.js';
import { waitFor } from '../support/wait.js';
import { agentPaths } from '../../nodeagent/paths.js';

const run = promisify(execFile);
const NS = 'default';

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i > 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name}: expected a positive integer`);
  return v;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** Sequential GETs from inside a network namespace; returns each request's ms. */
async function loadFrom(netnsPath: string, url: string, requests: number): Promise<number[]> {
  const script = `
    const http = require('node:http');
    const out = [];
    const one = () => new Promise((resolve, reject) => {
      const t = process.hrtime.bigint();
      http.get(${JSON.stringify(url)}, { agent: false }, (res) => {
        res.resume();
        res.on('end', () => { out.push(Number(process.hrtime.bigint() - t) / 1e6); resolve(); });
      }).on('error', reject);
    });
    (async () => { for (let i = 0; i < ${requests}; i++) await one(); console.log(JSON.stringify(out)); })()
      .catch((e) => { console.error(e.message); process.exit(1); });`;
  const child = spawn('nsenter', [`--net=${netnsPath}`, process.execPath, '-e', script], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((r) => child.on('close', r));
  if (code !== 0) throw new Error(`load client failed: ${err}`);
  return JSON.parse(out) as number[];
}

function summary(name: string, ms: number[]): string {
  const sorted = [...ms].sort((a, b) => a - b);
  const total = ms.reduce((a, b) => a + b, 0);
  return `${name.padEnd(28)} ${(ms.length / (total / 1000)).toFixed(0).padStart(6)} req/s   p50 ${percentile(sorted, 50).toFixed(2)} ms   p99 ${percentile(sorted, 99).toFixed(2)} ms`;
}

async function main(): Promise<void> {
  const requests = option('requests', 500);
  const changes = option('changes', 10);
  let lab: Lab | undefined;
  let registry: TestRegistry | undefined;
  let cp: TestControlplane | undefined;
  let agents: TestAgent[] = [];
  try {
    lab = await createLab(3);
    registry = await startRegistry({ address: lab.gatewayIp });
    await registry.pushBusybox('latest');
    const image = `${registry.host}/busybox:latest`;
    cp = await startTestControlplane({ agentListen: `${lab.gatewayIp}:0`, controllers: true });
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(cp.kubeconfigPath);
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const agentArgs = {
      server: cp.agentAddress,
      token: cp.joinToken,
      insecureRegistries: [registry.host],
    };
    agents = await Promise.all(lab.hosts.map((h) => startAgentOn(h, agentArgs)));
    await waitFor(
      'three nodes',
      async () => (await core.listNode()).items.length,
      (n) => n === 3,
    );
    const [h1, h2, h3] = lab.hosts.map((h) => h.name) as [string, string, string];

    const pod = (
      name: string,
      node: string,
      cmd: string,
      labels: Record<string, string>,
    ): k8s.V1Pod => ({
      metadata: { name, labels },
      spec: {
        nodeName: node,
        terminationGracePeriodSeconds: 1,
        containers: [{ name: 'main', image, command: ['sh', '-c', cmd] }],
      },
    });
    const httpd = 'mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 8080 -h /www';
    for (const [i, node] of [h2, h3, h2].entries())
      await core.createNamespacedPod({
        namespace: NS,
        body: pod(`web-${i}`, node, httpd, { app: 'web' }),
      });
    await core.createNamespacedPod({
      namespace: NS,
      body: pod('client', h1, 'sleep 3600', { app: 'client' }),
    });
    await core.createNamespacedService({
      namespace: NS,
      body: {
        metadata: { name: 'web' },
        spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] },
      },
    });
    await waitFor(
      'pods running',
      async () =>
        (await core.listNamespacedPod({ namespace: NS })).items.filter(
          (p) => p.status?.phase === 'Running',
        ).length,
      (n) => n === 4,
      { timeoutMs: 120_000 },
    );
    await waitFor(
      'three endpoints',
      async () =>
        (await core.readNamespacedEndpoints({ namespace: NS, name: 'web' })).subsets?.[0]?.addresses
          ?.length ?? 0,
      (n) => n === 3,
    );
    const client = await core.readNamespacedPod({ namespace: NS, name: 'client' });
    const clientNetns = join(
      agentPaths(agents[0]!.dataDir).network,
      'netns',
      client.metadata!.uid!,
    );
    const web0 = await core.readNamespacedPod({ namespace: NS, name: 'web-0' });
    const vip = (await core.readNamespacedService({ namespace: NS, name: 'web' })).spec!.clusterIP!;
    // The rules reach the client's host a little after the Endpoints.
    await waitFor(
      'the VIP answers',
      () =>
        loadFrom(clientNetns, `http://${vip}/`, 1).then(
          () => true,
          () => false,
        ),
      (ok) => ok,
    );

    console.log(
      `Service traffic: ${requests} sequential requests, a new connection each, client on another host`,
    );
    await loadFrom(clientNetns, `http://${web0.status!.podIP!}:8080/`, 20); // warm-up
    const direct = await loadFrom(clientNetns, `http://${web0.status!.podIP!}:8080/`, requests);
    const viaVip = await loadFrom(clientNetns, `http://${vip}/`, requests);
    console.log(summary('pod IP (baseline)', direct));
    console.log(summary('Service cluster IP', viaVip));

    // 2. 100 Services with 10 endpoints each (selector-less: Endpoints written directly).
    for (let s = 0; s < 100; s++) {
      const name = `bulk-${s}`;
      await core.createNamespacedService({
        namespace: NS,
        body: { metadata: { name }, spec: { ports: [{ port: 80 }] } },
      });
      await core.createNamespacedEndpoints({
        namespace: NS,
        body: {
          metadata: { name },
          subsets: [
            {
              addresses: Array.from({ length: 10 }, (_, i) => ({ ip: `10.245.${s}.${i + 1}` })),
              ports: [{ port: 80 }],
            },
          ],
        },
      });
    }
    const nat = async (host: string): Promise<string> =>
      (await run('nsenter', [`--net=/run/netns/${host}`, 'iptables-save', '-t', 'nat'])).stdout;
    await waitFor(
      '1,000 endpoints on every host',
      async () =>
        (await Promise.all(lab!.hosts.map((h) => nat(h.name)))).map(
          (t) => (t.match(/-j DNAT/g) ?? []).length,
        ),
      (counts) => counts.every((c) => c >= 1000),
      { timeoutMs: 120_000 },
    );
    const times: number[] = [];
    for (let c = 0; c < changes; c++) {
      const ip = `10.246.0.${c + 1}`;
      const started = Date.now();
      await core.patchNamespacedEndpoints(
        {
          namespace: NS,
          name: `bulk-${c}`,
          body: [{ op: 'add', path: '/subsets/0/addresses/-', value: { ip } }],
        },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch),
      );
      await Promise.all(
        lab.hosts.map((h) =>
          waitFor(
            `${ip} on ${h.name}`,
            () => nat(h.name),
            (t) => t.includes(`${ip}:80`),
            {
              timeoutMs: 30_000,
              intervalMs: 20,
            },
          ),
        ),
      );
      times.push(Date.now() - started);
    }
    const sorted = [...times].sort((a, b) => a - b);
    console.log(
      `Endpoints change → rules on all 3 hosts (100 Services, 1,000 endpoints, ${changes} changes): ` +
        `median ${percentile(sorted, 50)} ms, max ${sorted.at(-1)} ms (includes ~20–60 ms of iptables-save polling)`,
    );
  } finally {
    for (const a of agents) await a.stop().catch(() => undefined);
    for (const a of agents) await scrubAgent(a).catch(() => undefined);
    await cp?.stop().catch(() => undefined);
    await registry?.stop().catch(() => undefined);
    await lab?.destroy().catch(() => undefined);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
