// The DaemonSet controller: one pod per eligible node. A node is eligible
// when the pod template's nodeSelector, required node affinity and
// tolerations (plus the ones Kubernetes adds to every daemon pod) admit it.
// Pods are created unbound, pinned to their node by a required node
// affinity on `metadata.name` (as Kubernetes ≥ 1.12 does), so the scheduler
// still checks resources and binds them. RollingUpdate replaces pods whose
// `controller-revision-hash` label differs from the template's, never taking
// more than maxUnavailable daemon pods down at once.
//
// Level-driven, as sample-controller: reconcile(key) reads the DaemonSet,
// nodes and pods from the shared caches, never changes what it read, and
// converges with creates and deletes; pod and node events queue the keys of
// the DaemonSets they concern.

import type { Logger } from 'pino';
import { isRecord, type KubeObject } from '../api/objects.js';
import type { Registry } from '../api/registry/registry.js';
import { findResource } from '../api/resources.js';
import type { Informer } from './runtime/informer.js';
import { objectKeyOf } from './runtime/informer.js';
import type { EventRecorder } from './runtime/events.js';
import { WorkQueue } from './runtime/workqueue.js';
import { Workers } from './runtime/run.js';
import type { Controller, ControllerDeps } from './types.js';
import {
  InFlightWrites,
  controllerRefOf,
  isApiError,
  isControlledBy,
  isPodAvailable,
  isPodReady,
  newControllerRef,
  podPhase,
} from './owner-refs.js';

const DAEMONSETS = findResource('apps', 'v1', 'daemonsets')!;
const PODS = findResource('', 'v1', 'pods')!;
const NODES = findResource('', 'v1', 'nodes')!;

/** The label that names the template revision a daemon pod was made from. */
export const REVISION_HASH_LABEL = 'controller-revision-hash';
const FIELD_MANAGER = 'daemonset-controller';

type Rec = Record<string, unknown>;

export interface Toleration {
  key?: string;
  operator?: string;
  value?: string;
  effect?: string;
  tolerationSeconds?: number;
}

export interface Taint {
  key: string;
  value?: string;
  effect: string;
}

/**
 * The tolerations Kubernetes adds to every daemon pod
 * (daemonutil.AddOrUpdateDaemonPodTolerations): a daemon stays on a node
 * that is unready, unreachable, under pressure or cordoned.
 */
export const DAEMON_TOLERATIONS: readonly Toleration[] = [
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
];
const NETWORK_UNAVAILABLE: Toleration = {
  key: 'node.kubernetes.io/network-unavailable',
  operator: 'Exists',
  effect: 'NoSchedule',
};

export interface DaemonSetControllerOptions {
  workers?: number;
  /** The clock for minReadySeconds; tests pass their own. */
  now?: () => Date;
}

export class DaemonSetController implements Controller {
  readonly name = 'daemonset';
  private readonly registry: Registry;
  private readonly events: EventRecorder;
  private readonly log: Logger | undefined;
  private readonly daemonSets: Informer;
  private readonly pods: Informer;
  private readonly nodes: Informer;
  private readonly queue = new WorkQueue('daemonset');
  private readonly workers = new Workers(this.queue, this);
  private readonly inFlight = new InFlightWrites();
  private readonly now: () => Date;

  constructor(
    deps: ControllerDeps,
    private readonly opts: DaemonSetControllerOptions = {},
  ) {
    this.registry = deps.registry;
    this.events = deps.events;
    this.log = deps.logger;
    this.now = opts.now ?? (() => new Date());
    this.daemonSets = deps.informers.forResource(DAEMONSETS);
    this.pods = deps.informers.forResource(PODS);
    this.nodes = deps.informers.forResource(NODES);

    this.daemonSets.on({
      add: (ds) => this.queue.add(objectKeyOf(ds)),
      update: (_old, ds) => this.queue.add(objectKeyOf(ds)),
      delete: (ds) => this.queue.add(objectKeyOf(ds)),
    });
    this.pods.on({
      add: (pod) => this.podChanged(pod, pod),
      update: (old, pod) => this.podChanged(old, pod),
      delete: (pod) => this.podChanged(pod, undefined),
    });
    this.nodes.on({
      add: () => this.enqueueAll(),
      // Heartbeats rewrite status every few seconds; only labels and spec change placement.
      update: (old, node) => {
        if (placementInputs(old) !== placementInputs(node)) this.enqueueAll();
      },
      delete: () => this.enqueueAll(),
    });
  }

