// The gateway's local-volume reclaim: which volumes a node is told to remove,
// and that only the volume's own node can release it.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeObject } from '../api/objects.js';
import { findResource } from '../api/resources.js';
import type { ControlMessage } from '../../proto/generated/shoal/agent/v1/ControlMessage.js';
import { startHarness, type Harness } from '../controllers/workload-test-fixture.js';
import { LocalVolumeReclaim, withVolumeDir } from './volumes.js';

const PVS = findResource('', 'v1', 'persistentvolumes')!;

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

const volume = (name: string, node: string, policy = 'Delete'): KubeObject => ({
  apiVersion: 'v1',
  kind: 'PersistentVolume',
  metadata: { name, finalizers: ['shoal.io/local-volume-cleanup'] },
  spec: {
    capacity: { storage: '1Gi' },
    accessModes: ['ReadWriteOnce'],
    persistentVolumeReclaimPolicy: policy,
    local: { path: `/var/lib/${node}/volumes/${name}` },
    nodeAffinity: {
      required: {
        nodeSelectorTerms: [
          { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [node] }] },
        ],
      },
    },
  },
});

describe('LocalVolumeReclaim', () => {
  it('tells a node about its deleted Delete volumes and lets only that node release them', async () => {
    await h.api.create(PVS, undefined, volume('pv-a', 'n1'));
    await h.api.create(PVS, undefined, volume('pv-b', 'n2'));
    await h.api.create(PVS, undefined, volume('pv-keep', 'n1', 'Retain'));
    const reclaim = new LocalVolumeReclaim({ registry: h.api });
    const sent: ControlMessage[] = [];
    const unsubscribe = await reclaim.subscribe('n1', (m) => sent.push(m));
    try {
      expect(sent.at(-1)).toEqual({ local_volumes: { reclaim: [] } });
      for (const name of ['pv-a', 'pv-b', 'pv-keep']) await h.api.delete(PVS, undefined, name);
      await expect
        .poll(() => sent.at(-1)?.local_volumes?.reclaim)
        .toEqual([{ name: 'pv-a', path: '/var/lib/n1/volumes/pv-a' }]);

      // Another node cannot release it; its own node can.
      await reclaim.reclaimed('n2', { name: 'pv-a', error: '' });
      expect((await h.api.get(PVS, undefined, 'pv-a')).metadata.finalizers).toEqual([
        'shoal.io/local-volume-cleanup',
      ]);
      await reclaim.reclaimed('n1', { name: 'pv-a', error: 'rm: permission denied' });
      expect((await h.api.get(PVS, undefined, 'pv-a')).metadata.finalizers).toHaveLength(1);
      await reclaim.reclaimed('n1', { name: 'pv-a', error: '' });
      await expect(h.api.get(PVS, undefined, 'pv-a')).rejects.toThrow(/not found/);
      await expect.poll(() => sent.at(-1)?.local_volumes?.reclaim).toEqual([]);
    } finally {
      unsubscribe();
      await reclaim.stop();
    }
  });

  it('records the volume directory on the Node', () => {
    const node: KubeObject = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' } };
    expect(withVolumeDir(node, '/v').metadata.annotations).toEqual({ 'shoal.io/volume-dir': '/v' });
    expect(withVolumeDir(node, '')).toBe(node);
  });
});
