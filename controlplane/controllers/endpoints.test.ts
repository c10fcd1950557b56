// Endpoints controller: Services and pods on a real etcd → one reconcile →
// the Endpoints it wrote.

import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../api/objects.js';
import { EndpointsController, MANAGED_BY_LABEL, MANAGED_BY_VALUE } from './endpoints.js';
import {
  ENDPOINTS,
  PODS,
  SERVICES,
  createNamespace,
  newFixture,
  setPodStatus,
  useHarness,
  type Action,
  type Fixture,
} from './workload-test-fixture.js';

const h = useHarness();
let f: Fixture | undefined;
let ctl: EndpointsController | undefined;

const service = (name: string, selector: Record<string, string> | undefined): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, labels: { team: 'a' } },
  spec: {
    ...(selector ? { selector } : {}),
    ports: [
      { name: 'http', port: 80, targetPort: 'http' },
      { name: 'metrics', port: 9090, targetPort: 9090 },
    ],
  },
});

const pod = (
  name: string,
  httpPort: number,
  labels: Record<string, string> = { app: 'web' },
): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels },
  spec: {
    containers: [
      { name: 'main', image: 'busybox:1.36', ports: [{ name: 'http', containerPort: httpPort }] },
    ],
  },
});

async function start(): Promise<EndpointsController> {
  f = newFixture(h);
  ctl = f.track(new EndpointsController(f.deps));
  await f.start();
  return ctl;
}

async function step(c: EndpointsController, key: string): Promise<Action[]> {
  await f!.settle(SERVICES, ENDPOINTS, PODS);
  f!.registry.take();
  await c.reconcile(key);
  return f!.registry.take();
}

const ref = (p: KubeObject): Record<string, unknown> => ({
  kind: 'Pod',
  namespace: p.metadata.namespace,
  name: p.metadata.name,
  uid: p.metadata.uid,
});

