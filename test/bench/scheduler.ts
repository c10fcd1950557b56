// Scheduler benchmark (issue 4): for each cluster size, a fresh etcd and
// control plane process, N hollow agents (real protocol, no containers) in
// this process, then pods created through ReplicaSets (90 %) and as bare pods
// (10 %). Reports pods bound per second sustained, creation→bind latency (as
// a watcher sees both events), the control plane's and etcd's peak RSS, and
// the CPU time each process spent per bound pod (steadier than rates on a
// shared machine).
// One run records the curve over sizes; --cli runs another build's control
// plane (a baseline checkout's dist/cli/main.js) on the same sizes.
// By default every pod is asked for at once (a burst: the p99 is then the
// queue at its end); --rate R offers R pods a second instead (ReplicaSets
// scaled up step by step, bare pods posted), as load tests that measure
// latency at a given throughput do.
//
//   node dist/test/bench/scheduler.js [--nodes 100,1000,5000] [--pods 3000,30000,30000]
//        [--rs 30] [--rate 0] [--cli /path/to/dist/cli/main.js] [--label after]
//   SHOAL_BENCH_PROFILE=DIR writes a CPU profile of each control plane there.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { openSync } from 'node:fs';
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

/** CPU seconds (user + system, all threads) a process has used so far. */
async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start at ") ".
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}
// USER_HZ: 100 on every Linux architecture Node runs on.
const CLOCK_TICKS = 100;

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

