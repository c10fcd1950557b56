// Watches with a selector, against a real etcd: an object that starts
// matching is ADDED, one that stops is DELETED, changes of others are not
// sent. The store's events carry no previous state, so the registry keeps
// the matching keys, seeded from the list the watch starts after. Each
// event's served JSON (made from etcd's bytes) is checked against its object.

import { describe, expect, it } from 'vitest';
import { useEtcdRegistry } from '../../../test/support/etcd-store.js';
import type { WatchEvent } from './registry.js';
import { findResource } from '../resources.js';
import type { ApiError } from '../status.js';
import type { KubeObject } from '../objects.js';

const CONFIGMAPS = findResource('', 'v1', 'configmaps')!;

const fixture = useEtcdRegistry();

const cm = (name: string, app: string, v = '1'): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, labels: { group: 'watch-test', app } },
  data: { v },
});

/** Collects a watch's events as "TYPE name" until `count` have come. */
async function watchUntil(
  query: { labelSelector: string; resourceVersion?: string },
  count: number,
  act: () => Promise<void>,
): Promise<string[]> {
  const seen: string[] = [];
  let done = (): void => undefined;
  let failed: ApiError | undefined;
  const enough = new Promise<void>((resolve) => (done = resolve));
  const handle = await fixture.registry.watch(CONFIGMAPS, 'default', query, {
    onEvent: (ev: WatchEvent) => {
      // What the HTTP watch sends, made from etcd's bytes, is the object.
      if (ev.json) expect(JSON.parse(Buffer.concat(ev.json()).toString())).toEqual(ev.object);
      seen.push(`${ev.type} ${ev.object.metadata.name}`);
      if (seen.length >= count) done();
    },
    onError: (err) => {
      failed = err;
      done();
    },
  });
  try {
    await act();
    await enough;
  } finally {
    await handle.close();
  }
  expect(failed).toBeUndefined();
  return seen;
}

/** The error a selective watch from `resourceVersion` is told (as kube-apiserver's ERROR event). */
async function watchError(resourceVersion: string): Promise<ApiError> {
  let told: (err: ApiError) => void = () => undefined;
  const error = new Promise<ApiError>((resolve) => (told = resolve));
  const handle = await fixture.registry.watch(
    CONFIGMAPS,
    'default',
    { labelSelector: 'app=x', resourceVersion },
    { onEvent: () => undefined, onError: told },
  );
  try {
    return await error;
  } finally {
    await handle.close();
  }
}

async function update(name: string, app: string, v: string): Promise<void> {
  await fixture.registry.update(CONFIGMAPS, 'default', name, cm(name, app, v));
}

describe('registry watch with a label selector', () => {
  it('from a resourceVersion: tells objects entering and leaving the selection', async () => {
    await fixture.registry.create(CONFIGMAPS, 'default', cm('rv-in', 'x'));
    await fixture.registry.create(CONFIGMAPS, 'default', cm('rv-out', 'y'));
    const rv = String(await fixture.store.currentRevision());
    const events = await watchUntil(
      { labelSelector: 'group=watch-test,app=x', resourceVersion: rv },
      6,
      async () => {
        await update('rv-in', 'x', '2'); // still matches
        await update('rv-out', 'y', '2'); // never matched: not sent
        await update('rv-out', 'x', '3'); // starts matching
        await update('rv-in', 'y', '3'); // stops matching
        await update('rv-in', 'y', '4'); // still out: not sent
        await fixture.registry.delete(CONFIGMAPS, 'default', 'rv-out');
        await fixture.registry.create(CONFIGMAPS, 'default', cm('rv-new', 'x'));
        // Made again, outside the selection, then moved into it.
        await fixture.registry.create(CONFIGMAPS, 'default', cm('rv-out', 'y'));
        await update('rv-out', 'x', '5');
      },
    );
    expect(events).toEqual([
      'MODIFIED rv-in',
      'ADDED rv-out',
      'DELETED rv-in',
      'DELETED rv-out',
      'ADDED rv-new',
      'ADDED rv-out',
    ]);
  });

  it('without a resourceVersion: the matching objects first, then changes', async () => {
    await fixture.registry.create(CONFIGMAPS, 'default', cm('list-in', 'z'));
    await fixture.registry.create(CONFIGMAPS, 'default', cm('list-out', 'w'));
    const events = await watchUntil({ labelSelector: 'group=watch-test,app=z' }, 3, async () => {
      await update('list-out', 'w', '2');
      await update('list-in', 'w', '2');
      await fixture.registry.delete(CONFIGMAPS, 'default', 'list-in');
      await fixture.registry.create(CONFIGMAPS, 'default', cm('list-new', 'z'));
    });
    expect(events).toEqual(['ADDED list-in', 'DELETED list-in', 'ADDED list-new']);
  });

  it('from a resourceVersion whose first change cannot be read before: 410 Expired', async () => {
    await fixture.registry.create(CONFIGMAPS, 'default', cm('prev-gone', 'x'));
    const rv = await fixture.store.currentRevision();
    await update('prev-gone', 'x', '2');
    // The watch can start (its first change is kept), but not tell whether
    // the object matched before it.
    await fixture.store.compact(rv + 1);
    const err = await watchError(String(rv));
    expect(err.reason).toBe('Expired');
    expect(err.message).toBe(`too old resource version: ${rv}`);
  });

  it('from a compacted resourceVersion: 410 Expired', async () => {
    const old = await fixture.store.currentRevision();
    // Two changes after it, both compacted: the first change after `old` is gone.
    await fixture.registry.create(CONFIGMAPS, 'default', cm('compacted', 'x'));
    await fixture.registry.create(CONFIGMAPS, 'default', cm('compacted-2', 'x'));
    await fixture.store.compact(await fixture.store.currentRevision());
    const err = await watchError(String(old));
    expect(err.reason).toBe('Expired');
    expect(err.message).toBe(`too old resource version: ${old}`);
  });
});
