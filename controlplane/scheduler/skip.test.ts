// Skipping a stage (its `skip` answers true once per attempt) must never
// change an answer: a skipped filter would have passed every node, a skipped
// score would have given every node the same raw score, and `scoreAll` must
// equal `score` node by node. Each case is scheduled twice, once with the
// default pipeline and once with the same stages stripped of `skip` and
// `scoreAll` (every stage on every node, as before), and the answers compared:
// node, feasible and evaluated counts, message and reason counts.

import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../api/objects.js';
import { buildSnapshot, SchedulerCache } from './cache.js';
import { parsePod } from './pod-info.js';
import { defaultPipeline, schedule, type ScheduleResult } from './pipeline.js';
import { makeNode, makePod, seeded, unskipped } from './scheduler.fixture.js';
import type { Snapshot, VolumeCatalog } from './types.js';
import { EXISTING_ANTI_AFFINITY_REASON } from './stages/inter-pod-affinity.js';
import { TopologySpreadScore } from './stages/topology-spread-score.js';
import { TaintPreferNoSchedule } from './stages/taint-prefer-no-schedule.js';

const HOST = 'kubernetes.io/hostname';
const ZONE = 'topology.kubernetes.io/zone';

function comparable(r: ScheduleResult): unknown {
  return 'node' in r ? r : { unschedulable: r.unschedulable, reasons: [...r.reasons].sort() };
}

function both(pod: KubeObject, snapshot: Snapshot, scoring?: 'MostAllocated'): ScheduleResult {
  const pipeline = defaultPipeline(scoring ? { scoring } : {});
  for (let seed = 1; seed <= 5; seed++) {
    const skipped = schedule(parsePod(pod), snapshot, { pipeline, random: seeded(seed) });
    const full = schedule(parsePod(pod), snapshot, {
      pipeline: unskipped(pipeline),
      random: seeded(seed),
    });
    expect(comparable(skipped)).toEqual(comparable(full));
  }
  return schedule(parsePod(pod), snapshot, { pipeline, random: seeded(1) });
}

const antiAffinity = (app: string, topologyKey = HOST) => ({
  affinity: {
    podAntiAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: [
        { labelSelector: { matchLabels: { app } }, topologyKey },
      ],
    },
  },
});

const zoned = (name: string, zone: string, f: Parameters<typeof makeNode>[1] = {}) =>
  makeNode(name, { ...f, labels: { [ZONE]: zone, ...(f.labels ?? {}) } });

const cluster = (): KubeObject[] => [
  zoned('a', 'z1', { labels: { disk: 'ssd' } }),
  zoned('b', 'z1', { taints: [{ key: 'soft', effect: 'PreferNoSchedule' }] }),
  zoned('c', 'z2', { cpu: '1' }),
  zoned('d', 'z2', { taints: [{ key: 'hard', value: 'x', effect: 'NoSchedule' }] }),
  makeNode('e', { unschedulable: true }),
  makeNode('f'),
];

const placed = (): KubeObject[] => [
  makePod('w1', { nodeName: 'a', owner: 'web', labels: { app: 'web' }, cpu: '1' }),
  makePod('w2', { nodeName: 'a', owner: 'web', labels: { app: 'web' } }),
  makePod('w3', { nodeName: 'c', owner: 'web', labels: { app: 'web' }, cpu: '500m' }),
  makePod('h', { nodeName: 'f', ports: [{ containerPort: 80, hostPort: 80 }] }),
];