  async start(): Promise<void> {
    this.enqueueAll();
    this.workers.start({ workers: this.opts.workers ?? 2, logger: this.log });
  }

  async stop(): Promise<void> {
    await this.workers.stop();
  }

  /** Converges the DaemonSet `namespace/name`: creates, deletes, then status. */
  async reconcile(key: string): Promise<void> {
    const ds = this.daemonSets.get(key);
    if (!ds) {
      // Its pods go with it through the garbage collector.
      this.inFlight.forget(key);
      return;
    }
    if (ds.metadata.deletionTimestamp) return;
    const spec = isRecord(ds.spec) ? ds.spec : {};
    const template = isRecord(spec.template) ? spec.template : {};
    const hash = templateHash(template);
    const podSpec = isRecord(template.spec) ? template.spec : {};
    const tolerations = withDaemonTolerations(podSpec);
    const minReadySeconds = typeof spec.minReadySeconds === 'number' ? spec.minReadySeconds : 0;
    const now = this.now();

    const nodes = this.nodes.list().sort(byName);
    const nodeNames = new Set(nodes.map((n) => n.metadata.name ?? ''));
    const owned = this.pods
      .list(
        (p) => p.metadata.namespace === ds.metadata.namespace && isControlledBy(p, ds.metadata.uid),
      )
      .sort(oldestFirst);
    const byNode = new Map<string, KubeObject[]>();
    const stray: KubeObject[] = [];
    for (const pod of owned) {
      const target = targetNodeOf(pod);
      if (target === undefined || !nodeNames.has(target)) {
        stray.push(pod);
        continue;
      }
      const list = byNode.get(target) ?? [];
      list.push(pod);
      byNode.set(target, list);
    }
    const placement = new Map(
      nodes.map((n) => [n.metadata.name ?? '', placementOf(podSpec, tolerations, n)]),
    );

    if (this.inFlight.satisfied(key)) {
      const toCreate: string[] = [];
      const toDelete: KubeObject[] = [];
      for (const node of nodes) {
        const name = node.metadata.name ?? '';
        const { shouldRun, shouldContinueRunning } = placement.get(name)!;
        const here = byNode.get(name) ?? [];
        if (shouldRun && here.length === 0) {
          toCreate.push(name);
        } else if (shouldContinueRunning) {
          const alive = here.filter((p) => !p.metadata.deletionTimestamp);
          // A failed daemon pod never restarts itself: replace it.
          const failed = alive.filter((p) => podPhase(p) === 'Failed');
          const healthy = alive.filter((p) => podPhase(p) !== 'Failed');
          // More than one on a node (a lost race, an adoption): keep the oldest.
          toDelete.push(...failed, ...healthy.slice(1));
        } else {
          toDelete.push(...here.filter((p) => !p.metadata.deletionTimestamp));
        }
      }
      toDelete.push(...stray.filter((p) => !p.metadata.deletionTimestamp));

      await this.writePods(key, ds, template, hash, toCreate, toDelete);
      // As Kubernetes does, roll only once placement is settled: a rolling
      // update reckoned on a cache that lacks these writes could overshoot.
      if (toCreate.length === 0 && toDelete.length === 0 && isRollingUpdate(spec)) {
        const old = this.rollingUpdateVictims(
          spec,
          nodes,
          placement,
          byNode,
          hash,
          minReadySeconds,
          now,
        );
        await this.writePods(key, ds, template, hash, [], old);
      }
    }

    await this.updateStatus(ds, nodes, placement, byNode, hash, minReadySeconds, now);
  }

