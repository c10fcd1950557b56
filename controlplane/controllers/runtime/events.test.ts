import { describe, expect, it } from 'vitest';
import { findResource } from '../../api/resources.js';
import type { KubeObject } from '../../api/objects.js';
import { useEtcdRegistry } from '../../../test/support/etcd-store.js';
import { EventRecorder } from './events.js';

const EVENTS = findResource('', 'v1', 'events')!;

const rs = (name: string): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'ReplicaSet',
  metadata: { name, namespace: 'default', uid: `uid-${name}` },
});

describe('EventRecorder spam filter', () => {
  const fixture = useEtcdRegistry();

  it('writes 25 events per source and object, then drops, as client-go does', async () => {
    const registry = fixture.registry;
    const recorder = new EventRecorder(registry, 'controller-manager');
    for (let i = 0; i < 30; i++) {
      await recorder.record(rs('web'), 'Normal', 'SuccessfulCreate', `Created pod: web-${i}`);
    }
    // Another object has its own bucket; so does another source about the same object.
    await recorder.record(rs('api'), 'Normal', 'SuccessfulCreate', 'Created pod: api-0');
    await recorder.record(rs('web'), 'Warning', 'BackOff', 'from a node', { host: 'node-1' });
    const events = (await registry.list(EVENTS, 'default')).items;
    const about = (name: string): KubeObject[] =>
      events.filter((e) => (e.involvedObject as { name?: string }).name === name);
    expect(about('web').filter((e) => e.reason === 'SuccessfulCreate')).toHaveLength(25);
    expect(about('web').filter((e) => e.reason === 'BackOff')).toHaveLength(1);
    expect(about('api')).toHaveLength(1);
  }, 30_000);
});
