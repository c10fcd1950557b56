import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { kubeconfigYaml } from '../../controlplane/pki/kubeconfig.js';
import { installContext, removeContext, userKubeconfigPath } from './kubeconfig.js';
import { clusterLayout, type ClusterLayout } from './layout.js';

const CA = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const OTHER = `apiVersion: v1
kind: Config
clusters: [{ name: other, cluster: { server: 'https://127.0.0.1:1' } }]
users: [{ name: other, user: { token: x } }]
contexts: [{ name: other, context: { cluster: other, user: other } }]
current-context: other
`;

let dir: string;
let layout: ClusterLayout;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shoal-cluster-kubeconfig-'));
  layout = clusterLayout('dev', join(dir, 'state'), '10.213.0', 1);
  await mkdir(layout.controlplaneDir, { recursive: true });
  await writeFile(
    layout.adminKubeconfig,
    kubeconfigYaml({ server: layout.apiUrl, caCertPem: CA, token: 'admin-token' }),
  );
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Config {
  clusters?: { name: string; cluster: { server: string } }[];
  users?: { name: string; user: { token: string } }[];
  contexts?: { name: string }[];
  'current-context'?: string;
}

async function read(path: string): Promise<Config> {
  return parse(await readFile(path, 'utf8')) as Config;
}

describe('the cluster context in the user kubeconfig', () => {
  it('is added beside other contexts, made current, and removed with the previous one restored', async () => {
    const path = join(dir, 'home', '.kube', 'config');
    await mkdir(join(dir, 'home', '.kube'), { recursive: true });
    await writeFile(path, OTHER);
    const record = await installContext(layout, path, undefined);
    expect(record).toEqual({
      path,
      createdDir: false,
      createdFile: false,
      previousContext: 'other',
    });
    const written = await read(path);
    expect(written['current-context']).toBe('shoal-dev');
    expect(written.contexts?.map((c) => c.name)).toEqual(['other', 'shoal-dev']);
    expect(written.clusters?.find((c) => c.name === 'shoal-dev')?.cluster.server).toBe(
      'https://10.213.0.1:6443',
    );
    expect(written.users?.find((u) => u.name === 'shoal-dev-admin')?.user.token).toBe(
      'admin-token',
    );

    // A second up keeps what the first one recorded about the file before it.
    expect(await installContext(layout, path, record)).toEqual(record);

    await removeContext(layout, record);
    expect(await read(path)).toEqual(parse(OTHER));
  });

  it('removes the file and directory it created once nothing else is in them', async () => {
    const path = join(dir, 'home', '.kube', 'config');
    const record = await installContext(layout, path, undefined);
    expect(record).toEqual({ path, createdDir: true, createdFile: true });
    await removeContext(layout, record);
    expect(existsSync(path)).toBe(false);
    expect(existsSync(join(dir, 'home', '.kube'))).toBe(false);
  });

  it('follows KUBECONFIG as kubectl does', () => {
    expect(userKubeconfigPath({ KUBECONFIG: '/a/one:/b/two' })).toBe('/a/one');
    expect(userKubeconfigPath({ KUBECONFIG: '' })).toMatch(/\.kube\/config$/);
  });
});
