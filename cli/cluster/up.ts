// `shoal cluster up`: a multi-host cluster on this machine. Every step
// checks what is already there and only makes what is missing, so a second
// `up` reports the running cluster, and an `up` after a reboot (namespaces
// and processes gone, state directory kept) brings the same cluster back.
//
//   state.json → bridge → hosts (netns + veth, ip_forward) → control plane and
//   registry (detached) → busybox pushed → join token → one agent per host
//   (nsenter --net) → every node Ready → kubeconfig context, made current

import { setTimeout as sleep } from 'node:timers/promises';
import type * as k8s from '@kubernetes/client-node';
import { printJoinToken } from '../../controlplane/cmd/controlplane.js';
import {
  ClusterError,
  daemonDirs,
  loadExisting,
  plural,
  requireRoot,
  resolveNameAndDir,
  writer,
  type ClusterOptions,
} from './common.js';
import { installContext, userKubeconfigPath } from './kubeconfig.js';
import {
  AGENT_PORT,
  API_PORT,
  DEFAULT_SUBNET,
  MAX_NODES,
  clusterLayout,
  type ClusterLayout,
} from './layout.js';
import {
  createBridge,
  createHost,
  deleteHost,
  enableForwarding,
  freeSubnet,
  linkAddresses,
  linkExists,
  netnsExists,
  parseSubnet24,
  subnetInUse,
} from './network.js';
import { coreClient, listNodes, readyCount } from './nodes.js';
import { logTail, runningPid, startDaemon, type DaemonDirs } from './processes.js';
import { findRepoFile, preloadBusybox, registryAnswers, writeRegistryConfig } from './registry.js';
import { writeState, type ClusterState } from './state.js';

export interface UpOptions extends ClusterOptions {
  /** Default 3 for a new cluster; an existing one keeps its count. */
  nodes?: number;
  /** An a.b.c.0/24; default 10.213.0.0/24, or a free 10.x.y.0/24 when that is taken. */
  subnet?: string;
  /** How long to wait for the control plane, registry and nodes. Default 180 s. */
  timeoutMs?: number;
  /** Default: $KUBECONFIG's first file, else ~/.kube/config. */
  kubeconfig?: string;
  /** The built CLI the daemons run (default <checkout>/dist/cli/main.js). */
  shoalEntry?: string;
}

export interface UpResult {
  layout: ClusterLayout;
  /** Nothing had to be made or started. */
  alreadyUp: boolean;
  kubeconfig: string;
}

