// SentPods decides which pod writes reach the agent: a change to anything
// but status, resourceVersion and managedFields is sent; the agent's own
// status reports (and other bookkeeping) are not echoed.

import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../api/objects.js';
import { SentPods, sameAgentView, sameJson } from './sent-pods.js';

/** A pod as the watch decodes it: a fresh JSON value each time. */
function pod(change: (p: KubeObject) => void = () => undefined): KubeObject {
  const p = JSON.parse(
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'web',
        namespace: 'default',
        uid: 'u1',
        resourceVersion: '10',
        labels: { app: 'web' },
        managedFields: [{ manager: 'kubectl', operation: 'Update' }],
      },
      spec: {
        nodeName: 'n1',
        containers: [{ name: 'c', image: 'busybox', args: ['sleep', '1'] }],
      },
      status: { phase: 'Pending' },
    }),
  ) as KubeObject;
  change(p);
  return p;
}

describe('sameAgentView', () => {
  it.each<[string, (p: KubeObject) => void, boolean]>([
    ['an identical copy', () => undefined, true],
    ['another status', (p) => (p.status = { phase: 'Running' }), true],
    ['another resourceVersion', (p) => (p.metadata.resourceVersion = '11'), true],
    ['other managedFields', (p) => (p.metadata.managedFields = []), true],
    [
      'a field holding undefined (absent in JSON)',
      (p) => (p.metadata.generateName = undefined),
      true,
    ],
    ['a deletionTimestamp', (p) => (p.metadata.deletionTimestamp = '2026-01-01T00:00:00Z'), false],
    ['a label added', (p) => (p.metadata.labels = { app: 'web', x: 'y' }), false],
    ['a label removed', (p) => (p.metadata.labels = {}), false],
    ['a label value', (p) => (p.metadata.labels = { app: 'db' }), false],
    ['an annotation', (p) => (p.metadata.annotations = { a: 'b' }), false],
    [
      'another image',
      (p) => ((p.spec as { containers: { image: string }[] }).containers[0]!.image = 'nginx'),
      false,
    ],
    [
      'an argument dropped',
      (p) => (p.spec as { containers: { args: string[] }[] }).containers[0]!.args.pop(),
      false,
    ],
    ['a null for a value', (p) => ((p.spec as Record<string, unknown>).nodeName = null), false],
    ['the spec gone', (p) => delete p.spec, false],
  ])('%s: same to the agent = %s', (_, change, same) => {
    expect(sameAgentView(pod(), pod(change))).toBe(same);
    expect(sameAgentView(pod(change), pod())).toBe(same);
  });
});

describe('sameJson', () => {
  it.each<[unknown, unknown, boolean]>([
    [1, 1, true],
    [1, '1', false],
    [null, undefined, false],
    [null, {}, false],
    [[], {}, false],
    [{}, [], false],
    [[1, [2]], [1, [2]], true],
    [[1, 2], [2, 1], false],
    [{ a: 1, b: 2 }, { b: 2, a: 1 }, true],
    [{ a: 1 }, { a: 1, b: 2 }, false],
    [{ a: 1, b: undefined }, { a: 1 }, true],
    [{ a: {} }, { a: null }, false],
  ])('%j vs %j: %s', (a, b, same) => {
    expect(sameJson(a, b)).toBe(same);
    expect(sameJson(b, a)).toBe(same);
  });
});

describe('SentPods', () => {
  it('sends a pod once, then only changes the agent acts on, and anything after a delete', () => {
    const sent = new SentPods();
    expect(sent.changed(pod())).toBe(true);
    expect(sent.changed(pod((p) => (p.status = { phase: 'Running' })))).toBe(false);
    expect(sent.changed(pod((p) => (p.metadata.resourceVersion = '12')))).toBe(false);
    const deleting = pod((p) => (p.metadata.deletionTimestamp = '2026-01-01T00:00:00Z'));
    expect(sent.changed(deleting)).toBe(true);
    expect(sent.changed(pod((p) => (p.metadata.deletionTimestamp = '2026-01-01T00:00:00Z')))).toBe(
      false,
    );
    sent.forget('u1');
    expect(sent.size).toBe(0);
    expect(sent.changed(pod())).toBe(true);
  });

  it('takes the listed pods as sent', () => {
    const sent = new SentPods();
    sent.listed([pod(), pod((p) => (p.metadata.uid = 'u2'))]);
    expect(sent.size).toBe(2);
    expect(sent.changed(pod((p) => (p.status = { phase: 'Running' })))).toBe(false);
    expect(sent.changed(pod((p) => (p.metadata.labels = {})))).toBe(true);
    sent.clear();
    expect(sent.size).toBe(0);
  });
});
