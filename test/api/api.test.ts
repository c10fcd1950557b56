// The API server's Kubernetes semantics, through fastify inject() against a
// control plane on a real etcd.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { loadOrCreateTokens } from '../../controlplane/pki/tokens.js';
import { startTestControlplane, type TestControlplane } from '../support/controlplane.js';
import { BAD_MANIFESTS } from '../../controlplane/api/validation/bad-manifests.fixture.js';
import { RESOURCES } from '../../controlplane/api/resources.js';

let cp: TestControlplane;
let token: string;

type Body = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- test-side JSON access

async function call(
  method: InjectOptions['method'],
  url: string,
  payload?: unknown,
  contentType = 'application/json',
): Promise<{ status: number; body: Body; raw: LightMyRequestResponse }> {
  const res = await cp.app.inject({
    method,
    url,
    headers: {
      authorization: `Bearer ${token}`,
      ...(payload !== undefined ? { 'content-type': contentType } : {}),
    },
    ...(payload !== undefined
      ? { payload: typeof payload === 'string' ? payload : JSON.stringify(payload) }
      : {}),
  });
  let body: Body = {};
  try {
    body = res.json();
  } catch {
    body = { text: res.body };
  }
  return { status: res.statusCode, body, raw: res };
}

const deployment = (name: string, replicas = 2, image = 'busybox:1.36'): Body => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, labels: { app: name } },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: { containers: [{ name: 'main', image, env: [{ name: 'A', value: '1' }] }] },
    },
  },
});

const pod = (name: string, extra: Body = {}): Body => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels: { app: 'p' } },
  spec: { containers: [{ name: 'c', image: 'busybox' }], ...extra },
});

beforeAll(async () => {
  cp = await startTestControlplane();
  token = (await loadOrCreateTokens(cp.dataDir)).adminToken;
});
afterAll(async () => {
  await cp?.stop();
});

describe('authentication', () => {
  it('answers 401 without a valid bearer token, but /version and /healthz are public', async () => {
    const res = await cp.app.inject({ method: 'GET', url: '/api/v1/namespaces' });
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({ kind: 'Status', reason: 'Unauthorized', code: 401 });
    const bad = await cp.app.inject({
      method: 'GET',
      url: '/api/v1/namespaces',
      headers: { authorization: 'Bearer nope' },
    });
    expect(bad.statusCode).toBe(401);
    expect((await cp.app.inject({ method: 'GET', url: '/version' })).statusCode).toBe(200);
    expect((await cp.app.inject({ method: 'GET', url: '/healthz' })).body).toBe('ok');
  });
});

