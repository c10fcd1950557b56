// Pod CIDR allocation against a real etcd: lowest free /24 first, never the
// same one twice (even from two gateways at once), released with the Node.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEtcd, type TestEtcd } from '../../test/support/etcd.js';
import { EtcdStore } from '../store/etcd-store.js';
import { Registry } from '../api/registry/registry.js';
import { findResource } from '../api/resources.js';
import { PodCidrAllocator } from './pod-cidrs.js';
import { waitFor } from '../../test/support/wait.js';

const NODES = findResource('', 'v1', 'nodes')!;
let etcd: TestEtcd;
let store: EtcdStore;
let registry: Registry;
let a: PodCidrAllocator;
let b: PodCidrAllocator;

beforeAll(async () => {
  etcd = await startEtcd();
  store = new EtcdStore({ endpoints: etcd.endpoints });
  registry = new Registry(store);
  a = new PodCidrAllocator({ registry, clusterCidr: '10.50.0.0/22' });
  b = new PodCidrAllocator({ registry, clusterCidr: '10.50.0.0/22' });
});

afterAll(async () => {
  await a?.stop();
  await b?.stop();
  await store?.close();
  await etcd?.stop();
});

async function makeNode(alloc: PodCidrAllocator, name: string): Promise<string | undefined> {
  const cidr = await alloc.allocate(name);
  await registry.create(NODES, undefined, {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name },
    spec: cidr ? { podCIDR: cidr, podCIDRs: [cidr] } : {},
  });
  return cidr;
}

describe('PodCidrAllocator', () => {
  it('rejects a node size that does not fit the cluster CIDR', () => {
    expect(
      () => new PodCidrAllocator({ registry, clusterCidr: '10.0.0.0/24', nodeMaskSize: 16 }),
    ).toThrow(/does not fit/);
    expect(() => new PodCidrAllocator({ registry, clusterCidr: 'nope' })).toThrow(/--cluster-cidr/);
  });

  it('hands out distinct /24s from two allocators at once, then says the range is full', async () => {
    const got = await Promise.all([
      makeNode(a, 'n1'),
      makeNode(b, 'n2'),
      makeNode(a, 'n3'),
      makeNode(b, 'n4'),
    ]);
    expect(new Set(got).size).toBe(4);
    expect([...got].sort()).toEqual([
      '10.50.0.0/24',
      '10.50.1.0/24',
      '10.50.2.0/24',
      '10.50.3.0/24',
    ]);
    expect(await a.allocate('n5')).toBeUndefined();
  });

  it('gives a CIDR back when its Node is deleted', async () => {
    const n2 = await registry.get(NODES, undefined, 'n2');
    const freed = (n2.spec as { podCIDR: string }).podCIDR;
    await registry.delete(NODES, undefined, 'n2');
    const again = await waitFor(
      'the freed CIDR',
      () => a.allocate('n6'),
      (c) => c !== undefined,
      {
        timeoutMs: 10_000,
      },
    );
    expect(again).toBe(freed);
  });
});