  /** Old-template pods to delete now, keeping at most maxUnavailable daemon pods unavailable. */
  private rollingUpdateVictims(
    spec: Rec,
    nodes: KubeObject[],
    placement: Map<string, Placement>,
    byNode: Map<string, KubeObject[]>,
    hash: string,
    minReadySeconds: number,
    now: Date,
  ): KubeObject[] {
    let desired = 0;
    for (const p of placement.values()) if (p.shouldRun) desired++;
    const maxUnavailable = maxUnavailableOf(spec, desired);
    let unavailable = 0;
    const replaceNow: KubeObject[] = [];
    const candidates: KubeObject[] = [];
    for (const node of nodes) {
      const name = node.metadata.name ?? '';
      const here = (byNode.get(name) ?? []).filter((p) => !p.metadata.deletionTimestamp);
      const { shouldRun, shouldContinueRunning } = placement.get(name)!;
      if (!shouldRun && !(shouldContinueRunning && here.length > 0)) continue;
      const pod = here[0];
      if (here.length !== 1 || !pod) {
        // Missing, terminating or duplicated: placement will fix it; until then it is down.
        unavailable++;
        continue;
      }
      const available = isPodAvailable(pod, minReadySeconds, now);
      if (pod.metadata.labels?.[REVISION_HASH_LABEL] === hash) {
        if (!available) unavailable++;
      } else if (!available) {
        // Already down: replacing it costs no availability.
        replaceNow.push(pod);
      } else {
        candidates.push(pod);
      }
    }
    const budget = Math.max(0, Math.min(maxUnavailable - unavailable, candidates.length));
    return [...replaceNow, ...candidates.slice(0, budget)];
  }

  private async writePods(
    key: string,
    ds: KubeObject,
    template: Rec,
    hash: string,
    nodes: string[],
    victims: KubeObject[],
  ): Promise<void> {
    const errors: unknown[] = [];
    await Promise.all([
      ...nodes.map(async (node) => {
        try {
          const pod = await this.registry.create(
            PODS,
            ds.metadata.namespace,
            daemonPod(ds, template, hash, node),
            {
              fieldManager: FIELD_MANAGER,
            },
          );
          const podKey = objectKeyOf(pod);
          this.inFlight.expect(key, podKey, 'create', this.pods.get(podKey) !== undefined);
          this.events.event(ds, 'Normal', 'SuccessfulCreate', `Created pod: ${pod.metadata.name}`);
        } catch (err) {
          this.events.event(ds, 'Warning', 'FailedCreate', `Error creating: ${errorMessage(err)}`);
          errors.push(err);
        }
      }),
      ...victims.map(async (pod) => {
        const podKey = objectKeyOf(pod);
        try {
          await this.registry.delete(PODS, pod.metadata.namespace, pod.metadata.name ?? '', {
            preconditions: { uid: pod.metadata.uid! },
          });
          const cached = this.pods.get(podKey);
          this.inFlight.expect(
            key,
            podKey,
            'delete',
            !cached || !!cached.metadata.deletionTimestamp,
          );
          this.events.event(ds, 'Normal', 'SuccessfulDelete', `Deleted pod: ${pod.metadata.name}`);
        } catch (err) {
          if (isApiError(err, 'NotFound')) return;
          this.events.event(ds, 'Warning', 'FailedDelete', `Error deleting: ${errorMessage(err)}`);
          errors.push(err);
        }
      }),
    ]);
    if (errors.length > 0) throw errors[0];
  }

