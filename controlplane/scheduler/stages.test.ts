// One table per stage: a pod, the node it is tried on, what else is in the
// cluster, and the verdict or raw score kube-scheduler would give.

import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../api/objects.js';
import { buildSnapshot } from './cache.js';
import { parsePod } from './pod-info.js';
import type { FilterStage, ScoreStage } from './types.js';
import { makeNode, makePod } from './scheduler.fixture.js';
import { NodeReady } from './stages/node-ready.js';
import { NodeName } from './stages/node-name.js';
import { NodeSelector } from './stages/node-selector.js';
import { NodeAffinity } from './stages/node-affinity.js';
import { TaintToleration } from './stages/taint-toleration.js';
import { ResourcesFit } from './stages/resources-fit.js';
import { HostPorts } from './stages/host-ports.js';
import { InterPodAffinity } from './stages/inter-pod-affinity.js';
import { TopologySpread } from './stages/topology-spread.js';
import { LeastAllocated } from './stages/least-allocated.js';
import { MostAllocated } from './stages/most-allocated.js';
import { PreferredNodeAffinity } from './stages/preferred-node-affinity.js';
import { TaintPreferNoSchedule } from './stages/taint-prefer-no-schedule.js';
import { TopologySpreadScore } from './stages/topology-spread-score.js';

interface FilterCase {
  name: string;
  pod: KubeObject;
  node: KubeObject;
  /** Other nodes in the cluster. */
  nodes?: KubeObject[];
  /** Pods already placed (with nodeName). */
  placed?: KubeObject[];
  /** true, or the reasons in order. */
  want: true | string[];
}

function runFilter(stage: FilterStage, c: FilterCase): true | string[] {
  const snapshot = buildSnapshot([c.node, ...(c.nodes ?? [])], c.placed ?? []);
  const v = stage.filter(parsePod(c.pod), snapshot.get(c.node.metadata.name!)!, snapshot);
  return v.ok ? true : [v.reason, ...(v.more ?? [])];
}

function table(stage: FilterStage, cases: FilterCase[]): void {
  describe(stage.name, () => {
    it.each(cases.map((c) => [c.name, c] as const))('%s', (_n, c) => {
      expect(runFilter(stage, c)).toEqual(c.want);
    });
  });
}

const tol = (t: Record<string, unknown>): Record<string, unknown> => ({ tolerations: [t] });
const nodeAff = (...terms: Record<string, unknown>[]): Record<string, unknown> => ({
  affinity: {
    nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms } },
  },
});
const expr = (key: string, operator: string, values?: string[]): Record<string, unknown> => ({
  matchExpressions: [{ key, operator, ...(values ? { values } : {}) }],
});

table(new NodeReady(), [
  { name: 'ready node fits', pod: makePod('p'), node: makeNode('n'), want: true },
  {
    name: 'NotReady reads as the not-ready taint',
    pod: makePod('p'),
    node: makeNode('n', { ready: 'False' }),
    want: ['node(s) had untolerated taint {node.kubernetes.io/not-ready: }'],
  },
  {
    name: 'Unknown reads as the unreachable taint',
    pod: makePod('p'),
    node: makeNode('n', { ready: 'Unknown' }),
    want: ['node(s) had untolerated taint {node.kubernetes.io/unreachable: }'],
  },
  {
    name: 'no Ready condition counts as Unknown',
    pod: makePod('p'),
    node: makeNode('n', { ready: 'none' }),
    want: ['node(s) had untolerated taint {node.kubernetes.io/unreachable: }'],
  },
  {
    name: 'cordoned node',
    pod: makePod('p'),
    node: makeNode('n', { unschedulable: true }),
    want: ['node(s) were unschedulable'],
  },
  {
    name: 'cordon tolerated (DaemonSet pods)',
    pod: makePod('p', {
      spec: tol({
        key: 'node.kubernetes.io/unschedulable',
        operator: 'Exists',
        effect: 'NoSchedule',
      }),
    }),
    node: makeNode('n', { unschedulable: true }),
    want: true,
  },
  {
    name: 'NotReady tolerated by an empty-key Exists toleration',
    pod: makePod('p', { spec: tol({ operator: 'Exists' }) }),
    node: makeNode('n', { ready: 'False' }),
    want: true,
  },
]);