describe('objects', () => {
  it('has the system namespaces', async () => {
    const { body } = await call('GET', '/api/v1/namespaces');
    const names = (body.items as Body[]).map((n) => n.metadata.name);
    expect(names).toEqual(expect.arrayContaining(['default', 'kube-system', 'kube-public']));
    expect(body.kind).toBe('NamespaceList');
  });

  it('creates, reads, updates with optimistic concurrency, and deletes', async () => {
    const created = await call('POST', '/api/v1/namespaces/default/configmaps', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'cfg' },
      data: { a: '1' },
    });
    expect(created.status).toBe(201);
    const meta = created.body.metadata;
    expect(meta.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(meta.creationTimestamp).toMatch(/Z$/);
    expect(meta.namespace).toBe('default');
    expect(Number(meta.resourceVersion)).toBeGreaterThan(0);

    const again = await call('POST', '/api/v1/namespaces/default/configmaps', created.body);
    expect(again.status).toBe(409);
    expect(again.body.reason).toBe('AlreadyExists');

    const got = await call('GET', '/api/v1/namespaces/default/configmaps/cfg');
    expect(got.body.data).toEqual({ a: '1' });

    const upd = await call('PUT', '/api/v1/namespaces/default/configmaps/cfg', {
      ...got.body,
      data: { a: '2' },
    });
    expect(upd.status).toBe(200);
    expect(upd.body.metadata.uid).toBe(meta.uid);
    const stale = await call('PUT', '/api/v1/namespaces/default/configmaps/cfg', {
      ...got.body,
      data: { a: '3' },
    });
    expect(stale.status).toBe(409);
    expect(stale.body.reason).toBe('Conflict');

    const del = await call('DELETE', '/api/v1/namespaces/default/configmaps/cfg');
    expect(del.status).toBe(200);
    expect((await call('GET', '/api/v1/namespaces/default/configmaps/cfg')).status).toBe(404);
  });

  it('generates names, refuses unknown namespaces and mismatched kinds', async () => {
    const res = await call('POST', '/api/v1/namespaces/default/configmaps', {
      metadata: { generateName: 'gen-' },
    });
    expect(res.status).toBe(201);
    expect(res.body.metadata.name).toMatch(/^gen-[a-z0-9]{5}$/);
    const missing = await call('POST', '/api/v1/namespaces/nowhere/configmaps', {
      metadata: { name: 'x' },
    });
    expect(missing.status).toBe(404);
    expect(missing.body.message).toBe('namespaces "nowhere" not found');
    const wrongKind = await call('POST', '/api/v1/namespaces/default/configmaps', {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'x' },
    });
    expect(wrongKind.status).toBe(400);
  });

  it('defaults, tracks generation on spec changes only, and splits status', async () => {
    const res = await call(
      'POST',
      '/apis/apps/v1/namespaces/default/deployments',
      deployment('gen'),
    );
    expect(res.status).toBe(201);
    const d = res.body;
    expect(d.metadata.generation).toBe(1);
    expect(d.spec.strategy).toEqual({
      type: 'RollingUpdate',
      rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' },
    });
    expect(d.spec.template.spec.containers[0].imagePullPolicy).toBe('IfNotPresent');
    expect(d.spec.revisionHistoryLimit).toBe(10);

    const labelled = await call(
      'PATCH',
      '/apis/apps/v1/namespaces/default/deployments/gen',
      { metadata: { labels: { extra: 'yes' } } },
      'application/merge-patch+json',
    );
    expect(labelled.body.metadata.generation).toBe(1);
    const scaled = await call(
      'PATCH',
      '/apis/apps/v1/namespaces/default/deployments/gen',
      { spec: { replicas: 5 }, status: { replicas: 99 } },
      'application/merge-patch+json',
    );
    expect(scaled.body.metadata.generation).toBe(2);
    expect(scaled.body.status?.replicas).toBeUndefined();

    const status = await call(
      'PATCH',
      '/apis/apps/v1/namespaces/default/deployments/gen/status',
      { spec: { replicas: 1 }, status: { replicas: 5, observedGeneration: 2 } },
      'application/merge-patch+json',
    );
    expect(status.status).toBe(200);
    expect(status.body.status.replicas).toBe(5);
    expect(status.body.spec.replicas).toBe(5);
    expect(status.body.metadata.generation).toBe(2);
  });

  it('serves the scale subresource', async () => {
    await call('POST', '/apis/apps/v1/namespaces/default/deployments', deployment('scaled', 3));
    const scale = await call('GET', '/apis/apps/v1/namespaces/default/deployments/scaled/scale');
    expect(scale.body).toMatchObject({
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      spec: { replicas: 3 },
      status: { selector: 'app=scaled' },
    });
    const put = await call('PUT', '/apis/apps/v1/namespaces/default/deployments/scaled/scale', {
      ...scale.body,
      spec: { replicas: 7 },
    });
    expect(put.body.spec.replicas).toBe(7);
    const patched = await call(
      'PATCH',
      '/apis/apps/v1/namespaces/default/deployments/scaled/scale',
      { spec: { replicas: 1 } },
      'application/merge-patch+json',
    );
    expect(patched.body.spec.replicas).toBe(1);
    const d = await call('GET', '/apis/apps/v1/namespaces/default/deployments/scaled');
    expect(d.body.spec.replicas).toBe(1);
    const neg = await call('PUT', '/apis/apps/v1/namespaces/default/deployments/scaled/scale', {
      spec: { replicas: -1 },
    });
    expect(neg.status).toBe(422);
  });

  it('keeps selectors immutable', async () => {
    await call('POST', '/apis/apps/v1/namespaces/default/deployments', deployment('imm'));
    const res = await call(
      'PATCH',
      '/apis/apps/v1/namespaces/default/deployments/imm',
      {
        spec: {
          selector: { matchLabels: { app: 'other' } },
          template: { metadata: { labels: { app: 'other' } } },
        },
      },
      'application/merge-patch+json',
    );
    expect(res.status).toBe(422);
    expect(res.body.details.causes.map((c: Body) => c.field)).toContain('spec.selector');
  });
});