/** Brings the cluster up (or finds it up) and switches the kubeconfig to it. */
export async function clusterUp(opts: UpOptions = {}): Promise<UpResult> {
  requireRoot('up');
  const { name, stateDir } = resolveNameAndDir(opts);
  const say = writer(opts.out, process.stdout);
  const progress = writer(opts.err, process.stderr);
  const timeoutMs = opts.timeoutMs ?? 180_000;
  if (
    opts.nodes !== undefined &&
    !(Number.isInteger(opts.nodes) && opts.nodes >= 1 && opts.nodes <= MAX_NODES)
  ) {
    throw new ClusterError(`--nodes must be a whole number from 1 to ${MAX_NODES}`);
  }
  const wantedPrefix = opts.subnet === undefined ? undefined : parseSubnet24(opts.subnet);
  if (opts.subnet !== undefined && wantedPrefix === undefined) {
    throw new ClusterError(`--subnet "${opts.subnet}" is not an a.b.c.0/24 network`);
  }

  const existing = await loadExisting(name, stateDir);
  let state: ClusterState;
  let changed = false;
  if (existing) {
    state = existing.state;
    if (opts.nodes !== undefined && opts.nodes !== state.nodes) {
      throw new ClusterError(
        `cluster ${name} has ${state.nodes} nodes; run \`shoal cluster down --name ${name}\` first to change that`,
      );
    }
    if (wantedPrefix !== undefined && wantedPrefix !== state.prefix) {
      throw new ClusterError(
        `cluster ${name} uses ${state.prefix}.0/24; run \`shoal cluster down --name ${name}\` first to change that`,
      );
    }
  } else {
    const probe = clusterLayout(name, stateDir, '0.0.0', 0);
    if (await linkExists(probe.bridge)) {
      throw new ClusterError(
        `a link named ${probe.bridge} exists but ${probe.stateDir} holds no cluster: is cluster ${name} running from another --state-dir?`,
      );
    }
    state = { name, prefix: await chooseSubnet(wantedPrefix, progress), nodes: opts.nodes ?? 3 };
    // Recorded before anything is made, so `down` can undo a failed `up`.
    await writeState(probe.stateFile, state);
    changed = true;
  }
  const layout = clusterLayout(name, stateDir, state.prefix, state.nodes);
  const dirs = daemonDirs(layout);
  const failHint = `(\`shoal cluster down --name ${name}${opts.stateDir ? ` --state-dir ${stateDir}` : ''}\` removes what was made)`;

  try {
    changed = (await ensureNetwork(layout, progress)) || changed;

    const entry = opts.shoalEntry ?? findRepoFile('dist/cli/main.js');
    changed =
      (await ensureDaemon(dirs, 'controlplane', progress, () => ({
        command: process.execPath,
        args: [
          entry,
          'controlplane',
          '--data-dir',
          layout.controlplaneDir,
          '--listen',
          `${layout.gateway}:${API_PORT}`,
          '--agent-listen',
          `${layout.gateway}:${AGENT_PORT}`,
          '--advertise-address',
          layout.gateway,
        ],
      }))) || changed;
    const registryConfig = await writeRegistryConfig(layout);
    changed =
      (await ensureDaemon(dirs, 'registry', progress, () => ({
        command: 'docker-registry',
        args: ['serve', registryConfig],
      }))) || changed;

    await waitUntil(
      dirs,
      ['registry'],
      `the registry on ${layout.registryAddress}`,
      timeoutMs,
      () => registryAnswers(layout.registryAddress),
    );
    if (await preloadBusybox(layout)) {
      progress(`pushed ${layout.busyboxImage}`);
      changed = true;
    }
    let core: k8s.CoreV1Api | undefined;
    await waitUntil(dirs, ['controlplane'], `the API at ${layout.apiUrl}`, timeoutMs, async () => {
      core ??= coreClient(layout);
      await listNodes(core);
      return true;
    });
    const api = core!;
    const token = await printJoinToken(layout.controlplaneDir);

    for (const host of layout.hosts) {
      changed =
        (await ensureDaemon(dirs, `agent-${host.name}`, progress, () => ({
          command: 'nsenter',
          args: [
            `--net=/run/netns/${host.name}`,
            process.execPath,
            entry,
            'agent',
            '--server',
            layout.agentAddress,
            '--token',
            token,
            '--data-dir',
            host.dataDir,
            '--node-name',
            host.name,
            '--node-ip',
            host.address,
            '--insecure-registry',
            layout.registryAddress,
          ],
        }))) || changed;
    }

    await waitForNodes(layout, dirs, api, timeoutMs, progress);

    const kubeconfig = opts.kubeconfig ?? userKubeconfigPath();
    state.kubeconfig = await installContext(layout, kubeconfig, state.kubeconfig);
    await writeState(layout.stateFile, state);

    printSummary(layout, kubeconfig, !changed, say, opts.stateDir !== undefined);
    return { layout, alreadyUp: !changed, kubeconfig };
  } catch (err) {
    if (err instanceof ClusterError) throw new ClusterError(`${err.message}\n${failHint}`);
    throw new ClusterError(`${(err as Error).message}\n${failHint}`, { cause: err });
  }
}

async function chooseSubnet(
  wanted: string | undefined,
  progress: (line: string) => void,
): Promise<string> {
  if (wanted !== undefined) {
    if (await subnetInUse(wanted)) {
      throw new ClusterError(
        `--subnet ${wanted}.0/24 overlaps an address or route on this machine`,
      );
    }
    return wanted;
  }
  const preferred = parseSubnet24(DEFAULT_SUBNET)!;
  const prefix = await freeSubnet(preferred);
  if (prefix !== preferred) {
    progress(
      `${DEFAULT_SUBNET} is in use on this machine; using ${prefix}.0/24 instead ` +
        `(images are at ${prefix}.1:5000, not the 10.213.0.1:5000 the examples name)`,
    );
  }
  return prefix;
}

