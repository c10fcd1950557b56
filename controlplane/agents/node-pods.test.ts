// SessionPods and the writes on it, against a real etcd: pod status reports,
// events and termination checks use the copy the session's NodePods
// subscription delivered instead of reading the pod, and a stale copy never
// overwrites a newer pod nor lets a node write another node's pod.

import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Registry } from '../api/registry/registry.js';
import { useHarness } from '../controllers/workload-test-fixture.js';
import { findResource } from '../api/resources.js';
import { ApiError } from '../api/status.js';
import type { KubeObject } from '../api/objects.js';
import type { PodEvent__Output } from '../../proto/generated/shoal/agent/v1/PodEvent.js';
import {
  NodePods,
  SessionPods,
  findBoundPod,
  writeBoundPodStatus,
  type BoundPodLookup,
} from './node-pods.js';
import { PodEventWriter } from './pod-events.js';
import { waitFor } from '../../test/support/wait.js';

const PODS = findResource('', 'v1', 'pods')!;
const EVENTS = findResource('', 'v1', 'events')!;

const h = useHarness();
let registry: Registry;
let podReads: string[] = [];

beforeAll(() => {
  registry = h.api;
});

/** Counts etcd range requests for pods (registry.get and the registry's own rereads). */
function countPodReads(): void {
  vi.restoreAllMocks();
  podReads = [];
  const get = registry.store.get.bind(registry.store);
  vi.spyOn(registry.store, 'get').mockImplementation(async (key: string) => {
    if (key.startsWith('/registry/pods/')) podReads.push(key);
    return get(key);
  });
}

afterEach(() => {
  vi.restoreAllMocks();
});

let seq = 0;
async function createPod(node: string, extra: Record<string, unknown> = {}): Promise<KubeObject> {
  return registry.create(PODS, 'default', {
    metadata: { name: `p${++seq}`, ...extra },
    spec: {
      nodeName: node,
      terminationGracePeriodSeconds: 30,
      containers: [{ name: 'main', image: 'busybox' }],
    },
  });
}

/** Freezes the object and everything in it: the cache's objects are the watch's, never to change. */
function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

function event(pod: KubeObject, reason: string): PodEvent__Output {
  return {
    namespace: pod.metadata.namespace!,
    name: pod.metadata.name!,
    uid: pod.metadata.uid!,
    type: 'Normal',
    reason,
    message: `${reason} main`,
    field_path: 'spec.containers{main}',
  };
}

const status = (message: string): unknown => ({ phase: 'Running', message });

/** A pod bound to n1 (frozen: nothing may mutate the watch's objects) and n1's session holding it. */
async function heldPod(): Promise<{ pod: KubeObject; pods: SessionPods }> {
  const pod = deepFreeze(await createPod('n1'));
  const pods = new SessionPods('n1');
  pods.listed([pod]);
  return { pod, pods };
}

/** n1's agent reports a status for the pod. */
function report(pod: KubeObject, pods: SessionPods, message: string): Promise<BoundPodLookup> {
  const { name, uid } = pod.metadata;
  return writeBoundPodStatus(registry, 'n1', 'default', name!, uid!, status(message), pods);
}

/** Polls until the watch has caught up (test/support/wait.ts), 20 s at most. */
function until(what: string, probe: () => boolean): Promise<boolean> {
  return waitFor(
    what,
    async () => probe(),
    (ok) => ok,
    { timeoutMs: 20_000, intervalMs: 20 },
  );
}

