// One real etcd and an EtcdStore on it (and, with useEtcdRegistry, a Registry)
// for a describe block: started before its tests, closed and removed after
// them, on failure too.

import { afterAll, beforeAll } from 'vitest';
import { EtcdStore } from '../../controlplane/store/etcd-store.js';
import { Registry } from '../../controlplane/api/registry/registry.js';
import { startEtcd, type TestEtcd } from './etcd.js';

export interface EtcdStoreFixture {
  readonly etcd: TestEtcd;
  readonly store: EtcdStore;
}

/** Call inside describe(); read the fields from tests (they are set by beforeAll). */
export function useEtcdStore(): EtcdStoreFixture {
  let etcd: TestEtcd | undefined;
  let store: EtcdStore | undefined;
  beforeAll(async () => {
    etcd = await startEtcd();
    store = new EtcdStore({ endpoints: etcd.endpoints });
  });
  afterAll(async () => {
    await store?.close();
    await etcd?.stop();
  });
  return {
    get etcd() {
      if (!etcd) throw new Error('etcd is not started yet (use it inside a test)');
      return etcd;
    },
    get store() {
      if (!store) throw new Error('the store is not open yet (use it inside a test)');
      return store;
    },
  };
}

export interface EtcdRegistryFixture extends EtcdStoreFixture {
  readonly registry: Registry;
}

/** useEtcdStore with a Registry on the store whose system namespaces exist. */
export function useEtcdRegistry(): EtcdRegistryFixture {
  const fixture = useEtcdStore();
  let registry: Registry | undefined;
  beforeAll(async () => {
    registry = new Registry(fixture.store);
    await registry.ensureSystemNamespaces();
  });
  return {
    get etcd() {
      return fixture.etcd;
    },
    get store() {
      return fixture.store;
    },
    get registry() {
      if (!registry) throw new Error('the registry is not ready yet (use it inside a test)');
      return registry;
    },
  };
}
