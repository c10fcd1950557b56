// Pod start benchmark (issue 5), one run as root, each figure beside its baseline:
//   1. raw `runc run -d` of a busybox bundle, one container at a time (baseline
//      for 2: what the runtime alone costs);
//   2. pod start through Shoal: a pod created with spec.nodeName (so creation
//      is the binding) until a watch on pods delivers it with phase Running,
//      on one agent in a network-namespace host, image already pulled;
//   3. a cold pull of the busybox image by the agent's ImagePuller, against
//      `skopeo copy` of the same image from the same registry.
//
//   npm run build && node dist/test/bench/pod-start.js [--runc 20] [--pods 50] [--wave 10] [--pulls 5]
//
// Everything it makes (containers, pods, agent, lab hosts, registry, control
// plane, temp dirs) is removed before it exits, on failure too.

import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { Agent, type RequestOptions } from 'node:https';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { ImagePuller } from '../../nodeagent/images/puller.js';
import { createLab } from '../support/hosts.js';
import { startRegistry } from '../support/registry.js';
import { startTestControlplane } from '../support/controlplane.js';
import { runcContainers, scrubAgent, startAgentOn } from '../support/agents.js';
import { waitFor } from '../support/wait.js';
import { repoRoot } from '../support/paths.js';

const run = promisify(execFile);

/**
 * client-node 1.x makes a new https.Agent, so a new TLS connection, for every
 * request; kubectl and client-go keep theirs. On two cores the load
 * generator's handshakes (both ends run here) would be timed as pod start,
 * so the bench's client keeps one connection pool.
 */
class KeepAliveKubeConfig extends k8s.KubeConfig {
  private agent: Agent | undefined;

  override async applySecurityAuthentication(context: k8s.RequestContext): Promise<void> {
    await super.applySecurityAuthentication(context);
    if (!this.agent) {
      const opts: RequestOptions = {};
      await this.applyToHTTPSOptions(opts);
      this.agent = new Agent({ keepAlive: true, ca: opts.ca, cert: opts.cert, key: opts.key });
    }
    context.setAgent(this.agent);
  }

  close(): void {
    this.agent?.destroy();
  }
}

/**
 * The repository root, found upwards from this file. The support modules
 * resolve their files relative to themselves, which points into dist/ when
 * they run compiled (dist/dist/cli/main.js, dist/test/support/busybox-image.sh),
 * so this script finds the shoal binary and the image script itself.
 */
const ROOT = repoRoot();
const BUSYBOX_SCRIPT = join(ROOT, 'deploy', 'busybox-image.sh');
const BUSYBOX_LAYOUT_DIR = join(ROOT, '.tmp', 'busybox-oci');

interface Options {
  runc: number;
  pods: number;
  wave: number;
  pulls: number;
}

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i > 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name}: expected a positive integer`);
  return v;
}

/** Nearest-rank percentile of an ascending array. */
function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const ascending = (xs: number[]): number[] => [...xs].sort((a, b) => a - b);
const ms = (n: number): string => `${n.toFixed(n < 100 ? 1 : 0)} ms`;
const progress = (msg: string): void => void process.stderr.write(`… ${msg}\n`);

/** Cleanups run last-in first-out, each one whatever the others did. */
class Teardown {
  private readonly steps: { what: string; fn: () => Promise<void> }[] = [];
  add(what: string, fn: () => Promise<void>): void {
    this.steps.push({ what, fn });
  }
  async run(): Promise<void> {
    for (const step of this.steps.splice(0).reverse()) {
      try {
        await step.fn();
      } catch (err) {
        console.error(`cleanup "${step.what}" failed:`, err);
      }
    }
  }
}

/** Runs a child with stdio on /dev/null (a detached container keeps any pipe open) and waits for it. */
async function quiet(cmd: string, args: string[]): Promise<void> {
  const child = spawn(cmd, args, { stdio: 'ignore' });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (c) => resolve(c));
  });
  if (code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${code}`);
}

