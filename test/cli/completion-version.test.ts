// `shoal completion bash|zsh`, sourced into a real bash and driven through
// COMP_WORDS as bash drives it; `shoal version` with and without a server.

import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { GIT_VERSION } from '../../controlplane/version.js';
import { startTestControlplane, type TestControlplane } from '../support/controlplane.js';
import { SHOAL_CLI } from '../support/paths.js';
import { runCli } from './harness.js';

let dir: string;
let script: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shoal-cli-completion-'));
  const r = await runCli(['completion', 'bash']);
  if (r.code !== 0) throw new Error(r.stderr);
  script = join(dir, 'shoal.bash');
  await writeFile(script, r.stdout);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const run = promisify(execFile);

/**
 * What bash would offer for the words typed so far (the last one being
 * completed). Asynchronous: the control plane these tests start runs in this
 * process and must keep answering the `shoal` the script calls.
 */
async function complete(
  words: string[],
  env: Record<string, string> = { PATH: '/usr/bin:/bin' },
): Promise<string[]> {
  // Unless env's PATH has a `shoal`, lookups of contexts and names find nothing.
  const program = `
source ${JSON.stringify(script)}
COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')})
COMP_CWORD=${words.length - 1}
_shoal
printf '%s\\n' "\${COMPREPLY[@]}"`;
  const r = await run('bash', ['--norc', '--noprofile', '-c', program], {
    encoding: 'utf8',
    env,
    timeout: 30_000,
  });
  return r.stdout.split('\n').filter(Boolean).sort();
}

describe('completion bash', () => {
  it('registers a completion function when sourced', () => {
    const r = spawnSync('bash', ['--norc', '-c', `source ${script}; complete -p shoal`], {
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('complete -F _shoal shoal\n');
  });

  it('completes commands, subcommands and flags from the program', async () => {
    const top = await complete(['shoal', '']);
    for (const c of ['apply', 'get', 'describe', 'diff', 'config', 'version', 'completion'])
      expect(top).toContain(c);
    expect(await complete(['shoal', 'de'])).toEqual(['delete', 'describe']);
    expect(await complete(['shoal', 'config', ''])).toEqual([
      'current-context',
      'get-contexts',
      'use-context',
      'view',
    ]);
    expect(await complete(['shoal', 'config', 'view', '--m'])).toEqual(['--minify']);
    expect(await complete(['shoal', 'diff', '-'])).toEqual(
      expect.arrayContaining(['-f', '--filename', '-R', '--kubeconfig', '--context', '-n', '-h']),
    );
  });

  it('completes resource types after get/describe/delete, skipping flag values', async () => {
    expect(await complete(['shoal', 'describe', 'dep'])).toEqual(['deploy', 'deployments']);
    expect(await complete(['shoal', 'get', '-n', 'kube-system', 'po'])).toEqual(['po', 'pods']);
    expect(await complete(['shoal', 'delete', '--kubeconfig', 'x', 'se'])).toEqual([
      'secrets',
      'services',
    ]);
    // After the type come object names, asked of the cluster (none here).
    expect(await complete(['shoal', 'get', 'pods', ''])).toEqual([]);
  });

  it('completes flag values it knows and argument choices', async () => {
    expect(await complete(['shoal', 'get', 'pods', '-o', 'y'])).toEqual(['yaml']);
    expect(await complete(['shoal', 'completion', ''])).toEqual(['bash', 'zsh']);
    expect(await complete(['shoal', 'version', '-o', ''])).toEqual(['json', 'yaml']);
  });

  it('prints a zsh script built on the same function, and refuses other shells', async () => {
    const zsh = await runCli(['completion', 'zsh']);
    expect(zsh.code).toBe(0);
    expect(zsh.stdout).toMatch(/^#compdef shoal\n/);
    expect(zsh.stdout).toContain('bashcompinit');
    expect(zsh.stdout).toContain('complete -F _shoal shoal');
    const fish = await runCli(['completion', 'fish']);
    expect(fish.code).toBe(2);
    expect(fish.stderr).toContain("'fish' is invalid");
    expect((await runCli(['completion', '--help'])).stdout).toContain('Examples:');
  });
});

// Against a server: `version`, and completion of what only a cluster knows.
describe('version and cluster completion', () => {
  let cp: TestControlplane;
  beforeAll(async () => {
    cp = await startTestControlplane();
  });
  afterAll(async () => {
    await cp?.stop();
  });

  it('completes namespaces, object names and contexts by asking the shoal on PATH', async () => {
    const bin = join(dir, 'bin');
    await mkdir(bin, { recursive: true });
    await writeFile(join(bin, 'shoal'), `#!/bin/sh\nexec ${process.execPath} ${SHOAL_CLI} "$@"\n`, {
      mode: 0o755,
    });
    await runCli(['apply', '-f', '-', '--kubeconfig', cp.kubeconfigPath], {
      stdin: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: comp-me\n  namespace: default\n',
    });
    const env = { PATH: `${bin}:/usr/bin:/bin`, KUBECONFIG: cp.kubeconfigPath, HOME: dir };
    expect(await complete(['shoal', 'get', '-n', 'def'], env)).toEqual(['default']);
    expect(await complete(['shoal', 'describe', 'cm', '-n', 'default', 'comp'], env)).toEqual([
      'comp-me',
    ]);
    const contexts = await complete(['shoal', 'config', 'use-context', ''], env);
    expect(contexts.length).toBeGreaterThan(0);
  });

  it('prints the client and the server version', async () => {
    const r = await runCli(['version', '--kubeconfig', cp.kubeconfigPath]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(
      new RegExp(
        `^Client Version: ${escape(GIT_VERSION)} \\(linux/\\w+\\)\\nServer Version: ${escape(GIT_VERSION)} \\(linux/\\w+\\)\\n$`,
      ),
    );
  });

  it('prints json and yaml documents', async () => {
    const json = await runCli(['version', '-o', 'json', '--kubeconfig', cp.kubeconfigPath]);
    const doc = JSON.parse(json.stdout) as Record<string, Record<string, unknown>>;
    expect(doc.clientVersion).toMatchObject({ gitVersion: GIT_VERSION, major: '1' });
    expect(doc.serverVersion).toMatchObject({ gitVersion: GIT_VERSION, compiler: 'node' });
    const yaml = await runCli(['version', '--client', '-o', 'yaml']);
    expect(yaml.code).toBe(0);
    expect(parse(yaml.stdout)).toEqual({
      clientVersion: expect.objectContaining({ gitVersion: GIT_VERSION }),
    });
    expect((await runCli(['version', '-o', 'table'])).code).toBe(2);
  });

  it('--client needs no kubeconfig or server', async () => {
    const r = await runCli(['version', '--client'], { env: { HOME: dir } });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Client Version: v1\.\d+\.\d+\+shoal-\S+ \(linux\/\w+\)\n$/);
  });

  it('prints the client line, then one error line and exit 1, without a server', async () => {
    const dead = join(dir, 'dead.kubeconfig');
    await writeFile(
      dead,
      'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n',
    );
    const r = await runCli(['version', '--kubeconfig', dead]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^Client Version: .+\n$/);
    expect(r.stderr).toMatch(
      /^error: cannot reach the API server at https:\/\/127\.0\.0\.1:1: .+\n$/,
    );
    expect((await runCli(['version', '--context', 'nope', '--kubeconfig', dead])).stderr).toBe(
      'error: context "nope" does not exist\n',
    );
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