  private async updateStatus(
    ds: KubeObject,
    nodes: KubeObject[],
    placement: Map<string, Placement>,
    byNode: Map<string, KubeObject[]>,
    hash: string,
    minReadySeconds: number,
    now: Date,
  ): Promise<void> {
    let desired = 0;
    let current = 0;
    let misscheduled = 0;
    let ready = 0;
    let available = 0;
    let updated = 0;
    for (const node of nodes) {
      const name = node.metadata.name ?? '';
      const here = byNode.get(name) ?? [];
      if (!placement.get(name)!.shouldRun) {
        if (here.length > 0) misscheduled++;
        continue;
      }
      desired++;
      if (here.length === 0) continue;
      current++;
      const pod = here.find((p) => !p.metadata.deletionTimestamp) ?? here[0]!;
      if (isPodReady(pod)) ready++;
      if (isPodAvailable(pod, minReadySeconds, now)) available++;
      if (pod.metadata.labels?.[REVISION_HASH_LABEL] === hash) updated++;
    }
    const old = isRecord(ds.status) ? ds.status : {};
    const status: Rec = {
      ...old,
      currentNumberScheduled: current,
      desiredNumberScheduled: desired,
      numberMisscheduled: misscheduled,
      numberReady: ready,
      numberAvailable: available,
      updatedNumberScheduled: updated,
      observedGeneration: ds.metadata.generation ?? 0,
    };
    if (desired - available > 0) status.numberUnavailable = desired - available;
    else delete status.numberUnavailable;
    if (JSON.stringify(status) === JSON.stringify(old)) return;
    const next = structuredClone(ds);
    next.status = status;
    await this.registry.update(DAEMONSETS, ds.metadata.namespace, ds.metadata.name ?? '', next, {
      subresource: 'status',
      fieldManager: FIELD_MANAGER,
    });
  }

  private podChanged(old: KubeObject, pod: KubeObject | undefined): void {
    const podKey = objectKeyOf(old);
    const cleared = this.inFlight.observe(podKey, pod);
    if (cleared) this.queue.add(cleared);
    for (const p of pod && pod !== old ? [old, pod] : [old]) {
      const ref = controllerRefOf(p);
      if (ref?.kind === 'DaemonSet' && ref.apiVersion.startsWith('apps/')) {
        this.queue.add(`${p.metadata.namespace ?? ''}/${ref.name}`);
      }
    }
  }

  private enqueueAll(): void {
    for (const ds of this.daemonSets.list()) this.queue.add(objectKeyOf(ds));
  }
}

// ---- placement -------------------------------------------------------------

export interface Placement {
  /** A daemon pod should be created here if none runs. */
  shouldRun: boolean;
  /** A daemon pod already here may stay (an untolerated NoSchedule taint does not evict). */
  shouldContinueRunning: boolean;
}

/** daemonutil.NodeShouldRunDaemonPod: the template's constraints against one node. */
export function placementOf(
  podSpec: Rec,
  tolerations: readonly Toleration[],
  node: KubeObject,
): Placement {
  const no = { shouldRun: false, shouldContinueRunning: false };
  const name = node.metadata.name ?? '';
  if (typeof podSpec.nodeName === 'string' && podSpec.nodeName !== '' && podSpec.nodeName !== name)
    return no;
  const labels = node.metadata.labels ?? {};
  const selector = isRecord(podSpec.nodeSelector) ? podSpec.nodeSelector : {};
  for (const [k, v] of Object.entries(selector)) if (labels[k] !== v) return no;
  const affinity = isRecord(podSpec.affinity) ? podSpec.affinity : {};
  const nodeAffinity = isRecord(affinity.nodeAffinity) ? affinity.nodeAffinity : {};
  const required = nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution;
  if (isRecord(required) && !nodeSelectorMatches(required, node)) return no;
  const nodeSpec = isRecord(node.spec) ? node.spec : {};
  const taints = (Array.isArray(nodeSpec.taints) ? nodeSpec.taints : []).filter(isTaint);
  const untolerated = taints.filter(
    (t) =>
      (t.effect === 'NoSchedule' || t.effect === 'NoExecute') &&
      !tolerations.some((tol) => tolerates(tol, t)),
  );
  if (untolerated.some((t) => t.effect === 'NoExecute')) return no;
  if (untolerated.length > 0) return { shouldRun: false, shouldContinueRunning: true };
  return { shouldRun: true, shouldContinueRunning: true };
}