/**
 * 1. Raw runc: `runc run -d` per container of one unpacked busybox bundle,
 * `wave` at a time (each timed from its wave's start, as the pods are).
 */
async function rawRunc(
  n: number,
  wave: number,
  work: string,
  teardown: Teardown,
): Promise<number[]> {
  const bundle = join(work, 'bundle');
  const root = join(work, 'runc');
  await rm(bundle, { recursive: true, force: true });
  await run('umoci', ['unpack', '--image', `${BUSYBOX_LAYOUT_DIR}:latest`, bundle]);
  const configPath = join(bundle, 'config.json');
  const config = JSON.parse(await readFile(configPath, 'utf8')) as {
    process: { terminal?: boolean; args?: string[] };
  };
  // Detached without a console socket: no terminal; a process that stays up.
  config.process.terminal = false;
  config.process.args = ['sleep', '3600'];
  await writeFile(configPath, JSON.stringify(config));

  const ids: string[] = [];
  const removeAll = async (): Promise<void> => {
    for (const id of ids.splice(0)) {
      await run('runc', ['--root', root, 'kill', id, 'KILL']).catch(() => undefined);
      await run('runc', ['--root', root, 'delete', '--force', id]).catch(() => undefined);
    }
  };
  teardown.add('raw runc containers', removeAll);
  const times: number[] = [];
  for (let first = 0; first < n; first += wave) {
    const batch = Array.from(
      { length: Math.min(wave, n - first) },
      (_, j) => `shoal-bench-${process.pid}-w${wave}-${first + j}`,
    );
    ids.push(...batch);
    const t0 = performance.now();
    await Promise.all(
      batch.map(async (id) => {
        await quiet('runc', ['--root', root, 'run', '-d', '--bundle', bundle, id]);
        times.push(performance.now() - t0);
      }),
    );
  }
  await removeAll();
  return times;
}

function benchPod(name: string, node: string, image: string): k8s.V1Pod {
  return {
    metadata: { name, labels: { app: 'pod-start-bench' } },
    spec: {
      nodeName: node,
      terminationGracePeriodSeconds: 1,
      // The image is cached (the warm-up pulled it): :latest would default to
      // Always and ask the registry again for every pod, which is not a pod start.
      containers: [
        { name: 'main', image, imagePullPolicy: 'IfNotPresent', command: ['sleep', '3600'] },
      ],
    },
  };
}

