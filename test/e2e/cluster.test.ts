// `shoal cluster up|status|down` end to end. up/down/status are called in
// this process (status also through the commander wiring that cli/program.ts
// uses); everything they start is real and detached: the control plane with
// its etcd, docker-registry, and `shoal agent` processes from dist/ (run
// `npm run build` first) on network-namespace hosts. kubectl, pointed at the
// test's own HOME, checks what a user would see. After `down`, nothing may be
// left: namespaces, links, mounts, processes, cgroups, files, the context.

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Command } from 'commander';
import { parse } from 'yaml';
import {
  clusterDown,
  clusterStatus,
  clusterUp,
  registerClusterCommands,
} from '../../cli/cluster/index.js';
import { mountsUnder } from '../../cli/cluster/cleanup.js';
import { isRunning, processesMentioning } from '../../cli/cluster/processes.js';
import type { ClusterLayout } from '../../cli/cluster/layout.js';

const run = promisify(execFile);
const DIST_MAIN = new URL('../../dist/cli/main.js', import.meta.url).pathname;
const POLL = { timeout: 90_000, interval: 500 };

const name = `t${randomBytes(2).toString('hex')}`;
let tmp: string;
let stateDir: string;
let home: string;
let layout: ClusterLayout | undefined;
const savedEnv = { HOME: process.env.HOME, KUBECONFIG: process.env.KUBECONFIG };

function sink(): { stream: Writable; text: () => string } {
  let text = '';
  return {
    stream: new Writable({
      write(chunk: Buffer, _enc, done) {
        text += chunk.toString();
        done();
      },
    }),
    text: () => text,
  };
}

async function kubectl(...args: string[]): Promise<string> {
  const { stdout } = await run('kubectl', args, {
    env: { ...process.env, HOME: home, KUBECONFIG: '' },
  });
  return stdout;
}

function podManifest(pod: string, node: string, image: string): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: pod },
    spec: {
      nodeName: node,
      terminationGracePeriodSeconds: 1,
      containers: [{ name: 'main', image, command: ['sleep', '3600'] }],
    },
  });
}

beforeAll(async () => {
  if (!existsSync(DIST_MAIN)) throw new Error(`${DIST_MAIN} is missing: run \`npm run build\``);
  tmp = await mkdtemp(join(tmpdir(), 'shoal-cluster-test-'));
  stateDir = join(tmp, 'state');
  home = join(tmp, 'home');
  // os.homedir() reads HOME: ~/.kube/config becomes the test's own file,
  // which already holds another context that must survive.
  process.env.HOME = home;
  delete process.env.KUBECONFIG;
  await run('mkdir', ['-p', join(home, '.kube')]);
  await writeFile(
    join(home, '.kube', 'config'),
    `apiVersion: v1
kind: Config
clusters:
  - name: other
    cluster: { server: 'https://127.0.0.1:1' }
users:
  - name: other
    user: { token: x }
contexts:
  - name: other
    context: { cluster: other, user: other }
current-context: other
`,
  );
});

afterAll(async () => {
  // Whatever a failed test left: down is idempotent.
  await clusterDown({ name, stateDir, out: sink().stream, err: sink().stream }).catch(
    (err: unknown) => console.error(err),
  );
  process.env.HOME = savedEnv.HOME;
  if (savedEnv.KUBECONFIG !== undefined) process.env.KUBECONFIG = savedEnv.KUBECONFIG;
  if (tmp) await rm(tmp, { recursive: true, force: true });
}, 120_000);

