// Scheduler benchmark (issue 4), one run: a control plane process, N hollow
// agents (real protocol, no containers) in this process, then pods created
// through ReplicaSets and as bare pods. Reports pods bound per second
// sustained, creation→bind latency (as a watcher sees both events), and the
// control plane's peak RSS. Repeat with --nodes 100, 1000, 5000 to see how
// throughput changes with cluster size.
//
//   node dist/test/bench/scheduler.js [--nodes 1000] [--pods 30000] [--rs 30]

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'node:https';
import { parse } from 'yaml';
import { EtcdSupervisor } from '../../controlplane/etcd/supervisor.js';
import { freePort } from '../../controlplane/etcd/ports.js';
import { startHollowAgents } from './hollow-agents.js';

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

function percentile(sorted: number[], p: number): number {
  return sorted.length
    ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
    : NaN;
}

async function peakRssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

interface Cp {
  child: ChildProcess;
  server: string;
  agentAddress: string;
  ca: string;
  token: string;
  joinToken: string;
}

async function startControlplane(dataDir: string, endpoints: string[]): Promise<Cp> {
  const port = await freePort();
  const agentPort = await freePort();
  const entry = new URL('../../cli/main.js', import.meta.url).pathname;
  const child = spawn(
    process.execPath,
    [
      '--max-old-space-size=4096',
      entry,
      'controlplane',
      '--data-dir',
      dataDir,
      '--listen',
      `127.0.0.1:${port}`,
      '--agent-listen',
      `127.0.0.1:${agentPort}`,
      '--etcd-endpoints',
      endpoints.join(','),
    ],
    { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, LOG_LEVEL: 'error' } },
  );
  for (let i = 0; i < 300; i++) {
    try {
      const kc = parse(await readFile(join(dataDir, 'admin.kubeconfig'), 'utf8')) as {
        clusters: { cluster: { server: string; 'certificate-authority-data': string } }[];
        users: { user: { token: string } }[];
      };
      const token = await new Promise<string>((resolve, reject) => {
        const c = spawn(process.execPath, [entry, 'controlplane', 'token', '--data-dir', dataDir]);
        let out = '';
        c.stdout.on('data', (d: Buffer) => (out += d.toString()));
        c.on('exit', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error('token'))));
      });
      return {
        child,
        server: kc.clusters[0]!.cluster.server,
        agentAddress: `127.0.0.1:${agentPort}`,
        ca: Buffer.from(kc.clusters[0]!.cluster['certificate-authority-data'], 'base64').toString(),
        token: kc.users[0]!.user.token,
        joinToken: token,
      };
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  child.kill('SIGKILL');
  throw new Error('control plane did not start');
}

