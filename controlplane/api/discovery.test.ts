import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fastify, type FastifyInstance } from 'fastify';
import {
  AGGREGATED_DISCOVERY_TYPE,
  discoveryPlugin,
  registerDiscovery,
  type APIResourceList,
} from './discovery.js';
import { RESOURCES, apiVersionOf } from './resources.js';

const GIT_VERSION = 'v1.32.0+shoal-0.1.0';
/** What kubectl 1.32 sends to /api and /apis. */
const KUBECTL_ACCEPT =
  'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json';

let app: FastifyInstance;

beforeAll(async () => {
  app = fastify();
  await registerDiscovery(app, { gitVersion: GIT_VERSION });
  await app.ready();
});
afterAll(async () => {
  await app.close();
});

async function getJson(
  url: string,
  accept = 'application/json',
  // The tests read many response shapes; each assertion states the shape it expects.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
): Promise<{ status: number; type: string; body: any }> {
  const res = await app.inject({ method: 'GET', url, headers: { accept } });
  return { status: res.statusCode, type: String(res.headers['content-type']), body: res.json() };
}

describe('/version', () => {
  it('reports Kubernetes 1.32 so kubectl 1.32 sees no version skew', async () => {
    const { status, body } = await getJson('/version');
    expect(status).toBe(200);
    expect(body).toMatchObject({
      major: '1',
      minor: '32',
      gitVersion: GIT_VERSION,
      compiler: 'node',
    });
    expect(body.platform).toMatch(/^[a-z0-9]+\/[a-z0-9]+$/);
    for (const k of ['gitCommit', 'gitTreeState', 'buildDate', 'goVersion'])
      expect(typeof body[k]).toBe('string');
  });
});

describe('legacy discovery (plain JSON)', () => {
  it('/api lists the core versions and an address', async () => {
    const res = await app.inject({
      method: 'GET',
      url: '/api',
      headers: { accept: 'application/json', host: '10.0.0.1:6443' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers.vary).toBe('Accept');
    expect(res.json()).toEqual({
      kind: 'APIVersions',
      versions: ['v1'],
      serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '10.0.0.1:6443' }],
    });
  });

  it('/apis lists each named group with its preferred version', async () => {
    const { body } = await getJson('/apis');
    expect(body.kind).toBe('APIGroupList');
    const names = body.groups.map((g: { name: string }) => g.name);
    expect(names).toEqual(expect.arrayContaining(['apps', 'batch']));
    expect(names).not.toContain('');
    expect(body.groups.find((g: { name: string }) => g.name === 'apps')).toEqual({
      name: 'apps',
      versions: [{ groupVersion: 'apps/v1', version: 'v1' }],
      preferredVersion: { groupVersion: 'apps/v1', version: 'v1' },
    });
  });

  it('/apis/{group} describes the group', async () => {
    const { body } = await getJson('/apis/batch');
    expect(body).toMatchObject({
      kind: 'APIGroup',
      name: 'batch',
      preferredVersion: { groupVersion: 'batch/v1' },
    });
  });

  it('a request without Accept gets plain JSON', async () => {
    const res = await app.inject({ method: 'GET', url: '/apis' });
    expect(res.json().kind).toBe('APIGroupList');
  });

  it('a client that accepts neither format gets 406 with a Status', async () => {
    const { status, body } = await getJson('/api', 'application/vnd.kubernetes.protobuf');
    expect(status).toBe(406);
    expect(body).toMatchObject({ kind: 'Status', reason: 'NotAcceptable', code: 406 });
  });

  it.each(RESOURCES.map((r) => [`${r.plural}.${apiVersionOf(r)}`, r] as const))(
    '%s is listed in its group version with its verbs and names',
    async (_name, r) => {
      const url = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
      const { body } = (await getJson(url)) as { body: APIResourceList };
      expect(body.kind).toBe('APIResourceList');
      expect(body.groupVersion).toBe(apiVersionOf(r));
      const entry = body.resources.find((e) => e.name === r.plural);
      expect(entry).toMatchObject({
        singularName: r.singular,
        namespaced: r.namespaced,
        kind: r.kind,
      });
      expect(entry?.verbs).toEqual(
        expect.arrayContaining(['create', 'delete', 'get', 'list', 'patch', 'update', 'watch']),
      );
      expect(entry?.shortNames ?? []).toEqual(r.shortNames);
      expect(entry?.categories ?? []).toEqual(r.categories);
      expect(entry?.storageVersionHash).toMatch(/^[A-Za-z0-9+/]{11}=$/);
      for (const sub of r.subresources)
        expect(body.resources.map((e) => e.name)).toContain(`${r.plural}/${sub}`);
    },
  );

  it('describes subresources the way kube-apiserver does', async () => {
    const core = (await getJson('/api/v1')).body as APIResourceList;
    const byName = (l: APIResourceList, n: string) => l.resources.find((e) => e.name === n);
    expect(byName(core, 'pods/status')).toEqual({
      name: 'pods/status',
      singularName: '',
      namespaced: true,
      kind: 'Pod',
      verbs: ['get', 'patch', 'update'],
    });
    expect(byName(core, 'pods/binding')).toMatchObject({ kind: 'Binding', verbs: ['create'] });
    expect(byName(core, 'pods/log')).toMatchObject({ kind: 'Pod', verbs: ['get'] });
    expect(byName(core, 'namespaces')?.verbs).not.toContain('deletecollection');
    const apps = (await getJson('/apis/apps/v1')).body as APIResourceList;
    expect(byName(apps, 'deployments/scale')).toEqual({
      name: 'deployments/scale',
      singularName: '',
      namespaced: true,
      group: 'autoscaling',
      version: 'v1',
      kind: 'Scale',
      verbs: ['get', 'patch', 'update'],
    });
  });
});

