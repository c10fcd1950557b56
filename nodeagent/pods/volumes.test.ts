import {
  mkdtemp,
  readFile,
  readlink,
  readdir,
  rm,
  stat,
  symlink,
  writeFile,
  mkdir,
} from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KubeObject } from '../../controlplane/api/objects.js';
import { cleanupVolumes, mountsFor, prepareVolumes, type PreparedVolumes } from './volumes.js';
import type { Volume } from './types.js';

const b64 = (s: string): string => Buffer.from(s).toString('base64');

let root: string;
let podDir: string;

beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'shoal-volumes-'));
  podDir = path.join(root, 'pods', 'uid-1');
});

afterEach(async () => {
  // cleanupVolumes unmounts whatever a test left mounted before removing it.
  await cleanupVolumes(podDir);
  await rm(root, { recursive: true, force: true });
});

function pod(volumes: Volume[]): KubeObject {
  return {
    metadata: { name: 'p', namespace: 'default', uid: 'uid-1' },
    spec: { containers: [{ name: 'c' }], volumes },
  };
}

function isMounted(dir: string): boolean {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((l) => l.split(' ')[4] === dir);
}

async function prepare(
  volumes: Volume[],
  configMaps = new Map<string, KubeObject>(),
  secrets = new Map<string, KubeObject>(),
): Promise<PreparedVolumes> {
  const r = await prepareVolumes({ pod: pod(volumes), podDir, configMaps, secrets });
  if ('error' in r) throw new Error(r.error);
  return r.volumes;
}

async function prepareError(
  volumes: Volume[],
  configMaps = new Map<string, KubeObject>(),
): Promise<string> {
  const r = await prepareVolumes({ pod: pod(volumes), podDir, configMaps, secrets: new Map() });
  return 'error' in r ? r.error : 'no error';
}

describe('emptyDir', () => {
  it('is a world-writable directory under the pod dir', async () => {
    const v = await prepare([{ name: 'scratch', emptyDir: {} }]);
    const dir = path.join(podDir, 'volumes', 'empty-dir', 'scratch');
    expect(v.get('scratch')).toEqual({ hostPath: dir, readOnly: false });
    expect((await stat(dir)).mode & 0o777).toBe(0o777);
  });

  it('with medium Memory is a tmpfs of the size limit, mounted once and unmounted by cleanup', async () => {
    const volumes: Volume[] = [{ name: 'mem', emptyDir: { medium: 'Memory', sizeLimit: '4Mi' } }];
    const v = await prepare(volumes);
    const dir = v.get('mem')?.hostPath ?? '';
    expect(isMounted(dir)).toBe(true);
    const line = readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .find((l) => l.split(' ')[4] === dir);
    expect(line).toContain('tmpfs');
    expect(line).toContain('size=4096k');
    await writeFile(path.join(dir, 'f'), 'x');
    await prepare(volumes); // again: no second mount over the first
    expect(await readFile(path.join(dir, 'f'), 'utf8')).toBe('x');
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .filter((l) => l.split(' ')[4] === dir);
    expect(mounts).toHaveLength(1);
    await cleanupVolumes(podDir);
    expect(isMounted(dir)).toBe(false);
    await expect(stat(podDir)).rejects.toThrow();
  });
});