async function main(): Promise<void> {
  const nodes = option('nodes', 1000);
  const totalPods = option('pods', 30_000);
  const rsCount = option('rs', 30);
  const barePods = Math.floor(totalPods / 10);
  const perRs = Math.floor((totalPods - barePods) / rsCount);
  const dir = await mkdtemp(join(tmpdir(), 'shoal-sched-bench-'));
  const etcd = new EtcdSupervisor({
    dataDir: join(dir, 'etcd-host'),
    extraArgs: ['--quota-backend-bytes=8589934592'],
  });
  let cp: Cp | undefined;
  let hollow: Awaited<ReturnType<typeof startHollowAgents>> | undefined;
  try {
    const { endpoints } = await etcd.start();
    cp = await startControlplane(join(dir, 'cp'), endpoints);
    const url = new URL(cp.server);
    const agent = new Agent({ keepAlive: true, maxSockets: 64, ca: cp.ca });
    const call = (
      method: string,
      path: string,
      body?: unknown,
    ): Promise<{ status: number; text: string }> =>
      new Promise((resolve, reject) => {
        const req = request(
          {
            host: url.hostname,
            port: url.port,
            method,
            path,
            agent,
            headers: { authorization: `Bearer ${cp!.token}`, 'content-type': 'application/json' },
          },
          (res) => {
            let text = '';
            res.on('data', (d: Buffer) => (text += d.toString()));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
          },
        );
        req.on('error', reject);
        req.end(body === undefined ? undefined : JSON.stringify(body));
      });

    const t0 = performance.now();
    hollow = await startHollowAgents({
      server: cp.agentAddress,
      token: cp.joinToken,
      count: nodes,
    });
    for (;;) {
      const res = await call('GET', '/api/v1/nodes?limit=1');
      const list = JSON.parse(res.text) as {
        items: unknown[];
        metadata: { remainingItemCount?: number };
      };
      if (list.items.length + (list.metadata.remainingItemCount ?? 0) >= nodes) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const joinSeconds = (performance.now() - t0) / 1000;

    // A watcher sees each pod appear and then get its node.
    const seen = new Map<string, number>();
    const latencies: number[] = [];
    let bound = 0;
    let firstBind = 0;
    let lastBind = 0;
    const watchReq = request(
      {
        host: url.hostname,
        port: url.port,
        method: 'GET',
        path: '/api/v1/pods?watch=true&resourceVersion=0',
        agent: new Agent({ ca: cp.ca }),
        headers: { authorization: `Bearer ${cp.token}` },
      },
      (res) => {
        let buf = '';
        res.on('data', (d: Buffer) => {
          buf += d.toString();
          let nl: number;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl);
            buf = buf.slice(nl + 1);
            let parsed: unknown;
            try {
              parsed = JSON.parse(line);
            } catch {
              continue;
            }
            const ev = parsed as {
              type: string;
              object: { metadata: { uid: string }; spec?: { nodeName?: string } };
            };
            if (ev.type === 'ERROR') continue;
            const uid = ev.object.metadata.uid;
            const now = performance.now();
            if (!seen.has(uid)) seen.set(uid, now);
            if (ev.object.spec?.nodeName && seen.get(uid)! >= 0) {
              latencies.push(now - seen.get(uid)!);
              seen.set(uid, -1);
              bound++;
              if (!firstBind) firstBind = now;
              lastBind = now;
            }
          }
        });
      },
    );
    watchReq.end();
    await new Promise((r) => setTimeout(r, 500));

    const template = {
      metadata: { labels: { app: 'bench' } },
      spec: {
        containers: [
          { name: 'c', image: 'busybox', resources: { requests: { cpu: '10m', memory: '16Mi' } } },
        ],
      },
    };
    const createStart = performance.now();
    for (let i = 0; i < rsCount; i++) {
      await call('POST', '/apis/apps/v1/namespaces/default/replicasets', {
        metadata: { name: `bench-${i}` },
        spec: {
          replicas: perRs,
          selector: { matchLabels: { app: 'bench', rs: String(i) } },
          template: { ...template, metadata: { labels: { app: 'bench', rs: String(i) } } },
        },
      });
    }
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < barePods) {
          const i = next++;
          await call('POST', '/api/v1/namespaces/default/pods', {
            metadata: { name: `bare-${i}` },
            spec: template.spec,
          });
        }
      }),
    );
    const expected = rsCount * perRs + barePods;
    const deadline = Date.now() + 30 * 60_000;
    // The watch gives latencies; completion is read from the API itself, so a
    // dropped watch cannot stall the run.
    let boundNow = 0;
    while (boundNow < expected && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 1000));
      const list = JSON.parse((await call('GET', '/api/v1/pods')).text) as {
        items: { spec?: { nodeName?: string } }[];
      };
      boundNow = list.items.filter((p) => p.spec?.nodeName).length;
    }
    const finished = performance.now();
    watchReq.destroy();
    latencies.sort((a, b) => a - b);
    bound = boundNow;
    const rate = bound / ((finished - (firstBind || createStart)) / 1000);
    void lastBind;
    const rss = await peakRssMiB(cp.child.pid!);

    console.log(
      `\nShoal scheduler benchmark — ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}\n`,
    );
    console.log('| measure | result | notes |');
    console.log('| --- | --- | --- |');
    console.log(`| hollow nodes joined and Ready | ${nodes} | ${joinSeconds.toFixed(1)} s |`);
    console.log(
      `| pods bound | ${bound}/${expected} | ${rsCount} ReplicaSets × ${perRs} + ${barePods} bare pods; created over ${((performance.now() - createStart) / 1000).toFixed(1)} s |`,
    );
    console.log(
      `| pods bound per second, sustained | ${rate.toFixed(0)} | first bind seen until all are bound (read from the API each second) |`,
    );
    console.log(
      `| creation → bind, p50 / p99 | ${percentile(latencies, 50).toFixed(0)} ms / ${percentile(latencies, 99).toFixed(0)} ms | as one watcher sees the two events |`,
    );
    console.log(
      `| control plane peak RSS | ${rss.toFixed(0)} MiB | VmHWM of the controlplane process |`,
    );
  } finally {
    await hollow?.stop();
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
