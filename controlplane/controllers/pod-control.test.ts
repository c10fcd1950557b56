import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../api/objects.js';
import {
  comparePodsForDeletion,
  equalIgnoreHash,
  isPodAvailable,
  podTemplateHash,
  podsToDelete,
  slowStartBatch,
} from './pod-control.js';
import { ControllerExpectations, EXPECTATIONS_TIMEOUT_MS } from './expectations.js';
import { resolveFenceposts } from './deployment.js';

function pod(
  name: string,
  o: { node?: string; phase?: string; ready?: boolean; restarts?: number; created?: string } = {},
): KubeObject {
  return {
    metadata: { name, creationTimestamp: o.created ?? '2030-01-01T00:00:00Z' },
    spec: o.node ? { nodeName: o.node } : {},
    status: {
      phase: o.phase ?? 'Running',
      conditions: [
        {
          type: 'Ready',
          status: o.ready === false ? 'False' : 'True',
          lastTransitionTime: '2030-01-01T00:00:00Z',
        },
      ],
      containerStatuses: [{ restartCount: o.restarts ?? 0 }],
    },
  };
}

describe('comparePodsForDeletion', () => {
  const cases: [string, KubeObject, KubeObject][] = [
    ['unscheduled before scheduled', pod('a'), pod('b', { node: 'n' })],
    [
      'pending before unknown',
      pod('a', { node: 'n', phase: 'Pending' }),
      pod('b', { node: 'n', phase: 'Unknown' }),
    ],
    ['unknown before running', pod('a', { node: 'n', phase: 'Unknown' }), pod('b', { node: 'n' })],
    ['not ready before ready', pod('a', { node: 'n', ready: false }), pod('b', { node: 'n' })],
    [
      'more restarts first',
      pod('a', { node: 'n', restarts: 5 }),
      pod('b', { node: 'n', restarts: 1 }),
    ],
    [
      'newer first',
      pod('a', { node: 'n', created: '2030-01-02T00:00:00Z' }),
      pod('b', { node: 'n' }),
    ],
  ];
  it.each(cases)('%s', (_name, first, second) => {
    expect(comparePodsForDeletion(first, second)).toBeLessThan(0);
    expect(comparePodsForDeletion(second, first)).toBeGreaterThan(0);
  });

  it('podsToDelete picks the lowest-ranked', () => {
    const pods = [
      pod('ready', { node: 'n' }),
      pod('unready', { node: 'n', ready: false }),
      pod('unbound'),
    ];
    expect(podsToDelete(pods, pods, 2).map((p) => p.metadata.name)).toEqual(['unbound', 'unready']);
  });
});

describe('podTemplateHash and equalIgnoreHash', () => {
  const t = {
    metadata: { labels: { app: 'web' } },
    spec: { containers: [{ name: 'a', image: 'x:1' }] },
  };
  it('is stable, safe-encoded, and changes with the template or collision count', () => {
    const h = podTemplateHash(t);
    expect(h).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]{1,10}$/);
    expect(podTemplateHash(structuredClone(t))).toBe(h);
    expect(podTemplateHash({ ...t, spec: { containers: [{ name: 'a', image: 'x:2' }] } })).not.toBe(
      h,
    );
    expect(podTemplateHash(t, 1)).not.toBe(h);
  });
  it('ignores the hash label and what a Go round trip adds', () => {
    const withHash = structuredClone(t) as { metadata: Record<string, unknown> };
    withHash.metadata = {
      labels: { app: 'web', 'pod-template-hash': 'abc' },
      creationTimestamp: null,
    };
    expect(equalIgnoreHash(t, withHash)).toBe(true);
    expect(equalIgnoreHash(t, { ...t, spec: { containers: [{ name: 'a', image: 'x:2' }] } })).toBe(
      false,
    );
  });
});

describe('availability', () => {
  it('needs minReadySeconds since the Ready transition', () => {
    const p = pod('a');
    expect(isPodAvailable(p, 0, new Date('2030-01-01T00:00:00Z'))).toBe(true);
    expect(isPodAvailable(p, 10, new Date('2030-01-01T00:00:05Z'))).toBe(false);
    expect(isPodAvailable(p, 10, new Date('2030-01-01T00:00:11Z'))).toBe(true);
  });
});

describe('resolveFenceposts', () => {
  it.each([
    ['25%', '25%', 10, 3, 2],
    [1, 0, 4, 1, 0],
    [0, 0, 4, 0, 1],
    ['0%', '0%', 3, 0, 1],
    ['50%', '50%', 3, 2, 1],
  ])('surge %s unavailable %s of %i → %i, %i', (s, u, n, surge, unavailable) => {
    expect(resolveFenceposts(s, u, n)).toEqual({ surge, unavailable });
  });
});

describe('slowStartBatch', () => {
  it('runs 1, 2, 4, … and stops after a failing batch', async () => {
    let calls = 0;
    const r = await slowStartBatch(10, 1, () => {
      calls++;
      return calls === 3 ? Promise.reject(new Error('boom')) : Promise.resolve();
    });
    expect(calls).toBe(3);
    expect(r.successes).toBe(2);
  });
});

describe('ControllerExpectations', () => {
  it('waits for every create and each awaited delete once, and expires', () => {
    let now = 0;
    const e = new ControllerExpectations(() => now);
    e.expectCreations('k', 2);
    e.creationObserved('k');
    expect(e.satisfied('k')).toBe(false);
    e.creationObserved('k');
    expect(e.satisfied('k')).toBe(true);
    e.expectDeletions('k', ['ns/a']);
    e.deletionObserved('k', 'ns/b');
    expect(e.satisfied('k')).toBe(false);
    e.deletionObserved('k', 'ns/a');
    e.deletionObserved('k', 'ns/a');
    expect(e.pending('k')).toEqual({ adds: 0, dels: 0 });
    e.expectCreations('k', 1);
    now = EXPECTATIONS_TIMEOUT_MS + 1;
    expect(e.satisfied('k')).toBe(true);
  });
});
