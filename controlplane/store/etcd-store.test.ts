import { describe, expect, it } from 'vitest';
import { EtcdStore } from './etcd-store.js';
import { StoreError } from './errors.js';
import type { KubeObject } from '../api/objects.js';
import type { StoreEvent } from './types.js';
import { startEtcdCluster } from '../../test/support/etcd.js';
import { useEtcdStore } from '../../test/support/etcd-store.js';

const cm = (name: string, data: Record<string, string> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: 'default' },
  data,
});

async function expectStoreError(p: Promise<unknown>, type: StoreError['type']): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(StoreError);
  expect((err as StoreError).type).toBe(type);
}

describe('EtcdStore against a real etcd', () => {
  const db = useEtcdStore();

  it('versions objects by etcd revision: create, get, update, conflict', async () => {
    const { store } = db;
    const created = await store.create('/t/crud/a', cm('a', { k: '1' }));
    const rv = Number(created.metadata.resourceVersion);
    expect(rv).toBeGreaterThan(0);
    expect((await store.get('/t/crud/a'))?.metadata.resourceVersion).toBe(String(rv));
    await expectStoreError(store.create('/t/crud/a', cm('a')), 'AlreadyExists');

    const updated = await store.update('/t/crud/a', cm('a', { k: '2' }), rv);
    expect(Number(updated.metadata.resourceVersion)).toBeGreaterThan(rv);
    await expectStoreError(store.update('/t/crud/a', cm('a', { k: '3' }), rv), 'Conflict');
    await expectStoreError(store.update('/t/crud/missing', cm('x'), 1), 'NotFound');
    expect((await store.get('/t/crud/a'))?.data).toEqual({ k: '2' });
  });

  it('deletes with uid and resourceVersion preconditions', async () => {
    const { store } = db;
    const obj = await store.create('/t/del/a', { ...cm('a'), metadata: { name: 'a', uid: 'u1' } });
    await expectStoreError(store.delete('/t/del/a', { uid: 'other' }), 'PreconditionFailed');
    await expectStoreError(
      store.delete('/t/del/a', { resourceVersion: '1' }),
      'PreconditionFailed',
    );
    const gone = await store.delete('/t/del/a', {
      uid: 'u1',
      resourceVersion: obj.metadata.resourceVersion!,
    });
    expect(Number(gone.metadata.resourceVersion)).toBeGreaterThan(
      Number(obj.metadata.resourceVersion),
    );
    expect(await store.get('/t/del/a')).toBeUndefined();
    await expectStoreError(store.delete('/t/del/a'), 'NotFound');
  });

  it('lists at one revision with limit/continue pages', async () => {
    const { store } = db;
    for (let i = 0; i < 25; i++)
      await store.create(`/t/list/${String(i).padStart(2, '0')}`, cm(`c${i}`));
    const first = await store.list('/t/list/', { limit: 10 });
    expect(first.items).toHaveLength(10);
    expect(first.remainingItemCount).toBe(15);
    // A write after the first page must not show up in later pages.
    await store.create('/t/list/99', cm('late'));
    const second = await store.list('/t/list/', { limit: 10, continue: first.continue! });
    const third = await store.list('/t/list/', { limit: 10, continue: second.continue! });
    expect(second.revision).toBe(first.revision);
    expect(third.items).toHaveLength(5);
    expect(third.continue).toBeUndefined();
    const names = [...first.items, ...second.items, ...third.items].map((o) => o.metadata.name);
    expect(new Set(names).size).toBe(25);
    expect(names).not.toContain('late');
    expect((await store.list('/t/list/')).items).toHaveLength(26);
    await expectStoreError(store.list('/t/list/', { continue: 'garbage' }), 'InvalidContinue');
  });

  it('filters before limiting, so pages hold only matches', async () => {
    const { store } = db;
    for (let i = 0; i < 30; i++) {
      await store.create(
        `/t/filter/${String(i).padStart(2, '0')}`,
        cm(`f${i}`, { even: String(i % 2 === 0) }),
      );
    }
    const filter = (o: KubeObject): boolean => (o.data as Record<string, string>).even === 'true';
    const page = await store.list('/t/filter/', { limit: 4, filter });
    expect(page.items).toHaveLength(4);
    let all = page.items.length;
    let token = page.continue;
    while (token) {
      const next = await store.list('/t/filter/', { limit: 4, filter, continue: token });
      all += next.items.length;
      token = next.continue;
    }
    expect(all).toBe(15);
  });

  it('guaranteedUpdate: 50 concurrent writers, every change kept', async () => {
    const { store } = db;
    await store.create('/t/counter', cm('counter', { n: '0' }));
    await Promise.all(
      Array.from({ length: 50 }, () =>
        store.guaranteedUpdate('/t/counter', (cur) => {
          const data = cur.data as Record<string, string>;
          return { ...cur, data: { n: String(Number(data.n) + 1) } };
        }),
      ),
    );
    expect((await store.get('/t/counter'))?.data).toEqual({ n: '50' });
  });

  it('50 concurrent updates at one revision: exactly one wins, the rest conflict', async () => {
    const { store } = db;
    const base = await store.create('/t/race', cm('race'));
    const rv = Number(base.metadata.resourceVersion);
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) =>
        store.update('/t/race', cm('race', { i: String(i) }), rv),
      ),
    );
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r) => r.status === 'rejected');
    expect(won).toHaveLength(1);
    for (const r of lost) expect((r.reason as StoreError).type).toBe('Conflict');
  });

  it('a watch from revision R sees every later change, in order, across 10,000 writes', async () => {
    const { store } = db;
    const start = await store.currentRevision();
    const seen: StoreEvent[] = [];
    let failed: Error | undefined;
    const total = 10_000;
    const done = new Promise<void>((resolve) => {
      void store
        .watch('/t/watch/', start, {
          onEvent: (ev) => {
            seen.push(ev);
            if (seen.length === total) resolve();
          },
          onError: (err) => {
            failed = err;
            resolve();
          },
        })
        .then((h) => done.finally(() => h.close()));
    });
    // Creates, updates and deletes in flight together, 64 at a time.
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < total) {
        const i = next++;
        const key = `/t/watch/${i % 500}`;
        if (i < 500) await store.create(key, cm(`w${i}`, { i: String(i) }));
        else if (i >= total - 500) await store.delete(key);
        else await store.guaranteedUpdate(key, (cur) => ({ ...cur, data: { i: String(i) } }));
      }
    };
    await Promise.all(Array.from({ length: 64 }, worker));
    await done;
    expect(failed).toBeUndefined();
    expect(seen).toHaveLength(total);
    // Writes combined into one txn share a revision; per key, revisions only grow.
    const lastOfKey = new Map<string, number>();
    for (let i = 1; i < seen.length; i++)
      expect(seen[i]!.revision).toBeGreaterThanOrEqual(seen[i - 1]!.revision);
    for (const ev of seen) {
      const name = ev.object.metadata.name ?? '';
      expect(ev.revision).toBeGreaterThan(lastOfKey.get(name) ?? 0);
      lastOfKey.set(name, ev.revision);
    }
    expect(seen.filter((e) => e.type === 'ADDED')).toHaveLength(500);
    expect(seen.filter((e) => e.type === 'DELETED')).toHaveLength(500);
    expect(seen[0]!.revision).toBe(start + 1);
  });

  it('a DELETED event carries the last state, and the events after it keep their order', async () => {
    const { store } = db;
    const start = await store.currentRevision();
    const created = await store.create('/t/prev/a', cm('a', { v: '1' }));
    const updated = await store.update(
      '/t/prev/a',
      cm('a', { v: '2' }),
      Number(created.metadata.resourceVersion),
    );
    const gone = await store.delete('/t/prev/a');
    await store.create('/t/prev/b', cm('b'));
    const seen: StoreEvent[] = [];
    let failed: Error | undefined;
    let allSeen = (): void => undefined;
    const done = new Promise<void>((resolve) => (allSeen = resolve));
    const handle = await store.watch('/t/prev/', start, {
      onEvent: (ev) => {
        seen.push(ev);
        if (seen.length === 4) allSeen();
      },
      onError: (err) => {
        failed = err;
        allSeen();
      },
    });
    await done;
    await handle.close();
    expect(failed).toBeUndefined();
    expect(seen.map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual([
      'ADDED a',
      'MODIFIED a',
      'DELETED a',
      'ADDED b',
    ]);
    const deleted = seen[2]!;
    // The last state, versioned by the delete (as kube-apiserver's watch reports it).
    expect(deleted.object.data).toEqual(updated.data);
    expect(deleted.object.metadata.resourceVersion).toBe(gone.metadata.resourceVersion);
    expect(deleted.revision).toBe(Number(gone.metadata.resourceVersion));
    expect(seen.map((e) => e.revision)).toEqual(
      [...seen.map((e) => e.revision)].sort((x, y) => x - y),
    );
  });

  it('a watch from a compacted revision fails with Expired', async () => {
    const { store } = db;
    const old = await store.currentRevision();
    await store.create('/t/compact/a', cm('a'));
    await store.create('/t/compact/b', cm('b'));
    await store.compact(await store.currentRevision());
    const err = await new Promise<Error>((resolve, reject) => {
      store.watch('/t/compact/', old, { onEvent: () => undefined, onError: resolve }).catch(reject);
    });
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).type).toBe('Expired');
  });
});

describe('EtcdStore against a 3-member etcd cluster', () => {
  it('writes through one member and reads and watches through another', async () => {
    const cluster = await startEtcdCluster(3);
    const a = new EtcdStore({ endpoints: [cluster.endpoints[0]!] });
    const b = new EtcdStore({ endpoints: [cluster.endpoints[2]!] });
    try {
      const seen: string[] = [];
      const h = await b.watch('/c/', await b.currentRevision(), {
        onEvent: (ev) => seen.push(ev.object.metadata.name ?? ''),
        onError: () => undefined,
      });
      await a.create('/c/x', cm('x'));
      expect((await b.get('/c/x'))?.metadata.name).toBe('x');
      await expect.poll(() => seen).toEqual(['x']);
      await h.close();
    } finally {
      await a.close();
      await b.close();
      await cluster.stop();
    }
  });
});