table(new NodeName(), [
  { name: 'no nodeName', pod: makePod('p'), node: makeNode('a'), want: true },
  { name: 'same node', pod: makePod('p', { nodeName: 'a' }), node: makeNode('a'), want: true },
  {
    name: 'other node',
    pod: makePod('p', { nodeName: 'b' }),
    node: makeNode('a'),
    want: ["node(s) didn't match the requested node name"],
  },
]);

const AFF = "node(s) didn't match Pod's node affinity/selector";

table(new NodeSelector(), [
  { name: 'no selector', pod: makePod('p'), node: makeNode('n'), want: true },
  {
    name: 'all labels match',
    pod: makePod('p', { spec: { nodeSelector: { disk: 'ssd', zone: 'a' } } }),
    node: makeNode('n', { labels: { disk: 'ssd', zone: 'a', other: 'x' } }),
    want: true,
  },
  {
    name: 'one label differs',
    pod: makePod('p', { spec: { nodeSelector: { disk: 'ssd', zone: 'a' } } }),
    node: makeNode('n', { labels: { disk: 'ssd', zone: 'b' } }),
    want: [AFF],
  },
  {
    name: 'label missing',
    pod: makePod('p', { spec: { nodeSelector: { disk: 'ssd' } } }),
    node: makeNode('n'),
    want: [AFF],
  },
]);

table(new NodeAffinity(), [
  { name: 'no affinity', pod: makePod('p'), node: makeNode('n'), want: true },
  {
    name: 'In matches',
    pod: makePod('p', { spec: nodeAff(expr('zone', 'In', ['a', 'b'])) }),
    node: makeNode('n', { labels: { zone: 'b' } }),
    want: true,
  },
  {
    name: 'In misses',
    pod: makePod('p', { spec: nodeAff(expr('zone', 'In', ['a'])) }),
    node: makeNode('n', { labels: { zone: 'b' } }),
    want: [AFF],
  },
  {
    name: 'NotIn passes a node without the label',
    pod: makePod('p', { spec: nodeAff(expr('zone', 'NotIn', ['a'])) }),
    node: makeNode('n'),
    want: true,
  },
  {
    name: 'NotIn rejects a listed value',
    pod: makePod('p', { spec: nodeAff(expr('zone', 'NotIn', ['a'])) }),
    node: makeNode('n', { labels: { zone: 'a' } }),
    want: [AFF],
  },
  {
    name: 'Exists',
    pod: makePod('p', { spec: nodeAff(expr('gpu', 'Exists')) }),
    node: makeNode('n', { labels: { gpu: '' } }),
    want: true,
  },
  {
    name: 'DoesNotExist',
    pod: makePod('p', { spec: nodeAff(expr('gpu', 'DoesNotExist')) }),
    node: makeNode('n', { labels: { gpu: 'x' } }),
    want: [AFF],
  },
  {
    name: 'Gt compares integers',
    pod: makePod('p', { spec: nodeAff(expr('cores', 'Gt', ['8'])) }),
    node: makeNode('n', { labels: { cores: '16' } }),
    want: true,
  },
  {
    name: 'Gt fails on equal',
    pod: makePod('p', { spec: nodeAff(expr('cores', 'Gt', ['16'])) }),
    node: makeNode('n', { labels: { cores: '16' } }),
    want: [AFF],
  },
  {
    name: 'Lt with a non-integer label fails',
    pod: makePod('p', { spec: nodeAff(expr('cores', 'Lt', ['8'])) }),
    node: makeNode('n', { labels: { cores: 'many' } }),
    want: [AFF],
  },
  {
    name: 'terms are ORed',
    pod: makePod('p', { spec: nodeAff(expr('zone', 'In', ['x']), expr('zone', 'In', ['b'])) }),
    node: makeNode('n', { labels: { zone: 'b' } }),
    want: true,
  },
  {
    name: 'expressions in a term are ANDed',
    pod: makePod('p', {
      spec: nodeAff({
        matchExpressions: [
          { key: 'zone', operator: 'In', values: ['b'] },
          { key: 'disk', operator: 'In', values: ['ssd'] },
        ],
      }),
    }),
    node: makeNode('n', { labels: { zone: 'b', disk: 'hdd' } }),
    want: [AFF],
  },
  {
    name: 'matchFields metadata.name',
    pod: makePod('p', {
      spec: nodeAff({ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n'] }] }),
    }),
    node: makeNode('n'),
    want: true,
  },
  {
    name: 'matchFields names another node',
    pod: makePod('p', {
      spec: nodeAff({ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['m'] }] }),
    }),
    node: makeNode('n'),
    want: [AFF],
  },
  {
    name: 'an empty term matches nothing',
    pod: makePod('p', { spec: nodeAff({}) }),
    node: makeNode('n'),
    want: [AFF],
  },
]);