describe('a skipped stage answers as running it would', () => {
  const cases: [string, KubeObject][] = [
    ['a plain ReplicaSet pod', makePod('p', { owner: 'web', labels: { app: 'web' } })],
    ['a pod with no controller', makePod('p')],
    ['a pod that fits nowhere', makePod('p', { cpu: '64', memory: '1Ti' })],
    ['a pod naming a node', makePod('p', { spec: { nodeName: 'b' } })],
    ['a nodeSelector', makePod('p', { spec: { nodeSelector: { disk: 'ssd' } } })],
    ['a nodeSelector no node has', makePod('p', { spec: { nodeSelector: { disk: 'nvme' } } })],
    [
      'required node affinity with no terms (matches no node)',
      makePod('p', {
        spec: {
          affinity: {
            nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: {} },
          },
        },
      }),
    ],
    [
      'preferred node affinity of weight 0 only',
      makePod('p', {
        spec: {
          affinity: {
            nodeAffinity: {
              preferredDuringSchedulingIgnoredDuringExecution: [
                {
                  weight: 0,
                  preference: { matchExpressions: [{ key: 'disk', operator: 'Exists' }] },
                },
              ],
            },
          },
        },
      }),
    ],
    [
      'preferred node affinity',
      makePod('p', {
        spec: {
          affinity: {
            nodeAffinity: {
              preferredDuringSchedulingIgnoredDuringExecution: [
                {
                  weight: 5,
                  preference: { matchExpressions: [{ key: 'disk', operator: 'Exists' }] },
                },
              ],
            },
          },
        },
      }),
    ],
    [
      'a host port in use on one node',
      makePod('p', { ports: [{ containerPort: 80, hostPort: 80 }] }),
    ],
    [
      'a DoNotSchedule spread constraint',
      makePod('p', {
        labels: { app: 'web' },
        spec: {
          topologySpreadConstraints: [
            { maxSkew: 1, topologyKey: ZONE, labelSelector: { matchLabels: { app: 'web' } } },
          ],
        },
      }),
    ],
    [
      'only a ScheduleAnyway spread constraint',
      makePod('p', {
        labels: { app: 'web' },
        owner: 'web',
        spec: {
          topologySpreadConstraints: [
            {
              maxSkew: 1,
              topologyKey: ZONE,
              whenUnsatisfiable: 'ScheduleAnyway',
              labelSelector: { matchLabels: { app: 'web' } },
            },
          ],
        },
      }),
    ],
    ['its own anti-affinity', makePod('p', { labels: { app: 'web' }, spec: antiAffinity('web') })],
    [
      'tolerating the hard taint',
      makePod('p', { spec: { tolerations: [{ key: 'hard', operator: 'Exists' }] } }),
    ],
  ];

  it.each(cases)('%s', (_name, pod) => {
    both(pod, buildSnapshot(cluster(), placed()));
  });

  it.each(cases)('%s, with MostAllocated', (_name, pod) => {
    both(pod, buildSnapshot(cluster(), placed()), 'MostAllocated');
  });

  it('a placed pod with anti-affinity still rejects a plain pod (symmetry)', () => {
    const snapshot = buildSnapshot(
      [makeNode('a'), makeNode('b')],
      [makePod('guard', { nodeName: 'a', spec: antiAffinity('web') })],
    );
    expect(snapshot.podsWithRequiredAntiAffinity).toBe(1);
    expect(both(makePod('p', { labels: { app: 'web' } }), snapshot)).toMatchObject({ node: 'b' });
    const onlyA = buildSnapshot(
      [makeNode('a')],
      [makePod('guard', { nodeName: 'a', spec: antiAffinity('web') })],
    );
    const r = both(makePod('p', { labels: { app: 'web' } }), onlyA);
    expect(r).toMatchObject({
      unschedulable: `0/1 nodes are available: 1 ${EXISTING_ANTI_AFFINITY_REASON}.`,
    });
  });

  it('a placed pod with anti-affinity for others lets a plain pod go anywhere', () => {
    const snapshot = buildSnapshot(
      [zoned('a', 'z1'), zoned('b', 'z2')],
      [makePod('guard', { nodeName: 'a', spec: antiAffinity('db', ZONE) })],
    );
    expect(both(makePod('p', { labels: { app: 'web' } }), snapshot)).toHaveProperty('node');
  });

  it('claims are checked when the snapshot has a catalog, and answer the same', () => {
    const cache = new SchedulerCache();
    for (const n of cluster()) cache.setNode(n);
    const catalog: VolumeCatalog = {
      claim: () => undefined,
      volume: () => undefined,
      storageClass: () => undefined,
      volumes: () => [],
    };
    cache.volumes = catalog;
    const withClaim = makePod('p', {
      spec: { volumes: [{ name: 'v', persistentVolumeClaim: { claimName: 'data' } }] },
    });
    expect(both(withClaim, cache)).toMatchObject({
      unschedulable: expect.stringContaining('persistentvolumeclaim "data" not found'),
    });
    expect(both(makePod('q'), cache)).toHaveProperty('node');
  });

  it('a partial search on a large cluster evaluates and finds the same nodes', () => {
    const nodes = Array.from({ length: 400 }, (_, i) => zoned(`n${i}`, `z${i % 3}`));
    const pods = Array.from({ length: 800 }, (_, i) =>
      makePod(`w${i}`, { nodeName: `n${(i * 7) % 400}`, owner: 'web', labels: { app: 'web' } }),
    );
    const snapshot = buildSnapshot(nodes, pods);
    const pipeline = defaultPipeline();
    const pod = makePod('p', { owner: 'web', labels: { app: 'web' } });
    for (const startIndex of [0, 123, 399]) {
      const skipped = schedule(parsePod(pod), snapshot, {
        pipeline,
        startIndex,
        random: seeded(7),
      });
      const full = schedule(parsePod(pod), snapshot, {
        pipeline: unskipped(pipeline),
        startIndex,
        random: seeded(7),
      });
      expect(skipped).toEqual(full);
    }
  });
});

