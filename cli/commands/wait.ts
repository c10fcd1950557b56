// Following a workload until it is ready, for `apply --wait` (and rollout
// status): a progress line while it waits, and on failure the reason a user can
// act on — a pod's waiting reason (ImagePullBackOff …), why it is unscheduled,
// a Job's Failed condition — instead of a bare timeout.

import { isRecord } from '../../controlplane/api/objects.js';
import type { KubeClient } from './client.js';
import { resourcePath, type ApiResource, objectRef } from './discovery.js';
import { CliError } from './errors.js';
import { sleep } from './flags.js';

export type Readiness =
  | { state: 'ready'; message: string }
  | { state: 'progressing'; message: string }
  | { state: 'failed'; message: string };

type Obj = Record<string, unknown>;

const rec = (v: unknown): Obj => (isRecord(v) ? v : {});
const num = (v: unknown): number => (typeof v === 'number' ? v : 0);

function condition(obj: Obj, type: string): Obj | undefined {
  const list = rec(obj.status).conditions;
  return Array.isArray(list) ? list.map(rec).find((c) => c.type === type) : undefined;
}

/** Whether the kinds --wait follows. */
export function isWaitable(kind: string): boolean {
  return kind === 'Deployment' || kind === 'DaemonSet' || kind === 'Job';
}

/** The readiness of a Deployment, DaemonSet or Job from its status alone. */
export function readiness(obj: Obj): Readiness {
  const meta = rec(obj.metadata);
  const spec = rec(obj.spec);
  const status = rec(obj.status);
  const observed =
    typeof status.observedGeneration === 'number' &&
    status.observedGeneration >= num(meta.generation);
  switch (obj.kind) {
    case 'Deployment': {
      const want = typeof spec.replicas === 'number' ? spec.replicas : 1;
      const progressing = condition(obj, 'Progressing');
      if (progressing?.status === 'False' && progressing.reason === 'ProgressDeadlineExceeded') {
        return {
          state: 'failed',
          message: `exceeded its progress deadline: ${String(progressing.message ?? '')}`,
        };
      }
      if (!observed)
        return {
          state: 'progressing',
          message: 'waiting for the controller to observe the new spec',
        };
      const updated = num(status.updatedReplicas);
      const available = num(status.availableReplicas);
      if (updated < want)
        return { state: 'progressing', message: `${updated} of ${want} updated replicas` };
      if (available < want)
        return {
          state: 'progressing',
          message: `${available} of ${want} updated replicas are available`,
        };
      if (num(status.replicas) > updated)
        return {
          state: 'progressing',
          message: `${num(status.replicas) - updated} old replicas are pending termination`,
        };
      return { state: 'ready', message: `${available} of ${want} replicas available` };
    }
    case 'DaemonSet': {
      if (!observed)
        return {
          state: 'progressing',
          message: 'waiting for the controller to observe the new spec',
        };
      const desired = num(status.desiredNumberScheduled);
      const available = num(status.numberAvailable);
      const updated =
        typeof status.updatedNumberScheduled === 'number' ? status.updatedNumberScheduled : desired;
      if (updated < desired)
        return { state: 'progressing', message: `${updated} of ${desired} updated pods` };
      if (available < desired)
        return {
          state: 'progressing',
          message: `${available} of ${desired} updated pods are available`,
        };
      return { state: 'ready', message: `${available} of ${desired} pods available` };
    }
    case 'Job': {
      const failed = condition(obj, 'Failed');
      if (failed?.status === 'True') {
        return {
          state: 'failed',
          message: `${String(failed.reason ?? 'Failed')}: ${String(failed.message ?? '')}`,
        };
      }
      if (condition(obj, 'Complete')?.status === 'True') {
        return { state: 'ready', message: `complete (${num(status.succeeded)} succeeded)` };
      }
      return {
        state: 'progressing',
        message: `${num(status.active)} active, ${num(status.succeeded)} succeeded, ${num(status.failed)} failed`,
      };
    }
    default:
      return { state: 'ready', message: 'nothing to wait for' };
  }
}

