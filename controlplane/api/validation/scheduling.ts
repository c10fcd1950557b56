// scheduling.k8s.io/v1 PriorityClass: Go's ValidatePriorityClass and
// ValidatePriorityClassUpdate. Names starting "system-" are reserved for the
// two built-in classes; user classes stay at or below one billion.

import type { FieldError } from '../status.js';
import type { KubeObject } from '../objects.js';
import { forbidden, notSupported, readBool, readInt, readString } from './field.js';

export const SYSTEM_PRIORITY_CLASSES: Readonly<Record<string, number>> = {
  'system-cluster-critical': 2_000_000_000,
  'system-node-critical': 2_000_001_000,
};
export const HIGHEST_USER_DEFINABLE_PRIORITY = 1_000_000_000;
const PREEMPTION_POLICIES = ['Never', 'PreemptLowerPriority'];

export function validatePriorityClass(obj: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  const name = obj.metadata.name ?? '';
  const value = readInt(obj, 'value', '', errs) ?? 0;
  const globalDefault = readBool(obj, 'globalDefault', '', errs) ?? false;
  readString(obj, 'description', '', errs);
  if (name.startsWith('system-')) {
    const known = SYSTEM_PRIORITY_CLASSES[name];
    const why =
      known === undefined
        ? `${name} is not a known system priority class`
        : value !== known
          ? `value of ${name} PriorityClass must be ${known}`
          : globalDefault
            ? `globalDefault of ${name} PriorityClass must be false`
            : '';
    if (why)
      errs.push(
        forbidden(
          'metadata.name',
          `priority class names with 'system-' prefix are reserved for system use only. error: ${why}`,
        ),
      );
  } else if (value > HIGHEST_USER_DEFINABLE_PRIORITY) {
    errs.push(
      forbidden(
        'value',
        `maximum allowed value of a user defined priority is ${HIGHEST_USER_DEFINABLE_PRIORITY}`,
      ),
    );
  }
  const policy = readString(obj, 'preemptionPolicy', '', errs);
  if (policy !== undefined && !PREEMPTION_POLICIES.includes(policy))
    errs.push(notSupported('preemptionPolicy', policy, PREEMPTION_POLICIES));
  return errs;
}

/** value and preemptionPolicy are fixed once a class exists: pods already carry them. */
export function validatePriorityClassUpdate(oldObj: KubeObject, newObj: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  if ((oldObj.value ?? 0) !== (newObj.value ?? 0))
    errs.push(forbidden('value', 'may not be changed in an update.'));
  if ((oldObj.preemptionPolicy ?? null) !== (newObj.preemptionPolicy ?? null))
    errs.push(forbidden('preemptionPolicy', 'may not be changed in an update.'));
  return errs;
}
