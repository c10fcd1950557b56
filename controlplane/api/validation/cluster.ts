// The kinds that describe the cluster itself: Nodes (taints, pod CIDRs,
// capacities an agent reports), Namespaces (finalizers) and Events (what
// they are about).

import type { FieldError } from '../status.js';
import type { KubeObject } from '../objects.js';
import { isRecord } from '../objects.js';
import { validateFinalizers } from './metadata.js';
import {
  index,
  invalid,
  invalidEach,
  readList,
  readRecord,
  readSpec,
  readString,
  required,
} from './field.js';
import { cidrErrors, dns1123SubdomainErrors } from './names.js';
import { validateResourceList, validateTaints } from './pod-spec.js';

export function validateNode(obj: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  const spec = readSpec(obj, errs);
  const podCIDR = readString(spec, 'podCIDR', 'spec', errs);
  if (podCIDR) errs.push(...invalidEach('spec.podCIDR', podCIDR, cidrErrors(podCIDR)));
  (readList(spec, 'podCIDRs', 'spec', errs) ?? []).forEach((c, i) => {
    const p = index('spec.podCIDRs', i);
    if (typeof c !== 'string') errs.push(invalid(p, c, 'must be a string'));
    else errs.push(...invalidEach(p, c, cidrErrors(c)));
  });
  errs.push(...validateTaints(readList(spec, 'taints', 'spec', errs), 'spec.taints'));
  const status = readRecord(obj, 'status', '', errs);
  if (status) {
    validateResourceList(status.capacity, 'status.capacity', errs);
    validateResourceList(status.allocatable, 'status.allocatable', errs);
  }
  return errs;
}

export function validateNamespace(obj: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  const spec = readSpec(obj, errs);
  // Go reports namespace finalizers at the list's path.
  errs.push(...validateFinalizers(readList(spec, 'finalizers', 'spec', errs), 'spec.finalizers'));
  return errs;
}

/** core/v1 Events: what they are about, and that they live in that object's namespace. */
export function validateEvent(obj: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  const involved = obj.involvedObject;
  const namespace = obj.metadata.namespace ?? '';
  if (!isRecord(involved)) {
    errs.push(
      involved === undefined || involved === null
        ? required('involvedObject')
        : invalid('involvedObject', involved, 'must be an object'),
    );
  } else {
    const involvedNs = readString(involved, 'namespace', 'involvedObject', errs) ?? '';
    // An event about a cluster-scoped object lives in "default" (or nowhere);
    // otherwise it lives in its object's namespace.
    if (involvedNs ? involvedNs !== namespace : namespace !== '' && namespace !== 'default') {
      errs.push(invalid('involvedObject.namespace', involvedNs, 'does not match event.namespace'));
    }
  }
  if (namespace)
    errs.push(...invalidEach('namespace', namespace, dns1123SubdomainErrors(namespace)));
  if (obj.eventTime !== undefined && obj.eventTime !== null) {
    // "New" events (with eventTime) say who reported them and what happened.
    for (const field of ['reportingComponent', 'reportingInstance', 'action', 'reason']) {
      if (!readString(obj, field, '', errs)) errs.push(required(field));
    }
  }
  return errs;
}
