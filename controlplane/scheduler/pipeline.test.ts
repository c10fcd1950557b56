import { describe, expect, it } from 'vitest';
import { buildSnapshot, SchedulerCache } from './cache.js';
import { parsePod } from './pod-info.js';
import {
  defaultPipeline,
  feasibleNodesToFind,
  normalize,
  schedule,
  unschedulableMessage,
} from './pipeline.js';
import { makeNode, makePod } from './scheduler.fixture.js';

/** Schedules pods one after another, assuming each, as the scheduler does. */
function placeAll(
  cache: SchedulerCache,
  pods: ReturnType<typeof makePod>[],
  opts: Parameters<typeof schedule>[2] = {},
) {
  const placed: Record<string, string> = {};
  for (const p of pods) {
    const info = parsePod(p);
    const r = schedule(info, cache, opts);
    if (!('node' in r)) throw new Error(`${info.key}: ${r.unschedulable}`);
    cache.assume(info, r.node);
    placed[info.name] = r.node;
  }
  return placed;
}

function perNode(placed: Record<string, string>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const n of Object.values(placed)) counts[n] = (counts[n] ?? 0) + 1;
  return counts;
}

describe('schedule', () => {
  it('spreads 6 pods of one ReplicaSet over 3 equal nodes 2/2/2, whatever the tie-breaks', () => {
    for (const seed of [0, 0.3, 0.6, 0.99]) {
      const cache = new SchedulerCache();
      for (const n of ['a', 'b', 'c']) cache.setNode(makeNode(n));
      const pods = Array.from({ length: 6 }, (_, i) =>
        makePod(`web-${i}`, { owner: 'web', cpu: '100m', memory: '128Mi' }),
      );
      expect(perNode(placeAll(cache, pods, { random: () => seed }))).toEqual({ a: 2, b: 2, c: 2 });
    }
  });

  it('spreads pods without requests too (default requests for scoring, owner spreading)', () => {
    const cache = new SchedulerCache();
    for (const n of ['a', 'b', 'c']) cache.setNode(makeNode(n));
    const pods = Array.from({ length: 6 }, (_, i) => makePod(`web-${i}`, { owner: 'web' }));
    expect(perNode(placeAll(cache, pods, { random: () => 0.5 }))).toEqual({ a: 2, b: 2, c: 2 });
  });

  it('spreads over zones before nodes', () => {
    const cache = new SchedulerCache();
    const zone = (z: string) => ({ labels: { 'topology.kubernetes.io/zone': z } });
    cache.setNode(makeNode('a1', zone('a')));
    cache.setNode(makeNode('a2', zone('a')));
    cache.setNode(makeNode('b1', zone('b')));
    const pods = Array.from({ length: 4 }, (_, i) => makePod(`web-${i}`, { owner: 'web' }));
    const counts = perNode(placeAll(cache, pods, { random: () => 0.5 }));
    expect(counts.b1).toBe(2);
    expect((counts.a1 ?? 0) + (counts.a2 ?? 0)).toBe(2);
  });

  it('bin-packs with MostAllocated', () => {
    const cache = new SchedulerCache();
    for (const n of ['a', 'b', 'c']) cache.setNode(makeNode(n));
    const pods = Array.from({ length: 3 }, (_, i) =>
      makePod(`job-${i}`, { cpu: '1', memory: '1Gi' }),
    );
    const placed = placeAll(cache, pods, {
      pipeline: defaultPipeline({ scoring: 'MostAllocated' }),
      random: () => 0,
    });
    expect(Object.keys(perNode(placed))).toHaveLength(1);
  });

  it('counts every rejection in the message, sorted as kube-scheduler sorts', () => {
    const snapshot = buildSnapshot([
      makeNode('small-1', { memory: '1Gi' }),
      makeNode('small-2', { memory: '1Gi' }),
      makeNode('tainted', {
        memory: '64Gi',
        taints: [{ key: 'x', value: 'y', effect: 'NoSchedule' }],
      }),
    ]);
    const r = schedule(parsePod(makePod('big', { memory: '2Gi' })), snapshot);
    expect(r).toMatchObject({
      unschedulable:
        '0/3 nodes are available: 1 node(s) had untolerated taint {x: y}, 2 Insufficient memory.',
    });
  });

  it('counts each shortage of a node', () => {
    const snapshot = buildSnapshot([makeNode('a'), makeNode('b', { unschedulable: true })]);
    const r = schedule(parsePod(makePod('huge', { cpu: '64', memory: '64Gi' })), snapshot);
    expect(r).toMatchObject({
      unschedulable:
        '0/2 nodes are available: 1 Insufficient cpu, 1 Insufficient memory, 1 node(s) were unschedulable.',
    });
  });

  it('says so when there are no nodes', () => {
    expect(schedule(parsePod(makePod('p')), buildSnapshot([]))).toMatchObject({
      unschedulable: 'no nodes available to schedule pods',
    });
  });

  it('breaks ties with the injected random source', () => {
    const snapshot = buildSnapshot([makeNode('a'), makeNode('b'), makeNode('c')]);
    const pod = parsePod(makePod('p'));
    // Reservoir sampling: the i-th tie (1-based) replaces the pick when random() * i < 1.
    expect(schedule(pod, snapshot, { random: () => 0.99 })).toMatchObject({ node: 'a' });
    expect(schedule(pod, snapshot, { random: () => 0 })).toMatchObject({ node: 'c' });
  });

  it('lets a weighted preference win over equal resources', () => {
    const snapshot = buildSnapshot([
      makeNode('a'),
      makeNode('b', { labels: { disk: 'ssd' } }),
      makeNode('c'),
    ]);
    const pod = makePod('p', {
      spec: {
        affinity: {
          nodeAffinity: {
            preferredDuringSchedulingIgnoredDuringExecution: [
              {
                weight: 1,
                preference: {
                  matchExpressions: [{ key: 'disk', operator: 'In', values: ['ssd'] }],
                },
              },
            ],
          },
        },
      },
    });
    expect(schedule(parsePod(pod), snapshot, { random: () => 0 })).toMatchObject({ node: 'b' });
  });

  it('avoids PreferNoSchedule taints when it can', () => {
    const snapshot = buildSnapshot([
      makeNode('a', { taints: [{ key: 'x', effect: 'PreferNoSchedule' }] }),
      makeNode('b'),
    ]);
    expect(schedule(parsePod(makePod('p')), snapshot, { random: () => 0 })).toMatchObject({
      node: 'b',
    });
  });

  it('never places onto a node a filter rejects', () => {
    const snapshot = buildSnapshot([
      makeNode('a', { ready: 'False' }),
      makeNode('b', { cpu: '1' }),
      makeNode('c'),
    ]);
    expect(schedule(parsePod(makePod('p', { cpu: '2' })), snapshot)).toMatchObject({
      node: 'c',
      feasible: 1,
    });
  });
});

