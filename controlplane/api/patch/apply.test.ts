import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../objects.js';
import { applyConflictError, serverSideApply, updateManagedFields } from './apply.js';
import type { ApplyConflict } from './apply.js';

const T0 = '2025-01-01T00:00:00Z';
const T1 = '2025-01-01T00:01:00Z';
const T2 = '2025-01-01T00:02:00Z';

function config(
  over: {
    replicas?: number;
    image?: string;
    labels?: Record<string, string>;
    env?: { name: string; value: string }[];
  } = {},
): KubeObject {
  const container: Record<string, unknown> = {
    name: 'web',
    image: over.image ?? 'nginx:1',
    ports: [{ containerPort: 80 }],
  };
  if (over.env) container['env'] = over.env;
  const spec: Record<string, unknown> = {
    selector: { matchLabels: { app: 'web' } },
    template: { metadata: { labels: { app: 'web' } }, spec: { containers: [container] } },
  };
  if (over.replicas !== undefined) spec['replicas'] = over.replicas;
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default', labels: over.labels ?? { app: 'web' } },
    spec,
  };
}

function apply(
  live: KubeObject | undefined,
  applied: KubeObject,
  manager = 'kubectl',
  force = false,
  now = T0,
) {
  return serverSideApply({
    live,
    applied,
    manager,
    force,
    kind: 'Deployment',
    apiVersion: 'apps/v1',
    now,
  });
}

function applied(result: ReturnType<typeof apply>): KubeObject {
  if (!('object' in result))
    throw new Error(`unexpected conflicts: ${JSON.stringify(result.conflicts)}`);
  return result.object;
}

function conflicts(result: ReturnType<typeof apply>): ApplyConflict[] {
  if (!('conflicts' in result)) throw new Error('expected conflicts');
  return result.conflicts;
}

const entry = (o: KubeObject, manager: string, operation = 'Apply') =>
  o.metadata.managedFields?.find((m) => m.manager === manager && m.operation === operation);

/** A server-side write: what the registry stores after a PUT or patch by `manager`. */
function update(
  old: KubeObject | undefined,
  next: KubeObject,
  manager: string,
  now: string,
  subresource?: string,
): KubeObject {
  const args = {
    old,
    updated: next,
    manager,
    operation: 'Update' as const,
    apiVersion: 'apps/v1',
    now,
  };
  return updateManagedFields(subresource ? { ...args, subresource } : args);
}

function withReplicas(o: KubeObject, replicas: number): KubeObject {
  const copy = structuredClone(o);
  (copy['spec'] as Record<string, unknown>)['replicas'] = replicas;
  return copy;
}