async function startControlplane(dataDir: string, endpoints: string[], entry: string): Promise<Cp> {
  const port = await freePort();
  const agentPort = await freePort();
  const profile = process.env.SHOAL_BENCH_PROFILE;
  const logPath = process.env.SHOAL_BENCH_CP_LOG;
  const logFd = logPath ? openSync(logPath, 'a') : undefined;
  const child = spawn(
    process.execPath,
    [
      '--max-old-space-size=4096',
      ...(profile ? ['--cpu-prof', '--cpu-prof-dir', profile] : []),
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
    // SHOAL_BENCH_CP_LOG=FILE keeps the control plane's warnings and errors there.
    {
      stdio: ['ignore', logFd ?? 'ignore', 'inherit'],
      env: { ...process.env, LOG_LEVEL: logFd === undefined ? 'error' : 'warn' },
    },
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

interface RunResult {
  nodes: number;
  expected: number;
  bound: number;
  joinSeconds: number;
  createSeconds: number;
  rate: number;
  p50: number;
  p99: number;
  rss: number;
  etcdRss: number;
  /** CPU milliseconds per bound pod from the first create to the last bind: control plane, etcd, this process. */
  cpuPerPod: { cp: number; etcd: number; bench: number };
  stalled: string;
  /** Binds the benchmark's own watch saw (fewer than bound when the server dropped it). */
  watched: number;
}

function list(name: string, fallback: number[]): number[] {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]!.split(',').map(Number) : fallback;
}

function stringOption(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}

async function runOnce(
  nodes: number,
  totalPods: number,
  rsCount: number,
  cli: string,
  /** Pods offered per second; 0 creates them all at once. */
  offeredRate: number,
): Promise<RunResult> {
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
    cp = await startControlplane(join(dir, 'cp'), endpoints, cli);
    const url = new URL(cp.server);
    const agent = new Agent({ keepAlive: true, maxSockets: 64, ca: cp.ca });
    const call = (
      method: string,
      path: string,
      body?: unknown,
      contentType = 'application/json',
    ): Promise<{ status: number; text: string }> =>
      new Promise((resolve, reject) => {
        const req = request(
          {
            host: url.hostname,
            port: url.port,
            method,
            path,
            agent,
            headers: { authorization: `Bearer ${cp!.token}`, 'content-type': contentType },
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
    /** Pods that exist and pods with a node, read page by page so the server's memory stays flat. */
    const countPods = async (): Promise<{ all: number; bound: number }> => {
      let all = 0;
      let bound = 0;
      let cont = '';
      do {
        const res = await call(
          'GET',
          `/api/v1/pods?limit=500${cont ? `&continue=${encodeURIComponent(cont)}` : ''}`,
        );
        if (res.status !== 200) throw new Error(`listing pods: ${res.status} ${res.text}`);
        const page = JSON.parse(res.text) as {
          items: { spec?: { nodeName?: string } }[];
          metadata: { continue?: string };
        };
        all += page.items.length;
        bound += page.items.filter((p) => p.spec?.nodeName).length;
        cont = page.metadata.continue ?? '';
      } while (cont);
      return { all, bound };
    };

    const t0 = performance.now();
    hollow = await startHollowAgents({
      server: cp.agentAddress,
      token: cp.joinToken,
      count: nodes,
    });
    for (;;) {
      const res = await call('GET', '/api/v1/nodes?limit=1');
      const page = JSON.parse(res.text) as {
        items: unknown[];
        metadata: { remainingItemCount?: number };
      };
      if (page.items.length + (page.metadata.remainingItemCount ?? 0) >= nodes) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const joinSeconds = (performance.now() - t0) / 1000;

    const expected = rsCount * perRs + barePods;
    // A watcher sees each pod appear and then get its node.
    const seen = new Map<string, number>();
    const latencies: number[] = [];
    let watched = 0;
    let firstBind = 0;
    let lastBind = 0;
    let watchEnded = false;
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
        res.on('end', () => {
          if (watched < expected) console.error(`the pod watch ended after ${watched} binds`);
          watchEnded = true;
        });
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
            if (ev.type === 'ERROR') {
              console.error(`the pod watch ended: ${JSON.stringify(ev.object)}`);
              watchEnded = true;
              continue;
            }
            const uid = ev.object.metadata.uid;
            const now = performance.now();
            if (!seen.has(uid)) seen.set(uid, now);
            if (ev.object.spec?.nodeName && seen.get(uid)! >= 0) {
              latencies.push(now - seen.get(uid)!);
              seen.set(uid, -1);
              watched++;
              if (!firstBind) firstBind = now;
              lastBind = now;
            }
          }
        });
      },
    );
    watchReq.on('error', (err) => {
      console.error(`the pod watch failed: ${err.message}`);
      watchEnded = true;
    });
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
    const cpuAt = async (): Promise<{ cp: number; etcd: number; bench: number }> => {
      const usage = process.cpuUsage();
      return {
        cp: await cpuSeconds(cp!.child.pid!),
        etcd: etcd.pid ? await cpuSeconds(etcd.pid) : NaN,
        bench: (usage.user + usage.system) / 1e6,
      };
    };
    /** etcd requests the control plane has made so far, by operation and resource (its /metrics). */
    const etcdRequests = async (): Promise<Map<string, number>> => {
      const res = await call('GET', '/metrics');
      const counts = new Map<string, number>();
      const re =
        /^etcd_request_duration_seconds_count\{operation="([^"]+)",type="([^"]+)"\} (\d+)/gm;
      for (const m of res.text.matchAll(re)) counts.set(`${m[1]} ${m[2]}`, Number(m[3]));
      return counts;
    };
    const requestsStart = await etcdRequests();
    const cpuStart = await cpuAt();
    const createStart = performance.now();
    const replicaSet = (i: number, replicas: number): unknown => ({
      metadata: { name: `bench-${i}` },
      spec: {
        replicas,
        selector: { matchLabels: { app: 'bench', rs: String(i) } },
        template: { ...template, metadata: { labels: { app: 'bench', rs: String(i) } } },
      },
    });
    const postBare = (i: number): Promise<unknown> =>
      call('POST', '/api/v1/namespaces/default/pods', {
        metadata: { name: `bare-${i}` },
        spec: template.spec,
      });
    if (offeredRate > 0) {
      // Offered load: every 100 ms, the pods due by then, nine in ten by scaling
      // the ReplicaSets up one after another, one in ten as bare pods.
      for (let i = 0; i < rsCount; i++) {
        await call('POST', '/apis/apps/v1/namespaces/default/replicasets', replicaSet(i, 0));
      }
      const offerStart = performance.now();
      let scaled = 0;
      let bare = 0;
      while (scaled + bare < expected) {
        const tick = performance.now();
        // By the clock, not by ticks: a tick whose writes took long is made up in the next.
        const offered = ((tick - offerStart) / 1000 + 0.1) * offeredRate;
        const rsTarget = Math.min(rsCount * perRs, Math.floor(offered * 0.9));
        const bareTarget = Math.min(barePods, Math.floor(offered * 0.1));
        const writes: Promise<unknown>[] = [];
        while (scaled < rsTarget) {
          const i = Math.floor(scaled / perRs);
          const replicas = Math.min(perRs, rsTarget - i * perRs);
          writes.push(
            call(
              'PATCH',
              `/apis/apps/v1/namespaces/default/replicasets/bench-${i}`,
              { spec: { replicas } },
              'application/merge-patch+json',
            ),
          );
          scaled = i * perRs + replicas;
        }
        while (bare < bareTarget) writes.push(postBare(bare++));
        await Promise.all(writes);
        await new Promise((r) => setTimeout(r, Math.max(0, 100 - (performance.now() - tick))));
      }
    } else {
      for (let i = 0; i < rsCount; i++) {
        await call('POST', '/apis/apps/v1/namespaces/default/replicasets', replicaSet(i, perRs));
      }
      let next = 0;
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (next < barePods) await postBare(next++);
        }),
      );
    }
    const createSeconds = (performance.now() - createStart) / 1000;
    // Progress comes from the watch; the API is asked only when the watch
    // has been quiet for 5 s (done, dropped or stalled). No progress on
    // either for 60 s ends the run as a stall.
    const deadline = Date.now() + 20 * 60_000;
    let bound = 0;
    let stalled = '';
    let lastProgress = Date.now();
    let lastWatched = 0;
    let lastCounted = 0;
    let finished = 0;
    while (watched < expected) {
      await new Promise((r) => setTimeout(r, 1000));
      if (watched !== lastWatched) {
        lastWatched = watched;
        lastProgress = Date.now();
        continue;
      }
      if (Date.now() - lastProgress < 5000 && !watchEnded) continue;
      bound = (await countPods()).bound;
      if (bound >= expected) {
        finished = performance.now();
        break;
      }
      if (bound !== lastCounted) {
        lastCounted = bound;
        lastProgress = Date.now();
      } else if (Date.now() - lastProgress > 60_000 || Date.now() > deadline) {
        stalled = `stalled at ${bound}/${expected} bound`;
        finished = performance.now();
        break;
      }
    }
    if (!finished) {
      finished = lastBind;
      bound = watched;
    }
    const cpuEnd = await cpuAt();
    const requestsEnd = await etcdRequests();
    const perPodRequests = [...requestsEnd]
      .map(([k, n]) => [k, (n - (requestsStart.get(k) ?? 0)) / Math.max(1, bound)] as const)
      .filter(([, n]) => n >= 0.01)
      .sort((a, b) => b[1] - a[1])
      .map(([k, n]) => `${k} ${n.toFixed(2)}`);
    console.error(`etcd requests per bound pod: ${perPodRequests.join(', ')}`);
    const perPod = (k: 'cp' | 'etcd' | 'bench'): number =>
      ((cpuEnd[k] - cpuStart[k]) * 1000) / Math.max(1, bound);
    watchReq.destroy();
    latencies.sort((a, b) => a - b);
    const rate = bound / ((finished - (firstBind || createStart)) / 1000);
    return {
      nodes,
      expected,
      bound,
      joinSeconds,
      createSeconds,
      rate,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      rss: await peakRssMiB(cp.child.pid!),
      etcdRss: etcd.pid ? await peakRssMiB(etcd.pid).catch(() => NaN) : NaN,
      cpuPerPod: { cp: perPod('cp'), etcd: perPod('etcd'), bench: perPod('bench') },
      stalled,
      watched,
    };
  } finally {
    await hollow?.stop();
    if (cp && cp.child.exitCode === null) {
      // A clean exit writes the CPU profile; one that hangs is killed.
      const exited = new Promise((r) => cp!.child.once('exit', r));
      cp.child.kill('SIGTERM');
      const timer = setTimeout(() => cp!.child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    }
    await etcd.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const sizes = list('nodes', [100, 1000]);
  const pods = list(
    'pods',
    sizes.map((n) => (n <= 100 ? 3000 : 30_000)),
  );
  const rsCount = option('rs', 30);
  const rate = option('rate', 0);
  const cli = stringOption('cli') ?? new URL('../../cli/main.js', import.meta.url).pathname;
  const label = stringOption('label') ?? 'this build';
  const rows: RunResult[] = [];
  for (const [i, nodes] of sizes.entries()) {
    const r = await runOnce(nodes, pods[i] ?? pods[pods.length - 1]!, rsCount, cli, rate);
    rows.push(r);
    console.error(`${label}: ${nodes} nodes done: ${JSON.stringify(r)}`);
  }
  console.log(
    `\nShoal scheduler benchmark (${label}${rate > 0 ? `, ${rate} pods/s offered` : ', all pods at once'}) — ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}\n`,
  );
  console.log(
    '| nodes | pods bound | join | created over | bound/s sustained | create → bind p50 / p99 | control plane peak RSS | etcd peak RSS | CPU ms per pod: control plane / etcd / bench with hollow agents |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of rows) {
    console.log(
      `| ${r.nodes} | ${r.bound}/${r.expected}${r.stalled ? ` (${r.stalled})` : ''} | ${r.joinSeconds.toFixed(1)} s | ${r.createSeconds.toFixed(1)} s | ${r.rate.toFixed(0)} | ${r.p50.toFixed(0)} ms / ${r.p99.toFixed(0)} ms | ${r.rss.toFixed(0)} MiB | ${r.etcdRss.toFixed(0)} MiB | ${r.cpuPerPod.cp.toFixed(2)} / ${r.cpuPerPod.etcd.toFixed(2)} / ${r.cpuPerPod.bench.toFixed(2)} |`,
    );
  }
}

main().then(
  // Keep-alive sockets and the hollow agents' gRPC channels would hold the process open.
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
