import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../controlplane/api/objects.js';
import type { PodEvent } from '../proto/generated/shoal/agent/v1/PodEvent.js';
import { containerFieldPath, EventQueue, kubeletEvents } from './events.js';

const pod: KubeObject = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web-1', namespace: 'default', uid: 'u1' },
  spec: { initContainers: [{ name: 'setup' }], containers: [{ name: 'web' }] },
};

function queue(
  connected: { value: boolean },
  opts: { maxQueued?: number; now?: () => number } = {},
) {
  const sent: PodEvent[] = [];
  const q = new EventQueue({
    send: (e) => {
      if (!connected.value) return false;
      sent.push(e);
      return true;
    },
    ...opts,
  });
  return { q, sent };
}

describe('EventQueue', () => {
  it('sends at once while connected, with the pod and field path', () => {
    const { q, sent } = queue({ value: true });
    q.emit(pod, { ...kubeletEvents.started('web'), fieldPath: containerFieldPath(pod, 'web') });
    expect(sent).toEqual([
      {
        namespace: 'default',
        name: 'web-1',
        uid: 'u1',
        type: 'Normal',
        reason: 'Started',
        message: 'Started container web',
        field_path: 'spec.containers{web}',
      },
    ]);
  });

  it('queues while disconnected, bounded, and flushes in order after registering', () => {
    const connected = { value: false };
    const { q, sent } = queue(connected, { maxQueued: 2 });
    q.emit(pod, kubeletEvents.created('a'));
    q.emit(pod, kubeletEvents.created('b'));
    q.emit(pod, kubeletEvents.created('c'));
    expect(q.pending).toBe(2);
    q.flush();
    expect(sent).toEqual([]);
    connected.value = true;
    q.flush();
    expect(sent.map((e) => e.message)).toEqual(['Created container b', 'Created container c']);
    expect(q.pending).toBe(0);
  });

  it('sends an identical event once per window', () => {
    let now = 0;
    const { q, sent } = queue({ value: true }, { now: () => now });
    const backoff = kubeletEvents.crashBackOff('web', pod);
    q.emit(pod, backoff);
    now = 5_000;
    q.emit(pod, backoff);
    now = 10_000;
    q.emit(pod, backoff);
    expect(sent).toHaveLength(2);
    expect(sent[0]?.message).toBe(
      'Back-off restarting failed container web in pod web-1_default(u1)',
    );
  });
});

describe('kubelet event texts', () => {
  it.each([
    [kubeletEvents.pulling('busybox'), 'Normal', 'Pulling', 'Pulling image "busybox"'],
    [
      kubeletEvents.pulled('busybox', 1200, 1000),
      'Normal',
      'Pulled',
      'Successfully pulled image "busybox" in 1.2s (1.2s including waiting). Image size: 1000 bytes.',
    ],
    [
      kubeletEvents.alreadyPresent('busybox'),
      'Normal',
      'Pulled',
      'Container image "busybox" already present on machine',
    ],
    [kubeletEvents.error('ImagePullBackOff'), 'Warning', 'Failed', 'Error: ImagePullBackOff'],
    [kubeletEvents.pullBackOff('x'), 'Normal', 'BackOff', 'Back-off pulling image "x"'],
    [kubeletEvents.killing('web'), 'Normal', 'Killing', 'Stopping container web'],
    [
      kubeletEvents.unhealthy('liveness', 'HTTP probe failed with statuscode: 500\n'),
      'Warning',
      'Unhealthy',
      'Liveness probe failed: HTTP probe failed with statuscode: 500',
    ],
  ])('%#: %s', (ev, type, reason, message) => {
    expect(ev).toEqual({ type, reason, message });
  });

  it('names init containers by their own field path', () => {
    expect(containerFieldPath(pod, 'setup')).toBe('spec.initContainers{setup}');
    expect(containerFieldPath(pod, 'web')).toBe('spec.containers{web}');
  });
});