const taint = (key: string, value: string, effect: string) => ({ key, value, effect });

table(new TaintToleration(), [
  { name: 'no taints', pod: makePod('p'), node: makeNode('n'), want: true },
  {
    name: 'NoSchedule untolerated',
    pod: makePod('p'),
    node: makeNode('n', { taints: [taint('x', 'y', 'NoSchedule')] }),
    want: ['node(s) had untolerated taint {x: y}'],
  },
  {
    name: 'NoExecute untolerated',
    pod: makePod('p'),
    node: makeNode('n', { taints: [taint('x', '', 'NoExecute')] }),
    want: ['node(s) had untolerated taint {x: }'],
  },
  {
    name: 'PreferNoSchedule does not filter',
    pod: makePod('p'),
    node: makeNode('n', { taints: [taint('x', 'y', 'PreferNoSchedule')] }),
    want: true,
  },
  {
    name: 'Equal toleration with the same value',
    pod: makePod('p', {
      spec: tol({ key: 'x', operator: 'Equal', value: 'y', effect: 'NoSchedule' }),
    }),
    node: makeNode('n', { taints: [taint('x', 'y', 'NoSchedule')] }),
    want: true,
  },
  {
    name: 'default operator is Equal: value must match',
    pod: makePod('p', { spec: tol({ key: 'x', value: 'z' }) }),
    node: makeNode('n', { taints: [taint('x', 'y', 'NoSchedule')] }),
    want: ['node(s) had untolerated taint {x: y}'],
  },
  {
    name: 'Exists on the key ignores the value',
    pod: makePod('p', { spec: tol({ key: 'x', operator: 'Exists' }) }),
    node: makeNode('n', { taints: [taint('x', 'y', 'NoSchedule')] }),
    want: true,
  },
  {
    name: 'Exists with an empty key tolerates everything',
    pod: makePod('p', { spec: tol({ operator: 'Exists' }) }),
    node: makeNode('n', { taints: [taint('a', '1', 'NoSchedule'), taint('b', '2', 'NoExecute')] }),
    want: true,
  },
  {
    name: 'a toleration for another effect does not help',
    pod: makePod('p', { spec: tol({ key: 'x', operator: 'Exists', effect: 'NoExecute' }) }),
    node: makeNode('n', { taints: [taint('x', 'y', 'NoSchedule')] }),
    want: ['node(s) had untolerated taint {x: y}'],
  },
  {
    name: 'tolerationSeconds does not matter to scheduling',
    pod: makePod('p', {
      spec: tol({ key: 'x', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 0 }),
    }),
    node: makeNode('n', { taints: [taint('x', 'y', 'NoExecute')] }),
    want: true,
  },
  {
    name: 'the first untolerated taint is named',
    pod: makePod('p', { spec: tol({ key: 'a', operator: 'Exists' }) }),
    node: makeNode('n', {
      taints: [
        taint('a', '1', 'NoSchedule'),
        taint('b', '2', 'NoSchedule'),
        taint('c', '3', 'NoSchedule'),
      ],
    }),
    want: ['node(s) had untolerated taint {b: 2}'],
  },
]);

const on = (nodeName: string, name: string, f: Parameters<typeof makePod>[1] = {}) =>
  makePod(name, { ...f, nodeName, phase: f.phase ?? 'Running' });

