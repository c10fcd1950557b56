// `shoal config` on kubeconfig files in a temp dir: view (merged, redacted,
// --minify, --raw), get-contexts, current-context and use-context, which
// writes only current-context into the right file. No cluster is needed.

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { withCurrentContext } from '../../cli/commands/config.js';
import { runCli } from './harness.js';

let dir: string;
let main: string;
let extra: string;

const MAIN = `# the team's clusters
apiVersion: v1
kind: Config
clusters:
- name: prod
  cluster: {server: "https://10.0.0.1:6443", certificate-authority-data: "Q0EK"}
- name: dev
  cluster: {server: "https://127.0.0.1:6443", insecure-skip-tls-verify: true}
users:
- name: admin
  user: {client-certificate-data: "Q0VSVAo=", client-key-data: "S0VZCg=="}
- name: dev-user
  user: {token: "s3cr3t"}
contexts:
- name: prod
  context: {cluster: prod, user: admin, namespace: web}
- name: dev
  context: {cluster: dev, user: dev-user}
current-context: prod
`;

const EXTRA = `apiVersion: v1
kind: Config
clusters:
- name: lab
  cluster: {server: "https://192.168.1.2:6443"}
users:
- name: lab-user
  user: {username: me, password: pw}
contexts:
- name: lab
  context: {cluster: lab, user: lab-user}
- name: prod
  context: {cluster: lab, user: lab-user}
`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shoal-cli-config-'));
  main = join(dir, 'main.yaml');
  extra = join(dir, 'extra.yaml');
  await writeFile(main, MAIN);
  await writeFile(extra, EXTRA);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const env = (): Record<string, string> => ({
  KUBECONFIG: [main, extra].join(delimiter),
  HOME: dir,
});

describe('config view', () => {
  it('merges the KUBECONFIG files, first wins, and redacts secrets as kubectl does', async () => {
    const r = await runCli(['config', 'view'], { env: env() });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: DATA+OMITTED
    server: https://10.0.0.1:6443
  name: prod
- cluster:
    insecure-skip-tls-verify: true
    server: https://127.0.0.1:6443
  name: dev
- cluster:
    server: https://192.168.1.2:6443
  name: lab
contexts:
- context:
    cluster: prod
    namespace: web
    user: admin
  name: prod
- context:
    cluster: dev
    user: dev-user
  name: dev
- context:
    cluster: lab
    user: lab-user
  name: lab
current-context: prod
kind: Config
preferences: {}
users:
- name: admin
  user:
    client-certificate-data: DATA+OMITTED
    client-key-data: DATA+OMITTED
- name: dev-user
  user:
    token: REDACTED
- name: lab-user
  user:
    password: REDACTED
    username: me
`);
  });

  it('--minify keeps the current context, its cluster and user; --raw shows the data', async () => {
    const r = await runCli(['config', 'view', '--minify', '--raw', '--context', 'dev'], {
      env: env(),
    });
    expect(r.code).toBe(0);
    const doc = parse(r.stdout) as Record<string, unknown>;
    expect(doc).toEqual({
      apiVersion: 'v1',
      clusters: [
        {
          cluster: { 'insecure-skip-tls-verify': true, server: 'https://127.0.0.1:6443' },
          name: 'dev',
        },
      ],
      contexts: [{ context: { cluster: 'dev', user: 'dev-user' }, name: 'dev' }],
      'current-context': 'dev',
      kind: 'Config',
      preferences: {},
      users: [{ name: 'dev-user', user: { token: 's3cr3t' } }],
    });
    const json = await runCli(['config', 'view', '-o', 'json', '--kubeconfig', extra]);
    expect(JSON.parse(json.stdout)).toMatchObject({ 'current-context': '', kind: 'Config' });
  });

  it('fails on --minify without a current context, a missing file and an unknown context', async () => {
    expect(await runCli(['config', 'view', '--minify', '--kubeconfig', extra])).toEqual({
      code: 1,
      stdout: '',
      stderr: 'error: current-context must exist in order to minify\n',
    });
    const missing = join(dir, 'nope.yaml');
    expect(await runCli(['config', 'view', '--kubeconfig', missing])).toEqual({
      code: 1,
      stdout: '',
      stderr: `error: stat ${missing}: no such file or directory\n`,
    });
    expect(await runCli(['config', 'view', '--context', 'nope'], { env: env() })).toEqual({
      code: 1,
      stdout: '',
      stderr: 'error: context "nope" does not exist\n',
    });
  });

  it('names the file and line of a broken kubeconfig', async () => {
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, 'apiVersion: v1\nclusters: [\n');
    const r = await runCli(['config', 'view', '--kubeconfig', bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^error: ${bad}:\\d+:\\d+: .+\\n$`));
  });
});

