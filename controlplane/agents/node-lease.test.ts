// NodeHeartbeats against a real etcd: a heartbeat renews the node's Lease with
// one compare-and-swap and leaves the Node alone, unless the Node's Ready
// condition says the agent was thought gone.

import { beforeAll, describe, expect, it } from 'vitest';
import type { Registry } from '../api/registry/registry.js';
import { useHarness } from '../controllers/workload-test-fixture.js';
import { findResource } from '../api/resources.js';
import { isRecord, type KubeObject } from '../api/objects.js';
import { withHeartbeat } from './node-object.js';
import { NODE_LEASE_NAMESPACE, NodeHeartbeats, nodeReadyStatus } from './node-lease.js';

const NODES = findResource('', 'v1', 'nodes')!;
const LEASES = findResource('coordination.k8s.io', 'v1', 'leases')!;

const h = useHarness();
let registry: Registry;

beforeAll(() => {
  registry = h.api;
});

async function until(what: string, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('NodeHeartbeats', () => {
  it('renews the lease on each beat and rewrites Node status only when Ready is not True', async () => {
    let clock = Date.parse('2030-01-01T00:00:00Z');
    const writes: string[] = [];
    const beats = new NodeHeartbeats({
      registry,
      now: () => new Date(clock),
      writeStatus: async (name, now) => {
        writes.push(name);
        const node = await registry.get(NODES, undefined, name);
        await registry.update(NODES, undefined, name, withHeartbeat(node, now), {
          subresource: 'status',
        });
      },
    });
    try {
      const node = await registry.create(NODES, undefined, {
        metadata: { name: 'n1' },
        status: { conditions: [{ type: 'Ready', status: 'True' }] },
      });
      await beats.registered(node);
      const lease1 = await registry.get(LEASES, NODE_LEASE_NAMESPACE, 'n1');
      expect(lease1.spec).toMatchObject({ holderIdentity: 'n1', leaseDurationSeconds: 40 });
      expect(lease1.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'Node', name: 'n1' });

      clock += 10_000;
      await beats.beat('n1');
      const lease2 = await registry.get(LEASES, NODE_LEASE_NAMESPACE, 'n1');
      expect((lease2.spec as { renewTime: string }).renewTime).toBe('2030-01-01T00:00:10.000000Z');
      expect(writes).toEqual([]);

      // The lifecycle controller decided the node was gone: the next beat says otherwise.
      const current = await registry.get(NODES, undefined, 'n1');
      await registry.update(
        NODES,
        undefined,
        'n1',
        { ...current, status: { conditions: [{ type: 'Ready', status: 'Unknown' }] } },
        { subresource: 'status' },
      );
      await until('the beat to rewrite status', async () => {
        clock += 10_000;
        await beats.beat('n1');
        return nodeReadyStatus(await registry.get(NODES, undefined, 'n1')) === 'True';
      });
      expect(writes).toEqual(['n1']);
      const conds = (await registry.get(NODES, undefined, 'n1')).status;
      expect(isRecord(conds)).toBe(true);

      // Someone else rewrote the lease: the CAS fails once, the beat rereads and renews.
      const theirs: KubeObject = await registry.get(LEASES, NODE_LEASE_NAMESPACE, 'n1');
      await registry.update(LEASES, NODE_LEASE_NAMESPACE, 'n1', {
        ...theirs,
        spec: { ...(theirs.spec as object), holderIdentity: 'other' },
      });
      clock += 10_000;
      await beats.beat('n1');
      const lease3 = await registry.get(LEASES, NODE_LEASE_NAMESPACE, 'n1');
      expect(lease3.spec).toMatchObject({ holderIdentity: 'n1', leaseTransitions: 1 });
    } finally {
      await beats.stop();
    }
  });
});