table(new ResourcesFit(), [
  {
    name: 'fits an empty node',
    pod: makePod('p', { cpu: '1', memory: '1Gi' }),
    node: makeNode('n'),
    want: true,
  },
  {
    name: 'exactly full still fits',
    pod: makePod('p', { cpu: '2', memory: '4Gi' }),
    node: makeNode('n'),
    placed: [on('n', 'a', { cpu: '2', memory: '4Gi' })],
    want: true,
  },
  {
    name: 'cpu short',
    pod: makePod('p', { cpu: '500m' }),
    node: makeNode('n', { cpu: '1' }),
    placed: [on('n', 'a', { cpu: '600m' })],
    want: ['Insufficient cpu'],
  },
  {
    name: 'memory short',
    pod: makePod('p', { memory: '9Gi' }),
    node: makeNode('n'),
    want: ['Insufficient memory'],
  },
  {
    name: 'both short: both reported',
    pod: makePod('p', { cpu: '5', memory: '9Gi' }),
    node: makeNode('n'),
    want: ['Insufficient cpu', 'Insufficient memory'],
  },
  {
    name: 'pod slots full',
    pod: makePod('p'),
    node: makeNode('n', { pods: '1' }),
    placed: [on('n', 'a')],
    want: ['Too many pods'],
  },
  {
    name: 'finished pods free their resources',
    pod: makePod('p', { cpu: '3' }),
    node: makeNode('n'),
    placed: [on('n', 'a', { cpu: '3', phase: 'Succeeded' })],
    want: true,
  },
  {
    name: 'a pod requesting nothing fits a full node',
    pod: makePod('p'),
    node: makeNode('n', { cpu: '1' }),
    placed: [on('n', 'a', { cpu: '1' })],
    want: true,
  },
  {
    name: 'init containers: the largest counts, not the sum',
    pod: makePod('p', {
      cpu: '1',
      spec: {
        initContainers: [
          { name: 'i1', image: 'x', resources: { requests: { cpu: '3' } } },
          { name: 'i2', image: 'x', resources: { requests: { cpu: '3' } } },
        ],
      },
    }),
    node: makeNode('n'),
    want: true,
  },
  {
    name: 'init containers: the largest above the app containers decides',
    pod: makePod('p', {
      cpu: '1',
      spec: { initContainers: [{ name: 'i', image: 'x', resources: { requests: { cpu: '3' } } }] },
    }),
    node: makeNode('n'),
    placed: [on('n', 'a', { cpu: '2' })],
    want: ['Insufficient cpu'],
  },
  {
    name: 'sidecar init containers add to the app containers',
    pod: makePod('p', {
      cpu: '2',
      spec: {
        initContainers: [
          { name: 's', image: 'x', restartPolicy: 'Always', resources: { requests: { cpu: '2' } } },
        ],
      },
    }),
    node: makeNode('n'),
    placed: [on('n', 'a', { cpu: '1' })],
    want: ['Insufficient cpu'],
  },
  {
    name: 'a limit without a request counts as the request',
    pod: makePod('p', {
      spec: { containers: [{ name: 'c', image: 'x', resources: { limits: { memory: '9Gi' } } }] },
    }),
    node: makeNode('n'),
    want: ['Insufficient memory'],
  },
]);

const port = (hostPort: number, extra: Record<string, unknown> = {}) => ({
  containerPort: 80,
  hostPort,
  ...extra,
});
const HP = "node(s) didn't have free ports for the requested pod ports";

table(new HostPorts(), [
  {
    name: 'no host ports',
    pod: makePod('p'),
    node: makeNode('n'),
    placed: [on('n', 'a', { ports: [port(80)] })],
    want: true,
  },
  {
    name: 'same port and protocol',
    pod: makePod('p', { ports: [port(80)] }),
    node: makeNode('n'),
    placed: [on('n', 'a', { ports: [port(80)] })],
    want: [HP],
  },
  {
    name: 'other protocol',
    pod: makePod('p', { ports: [port(53, { protocol: 'UDP' })] }),
    node: makeNode('n'),
    placed: [on('n', 'a', { ports: [port(53)] })],
    want: true,
  },
  {
    name: 'different specific addresses',
    pod: makePod('p', { ports: [port(80, { hostIP: '10.0.0.1' })] }),
    node: makeNode('n'),
    placed: [on('n', 'a', { ports: [port(80, { hostIP: '10.0.0.2' })] })],
    want: true,
  },
  {
    name: 'wildcard overlaps a specific address',
    pod: makePod('p', { ports: [port(80, { hostIP: '10.0.0.1' })] }),
    node: makeNode('n'),
    placed: [on('n', 'a', { ports: [port(80)] })],
    want: [HP],
  },
  {
    name: 'a pod on another node does not count',
    pod: makePod('p', { ports: [port(80)] }),
    node: makeNode('n'),
    nodes: [makeNode('m')],
    placed: [on('m', 'a', { ports: [port(80)] })],
    want: true,
  },
]);

