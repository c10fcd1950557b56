// `shoal cordon`, `uncordon` and `drain`: take a node out of scheduling
// (spec.unschedulable) and, for drain, move its pods elsewhere the way
// `kubectl drain` does: refuse what cannot come back (pods no controller
// recreates, emptyDir data, DaemonSet pods the DaemonSet would put right back)
// unless told otherwise, evict the rest through pods/eviction (policy/v1), and
// wait until they are gone.

import { InvalidArgumentError, type Command } from 'commander';
import { isRecord } from '../../controlplane/api/objects.js';
import type { KubeClient } from './client.js';
import { ApiStatusError, CliError, isNotFound, ReportedError } from './errors.js';
import { addConnectionFlags, connect, parseDuration, sleep, wireCommand } from './flags.js';
import type { KubeIO } from './io.js';

type Obj = Record<string, unknown>;

const rec = (v: unknown): Obj => (isRecord(v) ? v : {});
const list = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter(isRecord) : []);

const nodePath = (name: string): string => `/api/v1/nodes/${encodeURIComponent(name)}`;
const podPath = (ns: string, name: string): string =>
  `/api/v1/namespaces/${encodeURIComponent(ns)}/pods/${encodeURIComponent(name)}`;

interface ConnOptions {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
}

export interface DrainOptions extends ConnOptions {
  ignoreDaemonsets?: boolean;
  deleteEmptydirData?: boolean;
  force?: boolean;
  /** -1: each pod's own terminationGracePeriodSeconds. */
  gracePeriod: number;
  /** ms; 0 waits for ever. */
  timeout: number;
  disableEviction?: boolean;
}

/**
 * Sets spec.unschedulable on a node; prints kubectl's "node/x cordoned" (or
 * "already cordoned") line. A missing node is a one-line error naming it.
 */
async function setUnschedulable(
  client: KubeClient,
  name: string,
  desired: boolean,
  io: KubeIO,
): Promise<void> {
  const verb = desired ? 'cordoned' : 'uncordoned';
  const node = await client.request<Obj>({ path: nodePath(name) });
  if ((rec(node.spec).unschedulable === true) === desired) {
    io.out(`node/${name} already ${verb}\n`);
    return;
  }
  // kubectl leaves the field out when it is false (omitempty); null removes it.
  await client.request({
    method: 'PATCH',
    path: nodePath(name),
    contentType: 'application/merge-patch+json',
    body: { spec: { unschedulable: desired ? true : null } },
  });
  io.out(`node/${name} ${verb}\n`);
}

/** Runs `fn` for each node, reporting each failure on its own line; exit 1 if any failed. */
async function eachNode(
  names: string[],
  io: KubeIO,
  fn: (name: string) => Promise<void>,
): Promise<void> {
  let failures = 0;
  for (const name of names) {
    try {
      await fn(name);
    } catch (err) {
      failures++;
      io.err(`error: ${nodeError(name, err)}\n`);
    }
  }
  if (failures) throw new ReportedError(failures);
}

function nodeError(name: string, err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  // Drain's own errors are worded already; the server's name the node or get its name.
  if (err instanceof CliError && !(err instanceof ApiStatusError)) return message;
  if (isNotFound(err) || message.includes(`"${name}"`)) return message;
  return `node/${name}: ${message}`;
}

export async function runCordon(names: string[], o: ConnOptions, io: KubeIO): Promise<void> {
  const client = connect(o, io);
  await eachNode(names, io, (name) => setUnschedulable(client, name, true, io));
}

export async function runUncordon(names: string[], o: ConnOptions, io: KubeIO): Promise<void> {
  const client = connect(o, io);
  await eachNode(names, io, (name) => setUnschedulable(client, name, false, io));
}

/** What drain does with one pod of the node, and kubectl's words for why. */
export type PodVerdict =
  | { action: 'delete'; warning?: string }
  | { action: 'skip'; warning?: string }
  | { action: 'refuse'; error: string };

export interface DrainFilterOptions {
  ignoreDaemonsets: boolean;
  deleteEmptydirData: boolean;
  force: boolean;
}

const isFinished = (pod: Obj): boolean => {
  const phase = rec(pod.status).phase;
  return phase === 'Succeeded' || phase === 'Failed';
};

function controllerOf(pod: Obj): Obj | undefined {
  return list(rec(pod.metadata).ownerReferences).find((r) => r.controller === true);
}

/**
 * kubectl drain's filters, in its order: mirror pods are left alone, DaemonSet
 * pods are skipped (--ignore-daemonsets) or refused, emptyDir pods need
 * --delete-emptydir-data, pods without a controller need --force; finished pods
 * can always go. `daemonSetExists` says whether a DaemonSet owner still exists
 * (an orphaned DaemonSet pod is deletable with --force, as in kubectl).
 */