/** 2. Pods through Shoal, `wave` created at once, each wave waited for before the next. */
async function podStarts(
  opts: Options,
  work: string,
  teardown: Teardown,
): Promise<{ times: number[]; image: string; registryHost: string }> {
  const lab = await createLab(1);
  teardown.add('lab', () => lab.destroy());
  const registry = await startRegistry({ address: lab.gatewayIp });
  teardown.add('registry', () => registry.stop());
  const image = `${registry.host}/busybox:latest`;
  await run('skopeo', [
    'copy',
    '--quiet',
    '--dest-tls-verify=false',
    `oci:${BUSYBOX_LAYOUT_DIR}:latest`,
    `docker://${image}`,
  ]);
  const cp = await startTestControlplane({ agentListen: `${lab.gatewayIp}:0` });
  teardown.add('control plane', () => cp.stop());
  const kc = new KeepAliveKubeConfig();
  kc.loadFromFile(cp.kubeconfigPath);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  teardown.add('API client', async () => kc.close());

  const host = lab.hosts[0]!;
  const agent = await startAgentOn(
    host,
    { server: cp.agentAddress, token: cp.joinToken, insecureRegistries: [registry.host] },
    await mkdtemp(join(work, 'agent-')),
  );
  teardown.add('agent', async () => {
    await agent.stop().catch(() => undefined);
    await scrubAgent(agent);
  });
  // Pods go first on the way out (registered after the agent, so run before
  // it stops): deleted through the API and waited for, so the agent takes
  // down what it made itself.
  teardown.add('pods', async () => {
    const remaining = async (): Promise<number> =>
      (await core.listNamespacedPod({ namespace: 'default' })).items.length;
    await core.deleteCollectionNamespacedPod({ namespace: 'default' });
    try {
      await waitFor('every pod gone', remaining, (n) => n === 0, { timeoutMs: 60_000 });
    } catch {
      // The agent did not confirm (it may be what failed): drop them from the API; scrubAgent does the rest.
      await core.deleteCollectionNamespacedPod({ namespace: 'default', gracePeriodSeconds: 0 });
      throw new Error(`pods were not terminated by the agent:\n${agent.output()}`);
    }
    await waitFor(
      'no runc container left',
      () => runcContainers(agent),
      (ids) => ids.length === 0,
    );
  });
  progress(`agent on ${host.name}; waiting for its node to be Ready`);
  await waitFor(
    'the node Ready',
    async () => (await core.readNode({ name: agent.nodeName })).status?.conditions ?? [],
    (conds) => conds.some((c) => c.type === 'Ready' && c.status === 'True'),
  ).catch((err: unknown) => {
    throw new Error(`${String(err)}\n${agent.output()}`);
  });

  const runningAt = new Map<string, number>();
  const phaseOf = async (name: string): Promise<string | undefined> =>
    (await core.readNamespacedPod({ namespace: 'default', name })).status?.phase;

  // Warm-up: the image is pulled once, so the figures below are pod starts, not pulls.
  progress('warm-up pod (pulls the image)');
  await core.createNamespacedPod({
    namespace: 'default',
    body: benchPod('warm-up', agent.nodeName, image),
  });
  await waitFor(
    'the warm-up pod Running',
    () => phaseOf('warm-up'),
    (p) => p === 'Running',
    {
      timeoutMs: 120_000,
    },
  );

  const list = await core.listNamespacedPod({ namespace: 'default' });
  const watch = await new k8s.Watch(kc).watch(
    '/api/v1/namespaces/default/pods',
    { resourceVersion: list.metadata?.resourceVersion, allowWatchBookmarks: false },
    (type: string, obj: k8s.V1Pod) => {
      const name = obj.metadata?.name;
      if (name && obj.status?.phase === 'Running' && !runningAt.has(name))
        runningAt.set(name, performance.now());
    },
    () => undefined,
  );
  teardown.add('pod watch', async () => watch.abort());

  const startedAt = new Map<string, number>();
  const names = Array.from({ length: opts.pods }, (_, i) => `bench-${i}`);
  for (let w = 0; w < names.length; w += opts.wave) {
    const wave = names.slice(w, w + opts.wave);
    progress(`pods ${w + 1}–${w + wave.length} of ${names.length}`);
    await Promise.all(
      wave.map(async (name) => {
        startedAt.set(name, performance.now());
        await core.createNamespacedPod({
          namespace: 'default',
          body: benchPod(name, agent.nodeName, image),
        });
      }),
    );
    await waitFor(
      `pods ${wave[0]}… Running (seen by the watch)`,
      async () => wave.filter((n) => runningAt.has(n)).length,
      (n) => n === wave.length,
      { timeoutMs: 120_000, intervalMs: 50 },
    );
  }
  const times = names.map((n) => runningAt.get(n)! - startedAt.get(n)!);
  return { times, image, registryHost: registry.host };
}

