// Pure rules about claims and volumes shared by the persistent-volume
// controller, the scheduler's VolumeBinding stage and the agent gateway:
// the annotations and finalizers of binding and local provisioning, which
// static volume can satisfy a claim (Kubernetes' FindMatchingVolume: same
// class and mode, enough capacity, every access mode, the claim's selector,
// the smallest such volume), and which nodes a volume can be used from.

import { isRecord, type KubeObject } from '../api/objects.js';
import { parseQuantity, selectorMatches, validateLabelSelector } from '../api/validation/index.js';
import { anyTermMatches } from '../scheduler/node-selector-terms.js';
import { parseNodeSelectorTerm, type NodeSelectorTerm } from '../scheduler/pod-info.js';

/** Set by the scheduler on a WaitForFirstConsumer claim: provision it for this node. */
export const SELECTED_NODE_ANNOTATION = 'volume.kubernetes.io/selected-node';
export const BIND_COMPLETED_ANNOTATION = 'pv.kubernetes.io/bind-completed';
export const BOUND_BY_CONTROLLER_ANNOTATION = 'pv.kubernetes.io/bound-by-controller';
export const PROVISIONED_BY_ANNOTATION = 'pv.kubernetes.io/provisioned-by';
/** Where a node keeps its local volumes, as its agent reported it (Register.volume_dir). */
export const VOLUME_DIR_ANNOTATION = 'shoal.io/volume-dir';
/** Holds a deleted local volume until the agent of its node has removed its directory. */
export const LOCAL_CLEANUP_FINALIZER = 'shoal.io/local-volume-cleanup';
export const HOSTNAME_LABEL = 'kubernetes.io/hostname';

type Rec = Record<string, unknown>;
const rec = (v: unknown): Rec => (isRecord(v) ? v : {});
const strs = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : [];

/** The names of the claims a pod's persistentVolumeClaim volumes use. */
export function claimNamesOf(pod: KubeObject): string[] {
  const volumes = rec(pod.spec).volumes;
  const out: string[] = [];
  for (const v of Array.isArray(volumes) ? volumes : []) {
    const name = rec(rec(v).persistentVolumeClaim).claimName;
    if (typeof name === 'string' && name && !out.includes(name)) out.push(name);
  }
  return out;
}

/** A claim's class: '' for none (an explicit "" or, after admission, no default class). */
export function claimClass(claim: KubeObject): string {
  const c = rec(claim.spec).storageClassName;
  return typeof c === 'string' ? c : '';
}

export function volumeClass(pv: KubeObject): string {
  const c = rec(pv.spec).storageClassName;
  return typeof c === 'string' ? c : '';
}

/** requests.storage in bytes (0 when absent or unparsable). */
export function claimRequest(claim: KubeObject): number {
  const q = rec(rec(rec(claim.spec).resources).requests).storage;
  return (typeof q === 'string' || typeof q === 'number' ? parseQuantity(q) : undefined) ?? 0;
}

export function volumeCapacity(pv: KubeObject): number {
  const q = rec(rec(pv.spec).capacity).storage;
  return (typeof q === 'string' || typeof q === 'number' ? parseQuantity(q) : undefined) ?? 0;
}

export function claimPhase(claim: KubeObject): string {
  const p = rec(claim.status).phase;
  return typeof p === 'string' ? p : 'Pending';
}

export function volumePhase(pv: KubeObject): string {
  const p = rec(pv.status).phase;
  return typeof p === 'string' ? p : 'Pending';
}

/** The volume a claim is bound (or being bound) to. */
export function claimVolumeName(claim: KubeObject): string {
  const v = rec(claim.spec).volumeName;
  return typeof v === 'string' ? v : '';
}

export interface ClaimRef {
  namespace: string;
  name: string;
  uid: string;
}

export function claimRefOf(pv: KubeObject): ClaimRef | undefined {
  const ref = rec(pv.spec).claimRef;
  if (!isRecord(ref) || typeof ref.name !== 'string') return undefined;
  return {
    namespace: typeof ref.namespace === 'string' ? ref.namespace : '',
    name: ref.name,
    uid: typeof ref.uid === 'string' ? ref.uid : '',
  };
}

