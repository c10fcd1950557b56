// `shoal cluster up|down|status`, declared on the program cli/program.ts
// builds. Flag errors are usage errors (commander, exit 2); a failure of the
// command itself throws, which cli/main.ts prints as one line and exits 1.

import { InvalidArgumentError, type Command } from 'commander';
import { ClusterError } from './common.js';
import { clusterDown } from './down.js';
import { MAX_NODES, validateClusterName } from './layout.js';
import { parseSubnet24 } from './network.js';
import { clusterStatus } from './status.js';
import { clusterUp } from './up.js';

export { clusterUp, type UpOptions, type UpResult } from './up.js';
export { clusterDown, type DownResult } from './down.js';
export { clusterStatus, type StatusResult } from './status.js';
export { ClusterError, type ClusterOptions } from './common.js';

function clusterName(value: string): string {
  const invalid = validateClusterName(value);
  if (invalid) throw new InvalidArgumentError(invalid);
  return value;
}

function nodeCount(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > MAX_NODES) {
    throw new InvalidArgumentError(`expected a whole number from 1 to ${MAX_NODES}`);
  }
  return n;
}

function subnet(value: string): string {
  if (parseSubnet24(value) === undefined)
    throw new InvalidArgumentError('expected an a.b.c.0/24 network');
  return value;
}

/** "90", "90s", "3m" → milliseconds. */
export function parseDuration(value: string): number {
  const m = /^(\d+)(s|m)?$/.exec(value.trim());
  if (!m) throw new InvalidArgumentError('expected a duration like 90s or 3m');
  return Number(m[1]) * (m[2] === 'm' ? 60_000 : 1000);
}

interface CommonFlags {
  name: string;
  stateDir?: string;
}

/** Adds `cluster up|down|status` to the program. */
export function registerClusterCommands(program: Command): void {
  const cluster = program
    .command('cluster')
    .description('a local multi-host cluster on this machine (hosts are network namespaces)');

  const common = (cmd: Command): Command =>
    cmd
      .option(
        '--name <name>',
        'the cluster name (1-9 lowercase letters or digits)',
        clusterName,
        'dev',
      )
      .option(
        '--state-dir <dir>',
        'where its state, data and logs live (default /var/lib/shoal/clusters/<name>)',
      );

  common(
    cluster
      .command('up')
      .description(
        'create hosts, start the control plane, a registry with busybox and one agent per host, wait until every node is Ready, and switch kubectl to it',
      ),
  )
    .option(
      '--nodes <n>',
      'how many hosts (default 3; an existing cluster keeps its count)',
      nodeCount,
    )
    .option(
      '--subnet <a.b.c.0/24>',
      "the hosts' network (default 10.213.0.0/24, or a free one if taken)",
      subnet,
    )
    .option('--timeout <duration>', 'how long to wait for the nodes (default 3m)', parseDuration)
    .addHelpText(
      'after',
      `
Runs as root. A second \`up\` reports the running cluster. Pods use the
preloaded image as 10.213.0.1:5000/busybox:latest (the bridge address, port 5000).

Examples:
  sudo shoal cluster up
  sudo shoal cluster up --nodes 5 --name big --subnet 10.214.0.0/24
  kubectl get nodes`,
    )
    .action(async (o: CommonFlags & { nodes?: number; subnet?: string; timeout?: number }) => {
      await clusterUp({
        name: o.name,
        timeoutMs: o.timeout ?? 180_000,
        ...(o.stateDir ? { stateDir: o.stateDir } : {}),
        ...(o.nodes !== undefined ? { nodes: o.nodes } : {}),
        ...(o.subnet ? { subnet: o.subnet } : {}),
      });
    });

  common(
    cluster
      .command('down')
      .description(
        'stop every process of the cluster and remove its containers, mounts, cgroups, namespaces, links, kubeconfig context and state',
      ),
  )
    .addHelpText('after', '\nExample:\n  sudo shoal cluster down --name dev')
    .action(async (o: CommonFlags) => {
      await clusterDown({ name: o.name, ...(o.stateDir ? { stateDir: o.stateDir } : {}) });
    });

  common(
    cluster
      .command('status')
      .description("show the cluster's processes and nodes; exits 1 unless it is fully up"),
  )
    .addHelpText('after', '\nExample:\n  shoal cluster status --name dev')
    .action(async (o: CommonFlags) => {
      const status = await clusterStatus({
        name: o.name,
        ...(o.stateDir ? { stateDir: o.stateDir } : {}),
      });
      if (!status.up) throw new ClusterError(`cluster ${o.name} is not fully up`);
    });
}
