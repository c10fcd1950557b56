// Registry write-path benchmark: the control plane's CPU per pod on the three
// writes every pod costs in the scheduler benchmark (scheduler.ts), measured
// in-process on one fresh local etcd, without the scheduler, the controllers
// or the agent gateway around them:
//   1. create, as the ReplicaSet controller makes it (podFromTemplate, its
//      fieldManager, the body handed over);
//   2. bind, as the scheduler does it (the pod as its informer holds it);
//   3. status update, as the node agent gateway writes a Running report
//      (writeBoundPodStatus: the status subresource on the pod it holds).
// Each phase runs --pods writes from 64 concurrent loops and reports the
// process CPU (user + system, process.cpuUsage) per write; the figure is the
// median of --rounds rounds (the first round warms the JIT and is dropped).
// The etcd server is another process and not counted.
//
//   node --expose-gc dist/test/bench/registry-writes.js [--pods 5000] [--rounds 5] [--baseline DIR]
//
// --baseline DIR also runs the Registry, EtcdStore and podFromTemplate of
// another build of the tree (DIR holds its controlplane/), each on its own
// client of the same etcd, in rounds taking turns with this build's, so both
// are measured on one machine state; the etcd supervisor is this build's.

import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { EtcdSupervisor } from '../../controlplane/etcd/supervisor.js';
import type { KubeObject, OwnerReference } from '../../controlplane/api/objects.js';
import type { ResourceInfo } from '../../controlplane/api/resources.js';
import type { Registry, WriteOptions } from '../../controlplane/api/registry/registry.js';
import type { Store } from '../../controlplane/store/types.js';
import { runningStatusJson } from './hollow-agents.js';

const CONCURRENCY = 64;

/** With --expose-gc: a full collection between phases. */
const gc = (globalThis as { gc?: () => void }).gc;

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

function stringOption(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}

/** The modules the benchmark drives. */
interface Modules {
  Registry: new (store: Store) => Registry;
  EtcdStore: new (opts: { endpoints: string[] }) => Store & { close(): Promise<void> };
  findResource: (group: string, version: string, plural: string) => ResourceInfo | undefined;
  podFromTemplate: (template: unknown, owner: KubeObject, ref: OwnerReference) => KubeObject;
}

/** The modules of this build (dist undefined) or of the build in dist. */
async function load(dist: string | undefined): Promise<Modules> {
  const base = dist
    ? pathToFileURL(resolve(dist) + '/').href
    : new URL('../../', import.meta.url).href;
  const from = async <T>(path: string): Promise<T> => (await import(base + path)) as T;
  const registry = await from<{ Registry: Modules['Registry'] }>(
    'controlplane/api/registry/registry.js',
  );
  const store = await from<{ EtcdStore: Modules['EtcdStore'] }>('controlplane/store/etcd-store.js');
  const resources = await from<{ findResource: Modules['findResource'] }>(
    'controlplane/api/resources.js',
  );
  const podControl = await from<{ podFromTemplate: Modules['podFromTemplate'] }>(
    'controlplane/controllers/pod-control.js',
  );
  return {
    Registry: registry.Registry,
    EtcdStore: store.EtcdStore,
    findResource: resources.findResource,
    podFromTemplate: podControl.podFromTemplate,
  };
}

/** The scheduler benchmark's template (test/bench/scheduler.ts); labels per ReplicaSet. */
const TEMPLATE = {
  spec: {
    containers: [
      { name: 'c', image: 'busybox', resources: { requests: { cpu: '10m', memory: '16Mi' } } },
    ],
  },
};

/** A Running report as a hollow agent sends it, parsed as the gateway parses status_json: a fresh object. */
function runningStatus(pod: KubeObject, hostIP: string, podIP: string): unknown {
  return JSON.parse(runningStatusJson(pod, hostIP, podIP));
}

/** Runs `op(i)` for i < n from CONCURRENCY loops; returns CPU µs per op. */
async function cpuPerOp(n: number, op: (i: number) => Promise<void>): Promise<number> {
  // The garbage of what came before (the last phase, the bodies built for
  // this one) is collected before, not during, the phase.
  gc?.();
  let next = 0;
  const before = process.cpuUsage();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < n) await op(next++);
    }),
  );
  const used = process.cpuUsage(before);
  return (used.user + used.system) / n;
}

/** As an informer or the agent's session holds it: decoded from a watch, sharing nothing. */
const asWatched = (o: KubeObject): KubeObject => JSON.parse(JSON.stringify(o)) as KubeObject;

interface Round {
  create: number;
  bind: number;
  status: number;
}