describe('scoreAll equals score node by node', () => {
  const snapshot = buildSnapshot(
    [...cluster(), makeNode('g', { taints: [{ key: 'soft', effect: 'PreferNoSchedule' }] })],
    placed(),
  );
  const pods: [string, KubeObject][] = [
    ['default spreading', makePod('p', { owner: 'web' })],
    ['no controller', makePod('p')],
    [
      'ScheduleAnyway over zones',
      makePod('p', {
        spec: {
          topologySpreadConstraints: [
            {
              maxSkew: 2,
              topologyKey: ZONE,
              whenUnsatisfiable: 'ScheduleAnyway',
              labelSelector: { matchLabels: { app: 'web' } },
            },
          ],
        },
      }),
    ],
    [
      'tolerating PreferNoSchedule',
      makePod('p', { spec: { tolerations: [{ key: 'soft', operator: 'Exists' }] } }),
    ],
  ];
  it.each(pods)('%s', (_name, pod) => {
    for (const stage of [new TopologySpreadScore(), new TaintPreferNoSchedule()]) {
      const info = parsePod(pod);
      const out = new Float64Array(snapshot.nodes.length);
      stage.scoreAll(info, snapshot.nodes, snapshot, out);
      expect([...out]).toEqual(snapshot.nodes.map((n) => stage.score(parsePod(pod), n, snapshot)));
    }
  });
});

describe('the cache counts placed pods with required anti-affinity', () => {
  function counted(cache: SchedulerCache): number {
    let n = 0;
    for (const node of cache.nodes) n += node.podsWithRequiredAntiAffinity.size;
    return n;
  }

  it('through add, replace, move, assume, forget and remove', () => {
    const cache = new SchedulerCache();
    cache.setNode(makeNode('a'));
    cache.setNode(makeNode('b'));
    const guard = (nodeName: string) =>
      makePod('guard', { nodeName, phase: 'Running', spec: antiAffinity('web') });
    cache.setPod(guard('a'));
    expect(cache.podsWithRequiredAntiAffinity).toBe(1);
    cache.setPod(guard('a')); // the same pod again replaces it
    expect(cache.podsWithRequiredAntiAffinity).toBe(1);
    cache.setPod(guard('b')); // moved
    expect(cache.podsWithRequiredAntiAffinity).toBe(1);
    expect(counted(cache)).toBe(1);
    cache.setPod(makePod('guard', { nodeName: 'b', phase: 'Running' })); // rule gone on update
    expect(cache.podsWithRequiredAntiAffinity).toBe(0);
    const other = parsePod(makePod('other', { spec: antiAffinity('db') }));
    cache.assume(other, 'a');
    expect(cache.podsWithRequiredAntiAffinity).toBe(1);
    cache.forget(other.key);
    expect(cache.podsWithRequiredAntiAffinity).toBe(0);
    cache.setPod(guard('a'));
    cache.setPod(
      makePod('guard', { nodeName: 'a', phase: 'Succeeded', spec: antiAffinity('web') }),
    );
    expect(cache.podsWithRequiredAntiAffinity).toBe(0);
    cache.setPod(guard('b'));
    cache.removePod('default/guard');
    expect(cache.podsWithRequiredAntiAffinity).toBe(0);
    expect(counted(cache)).toBe(0);
  });

  it('keeps counting a pod whose node is gone until the pod goes (never too few)', () => {
    const cache = new SchedulerCache();
    cache.setNode(makeNode('a'));
    cache.setPod(makePod('guard', { nodeName: 'a', phase: 'Running', spec: antiAffinity('web') }));
    cache.removeNode('a');
    expect(cache.podsWithRequiredAntiAffinity).toBe(1);
    cache.removePod('default/guard');
    expect(cache.podsWithRequiredAntiAffinity).toBe(0);
  });
});