/** A LabelSelector as the labelSelector query parameter spells it. */
export function selectorString(selector: unknown): string {
  const s = rec(selector);
  const parts = Object.entries(rec(s.matchLabels)).map(([k, v]) => `${k}=${String(v)}`);
  for (const e of Array.isArray(s.matchExpressions) ? s.matchExpressions.map(rec) : []) {
    const values = Array.isArray(e.values) ? e.values.map(String).join(',') : '';
    const key = String(e.key);
    if (e.operator === 'In') parts.push(`${key} in (${values})`);
    else if (e.operator === 'NotIn') parts.push(`${key} notin (${values})`);
    else if (e.operator === 'Exists') parts.push(key);
    else if (e.operator === 'DoesNotExist') parts.push(`!${key}`);
  }
  return parts.join(',');
}

// Waiting reasons that will not fix themselves without a change by the user.
const FATAL_WAITING = new Set([
  'ErrImagePull',
  'ImagePullBackOff',
  'InvalidImageName',
  'CrashLoopBackOff',
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
  'ErrImageNeverPull',
]);

/** The pods' own account of why the workload is not ready: the first problem found, and if it is fatal. */
export async function podProblem(
  client: KubeClient,
  pods: ApiResource,
  namespace: string,
  selector: unknown,
): Promise<{ message: string; fatal: boolean } | undefined> {
  const labelSelector = selectorString(selector);
  if (!labelSelector) return undefined;
  const list = await client.request<{ items?: Obj[] }>({
    path: resourcePath(pods, namespace),
    query: { labelSelector },
  });
  let pending: string | undefined;
  for (const pod of list.items ?? []) {
    const name = String(rec(pod.metadata).name);
    const status = rec(pod.status);
    const statuses = [
      ...(Array.isArray(status.initContainerStatuses) ? status.initContainerStatuses : []),
      ...(Array.isArray(status.containerStatuses) ? status.containerStatuses : []),
    ].map(rec);
    for (const cs of statuses) {
      const waiting = rec(rec(cs.state).waiting);
      const reason = typeof waiting.reason === 'string' ? waiting.reason : undefined;
      if (reason && FATAL_WAITING.has(reason)) {
        const msg =
          typeof waiting.message === 'string' && waiting.message ? `: ${waiting.message}` : '';
        return {
          message: `pod ${name}: container ${String(cs.name)}: ${reason}${msg}`,
          fatal: true,
        };
      }
    }
    const scheduled = condition(pod, 'PodScheduled');
    if (!pending && scheduled?.status === 'False') {
      pending = `pod ${name} is Pending: ${String(scheduled.message ?? scheduled.reason ?? 'not scheduled')}`;
    }
  }
  return pending ? { message: pending, fatal: false } : undefined;
}

/** The pods a workload owns: its selector, or (a Job written without one) its template's labels. */
function podSelector(obj: Obj): unknown {
  const spec = rec(obj.spec);
  return spec.selector ?? { matchLabels: rec(rec(rec(spec.template).metadata).labels) };
}

export interface WaitTarget {
  resource: ApiResource;
  namespace: string | undefined;
  name: string;
}

/**
 * Polls one workload until ready. Reports progress through `progress` (each
 * distinct message once), throws a CliError naming the object with the reason
 * on failure or when `deadline` (epoch ms) passes.
 */
export async function waitReady(
  client: KubeClient,
  target: WaitTarget,
  podsResource: ApiResource | undefined,
  deadline: number,
  progress: (ref: string, message: string) => void,
  pollMs = 1000,
): Promise<string> {
  const ref = objectRef(target.resource, target.name);
  const path = resourcePath(target.resource, target.namespace, target.name);
  let last = '';
  let problem: { message: string; fatal: boolean } | undefined;
  for (;;) {
    const obj = await client.request<Obj>({ path });
    const r = readiness(obj);
    if (r.state === 'ready') return `${ref} ready: ${r.message}`;
    if (r.state === 'failed') throw new CliError(`${ref} failed: ${r.message}`);
    problem =
      podsResource && target.namespace
        ? await podProblem(client, podsResource, target.namespace, podSelector(obj))
        : undefined;
    if (problem?.fatal) throw new CliError(`${ref} failed: ${problem.message}`);
    const message = r.message + (problem ? `; ${problem.message}` : '');
    if (message !== last) progress(ref, message);
    last = message;
    const left = deadline - Date.now();
    if (left <= 0) {
      throw new CliError(`timed out waiting for ${ref}: ${message}`);
    }
    await sleep(Math.min(pollMs, left));
  }
}
