// The one `shoal` executable, k3s-style: every part of the system is a
// subcommand. Flags are validated before anything starts; usage errors exit 2.

import { Command, InvalidArgumentError } from 'commander';
import { pino } from 'pino';
import {
  startControlplane,
  printJoinToken,
  parseListen,
} from '../controlplane/cmd/controlplane.js';
import { startAgent } from '../nodeagent/agent.js';
import { registerKubeCommands } from './commands/index.js';
import { registerClusterCommands } from './cluster/index.js';
import { defaultNodeName } from '../nodeagent/host.js';
import { parseQuantity, quantityMilliValue, quantityValue } from '../nodeagent/pods/quantity.js';

const DEFAULT_DATA_DIR = '/var/lib/shoal/controlplane';

function endpointsList(value: string): string[] {
  const list = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const e of list) {
    if (!/^https?:\/\/[^/]+$/.test(e))
      throw new InvalidArgumentError(`"${e}" is not an etcd URL like http://127.0.0.1:2379`);
  }
  return list;
}

function keyValues(what: string) {
  return (value: string, previous: Record<string, string> = {}): Record<string, string> => {
    const out = { ...previous };
    for (const pair of value.split(',').filter(Boolean)) {
      const [k, v] = pair.split('=');
      if (!k || v === undefined)
        throw new InvalidArgumentError(`${what}: expected key=value, got "${pair}"`);
      out[k.trim()] = v.trim();
    }
    return out;
  };
}

/** --register-with-taints key=value:Effect,… as kubelet takes it. */
function taintList(value: string): { key: string; value: string; effect: string }[] {
  return value
    .split(',')
    .filter(Boolean)
    .map((t) => {
      const m = /^([^=:]+)(?:=([^:]*))?:(NoSchedule|PreferNoSchedule|NoExecute)$/.exec(t.trim());
      if (!m)
        throw new InvalidArgumentError(
          `"${t}" is not key[=value]:NoSchedule|PreferNoSchedule|NoExecute`,
        );
      return { key: m[1]!, value: m[2] ?? '', effect: m[3]! };
    });
}

/** --reserved cpu=500m,memory=1Gi */
function reservedResources(value: string): { cpuMillis: number; memoryBytes: number } {
  const kv = keyValues('--reserved')(value);
  const out = { cpuMillis: 0, memoryBytes: 0 };
  for (const [k, v] of Object.entries(kv)) {
    const q = parseQuantity(v);
    if (!q) throw new InvalidArgumentError(`--reserved: "${v}" is not a quantity`);
    if (k === 'cpu') out.cpuMillis = Number(quantityMilliValue(q));
    else if (k === 'memory') out.memoryBytes = Number(quantityValue(q));
    else throw new InvalidArgumentError(`--reserved: unknown resource "${k}" (cpu, memory)`);
  }
  return out;
}

function positiveInt(min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min)
      throw new InvalidArgumentError(`expected a whole number of at least ${min}, got "${value}"`);
    return n;
  };
}

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0)
    throw new InvalidArgumentError(`expected a number above 0, got "${value}"`);
  return n;
}

function percent(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 100)
    throw new InvalidArgumentError(`expected a whole percentage from 0 to 100, got "${value}"`);
  return n;
}

/** A Go-style duration ("1h", "90s", "1h30m", "0") as whole seconds, as kube-apiserver's --event-ttl. */
function durationSeconds(value: string): number {
  const units: Record<string, number> = { h: 3600, m: 60, s: 1 };
  if (value === '0') return 0;
  const parts = /^(?:\d+[hms])+$/.test(value) ? value.match(/\d+[hms]/g) : null;
  if (!parts)
    throw new InvalidArgumentError(`expected a duration like 1h, 30m or 90s, got "${value}"`);
  return parts.reduce((n, p) => n + Number(p.slice(0, -1)) * units[p.slice(-1)]!, 0);
}

function listenAddress(value: string): string {
  try {
    parseListen(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message.replace(/^--listen: /, ''));
  }
  return value;
}

