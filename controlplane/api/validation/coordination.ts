// coordination.k8s.io/v1 Lease: what Go's ValidateLeaseSpec checks. Node
// agents' heartbeats are Leases, so the rules stay few and cheap.

import type { FieldError } from '../status.js';
import type { KubeObject } from '../objects.js';
import { invalid, readInt, readSpec, readString } from './field.js';

export function validateLease(obj: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  const spec = readSpec(obj, errs);
  readString(spec, 'holderIdentity', 'spec', errs);
  const duration = readInt(spec, 'leaseDurationSeconds', 'spec', errs);
  if (duration !== undefined && duration <= 0)
    errs.push(invalid('spec.leaseDurationSeconds', duration, 'must be greater than 0'));
  const transitions = readInt(spec, 'leaseTransitions', 'spec', errs);
  if (transitions !== undefined && transitions < 0)
    errs.push(invalid('spec.leaseTransitions', transitions, 'must be greater than or equal to 0'));
  for (const f of ['acquireTime', 'renewTime'] as const) {
    const t = readString(spec, f, 'spec', errs);
    if (t !== undefined && Number.isNaN(Date.parse(t)))
      errs.push(invalid(`spec.${f}`, t, 'must be an RFC 3339 time'));
  }
  return errs;
}