/** True when the volume's claimRef names this claim (by uid when the ref has one). */
export function refersTo(ref: ClaimRef | undefined, claim: KubeObject): boolean {
  return (
    ref !== undefined &&
    ref.namespace === claim.metadata.namespace &&
    ref.name === claim.metadata.name &&
    (ref.uid === '' || ref.uid === claim.metadata.uid)
  );
}

/** The volume's required node affinity terms; undefined when it can be used anywhere. */
export function volumeNodeTerms(pv: KubeObject): NodeSelectorTerm[] | undefined {
  const terms = rec(rec(rec(pv.spec).nodeAffinity).required).nodeSelectorTerms;
  if (!Array.isArray(terms)) return undefined;
  return terms.filter(isRecord).map(parseNodeSelectorTerm);
}

/** Can a pod on this node use the volume? */
export function volumeFitsNode(
  pv: KubeObject,
  node: { name: string; labels: Readonly<Record<string, string>> },
): boolean {
  const terms = volumeNodeTerms(pv);
  return terms === undefined || anyTermMatches(terms, node);
}

/** The node a local volume lives on: its affinity's kubernetes.io/hostname In [one]. */
export function volumeNodeName(pv: KubeObject): string | undefined {
  for (const t of volumeNodeTerms(pv) ?? []) {
    for (const r of t.matchExpressions) {
      if (r.key === HOSTNAME_LABEL && r.operator === 'In' && r.values.length === 1)
        return r.values[0];
    }
    for (const r of t.matchFields) {
      if (r.key === 'metadata.name' && r.operator === 'In' && r.values.length === 1)
        return r.values[0];
    }
  }
  return undefined;
}

/** The directory a local (or hostPath) volume is, if it is one. */
export function volumeLocalPath(pv: KubeObject): string | undefined {
  const spec = rec(pv.spec);
  const path = rec(spec.local).path ?? rec(spec.hostPath).path;
  return typeof path === 'string' ? path : undefined;
}

function modesCover(have: string[], want: string[]): boolean {
  return want.every((m) => have.includes(m));
}

/**
 * Can this (unbound) static volume satisfy the claim? The volume is free or
 * reserved for this very claim, in the same class and mode, big enough, with
 * every access mode asked for, and its labels match the claim's selector.
 */
export function volumeMatchesClaim(pv: KubeObject, claim: KubeObject): boolean {
  if (pv.metadata.deletionTimestamp) return false;
  const ref = claimRefOf(pv);
  if (ref && !refersTo(ref, claim)) return false;
  if (!ref && volumePhase(pv) !== 'Available' && volumePhase(pv) !== 'Pending') return false;
  if (volumeClass(pv) !== claimClass(claim)) return false;
  const pvSpec = rec(pv.spec);
  const claimSpec = rec(claim.spec);
  if ((pvSpec.volumeMode ?? 'Filesystem') !== (claimSpec.volumeMode ?? 'Filesystem')) return false;
  if (volumeCapacity(pv) < claimRequest(claim)) return false;
  if (!modesCover(strs(pvSpec.accessModes), strs(claimSpec.accessModes))) return false;
  if (isRecord(claimSpec.selector)) {
    const sel = validateLabelSelector(claimSpec.selector, 'spec.selector', []);
    if (!selectorMatches(sel, pv.metadata.labels ?? {})) return false;
  }
  return true;
}

/**
 * The best static volume for the claim among `volumes`: one reserved for it
 * (claimRef) first, else the smallest that matches; `fits` narrows to
 * volumes usable from a chosen node.
 */
export function findMatchingVolume(
  claim: KubeObject,
  volumes: readonly KubeObject[],
  fits: (pv: KubeObject) => boolean = () => true,
): KubeObject | undefined {
  const candidates = volumes.filter((pv) => volumeMatchesClaim(pv, claim) && fits(pv));
  const reserved = candidates.find((pv) => refersTo(claimRefOf(pv), claim));
  if (reserved) return reserved;
  return candidates.sort((a, b) => volumeCapacity(a) - volumeCapacity(b))[0];
}