describe('patches', () => {
  it('applies JSON patch, merge patch and strategic merge patch', async () => {
    await call('POST', '/apis/apps/v1/namespaces/default/deployments', deployment('pt'));
    const json = await call(
      'PATCH',
      '/apis/apps/v1/namespaces/default/deployments/pt',
      [{ op: 'replace', path: '/spec/replicas', value: 4 }],
      'application/json-patch+json',
    );
    expect(json.body.spec.replicas).toBe(4);
    const badOp = await call(
      'PATCH',
      '/apis/apps/v1/namespaces/default/deployments/pt',
      [{ op: 'test', path: '/spec/replicas', value: 1 }],
      'application/json-patch+json',
    );
    expect(badOp.status).toBeGreaterThanOrEqual(400);
    expect(badOp.status).toBeLessThan(500);

    const smp = await call(
      'PATCH',
      '/apis/apps/v1/namespaces/default/deployments/pt',
      {
        spec: {
          template: {
            spec: {
              containers: [
                { name: 'main', image: 'busybox:1.37', env: [{ name: 'B', value: '2' }] },
              ],
            },
          },
        },
      },
      'application/strategic-merge-patch+json',
    );
    expect(smp.status).toBe(200);
    const c = smp.body.spec.template.spec.containers;
    expect(c).toHaveLength(1);
    expect(c[0].image).toBe('busybox:1.37');
    expect(c[0].env).toHaveLength(2);
    expect(c[0].env).toEqual(
      expect.arrayContaining([
        { name: 'A', value: '1' },
        { name: 'B', value: '2' },
      ]),
    );
    expect(smp.body.metadata.generation).toBe(3);

    const unsupported = await call(
      'PATCH',
      '/apis/apps/v1/namespaces/default/deployments/pt',
      '{}',
      'text/plain',
    );
    expect(unsupported.status).toBe(415);
  });

  it('server-side apply: creates, is idempotent, detects conflicts, and forces', async () => {
    const url = '/apis/apps/v1/namespaces/default/deployments/ssa?fieldManager=alice';
    const manifest = JSON.stringify(deployment('ssa', 2));
    const first = await call('PATCH', url, manifest, 'application/apply-patch+yaml');
    expect(first.status).toBe(201);
    expect(first.body.metadata.managedFields[0]).toMatchObject({
      manager: 'alice',
      operation: 'Apply',
    });
    const second = await call('PATCH', url, manifest, 'application/apply-patch+yaml');
    expect(second.status).toBe(200);
    expect(second.body.metadata.resourceVersion).toBe(first.body.metadata.resourceVersion);

    const bob = await call(
      'PATCH',
      '/apis/apps/v1/namespaces/default/deployments/ssa?fieldManager=bob',
      JSON.stringify({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'ssa' },
        spec: { replicas: 5 },
      }),
      'application/apply-patch+yaml',
    );
    expect(bob.status).toBe(409);
    expect(bob.body.message).toMatch(/conflict with "alice"/);
    expect(bob.body.message).toMatch(/\.spec\.replicas/);
    const forced = await call(
      'PATCH',
      '/apis/apps/v1/namespaces/default/deployments/ssa?fieldManager=bob&force=true',
      JSON.stringify({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'ssa' },
        spec: { replicas: 5 },
      }),
      'application/apply-patch+yaml',
    );
    expect(forced.status).toBe(200);
    expect(forced.body.spec.replicas).toBe(5);

    const noManager = await call(
      'PATCH',
      '/apis/apps/v1/namespaces/default/deployments/ssa',
      manifest,
      'application/apply-patch+yaml',
    );
    // An apply must name its field manager.
    expect(noManager.status).toBe(400);
    expect(noManager.body.message).toMatch(/fieldManager: Required value/);
  });
});