describe('hostPath', () => {
  it.each<
    [
      string,
      Volume['hostPath'] extends infer T ? T : never,
      (p: string) => Promise<void>,
      string | undefined,
    ]
  >([
    [
      'DirectoryOrCreate creates',
      { path: 'new/dir', type: 'DirectoryOrCreate' },
      async () => {},
      undefined,
    ],
    [
      'Directory exists',
      { path: 'd', type: 'Directory' },
      (p) => mkdir(p).then(() => undefined),
      undefined,
    ],
    ['Directory missing', { path: 'd', type: 'Directory' }, async () => {}, 'is not a directory'],
    [
      'Directory is a file',
      { path: 'f', type: 'Directory' },
      (p) => writeFile(p, ''),
      'is not a directory',
    ],
    ['FileOrCreate creates', { path: 'f', type: 'FileOrCreate' }, async () => {}, undefined],
    [
      'FileOrCreate on a dir',
      { path: 'd', type: 'FileOrCreate' },
      (p) => mkdir(p).then(() => undefined),
      'is not a file',
    ],
    ['File missing', { path: 'f', type: 'File' }, async () => {}, 'is not a file'],
    ['File exists', { path: 'f', type: 'File' }, (p) => writeFile(p, ''), undefined],
    ['unset type: no check', { path: 'missing' }, async () => {}, undefined],
    [
      'Socket on a file',
      { path: 'f', type: 'Socket' },
      (p) => writeFile(p, ''),
      'is not a socket file',
    ],
  ])('%s', async (_name, src, setup, error) => {
    const full = path.join(root, src?.path ?? '');
    await setup(full);
    const r = await prepareVolumes({
      pod: pod([{ name: 'h', hostPath: { ...src, path: full } }]),
      podDir,
      configMaps: new Map(),
      secrets: new Map(),
    });
    if (error) {
      expect(r).toEqual({
        error: `MountVolume.SetUp failed for volume "h" : hostPath type check failed: ${full} ${error}`,
      });
      return;
    }
    expect(r).toEqual({ volumes: new Map([['h', { hostPath: full, readOnly: false }]]) });
    if (src?.type === 'DirectoryOrCreate') expect((await stat(full)).isDirectory()).toBe(true);
    if (src?.type === 'FileOrCreate') expect((await stat(full)).isFile()).toBe(true);
  });
});

describe('configMap and secret volumes', () => {
  const cm = (data: Record<string, string>, binaryData?: Record<string, string>): KubeObject => ({
    metadata: { name: 'cfg' },
    data,
    ...(binaryData ? { binaryData } : {}),
  });

  it('projects every key through ..data symlinks, read-only, with mode 0644', async () => {
    const v = await prepare(
      [{ name: 'config', configMap: { name: 'cfg' } }],
      new Map([['cfg', cm({ 'app.conf': 'a=1', other: 'x' }, { 'bin.dat': b64('\u0001\u0002') })]]),
    );
    const dir = path.join(podDir, 'volumes', 'configmap', 'config');
    expect(v.get('config')).toEqual({ hostPath: dir, readOnly: true });
    expect(await readFile(path.join(dir, 'app.conf'), 'utf8')).toBe('a=1');
    expect(await readFile(path.join(dir, 'bin.dat'))).toEqual(Buffer.from([1, 2]));
    expect(await readlink(path.join(dir, 'app.conf'))).toBe('..data/app.conf');
    const ts = await readlink(path.join(dir, '..data'));
    expect(ts).toMatch(/^\.\.\d{4}_\d\d_\d\d_\d\d_\d\d_\d\d\.\d+$/);
    expect((await stat(path.join(dir, 'app.conf'))).mode & 0o777).toBe(0o644);
  });

  it('swaps content atomically on a second call and drops removed keys', async () => {
    const volumes: Volume[] = [{ name: 'config', configMap: { name: 'cfg' } }];
    await prepare(volumes, new Map([['cfg', cm({ a: '1', b: '2' })]]));
    const dir = path.join(podDir, 'volumes', 'configmap', 'config');
    const first = await readlink(path.join(dir, '..data'));
    await prepare(volumes, new Map([['cfg', cm({ a: '1', b: '2' })]]));
    expect(await readlink(path.join(dir, '..data'))).toBe(first); // unchanged content is not rewritten
    await prepare(volumes, new Map([['cfg', cm({ a: 'new', c: '3' })]]));
    const second = await readlink(path.join(dir, '..data'));
    expect(second).not.toBe(first);
    expect(await readFile(path.join(dir, 'a'), 'utf8')).toBe('new');
    expect(await readFile(path.join(dir, 'c'), 'utf8')).toBe('3');
    expect((await readdir(dir)).sort()).toEqual(['..data', second, 'a', 'c'].sort());
  });

  it('projects only the listed items, at their paths and modes', async () => {
    await prepare(
      [
        {
          name: 'config',
          configMap: {
            name: 'cfg',
            defaultMode: 0o600,
            items: [
              { key: 'a', path: 'sub/a.txt' },
              { key: 'b', path: 'b', mode: 0o755 },
            ],
          },
        },
      ],
      new Map([['cfg', cm({ a: '1', b: '2', c: '3' })]]),
    );
    const dir = path.join(podDir, 'volumes', 'configmap', 'config');
    expect((await readdir(dir)).filter((e) => !e.startsWith('..')).sort()).toEqual(['b', 'sub']);
    expect(await readlink(path.join(dir, 'sub'))).toBe('..data/sub');
    expect(await readFile(path.join(dir, 'sub', 'a.txt'), 'utf8')).toBe('1');
    expect((await stat(path.join(dir, 'sub', 'a.txt'))).mode & 0o777).toBe(0o600);
    expect((await stat(path.join(dir, 'b'))).mode & 0o777).toBe(0o755);
  });

  it('decodes secrets', async () => {
    const v = await prepare(
      [{ name: 's', secret: { secretName: 'creds', defaultMode: 0o400 } }],
      new Map(),
      new Map([['creds', { metadata: { name: 'creds' }, data: { token: b64('t0k3n') } }]]),
    );
    const file = path.join(v.get('s')?.hostPath ?? '', 'token');
    expect(await readFile(file, 'utf8')).toBe('t0k3n');
    expect((await stat(file)).mode & 0o777).toBe(0o400);
  });

  it.each<[string, Volume, string]>([
    ['missing configmap', { name: 'v', configMap: { name: 'gone' } }, 'configmap "gone" not found'],
    ['missing secret', { name: 'v', secret: { secretName: 'gone' } }, 'secret "gone" not found'],
    [
      'missing item key',
      { name: 'v', configMap: { name: 'cfg', items: [{ key: 'nope', path: 'x' }] } },
      'configmap references non-existent config key: nope',
    ],
    [
      'persistentVolumeClaim',
      { name: 'v', persistentVolumeClaim: { claimName: 'c' } },
      'persistentvolumeclaim "c" not found',
    ],
    [
      'unknown type',
      { name: 'v', nfs: { server: 'x', path: '/' } },
      'nfs volumes are not supported',
    ],
  ])('fails on %s', async (_name, volume, message) => {
    expect(await prepareError([volume], new Map([['cfg', cm({ a: '1' })]]))).toBe(
      `MountVolume.SetUp failed for volume "v" : ${message}`,
    );
  });

  it('writes an empty volume for a missing optional source', async () => {
    const v = await prepare([{ name: 'v', configMap: { name: 'gone', optional: true } }]);
    const dir = v.get('v')?.hostPath ?? '';
    expect(await readdir(dir)).toEqual(expect.arrayContaining(['..data']));
    expect((await readdir(dir)).filter((e) => !e.startsWith('..'))).toEqual([]);
  });
});