export function buildProgram(): Command {
  const program = new Command('shoal')
    .description('Shoal: containers on many hosts, behind the Kubernetes API')
    .exitOverride()
    .showHelpAfterError()
    // Options after a subcommand belong to it: `controlplane token --data-dir X`
    // must not hand --data-dir to `controlplane` itself.
    .enablePositionalOptions();

  // `version` is a kube command (cli/commands/version.ts): it asks the server too.

  const cp = program
    .command('controlplane')
    .enablePositionalOptions()
    .description('run the control plane: API server over etcd')
    .option(
      '--data-dir <dir>',
      'where the PKI, tokens, kubeconfig and embedded etcd live',
      DEFAULT_DATA_DIR,
    )
    .option('--listen <host:port>', 'API server address', listenAddress, '127.0.0.1:6443')
    .option('--advertise-address <host>', 'address written into the admin kubeconfig')
    .option(
      '--etcd-endpoints <urls>',
      'comma-separated etcd URLs; without it a local etcd is started',
      endpointsList,
    )
    .option(
      '--agent-listen <host:port>',
      'agent gateway (gRPC) address',
      listenAddress,
      '127.0.0.1:6444',
    )
    .option(
      '--leader-lease-ttl <seconds>',
      'how long a leader keeps its lease unrenewed',
      positiveInt(2),
      10,
    )
    .option(
      '--node-monitor-grace-period <seconds>',
      'a node silent this long is marked Unknown (> 10)',
      positiveInt(11),
      20,
    )
    .option(
      '--pod-eviction-timeout <seconds>',
      'pods on an unreachable node are replaced after this',
      positiveInt(1),
      30,
    )
    .option(
      '--node-eviction-rate <nodes-per-second>',
      'how many silent nodes per second start having their pods evicted',
      positiveNumber,
      0.1,
    )
    .option('--cluster-cidr <cidr>', 'pod addresses; each node gets a /24 of it', '10.244.0.0/16')
    .option(
      '--service-cidr <cidr>',
      'Service cluster IPs (its .10 is the cluster DNS)',
      '10.96.0.0/12',
    )
    .option(
      '--no-controllers',
      'serve the API only; the scheduler and controllers run on other replicas',
    )
    .option(
      '--kubeconfig-out <file>',
      'where to write the admin kubeconfig (default <data-dir>/admin.kubeconfig)',
    )
    .option(
      '--event-ttl <duration>',
      'how long events are kept (0: forever)',
      durationSeconds,
      3600,
    )
    .option(
      '--metrics-listen <host:port|off>',
      'plain-HTTP /metrics and health endpoints without credentials (default: off; the API port serves /metrics to the admin token)',
      (v: string) => (v === 'off' ? v : listenAddress(v)),
    )
    .addHelpText(
      'after',
      '\nExample:\n  shoal controlplane --data-dir /var/lib/shoal --listen 0.0.0.0:6443',
    )
    .action(
      async (o: {
        dataDir: string;
        listen: string;
        advertiseAddress?: string;
        etcdEndpoints?: string[];
        kubeconfigOut?: string;
        agentListen: string;
        leaderLeaseTtl: number;
        nodeMonitorGracePeriod: number;
        podEvictionTimeout: number;
        nodeEvictionRate: number;
        controllers: boolean;
        clusterCidr: string;
        serviceCidr: string;
        metricsListen?: string;
        eventTtl: number;
      }) => {
        const logger = pino({ name: 'shoal-controlplane', level: process.env.LOG_LEVEL ?? 'info' });
        const running = await startControlplane({
          dataDir: o.dataDir,
          listen: o.listen,
          agentListen: o.agentListen,
          leaderLeaseTtlSeconds: o.leaderLeaseTtl,
          nodeMonitorGracePeriodMs: o.nodeMonitorGracePeriod * 1000,
          podEvictionTimeoutMs: o.podEvictionTimeout * 1000,
          nodeEvictionRate: o.nodeEvictionRate,
          runControllers: o.controllers,
          clusterCidr: o.clusterCidr,
          serviceCidr: o.serviceCidr,
          eventTtlSeconds: o.eventTtl,
          logger,
          ...(o.advertiseAddress ? { advertiseAddress: o.advertiseAddress } : {}),
          ...(o.etcdEndpoints ? { etcdEndpoints: o.etcdEndpoints } : {}),
          ...(o.kubeconfigOut ? { kubeconfigPath: o.kubeconfigOut } : {}),
          ...(o.metricsListen && o.metricsListen !== 'off'
            ? { metricsListen: o.metricsListen }
            : {}),
        });
        console.error(
          `shoal: control plane at ${running.url}; kubeconfig: ${running.kubeconfigPath}`,
        );
        await waitForSignal(async () => {
          logger.info('shutting down');
          await running.stop();
        });
      },
    );
  cp.command('token')
    .description('print the join token agents use')
    .option('--data-dir <dir>', 'the control plane data directory', DEFAULT_DATA_DIR)
    .action(async (o: { dataDir: string }) => {
      console.log(await printJoinToken(o.dataDir));
    });
  program
    .command('agent')
    .description('run the node agent: join the cluster and run the pods bound to this node')
    .requiredOption(
      '--server <host:port>',
      'the control plane agent gateway address',
      listenAddress,
    )
    .requiredOption('--token <token>', 'the join token (`shoal controlplane token` prints it)')
    .option('--data-dir <dir>', 'certificates, images, pod state', '/var/lib/shoal/agent')
    .option('--volume-dir <dir>', 'where local PersistentVolumes live (default <data-dir>/volumes)')
    .option('--node-name <name>', 'the Node name (default: the hostname)')
    .option('--node-labels <k=v,…>', 'extra labels for the Node', keyValues('--node-labels'))
    .option('--register-with-taints <k=v:Effect,…>', 'taints the Node starts with', taintList)
    .option(
      '--reserved <cpu=…,memory=…>',
      'held back from allocatable for the system',
      reservedResources,
    )
    .option('--pod-cidr <cidr>', 'pod addresses (default: the one the control plane assigns)')
    .option('--node-ip <ip>', 'the address other hosts reach this one by')
    .option('--insecure-registry <host:port...>', 'registries to reach over plain HTTP')
    .option(
      '--image-gc-high-threshold <percent>',
      'disk usage that starts image garbage collection (100: never)',
      percent,
      85,
    )
    .option(
      '--image-gc-low-threshold <percent>',
      'disk usage image garbage collection brings it down to',
      percent,
      80,
    )
    .option(
      '--metrics-listen <host:port|off>',
      'plain-HTTP /metrics, /healthz, /livez, /readyz (no authentication); "off" for none',
      (v: string) => (v === 'off' ? v : listenAddress(v)),
      '127.0.0.1:10255',
    )
    .addHelpText(
      'after',
      '\nExample:\n  shoal agent --server 10.0.0.1:6444 --token K10…::… --node-name host-1',
    )
    .action(
      async (o: {
        server: string;
        token: string;
        dataDir: string;
        nodeName?: string;
        nodeLabels?: Record<string, string>;
        registerWithTaints?: { key: string; value: string; effect: string }[];
        reserved?: { cpuMillis: number; memoryBytes: number };
        podCidr?: string;
        nodeIp?: string;
        insecureRegistry?: string[];
        imageGcHighThreshold: number;
        imageGcLowThreshold: number;
        metricsListen: string;
        volumeDir?: string;
      }) => {
        if (o.imageGcLowThreshold > o.imageGcHighThreshold)
          throw new Error(
            `--image-gc-low-threshold (${o.imageGcLowThreshold}) must not be greater than --image-gc-high-threshold (${o.imageGcHighThreshold})`,
          );
        const logger = pino({ name: 'shoal-agent', level: process.env.LOG_LEVEL ?? 'info' });
        const agent = await startAgent({
          server: o.server,
          token: o.token,
          dataDir: o.dataDir,
          nodeName: o.nodeName ?? defaultNodeName(),
          imageGcHighThresholdPercent: o.imageGcHighThreshold,
          imageGcLowThresholdPercent: o.imageGcLowThreshold,
          logger,
          ...(o.nodeLabels ? { nodeLabels: o.nodeLabels } : {}),
          ...(o.registerWithTaints ? { taints: o.registerWithTaints } : {}),
          ...(o.reserved ? { reserved: o.reserved } : {}),
          ...(o.podCidr ? { podCidr: o.podCidr } : {}),
          ...(o.nodeIp ? { nodeIP: o.nodeIp } : {}),
          ...(o.insecureRegistry ? { insecureRegistries: o.insecureRegistry } : {}),
          ...(o.metricsListen !== 'off' ? { metricsListen: o.metricsListen } : {}),
          ...(o.volumeDir ? { volumeDir: o.volumeDir } : {}),
        });
        await waitForSignal(async () => {
          logger.info('shutting down; containers keep running');
          await agent.stop();
        });
      },
    );
  registerKubeCommands(program);
  registerClusterCommands(program);
  return program;
}

/** Resolves after SIGTERM or SIGINT, once `cleanup` has run. */
async function waitForSignal(cleanup: () => Promise<void>): Promise<void> {
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      cleanup().then(resolve, (err: unknown) => {
        console.error(
          `shoal: shutdown failed: ${err instanceof Error ? err.message : String(err)}`,
        );
        resolve();
      });
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}
