import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { KubeConfig, VersionApi } from '@kubernetes/client-node';
import { parse, stringify } from 'yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadOrCreateClusterPki } from './ca.js';
import { PkiError } from './errors.js';
import { kubeconfigYaml, writeAdminKubeconfig } from './kubeconfig.js';
import { checkBearer, loadOrCreateTokens } from './tokens.js';

const run = promisify(execFile);
const CA_PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const OPTS = { server: 'https://127.0.0.1:6443', caCertPem: CA_PEM, token: 'tok-1' };

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shoal-kubeconfig-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Named {
  name: string;
}
interface ConfigView {
  clusters: (Named & { cluster: { server: string } })[];
  users: (Named & { user: { token?: string } })[];
  contexts: (Named & { context: { cluster: string; user: string } })[];
  'current-context': string;
}

async function kubectlView(path: string): Promise<ConfigView> {
  const { stdout } = await run('kubectl', [
    'config',
    'view',
    '--raw',
    '-o',
    'json',
    '--kubeconfig',
    path,
  ]);
  return JSON.parse(stdout) as ConfigView;
}

describe('writeAdminKubeconfig', () => {
  it('writes a 0600 kubeconfig that client-node and kubectl load', async () => {
    const path = join(dir, 'admin.kubeconfig');
    await writeAdminKubeconfig(path, OPTS);
    expect((await stat(path)).mode & 0o777).toBe(0o600);

    const kc = new KubeConfig();
    kc.loadFromFile(path);
    expect(kc.getCurrentContext()).toBe('shoal');
    expect(kc.getCurrentCluster()?.server).toBe('https://127.0.0.1:6443');
    expect(Buffer.from(kc.getCurrentCluster()?.caData ?? '', 'base64').toString()).toBe(CA_PEM);
    expect(kc.getCurrentUser()?.name).toBe('shoal-admin');
    expect(kc.getCurrentUser()?.token).toBe('tok-1');

    const view = await kubectlView(path);
    expect(view['current-context']).toBe('shoal');
    expect(view.clusters).toEqual([
      expect.objectContaining({
        name: 'shoal',
        cluster: expect.objectContaining({ server: 'https://127.0.0.1:6443' }),
      }),
    ]);
    expect(view.users).toEqual([{ name: 'shoal-admin', user: { token: 'tok-1' } }]);
    expect(view.contexts).toEqual([
      { name: 'shoal', context: { cluster: 'shoal', user: 'shoal-admin' } },
    ]);
  });

  it('merges into an existing kubeconfig, replacing same-named entries only', async () => {
    const path = join(dir, 'config');
    const existing = {
      apiVersion: 'v1',
      kind: 'Config',
      preferences: { colors: true },
      clusters: [
        { name: 'prod', cluster: { server: 'https://prod.example:6443' } },
        { name: 'shoal', cluster: { server: 'https://old.example:6443' } },
      ],
      users: [
        { name: 'prod-admin', user: { token: 'prod-token' } },
        { name: 'shoal-admin', user: { token: 'old-token' } },
      ],
      contexts: [{ name: 'prod', context: { cluster: 'prod', user: 'prod-admin' } }],
      'current-context': 'prod',
    };
    await writeFile(path, stringify(existing), { mode: 0o644 });

    await writeAdminKubeconfig(path, OPTS);
    // A second write (a restart) changes nothing and duplicates nothing.
    const once = await readFile(path, 'utf8');
    await writeAdminKubeconfig(path, OPTS);
    expect(await readFile(path, 'utf8')).toBe(once);
    expect((await stat(path)).mode & 0o777).toBe(0o600);

    const view = await kubectlView(path);
    expect(view['current-context']).toBe('shoal');
    expect(view.clusters.map((c) => [c.name, c.cluster.server])).toEqual([
      ['prod', 'https://prod.example:6443'],
      ['shoal', 'https://127.0.0.1:6443'],
    ]);
    expect(view.users.map((u) => [u.name, u.user.token])).toEqual([
      ['prod-admin', 'prod-token'],
      ['shoal-admin', 'tok-1'],
    ]);
    expect(view.contexts.map((c) => c.name)).toEqual(['prod', 'shoal']);
    expect((parse(once) as { preferences: unknown }).preferences).toEqual({ colors: true });

    const kc = new KubeConfig();
    kc.loadFromFile(path);
    kc.setCurrentContext('prod');
    expect(kc.getCurrentCluster()?.server).toBe('https://prod.example:6443');
  });

  it('uses the given cluster, context and user names', async () => {
    const path = join(dir, 'config');
    await writeAdminKubeconfig(path, OPTS);
    await writeAdminKubeconfig(path, {
      ...OPTS,
      server: 'https://10.0.0.5:6443',
      token: 'tok-2',
      clusterName: 'lab',
      contextName: 'lab',
      userName: 'lab-admin',
    });
    const view = await kubectlView(path);
    expect(view['current-context']).toBe('lab');
    // kubectl lists entries sorted by name.
    expect(view.clusters.map((c) => c.name)).toEqual(['lab', 'shoal']);
    expect(view.contexts.find((c) => c.name === 'lab')?.context).toEqual({
      cluster: 'lab',
      user: 'lab-admin',
    });
  });

  it('writes through a symlink to its target', async () => {
    const target = join(dir, 'real-config');
    const link = join(dir, 'config');
    await writeFile(target, '');
    await symlink(target, link);
    await writeAdminKubeconfig(link, OPTS);
    expect((await kubectlView(target))['current-context']).toBe('shoal');
    expect((await kubectlView(link))['current-context']).toBe('shoal');
  });

  it('refuses to overwrite a file that is not a kubeconfig mapping', async () => {
    const path = join(dir, 'config');
    for (const content of ['- a\n- b\n', 'clusters: 3\n', 'key: [unclosed\n']) {
      await writeFile(path, content);
      const err: unknown = await writeAdminKubeconfig(path, OPTS).catch((e: unknown) => e);
      expect(err, content).toBeInstanceOf(PkiError);
      expect(await readFile(path, 'utf8')).toBe(content);
    }
  });
});

