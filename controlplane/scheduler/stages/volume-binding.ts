// VolumeBinding: the pod's PersistentVolumeClaims against the node, as
// kube-scheduler's VolumeBinding plugin filters. A claim bound to a volume
// with node affinity (every local volume) pins the pod to that volume's
// nodes; an unbound claim of a WaitForFirstConsumer class passes where it
// can be provisioned (a node whose agent reported a volume directory) or a
// static volume fits; any other unbound claim waits for the binder; a
// missing claim fails everywhere. After the decision, the scheduler's
// PreBind (preBindVolumes below) records the chosen node on each unbound
// WaitForFirstConsumer claim and waits until the persistent-volume
// controller has bound it, so a pod only reaches its agent with its claims
// Bound.

import type { KubeObject } from '../../api/objects.js';
import { isRecord } from '../../api/objects.js';
import { LOCAL_PROVISIONER } from '../../api/registry/storage-admission.js';
import {
  SELECTED_NODE_ANNOTATION,
  VOLUME_DIR_ANNOTATION,
  claimClass,
  claimNamesOf,
  claimPhase,
  claimVolumeName,
  findMatchingVolume,
  volumeFitsNode,
} from '../../controllers/volume-match.js';
import {
  FITS,
  reject,
  type FilterStage,
  type NodeInfo,
  type PodInfo,
  type Snapshot,
  type Verdict,
  type VolumeCatalog,
} from '../types.js';

export type { VolumeCatalog } from '../types.js';

export const VOLUME_NODE_CONFLICT = 'node(s) had volume node affinity conflict';
export const UNBOUND_IMMEDIATE = 'pod has unbound immediate PersistentVolumeClaims';
export const NO_MATCHING_VOLUME = "node(s) didn't find available persistent volumes to bind";
export const NO_VOLUME_DIR = 'node(s) did not report a local volume directory';

export function bindingMode(sc: KubeObject | undefined): string {
  return typeof sc?.volumeBindingMode === 'string' ? sc.volumeBindingMode : 'Immediate';
}

/** An unbound claim the scheduler must place: its class waits for the first consumer. */
export function isDelayedBinding(claim: KubeObject, catalog: VolumeCatalog): boolean {
  const cls = claimClass(claim);
  return cls !== '' && bindingMode(catalog.storageClass(cls)) === 'WaitForFirstConsumer';
}

/** A pod-level problem that fails every node alike; undefined when each node must be checked. */
export function podVolumeProblem(pod: KubeObject, catalog: VolumeCatalog): string | undefined {
  const ns = pod.metadata.namespace ?? 'default';
  for (const name of claimNamesOf(pod)) {
    const claim = catalog.claim(ns, name);
    if (!claim) return `persistentvolumeclaim "${name}" not found`;
    if (claim.metadata.deletionTimestamp) return `persistentvolumeclaim "${name}" is being deleted`;
    const volumeName = claimVolumeName(claim);
    if (volumeName) {
      if (!catalog.volume(volumeName)) return `persistentvolume "${volumeName}" not found`;
      continue;
    }
    if (!isDelayedBinding(claim, catalog)) return UNBOUND_IMMEDIATE;
  }
  return undefined;
}

/** Whether the pod's claims can all be used (or provisioned) on this node. */
export function volumesFitNode(pod: KubeObject, node: NodeInfo, catalog: VolumeCatalog): Verdict {
  const ns = pod.metadata.namespace ?? 'default';
  const problem = podVolumeProblem(pod, catalog);
  if (problem) return reject(problem);
  for (const name of claimNamesOf(pod)) {
    const claim = catalog.claim(ns, name)!;
    const volumeName = claimVolumeName(claim);
    if (volumeName) {
      if (!volumeFitsNode(catalog.volume(volumeName)!, node)) return reject(VOLUME_NODE_CONFLICT);
      continue;
    }
    // Being provisioned for a node chosen earlier: only that node will do.
    const selected = claim.metadata.annotations?.[SELECTED_NODE_ANNOTATION];
    if (selected && selected !== node.name) return reject(VOLUME_NODE_CONFLICT);
    const fits = (pv: KubeObject): boolean => volumeFitsNode(pv, node);
    if (findMatchingVolume(claim, catalog.volumes(), fits)) continue;
    const sc = catalog.storageClass(claimClass(claim));
    if (sc?.provisioner !== LOCAL_PROVISIONER) return reject(NO_MATCHING_VOLUME);
    if (!node.node.metadata.annotations?.[VOLUME_DIR_ANNOTATION]) return reject(NO_VOLUME_DIR);
  }
  return FITS;
}

export class VolumeBinding implements FilterStage {
  readonly name = 'VolumeBinding';

  /** Without claims (or without a catalog to check them in) every node fits; this also reads the pod's volumes once per attempt, not per node. */
  skip(pod: PodInfo, snapshot: Snapshot): boolean {
    return !snapshot.volumes || !hasClaims(pod.pod);
  }

  filter(pod: PodInfo, node: NodeInfo, snapshot: Snapshot): Verdict {
    const catalog = snapshot.volumes;
    if (!catalog || !hasClaims(pod.pod)) return FITS;
    return volumesFitNode(pod.pod, node, catalog);
  }
}

function hasClaims(pod: KubeObject): boolean {
  const volumes = isRecord(pod.spec) ? pod.spec.volumes : undefined;
  return (
    Array.isArray(volumes) && volumes.some((v) => isRecord(v) && isRecord(v.persistentVolumeClaim))
  );
}

/** The unbound WaitForFirstConsumer claims of a pod that PreBind must annotate for `node`. */
export function claimsToProvision(pod: KubeObject, catalog: VolumeCatalog): KubeObject[] {
  const ns = pod.metadata.namespace ?? 'default';
  const out: KubeObject[] = [];
  for (const name of claimNamesOf(pod)) {
    const claim = catalog.claim(ns, name);
    if (
      claim &&
      !claimVolumeName(claim) &&
      claimPhase(claim) !== 'Bound' &&
      isDelayedBinding(claim, catalog)
    )
      out.push(claim);
  }
  return out;
}