export function drainVerdict(
  pod: Obj,
  o: DrainFilterOptions,
  daemonSetExists: boolean,
): PodVerdict {
  const meta = rec(pod.metadata);
  if (rec(meta.annotations)['kubernetes.io/config.mirror'] !== undefined) {
    return { action: 'skip' };
  }
  const controller = controllerOf(pod);
  if (controller?.kind === 'DaemonSet' && !isFinished(pod)) {
    if (!daemonSetExists) {
      if (!o.force) {
        return {
          action: 'refuse',
          error: 'cannot delete Pods that declare no controller (use --force to override)',
        };
      }
      return { action: 'delete', warning: 'deleting Pods that declare no controller' };
    }
    if (!o.ignoreDaemonsets) {
      return {
        action: 'refuse',
        error: 'cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore)',
      };
    }
    return { action: 'skip', warning: 'ignoring DaemonSet-managed Pods' };
  }
  const warnings: string[] = [];
  const emptyDir = list(rec(pod.spec).volumes).some((v) => v.emptyDir !== undefined);
  if (emptyDir && !isFinished(pod)) {
    if (!o.deleteEmptydirData) {
      return {
        action: 'refuse',
        error: 'cannot delete Pods with local storage (use --delete-emptydir-data to override)',
      };
    }
    warnings.push('deleting Pods with local storage');
  }
  if (!controller && !isFinished(pod)) {
    if (!o.force) {
      return {
        action: 'refuse',
        error: 'cannot delete Pods that declare no controller (use --force to override)',
      };
    }
    warnings.push('deleting Pods that declare no controller');
  }
  return warnings.length
    ? { action: 'delete', warning: warnings.join('; ') }
    : { action: 'delete' };
}

/** kubectl groups pods by message: "message: ns/a, ns/b". */
function groupByMessage(entries: [string, string][]): string[] {
  const by = new Map<string, string[]>();
  for (const [message, pod] of entries) by.set(message, [...(by.get(message) ?? []), pod]);
  return [...by].map(([message, pods]) => `${message}: ${pods.join(', ')}`);
}

interface PodRef {
  namespace: string;
  name: string;
  uid: string;
}