/** v1helper.ToleratesTaint. */
export function tolerates(tol: Toleration, taint: Taint): boolean {
  if (tol.effect && tol.effect !== taint.effect) return false;
  // An empty key with Exists tolerates every taint.
  if (tol.key && tol.key !== taint.key) return false;
  if (!tol.key && tol.operator !== 'Exists') return false;
  if (tol.operator === 'Exists') return true;
  return (tol.value ?? '') === (taint.value ?? '');
}

/** A NodeSelector (terms ORed, requirements within a term ANDed) against a node. */
export function nodeSelectorMatches(selector: Rec, node: KubeObject): boolean {
  const terms = (
    Array.isArray(selector.nodeSelectorTerms) ? selector.nodeSelectorTerms : []
  ).filter(isRecord);
  const labels = node.metadata.labels ?? {};
  const fields: Record<string, string> = { 'metadata.name': node.metadata.name ?? '' };
  return terms.some((term) => {
    const exprs = (Array.isArray(term.matchExpressions) ? term.matchExpressions : []).filter(
      isRecord,
    );
    const fieldExprs = (Array.isArray(term.matchFields) ? term.matchFields : []).filter(isRecord);
    // An empty term selects nothing.
    if (exprs.length + fieldExprs.length === 0) return false;
    return (
      exprs.every((e) => requirementMatches(e, labels)) &&
      fieldExprs.every((e) => requirementMatches(e, fields))
    );
  });
}

function requirementMatches(req: Rec, values: Record<string, string>): boolean {
  const key = typeof req.key === 'string' ? req.key : '';
  const list = (Array.isArray(req.values) ? req.values : []).map(String);
  const has = Object.hasOwn(values, key);
  const value = values[key];
  switch (req.operator) {
    case 'In':
      return has && list.includes(value ?? '');
    case 'NotIn':
      return !has || !list.includes(value ?? '');
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
    case 'Gt':
    case 'Lt': {
      if (!has || list.length !== 1) return false;
      const actual = Number.parseInt(value ?? '', 10);
      const bound = Number.parseInt(list[0] ?? '', 10);
      if (Number.isNaN(actual) || Number.isNaN(bound)) return false;
      return req.operator === 'Gt' ? actual > bound : actual < bound;
    }
    default:
      return false;
  }
}

/** The template's tolerations plus the daemon ones it does not already have. */
export function withDaemonTolerations(podSpec: Rec): Toleration[] {
  const own = (Array.isArray(podSpec.tolerations) ? podSpec.tolerations : []).filter(
    isRecord,
  ) as Toleration[];
  const extra =
    podSpec.hostNetwork === true
      ? [...DAEMON_TOLERATIONS, NETWORK_UNAVAILABLE]
      : DAEMON_TOLERATIONS;
  const out = own.map((t) => ({ ...t }));
  for (const t of extra) {
    if (!out.some((o) => o.key === t.key && o.effect === t.effect && o.operator === t.operator))
      out.push({ ...t });
  }
  return out;
}

/** The node a daemon pod is for: its nodeName once bound, else its `metadata.name In [node]` affinity. */
export function targetNodeOf(pod: KubeObject): string | undefined {
  const spec = isRecord(pod.spec) ? pod.spec : {};
  if (typeof spec.nodeName === 'string' && spec.nodeName !== '') return spec.nodeName;
  const affinity = isRecord(spec.affinity) ? spec.affinity : {};
  const nodeAffinity = isRecord(affinity.nodeAffinity) ? affinity.nodeAffinity : {};
  const required = isRecord(nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution)
    ? nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution
    : {};
  const terms = Array.isArray(required.nodeSelectorTerms) ? required.nodeSelectorTerms : [];
  for (const term of terms) {
    if (!isRecord(term) || !Array.isArray(term.matchFields)) continue;
    for (const f of term.matchFields) {
      if (!isRecord(f) || f.key !== 'metadata.name' || f.operator !== 'In') continue;
      const values = Array.isArray(f.values) ? f.values : [];
      if (values.length === 1 && typeof values[0] === 'string') return values[0];
    }
  }
  return undefined;
}

// ---- pods ------------------------------------------------------------------

