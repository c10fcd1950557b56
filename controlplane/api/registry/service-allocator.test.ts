// Service clusterIP and nodePort allocation through the Registry, against a
// real etcd: defaults, requested values, 422s naming the field, release on
// delete and on type change, immutability, and two "replicas" racing.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEtcd, type TestEtcd } from '../../../test/support/etcd.js';
import { EtcdStore } from '../../store/etcd-store.js';
import { Registry } from './registry.js';
import { findResource } from '../resources.js';
import { ApiError } from '../status.js';
import { isRecord, type KubeObject } from '../objects.js';
import { RANGES_PREFIX } from './range-claims.js';
import { clusterDnsAddress } from './service-allocator.js';

const SERVICES = findResource('', 'v1', 'services')!;
const CIDR = '10.100.0.0/24';

let etcd: TestEtcd;
let store: EtcdStore;
let registry: Registry;
let replica2: Registry;

beforeAll(async () => {
  etcd = await startEtcd();
  store = new EtcdStore({ endpoints: etcd.endpoints });
  registry = new Registry(store, undefined, { serviceCidr: CIDR });
  replica2 = new Registry(store, undefined, { serviceCidr: CIDR });
  await registry.ensureSystemNamespaces();
});

afterAll(async () => {
  await store?.close();
  await etcd?.stop();
});

function svc(name: string, spec: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name },
    spec: { selector: { app: name }, ports: [{ port: 80 }], ...spec },
  };
}

function specOf(o: KubeObject): Record<string, unknown> {
  return isRecord(o.spec) ? o.spec : {};
}

async function claims(range: string): Promise<string[]> {
  return (await store.list(`${RANGES_PREFIX}${range}/`)).items.map((o) => String(o.value)).sort();
}

async function invalidField(
  p: Promise<unknown>,
): Promise<{ field: string | undefined; message: string }> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApiError);
  const e = err as ApiError;
  expect(e.reason).toBe('Invalid');
  return { field: e.details?.causes?.[0]?.field, message: e.message };
}

describe('clusterIP', () => {
  it('allocates one from the service CIDR, never the DNS address, and records a claim', async () => {
    const s = await registry.create(SERVICES, 'default', svc('a'));
    const ip = String(specOf(s).clusterIP);
    expect(ip).toMatch(/^10\.100\.0\.\d+$/);
    expect(ip).not.toBe(clusterDnsAddress(CIDR));
    expect(specOf(s).clusterIPs).toEqual([ip]);
    expect(await claims('serviceips')).toContain(ip);
  });

  it('honours a requested address and refuses it twice', async () => {
    const s = await registry.create(SERVICES, 'default', svc('b', { clusterIP: '10.100.0.50' }));
    expect(specOf(s).clusterIP).toBe('10.100.0.50');
    const e = await invalidField(
      registry.create(SERVICES, 'default', svc('c', { clusterIP: '10.100.0.50' })),
    );
    expect(e).toEqual({
      field: 'spec.clusterIP',
      message: expect.stringContaining('already allocated'),
    });
  });

  it.each([
    ['out of range', '10.101.0.5', 'not in the valid range'],
    ['the network address', '10.100.0.0', 'not in the valid range'],
    ['the cluster DNS address', '10.100.0.10', 'already allocated'],
  ])('refuses %s with 422 on spec.clusterIP', async (_what, ip, msg) => {
    const e = await invalidField(registry.create(SERVICES, 'default', svc('d', { clusterIP: ip })));
    expect(e.field).toBe('spec.clusterIP');
    expect(e.message).toContain(msg);
    await expect(registry.get(SERVICES, 'default', 'd')).rejects.toThrow(/not found/);
  });

  it('gives a headless Service no address', async () => {
    const s = await registry.create(SERVICES, 'default', svc('headless', { clusterIP: 'None' }));
    expect(specOf(s).clusterIP).toBe('None');
  });

  it('keeps the address over a PUT that leaves it out, and refuses a change (immutable)', async () => {
    const s = await registry.get(SERVICES, 'default', 'b');
    const put = structuredClone(s);
    delete specOf(put).clusterIP;
    delete specOf(put).clusterIPs;
    const after = await registry.update(SERVICES, 'default', 'b', put);
    expect(specOf(after).clusterIP).toBe('10.100.0.50');
    const changed = structuredClone(after);
    specOf(changed).clusterIP = '10.100.0.51';
    specOf(changed).clusterIPs = ['10.100.0.51'];
    const e = await invalidField(registry.update(SERVICES, 'default', 'b', changed));
    expect(e).toEqual({ field: 'spec.clusterIP', message: expect.stringContaining('immutable') });
  });

  it('releases the address when the Service is deleted, so it can be requested again', async () => {
    await registry.delete(SERVICES, 'default', 'b');
    expect(await claims('serviceips')).not.toContain('10.100.0.50');
    const again = await registry.create(
      SERVICES,
      'default',
      svc('b2', { clusterIP: '10.100.0.50' }),
    );
    expect(specOf(again).clusterIP).toBe('10.100.0.50');
  });

  it('never hands one address to two replicas creating at once', async () => {
    // The requested race first: a random pick below could otherwise take .99.
    const both = await Promise.allSettled([
      registry.create(SERVICES, 'default', svc('r1', { clusterIP: '10.100.0.99' })),
      replica2.create(SERVICES, 'default', svc('r2', { clusterIP: '10.100.0.99' })),
    ]);
    expect(both.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const made = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        (i % 2 ? registry : replica2).create(SERVICES, 'default', svc(`race-${i}`)),
      ),
    );
    const ips = made.map((s) => specOf(s).clusterIP);
    expect(new Set(ips).size).toBe(20);
  });
});

