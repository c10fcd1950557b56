import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fastify, type FastifyInstance } from 'fastify';
import { registerOpenApi } from './routes.js';

let app: FastifyInstance;

beforeAll(async () => {
  app = fastify();
  registerOpenApi(app, { serverVersion: 'v1.32.0+shoal-test' });
  await app.ready();
});
afterAll(async () => {
  await app.close();
});

async function index(): Promise<Record<string, { serverRelativeURL: string }>> {
  const res = await app.inject({ method: 'GET', url: '/openapi/v3' });
  expect(res.statusCode).toBe(200);
  return res.json<{ paths: Record<string, { serverRelativeURL: string }> }>().paths;
}

describe('/openapi/v3', () => {
  it('indexes each group version with a hashed URL', async () => {
    const paths = await index();
    expect(Object.keys(paths).sort()).toEqual([
      'api/v1',
      'apis/apps/v1',
      'apis/batch/v1',
      'apis/coordination.k8s.io/v1',
      'apis/scheduling.k8s.io/v1',
      'apis/storage.k8s.io/v1',
    ]);
    for (const [p, { serverRelativeURL }] of Object.entries(paths)) {
      expect(serverRelativeURL).toMatch(new RegExp(`^/openapi/v3/${p}\\?hash=[0-9A-F]{128}$`));
    }
  });

  it('revalidates the index by ETag', async () => {
    const first = await app.inject({ method: 'GET', url: '/openapi/v3' });
    const etag = String(first.headers.etag);
    expect(etag).toMatch(/^"[0-9A-F]{128}"$/);
    const again = await app.inject({
      method: 'GET',
      url: '/openapi/v3',
      headers: { 'if-none-match': etag },
    });
    expect(again.statusCode).toBe(304);
  });

  it('serves a document at its hash as immutable JSON', async () => {
    const url = (await index())['apis/apps/v1']?.serverRelativeURL ?? '';
    const res = await app.inject({ method: 'GET', url, headers: { accept: 'application/json' } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers['cache-control']).toBe('public, immutable');
    expect(res.headers.expires).toBeDefined();
    expect(res.headers.etag).toBe(`"${url.split('hash=')[1]}"`);
    expect(res.json()).toMatchObject({ openapi: '3.0.0', info: { version: 'v1.32.0+shoal-test' } });
  });

  it('without a hash, serves it revalidatable, and answers If-None-Match with 304', async () => {
    const res = await app.inject({ method: 'GET', url: '/openapi/v3/api/v1' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('no-cache, private');
    const again = await app.inject({
      method: 'GET',
      url: '/openapi/v3/api/v1',
      headers: { 'if-none-match': String(res.headers.etag) },
    });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe('');
  });

  it('redirects an outdated hash to the current document', async () => {
    const url = (await index())['api/v1']?.serverRelativeURL ?? '';
    const res = await app.inject({ method: 'GET', url: '/openapi/v3/api/v1?hash=0123' });
    expect(res.statusCode).toBe(301);
    expect(res.headers.location).toBe(url);
  });

  it('refuses protobuf with 406', async () => {
    const res = await app.inject({
      method: 'GET',
      url: '/openapi/v3/api/v1',
      headers: { accept: 'application/com.github.proto-openapi.spec.v3@v1.0+protobuf' },
    });
    expect(res.statusCode).toBe(406);
    expect(res.json()).toMatchObject({ kind: 'Status', code: 406 });
  });

  it('answers /openapi/v2 with a 404 Status', async () => {
    const res = await app.inject({
      method: 'GET',
      url: '/openapi/v2',
      headers: { accept: 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf' },
    });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ kind: 'Status', reason: 'NotFound', code: 404 });
  });
});