/** 3. Cold pulls: a fresh ImagePuller store vs a fresh skopeo OCI layout each time. */
async function pulls(
  n: number,
  image: string,
  registryHost: string,
  work: string,
): Promise<{ puller: number[]; skopeo: number[] }> {
  const puller: number[] = [];
  const skopeo: number[] = [];
  for (let i = 0; i < n; i++) {
    const storeDir = await mkdtemp(join(work, 'pull-'));
    const t0 = performance.now();
    await new ImagePuller({ root: storeDir, insecureRegistries: [registryHost] }).pull(image);
    puller.push(performance.now() - t0);
    await rm(storeDir, { recursive: true, force: true });

    const layoutDir = await mkdtemp(join(work, 'skopeo-'));
    const t1 = performance.now();
    await run('skopeo', [
      'copy',
      '--quiet',
      '--src-tls-verify=false',
      `docker://${image}`,
      `oci:${layoutDir}:latest`,
    ]);
    skopeo.push(performance.now() - t1);
    await rm(layoutDir, { recursive: true, force: true });
  }
  return { puller, skopeo };
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('run as root: it starts runc containers');
  const opts: Options = {
    runc: option('runc', 20),
    pods: option('pods', 50),
    wave: option('wave', 10),
    pulls: option('pulls', 5),
  };
  const work = await mkdtemp(join(tmpdir(), 'shoal-bench-pods-'));
  const teardown = new Teardown();
  teardown.add('work dir', () => rm(work, { recursive: true, force: true }));
  let failed = false;
  const stopOnSignal = (): void => {
    failed = true;
    progress('interrupted; cleaning up');
    void teardown.run().finally(() => process.exit(130));
  };
  process.once('SIGINT', stopOnSignal);
  process.once('SIGTERM', stopOnSignal);
  try {
    progress('building the busybox image');
    await run(BUSYBOX_SCRIPT, [BUSYBOX_LAYOUT_DIR]);
    progress(`raw runc run -d × ${opts.runc}`);
    const raw = ascending(await rawRunc(opts.runc, 1, work, teardown));
    // The same runc, as many at once as pods are created at once: what a wave costs the runtime alone.
    const rawWave =
      opts.wave > 1 ? ascending(await rawRunc(opts.runc, opts.wave, work, teardown)) : undefined;
    const shoal = await podStarts(opts, work, teardown);
    const starts = ascending(shoal.times);
    progress(`cold pulls × ${opts.pulls}`);
    const pulled = await pulls(opts.pulls, shoal.image, shoal.registryHost, work);
    const pullerMedian = percentile(ascending(pulled.puller), 50);
    const skopeoMedian = percentile(ascending(pulled.skopeo), 50);
    const size = (await run('du', ['-sb', join(BUSYBOX_LAYOUT_DIR, 'blobs')])).stdout.split(
      '\t',
    )[0];

    const cpu = cpus()[0]?.model ?? 'unknown cpu';
    const lines = [
      '',
      `Shoal pod start benchmark — ${cpus().length} × ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`,
      '',
      '| measure | Shoal | baseline | notes |',
      '| --- | --- | --- | --- |',
      `| container start, p50 | ${ms(percentile(starts, 50))} | ${ms(percentile(raw, 50))} (raw \`runc run -d\`) | Shoal: ${opts.pods} pods created with spec.nodeName in waves of ${opts.wave} concurrent creates, create request start → watch event with phase Running; image already pulled. Raw: ${opts.runc} containers one at a time from one unpacked bundle, no network |`,
      `| container start, p99 | ${ms(percentile(starts, 99))} | ${ms(percentile(raw, 99))} (raw \`runc run -d\`) | p99 of ${opts.pods} (Shoal) and ${opts.runc} (runc) samples: the slowest one or two |`,
      ...(rawWave
        ? [
            `| raw runc ${opts.wave} at a time, p50 / p99 | | ${ms(percentile(rawWave, 50))} / ${ms(percentile(rawWave, 99))} (raw \`runc run -d\`) | ${opts.runc} containers in waves of ${opts.wave}, each timed from its wave's start: the runtime alone under the same concurrency as the pods |`,
          ]
        : []),
      `| cold image pull, median of ${opts.pulls} | ${ms(pullerMedian)} | ${ms(skopeoMedian)} (\`skopeo copy\` to an OCI layout) | busybox, 1 layer, ${(Number(size) / 1e6).toFixed(1)} MB of blobs, registry on the lab bridge; ImagePuller also verifies and unpacks the layer, skopeo only stores it |`,
      '',
    ];
    console.log(lines.join('\n'));
  } catch (err) {
    failed = true;
    throw err;
  } finally {
    process.removeListener('SIGINT', stopOnSignal);
    process.removeListener('SIGTERM', stopOnSignal);
    progress(failed ? 'failed; cleaning up' : 'cleaning up');
    await teardown.run();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