describe('pods', () => {
  it('binds a pod once and deletes bound pods gracefully', async () => {
    await call('POST', '/api/v1/namespaces/default/pods', pod('p1'));
    const bind = await call('POST', '/api/v1/namespaces/default/pods/p1/binding', {
      apiVersion: 'v1',
      kind: 'Binding',
      metadata: { name: 'p1' },
      target: { kind: 'Node', name: 'node-a' },
    });
    expect(bind.status).toBe(201);
    const rebind = await call('POST', '/api/v1/namespaces/default/pods/p1/binding', {
      metadata: { name: 'p1' },
      target: { kind: 'Node', name: 'node-b' },
    });
    expect(rebind.status).toBe(409);
    const bound = await call('GET', '/api/v1/namespaces/default/pods/p1');
    expect(bound.body.spec.nodeName).toBe('node-a');
    expect(bound.body.status.conditions).toContainEqual(
      expect.objectContaining({ type: 'PodScheduled', status: 'True' }),
    );

    // Bound: only marked, until its node confirms with grace period 0.
    const del = await call('DELETE', '/api/v1/namespaces/default/pods/p1');
    expect(del.status).toBe(200);
    expect(del.body.metadata.deletionTimestamp).toBeDefined();
    expect(del.body.metadata.deletionGracePeriodSeconds).toBe(30);
    expect((await call('GET', '/api/v1/namespaces/default/pods/p1')).status).toBe(200);
    await call('DELETE', '/api/v1/namespaces/default/pods/p1', { gracePeriodSeconds: 0 });
    expect((await call('GET', '/api/v1/namespaces/default/pods/p1')).status).toBe(404);

    // Unbound: removed at once.
    await call('POST', '/api/v1/namespaces/default/pods', pod('p2'));
    await call('DELETE', '/api/v1/namespaces/default/pods/p2');
    expect((await call('GET', '/api/v1/namespaces/default/pods/p2')).status).toBe(404);
  });

  it('allows only image changes to a pod spec', async () => {
    await call('POST', '/api/v1/namespaces/default/pods', pod('p3'));
    const image = await call(
      'PATCH',
      '/api/v1/namespaces/default/pods/p3',
      { spec: { containers: [{ name: 'c', image: 'busybox:2' }] } },
      'application/strategic-merge-patch+json',
    );
    expect(image.status).toBe(200);
    const other = await call(
      'PATCH',
      '/api/v1/namespaces/default/pods/p3',
      { spec: { restartPolicy: 'Never' } },
      'application/strategic-merge-patch+json',
    );
    expect(other.status).toBe(422);
  });

  it('filters lists by label and field selectors', async () => {
    for (const [name, app] of [
      ['sel-a', 'x'],
      ['sel-b', 'y'],
      ['sel-c', 'x'],
    ] as const) {
      await call('POST', '/api/v1/namespaces/default/pods', {
        ...pod(name),
        metadata: { name, labels: { app, group: 'sel' } },
      });
    }
    await call('POST', '/api/v1/namespaces/default/pods/sel-c/binding', {
      metadata: { name: 'sel-c' },
      target: { name: 'node-z' },
    });
    const names = async (q: string): Promise<string[]> =>
      ((await call('GET', `/api/v1/namespaces/default/pods?${q}`)).body.items as Body[])
        .map((p) => p.metadata.name as string)
        .sort();
    expect(await names('labelSelector=app%3Dx')).toEqual(['sel-a', 'sel-c']);
    expect(await names('labelSelector=group%3Dsel,app%20notin%20(x)')).toEqual(['sel-b']);
    expect(await names('labelSelector=group%3Dsel&fieldSelector=spec.nodeName%3D')).toEqual([
      'sel-a',
      'sel-b',
    ]);
    expect(await names('fieldSelector=spec.nodeName%3Dnode-z')).toEqual(['sel-c']);
    expect(await names('fieldSelector=metadata.name%3Dsel-b')).toEqual(['sel-b']);
    const bad = await call('GET', '/api/v1/namespaces/default/pods?fieldSelector=spec.bogus%3D1');
    expect(bad.status).toBe(400);
    const all = await call('GET', '/api/v1/pods?labelSelector=group%3Dsel&limit=2');
    expect(all.body.items).toHaveLength(2);
    expect(all.body.metadata.continue).toBeTruthy();
  });
});