/**
 * The pod for one node: the template, labelled with its revision, owned by
 * the DaemonSet, with the daemon tolerations and its required node affinity
 * replaced by "this node" (the other terms were checked by placementOf).
 */
export function daemonPod(ds: KubeObject, template: Rec, hash: string, node: string): KubeObject {
  const meta = isRecord(template.metadata) ? template.metadata : {};
  const spec = structuredClone(isRecord(template.spec) ? template.spec : {});
  spec.tolerations = withDaemonTolerations(spec);
  const affinity = isRecord(spec.affinity) ? spec.affinity : {};
  const nodeAffinity = isRecord(affinity.nodeAffinity) ? affinity.nodeAffinity : {};
  nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution = {
    nodeSelectorTerms: [
      { matchFields: [{ key: 'metadata.name', operator: 'In', values: [node] }] },
    ],
  };
  affinity.nodeAffinity = nodeAffinity;
  spec.affinity = affinity;
  const labels = { ...(isRecord(meta.labels) ? (meta.labels as Record<string, string>) : {}) };
  labels[REVISION_HASH_LABEL] = hash;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      // Kubernetes cuts a generateName base to 58 characters so the name fits 63.
      generateName: `${ds.metadata.name ?? ''}-`.slice(0, 58),
      namespace: ds.metadata.namespace ?? 'default',
      labels,
      ...(isRecord(meta.annotations)
        ? { annotations: { ...(meta.annotations as Record<string, string>) } }
        : {}),
      ownerReferences: [newControllerRef({ ...ds, apiVersion: 'apps/v1', kind: 'DaemonSet' })],
    },
    spec,
  };
}

/** A short, stable name for a pod template: FNV-1a of its canonical JSON, encoded as Kubernetes' SafeEncodeString. */
export function templateHash(template: unknown): string {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(canonicalJson(template))) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  const alphanums = 'bcdfghjklmnpqrstvwxz2456789';
  return [...String(h)].map((c) => alphanums[c.charCodeAt(0) % alphanums.length]).join('');
}

/** JSON with object keys sorted, so key order in a manifest does not change the hash. */
function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (isRecord(v)) {
    const keys = Object.keys(v)
      .filter((k) => v[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

// ---- small things ----------------------------------------------------------

function isRollingUpdate(spec: Rec): boolean {
  const strategy = isRecord(spec.updateStrategy) ? spec.updateStrategy : {};
  return (strategy.type ?? 'RollingUpdate') === 'RollingUpdate';
}

/** maxUnavailable as a count of `desired` (percentages round up); never 0, or the update would stall. */
export function maxUnavailableOf(spec: Rec, desired: number): number {
  const strategy = isRecord(spec.updateStrategy) ? spec.updateStrategy : {};
  const ru = isRecord(strategy.rollingUpdate) ? strategy.rollingUpdate : {};
  const raw = ru.maxUnavailable ?? 1;
  let n = 1;
  if (typeof raw === 'number') n = raw;
  else if (typeof raw === 'string' && /^\d+%$/.test(raw))
    n = Math.ceil((Number.parseInt(raw, 10) * desired) / 100);
  else if (typeof raw === 'string' && /^\d+$/.test(raw)) n = Number.parseInt(raw, 10);
  return Math.max(1, n);
}

function isTaint(v: unknown): v is Taint {
  return isRecord(v) && typeof v.key === 'string' && typeof v.effect === 'string';
}

/** What decides placement on a node: labels and spec (taints, unschedulable), not its heartbeats. */
function placementInputs(node: KubeObject): string {
  return JSON.stringify([node.metadata.labels ?? {}, node.spec ?? {}]);
}

function byName(a: KubeObject, b: KubeObject): number {
  return (a.metadata.name ?? '').localeCompare(b.metadata.name ?? '');
}

function oldestFirst(a: KubeObject, b: KubeObject): number {
  const ta = a.metadata.creationTimestamp ?? '';
  const tb = b.metadata.creationTimestamp ?? '';
  return ta === tb ? byName(a, b) : ta < tb ? -1 : 1;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
