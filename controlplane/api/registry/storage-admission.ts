// Storage admission on create, as kube-apiserver's DefaultStorageClass and
// StorageObjectInUseProtection plugins do: a claim without storageClassName
// gets the cluster's default class, and every claim carries the
// pvc-protection finalizer, which the persistent-volume controller removes
// once no pod uses the claim. Also the built-in `local` class every cluster
// starts with.

import { isRecord, type KubeObject } from '../objects.js';

export const DEFAULT_CLASS_ANNOTATION = 'storageclass.kubernetes.io/is-default-class';
export const PVC_PROTECTION_FINALIZER = 'kubernetes.io/pvc-protection';
export const LOCAL_PROVISIONER = 'shoal.io/local';

/** The class created at first start: node-local directories, provisioned where the pod lands. */
export const LOCAL_STORAGE_CLASS: KubeObject = {
  apiVersion: 'storage.k8s.io/v1',
  kind: 'StorageClass',
  metadata: { name: 'local', annotations: { [DEFAULT_CLASS_ANNOTATION]: 'true' } },
  provisioner: LOCAL_PROVISIONER,
  reclaimPolicy: 'Delete',
  volumeBindingMode: 'WaitForFirstConsumer',
};

export function isDefaultClass(sc: KubeObject): boolean {
  return sc.metadata.annotations?.[DEFAULT_CLASS_ANNOTATION] === 'true';
}

/**
 * The default class among `classes`: with several marked default, the newest
 * (then the alphabetically first) wins, as Kubernetes ≥ 1.26 chooses.
 */
export function defaultClassOf(classes: readonly KubeObject[]): KubeObject | undefined {
  return classes
    .filter(isDefaultClass)
    .sort(
      (a, b) =>
        (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? '') ||
        (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''),
    )[0];
}

/** Fills in a new claim's class (only when absent: "" asks for no class) and its protection finalizer. */
export async function admitClaim(
  claim: KubeObject,
  listClasses: () => Promise<KubeObject[]>,
): Promise<void> {
  const spec = isRecord(claim.spec) ? claim.spec : (claim.spec = {});
  if (spec.storageClassName === undefined || spec.storageClassName === null) {
    const dflt = defaultClassOf(await listClasses());
    if (dflt?.metadata.name) spec.storageClassName = dflt.metadata.name;
  }
  const finalizers = claim.metadata.finalizers ?? [];
  if (!finalizers.includes(PVC_PROTECTION_FINALIZER)) {
    claim.metadata.finalizers = [...finalizers, PVC_PROTECTION_FINALIZER];
  }
}
