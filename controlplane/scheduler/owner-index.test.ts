// The cache's per-controller arrays (owner-index.ts) must always say what
// each node's ownerCounts says, whichever controllers were asked about, in
// what order, and however often one was dropped and rebuilt: a seeded random
// run of node and pod changes with more controllers than the index keeps,
// checked after each, plus the index's own rules in a table.

import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../api/objects.js';
import { SchedulerCache } from './cache.js';
import { parsePod } from './pod-info.js';
import { makeNode, makePod } from './scheduler.fixture.js';
import { OwnerIndex } from './owner-index.js';
import { TopologySpreadScore } from './stages/topology-spread-score.js';
import { ZONE_LABEL } from './zone-index.js';
import { seeded } from './scheduler.fixture.js';
import type { NodeInfo } from './types.js';

describe('the cache keeps each controller’s pods per node slot', () => {
  it('equal to the nodes’ ownerCounts through a random run of changes', () => {
    const random = seeded(7);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
    const nodeNames = Array.from({ length: 9 }, (_, i) => `n${i}`);
    // More controllers than the index keeps arrays for, so some are dropped and rebuilt.
    const owners = Array.from({ length: 90 }, (_, i) => `rs${i}`);
    const podNames = Array.from({ length: 300 }, (_, i) => `p${i}`);
    const cache = new SchedulerCache();
    const node = (name: string): KubeObject =>
      makeNode(name, random() < 0.8 ? { labels: { [ZONE_LABEL]: pick(['z1', 'z2']) } } : {});
    const pod = (name: string, nodeName: string, phase = 'Running'): KubeObject =>
      makePod(name, { nodeName, phase, ...(random() < 0.9 ? { owner: pick(owners) } : {}) });
    const stage = new TopologySpreadScore();
    for (let step = 0; step < 3000; step++) {
      const r = random();
      if (r < 0.1) cache.setNode(node(pick(nodeNames)));
      else if (r < 0.16) cache.removeNode(pick(nodeNames));
      else if (r < 0.55) cache.setPod(pod(pick(podNames), pick(nodeNames)));
      else if (r < 0.6) cache.setPod(pod(pick(podNames), pick(nodeNames), 'Succeeded'));
      else if (r < 0.75) cache.removePod(`default/${pick(podNames)}`);
      else if (r < 0.9) cache.assume(parsePod(pod(pick(podNames), '')), pick(nodeNames));
      else cache.forget(`default/${pick(podNames)}`);

      const slots = cache.nodes.map((n) => n.slot);
      expect(new Set(slots).size).toBe(slots.length);
      for (const owner of [`uid-${pick(owners)}`, `uid-${pick(owners)}`]) {
        const bySlot = cache.ownerPodsBySlot(owner);
        const want = (n: NodeInfo) => n.ownerCounts.get(owner) ?? 0;
        expect(cache.nodes.map((n) => bySlot[n.slot])).toEqual(cache.nodes.map(want));
      }
      if (step % 50 === 0 && cache.nodes.length > 0) {
        // scoreAll reads the arrays, score the maps: the same numbers.
        const p = parsePod(makePod('new', { owner: pick(owners) }));
        const out = new Float64Array(cache.nodes.length);
        stage.scoreAll(p, cache.nodes, cache, out);
        expect([...out]).toEqual(cache.nodes.map((n) => stage.score(p, n, cache)));
      }
    }
  });
});

describe('OwnerIndex', () => {
  const node = (slot: number, counts: Record<string, number>): NodeInfo =>
    ({ slot, ownerCounts: new Map(Object.entries(counts)) }) as unknown as NodeInfo;

  type Step =
    | ['ask', string, number, number[]]
    | ['delta', string, number, number, number]
    | ['size', number];
  const nodes = [node(0, { a: 1 }), node(1, { a: 2, b: 1 }), node(2, { c: 4 })];
  const table: [string, Step[]][] = [
    ['built from the nodes when first asked', [['ask', 'a', 3, [1, 2, 0]]]],
    [
      'nothing kept before the first ask',
      [
        ['delta', 'a', 0, 5, 3],
        ['size', 0],
        ['ask', 'a', 3, [1, 2, 0]],
      ],
    ],
    [
      'kept current by deltas once asked',
      [
        ['ask', 'b', 3, [0, 1, 0]],
        ['delta', 'b', 2, 1, 3],
        ['delta', 'b', 1, -1, 3],
        ['ask', 'b', 3, [0, 0, 1]],
      ],
    ],
    [
      'grown for new slots, which hold no pods',
      [
        ['ask', 'a', 3, [1, 2, 0]],
        ['ask', 'a', 5, [1, 2, 0, 0, 0]],
        ['delta', 'a', 7, 1, 8],
        ['ask', 'a', 8, [1, 2, 0, 0, 0, 0, 0, 1]],
      ],
    ],
    [
      'the least recently asked dropped beyond capacity (2), rebuilt when asked again',
      [
        ['ask', 'a', 3, [1, 2, 0]],
        ['ask', 'b', 3, [0, 1, 0]],
        ['ask', 'a', 3, [1, 2, 0]],
        ['ask', 'c', 3, [0, 0, 4]],
        ['size', 2],
        ['delta', 'b', 0, 1, 3], // b was dropped: this delta is for nothing
        ['delta', 'a', 0, 1, 3], // a was kept
        ['ask', 'a', 3, [2, 2, 0]],
        ['ask', 'b', 3, [0, 1, 0]], // rebuilt from the (unchanged) nodes
      ],
    ],
  ];

  it.each(table)('%s', (_name, steps) => {
    const index = new OwnerIndex(2);
    for (const step of steps) {
      if (step[0] === 'ask') {
        const [, owner, slots, want] = step;
        expect([...index.podsBySlot(owner, nodes, slots)].slice(0, want.length)).toEqual(want);
      } else if (step[0] === 'delta') {
        const [, owner, slot, delta, slots] = step;
        index.delta(owner, slot, delta, slots);
      } else {
        expect(index.size).toBe(step[1]);
      }
    }
  });
});
