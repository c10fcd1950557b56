// `shoal logs`: a container's log through GET pods/{name}/log, which the
// control plane relays from the pod's node agent. A workload (deploy/web,
// rs/…, job/…, ds/…) stands for one of its pods, picked as kubectl picks it;
// -f keeps the stream open until the container ends or the user interrupts.

import { InvalidArgumentError, type Command } from 'commander';
import { isRecord } from '../../controlplane/api/objects.js';
import type { KubeClient } from './client.js';
import { Discovery, objectRef, resourcePath } from './discovery.js';
import { aboutObject, CliError } from './errors.js';
import { addConnectionFlags, connect, parseDuration, wireCommand } from './flags.js';
import type { KubeIO } from './io.js';
import { selectorString } from './wait.js';

type Obj = Record<string, unknown>;

const rec = (v: unknown): Obj => (isRecord(v) ? v : {});
const list = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter(isRecord) : []);

const DEFAULT_CONTAINER_ANNOTATION = 'kubectl.kubernetes.io/default-container';

export interface LogsOptions {
  container?: string;
  follow?: boolean;
  /** -1: all lines. */
  tail: number;
  previous?: boolean;
  timestamps?: boolean;
  /** ms. */
  since?: number;
  allContainers?: boolean;
  limitBytes?: number;
  kubeconfig?: string;
  context?: string;
  namespace?: string;
}

/** Kinds whose pods `logs TYPE/NAME` can stand for. */
const WORKLOADS = new Set(['Deployment', 'ReplicaSet', 'DaemonSet', 'Job']);

/**
 * kubectl's preference when a workload stands for one pod (its ByLogging
 * order): scheduled before unscheduled, Running before Unknown before Pending,
 * ready before not, more restarts first, then the newest.
 */
export function logPodOrder(a: Obj, b: Obj): number {
  const scheduled = (p: Obj): number => (rec(p.spec).nodeName ? 0 : 1);
  const phaseRank = (p: Obj): number =>
    ({ Running: 0, Unknown: 1, Pending: 2 })[String(rec(p.status).phase)] ?? 3;
  const ready = (p: Obj): number =>
    list(rec(p.status).conditions).some((c) => c.type === 'Ready' && c.status === 'True') ? 0 : 1;
  const restarts = (p: Obj): number =>
    list(rec(p.status).containerStatuses).reduce(
      (n, c) => n + (typeof c.restartCount === 'number' ? c.restartCount : 0),
      0,
    );
  const created = (p: Obj): number => Date.parse(String(rec(p.metadata).creationTimestamp)) || 0;
  return (
    scheduled(a) - scheduled(b) ||
    phaseRank(a) - phaseRank(b) ||
    ready(a) - ready(b) ||
    restarts(b) - restarts(a) ||
    created(b) - created(a)
  );
}

/** The pod a POD or TYPE/NAME argument stands for. */
async function resolvePod(client: KubeClient, target: string, io: KubeIO): Promise<Obj> {
  const ns = client.namespace;
  const slash = target.indexOf('/');
  const getPod = async (name: string): Promise<Obj> => {
    try {
      return await client.request<Obj>({
        path: `/api/v1/namespaces/${encodeURIComponent(ns)}/pods/${encodeURIComponent(name)}`,
      });
    } catch (err) {
      throw aboutObject(`pod/${name}`, name, err);
    }
  };
  if (slash < 0) return getPod(target);
  const type = target.slice(0, slash);
  const name = target.slice(slash + 1);
  if (!type || !name) throw new CliError(`"${target}" is not a POD or TYPE/NAME`, 2);
  const resource = await new Discovery(client).resolve(type);
  if (resource.kind === 'Pod') return getPod(name);
  const ref = objectRef(resource, name);
  if (!WORKLOADS.has(resource.kind)) {
    throw new CliError(
      `cannot get the logs of ${ref}: only pods, deployments, replicasets, daemonsets and jobs have logs`,
    );
  }
  let obj: Obj;
  try {
    obj = await client.request<Obj>({ path: resourcePath(resource, ns, name) });
  } catch (err) {
    throw aboutObject(ref, name, err);
  }
  const spec = rec(obj.spec);
  // A Job written without a selector still labels its pods as its template says.
  const selector = spec.selector ?? { matchLabels: rec(rec(rec(spec.template).metadata).labels) };
  const labelSelector = selectorString(selector);
  if (!labelSelector) throw new CliError(`${ref} has no selector to find its pods by`);
  const pods = await client.request<{ items?: Obj[] }>({
    path: `/api/v1/namespaces/${encodeURIComponent(ns)}/pods`,
    query: { labelSelector },
  });
  const live = (pods.items ?? []).filter((p) => !rec(p.metadata).deletionTimestamp);
  const candidates = (live.length ? live : (pods.items ?? [])).sort(logPodOrder);
  const first = candidates[0];
  if (!first) throw new CliError(`${ref} has no pods (selector ${labelSelector})`);
  if (candidates.length > 1) {
    io.err(`Found ${candidates.length} pods, using pod/${String(rec(first.metadata).name)}\n`);
  }
  return first;
}