async function daemonSetExists(client: KubeClient, ns: string, name: string): Promise<boolean> {
  try {
    await client.request({
      path: `/apis/apps/v1/namespaces/${encodeURIComponent(ns)}/daemonsets/${encodeURIComponent(name)}`,
    });
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

/** The pods on `node` drain would remove; throws kubectl's refusal when any cannot go. */
async function podsToRemove(
  client: KubeClient,
  node: string,
  o: DrainOptions,
  io: KubeIO,
): Promise<PodRef[]> {
  const pods = await client.request<{ items?: Obj[] }>({
    path: '/api/v1/pods',
    query: { fieldSelector: `spec.nodeName=${node}` },
  });
  const errors: [string, string][] = [];
  const warnings: [string, string][] = [];
  const out: PodRef[] = [];
  const filter: DrainFilterOptions = {
    ignoreDaemonsets: o.ignoreDaemonsets === true,
    deleteEmptydirData: o.deleteEmptydirData === true,
    force: o.force === true,
  };
  for (const pod of pods.items ?? []) {
    const meta = rec(pod.metadata);
    const ref: PodRef = {
      namespace: String(meta.namespace),
      name: String(meta.name),
      uid: String(meta.uid ?? ''),
    };
    const controller = controllerOf(pod);
    const dsExists =
      controller?.kind === 'DaemonSet'
        ? await daemonSetExists(client, ref.namespace, String(controller.name))
        : false;
    const verdict = drainVerdict(pod, filter, dsExists);
    const id = `${ref.namespace}/${ref.name}`;
    if (verdict.action === 'refuse') errors.push([verdict.error, id]);
    else if (verdict.warning) warnings.push([verdict.warning, id]);
    if (verdict.action === 'delete') out.push(ref);
  }
  if (errors.length) {
    const messages = groupByMessage(errors);
    throw new CliError(
      `unable to drain node "${node}" due to error: ${messages.length === 1 ? messages[0]! : `[${messages.join(', ')}]`}`,
    );
  }
  if (warnings.length) io.err(`Warning: ${groupByMessage(warnings).join('; ')}\n`);
  return out;
}

/** Evicts (or, with --disable-eviction, deletes) one pod; retries while an eviction is refused with 429. */
async function removePod(
  client: KubeClient,
  pod: PodRef,
  o: DrainOptions,
  deadline: number,
  io: KubeIO,
): Promise<void> {
  const deleteOptions = o.gracePeriod >= 0 ? { gracePeriodSeconds: o.gracePeriod } : {};
  for (;;) {
    try {
      if (o.disableEviction) {
        await client.request({
          method: 'DELETE',
          path: podPath(pod.namespace, pod.name),
          body: { kind: 'DeleteOptions', apiVersion: 'v1', ...deleteOptions },
        });
      } else {
        io.err(`evicting pod ${pod.namespace}/${pod.name}\n`);
        await client.request({
          method: 'POST',
          path: `${podPath(pod.namespace, pod.name)}/eviction`,
          body: {
            apiVersion: 'policy/v1',
            kind: 'Eviction',
            metadata: { name: pod.name, namespace: pod.namespace },
            deleteOptions,
          },
        });
      }
      return;
    } catch (err) {
      if (isNotFound(err)) return;
      // 429: a disruption budget would be violated. Shoal serves none, but a
      // server that does answers so, and kubectl retries every 5 s.
      if (err instanceof ApiStatusError && err.code === 429 && !expired(deadline)) {
        io.err(
          `error when evicting pods/"${pod.name}" -n "${pod.namespace}" (will retry after 5s): ${err.message}\n`,
        );
        await sleep(5000);
        continue;
      }
      throw new CliError(
        `error when ${o.disableEviction ? 'deleting' : 'evicting'} pods/"${pod.name}" -n "${pod.namespace}": ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }
}

const expired = (deadline: number): boolean => deadline > 0 && Date.now() >= deadline;

/** Waits until the pod is gone (or replaced by another of the same name), then prints kubectl's line. */
async function waitGone(
  client: KubeClient,
  pod: PodRef,
  o: DrainOptions,
  deadline: number,
  io: KubeIO,
): Promise<void> {
  for (;;) {
    try {
      const cur = await client.request<Obj>({ path: podPath(pod.namespace, pod.name) });
      if (String(rec(cur.metadata).uid ?? '') !== pod.uid) break;
    } catch (err) {
      if (!isNotFound(err)) throw err;
      break;
    }
    if (expired(deadline)) {
      throw new CliError(
        `error when waiting for pod "${pod.name}" in namespace "${pod.namespace}" to terminate: global timeout reached: ${formatMs(o.timeout)}`,
      );
    }
    if (io.signal?.aborted) throw new CliError('drain interrupted');
    await sleep(500);
  }
  io.out(`pod/${pod.name} ${o.disableEviction ? 'deleted' : 'evicted'}\n`);
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

async function drainNode(client: KubeClient, node: string, o: DrainOptions, io: KubeIO) {
  await setUnschedulable(client, node, true, io);
  const deadline = o.timeout > 0 ? Date.now() + o.timeout : 0;
  const pods = await podsToRemove(client, node, o, io);
  // All evictions first, then the waits, so the pods' grace periods overlap.
  for (const pod of pods) await removePod(client, pod, o, deadline, io);
  await Promise.all(pods.map((pod) => waitGone(client, pod, o, deadline, io)));
  io.out(`node/${node} drained\n`);
}

export async function runDrain(names: string[], o: DrainOptions, io: KubeIO): Promise<void> {
  const client = connect(o, io);
  await eachNode(names, io, (name) => drainNode(client, name, o, io));
}

function parseGrace(value: string): number {
  if (!/^-?\d+$/.test(value) || Number(value) < -1) {
    throw new InvalidArgumentError(`"${value}" is not an integer ≥ -1`);
  }
  return Number(value);
}

export function registerDrain(program: Command, io: KubeIO): void {
  const cordon = program
    .command('cordon')
    .description('mark nodes unschedulable: new pods are not placed there')
    .argument('<node...>', 'node names')
    .addHelpText('after', '\nExamples:\n  shoal cordon node-1\n  shoal cordon node-1 node-2');
  addConnectionFlags(cordon);
  wireCommand(cordon, io);
  cordon.action((names: string[], o: ConnOptions) => runCordon(names, o, io));

  const uncordon = program
    .command('uncordon')
    .description('mark nodes schedulable again')
    .argument('<node...>', 'node names')
    .addHelpText('after', '\nExamples:\n  shoal uncordon node-1');
  addConnectionFlags(uncordon);
  wireCommand(uncordon, io);
  uncordon.action((names: string[], o: ConnOptions) => runUncordon(names, o, io));

  const drain = program
    .command('drain')
    .description('cordon nodes, then evict their pods (pods/eviction) and wait until they are gone')
    .argument('<node...>', 'node names')
    .option('--ignore-daemonsets', 'leave DaemonSet-managed pods (else drain refuses)')
    .option('--delete-emptydir-data', 'evict pods with emptyDir volumes (their data is lost)')
    .option('--force', 'also delete pods no controller manages (they are not recreated)')
    .option(
      '--grace-period <seconds>',
      "seconds each pod gets to stop; -1 uses the pod's own",
      parseGrace,
      -1,
    )
    .option('--timeout <duration>', 'give up after this long (0: wait for ever)', parseDuration, 0)
    .option('--disable-eviction', 'delete pods instead of evicting them')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  shoal drain node-1 --ignore-daemonsets\n' +
        '  shoal drain node-1 --ignore-daemonsets --delete-emptydir-data --force --timeout 2m\n' +
        '  shoal drain node-1 --grace-period 0 --disable-eviction',
    );
  addConnectionFlags(drain);
  wireCommand(drain, io);
  drain.action((names: string[], o: DrainOptions) => runDrain(names, o, io));
}