describe('serverSideApply', () => {
  it('first apply creates the object and records the applier owning exactly what it set', () => {
    const out = applied(apply(undefined, config({ replicas: 3 })));
    const { managedFields, ...meta } = out.metadata;
    expect({ ...out, metadata: meta }).toEqual(config({ replicas: 3 }));
    expect(managedFields).toEqual([
      {
        manager: 'kubectl',
        operation: 'Apply',
        apiVersion: 'apps/v1',
        time: T0,
        fieldsType: 'FieldsV1',
        fieldsV1: {
          'f:metadata': { 'f:labels': { 'f:app': {} } },
          'f:spec': {
            'f:replicas': {},
            'f:selector': {},
            'f:template': {
              'f:metadata': { 'f:labels': { 'f:app': {} } },
              'f:spec': {
                'f:containers': {
                  'k:{"name":"web"}': {
                    '.': {},
                    'f:image': {},
                    'f:name': {},
                    'f:ports': {
                      'k:{"containerPort":80,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {} },
                    },
                  },
                },
              },
            },
          },
        },
      },
    ]);
  });

  it('re-applying the same configuration later changes nothing, not even the time', () => {
    const live = applied(apply(undefined, config({ replicas: 3 })));
    const again = applied(apply(live, config({ replicas: 3 }), 'kubectl', false, T1));
    expect(again).toEqual(live);
  });

  it('a changed value updates the object and the time', () => {
    const live = applied(apply(undefined, config({ replicas: 3 })));
    const out = applied(
      apply(live, config({ replicas: 3, image: 'nginx:2' }), 'kubectl', false, T1),
    );
    expect(out).toMatchObject({
      spec: { template: { spec: { containers: [{ name: 'web', image: 'nginx:2' }] } } },
    });
    expect(entry(out, 'kubectl')?.time).toBe(T1);
  });

  it('removing a field from the applied configuration removes it from the object', () => {
    const live = applied(
      apply(
        undefined,
        config({
          replicas: 3,
          labels: { app: 'web', tier: 'front' },
          env: [{ name: 'A', value: '1' }],
        }),
      ),
    );
    const out = applied(apply(live, config({ labels: { app: 'web' } }), 'kubectl', false, T1));
    expect(out.metadata.labels).toEqual({ app: 'web' });
    expect(out['spec']).not.toHaveProperty('replicas');
    expect(
      (out['spec'] as { template: { spec: { containers: Record<string, unknown>[] } } }).template
        .spec.containers[0],
    ).not.toHaveProperty('env');
    const fields = JSON.stringify(entry(out, 'kubectl')?.fieldsV1);
    expect(fields).not.toContain('f:replicas');
    expect(fields).not.toContain('f:tier');
  });

  it('a removed field another manager also owns stays', () => {
    const live = applied(apply(undefined, config({ labels: { app: 'web', tier: 'front' } })));
    const shared = applied(
      apply(
        live,
        {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: { name: 'web', labels: { tier: 'front' } },
        },
        'other',
      ),
    );
    const out = applied(apply(shared, config({ labels: { app: 'web' } }), 'kubectl', false, T1));
    expect(out.metadata.labels).toEqual({ app: 'web', tier: 'front' });
  });

  it('two appliers setting different values conflict; the same value is shared', () => {
    const live = applied(apply(undefined, config({ replicas: 3 }), 'alice'));
    const bob = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web' },
      spec: { replicas: 5 },
    };
    expect(conflicts(apply(live, bob, 'bob'))).toEqual([
      { manager: 'alice', field: '.spec.replicas', operation: 'Apply', apiVersion: 'apps/v1' },
    ]);

    const same = applied(apply(live, { ...bob, spec: { replicas: 3 } }, 'bob'));
    expect(JSON.stringify(entry(same, 'alice')?.fieldsV1)).toContain('f:replicas');
    expect(JSON.stringify(entry(same, 'bob')?.fieldsV1)).toContain('f:replicas');
  });

  it('conflicts name keyed list items the way Kubernetes prints them', () => {
    const live = applied(apply(undefined, config({ replicas: 3 }), 'alice'));
    const out = conflicts(apply(live, config({ replicas: 3, image: 'nginx:9' }), 'bob'));
    expect(out.map((c) => c.field)).toEqual(['.spec.template.spec.containers[name="web"].image']);
  });

  it('force takes ownership; a manager left with nothing is dropped', () => {
    const live = applied(
      apply(
        undefined,
        {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: { name: 'web' },
          spec: { replicas: 3 },
        },
        'alice',
      ),
    );
    const bob = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web' },
      spec: { replicas: 5 },
    };
    const out = applied(apply(live, bob, 'bob', true, T1));
    expect(out['spec']).toEqual({ replicas: 5 });
    expect(out.metadata.managedFields?.map((m) => m.manager)).toEqual(['bob']);
  });

  it('force moves only the conflicting fields', () => {
    const live = applied(apply(undefined, config({ replicas: 3 }), 'alice'));
    const out = applied(
      apply(
        live,
        {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: { name: 'web' },
          spec: { replicas: 5 },
        },
        'bob',
        true,
        T1,
      ),
    );
    const alice = JSON.stringify(entry(out, 'alice')?.fieldsV1);
    expect(alice).not.toContain('f:replicas');
    expect(alice).toContain('f:image');
  });

  it('an Update after apply (kubectl scale) makes the next apply conflict on spec.replicas', () => {
    const live = applied(apply(undefined, config({ replicas: 3 })));
    const scaled = update(live, withReplicas(live, 5), 'kubectl', T1, 'scale');
    expect(entry(scaled, 'kubectl', 'Update')).toMatchObject({
      subresource: 'scale',
      fieldsV1: { 'f:spec': { 'f:replicas': {} } },
    });
    expect(JSON.stringify(entry(scaled, 'kubectl', 'Apply')?.fieldsV1)).not.toContain('f:replicas');

    const result = apply(scaled, config({ replicas: 3 }), 'kubectl', false, T2);
    const c = conflicts(result);
    expect(c).toEqual([
      {
        manager: 'kubectl',
        field: '.spec.replicas',
        operation: 'Update',
        apiVersion: 'apps/v1',
        subresource: 'scale',
      },
    ]);
    expect(applyConflictError(c).message).toBe(
      'Apply failed with 1 conflict: conflict with "kubectl" with subresource "scale" using apps/v1: .spec.replicas',
    );

    // Applying without replicas does not conflict and leaves the scaled value.
    const out = applied(apply(scaled, config(), 'kubectl', false, T2));
    expect((out['spec'] as { replicas: number }).replicas).toBe(5);
  });

  it('an object made by client-side apply conflicts with a server-side apply that changes it', () => {
    const created = update(undefined, config({ replicas: 1 }), 'kubectl-client-side-apply', T0);
    const c = conflicts(apply(created, config({ replicas: 2 }), 'kubectl', false, T1));
    expect(applyConflictError(c).message).toBe(
      'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas',
    );
    const err = applyConflictError(c);
    expect(err.code).toBe(409);
    expect(err.details?.causes).toEqual([
      {
        reason: 'FieldManagerConflict',
        message: 'conflict with "kubectl-client-side-apply" using apps/v1',
        field: '.spec.replicas',
      },
    ]);
  });

  it('an object without managedFields is owned by before-first-apply', () => {
    const live = { ...config({ replicas: 1 }), metadata: { ...config().metadata, uid: 'u1' } };
    const c = conflicts(apply(live, config({ replicas: 2 })));
    expect(c.map((x) => [x.manager, x.field])).toEqual([['before-first-apply', '.spec.replicas']]);
  });

  it('ignores status on the main resource', () => {
    const out = applied(apply(undefined, { ...config(), status: { replicas: 9 } }));
    expect(out).not.toHaveProperty('status');
    expect(JSON.stringify(entry(out, 'kubectl')?.fieldsV1)).not.toContain('f:status');
  });

  it('rejects an applied object carrying managedFields', () => {
    const bad = config();
    bad.metadata.managedFields = [{ manager: 'x' }];
    expect(() => apply(undefined, bad)).toThrow(/managedFields must be nil/);
  });

  it('rejects a keyed list item without its key', () => {
    const bad = config();
    (
      bad['spec'] as { template: { spec: { containers: Record<string, unknown>[] } } }
    ).template.spec.containers = [{ image: 'x' }];
    expect(() => apply(undefined, bad)).toThrow(/omits key field "name"/);
  });

  it('reports several conflicts grouped by manager', () => {
    const err = applyConflictError([
      { manager: 'b', field: '.spec.replicas', operation: 'Apply' },
      { manager: 'a', field: '.spec.x', operation: 'Update', apiVersion: 'v1' },
      { manager: 'a', field: '.spec.y', operation: 'Update', apiVersion: 'v1' },
    ]);
    expect(err.message).toBe(
      'Apply failed with 3 conflicts: conflicts with "a" using v1:\n- .spec.x\n- .spec.y\nconflicts with "b":\n- .spec.replicas',
    );
  });
});

