// Creates in a namespace: open ones are found in the registry's watch-fed
// cache (no etcd read per create); unknown and terminating ones are refused,
// from etcd when the cache does not know. Against a real etcd.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useEtcdStore } from '../../../test/support/etcd-store.js';
import { Registry } from './registry.js';
import { findResource } from '../resources.js';
import { ApiError } from '../status.js';
import type { Store } from '../../store/types.js';

const NAMESPACES = findResource('', 'v1', 'namespaces')!;
const CONFIGMAPS = findResource('', 'v1', 'configmaps')!;

const fixture = useEtcdStore();
let registry: Registry;
let other: Registry;
const namespaceReads: string[] = [];

beforeAll(async () => {
  // The store as the registry sees it, with its reads of namespaces counted.
  const counted = new Proxy(fixture.store, {
    get(target, prop, receiver) {
      if (prop === 'get') {
        return (key: string) => {
          if (key.includes('/namespaces/')) namespaceReads.push(key);
          return target.get(key);
        };
      }
      const value: unknown = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
    },
  }) as Store;
  registry = new Registry(counted);
  await registry.ensureSystemNamespaces();
  await registry.startNamespaceCache();
  // Another control plane on the same etcd: its deletes reach ours through the watch.
  other = new Registry(fixture.store);
});

afterAll(async () => {
  await registry.stopNamespaceCache();
});

const configMap = (name: string): { metadata: { name: string } } => ({ metadata: { name } });

async function refusal(namespace: string, name: string): Promise<ApiError> {
  try {
    await registry.create(CONFIGMAPS, namespace, configMap(name));
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  throw new Error(`the create in ${namespace} was not refused`);
}

describe('namespace lifecycle on create', () => {
  it('reads no namespace from etcd for creates in an open one', async () => {
    await registry.create(NAMESPACES, undefined, { metadata: { name: 'open-ns' } });
    for (let i = 0; i < 50 && namespaceReads.length === 0; i++) {
      try {
        await registry.create(CONFIGMAPS, 'open-ns', configMap(`probe-${i}`));
      } catch {
        // Not in the cache yet: read from etcd, which finds it.
      }
    }
    namespaceReads.length = 0;
    for (let i = 0; i < 20; i++) await registry.create(CONFIGMAPS, 'open-ns', configMap(`c-${i}`));
    expect(namespaceReads).toEqual([]);
  });

  it('refuses a namespace that does not exist', async () => {
    const err = await refusal('nowhere', 'c');
    expect(err.reason).toBe('NotFound');
    expect(err.message).toBe('namespaces "nowhere" not found');
  });

  it('refuses creates at once after this registry deletes the namespace', async () => {
    await registry.create(NAMESPACES, undefined, { metadata: { name: 'closing-here' } });
    await registry.create(CONFIGMAPS, 'closing-here', configMap('before'));
    await registry.delete(NAMESPACES, undefined, 'closing-here');
    const err = await refusal('closing-here', 'after');
    expect(err.reason).toBe('Forbidden');
    expect(err.message).toContain('because it is being terminated');
  });

  it('refuses creates once another control plane’s delete reaches the watch', async () => {
    await other.create(NAMESPACES, undefined, { metadata: { name: 'closing-there' } });
    await registry.create(CONFIGMAPS, 'closing-there', configMap('before'));
    await other.delete(NAMESPACES, undefined, 'closing-there');
    let err: ApiError | undefined;
    for (let i = 0; i < 100 && !err; i++) {
      try {
        await registry.create(CONFIGMAPS, 'closing-there', configMap(`after-${i}`));
        await new Promise((r) => setTimeout(r, 10));
      } catch (e) {
        if (!(e instanceof ApiError)) throw e;
        err = e;
      }
    }
    expect(err?.reason).toBe('Forbidden');
  });
});