const HOST = 'kubernetes.io/hostname';
const ZONE = 'topology.kubernetes.io/zone';
const podAff = (
  kind: 'podAffinity' | 'podAntiAffinity',
  app: string,
  topologyKey: string,
  namespaces?: string[],
) => ({
  affinity: {
    [kind]: {
      requiredDuringSchedulingIgnoredDuringExecution: [
        {
          labelSelector: { matchLabels: { app } },
          topologyKey,
          ...(namespaces ? { namespaces } : {}),
        },
      ],
    },
  },
});
const zoned = (name: string, zone: string) => makeNode(name, { labels: { [ZONE]: zone } });

table(new InterPodAffinity(), [
  {
    name: 'anti-affinity: a matching pod on the node',
    pod: makePod('p', { labels: { app: 'db' }, spec: podAff('podAntiAffinity', 'db', HOST) }),
    node: makeNode('a'),
    placed: [on('a', 'x', { labels: { app: 'db' } })],
    want: ["node(s) didn't match pod anti-affinity rules"],
  },
  {
    name: 'anti-affinity: the matching pod is on another node',
    pod: makePod('p', { labels: { app: 'db' }, spec: podAff('podAntiAffinity', 'db', HOST) }),
    node: makeNode('a'),
    nodes: [makeNode('b')],
    placed: [on('b', 'x', { labels: { app: 'db' } })],
    want: true,
  },
  {
    name: 'anti-affinity over zones',
    pod: makePod('p', { spec: podAff('podAntiAffinity', 'db', ZONE) }),
    node: zoned('a', 'z1'),
    nodes: [zoned('b', 'z1')],
    placed: [on('b', 'x', { labels: { app: 'db' } })],
    want: ["node(s) didn't match pod anti-affinity rules"],
  },
  {
    name: 'anti-affinity: another namespace does not count',
    pod: makePod('p', { spec: podAff('podAntiAffinity', 'db', HOST) }),
    node: makeNode('a'),
    placed: [on('a', 'x', { labels: { app: 'db' }, namespace: 'other' })],
    want: true,
  },
  {
    name: 'anti-affinity: a listed namespace counts',
    pod: makePod('p', { spec: podAff('podAntiAffinity', 'db', HOST, ['other']) }),
    node: makeNode('a'),
    placed: [on('a', 'x', { labels: { app: 'db' }, namespace: 'other' })],
    want: ["node(s) didn't match pod anti-affinity rules"],
  },
  {
    name: "existing pods' anti-affinity is symmetric",
    pod: makePod('p', { labels: { app: 'web' } }),
    node: makeNode('a'),
    placed: [on('a', 'x', { spec: podAff('podAntiAffinity', 'web', HOST) })],
    want: ["node(s) didn't satisfy existing pods anti-affinity rules"],
  },
  {
    name: 'affinity: a matching pod in the zone',
    pod: makePod('p', { spec: podAff('podAffinity', 'cache', ZONE) }),
    node: zoned('a', 'z1'),
    nodes: [zoned('b', 'z1'), zoned('c', 'z2')],
    placed: [on('b', 'x', { labels: { app: 'cache' } })],
    want: true,
  },
  {
    name: 'affinity: the match is in another zone',
    pod: makePod('p', { spec: podAff('podAffinity', 'cache', ZONE) }),
    node: zoned('c', 'z2'),
    nodes: [zoned('b', 'z1')],
    placed: [on('b', 'x', { labels: { app: 'cache' } })],
    want: ["node(s) didn't match pod affinity rules"],
  },
  {
    name: 'affinity: the first pod of a group matching itself goes anywhere',
    pod: makePod('p', { labels: { app: 'cache' }, spec: podAff('podAffinity', 'cache', ZONE) }),
    node: zoned('a', 'z1'),
    want: true,
  },
  {
    name: 'affinity: no match anywhere and the pod does not match itself',
    pod: makePod('p', { spec: podAff('podAffinity', 'cache', ZONE) }),
    node: zoned('a', 'z1'),
    want: ["node(s) didn't match pod affinity rules"],
  },
]);