describe('errors', () => {
  it('answers malformed JSON with 400, oversize bodies with 413, unknown resources with 404, bad verbs with 405', async () => {
    const bad = await call('POST', '/api/v1/namespaces/default/configmaps', '{"metadata": ');
    expect(bad.status).toBe(400);
    expect(bad.body.kind).toBe('Status');
    const big = await call('POST', '/api/v1/namespaces/default/configmaps', {
      metadata: { name: 'big' },
      data: { x: 'y'.repeat(3 * 1024 * 1024 + 10) },
    });
    expect(big.status).toBe(413);
    const unknown = await call('GET', '/apis/apps/v1/namespaces/default/widgets');
    expect(unknown.status).toBe(404);
    expect(unknown.body.kind).toBe('Status');
    const verb = await call('PUT', '/api/v1/namespaces/default/configmaps', {});
    expect(verb.status).toBe(405);
    expect((await call('GET', '/api/v1/namespaces/default/configmaps/big')).status).toBe(404);
  });
});

describe('invalid manifests', () => {
  it(`rejects each of ${BAD_MANIFESTS.length} invalid manifests with 422 naming every bad field, and writes nothing`, async () => {
    expect(BAD_MANIFESTS.length).toBeGreaterThanOrEqual(40);
    const before = await cp.registry.store.currentRevision();
    for (const bad of BAD_MANIFESTS) {
      const r = RESOURCES.find((x) => x.plural === bad.resource)!;
      const base = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
      const url = r.namespaced ? `${base}/namespaces/default/${r.plural}` : `${base}/${r.plural}`;
      const res = await call('POST', url, bad.obj);
      expect(res.status, `${bad.name}: ${JSON.stringify(res.body)}`).toBe(422);
      expect(res.body.reason).toBe('Invalid');
      const fields = [
        ...new Set((res.body.details.causes as Body[]).map((c) => c.field as string)),
      ].sort();
      expect(fields, bad.name).toEqual(bad.fields);
      for (const f of bad.fields) expect(res.body.message).toContain(f);
    }
    expect(await cp.registry.store.currentRevision()).toBe(before);
  });
});

describe('namespaces', () => {
  it('deleting a namespace deletes everything in it, then the namespace', async () => {
    expect(
      (await call('POST', '/api/v1/namespaces', { metadata: { name: 'doomed' } })).status,
    ).toBe(201);
    await call('POST', '/api/v1/namespaces/doomed/configmaps', { metadata: { name: 'c' } });
    await call('POST', '/apis/apps/v1/namespaces/doomed/deployments', deployment('d'));
    await call('POST', '/api/v1/namespaces/doomed/pods', pod('bound'));
    await call('POST', '/api/v1/namespaces/doomed/pods/bound/binding', {
      metadata: { name: 'bound' },
      target: { name: 'node-a' },
    });
    const del = await call('DELETE', '/api/v1/namespaces/doomed');
    expect(del.body.status.phase).toBe('Terminating');
    const blocked = await call('POST', '/api/v1/namespaces/doomed/configmaps', {
      metadata: { name: 'late' },
    });
    expect(blocked.status).toBe(403);
    // No agent runs the bound pod here, so confirm its termination as the node would.
    await expect
      .poll(
        async () =>
          (await call('GET', '/api/v1/namespaces/doomed/pods/bound')).body.metadata
            ?.deletionTimestamp,
      )
      .toBeDefined();
    await call('DELETE', '/api/v1/namespaces/doomed/pods/bound', { gracePeriodSeconds: 0 });
    await expect
      .poll(async () => (await call('GET', '/api/v1/namespaces/doomed')).status, {
        timeout: 10_000,
      })
      .toBe(404);
    expect(
      (await call('GET', '/api/v1/namespaces/doomed/configmaps')).body.items ?? [],
    ).toHaveLength(0);
  });
});
