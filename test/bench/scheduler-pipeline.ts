// The scheduling decision alone (issue 4): filters and scores of one pod
// against a snapshot of N nodes, no API, no etcd. Shows how much of a
// pod's scheduling cost is the decision versus the writes around it
// (test/bench/scheduler.ts measures the whole path).
//
//   node dist/test/bench/scheduler-pipeline.js [--pods 2000] [--rounds 5]

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
const rounds = option('rounds', 5);
// CPU time of this process, not wall time, and the median of several rounds:
// the bench machine is shared, and a round that lost the CPU says nothing
// about the decision.
console.log(
  `| nodes | pods already placed | decision time per pod, median of ${rounds} rounds | fastest round |`,
);
console.log('| --- | --- | --- | --- |');
for (const n of [100, 1000, 5000]) {
  const nodes = Array.from({ length: n }, (_, i) => node(i));
  const placed = Array.from({ length: n * 5 }, (_, i) => pod(1e6 + i, `node-${i % n}`));
  const snapshot = buildSnapshot(nodes, placed);
  const infos = Array.from({ length: pods }, (_, i) => parsePod(pod(i)));
  for (const p of infos) schedule(p, snapshot); // warm up the JIT
  const perPod: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = process.cpuUsage();
    for (const p of infos) schedule(p, snapshot);
    const t = process.cpuUsage(t0);
    perPod.push((t.user + t.system) / 1000 / pods);
  }
  perPod.sort((a, b) => a - b);
  const median = perPod[Math.floor(perPod.length / 2)]!;
  console.log(
    `| ${n} | ${placed.length} | ${median.toFixed(3)} ms | ${perPod[0]!.toFixed(3)} ms |`,
  );
}
