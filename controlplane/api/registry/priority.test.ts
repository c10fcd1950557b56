// Priority admission through the Registry, against a real etcd: what a pod
// create does with spec.priorityClassName, and the one-default rule.

import { beforeAll, describe, expect, it } from 'vitest';
import { findResource } from '../resources.js';
import { ApiError } from '../status.js';
import type { Registry } from './registry.js';
import { useHarness } from '../../controllers/workload-test-fixture.js';

const PODS = findResource('', 'v1', 'pods')!;
const PCS = findResource('scheduling.k8s.io', 'v1', 'priorityclasses')!;

const h = useHarness();
let registry: Registry;

beforeAll(async () => {
  registry = h.api;
  await registry.ensureSystemPriorityClasses();
  await registry.ensureSystemPriorityClasses();
});

const pod = (name: string, spec: Record<string, unknown> = {}): unknown => ({
  metadata: { name },
  spec: { containers: [{ name: 'c', image: 'busybox' }], ...spec },
});

async function rejection(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

describe('priority admission', () => {
  it('serves the two system classes, created once', async () => {
    const { items } = await registry.list(PCS, undefined);
    expect(items.map((c) => [c.metadata.name, c.value, c.preemptionPolicy])).toEqual([
      ['system-cluster-critical', 2_000_000_000, 'PreemptLowerPriority'],
      ['system-node-critical', 2_000_001_000, 'PreemptLowerPriority'],
    ]);
  });

  it('resolves priorityClassName to spec.priority and preemptionPolicy', async () => {
    await registry.create(PCS, undefined, {
      metadata: { name: 'batch-low' },
      value: -10,
      preemptionPolicy: 'Never',
    });
    const p = await registry.create(PODS, 'default', pod('p1', { priorityClassName: 'batch-low' }));
    expect(p.spec).toMatchObject({
      priority: -10,
      priorityClassName: 'batch-low',
      preemptionPolicy: 'Never',
    });
    const crit = await registry.create(
      PODS,
      'default',
      pod('p2', { priorityClassName: 'system-node-critical' }),
    );
    expect(crit.spec).toMatchObject({ priority: 2_000_001_000 });
  });

  it('gives priority 0 without a class, and the global default once there is one', async () => {
    const before = await registry.create(PODS, 'default', pod('p3'));
    expect(before.spec).toMatchObject({ priority: 0 });
    expect((before.spec as Record<string, unknown>).priorityClassName).toBeUndefined();
    await registry.create(PCS, undefined, {
      metadata: { name: 'normal' },
      value: 100,
      globalDefault: true,
    });
    const after = await registry.create(PODS, 'default', pod('p4'));
    expect(after.spec).toMatchObject({ priority: 100, priorityClassName: 'normal' });
    const second = await rejection(
      registry.create(PCS, undefined, {
        metadata: { name: 'other' },
        value: 5,
        globalDefault: true,
      }),
    );
    expect(second.code).toBe(403);
    expect(second.message).toContain('PriorityClass normal is already marked as default');
  });

  it('refuses an unknown class and a priority that differs from the class', async () => {
    const unknown = await rejection(
      registry.create(PODS, 'default', pod('p5', { priorityClassName: 'nope' })),
    );
    expect(unknown.code).toBe(403);
    expect(unknown.message).toBe(
      'pods "p5" is forbidden: no PriorityClass with name nope was found',
    );
    const wrong = await rejection(
      registry.create(PODS, 'default', pod('p6', { priorityClassName: 'batch-low', priority: 7 })),
    );
    expect(wrong.code).toBe(403);
    expect(wrong.message).toContain('the integer value of priority (7) must not be provided');
  });

  it('answers from the watch-fed cache, and from etcd for a class created a moment ago', async () => {
    await registry.startNamespaceCache();
    try {
      await registry.create(PCS, undefined, { metadata: { name: 'fresh' }, value: 42 });
      const p = await registry.create(PODS, 'default', pod('p7', { priorityClassName: 'fresh' }));
      expect(p.spec).toMatchObject({ priority: 42 });
      const d = await registry.create(PODS, 'default', pod('p8'));
      expect(d.spec).toMatchObject({ priority: 100, priorityClassName: 'normal' });
    } finally {
      await registry.stopNamespaceCache();
    }
  });

  it('keeps value and preemptionPolicy fixed, and system- names reserved', async () => {
    const pc = await registry.get(PCS, undefined, 'batch-low');
    const changed = await rejection(
      registry.update(PCS, undefined, 'batch-low', { ...pc, value: 3 }),
    );
    expect(changed.code).toBe(422);
    expect(changed.message).toContain('value: Forbidden: may not be changed in an update.');
    const reserved = await rejection(
      registry.create(PCS, undefined, { metadata: { name: 'system-mine' }, value: 1 }),
    );
    expect(reserved.code).toBe(422);
  });
});