const spread = (maxSkew: number, topologyKey: string, extra: Record<string, unknown> = {}) => ({
  topologySpreadConstraints: [
    {
      maxSkew,
      topologyKey,
      whenUnsatisfiable: 'DoNotSchedule',
      labelSelector: { matchLabels: { app: 'w' } },
      ...extra,
    },
  ],
});
const w = { app: 'w' };

table(new TopologySpread(), [
  {
    name: 'skew within maxSkew',
    pod: makePod('p', { labels: w, spec: spread(1, ZONE) }),
    node: zoned('a', 'z1'),
    nodes: [zoned('b', 'z2')],
    placed: [on('b', 'x', { labels: w })],
    want: true,
  },
  {
    name: 'skew beyond maxSkew',
    pod: makePod('p', { labels: w, spec: spread(1, ZONE) }),
    node: zoned('a', 'z1'),
    nodes: [zoned('b', 'z2')],
    placed: [on('a', 'x', { labels: w })],
    want: ["node(s) didn't match pod topology spread constraints"],
  },
  {
    name: 'maxSkew 2 allows it',
    pod: makePod('p', { labels: w, spec: spread(2, ZONE) }),
    node: zoned('a', 'z1'),
    nodes: [zoned('b', 'z2')],
    placed: [on('a', 'x', { labels: w })],
    want: true,
  },
  {
    name: 'node without the topology label',
    pod: makePod('p', { labels: w, spec: spread(1, ZONE) }),
    node: makeNode('a'),
    nodes: [zoned('b', 'z2')],
    want: ["node(s) didn't match pod topology spread constraints (missing required label)"],
  },
  {
    name: 'minDomains beyond the domains there are: the minimum is 0',
    pod: makePod('p', { labels: w, spec: spread(1, ZONE, { minDomains: 3 }) }),
    node: zoned('a', 'z1'),
    nodes: [zoned('b', 'z2')],
    placed: [on('a', 'x', { labels: w }), on('b', 'y', { labels: w })],
    want: ["node(s) didn't match pod topology spread constraints"],
  },
  {
    name: 'terminating pods are not counted',
    pod: makePod('p', { labels: w, spec: spread(1, ZONE) }),
    node: zoned('a', 'z1'),
    nodes: [zoned('b', 'z2')],
    placed: [on('a', 'x', { labels: w, terminating: true })],
    want: true,
  },
  {
    name: 'ScheduleAnyway does not filter',
    pod: makePod('p', {
      labels: w,
      spec: spread(1, ZONE, { whenUnsatisfiable: 'ScheduleAnyway' }),
    }),
    node: zoned('a', 'z1'),
    nodes: [zoned('b', 'z2')],
    placed: [on('a', 'x', { labels: w }), on('a', 'y', { labels: w })],
    want: true,
  },
]);

interface ScoreCase {
  name: string;
  pod: KubeObject;
  nodes: KubeObject[];
  placed?: KubeObject[];
  /** Raw score per node name. */
  want: Record<string, number>;
}

function scoreTable(stage: ScoreStage, cases: ScoreCase[]): void {
  describe(stage.name, () => {
    it.each(cases.map((c) => [c.name, c] as const))('%s', (_n, c) => {
      const snapshot = buildSnapshot(c.nodes, c.placed ?? []);
      const pod = parsePod(c.pod);
      const got: Record<string, number> = {};
      for (const n of snapshot.nodes) got[n.name] = stage.score(pod, n, snapshot);
      for (const [k, v] of Object.entries(c.want)) expect(got[k]).toBeCloseTo(v, 6);
    });
  });
}

scoreTable(new LeastAllocated(), [
  {
    name: 'the emptier node scores higher',
    pod: makePod('p', { cpu: '1', memory: '2Gi' }),
    nodes: [makeNode('a'), makeNode('b')],
    placed: [on('a', 'x', { cpu: '2', memory: '4Gi' })],
    // a: cpu (4-3)/4 = 25, memory (8-6)/8 = 25; b: 75, 75
    want: { a: 25, b: 75 },
  },
  {
    name: 'requests left out count as 100m and 200Mi',
    pod: makePod('p'),
    nodes: [makeNode('a', { cpu: '1', memory: '1000Mi' })],
    // cpu (1000-100)/1000 = 90, memory (1000-200)/1000 = 80
    want: { a: 85 },
  },
]);