describe('downwardAPI and projected volumes', () => {
  const labelled = (volumes: Volume[]): KubeObject => ({
    metadata: { name: 'p', namespace: 'default', uid: 'uid-1', labels: { b: '2', a: '1' } },
    spec: { containers: [{ name: 'c', resources: { limits: { memory: '64Mi' } } }], volumes },
  });

  it('writes pod fields and resource limits', async () => {
    const r = await prepareVolumes({
      pod: labelled([
        {
          name: 'info',
          downwardAPI: {
            items: [
              { path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } },
              { path: 'name', fieldRef: { fieldPath: 'metadata.name' } },
              {
                path: 'mem',
                resourceFieldRef: { containerName: 'c', resource: 'limits.memory', divisor: '1Mi' },
              },
              {
                path: 'cpu',
                resourceFieldRef: { containerName: 'c', resource: 'limits.cpu', divisor: '1m' },
              },
            ],
          },
        },
      ]),
      podDir,
      configMaps: new Map(),
      secrets: new Map(),
      nodeAllocatable: { cpu: '2' },
    });
    if ('error' in r) throw new Error(r.error);
    const dir = r.volumes.get('info')?.hostPath ?? '';
    expect(await readFile(path.join(dir, 'labels'), 'utf8')).toBe('a="1"\nb="2"');
    expect(await readFile(path.join(dir, 'name'), 'utf8')).toBe('p');
    expect(await readFile(path.join(dir, 'mem'), 'utf8')).toBe('64');
    expect(await readFile(path.join(dir, 'cpu'), 'utf8')).toBe('2000');
  });

  it('merges projected sources into one directory', async () => {
    const r = await prepareVolumes({
      pod: labelled([
        {
          name: 'all',
          projected: {
            defaultMode: 0o640,
            sources: [
              { configMap: { name: 'cfg' } },
              { secret: { name: 'creds', items: [{ key: 'token', path: 'auth/token' }] } },
              {
                downwardAPI: {
                  items: [{ path: 'ns', fieldRef: { fieldPath: 'metadata.namespace' } }],
                },
              },
              { configMap: { name: 'gone', optional: true } },
            ],
          },
        },
      ]),
      podDir,
      configMaps: new Map([['cfg', { metadata: { name: 'cfg' }, data: { 'app.conf': 'x' } }]]),
      secrets: new Map([['creds', { metadata: { name: 'creds' }, data: { token: b64('t') } }]]),
    });
    if ('error' in r) throw new Error(r.error);
    const dir = r.volumes.get('all')?.hostPath ?? '';
    expect(r.volumes.get('all')?.readOnly).toBe(true);
    expect(await readFile(path.join(dir, 'app.conf'), 'utf8')).toBe('x');
    expect(await readFile(path.join(dir, 'auth', 'token'), 'utf8')).toBe('t');
    expect(await readFile(path.join(dir, 'ns'), 'utf8')).toBe('default');
    expect((await stat(path.join(dir, 'ns'))).mode & 0o777).toBe(0o640);
  });

  it('refuses service account token projections', async () => {
    expect(
      await prepareError([
        { name: 'v', projected: { sources: [{ serviceAccountToken: { path: 'token' } }] } },
      ]),
    ).toBe(
      'MountVolume.SetUp failed for volume "v" : serviceAccountToken projections are not supported',
    );
  });
});

