// `shoal diff` against a real control plane: a server-side dry-run apply
// compared with the live object, printed as kubectl prints it, with kubectl
// diff's exit codes (0 same, 1 different, 2 error) and nothing changed.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { objectDiff } from '../../cli/commands/diff.js';
import { startTestControlplane, type TestControlplane } from '../support/controlplane.js';
import { runCli } from './harness.js';

let cp: TestControlplane;
let k: string[];
let dir: string;

const cm = (name: string, data: Record<string, string>): string =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: df\ndata:\n${Object.entries(
    data,
  )
    .map(([key, v]) => `  ${key}: "${v}"`)
    .join('\n')}\n`;

const deploy = (replicas: number, image: string): string => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: df
spec:
  replicas: ${replicas}
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: c
        image: ${image}
`;

beforeAll(async () => {
  cp = await startTestControlplane();
  k = ['--kubeconfig', cp.kubeconfigPath];
  dir = await mkdtemp(join(tmpdir(), 'shoal-cli-diff-'));
  const r = await runCli(['apply', '-f', '-', ...k], {
    stdin: `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: df\n---\n${cm('settings', { a: '1', b: '2' })}---\n${deploy(2, 'busybox:1')}`,
  });
  if (r.code !== 0) throw new Error(r.stderr);
});
afterAll(async () => {
  await cp?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('diff', () => {
  it('exits 0 and prints nothing when the files match the cluster', async () => {
    expect(
      await runCli(['diff', '-f', '-', ...k], { stdin: cm('settings', { a: '1', b: '2' }) }),
    ).toEqual({
      code: 0,
      stdout: '',
      stderr: '',
    });
  });

  it('prints a unified diff labelled like kubectl and exits 1; the object is unchanged', async () => {
    const r = await runCli(['diff', '-f', '-', ...k], {
      stdin: cm('settings', { a: '1', b: '3' }),
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(
      [
        'diff -u -N live/v1.ConfigMap.df.settings merged/v1.ConfigMap.df.settings',
        '--- live/v1.ConfigMap.df.settings',
        '+++ merged/v1.ConfigMap.df.settings',
        '@@ -1,8 +1,8 @@',
        ' apiVersion: v1',
        ' data:',
        '   a: "1"',
        '-  b: "2"',
        '+  b: "3"',
        ' kind: ConfigMap',
        ' metadata:',
        '   creationTimestamp: ' + r.stdout.split('creationTimestamp: ')[1]!.split('\n')[0]!,
        '   name: settings',
        '',
      ].join('\n') + r.stdout.split('   name: settings\n')[1],
    );
    // managedFields, which kubectl diff leaves out, are not shown.
    expect(r.stdout).not.toContain('managedFields');
    const live = await runCli([
      'get',
      'cm',
      'settings',
      '-n',
      'df',
      '-o',
      'jsonpath={.data.b}',
      ...k,
    ]);
    expect(live.stdout).toBe('2');
  });

  it('shows spec changes of a Deployment, and generation as the server would bump it', async () => {
    const file = join(dir, 'web.yaml');
    await writeFile(file, deploy(3, 'busybox:2'));
    const r = await runCli(['diff', '-f', file, ...k]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /^diff -u -N live\/apps\.v1\.Deployment\.df\.web merged\/apps\.v1\.Deployment\.df\.web\n/,
    );
    expect(r.stdout).toContain('\n-  replicas: 2\n+  replicas: 3\n');
    expect(r.stdout).toContain('-      - image: busybox:1\n+      - image: busybox:2\n');
    expect(r.stdout).toContain('-  generation: 1\n+  generation: 2\n');
  });

  it('diffs a new object against nothing, and walks directories with -R', async () => {
    await writeFile(join(dir, 'new.yaml'), cm('fresh', { x: 'y' }));
    const r = await runCli(['diff', '-f', dir, '-R', ...k]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      '--- live/v1.ConfigMap.df.fresh\n+++ merged/v1.ConfigMap.df.fresh\n@@ -0,0 +1,',
    );
    expect(r.stdout).toContain('+  x: y\n');
    expect((await runCli(['get', 'cm', 'fresh', '-n', 'df', ...k])).code).toBe(1);
  });

  it('exits 2 with file:line for a bad file, naming the object for a server error', async () => {
    const bad = join(dir, 'bad.yml');
    await writeFile(bad, 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [x\n');
    const r = await runCli(['diff', '-f', bad, ...k]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(new RegExp(`^error: ${bad}:\\d+:\\d+: .+\\n$`));
    await rm(bad);

    const invalid = await runCli(['diff', '-f', '-', ...k], {
      stdin: `${cm('settings', { a: '1', b: '3' })}---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: odd\n  namespace: df\ndata:\n  k: v\nbogus: 1\n`,
    });
    expect(invalid.code).toBe(2);
    // The good object's diff still prints.
    expect(invalid.stdout).toContain('+  b: "3"');
    expect(invalid.stderr).toMatch(/^error: STDIN:\d+:\d+: configmap\/odd: .*bogus.*\n$/);

    const kind = await runCli(['diff', '-f', '-', ...k], {
      stdin: 'apiVersion: v9\nkind: Gadget\nmetadata:\n  name: g\n',
    });
    expect(kind).toEqual({
      code: 2,
      stdout: '',
      stderr: 'error: STDIN:1:1: gadget/g: no matches for kind "Gadget" in version "v9"\n',
    });
    expect((await runCli(['diff', ...k])).code).toBe(2);
    expect((await runCli(['diff', '-f', join(dir, 'nope.yaml'), ...k])).stderr).toBe(
      `error: the path "${join(dir, 'nope.yaml')}" does not exist\n`,
    );
  });

  it('masks Secret values as kubectl does', () => {
    const secret = (data: Record<string, string>): Record<string, unknown> => ({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's', namespace: 'df' },
      data,
    });
    const text = objectDiff(
      'v1.Secret.df.s',
      secret({ same: 'YQ==', changed: 'Yg==' }),
      secret({ same: 'YQ==', changed: 'Yw==' }),
    );
    expect(text).toContain('-  changed: "*** (before)"\n+  changed: "*** (after)"\n');
    expect(text).toContain('   same: "***"\n');
    expect(text).not.toMatch(/YQ==|Yg==|Yw==/);
  });
});
