// Validation of objects written through the API: validateObject for a
// create, validateUpdate for an update (the same checks plus what may not
// change). Both return every problem found, as Kubernetes field errors; the
// registry turns a non-empty list into one 422 Invalid. Objects arrive
// after the server's defaulting, but every check also holds for objects
// without defaults (absent defaulted fields are taken as their defaults).

import type { FieldError } from '../status.js';
import type { KubeObject } from '../objects.js';
import type { ResourceInfo } from '../resources.js';
import { validateObjectMeta } from './metadata.js';
import { nameIsDNS1035Label, nameIsDNSLabel, nameIsDNSSubdomain, type NameCheck } from './names.js';
import { validatePodSpec } from './pod-spec.js';
import {
  validateDaemonSet,
  validateDeployment,
  validateJob,
  validateReplicaSet,
  validateStatefulSet,
} from './workloads.js';
import {
  validatePersistentVolume,
  validatePersistentVolumeClaim,
  validateStorageClass,
} from './storage.js';
import { validateService } from './service.js';
import { validateEndpoints } from './endpoints.js';
import { validateConfigMap, validateSecret } from './config-data.js';
import { validateEvent, validateNamespace, validateNode } from './cluster.js';
import { validateUpdateOnly } from './update.js';
import { validateLease } from './coordination.js';
import { validatePriorityClass } from './scheduling.js';

export { parseQuantity, validateQuantity } from './quantity.js';
export { validateLabelSelector, selectorMatches } from './labels.js';
export type { Selector, SelectorRequirement } from './labels.js';

/** Namespaces are DNS labels, Services DNS-1035 labels (they become DNS names), the rest subdomains. */
const NAME_CHECKS: Record<string, NameCheck> = {
  Namespace: nameIsDNSLabel,
  Service: nameIsDNS1035Label,
};

const KIND_CHECKS: Record<string, (obj: KubeObject) => FieldError[]> = {
  Pod: (obj) => validatePodSpec(obj.spec, 'spec'),
  Deployment: validateDeployment,
  ReplicaSet: validateReplicaSet,
  DaemonSet: validateDaemonSet,
  StatefulSet: validateStatefulSet,
  PersistentVolume: validatePersistentVolume,
  PersistentVolumeClaim: validatePersistentVolumeClaim,
  StorageClass: validateStorageClass,
  Job: validateJob,
  Service: validateService,
  Endpoints: validateEndpoints,
  ConfigMap: validateConfigMap,
  Secret: validateSecret,
  Node: validateNode,
  Namespace: validateNamespace,
  Event: validateEvent,
  Lease: validateLease,
  PriorityClass: validatePriorityClass,
};

/** Everything wrong with `obj` as a new object of `resource`; empty when it may be stored. */
export function validateObject(resource: ResourceInfo, obj: KubeObject): FieldError[] {
  const errs = validateObjectMeta(
    obj.metadata,
    resource.namespaced,
    NAME_CHECKS[resource.kind] ?? nameIsDNSSubdomain,
  );
  errs.push(...(KIND_CHECKS[resource.kind]?.(obj) ?? []));
  return errs;
}

/** Everything wrong with replacing `oldObj` by `newObj`: validateObject(newObj) plus immutable fields. */
export function validateUpdate(
  resource: ResourceInfo,
  oldObj: KubeObject,
  newObj: KubeObject,
): FieldError[] {
  // A pod whose spec is the stored one itself (a status write, which copies
  // the rest from what is stored) has only its metadata checked, as
  // Kubernetes' ValidatePodStatusUpdate does: the spec checks were a tenth
  // of the control plane's work for agents' status reports.
  if (resource.kind === 'Pod' && oldObj.spec === newObj.spec) {
    return [
      ...validateObjectMeta(newObj.metadata, resource.namespaced, nameIsDNSSubdomain),
      ...validateUpdateOnly(resource, oldObj, newObj),
    ];
  }
  return [...validateObject(resource, newObj), ...validateUpdateOnly(resource, oldObj, newObj)];
}