describe('aggregated discovery (apidiscovery.k8s.io/v2)', () => {
  it('echoes the profile in Content-Type exactly, as client-go checks it', async () => {
    for (const url of ['/api', '/apis']) {
      const res = await app.inject({ method: 'GET', url, headers: { accept: KUBECTL_ACCEPT } });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe(AGGREGATED_DISCOVERY_TYPE);
      expect(res.json()).toMatchObject({
        kind: 'APIGroupDiscoveryList',
        apiVersion: 'apidiscovery.k8s.io/v2',
      });
    }
  });

  it('falls back to plain JSON when the client prefers it', async () => {
    const res = await app.inject({
      method: 'GET',
      url: '/apis',
      headers: { accept: `application/json;q=1,${AGGREGATED_DISCOVERY_TYPE};q=0.5` },
    });
    expect(res.json().kind).toBe('APIGroupList');
  });

  it('says the same as legacy discovery, resource by resource', async () => {
    // Convert the aggregated form the way client-go does and compare.
    const converted = new Map<string, unknown[]>();
    for (const url of ['/api', '/apis']) {
      const { body } = await getJson(url, KUBECTL_ACCEPT);
      for (const item of body.items) {
        for (const v of item.versions) {
          const gv = item.metadata.name ? `${item.metadata.name}/${v.version}` : v.version;
          expect(v.freshness).toBe('Current');
          const list: unknown[] = [];
          for (const r of v.resources) {
            list.push({
              name: r.resource,
              namespaced: r.scope === 'Namespaced',
              kind: r.responseKind.kind,
              verbs: r.verbs,
            });
            for (const s of r.subresources ?? []) {
              list.push({
                name: `${r.resource}/${s.subresource}`,
                namespaced: r.scope === 'Namespaced',
                kind: s.responseKind.kind,
                verbs: s.verbs,
              });
            }
          }
          converted.set(gv, list);
        }
      }
    }
    expect([...converted.keys()].sort()).toEqual([
      'apps/v1',
      'batch/v1',
      'coordination.k8s.io/v1',
      'scheduling.k8s.io/v1',
      'storage.k8s.io/v1',
      'v1',
    ]);
    for (const [gv, list] of converted) {
      const url = gv === 'v1' ? '/api/v1' : `/apis/${gv}`;
      const legacy = (await getJson(url)).body as APIResourceList;
      expect(list).toEqual(
        legacy.resources.map(({ name, namespaced, kind, verbs }) => ({
          name,
          namespaced,
          kind,
          verbs,
        })),
      );
    }
  });

  it('names the core group with an empty name', async () => {
    const { body } = await getJson('/api', KUBECTL_ACCEPT);
    expect(body.items).toHaveLength(1);
    expect(body.items[0].metadata.name).toBeUndefined();
    const pods = body.items[0].versions[0].resources.find(
      (r: { resource: string }) => r.resource === 'pods',
    );
    expect(pods).toMatchObject({
      responseKind: { group: '', version: 'v1', kind: 'Pod' },
      scope: 'Namespaced',
      singularResource: 'pod',
      shortNames: ['po'],
      categories: ['all'],
    });
  });
});

describe('discoveryPlugin', () => {
  it('registers the same routes through app.register', async () => {
    const other = fastify();
    await other.register(discoveryPlugin, { gitVersion: GIT_VERSION });
    const res = await other.inject({ method: 'GET', url: '/openapi/v3' });
    expect(res.statusCode).toBe(200);
    expect((await other.inject({ method: 'GET', url: '/api/v1' })).json().kind).toBe(
      'APIResourceList',
    );
    await other.close();
  });
});
