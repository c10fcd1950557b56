// The scheduling decision alone (issue 4): filters and scores of one pod
// against a snapshot of N nodes, no API, no etcd. Shows how much of a
// pod's scheduling cost is the decision versus the writes around it
// (test/bench/scheduler.ts measures the whole path).
//
//   node dist/test/bench/scheduler-pipeline.js [--pods 2000]

import { buildSnapshot } from '../../controlplane/scheduler/cache.js';
import { schedule } from '../../controlplane/scheduler/pipeline.js';
import { parsePod } from '../../controlplane/scheduler/pod-info.js';
import type { KubeObject } from '../../controlplane/api/objects.js';

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

function node(i: number): KubeObject {
  const name = `node-${i}`;
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      labels: { 'kubernetes.io/hostname': name, 'topology.kubernetes.io/zone': `zone-${i % 3}` },
    },
    spec: {},
    status: {
      allocatable: { cpu: '32', memory: '128Gi', pods: '110' },
      conditions: [{ type: 'Ready', status: 'True' }],
    },
  };
}

function pod(i: number, nodeName?: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `p-${i}`,
      namespace: 'default',
      uid: `uid-${i}`,
      labels: { app: 'bench' },
      ownerReferences: [
        { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: 'rs-uid', controller: true },
      ],
    },
    spec: {
      ...(nodeName ? { nodeName } : {}),
      containers: [
        { name: 'c', image: 'busybox', resources: { requests: { cpu: '10m', memory: '16Mi' } } },
      ],
    },
    status: { phase: nodeName ? 'Running' : 'Pending' },
  };
}

const pods = option('pods', 2000);
console.log('| nodes | pods already placed | decision time per pod, mean |');
console.log('| --- | --- | --- |');
for (const n of [100, 1000, 5000]) {
  const nodes = Array.from({ length: n }, (_, i) => node(i));
  const placed = Array.from({ length: n * 5 }, (_, i) => pod(1e6 + i, `node-${i % n}`));
  const snapshot = buildSnapshot(nodes, placed);
  const infos = Array.from({ length: pods }, (_, i) => parsePod(pod(i)));
  for (const p of infos.slice(0, 50)) schedule(p, snapshot); // warm up the JIT
  const t0 = performance.now();
  for (const p of infos) schedule(p, snapshot);
  const ms = (performance.now() - t0) / pods;
  console.log(`| ${n} | ${placed.length} | ${ms.toFixed(3)} ms |`);
}
