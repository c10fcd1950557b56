// What the workload controllers share about the objects they own, after
// kube's pkg/controller (controller_utils.go, controller_ref_manager.go) and
// the deployment util: controller ownerReferences and claiming (adopt
// orphans that match, release owned ones that stopped matching), the
// pod-template-hash, pod readiness and availability, which pods count as
// active, the order in which surplus pods are deleted, pods made from a
// template, and the slow-start batching of creates.

import type { KubeObject, OwnerReference } from '../api/objects.js';
import { isRecord, namespacedName } from '../api/objects.js';
import type { Informer } from './runtime/informer.js';
import {
  fromLabelSelector,
  matchesLabels,
  type LabelSelectorRequirement,
} from '../api/selectors.js';

type Rec = Record<string, unknown>;

export const POD_TEMPLATE_HASH_LABEL = 'pod-template-hash';
/** A pod's own say in which pod of a ReplicaSet goes first on scale-down (lower goes first). */
export const POD_DELETION_COST_ANNOTATION = 'controller.kubernetes.io/pod-deletion-cost';

export const rec = (v: unknown): Rec => (isRecord(v) ? v : {});

export function num(v: unknown, fallback = 0): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : fallback;
}

export function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(rec(v))) if (typeof x === 'string') out[k] = x;
  return out;
}

/** `namespace/name`, the work-queue key of a namespaced object. */
export const keyOf = namespacedName;

/** Milliseconds since the epoch of an RFC 3339 time, 0 when absent or unparsable. */
export function timeOf(v: unknown): number {
  if (typeof v !== 'string') return 0;
  const t = Date.parse(v);
  return Number.isNaN(t) ? 0 : t;
}

/** RFC 3339 to the second, as Kubernetes writes metav1.Time. */
export function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

// ---------------------------------------------------------------------------
// Controller references

/** The ownerReference with controller: true, if any (metav1.GetControllerOf). */
export function controllerRef(obj: KubeObject): OwnerReference | undefined {
  return obj.metadata.ownerReferences?.find((r) => r.controller === true);
}

/** Informer index (Informer.addIndex): objects by their controller's uid, orphans by `orphan/<namespace>`. */
export const BY_CONTROLLER = 'controller';

export function controllerIndex(obj: KubeObject): string[] {
  return [controllerRef(obj)?.uid ?? orphansOf(obj.metadata.namespace ?? '')];
}

function orphansOf(namespace: string): string {
  return `orphan/${namespace}`;
}

/**
 * What claimObjects needs to see for `owner`, from an informer indexed with
 * BY_CONTROLLER: the objects it controls and the orphans of its namespace
 * (those controlled by others it would skip anyway).
 */
export function claimCandidates(informer: Informer, owner: KubeObject): KubeObject[] {
  return [
    ...informer.byIndex(BY_CONTROLLER, owner.metadata.uid ?? ''),
    ...informer.byIndex(BY_CONTROLLER, orphansOf(owner.metadata.namespace ?? '')),
  ];
}