describe('config get-contexts / current-context', () => {
  it('lists the contexts with the current one starred', async () => {
    expect(await runCli(['config', 'get-contexts'], { env: env() })).toEqual({
      code: 0,
      stdout:
        'CURRENT   NAME   CLUSTER   AUTHINFO   NAMESPACE\n' +
        '          dev    dev       dev-user\n' +
        '          lab    lab       lab-user\n' +
        '*         prod   prod      admin      web\n',
      stderr: '',
    });
    expect((await runCli(['config', 'get-contexts', '-o', 'name'], { env: env() })).stdout).toBe(
      'dev\nlab\nprod\n',
    );
    expect(
      (await runCli(['config', 'get-contexts', 'lab', '--no-headers'], { env: env() })).stdout,
    ).toBe('          lab    lab       lab-user\n');
    expect(await runCli(['config', 'get-contexts', 'zz'], { env: env() })).toEqual({
      code: 1,
      stdout: '',
      stderr: 'error: context zz not found\n',
    });
    expect((await runCli(['config', 'get-contexts', '-o', 'wide'], { env: env() })).code).toBe(2);
  });

  it('prints the current context, or fails when none is set', async () => {
    expect(await runCli(['config', 'current-context'], { env: env() })).toEqual({
      code: 0,
      stdout: 'prod\n',
      stderr: '',
    });
    expect(await runCli(['config', 'current-context', '--kubeconfig', extra])).toEqual({
      code: 1,
      stdout: '',
      stderr: 'error: current-context is not set\n',
    });
  });
});

describe('config use-context', () => {
  it('writes current-context into the file that sets it, keeping the rest', async () => {
    const r = await runCli(['config', 'use-context', 'lab'], { env: env() });
    expect(r).toEqual({ code: 0, stdout: 'Switched to context "lab".\n', stderr: '' });
    const text = await readFile(main, 'utf8');
    expect(text).toBe(MAIN.replace('current-context: prod', 'current-context: lab'));
    expect(await readFile(extra, 'utf8')).toBe(EXTRA);
    expect((await runCli(['config', 'current-context'], { env: env() })).stdout).toBe('lab\n');
  });

  it('writes the --kubeconfig file when given', async () => {
    const r = await runCli(['config', 'use-context', 'lab', '--kubeconfig', extra]);
    expect(r.code).toBe(0);
    expect(parse(await readFile(extra, 'utf8'))).toMatchObject({ 'current-context': 'lab' });
  });

  it('adds current-context to a file without one, block or flow style', () => {
    expect(withCurrentContext('apiVersion: v1\nkind: Config', 'a b', 'f')).toBe(
      'apiVersion: v1\nkind: Config\ncurrent-context: a b\n',
    );
    expect(withCurrentContext('{"apiVersion": "v1", "current-context": "x"}', 'y', 'f')).toBe(
      '{ "apiVersion": "v1", "current-context": "y" }\n',
    );
    expect(withCurrentContext('{"apiVersion": "v1"}', 'y', 'f')).toBe(
      '{ "apiVersion": "v1", current-context: y }\n',
    );
    expect(() => withCurrentContext('- a\n', 'y', 'f.yaml')).toThrow(
      'f.yaml: a kubeconfig must be a mapping',
    );
  });

  it('refuses an unknown context and changes nothing', async () => {
    const before = await readFile(main, 'utf8');
    expect(await runCli(['config', 'use-context', 'nope'], { env: env() })).toEqual({
      code: 1,
      stdout: '',
      stderr: 'error: no context exists with the name: "nope"\n',
    });
    expect(await readFile(main, 'utf8')).toBe(before);
    expect((await runCli(['config', 'use-context'], { env: env() })).code).toBe(2);
  });
});