/** Which containers to read: -c, --all-containers, the default-container annotation, or the only one. */
export function containersToRead(pod: Obj, o: Pick<LogsOptions, 'container' | 'allContainers'>) {
  const name = String(rec(pod.metadata).name);
  const spec = rec(pod.spec);
  const init = list(spec.initContainers).map((c) => String(c.name));
  const main = list(spec.containers).map((c) => String(c.name));
  const ephemeral = list(spec.ephemeralContainers).map((c) => String(c.name));
  if (o.allContainers) return [...init, ...main, ...ephemeral];
  if (o.container) {
    if (![...init, ...main, ...ephemeral].includes(o.container)) {
      throw new CliError(`container ${o.container} is not valid for pod ${name}`);
    }
    return [o.container];
  }
  const preferred = rec(rec(pod.metadata).annotations)[DEFAULT_CONTAINER_ANNOTATION];
  if (typeof preferred === 'string' && main.includes(preferred)) return [preferred];
  if (main.length === 1) return [main[0]!];
  throw new CliError(
    `a container name must be specified for pod ${name}, choose one of: [${main.join(' ')}]` +
      (init.length ? ` or one of the init containers: [${init.join(' ')}]` : ''),
  );
}

async function streamOne(
  client: KubeClient,
  pod: Obj,
  container: string,
  o: LogsOptions,
  io: KubeIO,
): Promise<void> {
  const meta = rec(pod.metadata);
  const name = String(meta.name);
  const query: Record<string, string | number | boolean | undefined> = {
    container,
    follow: o.follow ? true : undefined,
    previous: o.previous ? true : undefined,
    timestamps: o.timestamps ? true : undefined,
    tailLines: o.tail >= 0 ? o.tail : undefined,
    // The API takes whole seconds; round up so "--since 500ms" still means something.
    sinceSeconds: o.since !== undefined ? Math.max(1, Math.ceil(o.since / 1000)) : undefined,
    limitBytes: o.limitBytes,
  };
  const signal = io.signal;
  if (signal?.aborted) return;
  try {
    const handle = await client.stream(
      {
        path: `/api/v1/namespaces/${encodeURIComponent(String(meta.namespace))}/pods/${encodeURIComponent(name)}/log`,
        query,
        accept: 'text/plain, */*',
      },
      (chunk) => io.out(chunk),
    );
    const stop = (): void => handle.stop();
    signal?.addEventListener('abort', stop, { once: true });
    try {
      await handle.done;
    } finally {
      signal?.removeEventListener('abort', stop);
    }
  } catch (err) {
    throw aboutObject(`pod/${name}`, name, err);
  }
}

export async function runLogs(args: string[], o: LogsOptions, io: KubeIO): Promise<void> {
  const [target, positionalContainer] = args;
  if (!target) throw new CliError('name a pod: logs POD [-c CONTAINER] or logs TYPE/NAME', 2);
  if (positionalContainer !== undefined && o.container !== undefined) {
    throw new CliError('give the container once: as -c or as the second argument', 2);
  }
  if (o.allContainers && (o.container ?? positionalContainer) !== undefined) {
    throw new CliError('--all-containers=true should not be specified with container name', 2);
  }
  const client = connect(o, io);
  const pod = await resolvePod(client, target, io);
  const container = o.container ?? positionalContainer;
  const containers = containersToRead(pod, {
    ...(container !== undefined ? { container } : {}),
    ...(o.allContainers ? { allContainers: true } : {}),
  });
  if (o.follow && containers.length > 1) {
    // Following several containers: all at once, as kubectl does.
    await Promise.all(containers.map((c) => streamOne(client, pod, c, o, io)));
    return;
  }
  for (const c of containers) await streamOne(client, pod, c, o, io);
}

function parseTail(value: string): number {
  if (!/^-?\d+$/.test(value) || Number(value) < -1) {
    throw new InvalidArgumentError(`"${value}" is not a number of lines (-1 for all)`);
  }
  return Number(value);
}

function parsePositive(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) === 0) {
    throw new InvalidArgumentError(`"${value}" is not a positive integer`);
  }
  return Number(value);
}

export function registerLogs(program: Command, io: KubeIO): void {
  const cmd = program
    .command('logs')
    .description("print a container's log (of a pod, or of one pod of a workload)")
    .argument('<target>', 'POD, or TYPE/NAME (pod/, deploy/, rs/, ds/, job/)')
    .argument('[container]', 'the container (same as -c)')
    .option('-c, --container <name>', 'the container to read')
    .option('-f, --follow', 'keep streaming until the container ends (or Ctrl-C)')
    .option('--tail <n>', 'only the last N lines (-1: all)', parseTail, -1)
    .option('-p, --previous', 'the previous, terminated instance of the container')
    .option('--timestamps', 'prefix each line with its RFC 3339 time')
    .option('--since <duration>', 'only lines newer than this (5s, 2m, 1h)', parseDuration)
    .option('--all-containers', "every container's log, init containers first")
    .option('--limit-bytes <n>', 'stop after this many bytes', parsePositive)
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  shoal logs web-7d4b9c-x2x9q\n' +
        '  shoal logs web-7d4b9c-x2x9q -c sidecar --tail 20\n' +
        '  shoal logs -f deploy/web\n' +
        '  shoal logs job/migrate --all-containers\n' +
        '  shoal logs web-7d4b9c-x2x9q --previous --since 10m',
    );
  addConnectionFlags(cmd);
  wireCommand(cmd, io);
  cmd.action((target: string, container: string | undefined, o: LogsOptions) =>
    runLogs(container === undefined ? [target] : [target, container], o, io),
  );
}