/** A controller reference to owner; blockOwnerDeletion lets foreground deletion wait for the child. */
export function newControllerRef(
  owner: KubeObject,
  apiVersion: string,
  kind: string,
): OwnerReference {
  return {
    apiVersion,
    kind,
    name: owner.metadata.name ?? '',
    uid: owner.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

/**
 * The selector of a controller's spec: requirements, or 'nothing' when it
 * is absent or invalid (validation rejects both, so this is defensive).
 */
export function selectorOf(spec: unknown): LabelSelectorRequirement[] | 'nothing' {
  const sel = rec(spec).selector;
  if (!isRecord(sel)) return 'nothing';
  try {
    return fromLabelSelector(sel);
  } catch {
    return 'nothing';
  }
}

/** Whether labels match a selector; 'nothing' matches nothing. */
export function selects(
  selector: readonly LabelSelectorRequirement[] | 'nothing',
  labels: Record<string, string> | undefined,
): boolean {
  return selector !== 'nothing' && matchesLabels(selector, labels);
}

/** Merge patch that adds ref to obj's ownerReferences, guarded by obj's resourceVersion. */
export function adoptionPatch(obj: KubeObject, ref: OwnerReference): Rec {
  const others = (obj.metadata.ownerReferences ?? []).filter((r) => r.uid !== ref.uid);
  return {
    metadata: { resourceVersion: obj.metadata.resourceVersion, ownerReferences: [...others, ref] },
  };
}

/** Merge patch that removes the reference to ownerUid, guarded by obj's resourceVersion. */
export function releasePatch(obj: KubeObject, ownerUid: string): Rec {
  const rest = (obj.metadata.ownerReferences ?? []).filter((r) => r.uid !== ownerUid);
  return {
    metadata: {
      resourceVersion: obj.metadata.resourceVersion,
      ownerReferences: rest.length > 0 ? rest : null,
    },
  };
}

export interface ClaimOptions {
  owner: KubeObject;
  selector: readonly LabelSelectorRequirement[] | 'nothing';
  /** A fresh read that the owner still exists, with the same uid, not being deleted; asked once, before the first adoption. */
  canAdopt(): Promise<boolean>;
  /** Writes the adoption; the adopted object, or undefined when it is gone or refused. */
  adopt(obj: KubeObject): Promise<KubeObject | undefined>;
  release(obj: KubeObject): Promise<void>;
}

/**
 * ControllerRefManager.ClaimObjects: of the candidates, returns those the
 * owner controls after adopting orphans that match its selector and
 * releasing owned objects that no longer match. Objects controlled by
 * someone else are left alone; an owner being deleted adopts and releases
 * nothing. Candidates are not modified.
 */
export async function claimObjects(
  candidates: readonly KubeObject[],
  opts: ClaimOptions,
): Promise<KubeObject[]> {
  const claimed: KubeObject[] = [];
  const ownerUid = opts.owner.metadata.uid;
  const ownerDeleting = opts.owner.metadata.deletionTimestamp !== undefined;
  let adoptable: boolean | undefined;
  for (const obj of candidates) {
    const matches = selects(opts.selector, obj.metadata.labels);
    const ref = controllerRef(obj);
    if (ref) {
      if (ref.uid !== ownerUid) continue;
      if (matches) {
        claimed.push(obj);
        continue;
      }
      if (ownerDeleting) continue;
      await opts.release(obj);
      continue;
    }
    if (!matches || ownerDeleting || obj.metadata.deletionTimestamp) continue;
    adoptable ??= await opts.canAdopt();
    if (!adoptable) continue;
    const adopted = await opts.adopt(obj);
    if (adopted) claimed.push(adopted);
  }
  return claimed;
}

// ---------------------------------------------------------------------------
// Templates and the pod-template-hash

/**
 * A JSON value with nulls, empty objects and empty arrays removed, keys
 * sorted: the form in which two templates are "semantically equal" the way
 * apimachinery's Semantic.DeepEqual sees typed objects (nil and empty
 * alike), and in which kubectl's round trip through Go types (which adds
 * `creationTimestamp: null`) changes nothing.
 */
function normalize(v: unknown): unknown {
  if (Array.isArray(v)) {
    const items = v.map(normalize).filter((x) => x !== undefined);
    return items.length > 0 ? items : undefined;
  }
  if (isRecord(v)) {
    const out: Rec = {};
    for (const k of Object.keys(v).sort()) {
      const x = normalize(v[k]);
      if (x !== undefined) out[k] = x;
    }
    return Object.keys(out).length > 0 ? out : undefined;
  }
  return v === null ? undefined : v;
}

export function semanticEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(normalize(a)) === JSON.stringify(normalize(b));
}

function withoutHashLabel(template: unknown): Rec {
  const t = structuredClone(rec(template));
  const meta = rec(t.metadata);
  const labels = rec(meta.labels);
  delete labels[POD_TEMPLATE_HASH_LABEL];
  return t;
}

/** Two pod templates equal but for their pod-template-hash label (deployment util EqualIgnoreHash). */
export function equalIgnoreHash(a: unknown, b: unknown): boolean {
  return semanticEqual(withoutHashLabel(a), withoutHashLabel(b));
}

const SAFE_ALPHANUMS = 'bcdfghjklmnpqrstvwxz2456789';

/**
 * Kubernetes' ComputeHash: FNV-32a over the template (here its normalized
 * JSON, where kube hashes a dump of the Go struct, so values differ from
 * kube's but are just as stable), then the collision count as 4
 * little-endian bytes when set, printed in decimal and mapped through
 * rand.SafeEncodeString's alphabet (no vowels, so no words; no 0/1/3).
 */
export function podTemplateHash(template: unknown, collisionCount?: number): string {
  let h = 0x811c9dc5;
  const feed = (bytes: Uint8Array): void => {
    for (const b of bytes) {
      h ^= b;
      h = Math.imul(h, 0x01000193) >>> 0;
    }
  };
  feed(Buffer.from(JSON.stringify(normalize(template)) ?? 'null', 'utf8'));
  if (collisionCount !== undefined) {
    const buf = Buffer.alloc(4);
    buf.writeUInt32LE(collisionCount >>> 0);
    feed(buf);
  }
  return [...String(h >>> 0)]
    .map((c) => SAFE_ALPHANUMS[c.charCodeAt(0) % SAFE_ALPHANUMS.length] ?? '')
    .join('');
}

/**
 * The pod a controller creates from its template (GetPodFromTemplate):
 * the template's labels, annotations, finalizers and spec, a generateName
 * of `<owner>-`, and the controller reference.
 */
export function podFromTemplate(
  template: unknown,
  owner: KubeObject,
  ref: OwnerReference,
): KubeObject {
  const t = rec(template);
  const meta = rec(t.metadata);
  const pod: KubeObject = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: `${owner.metadata.name ?? ''}-`,
      labels: stringMap(meta.labels),
      ownerReferences: [ref],
    },
    spec: structuredClone(rec(t.spec)),
  };
  if (owner.metadata.namespace) pod.metadata.namespace = owner.metadata.namespace;
  const annotations = stringMap(meta.annotations);
  if (Object.keys(annotations).length > 0) pod.metadata.annotations = annotations;
  if (Array.isArray(meta.finalizers)) {
    pod.metadata.finalizers = meta.finalizers.filter((f): f is string => typeof f === 'string');
  }
  return pod;
}