/** The bridge and every host; true when something had to be made. */
async function ensureNetwork(
  layout: ClusterLayout,
  progress: (l: string) => void,
): Promise<boolean> {
  let changed = false;
  if (!(await linkExists(layout.bridge))) {
    progress(`creating bridge ${layout.bridge} (${layout.gateway}/24)`);
    await createBridge(layout.bridge, layout.gateway);
    changed = true;
  } else if (!(await linkAddresses(layout.bridge)).includes(`${layout.gateway}/24`)) {
    throw new ClusterError(`bridge ${layout.bridge} exists without ${layout.gateway}/24`);
  }
  for (const host of layout.hosts) {
    const spec = {
      netns: host.name,
      veth: host.veth,
      bridge: layout.bridge,
      address: host.address,
    };
    const whole =
      (await netnsExists(host.name)) &&
      (await linkExists(host.veth)) &&
      (await linkAddresses('eth0', host.name)).includes(`${host.address}/24`);
    if (!whole) {
      progress(`creating host ${host.name} (${host.address})`);
      // A half-made host (an interrupted `up`) is made again from scratch.
      await deleteHost(spec);
      await createHost(spec);
      changed = true;
    }
    await enableForwarding(host.name);
  }
  return changed;
}

/** Starts the daemon unless it runs; true when it had to be started. */
async function ensureDaemon(
  dirs: DaemonDirs,
  name: string,
  progress: (l: string) => void,
  spec: () => { command: string; args: string[] },
): Promise<boolean> {
  if ((await runningPid(dirs, name)) !== undefined) return false;
  const { command, args } = spec();
  const pid = await startDaemon(dirs, {
    name,
    command,
    args,
    env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'info' },
  });
  progress(`started ${name} (pid ${pid})`);
  return true;
}

/**
 * Polls `ready` until it is true; fails early, with the end of its log, when
 * one of `watch`'s daemons dies meanwhile.
 */
async function waitUntil(
  dirs: DaemonDirs,
  watch: string[],
  what: string,
  timeoutMs: number,
  ready: () => Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await ready().catch(() => false)) return;
    await assertAlive(dirs, watch);
    if (Date.now() > deadline) throw new ClusterError(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

async function assertAlive(dirs: DaemonDirs, names: string[]): Promise<void> {
  for (const name of names) {
    if ((await runningPid(dirs, name)) === undefined) {
      throw new ClusterError(
        `${name} exited; the end of ${dirs.logsDir}/${name}.log:\n${await logTail(dirs, name)}`,
      );
    }
  }
}

async function waitForNodes(
  layout: ClusterLayout,
  dirs: DaemonDirs,
  core: k8s.CoreV1Api,
  timeoutMs: number,
  progress: (l: string) => void,
): Promise<void> {
  const total = layout.hosts.length;
  const deadline = Date.now() + timeoutMs;
  let shown = -1;
  for (;;) {
    const ready = await listNodes(core).then(
      (rows) => readyCount(layout, rows),
      () => 0,
    );
    // Silent when they are all Ready at the first look (a second `up`).
    if (ready === total && shown === -1) return;
    if (ready !== shown) {
      progress(`waiting for ${plural(total, 'node')}: ${ready}/${total} Ready`);
      shown = ready;
    }
    if (ready === total) return;
    await assertAlive(dirs, ['controlplane', ...layout.hosts.map((h) => `agent-${h.name}`)]);
    if (Date.now() > deadline) {
      throw new ClusterError(
        `timed out waiting for ${total} nodes to be Ready (${ready}/${total}); agent logs are in ${dirs.logsDir}`,
      );
    }
    await sleep(500);
  }
}

function printSummary(
  layout: ClusterLayout,
  kubeconfig: string,
  alreadyUp: boolean,
  say: (l: string) => void,
  customStateDir: boolean,
): void {
  const nodes = plural(layout.hosts.length, 'node');
  const flags = `--name ${layout.name}${customStateDir ? ` --state-dir ${layout.stateDir}` : ''}`;
  say(
    alreadyUp
      ? `cluster ${layout.name} is already up: ${nodes} Ready`
      : `cluster ${layout.name} is up: ${nodes} Ready`,
  );
  say(`  network        bridge ${layout.bridge}, ${layout.subnet}`);
  for (const h of layout.hosts) say(`  host           ${h.name}  ${h.address}`);
  say(`  API server     ${layout.apiUrl}  (agents dial ${layout.agentAddress})`);
  say(`  registry       ${layout.registryAddress}  (holds busybox:latest)`);
  say(`  state, logs    ${layout.stateDir}, ${layout.logsDir}`);
  say(`  kubeconfig     context ${layout.contextName} (current) in ${kubeconfig}`);
  say('');
  say('Use it:');
  say('  kubectl get nodes');
  say(`  image for pods: ${layout.busyboxImage}`);
  say('  shoal apply -f deploy/examples/web.yaml');
  say(`  shoal cluster status ${flags}`);
  say(`  shoal cluster down ${flags}`);
}
