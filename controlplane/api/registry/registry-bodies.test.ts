// Who owns a write's body: an in-process caller's object is never changed by
// the registry (it may be an informer's cached copy); a body handed over with
// bodyOwned (the HTTP routes) is used as it is. Against a real etcd.

import { describe, expect, it } from 'vitest';
import { useEtcdRegistry } from '../../../test/support/etcd-store.js';
import { findResource } from '../resources.js';
import type { KubeObject } from '../objects.js';
import { Informer } from '../../controllers/runtime/informer.js';

const PODS = findResource('', 'v1', 'pods')!;
const CONFIGMAPS = findResource('', 'v1', 'configmaps')!;

const fixture = useEtcdRegistry();

const pod = (name: string): KubeObject => ({
  metadata: { name, labels: { app: 'a' } },
  spec: { containers: [{ name: 'c', image: 'busybox' }] },
});

describe('registry write bodies', () => {
  it('a bind on a cached copy without managedFields keeps the stored ones', async () => {
    const created = await fixture.registry.create(PODS, 'default', pod('bind-stripped'), {
      fieldManager: 'replicaset-controller',
    });
    expect(created.metadata.managedFields).toHaveLength(1);
    const { managedFields: _mf, ...metadata } = created.metadata;
    const bound = await fixture.registry.bind(PODS, 'default', 'bind-stripped', 'node-1', {
      ...created,
      metadata,
    });
    expect((bound.spec as { nodeName?: string }).nodeName).toBe('node-1');
    const stored = await fixture.registry.get(PODS, 'default', 'bind-stripped');
    expect(stored.metadata.managedFields).toEqual(created.metadata.managedFields);
  });

  it('an informer keeps managedFields only on the objects its reader writes back whole', async () => {
    const informer = new Informer(fixture.registry, PODS);
    informer.keepManagedFieldsOf((p) => !(p.spec as { nodeName?: string }).nodeName);
    await informer.start();
    try {
      const cached = async (want: (p: KubeObject) => boolean): Promise<KubeObject> => {
        for (let i = 0; i < 100; i++) {
          const p = informer.get('default/informer-kept');
          if (p && want(p)) return p;
          await new Promise((r) => setTimeout(r, 20));
        }
        throw new Error('the informer never saw the change');
      };
      await fixture.registry.create(PODS, 'default', pod('informer-kept'), {
        fieldManager: 'test',
      });
      const unbound = await cached(() => true);
      expect(unbound.metadata.managedFields).toHaveLength(1);
      // Handed to bind as the scheduler does: written on its revision, no reread.
      await fixture.registry.bind(PODS, 'default', 'informer-kept', 'node-1', unbound);
      const bound = await cached((p) => (p.spec as { nodeName?: string }).nodeName === 'node-1');
      expect(bound.metadata.managedFields).toBeUndefined();
      const stored = await fixture.registry.get(PODS, 'default', 'informer-kept');
      expect(stored.metadata.managedFields).toEqual(unbound.metadata.managedFields);
    } finally {
      await informer.stop();
    }
  });

  it('leaves an in-process caller’s create and update bodies as they were', async () => {
    const body = pod('caller-create');
    const before = structuredClone(body);
    const created = await fixture.registry.create(PODS, 'default', body, { fieldManager: 'test' });
    expect(body).toStrictEqual(before);
    expect(created.metadata.uid).toBeDefined();

    const update: KubeObject = {
      metadata: { name: 'caller-create', resourceVersion: created.metadata.resourceVersion },
      status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] },
    };
    const updateBefore = structuredClone(update);
    const written = await fixture.registry.update(PODS, 'default', 'caller-create', update, {
      fieldManager: 'test',
      subresource: 'status',
      current: created,
    });
    expect(update).toStrictEqual(updateBefore);
    expect((written.status as { phase: string }).phase).toBe('Running');
    // What was written is not the caller's status object: changing one leaves the other.
    (update.status as { phase: string }).phase = 'Failed';
    expect((written.status as { phase: string }).phase).toBe('Running');

    const cm: KubeObject = { metadata: { name: 'caller-cm' }, data: { k: 'v' } };
    const cmCreated = await fixture.registry.create(CONFIGMAPS, 'default', cm);
    const cmUpdate: KubeObject = { metadata: { name: 'caller-cm' }, data: { k: 'w' } };
    const cmBefore = structuredClone(cmUpdate);
    const cmWritten = await fixture.registry.update(CONFIGMAPS, 'default', 'caller-cm', cmUpdate);
    expect(cmUpdate).toStrictEqual(cmBefore);
    expect(cmWritten.data).toEqual({ k: 'w' });
    expect(cmWritten.metadata.uid).toBe(cmCreated.metadata.uid);
    (cmUpdate.data as Record<string, string>).k = 'x';
    expect(cmWritten.data).toEqual({ k: 'w' });
  });

  it('does not write an update that changes nothing', async () => {
    const created = await fixture.registry.create(CONFIGMAPS, 'default', {
      metadata: { name: 'noop-cm' },
      data: { k: 'v' },
    });
    const same = await fixture.registry.update(CONFIGMAPS, 'default', 'noop-cm', {
      metadata: { name: 'noop-cm' },
      data: { k: 'v' },
    });
    expect(same.metadata.resourceVersion).toBe(created.metadata.resourceVersion);
    const changed = await fixture.registry.update(CONFIGMAPS, 'default', 'noop-cm', {
      metadata: { name: 'noop-cm' },
      data: { k: 'v2' },
    });
    expect(Number(changed.metadata.resourceVersion)).toBeGreaterThan(
      Number(created.metadata.resourceVersion),
    );
  });

  it('uses a handed-over body instead of copying it', async () => {
    const body = pod('owned-create');
    const created = await fixture.registry.create(PODS, 'default', body, {
      fieldManager: 'test',
      bodyOwned: true,
    });
    // The registry filled in the server's fields on the body itself.
    expect(body.metadata.uid).toBe(created.metadata.uid);
    expect(body.kind).toBe('Pod');
    expect(created.spec).toBe(body.spec);
  });
});
