// `shoal scale`, `shoal label` and `shoal annotate` against a real control plane.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestControlplane, type TestControlplane } from '../support/controlplane.js';
import { runCli } from './harness.js';

let cp: TestControlplane;
let k: string[];

const deploy = (name: string): string =>
  `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${name}\nspec:\n  replicas: 1\n  selector:\n    matchLabels: {app: ${name}}\n  template:\n    metadata:\n      labels: {app: ${name}}\n    spec:\n      containers:\n      - {name: c, image: busybox}\n`;

const jp = async (path: string): Promise<string> =>
  (await runCli(['get', 'deploy', 'web', '-o', `jsonpath=${path}`, ...k])).stdout;

beforeAll(async () => {
  cp = await startTestControlplane();
  k = ['--kubeconfig', cp.kubeconfigPath];
  await runCli(['apply', '-f', '-', ...k], { stdin: deploy('web') });
});
afterAll(async () => {
  await cp?.stop();
});

describe('scale', () => {
  it('sets replicas through the scale subresource', async () => {
    expect(await runCli(['scale', 'deploy/web', '--replicas', '4', ...k])).toEqual({
      code: 0,
      stdout: 'deployment.apps/web scaled\n',
      stderr: '',
    });
    expect(await jp('{.spec.replicas}')).toBe('4');
    expect((await runCli(['scale', 'deployment', 'web', '--replicas=0', ...k])).code).toBe(0);
    expect(await jp('{.spec.replicas}')).toBe('0');
  });

  it('fails on a missing object, a kind without scale, and bad usage', async () => {
    expect(await runCli(['scale', 'deploy/nope', '--replicas', '1', ...k])).toEqual({
      code: 1,
      stdout: '',
      stderr: 'error: deployments.apps "nope" not found\n',
    });
    const noScale = await runCli(['scale', 'cm/x', '--replicas', '1', ...k]);
    expect(noScale.code).toBe(1);
    expect(noScale.stderr).toMatch(/^error: configmap\/x: /);
    expect((await runCli(['scale', 'deploy/web', ...k])).code).toBe(2);
    expect((await runCli(['scale', 'deploy/web', '--replicas', '-1', ...k])).code).toBe(2);
    expect((await runCli(['scale', 'deploy', '--replicas', '1', ...k])).code).toBe(2);
  });
});

describe('label and annotate', () => {
  it('sets, refuses to overwrite without --overwrite, overwrites, and removes', async () => {
    expect(await runCli(['label', 'deploy', 'web', 'tier=front', ...k])).toEqual({
      code: 0,
      stdout: 'deployment.apps/web labeled\n',
      stderr: '',
    });
    expect(await runCli(['label', 'deploy/web', 'tier=back', ...k])).toEqual({
      code: 1,
      stdout: '',
      stderr:
        "error: deployment.apps/web: 'tier' already has a value (front), and --overwrite is false\n",
    });
    expect((await runCli(['label', 'deploy/web', 'tier=back', '--overwrite', ...k])).code).toBe(0);
    expect(await jp('{.metadata.labels.tier}')).toBe('back');
    expect((await runCli(['get', 'deploy', '-l', 'tier=back', '-o', 'name', ...k])).stdout).toBe(
      'deployment.apps/web\n',
    );
    expect((await runCli(['label', 'deploy', 'web', 'tier-', ...k])).stdout).toBe(
      'deployment.apps/web labeled\n',
    );
    expect(await jp('{.metadata.labels.tier}')).toBe('');

    expect((await runCli(['annotate', 'deploy', 'web', 'note=hello world', ...k])).stdout).toBe(
      'deployment.apps/web annotated\n',
    );
    expect(await jp('{.metadata.annotations.note}')).toBe('hello world');
  });

  it('reports usage errors and missing objects', async () => {
    expect((await runCli(['label', 'deploy', 'web', ...k])).code).toBe(2);
    expect((await runCli(['annotate', 'deploy', 'a=b', ...k])).code).toBe(2);
    expect(await runCli(['label', 'deploy', 'nope', 'a=b', ...k])).toEqual({
      code: 1,
      stdout: '',
      stderr: 'error: deployments.apps "nope" not found\n',
    });
  });
});