async function round(m: Modules, registry: Registry, n: number, r: string): Promise<Round> {
  const pods = m.findResource('', 'v1', 'pods')!;
  // One ReplicaSet per 100 pods, as in the scheduler benchmark: generated
  // names (5 random characters) then rarely collide.
  const owners = Array.from({ length: Math.ceil(n / 100) }, (_, j) => {
    const owner: KubeObject = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: `bench-${r}-${j}`,
        namespace: 'default',
        uid: `00000000-0000-0000-${r.padStart(4, '0')}-${String(j).padStart(12, '0')}`,
      },
    };
    const ref: OwnerReference = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      name: owner.metadata.name!,
      uid: owner.metadata.uid!,
      controller: true,
      blockOwnerDeletion: true,
    };
    return { owner, ref };
  });
  const template = (i: number): unknown => ({
    ...TEMPLATE,
    metadata: { labels: { app: 'bench', rs: `${r}-${Math.floor(i / 100)}` } },
  });
  // Bodies are built before each phase: only the registry's work is timed.
  const body = (i: number): KubeObject => {
    const { owner, ref } = owners[Math.floor(i / 100)]!;
    return m.podFromTemplate(template(i), owner, ref);
  };
  const bodies = Array.from({ length: n }, (_, i) => body(i));
  const created: KubeObject[] = new Array<KubeObject>(n);
  const create = await cpuPerOp(n, async (i) => {
    const opts = { fieldManager: 'replicaset-controller', bodyOwned: true };
    try {
      created[i] = await registry.create(pods, 'default', bodies[i], opts);
    } catch (err) {
      // A generated name taken already: the controller tries again with another.
      if ((err as { reason?: unknown }).reason !== 'AlreadyExists') throw err;
      created[i] = await registry.create(pods, 'default', body(i), opts);
    }
  });
  const known = created.map(asWatched);
  const bound: KubeObject[] = new Array<KubeObject>(n);
  const bind = await cpuPerOp(n, async (i) => {
    const p = known[i]!;
    bound[i] = await registry.bind(pods, 'default', p.metadata.name!, `node-${i % 1000}`, p);
  });
  const held = bound.map(asWatched);
  const reports = held.map((p, i) =>
    runningStatus(p, `10.0.${(i >> 8) & 255}.${i & 255}`, `10.244.${(i >> 8) & 255}.${i & 255}`),
  );
  const status = await cpuPerOp(n, async (i) => {
    const current = held[i]!;
    const { name, namespace } = current.metadata;
    const opts: WriteOptions = { fieldManager: 'shoal-agent', subresource: 'status', current };
    await registry.update(
      pods,
      namespace,
      name!,
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, namespace, resourceVersion: current.metadata.resourceVersion },
        status: reports[i],
      },
      opts,
    );
  });
  return { create, bind, status };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

interface Version {
  label: string;
  m: Modules;
  store: Store & { close(): Promise<void> };
  registry: Registry;
  results: Round[];
}

async function main(): Promise<void> {
  const n = option('pods', 5000);
  const rounds = option('rounds', 5);
  const baseline = stringOption('baseline');
  const dir = await mkdtemp(join(tmpdir(), 'shoal-registry-writes-'));
  const etcd = new EtcdSupervisor({ dataDir: dir });
  const versions: Version[] = [];
  try {
    const { endpoints } = await etcd.start();
    for (const [label, dist] of [
      ['this build', undefined],
      ...(baseline ? [[`baseline ${baseline}`, baseline]] : []),
    ] as const) {
      const m = await load(dist);
      const store = new m.EtcdStore({ endpoints });
      const registry = new m.Registry(store);
      versions.push({ label, m, store, registry, results: [] });
      await registry.ensureSystemNamespaces();
      await registry.ensureSystemPriorityClasses();
      await registry.startNamespaceCache();
    }
    // Round 0 warms the JIT up. The versions take turns, first one then the
    // other going first, so a noisy neighbour hurts both alike.
    for (let r = 0; r <= rounds; r++) {
      const order = r % 2 === 0 ? versions : [...versions].reverse();
      for (const v of order) {
        const res = await round(v.m, v.registry, n, `${versions.indexOf(v)}-${r}`);
        if (r > 0) v.results.push(res);
      }
    }
    console.log(
      `\nShoal registry write benchmark — ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}; ${n} pods a round, ${CONCURRENCY} concurrent writers, median of ${rounds} rounds${gc ? '' : ' (without --expose-gc)'}\n`,
    );
    const header = versions.map((v) => ` ${v.label} |`).join('');
    console.log(`| CPU µs per write |${header}`);
    console.log(`| --- |${versions.map(() => ' --- |').join('')}`);
    const row = (title: string, k: keyof Round): void => {
      const cells = versions.map((v) => {
        const xs = v.results.map((x) => x[k]);
        return ` ${median(xs).toFixed(1)} (${xs.map((x) => x.toFixed(0)).join(' ')}) |`;
      });
      console.log(`| ${title} |${cells.join('')}`);
    };
    row('create (ReplicaSet controller)', 'create');
    row('bind (scheduler)', 'bind');
    row('status update (node agent)', 'status');
  } finally {
    for (const v of versions) {
      await v.registry.stopNamespaceCache();
      await v.store.close();
    }
    await etcd.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
