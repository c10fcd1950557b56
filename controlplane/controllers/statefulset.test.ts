// StatefulSet controller: fixture on a real etcd → one reconcile → the writes it sent.

import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../api/objects.js';
import { findResource } from '../api/resources.js';
import { StatefulSetController, ordinalOf, revisionOf } from './statefulset.js';
import {
  PODS,
  createNamespace,
  newFixture,
  podsIn,
  setPodStatus,
  useHarness,
  type Action,
  type Fixture,
} from './workload-test-fixture.js';

const STS = findResource('apps', 'v1', 'statefulsets')!;
const PVCS = findResource('', 'v1', 'persistentvolumeclaims')!;

const h = useHarness();
let f: Fixture | undefined;
let ctl: StatefulSetController | undefined;

type Rec = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- test-side JSON access

const statefulSet = (name: string, spec: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'StatefulSet',
  metadata: { name },
  spec: {
    replicas: 3,
    serviceName: name,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: {
        containers: [
          {
            name: 'main',
            image: 'busybox:1.36',
            volumeMounts: [{ name: 'data', mountPath: '/d' }],
          },
        ],
      },
    },
    volumeClaimTemplates: [
      {
        metadata: { name: 'data' },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
      },
    ],
    ...spec,
  },
});

async function setup(ns: string, sts: KubeObject): Promise<StatefulSetController> {
  await createNamespace(h.api, ns);
  await h.api.create(STS, ns, sts);
  f = newFixture(h);
  ctl = f.track(new StatefulSetController(f.deps));
  await f.start();
  return ctl;
}

async function step(key: string): Promise<Action[]> {
  await f!.settle(STS, PODS, PVCS);
  f!.registry.take();
  await ctl!.reconcile(key);
  return f!.registry.take();
}

const writes = (actions: Action[]): string[] =>
  actions.filter((a) => !a.subresource).map((a) => `${a.verb} ${a.resource} ${a.name}`);

async function runAndReady(ns: string, name: string): Promise<void> {
  const pod = await h.api.get(PODS, ns, name);
  await setPodStatus(h.api, pod, { phase: 'Running', ready: true, podIP: '10.0.0.1' });
}

describe('StatefulSet controller', () => {
  it('creates pods one at a time in ordinal order, each after its claim, waiting for Ready', async () => {
    const ns = 'sts-ordered';
    await setup(ns, statefulSet('db'));
    expect(writes(await step(`${ns}/db`))).toEqual([
      'create persistentvolumeclaims data-db-0',
      'create pods db-0',
    ]);
    // db-0 is not Running and Ready yet: nothing more.
    expect(writes(await step(`${ns}/db`))).toEqual([]);
    await runAndReady(ns, 'db-0');
    expect(writes(await step(`${ns}/db`))).toEqual([
      'create persistentvolumeclaims data-db-1',
      'create pods db-1',
    ]);

    const [pod0] = await podsIn(h.api, ns);
    const spec = pod0!.spec as Rec;
    expect(spec.hostname).toBe('db-0');
    expect(spec.subdomain).toBe('db');
    expect(spec.volumes).toEqual([
      { name: 'data', persistentVolumeClaim: { claimName: 'data-db-0' } },
    ]);
    expect(pod0!.metadata.labels).toMatchObject({
      app: 'db',
      'statefulset.kubernetes.io/pod-name': 'db-0',
      'apps.kubernetes.io/pod-index': '0',
    });
    expect(pod0!.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'StatefulSet', name: 'db' });
    const claim = await h.api.get(PVCS, ns, 'data-db-0');
    expect(claim.metadata.labels).toEqual({ app: 'db' });
    expect(claim.metadata.ownerReferences).toBeUndefined();
  });

  it('creates every pod at once with Parallel', async () => {
    const ns = 'sts-parallel';
    await setup(ns, statefulSet('web', { podManagementPolicy: 'Parallel' }));
    expect(writes(await step(`${ns}/web`)).filter((w) => w.includes(' pods '))).toEqual([
      'create pods web-0',
      'create pods web-1',
      'create pods web-2',
    ]);
  });

  it('scales down from the highest ordinal and keeps the claims', async () => {
    const ns = 'sts-scale';
    await setup(ns, statefulSet('kv', { replicas: 2, podManagementPolicy: 'Parallel' }));
    await step(`${ns}/kv`);
    await runAndReady(ns, 'kv-0');
    await runAndReady(ns, 'kv-1');
    await step(`${ns}/kv`);
    await h.api.patch(STS, ns, 'kv', 'merge', { spec: { replicas: 1 } });
    expect(writes(await step(`${ns}/kv`))).toEqual(['delete pods kv-1']);
    const claims = (await h.api.list(PVCS, ns)).items.map((c) => c.metadata.name).sort();
    expect(claims).toEqual(['data-kv-0', 'data-kv-1']);
  });

  it('rolls a new template out from the highest ordinal, one pod at a time', async () => {
    const ns = 'sts-roll';
    await setup(ns, statefulSet('app', { replicas: 2, podManagementPolicy: 'Parallel' }));
    await step(`${ns}/app`);
    await runAndReady(ns, 'app-0');
    await runAndReady(ns, 'app-1');
    const actions = await step(`${ns}/app`);
    const status = actions.find((a) => a.subresource === 'status')?.object?.status as Rec;
    expect(status).toMatchObject({
      replicas: 2,
      readyReplicas: 2,
      updatedReplicas: 2,
      currentReplicas: 2,
    });

    const updated = await h.api.patch(STS, ns, 'app', 'merge', {
      spec: { template: { metadata: { labels: { app: 'app', v: '2' } } } },
    });
    expect(writes(await step(`${ns}/app`))).toEqual(['delete pods app-1']);
    expect(revisionOf(updated.object)).not.toBe(status.currentRevision);
  });

  it('reads ordinals only from the set’s own pod names', () => {
    expect(ordinalOf('db', 'db-0')).toBe(0);
    expect(ordinalOf('db', 'db-12')).toBe(12);
    expect(ordinalOf('db', 'db-01')).toBeUndefined();
    expect(ordinalOf('db', 'dbx-1')).toBeUndefined();
    expect(ordinalOf('db', 'db-x')).toBeUndefined();
  });
});
