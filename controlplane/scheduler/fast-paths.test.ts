// The per-attempt fast paths must never change an answer:
// - the cache's node counts (unready or cordoned, hard-tainted,
//   PreferNoSchedule-tainted) that let NodeReady, TaintToleration and
//   TaintPreferNoSchedule skip equal a recount over the listed nodes after
//   every kind of change;
// - with them, decisions equal those of the same stages run on every node
//   (no skip, no scoreAll), over a sequence of attempts with assumes and
//   node changes in between, whichever counts are 0 at the time;
// - LeastAllocated's and MostAllocated's scoreAll equal score node by node;
// - scoreNodes (one pass per stage, every node alike taking one division)
//   equals `normalize` followed by the weighted sum.

import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../api/objects.js';
import { buildSnapshot, SchedulerCache } from './cache.js';
import { parsePod } from './pod-info.js';
import {
  defaultPipeline,
  normalize,
  schedule,
  scoreNodes,
  type ScheduleResult,
} from './pipeline.js';
import { makeNode, makePod, seeded, unskipped, type NodeFixture } from './scheduler.fixture.js';
import type { NodeInfo, ScoreStage, Snapshot } from './types.js';
import { LeastAllocated } from './stages/least-allocated.js';
import { MostAllocated } from './stages/most-allocated.js';
import { readyAndUncordoned } from './stages/node-ready.js';
import { hasHardTaint } from './stages/taint-toleration.js';
import { hasPreferNoScheduleTaint } from './stages/taint-prefer-no-schedule.js';

const ZONE = 'topology.kubernetes.io/zone';
const HARD = { key: 'hard', value: 'x', effect: 'NoSchedule' };
const EXECUTE = { key: 'gone', effect: 'NoExecute' };
const SOFT = { key: 'soft', effect: 'PreferNoSchedule' };

function recount(snapshot: Snapshot): [number, number, number] {
  const nodes = snapshot.nodes;
  return [
    nodes.filter((n) => !readyAndUncordoned(n)).length,
    nodes.filter(hasHardTaint).length,
    nodes.filter(hasPreferNoScheduleTaint).length,
  ];
}

function counted(cache: SchedulerCache): [number, number, number] {
  return [
    cache.unreadyOrCordonedNodes,
    cache.nodesWithHardTaints,
    cache.nodesWithPreferNoScheduleTaints,
  ];
}

describe('the cache counts nodes the filters would reject or score down', () => {
  type Step = [string, (c: SchedulerCache) => void, [number, number, number]];
  const steps: Step[] = [
    ['a healthy node', (c) => c.setNode(makeNode('a')), [0, 0, 0]],
    ['a cordoned node', (c) => c.setNode(makeNode('b', { unschedulable: true })), [1, 0, 0]],
    ['a NotReady node', (c) => c.setNode(makeNode('c', { ready: 'False' })), [2, 0, 0]],
    ['a node without Ready', (c) => c.setNode(makeNode('d', { ready: 'none' })), [3, 0, 0]],
    ['a hard taint', (c) => c.setNode(makeNode('e', { taints: [HARD] })), [3, 1, 0]],
    ['a NoExecute taint', (c) => c.setNode(makeNode('f', { taints: [EXECUTE, SOFT] })), [3, 2, 1]],
    ['a soft taint', (c) => c.setNode(makeNode('g', { taints: [SOFT] })), [3, 2, 2]],
    ['the cordon lifted', (c) => c.setNode(makeNode('b')), [2, 2, 2]],
    ['a heartbeat changes nothing', (c) => c.setNode(makeNode('c', { ready: 'False' })), [2, 2, 2]],
    ['Ready again', (c) => c.setNode(makeNode('c')), [1, 2, 2]],
    ['taints gone', (c) => c.setNode(makeNode('f')), [1, 1, 1]],
    ['a tainted node removed', (c) => c.removeNode('e'), [1, 0, 1]],
    ['removed twice', (c) => c.removeNode('e'), [1, 0, 1]],
    ['an unready node removed', (c) => c.removeNode('d'), [0, 0, 1]],
    [
      'a pod bound to an unknown node',
      (c) => c.setPod(makePod('p', { nodeName: 'h', phase: 'Running' })),
      [0, 0, 1],
    ],
    [
      'then its node, cordoned',
      (c) => c.setNode(makeNode('h', { unschedulable: true })),
      [1, 0, 1],
    ],
    ['a removed node with a pod on it', (c) => c.removeNode('h'), [0, 0, 1]],
    ['back again', (c) => c.setNode(makeNode('h', { taints: [SOFT] })), [0, 0, 2]],
  ];

  it('through every step, equal to a recount over the listed nodes', () => {
    const cache = new SchedulerCache();
    for (const [name, step, want] of steps) {
      step(cache);
      expect([name, counted(cache)]).toEqual([name, want]);
      expect([name, recount(cache)]).toEqual([name, want]);
    }
  });
});