describe('nodePort', () => {
  it('allocates one in 30000–32767 for a NodePort Service and honours a requested one', async () => {
    const s = await registry.create(
      SERVICES,
      'default',
      svc('np', {
        type: 'NodePort',
        ports: [
          { name: 'a', port: 80 },
          { name: 'b', port: 81, nodePort: 30100 },
        ],
      }),
    );
    const ports = (specOf(s).ports as { nodePort: number }[]).map((p) => p.nodePort);
    expect(ports[0]).toBeGreaterThanOrEqual(30000);
    expect(ports[0]).toBeLessThanOrEqual(32767);
    expect(ports[1]).toBe(30100);
    expect(await claims('servicenodeports')).toEqual(expect.arrayContaining(ports.map(String)));
  });

  it('refuses a node port already allocated, with 422 on the port field', async () => {
    const e = await invalidField(
      registry.create(
        SERVICES,
        'default',
        svc('np2', { type: 'NodePort', ports: [{ port: 80, nodePort: 30100 }] }),
      ),
    );
    expect(e).toEqual({
      field: 'spec.ports[0].nodePort',
      message: expect.stringContaining('already allocated'),
    });
  });

  it('releases node ports when the Service becomes ClusterIP, and when it is deleted', async () => {
    const s = await registry.get(SERVICES, 'default', 'np');
    const held = (specOf(s).ports as { nodePort: number }[]).map((p) => String(p.nodePort));
    const next = structuredClone(s);
    specOf(next).type = 'ClusterIP';
    for (const p of specOf(next).ports as Record<string, unknown>[]) delete p.nodePort;
    const after = await registry.update(SERVICES, 'default', 'np', next);
    expect(
      (specOf(after).ports as Record<string, unknown>[]).every((p) => p.nodePort === undefined),
    ).toBe(true);
    for (const p of held) expect(await claims('servicenodeports')).not.toContain(p);

    const back = structuredClone(after);
    specOf(back).type = 'NodePort';
    const np = await registry.update(SERVICES, 'default', 'np', back);
    const again = (specOf(np).ports as { nodePort: number }[]).map((p) => String(p.nodePort));
    await registry.delete(SERVICES, 'default', 'np');
    for (const p of again) expect(await claims('servicenodeports')).not.toContain(p);
  });
});