describe('shoal cluster', () => {
  it('up makes two hosts whose nodes get Ready, and switches kubectl to them', async () => {
    const out = sink();
    const err = sink();
    const result = await clusterUp({
      name,
      nodes: 2,
      stateDir,
      out: out.stream,
      err: err.stream,
    });
    layout = result.layout;
    expect(result.alreadyUp).toBe(false);
    expect(out.text()).toContain(`cluster ${name} is up: 2 nodes Ready`);
    expect(out.text()).toContain(`${layout.gateway}:5000/busybox:latest`);
    expect(err.text()).toMatch(/waiting for 2 nodes: 2\/2 Ready/);

    expect((await kubectl('config', 'current-context')).trim()).toBe(`shoal-${name}`);
    const nodes = await kubectl('get', 'nodes', '--no-headers');
    const rows = nodes
      .trim()
      .split('\n')
      .map((l) => l.split(/\s+/).slice(0, 2));
    expect(rows).toEqual([
      [`shoal-${name}-1`, 'Ready'],
      [`shoal-${name}-2`, 'Ready'],
    ]);
  }, 240_000);

  it('runs a pod on each host from the registry it preloaded', async () => {
    const l = layout!;
    for (const [i, host] of l.hosts.entries()) {
      const file = join(tmp, `pod-${i}.json`);
      await writeFile(file, podManifest(`p${i}`, host.name, l.busyboxImage));
      await kubectl('apply', '-f', file);
    }
    for (const [i, host] of l.hosts.entries()) {
      await expect
        .poll(
          () => kubectl('get', 'pod', `p${i}`, '-o', 'jsonpath={.status.phase}').catch(() => ''),
          POLL,
        )
        .toBe('Running');
      expect(await kubectl('get', 'pod', `p${i}`, '-o', 'jsonpath={.status.hostIP}')).toBe(
        host.address,
      );
    }
  }, 240_000);

  it('applies the web example with --wait, scales it, rolls it and deletes it, through `shoal`', async () => {
    const l = layout!;
    const shoal = async (...args: string[]): Promise<string> =>
      (
        await run('node', [DIST_MAIN, ...args], {
          env: { ...process.env, HOME: home, KUBECONFIG: '' },
        })
      ).stdout;
    // The shipped example, pointed at this cluster's registry.
    const example = await readFile(
      new URL('../../deploy/examples/web.yaml', import.meta.url),
      'utf8',
    );
    const file = join(tmp, 'web.yaml');
    await writeFile(file, example.replaceAll('10.213.0.1:5000/busybox:latest', l.busyboxImage));

    const applied = await shoal('apply', '-f', file, '--wait', '--timeout', '3m');
    expect(applied).toContain('deployment.apps/web created');
    expect(await kubectl('get', 'deploy', 'web', '-o', 'jsonpath={.status.readyReplicas}')).toBe(
      '3',
    );
    const nodes = new Set(
      (await kubectl('get', 'pods', '-l', 'app=web', '-o', 'jsonpath={.items[*].spec.nodeName}'))
        .split(' ')
        .filter(Boolean),
    );
    expect(nodes.size).toBe(l.hosts.length);

    await shoal('scale', 'deploy/web', '--replicas', '4');
    expect(await shoal('rollout', 'status', 'deploy/web', '--timeout', '3m')).toContain(
      'successfully rolled out',
    );
    expect(await kubectl('get', 'deploy', 'web', '-o', 'jsonpath={.status.readyReplicas}')).toBe(
      '4',
    );

    const before = await kubectl('get', 'rs', '-l', 'app=web', '-o', 'name');
    await shoal('rollout', 'restart', 'deploy/web');
    expect(await shoal('rollout', 'status', 'deploy/web', '--timeout', '3m')).toContain(
      'successfully rolled out',
    );
    const after = await kubectl('get', 'rs', '-l', 'app=web', '-o', 'name');
    expect(after.split('\n').filter(Boolean).length).toBeGreaterThan(
      before.split('\n').filter(Boolean).length,
    );

    await shoal('delete', '-f', file, '--wait');
    await expect.poll(() => kubectl('get', 'pods', '-l', 'app=web', '-o', 'name'), POLL).toBe('');
  }, 600_000);

  it('status reports every process running and every node Ready, through the CLI wiring', async () => {
    const status = await clusterStatus({ name, stateDir, out: sink().stream });
    expect(status.up).toBe(true);
    expect(status.processes.map((p) => p.name)).toEqual([
      'controlplane',
      'registry',
      `agent-shoal-${name}-1`,
      `agent-shoal-${name}-2`,
    ]);
    expect(status.nodes).toEqual([
      { name: `shoal-${name}-1`, status: 'Ready' },
      { name: `shoal-${name}-2`, status: 'Ready' },
    ]);

    const program = new Command('shoal').exitOverride();
    registerClusterCommands(program);
    let printed = '';
    const spy = vi
      .spyOn(process.stdout, 'write')
      .mockImplementation((chunk: string | Uint8Array) => {
        printed += chunk.toString();
        return true;
      });
    try {
      // Resolves (exit 0) only when the cluster is fully up.
      await program.parseAsync(['cluster', 'status', '--name', name, '--state-dir', stateDir], {
        from: 'user',
      });
    } finally {
      spy.mockRestore();
    }
    expect(printed).toMatch(new RegExp(`shoal-${name}-1\\s+Ready`));
    expect(printed).toMatch(/controlplane\s+\d+\s+running/);
  });

  it('a second up changes nothing and reports the running cluster', async () => {
    const before = await clusterStatus({ name, stateDir, out: sink().stream });
    const out = sink();
    const result = await clusterUp({ name, stateDir, out: out.stream, err: sink().stream });
    expect(result.alreadyUp).toBe(true);
    expect(out.text()).toContain(`cluster ${name} is already up`);
    const after = await clusterStatus({ name, stateDir, out: sink().stream });
    expect(after.processes).toEqual(before.processes);
  }, 120_000);

  it('down removes everything up made and leaves the other kubeconfig context', async () => {
    const l = layout!;
    // Every process that names the state directory: daemons, etcd, container monitors.
    const pids = await processesMentioning(l.stateDir);
    expect(pids.length).toBeGreaterThanOrEqual(5);
    expect(await mountsUnder(l.stateDir)).not.toEqual([]);

    const out = sink();
    const result = await clusterDown({ name, stateDir, out: out.stream, err: sink().stream });
    expect(result.removed).toBe(true);
    expect(out.text()).toContain(`cluster ${name} is down`);

    const { stdout: netns } = await run('ip', ['netns', 'list']);
    expect(netns).not.toContain(`shoal-${name}`);
    const { stdout: links } = await run('ip', ['-o', 'link']);
    expect(links).not.toContain(`shoal-${name}`);
    expect(links).not.toContain(`sh-${name}-`);
    expect(await mountsUnder(l.stateDir)).toEqual([]);
    for (const pid of pids) expect(await isRunning(pid), `pid ${pid}`).toBe(false);
    // The containers (sleep 3600) ran in the agents' cgroups; those are gone.
    for (const controller of await readdir('/sys/fs/cgroup')) {
      const entries = await readdir(join('/sys/fs/cgroup', controller)).catch(() => []);
      expect(entries.filter((e) => e.startsWith(`shoal-shoal-${name}-`))).toEqual([]);
    }
    expect(existsSync(l.stateDir)).toBe(false);

    const config = parse(await readFile(join(home, '.kube', 'config'), 'utf8')) as {
      contexts: { name: string }[];
      clusters: { name: string }[];
      users: { name: string }[];
      'current-context'?: string;
    };
    expect(config.contexts.map((c) => c.name)).toEqual(['other']);
    expect(config.clusters.map((c) => c.name)).toEqual(['other']);
    expect(config.users.map((c) => c.name)).toEqual(['other']);
    expect(config['current-context']).toBe('other');

    // A second down finds nothing to do.
    expect((await clusterDown({ name, stateDir, out: sink().stream })).removed).toBe(false);
  }, 120_000);
});