describe('decisions with the cache-counted skips equal running every stage', () => {
  const zoned = (name: string, zone: string, f: NodeFixture = {}) =>
    makeNode(name, { ...f, labels: { [ZONE]: zone, ...(f.labels ?? {}) } });
  const clusters: [string, NodeFixture[]][] = [
    ['healthy, untainted', [{}, {}, { cpu: '1' }, {}]],
    ['one cordoned', [{}, { unschedulable: true }, {}, {}]],
    ['one NotReady', [{ ready: 'False' }, {}, {}, {}]],
    ['one hard-tainted', [{}, {}, { taints: [HARD] }, {}]],
    ['one soft-tainted', [{ taints: [SOFT] }, {}, {}, {}]],
    ['every node out', [{ unschedulable: true }, { ready: 'Unknown' }, { taints: [HARD] }]],
  ];
  const pods: [string, KubeObject][] = [
    ['a ReplicaSet pod', makePod('p', { owner: 'web', labels: { app: 'web' } })],
    ['a bare pod', makePod('p')],
    ['too big for any node', makePod('p', { cpu: '64' })],
    [
      'tolerating everything',
      makePod('p', { owner: 'web', spec: { tolerations: [{ operator: 'Exists' }] } }),
    ],
  ];
  const cases = clusters.flatMap(([c, nodes]) =>
    pods.map(([p, pod]) => [`${c}: ${p}`, nodes, pod] as const),
  );

  it.each(cases)('%s', (_name, fixtures, pod) => {
    for (const scoring of [undefined, 'MostAllocated'] as const) {
      const nodes = fixtures.map((f, i) => zoned(`n${i}`, `z${i % 2}`, f));
      const placed = [
        makePod('w1', { nodeName: 'n0', owner: 'web', labels: { app: 'web' } }),
        makePod('w2', { nodeName: 'n1', owner: 'web', labels: { app: 'web' }, cpu: '1' }),
      ];
      const fast = buildSnapshot(nodes, placed);
      const pipeline = defaultPipeline(scoring ? { scoring } : {});
      for (let seed = 1; seed <= 5; seed++) {
        const a = schedule(parsePod(pod), fast, { pipeline, random: seeded(seed) });
        const b = schedule(parsePod(pod), fast, {
          pipeline: unskipped(pipeline),
          random: seeded(seed),
        });
        expect(comparable(a)).toEqual(comparable(b));
      }
    }
  });

  it('over a run of attempts with assumes and node changes, as counts go to 0 and back', () => {
    // Two caches fed the same events; one scheduled with the default
    // pipeline, the other with every stage on every node.
    const fast = new SchedulerCache();
    const full = new SchedulerCache();
    const both = (f: (c: SchedulerCache) => void) => {
      f(fast);
      f(full);
    };
    const n = 40;
    for (let i = 0; i < n; i++) both((c) => c.setNode(zoned(`n${i}`, `z${i % 3}`)));
    const pipeline = defaultPipeline();
    const slow = unskipped(pipeline);
    const randA = seeded(11);
    const randB = seeded(11);
    const events = seeded(5);
    const changes: NodeFixture[] = [
      { taints: [HARD] },
      { taints: [SOFT] },
      { unschedulable: true },
      { ready: 'False' },
      {},
      {},
    ];
    let start = 0;
    for (let k = 0; k < 400; k++) {
      const owner = k % 5 === 0 ? undefined : `rs-${k % 7}`;
      const pod = makePod(`p${k}`, {
        ...(owner ? { owner, labels: { app: owner } } : {}),
        cpu: k % 11 === 0 ? '3' : '100m',
      });
      const a = schedule(parsePod(pod), fast, { pipeline, random: randA, startIndex: start });
      const b = schedule(parsePod(pod), full, { pipeline: slow, random: randB, startIndex: start });
      expect(comparable(a)).toEqual(comparable(b));
      if ('node' in a) {
        start += a.evaluated;
        both((c) => c.assume(parsePod(pod), a.node));
      }
      if (k % 9 === 0) {
        const i = Math.floor(events() * n);
        const change = changes[Math.floor(events() * changes.length)]!;
        both((c) => c.setNode(zoned(`n${i}`, `z${i % 3}`, change)));
      }
      expect(counted(fast)).toEqual(recount(fast));
    }
  });
});