// ---------------------------------------------------------------------------
// Pod state

function podCondition(pod: KubeObject, type: string): Rec | undefined {
  const conditions = rec(pod.status).conditions;
  if (!Array.isArray(conditions)) return undefined;
  return conditions.find((c): c is Rec => isRecord(c) && c.type === type);
}

export function podPhase(pod: KubeObject): string {
  const phase = rec(pod.status).phase;
  return typeof phase === 'string' ? phase : '';
}

export function podNodeName(pod: KubeObject): string {
  const node = rec(pod.spec).nodeName;
  return typeof node === 'string' ? node : '';
}

/** The Ready condition is True. */
export function isPodReady(pod: KubeObject): boolean {
  return podCondition(pod, 'Ready')?.status === 'True';
}

/** Ready, and has been for at least minReadySeconds by now. */
export function isPodAvailable(pod: KubeObject, minReadySeconds: number, now: Date): boolean {
  if (!isPodReady(pod)) return false;
  if (minReadySeconds <= 0) return true;
  const since = timeOf(podCondition(pod, 'Ready')?.lastTransitionTime);
  return since > 0 && since + minReadySeconds * 1000 < now.getTime();
}

/** Neither finished nor being deleted: a pod that counts towards replicas. */
export function isPodActive(pod: KubeObject): boolean {
  const phase = podPhase(pod);
  return phase !== 'Succeeded' && phase !== 'Failed' && !pod.metadata.deletionTimestamp;
}

export function filterActivePods(pods: readonly KubeObject[]): KubeObject[] {
  return pods.filter(isPodActive);
}

/** The highest restart count among the pod's containers. */
export function podRestarts(pod: KubeObject): number {
  const statuses = rec(pod.status).containerStatuses;
  if (!Array.isArray(statuses)) return 0;
  return statuses.reduce((max: number, s) => Math.max(max, num(rec(s).restartCount)), 0);
}

const PHASE_ORDER: Readonly<Record<string, number>> = { Pending: 0, Unknown: 1, Running: 2 };