scoreTable(new MostAllocated(), [
  {
    name: 'the fuller node scores higher',
    pod: makePod('p', { cpu: '1', memory: '2Gi' }),
    nodes: [makeNode('a'), makeNode('b')],
    placed: [on('a', 'x', { cpu: '2', memory: '4Gi' })],
    want: { a: 75, b: 25 },
  },
]);

scoreTable(new PreferredNodeAffinity(), [
  {
    name: 'weights of matching terms add up',
    pod: makePod('p', {
      spec: {
        affinity: {
          nodeAffinity: {
            preferredDuringSchedulingIgnoredDuringExecution: [
              { weight: 10, preference: expr('disk', 'In', ['ssd']) },
              { weight: 5, preference: expr('zone', 'In', ['a']) },
            ],
          },
        },
      },
    }),
    nodes: [
      makeNode('both', { labels: { disk: 'ssd', zone: 'a' } }),
      makeNode('disk', { labels: { disk: 'ssd' } }),
      makeNode('none'),
    ],
    want: { both: 15, disk: 10, none: 0 },
  },
]);

scoreTable(new TaintPreferNoSchedule(), [
  {
    name: 'counts untolerated PreferNoSchedule taints only',
    pod: makePod('p', { spec: tol({ key: 'ok', operator: 'Exists', effect: 'PreferNoSchedule' }) }),
    nodes: [
      makeNode('two', {
        taints: [taint('a', '', 'PreferNoSchedule'), taint('b', '', 'PreferNoSchedule')],
      }),
      makeNode('tolerated', { taints: [taint('ok', '', 'PreferNoSchedule')] }),
      makeNode('hard', { taints: [taint('a', '', 'NoSchedule')] }),
    ],
    want: { two: 2, tolerated: 0, hard: 0 },
  },
  {
    name: 'a NoSchedule toleration does not cover PreferNoSchedule',
    pod: makePod('p', { spec: tol({ key: 'a', operator: 'Exists', effect: 'NoSchedule' }) }),
    nodes: [makeNode('n', { taints: [taint('a', '', 'PreferNoSchedule')] })],
    want: { n: 1 },
  },
]);

scoreTable(new TopologySpreadScore(), [
  {
    name: 'default spreading counts pods of the same controller per node',
    pod: makePod('p', { owner: 'rs' }),
    nodes: [makeNode('a'), makeNode('b'), makeNode('c')],
    placed: [
      on('a', 'x', { owner: 'rs' }),
      on('a', 'y', { owner: 'rs' }),
      on('b', 'z', { owner: 'other' }),
    ],
    // count × log(3 nodes + 2) + (3 − 1)
    want: { a: 2 * Math.log(5) + 2, b: 2, c: 2 },
  },
  {
    name: 'default spreading adds zones',
    pod: makePod('p', { owner: 'rs' }),
    nodes: [zoned('a', 'z1'), zoned('b', 'z1'), zoned('c', 'z2')],
    placed: [on('a', 'x', { owner: 'rs' })],
    // node: count × log(5) + 2; zone: count × log(2 zones + 2) + 4
    want: { a: Math.log(5) + 2 + Math.log(4) + 4, b: 2 + Math.log(4) + 4, c: 6 },
  },
  {
    name: 'a pod without a controller is not spread',
    pod: makePod('p'),
    nodes: [makeNode('a')],
    placed: [on('a', 'x')],
    want: { a: 0 },
  },
  {
    name: 'ScheduleAnyway constraints score by matching pods per domain',
    pod: makePod('p', {
      labels: w,
      spec: spread(1, ZONE, { whenUnsatisfiable: 'ScheduleAnyway' }),
    }),
    nodes: [zoned('a', 'z1'), zoned('b', 'z2')],
    placed: [on('a', 'x', { labels: w }), on('a', 'y', { labels: w })],
    want: { a: 2 * Math.log(4), b: 0 },
  },
]);