function comparable(r: ScheduleResult): unknown {
  return 'node' in r ? r : { unschedulable: r.unschedulable, reasons: [...r.reasons].sort() };
}

describe('scoreAll equals score node by node', () => {
  const snapshot = buildSnapshot(
    [
      makeNode('a'),
      makeNode('b', { cpu: '1', memory: '1Gi' }),
      makeNode('c', { cpu: '0' }),
      makeNode('d', { cpu: '64', memory: '1Ti' }),
    ],
    [
      makePod('x', { nodeName: 'a', cpu: '2', memory: '2Gi' }),
      makePod('y', { nodeName: 'b', cpu: '2' }),
    ],
  );
  const pods: [string, KubeObject][] = [
    ['requests', makePod('p', { cpu: '500m', memory: '1Gi' })],
    ['no requests (scoring defaults)', makePod('p')],
    ['more than any node has', makePod('p', { cpu: '128', memory: '4Ti' })],
  ];
  it.each(pods)('%s', (_name, pod) => {
    for (const stage of [new LeastAllocated(), new MostAllocated()]) {
      const out = new Float64Array(snapshot.nodes.length);
      stage.scoreAll(parsePod(pod), snapshot.nodes, snapshot, out);
      expect([...out]).toEqual(snapshot.nodes.map((n) => stage.score(parsePod(pod), n)));
    }
  });
});

describe('scoreNodes equals normalize, then the weighted sum', () => {
  /** A stage answering fixed raw scores, node by node. */
  const fixed = (
    raw: readonly number[],
    how: ScoreStage['normalize'],
    weight: number,
  ): ScoreStage => ({
    name: 'Fixed',
    weight,
    normalize: how,
    score: (_pod, node) => raw[Number(node.name.slice(1))]!,
  });
  const tables: [string, number[][]][] = [
    ['differing scores', [[0, 5, 10, 7]]],
    ['all alike', [[4, 4, 4, 4]]],
    ['all 0', [[0, 0, 0, 0]]],
    ['negative and alike', [[-3, -3, -3, -3]]],
    ['beyond 0–100', [[-5, 50, 120, 100]]],
    ['fractions', [[1 / 3, 2 / 3, Math.log(7), Math.log(7)]]],
    [
      'several stages',
      [
        [1, 2, 3, 4],
        [9, 9, 9, 9],
        [0, 0, 1, 0],
      ],
    ],
  ];
  const nodes = (): readonly NodeInfo[] =>
    buildSnapshot([makeNode('n0'), makeNode('n1'), makeNode('n2'), makeNode('n3')]).nodes;

  it.each(tables)('%s', (_name, raws) => {
    for (const how of ['max', 'reverse', 'none'] as const) {
      const list = nodes();
      const stages = raws.map((raw, i) => fixed(raw, how, i + 1));
      const want = new Float64Array(list.length);
      for (const stage of stages) {
        const raw = Float64Array.from(list, (n) =>
          stage.score(parsePod(makePod('p')), n, {
            version: 0,
            nodes: list,
            get: () => undefined,
          }),
        );
        normalize(raw, how);
        for (let i = 0; i < raw.length; i++) want[i]! += stage.weight * raw[i]!;
      }
      const snapshot: Snapshot = { version: 0, nodes: list, get: () => undefined };
      const got = scoreNodes(parsePod(makePod('p')), list, stages, snapshot);
      expect([how, [...got]]).toEqual([how, [...want]]);
    }
  });
});
