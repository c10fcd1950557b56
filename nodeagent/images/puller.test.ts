// The puller against a real docker-registry on loopback holding the busybox
// fixture image. A small proxy in front of it counts requests (deduplication)
// or plays a bearer-token registry (the token flow Docker Hub uses).

import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import {
  createServer,
  request,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startRegistry, type TestRegistry } from '../../test/support/registry.js';
import { ImagePullError } from './errors.js';
import { ImagePuller } from './puller.js';
import { MediaType } from './registry-client.js';

const run = promisify(execFile);

let registry: TestRegistry;
let pushedDigest: string;
let root: string;

beforeAll(async () => {
  registry = await startRegistry();
  pushedDigest = await registry.pushBusybox();
});
afterAll(async () => {
  await registry?.stop();
});
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'shoal-images-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function pullError(p: Promise<unknown>): Promise<ImagePullError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ImagePullError);
  return err as ImagePullError;
}

async function sha256File(path: string): Promise<string> {
  return `sha256:${createHash('sha256')
    .update(await readFile(path))
    .digest('hex')}`;
}

describe('ImagePuller against an anonymous registry', () => {
  it('pulls busybox into a verified, runnable layer', async () => {
    const puller = new ImagePuller({ root, insecureRegistries: [registry.host] });
    const ref = `${registry.host}/busybox`;
    expect(await puller.has(ref)).toBeUndefined();

    const image = await puller.pull(ref);
    expect(image.ref).toBe(`${registry.host}/busybox:latest`);
    expect(image.digest).toBe(pushedDigest);
    expect(image.config.Cmd).toEqual(['sh']);
    expect(image.config.Env).toContain(
      'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    );
    expect(image.layerDirs).toHaveLength(1);
    const layer = image.layerDirs[0] ?? '';
    expect((await stat(join(layer, 'bin', 'busybox'))).isFile()).toBe(true);
    const { stdout } = await run(join(layer, 'bin', 'busybox'), ['echo', 'hello from the layer']);
    expect(stdout).toBe('hello from the layer\n');
    expect(await readlink(join(layer, 'bin', 'sh'))).toBe('busybox');

    // Every stored blob is named by the digest of its content.
    const blobDir = join(root, 'blobs', 'sha256');
    const blobs = await readdir(blobDir);
    expect(blobs.length).toBe(3); // manifest, config, layer
    for (const hex of blobs) expect(await sha256File(join(blobDir, hex))).toBe(`sha256:${hex}`);
    expect(await readdir(join(root, 'tmp'))).toEqual([]);

    expect(await puller.has(ref)).toEqual(image);
    expect(await puller.has(`${registry.host}/busybox@${pushedDigest}`)).toEqual({
      ...image,
      ref: `${registry.host}/busybox@${pushedDigest}`,
    });
    // A new puller on the same root (an agent restart) finds it too.
    expect(await new ImagePuller({ root }).has(ref)).toEqual(image);
  });

  it('pulls by digest', async () => {
    const puller = new ImagePuller({ root, insecureRegistries: [registry.host] });
    const image = await puller.pull(`${registry.host}/busybox@${pushedDigest}`);
    expect(image.digest).toBe(pushedDigest);
  });

  it('answers an unknown tag with ErrImagePull "manifest unknown"', async () => {
    const puller = new ImagePuller({ root, insecureRegistries: [registry.host] });
    const err = await pullError(puller.pull(`${registry.host}/busybox:no-such-tag`));
    expect(err.reason).toBe('ErrImagePull');
    expect(err.status).toBe(404);
    expect(err.code).toBe('MANIFEST_UNKNOWN');
    expect(err.message).toMatch(/manifest unknown/);
    expect(err.message).toContain(`${registry.host}/busybox:no-such-tag`);
  });

  it('answers an unparsable reference with InvalidImageName', async () => {
    const puller = new ImagePuller({ root, insecureRegistries: [registry.host] });
    const err = await pullError(puller.pull(`${registry.host}/BusyBox`));
    expect(err.reason).toBe('InvalidImageName');
    expect(err.retryable).toBe(false);
  });

  it('speaks HTTPS to a registry not listed as insecure', async () => {
    const puller = new ImagePuller({ root });
    const err = await pullError(puller.pull(`${registry.host}/busybox`));
    expect(err.reason).toBe('ErrImagePull');
    expect(err.message).toMatch(/fetch failed/);
  });

  it('picks linux/<this arch> from an image index', async () => {
    const manifest = await fetch(`http://${registry.host}/v2/busybox/manifests/latest`, {
      headers: { accept: MediaType.OciManifest },
    });
    const body = await manifest.arrayBuffer();
    const own = { mediaType: MediaType.OciManifest, digest: pushedDigest, size: body.byteLength };
    const index = {
      schemaVersion: 2,
      mediaType: MediaType.OciIndex,
      manifests: [
        // Other platforms first, so choosing the first entry would be wrong.
        { ...own, platform: { os: 'windows', architecture: 'amd64' } },
        { ...own, platform: { os: 'linux', architecture: 's390x' } },
        {
          ...own,
          platform: { os: 'linux', architecture: process.arch === 'x64' ? 'amd64' : process.arch },
        },
      ],
    };
    const put = await fetch(`http://${registry.host}/v2/busybox/manifests/multi`, {
      method: 'PUT',
      headers: { 'content-type': MediaType.OciIndex },
      body: JSON.stringify(index),
    });
    expect(put.status).toBe(201);
    const indexDigest = put.headers.get('docker-content-digest');

    const puller = new ImagePuller({ root, insecureRegistries: [registry.host] });
    const image = await puller.pull(`${registry.host}/busybox:multi`);
    expect(image.digest).toBe(indexDigest);
    expect(image.layerDirs).toHaveLength(1);
  });

  it('downloads once when the same image is pulled twice at the same time', async () => {
    const proxy = await startProxy(registry.host);
    try {
      const puller = new ImagePuller({ root, insecureRegistries: [proxy.host] });
      const ref = `${proxy.host}/busybox:latest`;
      const [a, b] = await Promise.all([puller.pull(ref), puller.pull(ref)]);
      expect(a).toEqual(b);
      const blobGets = proxy.requests.filter((r) => r.includes('/blobs/'));
      expect(blobGets).toHaveLength(2); // config and the one layer
      expect(new Set(blobGets).size).toBe(2);
      expect(proxy.requests.filter((r) => r.includes('/manifests/'))).toHaveLength(1);

      // Pulling again resolves the tag but fetches no blob it already has.
      proxy.requests.length = 0;
      await puller.pull(ref);
      expect(proxy.requests.filter((r) => r.includes('/blobs/'))).toEqual([]);
    } finally {
      await proxy.stop();
    }
  });

  it('answers a bearer challenge with a token fetched with the credentials', async () => {
    const creds = { username: 'robot', password: 's3cret' };
    const proxy = await startProxy(registry.host, { bearer: { ...creds, token: 'tok-123' } });
    try {
      const puller = new ImagePuller({ root, insecureRegistries: [proxy.host] });
      const image = await puller.pull(`${proxy.host}/busybox`, { auth: creds });
      expect(image.digest).toBe(pushedDigest);
      // One token for the whole pull, asked with the challenge's scope.
      const tokenRequests = proxy.requests.filter((r) => r.startsWith('GET /token'));
      expect(tokenRequests).toHaveLength(1);
      expect(tokenRequests[0]).toContain('scope=repository%3Abusybox%3Apull');
      expect(tokenRequests[0]).toContain('service=test-registry');

      const err = await pullError(
        new ImagePuller({ root, insecureRegistries: [proxy.host] }).pull(
          `${proxy.host}/busybox:other`,
        ),
      );
      expect(err.status).toBe(401);
      expect(err.message).toMatch(/unauthorized/);
    } finally {
      await proxy.stop();
    }
  });
});

describe('ImagePuller against an htpasswd registry', () => {
  const creds = { user: 'shoal', password: 'pa ss:word' };
  let secured: TestRegistry;
  beforeAll(async () => {
    secured = await startRegistry({ htpasswd: creds });
    await secured.pushBusybox();
  });
  afterAll(async () => {
    await secured?.stop();
  });

  it('pulls with basic credentials', async () => {
    const puller = new ImagePuller({ root, insecureRegistries: [secured.host] });
    const image = await puller.pull(`${secured.host}/busybox`, {
      auth: { username: creds.user, password: creds.password },
    });
    expect((await stat(join(image.layerDirs[0] ?? '', 'bin', 'busybox'))).isFile()).toBe(true);
  });

  it('fails with ErrImagePull "unauthorized" without or with wrong credentials', async () => {
    const puller = new ImagePuller({ root, insecureRegistries: [secured.host] });
    for (const auth of [undefined, { username: creds.user, password: 'wrong' }]) {
      const err = await pullError(puller.pull(`${secured.host}/busybox`, auth ? { auth } : {}));
      expect(err.reason).toBe('ErrImagePull');
      expect(err.status).toBe(401);
      expect(err.message).toMatch(/unauthorized: authentication required/);
    }
    expect(await readdir(join(root, 'blobs', 'sha256'))).toEqual([]);
  });
});

describe('ImagePuller and corrupt content', () => {
  it('refuses a layer whose bytes do not match its digest, and keeps nothing of it', async () => {
    const reg = await startRegistry();
    try {
      await reg.pushBusybox();
      const manifest = (await (
        await fetch(`http://${reg.host}/v2/busybox/manifests/latest`, {
          headers: { accept: MediaType.OciManifest },
        })
      ).json()) as { layers: { digest: string }[] };
      const layerDigest = manifest.layers[0]?.digest ?? '';
      const hex = layerDigest.slice('sha256:'.length);
      // Flip one byte in the registry's own copy; the size stays right.
      const data = join(
        reg.storageDir,
        'docker/registry/v2/blobs/sha256',
        hex.slice(0, 2),
        hex,
        'data',
      );
      const bytes = await readFile(data);
      const at = Math.floor(bytes.length / 2);
      bytes[at] = (bytes[at] ?? 0) ^ 0xff;
      await writeFile(data, bytes);

      const puller = new ImagePuller({ root, insecureRegistries: [reg.host] });
      const err = await pullError(puller.pull(`${reg.host}/busybox`));
      expect(err.reason).toBe('ErrImagePull');
      expect(err.message).toContain(`blob ${layerDigest}: content has digest sha256:`);
      expect(await readdir(join(root, 'blobs', 'sha256'))).not.toContain(hex);
      expect(await readdir(join(root, 'layers', 'sha256'))).toEqual([]);
      expect(await readdir(join(root, 'tmp'))).toEqual([]);
      expect(await puller.has(`${reg.host}/busybox`)).toBeUndefined();
    } finally {
      await reg.stop();
    }
  });
});

interface Proxy {
  host: string;
  /** "METHOD /path?query" of every request received, in order. */
  requests: string[];
  stop(): Promise<void>;
}

/**
 * A loopback HTTP proxy to `upstream` that records requests. With `bearer`
 * it plays a token-auth registry: /token hands out `token` for the basic
 * credentials, everything else wants that token.
 */
async function startProxy(
  upstream: string,
  opts: { bearer?: { username: string; password: string; token: string } } = {},
): Promise<Proxy> {
  const requests: string[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    requests.push(`${req.method} ${req.url}`);
    const bearer = opts.bearer;
    if (bearer) {
      if (req.url?.startsWith('/token')) {
        const basic = `Basic ${Buffer.from(`${bearer.username}:${bearer.password}`).toString('base64')}`;
        if (req.headers.authorization !== basic) {
          res.writeHead(401, { 'content-type': 'application/json' });
          res.end(
            JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'bad credentials' }] }),
          );
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ token: bearer.token }));
        return;
      }
      if (req.headers.authorization !== `Bearer ${bearer.token}`) {
        const realm = `http://${req.headers.host}/token`;
        res.writeHead(401, {
          'content-type': 'application/json',
          'www-authenticate': `Bearer realm="${realm}",service="test-registry",scope="repository:busybox:pull"`,
        });
        res.end(
          JSON.stringify({
            errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }],
          }),
        );
        return;
      }
    }
    const [host, port] = upstream.split(':');
    const headers = { ...req.headers, host: upstream };
    delete headers.authorization;
    const up = request(
      { host, port: Number(port), method: req.method, path: req.url, headers },
      (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    host: `127.0.0.1:${port}`,
    requests,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
