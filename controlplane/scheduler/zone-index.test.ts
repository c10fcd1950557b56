// The cache's zone index must always say what walking the snapshot's nodes
// would: a seeded random run of node and pod changes, checked after each.

import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../api/objects.js';
import { buildSnapshot, SchedulerCache } from './cache.js';
import { parsePod } from './pod-info.js';
import { makeNode, makePod } from './scheduler.fixture.js';
import type { Snapshot } from './types.js';
import { TopologySpreadScore } from './stages/topology-spread-score.js';
import { ZONE_LABEL } from './zone-index.js';

/** What the index should hold: zone → owner → pods, over listed nodes only. */
function walked(snapshot: Snapshot): Map<string, Map<string, number>> {
  const zones = new Map<string, Map<string, number>>();
  for (const node of snapshot.nodes) {
    const zone = node.labels[ZONE_LABEL];
    if (zone === undefined) continue;
    const owners = zones.get(zone) ?? new Map<string, number>();
    zones.set(zone, owners);
    for (const [owner, n] of node.ownerCounts) owners.set(owner, (owners.get(owner) ?? 0) + n);
  }
  return zones;
}

function expectIndexMatches(cache: SchedulerCache, owners: string[]): void {
  const want = walked(cache);
  expect(cache.zones.size).toBe(want.size);
  for (const zone of [...want.keys(), 'z-none']) {
    for (const owner of owners) {
      expect(cache.zones.ownerPods(zone, owner)).toBe(want.get(zone)?.get(owner) ?? 0);
    }
  }
}

function seeded(seed: number): () => number {
  let x = seed;
  return () => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return x / 2 ** 32;
  };
}

describe('ZoneIndex', () => {
  it('matches a walk over the nodes through a random run of changes', () => {
    const random = seeded(42);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
    const nodeNames = ['a', 'b', 'c', 'd', 'e'];
    const zones = ['z1', 'z2', 'z3', undefined];
    const owners = ['web', 'db', undefined];
    const podNames = Array.from({ length: 12 }, (_, i) => `p${i}`);
    const cache = new SchedulerCache();
    const node = (name: string): KubeObject => {
      const zone = pick(zones);
      return makeNode(name, zone ? { labels: { [ZONE_LABEL]: zone } } : {});
    };
    const pod = (name: string, nodeName: string, phase = 'Running'): KubeObject => {
      const owner = pick(owners);
      return makePod(name, { nodeName, phase, ...(owner ? { owner } : {}) });
    };
    for (let step = 0; step < 2000; step++) {
      const r = random();
      if (r < 0.2) cache.setNode(node(pick(nodeNames)));
      else if (r < 0.27) cache.removeNode(pick(nodeNames));
      else if (r < 0.6) cache.setPod(pod(pick(podNames), pick(nodeNames)));
      else if (r < 0.68) cache.setPod(pod(pick(podNames), pick(nodeNames), 'Succeeded'));
      else if (r < 0.8) cache.removePod(`default/${pick(podNames)}`);
      else if (r < 0.92) cache.assume(parsePod(pod(pick(podNames), '')), pick(nodeNames));
      else cache.forget(`default/${pick(podNames)}`);
      expectIndexMatches(cache, ['uid-web', 'uid-db']);
    }
  });

  it('gives TopologySpreadScore the scores the walk gives', () => {
    const nodes = Array.from({ length: 12 }, (_, i) =>
      makeNode(`n${i}`, i % 4 === 3 ? {} : { labels: { [ZONE_LABEL]: `z${i % 4}` } }),
    );
    const pods = Array.from({ length: 30 }, (_, i) =>
      makePod(`w${i}`, { nodeName: `n${(i * 5) % 12}`, owner: i % 3 === 0 ? 'db' : 'web' }),
    );
    const snapshot = buildSnapshot(nodes, pods);
    // The same cluster without the index: TopologySpreadScore walks every node.
    const walking: Snapshot = {
      version: snapshot.version,
      nodes: snapshot.nodes,
      get: (name) => snapshot.get(name),
    };
    const stage = new TopologySpreadScore();
    for (const owner of ['web', 'db', 'none']) {
      const indexed = snapshot.nodes.map((n) =>
        stage.score(parsePod(makePod('p', { owner })), n, snapshot),
      );
      const counted = snapshot.nodes.map((n) =>
        stage.score(parsePod(makePod('p', { owner })), n, walking),
      );
      expect(indexed).toEqual(counted);
    }
  });
});