function deletionCost(pod: KubeObject): number {
  const v = pod.metadata.annotations?.[POD_DELETION_COST_ANNOTATION];
  const n = v === undefined ? 0 : Number(v);
  return Number.isInteger(n) ? n : 0;
}

/** a first when a is later, or when a is unset and b is not (kube's afterOrZero). */
function laterOrZeroFirst(a: number, b: number): number {
  if (a === 0 || b === 0) return a === 0 ? (b === 0 ? 0 : -1) : 1;
  return b - a;
}

/**
 * The order in which a controller deletes surplus pods, kube's
 * ActivePodsWithRanks: negative when a goes before b. Unscheduled before
 * scheduled; Pending before Unknown before Running; not ready before ready;
 * lower pod-deletion-cost first; more pods of the same owner on its node
 * (rank) first; the more recently ready first; more restarts first; newer
 * first. kube compares ready times on a logarithmic scale; this compares
 * them plainly.
 */
export function comparePodsForDeletion(a: KubeObject, b: KubeObject, rankA = 0, rankB = 0): number {
  const assignedA = podNodeName(a) !== '';
  const assignedB = podNodeName(b) !== '';
  if (assignedA !== assignedB) return assignedA ? 1 : -1;
  const phaseA = PHASE_ORDER[podPhase(a)] ?? 0;
  const phaseB = PHASE_ORDER[podPhase(b)] ?? 0;
  if (phaseA !== phaseB) return phaseA - phaseB;
  const readyA = isPodReady(a);
  const readyB = isPodReady(b);
  if (readyA !== readyB) return readyA ? 1 : -1;
  const costA = deletionCost(a);
  const costB = deletionCost(b);
  if (costA !== costB) return costA - costB;
  if (rankA !== rankB) return rankB - rankA;
  if (readyA && readyB) {
    const t = laterOrZeroFirst(
      timeOf(podCondition(a, 'Ready')?.lastTransitionTime),
      timeOf(podCondition(b, 'Ready')?.lastTransitionTime),
    );
    if (t !== 0) return t;
  }
  const restarts = podRestarts(b) - podRestarts(a);
  if (restarts !== 0) return restarts;
  return laterOrZeroFirst(
    timeOf(a.metadata.creationTimestamp),
    timeOf(b.metadata.creationTimestamp),
  );
}

/**
 * The n pods to delete from pods, ranked by comparePodsForDeletion. A pod's
 * rank is how many active related pods (the owner's and its siblings') run
 * on its node, so doubled-up nodes shed pods first.
 */
export function podsToDelete(
  pods: readonly KubeObject[],
  related: readonly KubeObject[],
  n: number,
): KubeObject[] {
  if (n >= pods.length) return [...pods];
  const onNode = new Map<string, number>();
  for (const p of related) {
    if (isPodActive(p)) onNode.set(podNodeName(p), (onNode.get(podNodeName(p)) ?? 0) + 1);
  }
  const rank = (p: KubeObject): number => onNode.get(podNodeName(p)) ?? 0;
  return [...pods]
    .map((pod) => ({ pod, rank: rank(pod) }))
    .sort((x, y) => comparePodsForDeletion(x.pod, y.pod, x.rank, y.rank))
    .slice(0, n)
    .map((x) => x.pod);
}

// ---------------------------------------------------------------------------
// Batching

/**
 * kube's slowStartBatch: calls fn count times, in concurrent batches of
 * initial, then twice as many, and so on, stopping after the first batch
 * with a failure, so a template that cannot work fails once or twice
 * instead of hundreds of times. Returns how many calls succeeded.
 */
export async function slowStartBatch(
  count: number,
  initial: number,
  fn: () => Promise<void>,
): Promise<{ successes: number; error?: unknown }> {
  let remaining = count;
  let successes = 0;
  for (let size = Math.min(remaining, initial); size > 0; size = Math.min(2 * size, remaining)) {
    const results = await Promise.allSettled(Array.from({ length: size }, () => fn()));
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    successes += size - failed.length;
    if (failed.length > 0) return { successes, error: failed[0]?.reason };
    remaining -= size;
  }
  return { successes };
}
