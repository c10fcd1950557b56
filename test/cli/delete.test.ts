// `shoal delete` against a real control plane: by name, TYPE/NAME, -l, --all
// and -f; result lines; cascade policies; --wait; and the error paths.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestControlplane, type TestControlplane } from '../support/controlplane.js';
import { runCli } from './harness.js';

let cp: TestControlplane;
let k: string[];
let dir: string;

const cms = (ns: string, ...names: string[]): string =>
  names
    .map(
      (n, i) =>
        `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${n}\n  namespace: ${ns}\n  labels: {idx: "${i % 2}"}\n`,
    )
    .join('---\n');

async function names(ns: string): Promise<string> {
  return (await runCli(['get', 'cm', '-n', ns, '-o', 'name', ...k])).stdout;
}

beforeAll(async () => {
  cp = await startTestControlplane();
  k = ['--kubeconfig', cp.kubeconfigPath];
  dir = await mkdtemp(join(tmpdir(), 'shoal-cli-delete-'));
  await runCli(['apply', '-f', '-', ...k], {
    stdin: ['d1', 'd2', 'd3']
      .map((n) => `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${n}\n`)
      .join('---\n'),
  });
});
afterAll(async () => {
  await cp?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('delete', () => {
  it('deletes by name, TYPE/NAME, selector and --all', async () => {
    await runCli(['apply', '-f', '-', ...k], { stdin: cms('d1', 'a', 'b', 'c', 'd', 'e') });
    expect(await runCli(['delete', 'cm', 'a', '-n', 'd1', ...k])).toEqual({
      code: 0,
      stdout: 'configmap "a" deleted\n',
      stderr: '',
    });
    expect((await runCli(['delete', 'configmap/b', '-n', 'd1', ...k])).stdout).toBe(
      'configmap "b" deleted\n',
    );
    // c (idx 0), d (idx 1), e (idx 0) remain.
    expect((await runCli(['delete', 'cm', '-l', 'idx=0', '-n', 'd1', ...k])).stdout).toBe(
      'configmap "c" deleted\nconfigmap "e" deleted\n',
    );
    expect(await names('d1')).toBe('configmap/d\n');
    expect((await runCli(['delete', 'cm', '--all', '-n', 'd1', '--wait', ...k])).stdout).toBe(
      'configmap "d" deleted\n',
    );
    expect(await names('d1')).toBe('');
    expect(await runCli(['delete', 'cm', '--all', '-n', 'd1', ...k])).toEqual({
      code: 0,
      stdout: '',
      stderr: 'No resources found\n',
    });
  });

  it('deletes what a manifest names', async () => {
    const f = join(dir, 'objs.yaml');
    await writeFile(f, cms('d2', 'x', 'y'));
    await runCli(['apply', '-f', f, ...k]);
    expect(await runCli(['delete', '-f', f, ...k])).toEqual({
      code: 0,
      stdout: 'configmap "x" deleted\nconfigmap "y" deleted\n',
      stderr: '',
    });
    const again = await runCli(['delete', '-f', f, ...k]);
    expect(again).toEqual({
      code: 1,
      stdout: '',
      stderr: `error: configmaps "x" not found\nerror: configmaps "y" not found\n`,
    });
    expect((await runCli(['delete', '-f', f, '--ignore-not-found', ...k])).code).toBe(0);
  });

  it('passes the cascade policy', async () => {
    const deploy = `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: d3\nspec:\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n      - {name: c, image: busybox}\n`;
    await runCli(['apply', '-f', '-', ...k], { stdin: deploy });
    // No garbage collector runs in this control plane: the orphan finalizer holds the object,
    // which shows the policy reached the server, and lets --wait time out.
    expect(
      await runCli([
        'delete',
        'deploy',
        'web',
        '-n',
        'd3',
        '--cascade=orphan',
        '--wait',
        '--timeout',
        '1s',
        ...k,
      ]),
    ).toEqual({
      code: 1,
      stdout: 'deployment.apps "web" deleted\n',
      stderr: 'error: timed out waiting for deployment.apps "web" to be deleted\n',
    });
    expect(
      (
        await runCli([
          'get',
          'deploy',
          'web',
          '-n',
          'd3',
          '-o',
          'jsonpath={.metadata.finalizers}',
          ...k,
        ])
      ).stdout,
    ).toBe('["orphan"]');
    const bad = await runCli(['delete', 'deploy', 'web', '--cascade=sometimes', ...k]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/must be one of background, foreground, orphan/);
  });

  it('reports not found, unknown kinds and usage errors', async () => {
    expect(await runCli(['delete', 'deploy', 'ghost', '-n', 'd3', ...k])).toEqual({
      code: 1,
      stdout: '',
      stderr: 'error: deployments.apps "ghost" not found\n',
    });
    expect(await runCli(['delete', 'gizmo', 'x', ...k])).toEqual({
      code: 1,
      stdout: '',
      stderr: 'error: the server doesn\'t have a resource type "gizmo"\n',
    });
    for (const args of [
      ['delete'],
      ['delete', 'cm'],
      ['delete', 'cm', 'a', '--all'],
      ['delete', 'cm', 'a', '-f', 'x.yaml'],
    ]) {
      const r = await runCli([...args, ...k]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/^error: /);
    }
  });
});
