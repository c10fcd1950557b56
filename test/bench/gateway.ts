// Agent gateway micro-benchmark: the control plane's CPU per pod on the agent
// path alone — pushing each bound pod down its node's stream, handling the
// agent's status report (and, in the delete phase, the graceful delete, the
// agent's termination and the final DELETE). A real etcd (EtcdSupervisor in a
// temp dir), the Registry and the AgentGateway in this process, hollow agents
// (real protocol over real gRPC) in a child process so their CPU is not
// counted. No scheduler: the bench binds each pod itself (pods/binding, the
// scheduler's write). CPU is this process's (process.cpuUsage) from the
// first create to the last Running status, per pod; the creates and binds
// are counted too, the same in every build, so compare builds in one run.
//
//   node dist/test/bench/gateway.js [--nodes 200] [--pods 2000] [--rounds 3] [--profile FILE]
//   --profile writes a CPU profile of the rounds after the first (the first warms the JIT).

import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { EtcdSupervisor } from '../../controlplane/etcd/supervisor.js';
import { EtcdStore } from '../../controlplane/store/etcd-store.js';
import { Registry, type WatchEvent } from '../../controlplane/api/registry/registry.js';
import { findResource } from '../../controlplane/api/resources.js';
import { loadOrCreateClusterPki } from '../../controlplane/pki/ca.js';
import { loadOrCreateTokens } from '../../controlplane/pki/tokens.js';
import { formatJoinToken } from '../../controlplane/pki/join-token.js';
import { AgentGateway } from '../../controlplane/agents/gateway.js';
import { startHollowAgents } from './hollow-agents.js';

const PODS = findResource('', 'v1', 'pods')!;

function stringOption(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

/** Child mode: the hollow agents, until stdin closes. */
async function runAgents(server: string, token: string, count: number): Promise<void> {
  const hollow = await startHollowAgents({ server, token, count, joinConcurrency: 32 });
  process.stdout.write('ready\n');
  process.stdin.resume();
  await new Promise<void>((resolve) => process.stdin.on('close', resolve));
  await hollow.stop();
  process.exit(0);
}

function cpuMicros(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

async function until(what: string, check: () => boolean, timeoutMs = 300_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Runs `n` tasks, `width` at a time. */
async function pool(n: number, width: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < n) await task(next++);
    }),
  );
}

async function main(): Promise<void> {
  const nodes = option('nodes', 200);
  const pods = option('pods', 2000);
  const rounds = option('rounds', 3);
  const dir = await mkdtemp(join(tmpdir(), 'shoal-gw-bench-'));
  const etcd = new EtcdSupervisor({ dataDir: join(dir, 'etcd') });
  let store: EtcdStore | undefined;
  let gateway: AgentGateway | undefined;
  let child: ReturnType<typeof spawn> | undefined;
  try {
    const { endpoints } = await etcd.start();
    store = new EtcdStore({ endpoints });
    const registry = new Registry(store);
    await registry.ensureSystemNamespaces();
    await registry.startNamespaceCache();
    const pki = await loadOrCreateClusterPki(join(dir, 'cp'), { hosts: ['127.0.0.1'] });
    const tokens = await loadOrCreateTokens(join(dir, 'cp'));
    gateway = new AgentGateway({ registry, pki, joinToken: tokens.joinToken });
    const port = await gateway.listen('127.0.0.1:0');
    const gw = gateway;

    child = spawn(
      process.execPath,
      [
        process.argv[1]!,
        '--agents',
        String(nodes),
        `127.0.0.1:${port}`,
        formatJoinToken(pki.caCertPem, tokens.joinToken),
      ],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    const ready = new Promise<void>((resolve, reject) => {
      createInterface({ input: child!.stdout! }).on('line', (l) => l === 'ready' && resolve());
      child!.on('exit', (code) => reject(new Error(`the agents exited (${code})`)));
    });
    await ready;
    await until('every agent registered', () => gw.connectedNodes().length === nodes);
    const names = gw.connectedNodes().sort();
    // Let the registrations' own writes settle.
    await new Promise((r) => setTimeout(r, 3000));

    const running = new Set<string>();
    const gone = new Set<string>();
    const watch = await registry.watch(
      PODS,
      'default',
      { resourceVersion: String(await store.currentRevision()) },
      {
        onEvent: (ev: WatchEvent) => {
          const uid = ev.object.metadata.uid ?? '';
          if (ev.type === 'DELETED') gone.add(uid);
          else if ((ev.object.status as { phase?: string } | undefined)?.phase === 'Running')
            running.add(uid);
        },
        onError: (err) => console.error(`bench watch ended: ${err.message}`),
      },
    );
    const rows: string[] = [];
    const profileTo = stringOption('profile');
    const inspector = profileTo ? new Session() : undefined;
    inspector?.connect();
    for (let round = 0; round < rounds; round++) {
      if (round === 1 && inspector) {
        await inspector.post('Profiler.enable');
        await inspector.post('Profiler.start');
      }
      running.clear();
      gone.clear();
      const t0 = performance.now();
      const c0 = cpuMicros();
      await pool(pods, 32, async (i) => {
        const name = `gw-${round}-${i}`;
        const created = await registry.create(
          PODS,
          'default',
          {
            apiVersion: 'v1',
            kind: 'Pod',
            metadata: { name, labels: { app: 'bench', round: String(round) } },
            spec: {
              containers: [
                {
                  name: 'c',
                  image: 'busybox',
                  resources: { requests: { cpu: '10m', memory: '16Mi' } },
                },
              ],
            },
          },
          { fieldManager: 'bench' },
        );
        await registry.bind(PODS, 'default', name, names[i % names.length]!, created);
      });
      await until('every pod Running', () => running.size >= pods);
      const c1 = cpuMicros();
      const t1 = performance.now();
      await pool(pods, 32, async (i) => {
        await registry.delete(PODS, 'default', `gw-${round}-${i}`);
      });
      await until('every pod gone', () => gone.size >= pods);
      const c2 = cpuMicros();
      const t2 = performance.now();
      rows.push(
        `| ${round + 1} | ${((c1 - c0) / pods).toFixed(0)} | ${((t1 - t0) / 1000).toFixed(1)} | ${((c2 - c1) / pods).toFixed(0)} | ${((t2 - t1) / 1000).toFixed(1)} |`,
      );
      console.error(rows[rows.length - 1]);
    }
    if (inspector && profileTo) {
      const { profile } = await inspector.post('Profiler.stop');
      await writeFile(profileTo, JSON.stringify(profile));
      inspector.disconnect();
    }
    await watch.close();
    console.log(`nodes ${nodes}, pods ${pods} a round`);
    console.log('| round | create+bind→Running CPU µs/pod | s | delete→gone CPU µs/pod | s |');
    console.log('|---|---|---|---|---|');
    for (const r of rows) console.log(r);
  } finally {
    child?.stdin?.end();
    if (child && child.exitCode === null) {
      await new Promise((r) => {
        const t = setTimeout(() => child!.kill('SIGKILL'), 20_000);
        child!.on('exit', () => r(clearTimeout(t)));
      });
    }
    await gateway?.stop();
    await store?.close();
    await etcd.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

const agentsAt = process.argv.indexOf('--agents');
if (agentsAt > 0) {
  const [count, server, token] = process.argv.slice(agentsAt + 1);
  runAgents(server!, token!, Number(count)).catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
} else {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