describe('unschedulableMessage', () => {
  it('sorts the "count reason" strings as strings (Go sort.Strings)', () => {
    const reasons = new Map([
      ['Insufficient memory', 2],
      ['Too many pods', 10],
      ['node(s) were unschedulable', 1],
    ]);
    expect(unschedulableMessage(13, reasons)).toBe(
      '0/13 nodes are available: 1 node(s) were unschedulable, 10 Too many pods, 2 Insufficient memory.',
    );
  });
});

describe('normalize', () => {
  it.each([
    ['max', [0, 5, 10], [0, 50, 100]],
    ['reverse', [0, 5, 10], [100, 50, 0]],
    ['reverse', [0, 0, 0], [100, 100, 100]],
    ['max', [0, 0], [0, 0]],
    ['max', [1, 3], [33, 100]],
    ['none', [-5, 50, 120], [0, 50, 100]],
  ] as const)('%s %j → %j', (how, raw, want) => {
    const a = Float64Array.from(raw);
    normalize(a, how);
    expect([...a]).toEqual(want);
  });
});

describe('partial search on large clusters (percentageOfNodesToScore)', () => {
  it.each([
    [50, 0, 50],
    [99, 0, 99],
    [1000, 0, 420],
    [5000, 0, 500],
    [5000, 1, 100],
    [1000, 100, 1000],
    [1000, 30, 300],
  ])('%i nodes, %i percent → %i', (total, pct, want) => {
    expect(feasibleNodesToFind(total, pct)).toBe(want);
  });

  it('stops once enough nodes fit, starting where it is told', () => {
    const snapshot = buildSnapshot(Array.from({ length: 300 }, (_, i) => makeNode(`n${i}`)));
    const r = schedule(parsePod(makePod('p')), snapshot, {
      percentageOfNodesToScore: 10,
      startIndex: 250,
    });
    // 10% of 300 is below the floor of 100 nodes.
    expect(r).toMatchObject({ feasible: 100, evaluated: 100 });
  });

  it('still looks at every node before calling a pod unschedulable', () => {
    const snapshot = buildSnapshot(Array.from({ length: 300 }, (_, i) => makeNode(`n${i}`)));
    const r = schedule(parsePod(makePod('p', { memory: '1Ti' })), snapshot, {
      percentageOfNodesToScore: 10,
    });
    expect(r).toMatchObject({
      unschedulable: '0/300 nodes are available: 300 Insufficient memory.',
    });
  });
});