describe('SessionPods with the shared pod watch', () => {
  it('a started pod’s events and status reports read no pod from etcd', async () => {
    const nodePods = new NodePods(registry);
    const pods = new SessionPods('n-watch');
    const writer = new PodEventWriter(registry);
    try {
      const opened = await nodePods.open('n-watch', {
        onEvent: (ev) => pods.observe(ev),
        onError: () => undefined,
      });
      pods.listed(opened.items);
      opened.start();
      const pod = await createPod('n-watch');
      await until('the watch to deliver the pod', () => pods.size === 1);

      // What an agent sends for one started pod: Pulled, Created, Started, two reports.
      const started = async (held: SessionPods | undefined): Promise<void> => {
        for (const reason of ['Pulled', 'Created', 'Started']) {
          await writer.record('n-watch', event(pod, reason), held);
        }
        for (const m of ['ContainerCreating', 'Running']) {
          const done = await writeBoundPodStatus(
            registry,
            'n-watch',
            'default',
            pod.metadata.name!,
            pod.metadata.uid!,
            status(m),
            held,
          );
          expect(done?.pod?.status).toEqual(status(m));
        }
      };
      countPodReads();
      await started(undefined);
      const withoutCache = podReads.length;
      const latest = await registry.get(PODS, 'default', pod.metadata.name!);
      await until('the watch to deliver those writes', () => {
        const held = pods.cached('default', pod.metadata.name!, pod.metadata.uid!);
        return held?.metadata.resourceVersion === latest.metadata.resourceVersion;
      });
      countPodReads();
      await started(pods);
      const withCache = podReads.length;
      // Before: one read per event and per status report.
      expect(withoutCache).toBe(5);
      expect(withCache).toBe(0);

      const events = await registry.list(EVENTS, 'default');
      const reasons = events.items
        .filter((e) => (e.involvedObject as { uid?: string }).uid === pod.metadata.uid)
        .map((e) => e.reason)
        .sort();
      expect(reasons).toEqual(['Created', 'Pulled', 'Started']);
      const stored = await registry.get(PODS, 'default', pod.metadata.name!);
      expect(stored.status).toEqual(status('Running'));

      // A delete drops the pod; later reports are checked against etcd again.
      await registry.delete(PODS, 'default', pod.metadata.name!, { gracePeriodSeconds: 0 });
      await until('the watch to deliver the delete', () => pods.size === 0);
      countPodReads();
      expect(
        await findBoundPod(
          registry,
          'n-watch',
          'default',
          pod.metadata.name!,
          pod.metadata.uid!,
          pods,
        ),
      ).toBeUndefined();
      expect(podReads).toHaveLength(1);
    } finally {
      await nodePods.stop();
    }
  });
});

describe('writeBoundPodStatus on a stale copy', () => {
  it('keeps a label set since the copy: conflict, reread, write once more', async () => {
    const { pod, pods } = await heldPod();
    const name = pod.metadata.name!;
    const labelled = await registry.update(PODS, 'default', name, {
      ...pod,
      metadata: { ...pod.metadata, labels: { set: 'since' } },
    });
    countPodReads();
    const done = await report(pod, pods, 'late');
    const stored = await registry.get(PODS, 'default', name);
    expect(stored.metadata.labels).toEqual({ set: 'since' });
    expect(stored.status).toEqual(status('late'));
    expect(done?.pod?.metadata.resourceVersion).toBe(stored.metadata.resourceVersion);
    expect(Number(stored.metadata.resourceVersion)).toBeGreaterThan(
      Number(labelled.metadata.resourceVersion),
    );
    // The registry's reread (which finds the Conflict) and ours, plus the final get above.
    expect(podReads).toHaveLength(3);
    // The session now holds what it wrote: the next report needs no read.
    expect(pods.cached('default', name, pod.metadata.uid!)?.metadata.resourceVersion).toBe(
      stored.metadata.resourceVersion,
    );
  });

  it('keeps a deletionTimestamp set since the copy', async () => {
    const { pod, pods } = await heldPod();
    const name = pod.metadata.name!;
    // A bound pod is only marked: it waits for its node to confirm.
    await registry.delete(PODS, 'default', name, { gracePeriodSeconds: 30 });
    await report(pod, pods, 'stopping');
    const stored = await registry.get(PODS, 'default', name);
    expect(stored.metadata.deletionTimestamp).toBeDefined();
    expect(stored.status).toEqual(status('stopping'));
  });

  it('writes nothing when the pod was deleted since the copy', async () => {
    const { pod, pods } = await heldPod();
    await registry.delete(PODS, 'default', pod.metadata.name!, { gracePeriodSeconds: 0 });
    const done = await report(pod, pods, 'gone');
    expect(done).toBeUndefined();
    await expect(registry.get(PODS, 'default', pod.metadata.name!)).rejects.toMatchObject({
      reason: 'NotFound',
    });
  });

  it('refuses when the name now holds another node’s pod, leaving it untouched', async () => {
    const { pod, pods } = await heldPod();
    const name = pod.metadata.name!;
    await registry.delete(PODS, 'default', name, { gracePeriodSeconds: 0 });
    const other = await registry.create(PODS, 'default', {
      metadata: { name },
      spec: { nodeName: 'n2', containers: [{ name: 'main', image: 'busybox' }] },
    });
    const done = await report(pod, pods, 'forged');
    expect(done).toEqual({ refused: { boundTo: 'n2' } });
    const stored = await registry.get(PODS, 'default', name);
    expect(stored.metadata.resourceVersion).toBe(other.metadata.resourceVersion);
    expect(stored.status).toEqual(other.status);
  });

  it('gives up after five conflicts in a row, leaving the newer pod as it was', async () => {
    const { pod, pods } = await heldPod();
    const name = pod.metadata.name!;
    await registry.update(PODS, 'default', name, {
      ...pod,
      metadata: { ...pod.metadata, labels: { round: '1' } },
    });
    // Another writer gets in after each of our reads.
    const get = registry.get.bind(registry);
    let round = 1;
    let writing = false;
    vi.spyOn(registry, 'get').mockImplementation(async (r, ns, n) => {
      const read = await get(r, ns, n);
      if (n === name && !writing) {
        round++;
        writing = true;
        try {
          await registry.update(PODS, 'default', name, {
            ...read,
            metadata: { ...read.metadata, labels: { round: String(round) } },
          });
        } finally {
          writing = false;
        }
      }
      return read;
    });
    const err = await report(pod, pods, 'lost').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).reason).toBe('Conflict');
    vi.restoreAllMocks();
    const stored = await registry.get(PODS, 'default', name);
    expect(stored.metadata.labels).toEqual({ round: String(round) });
    expect(stored.status).not.toEqual(status('lost'));
  });
});