describe('kubeconfigYaml', () => {
  it('returns a fresh kubeconfig when there is none to merge into', () => {
    expect(parse(kubeconfigYaml(OPTS))).toEqual({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'shoal',
          cluster: {
            server: 'https://127.0.0.1:6443',
            'certificate-authority-data': Buffer.from(CA_PEM).toString('base64'),
          },
        },
      ],
      users: [{ name: 'shoal-admin', user: { token: 'tok-1' } }],
      contexts: [{ name: 'shoal', context: { cluster: 'shoal', user: 'shoal-admin' } }],
      'current-context': 'shoal',
    });
    expect(parse(kubeconfigYaml(OPTS, ''))).toEqual(parse(kubeconfigYaml(OPTS)));
  });
});

describe('the PKI end to end', () => {
  it('lets client-node reach a server using the serving cert and the admin token', async () => {
    const pki = await loadOrCreateClusterPki(dir, { hosts: [] });
    const { adminToken } = await loadOrCreateTokens(dir);
    const server = createServer(
      { cert: pki.servingCertPem, key: pki.servingKeyPem },
      (req, res) => {
        if (!checkBearer(req.headers.authorization, adminToken)) {
          res.writeHead(401, { 'content-type': 'application/json' });
          res.end(
            JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 401 }),
          );
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ major: '1', minor: '32', gitVersion: 'v1.32.0-shoal' }));
      },
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      const path = join(dir, 'admin.kubeconfig');
      await writeAdminKubeconfig(path, {
        server: `https://127.0.0.1:${port}`,
        caCertPem: pki.caCertPem,
        token: adminToken,
      });
      const kc = new KubeConfig();
      kc.loadFromFile(path);
      const version = await kc.makeApiClient(VersionApi).getCode();
      expect(version.gitVersion).toBe('v1.32.0-shoal');

      // The same file with another token is turned away.
      await writeAdminKubeconfig(path, {
        server: `https://127.0.0.1:${port}`,
        caCertPem: pki.caCertPem,
        token: 'wrong',
      });
      const wrong = new KubeConfig();
      wrong.loadFromFile(path);
      await expect(wrong.makeApiClient(VersionApi).getCode()).rejects.toThrow(/401/);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