describe('Endpoints controller', () => {
  it('lists ready and not-ready pods, resolves named ports per pod, and writes only on change', async () => {
    const ns = 'ep-basic';
    await createNamespace(h.api, ns);
    await h.api.create(SERVICES, ns, service('web', { app: 'web' }));
    const ready = await h.api.create(PODS, ns, pod('ready', 8080));
    const unready = await h.api.create(PODS, ns, pod('unready', 8080));
    const other = await h.api.create(PODS, ns, pod('otherport', 8081));
    const noIP = await h.api.create(PODS, ns, pod('noip', 8080));
    const done = await h.api.create(PODS, ns, pod('done', 8080));
    const terminating = await h.api.create(PODS, ns, pod('terminating', 8080));
    const foreign = await h.api.create(PODS, ns, pod('foreign', 8080, { app: 'db' }));
    await setPodStatus(h.api, ready, { phase: 'Running', ready: true, podIP: '10.2.0.1' });
    await setPodStatus(h.api, unready, { phase: 'Running', ready: false, podIP: '10.2.0.2' });
    await setPodStatus(h.api, other, { phase: 'Running', ready: true, podIP: '10.2.0.3' });
    await setPodStatus(h.api, noIP, { phase: 'Pending', ready: false });
    await setPodStatus(h.api, done, { phase: 'Succeeded', podIP: '10.2.0.5' });
    await setPodStatus(h.api, foreign, { phase: 'Running', ready: true, podIP: '10.2.0.7' });
    await h.api.bind(PODS, ns, 'terminating', 'node-1');
    await setPodStatus(h.api, terminating, { phase: 'Running', ready: true, podIP: '10.2.0.6' });
    await h.api.delete(PODS, ns, 'terminating');

    const c = await start();
    const actions = await step(c, `${ns}/web`);
    expect(actions.map((a) => `${a.verb} ${a.resource} ${a.name}`)).toEqual([
      'create endpoints web',
    ]);
    const ep = actions[0]!.object!;
    expect(ep.metadata.labels).toEqual({ team: 'a', [MANAGED_BY_LABEL]: MANAGED_BY_VALUE });
    expect(ep.subsets).toEqual([
      {
        addresses: [{ ip: '10.2.0.1', targetRef: ref(ready) }],
        notReadyAddresses: [{ ip: '10.2.0.2', targetRef: ref(unready) }],
        ports: [
          { port: 8080, protocol: 'TCP', name: 'http' },
          { port: 9090, protocol: 'TCP', name: 'metrics' },
        ],
      },
      {
        addresses: [{ ip: '10.2.0.3', targetRef: ref(other) }],
        ports: [
          { port: 8081, protocol: 'TCP', name: 'http' },
          { port: 9090, protocol: 'TCP', name: 'metrics' },
        ],
      },
    ]);

    // Nothing changed: nothing written.
    expect(await step(c, `${ns}/web`)).toEqual([]);

    // A pod turning ready moves to addresses.
    await setPodStatus(h.api, unready, { ready: true });
    const moved = await step(c, `${ns}/web`);
    expect(moved.map((a) => `${a.verb} ${a.resource}`)).toEqual(['update endpoints']);
    expect(moved[0]!.object!.subsets).toEqual([
      {
        addresses: [
          { ip: '10.2.0.1', targetRef: ref(ready) },
          { ip: '10.2.0.2', targetRef: ref(unready) },
        ],
        ports: [
          { port: 8080, protocol: 'TCP', name: 'http' },
          { port: 9090, protocol: 'TCP', name: 'metrics' },
        ],
      },
      expect.objectContaining({ addresses: [{ ip: '10.2.0.3', targetRef: ref(other) }] }),
    ]);
  });

  it('deletes its Endpoints when the Service loses its selector or is deleted, and leaves user-managed ones alone', async () => {
    const ns = 'ep-lifecycle';
    await createNamespace(h.api, ns);
    await h.api.create(SERVICES, ns, service('web', { app: 'web' }));
    await h.api.create(SERVICES, ns, service('gone', { app: 'web' }));
    await h.api.create(SERVICES, ns, service('external', undefined));
    const manual = {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: 'external' },
      subsets: [{ addresses: [{ ip: '192.0.2.10' }], ports: [{ name: 'http', port: 80 }] }],
    };
    await h.api.create(ENDPOINTS, ns, manual);
    const p = await h.api.create(PODS, ns, pod('p', 8080));
    await setPodStatus(h.api, p, { phase: 'Running', ready: true, podIP: '10.3.0.1' });
    const c = await start();

    expect((await step(c, `${ns}/web`)).map((a) => a.verb)).toEqual(['create']);
    expect((await step(c, `${ns}/gone`)).map((a) => a.verb)).toEqual(['create']);
    // A Service without a selector: its Endpoints belong to the user.
    expect(await step(c, `${ns}/external`)).toEqual([]);

    const web = await h.api.get(SERVICES, ns, 'web');
    const { selector: _dropped, ...spec } = web.spec as Record<string, unknown>;
    await h.api.update(SERVICES, ns, 'web', { ...web, spec });
    expect((await step(c, `${ns}/web`)).map((a) => `${a.verb} ${a.resource} ${a.name}`)).toEqual([
      'delete endpoints web',
    ]);

    await h.api.delete(SERVICES, ns, 'gone');
    expect((await step(c, `${ns}/gone`)).map((a) => `${a.verb} ${a.resource} ${a.name}`)).toEqual([
      'delete endpoints gone',
    ]);

    const left = await h.api.list(ENDPOINTS, ns);
    expect(left.items.map((e) => e.metadata.name)).toEqual(['external']);
    expect(left.items[0]!.subsets).toEqual(manual.subsets);
  });

  it('keeps Endpoints current from informer events when its workers run', async () => {
    const ns = 'ep-running';
    await createNamespace(h.api, ns);
    const c = await start();
    await c.start();
    await h.api.create(SERVICES, ns, service('web', { app: 'web' }));
    const p = await h.api.create(PODS, ns, pod('p', 8080));
    await setPodStatus(h.api, p, { phase: 'Running', ready: true, podIP: '10.4.0.1' });
    await expect
      .poll(
        async () =>
          JSON.stringify((await h.api.get(ENDPOINTS, ns, 'web').catch(() => undefined))?.subsets),
        {
          timeout: 30_000,
          interval: 50,
        },
      )
      .toContain('10.4.0.1');
    await h.api.delete(SERVICES, ns, 'web');
    await expect
      .poll(async () => (await h.api.list(ENDPOINTS, ns)).items.length, {
        timeout: 30_000,
        interval: 50,
      })
      .toBe(0);
  });
});