describe('updateManagedFields', () => {
  it('on create owns every field set, maps with a "." marker', () => {
    const out = update(undefined, config({ replicas: 1 }), 'kubectl-create', T0);
    expect(out.metadata.managedFields).toHaveLength(1);
    expect(entry(out, 'kubectl-create', 'Update')).toMatchObject({
      apiVersion: 'apps/v1',
      time: T0,
      fieldsType: 'FieldsV1',
      fieldsV1: {
        'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } },
        'f:spec': { 'f:replicas': {}, 'f:selector': {} },
      },
    });
  });

  it('an update that changes nothing keeps the entry and its time', () => {
    const created = update(undefined, config({ replicas: 1 }), 'kubectl-create', T0);
    expect(update(created, structuredClone(created), 'kubectl-create', T1)).toEqual(created);
  });

  it('a field removed by an update leaves its owner', () => {
    const live = applied(apply(undefined, config({ replicas: 3 })));
    const next = structuredClone(live);
    delete (next['spec'] as Record<string, unknown>)['replicas'];
    const out = update(live, next, 'editor', T1);
    expect(JSON.stringify(entry(out, 'kubectl')?.fieldsV1)).not.toContain('f:replicas');
    expect(entry(out, 'editor', 'Update')).toBeUndefined();
  });

  it('status writes through the status subresource are owned there', () => {
    const live = applied(apply(undefined, config({ replicas: 3 })));
    const next = {
      ...structuredClone(live),
      status: { conditions: [{ type: 'Available', status: 'True' }] },
    };
    const out = update(live, next, 'shoal-controller', T1, 'status');
    expect(entry(out, 'shoal-controller', 'Update')).toMatchObject({
      subresource: 'status',
      fieldsV1: {
        'f:status': {
          'f:conditions': { 'k:{"type":"Available"}': { '.': {}, 'f:status': {}, 'f:type': {} } },
        },
      },
    });
  });

  it('one empty managedFields entry from the client clears them all', () => {
    const live = applied(apply(undefined, config({ replicas: 3 })));
    const next = structuredClone(live);
    next.metadata.managedFields = [{}];
    expect(update(live, next, 'x', T1).metadata).not.toHaveProperty('managedFields');
  });
});
