import { describe, expect, it } from 'vitest';
import type { EtcdStore } from './etcd-store.js';
import type { KubeObject } from '../api/objects.js';
import type { StoreEvent, WatchHandle } from './types.js';
import { useEtcdStore } from '../../test/support/etcd-store.js';

const cm = (name: string, i: number): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: 'default' },
  data: { i: String(i) },
});

/** A watcher that records what it sees. */
async function watcher(
  store: EtcdStore,
  prefix: string,
  from: number,
): Promise<{ seen: StoreEvent[]; handle: WatchHandle }> {
  const seen: StoreEvent[] = [];
  const handle = await store.watch(prefix, from, {
    onEvent: (ev) => seen.push(ev),
    onError: (err) => {
      throw err;
    },
  });
  return { seen, handle };
}

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(cond()).toBe(true);
}

describe('watches of one prefix share one etcd watch', () => {
  const db = useEtcdStore();

  it('hands every watcher the same decoded events, replays to late joiners, and serves older starts alone', async () => {
    const { store } = db;
    await store.create('/other/x', cm('x', 0));
    const start = await store.currentRevision();
    const a = await watcher(store, '/sw/', start);
    for (let i = 0; i < 10; i++) await store.create(`/sw/${i}`, cm(`c${i}`, i));
    await until(() => a.seen.length === 10);
    // Joins behind the shared watch, within its buffer: replayed from revision start + 5 on.
    const b = await watcher(store, '/sw/', a.seen[4]!.revision);
    expect(b.seen.map((e) => e.object.metadata.name)).toEqual(['c5', 'c6', 'c7', 'c8', 'c9']);
    // Older than the shared watch's start: a watch of its own, which sees everything after.
    const c = await watcher(store, '/sw/', start - 1);
    for (let i = 10; i < 15; i++) await store.create(`/sw/${i}`, cm(`c${i}`, i));
    await until(() => a.seen.length === 15 && b.seen.length === 10 && c.seen.length >= 15);
    // Shared: the very same objects, decoded once.
    expect(b.seen[9]!.object).toBe(a.seen[14]!.object);
    expect(c.seen.at(-1)!.object).not.toBe(a.seen[14]!.object);
    // One closing leaves the others running.
    await a.handle.close();
    await store.update(`/sw/0`, cm('c0', 100), a.seen[0]!.revision);
    await until(() => b.seen.length === 11);
    expect(a.seen).toHaveLength(15);
    expect(b.seen[10]!.type).toBe('MODIFIED');
    await b.handle.close();
    await c.handle.close();
  });
});