describe('mountsFor', () => {
  it('resolves mounts, readOnly and subPaths', async () => {
    const v = await prepare(
      [
        { name: 'scratch', emptyDir: {} },
        { name: 'config', configMap: { name: 'cfg' } },
      ],
      new Map([['cfg', { metadata: { name: 'cfg' }, data: { 'app.conf': 'x' } }]]),
    );
    const scratch = v.get('scratch')?.hostPath ?? '';
    const config = v.get('config')?.hostPath ?? '';
    const mounts = mountsFor(
      {
        name: 'c',
        volumeMounts: [
          { name: 'scratch', mountPath: '/data' },
          { name: 'scratch', mountPath: '/ro', readOnly: true },
          { name: 'scratch', mountPath: '/logs', subPath: 'logs/app' },
          { name: 'scratch', mountPath: '/per-pod', subPathExpr: '$(POD_NAME)' },
          { name: 'config', mountPath: '/etc/app' },
          { name: 'config', mountPath: '/etc/app.conf', subPath: 'app.conf' },
        ],
      },
      v,
      [{ name: 'POD_NAME', value: 'p' }],
    );
    const ts = await readlink(path.join(config, '..data'));
    expect(mounts).toEqual([
      { source: scratch, destination: '/data', readOnly: false },
      { source: scratch, destination: '/ro', readOnly: true },
      { source: path.join(scratch, 'logs/app'), destination: '/logs', readOnly: false },
      { source: path.join(scratch, 'p'), destination: '/per-pod', readOnly: false },
      { source: config, destination: '/etc/app', readOnly: true },
      { source: path.join(config, ts, 'app.conf'), destination: '/etc/app.conf', readOnly: true },
    ]);
    expect((await stat(path.join(scratch, 'logs/app'))).isDirectory()).toBe(true);
  });

  it('refuses subPaths that leave the volume', async () => {
    const v = await prepare([{ name: 'scratch', emptyDir: {} }]);
    const scratch = v.get('scratch')?.hostPath ?? '';
    await symlink('/etc', path.join(scratch, 'evil'));
    expect(() =>
      mountsFor(
        { name: 'c', volumeMounts: [{ name: 'scratch', mountPath: '/x', subPath: 'evil' }] },
        v,
      ),
    ).toThrow(/outside the volume/);
    expect(() =>
      mountsFor(
        { name: 'c', volumeMounts: [{ name: 'scratch', mountPath: '/x', subPath: '../x' }] },
        v,
      ),
    ).toThrow(/must not contain/);
    expect(() =>
      mountsFor({ name: 'c', volumeMounts: [{ name: 'nope', mountPath: '/x' }] }, v),
    ).toThrow(/cannot find volume/);
  });
});