describe('SessionPods.cached', () => {
  it('answers only for that namespace, name and uid on its own node', async () => {
    const mine = await createPod('n1');
    const theirs = await createPod('n2');
    const pods = new SessionPods('n1');
    pods.listed([mine, theirs]);
    const { name, uid } = mine.metadata;
    expect(pods.cached('default', name!, uid!)).toBe(mine);
    expect(pods.cached('default', theirs.metadata.name!, uid!)).toBeUndefined();
    expect(pods.cached('other', name!, uid!)).toBeUndefined();
    // Not held for n1 even if handed over: checked against etcd and refused.
    expect(pods.cached('default', theirs.metadata.name!, theirs.metadata.uid!)).toBeUndefined();
    countPodReads();
    const found = await findBoundPod(
      registry,
      'n1',
      'default',
      theirs.metadata.name!,
      theirs.metadata.uid!,
      pods,
    );
    expect(found).toEqual({ refused: { boundTo: 'n2' } });
    expect(podReads).toHaveLength(1);
  });

  it('never goes back to an older revision, and a delete is not undone by a late write', () => {
    const pod = (rv: string): KubeObject => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { namespace: 'default', name: 'x', uid: 'u', resourceVersion: rv },
      spec: { nodeName: 'n1' },
    });
    const pods = new SessionPods('n1');
    pods.listed([pod('10')]);
    pods.wrote(pod('12'));
    pods.observe({ type: 'MODIFIED', object: pod('11') });
    expect(pods.cached('default', 'x', 'u')?.metadata.resourceVersion).toBe('12');
    pods.observe({ type: 'DELETED', object: pod('13') });
    pods.wrote(pod('14'));
    expect(pods.cached('default', 'x', 'u')).toBeUndefined();
  });

  it('lets a quiet pod go; a report on it then reads etcd', async () => {
    let now = 0;
    const pods = new SessionPods('n1', () => now);
    const quiet = await createPod('n1');
    const busy = await createPod('n1');
    pods.listed([quiet]);
    expect(pods.cached('default', quiet.metadata.name!, quiet.metadata.uid!)).toBe(quiet);
    now = 6000;
    // The session's next traffic lets go of what has been quiet for 5 s.
    pods.observe({ type: 'MODIFIED', object: busy });
    expect(pods.cached('default', quiet.metadata.name!, quiet.metadata.uid!)).toBeUndefined();
    expect(pods.cached('default', busy.metadata.name!, busy.metadata.uid!)).toBe(busy);
    expect(pods.size).toBe(1);
    // A status report on it reads the pod from etcd (the watch brings it back later).
    countPodReads();
    const written = await writeBoundPodStatus(
      registry,
      'n1',
      'default',
      quiet.metadata.name!,
      quiet.metadata.uid!,
      status('quiet'),
      pods,
    );
    expect(podReads).toHaveLength(1);
    expect(written?.pod?.metadata.managedFields?.map((m) => m.manager)).toContain('shoal-agent');
  });
});
