// What an update may not change, per kind: object identity, selectors of
// controllers, a Job's template, a Pod's spec beyond images, deadline and
// added tolerations, the payload of an immutable ConfigMap or Secret, a
// Service's allocated clusterIP.

import type { FieldError } from '../status.js';
import type { KubeObject } from '../objects.js';
import { isRecord } from '../objects.js';
import type { ResourceInfo } from '../resources.js';
import { formatSelector, validateLabelSelector } from './labels.js';
import { validateObjectMetaUpdate } from './metadata.js';
import { forbidden, invalid, jsonEqual, Rendered, type Rec } from './field.js';
import {
  validateClaimUpdate,
  validateStorageClassUpdate,
  validateVolumeUpdate,
} from './storage.js';
import { validatePriorityClassUpdate } from './scheduling.js';

const recOf = (v: unknown): Rec => (isRecord(v) ? v : {});
const absent = (v: unknown): boolean => v === undefined || v === null;

function immutable(
  path: string,
  before: unknown,
  after: unknown,
  shown: unknown = after,
): FieldError[] {
  return jsonEqual(before ?? null, after ?? null)
    ? []
    : [invalid(path, shown ?? null, 'field is immutable')];
}

function selectorImmutable(oldSpec: Rec, newSpec: Rec): FieldError[] {
  if (jsonEqual(oldSpec.selector ?? null, newSpec.selector ?? null)) return [];
  const selector = validateLabelSelector(newSpec.selector, 'spec.selector', []);
  return [invalid('spec.selector', new Rendered(formatSelector(selector)), 'field is immutable')];
}

export const POD_UPDATABLE_FIELDS =
  'pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,' +
  '`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),' +
  '`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)';

/** Up to `max` paths where two JSON values differ, to say what a forbidden pod update touched. */
function differences(a: unknown, b: unknown, path: string, out: string[], max = 5): void {
  if (out.length >= max || jsonEqual(a, b)) return;
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
    a.forEach((x, i) => differences(x, b[i], `${path}[${i}]`, out, max));
    return;
  }
  if (isRecord(a) && isRecord(b)) {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)]))
      differences(a[k], b[k], `${path}.${k}`, out, max);
    return;
  }
  out.push(path);
}

function tolerationKey(t: unknown): unknown {
  const { tolerationSeconds: _s, ...rest } = recOf(t);
  return rest;
}

function validatePodUpdate(oldObj: KubeObject, newObj: KubeObject): FieldError[] {
  // The stored spec itself, carried over (a status write): nothing in it changed.
  if (oldObj.spec === newObj.spec) return [];
  const oldSpec = recOf(oldObj.spec);
  const newSpec = recOf(newObj.spec);
  for (const field of ['containers', 'initContainers']) {
    const before = Array.isArray(oldSpec[field]) ? oldSpec[field].length : 0;
    const after = Array.isArray(newSpec[field]) ? newSpec[field].length : 0;
    if (before !== after)
      return [forbidden(`spec.${field}`, 'pod updates may not add or remove containers')];
  }
  const errs: FieldError[] = [];
  const newDeadline = newSpec.activeDeadlineSeconds;
  const oldDeadline = oldSpec.activeDeadlineSeconds;
  if (typeof newDeadline === 'number') {
    // A deadline may be added or shortened, never lengthened.
    if (typeof oldDeadline === 'number' && oldDeadline < newDeadline) {
      errs.push(
        invalid(
          'spec.activeDeadlineSeconds',
          newDeadline,
          'must be less than or equal to previous value',
        ),
      );
    }
  } else if (typeof oldDeadline === 'number') {
    errs.push(
      invalid(
        'spec.activeDeadlineSeconds',
        null,
        'must not update from a positive integer to nil value',
      ),
    );
  }
  const oldTolerations = Array.isArray(oldSpec.tolerations) ? oldSpec.tolerations : [];
  const newTolerations = Array.isArray(newSpec.tolerations) ? newSpec.tolerations : [];
  const kept = oldTolerations.every((o) =>
    newTolerations.some((n) => jsonEqual(tolerationKey(o), tolerationKey(n))),
  );
  if (!kept)
    errs.push(
      forbidden(
        'spec.tolerations',
        'existing toleration can not be modified except its tolerationSeconds',
      ),
    );

  // Put the updatable fields back to their old values; anything else left different is forbidden.
  const munged = structuredClone(newSpec);
  for (const field of ['containers', 'initContainers']) {
    const before = oldSpec[field];
    const after = munged[field];
    if (!Array.isArray(before) || !Array.isArray(after)) continue;
    after.forEach((c, i) => {
      const old = before[i];
      if (isRecord(c) && isRecord(old)) {
        if (absent(old.image)) delete c.image;
        else c.image = old.image;
      }
    });
  }
  for (const field of ['activeDeadlineSeconds', 'tolerations']) {
    if (absent(oldSpec[field])) delete munged[field];
    else munged[field] = oldSpec[field];
  }
  const oldGrace = oldSpec.terminationGracePeriodSeconds;
  if (typeof oldGrace === 'number' && oldGrace < 0 && munged.terminationGracePeriodSeconds === 1) {
    munged.terminationGracePeriodSeconds = oldGrace;
  }
  if (!jsonEqual(munged, oldSpec)) {
    const changed: string[] = [];
    differences(oldSpec, munged, 'spec', changed);
    errs.push(forbidden('spec', `${POD_UPDATABLE_FIELDS}\n(changed: ${changed.join(', ')})`));
  }
  return errs;
}

function validateJobUpdate(oldObj: KubeObject, newObj: KubeObject): FieldError[] {
  const oldSpec = recOf(oldObj.spec);
  const newSpec = recOf(newObj.spec);
  const errs: FieldError[] = [];
  // A selector may be filled in once (a controller may generate it), never changed.
  if (!absent(oldSpec.selector)) errs.push(...selectorImmutable(oldSpec, newSpec));
  errs.push(...immutable('spec.completions', oldSpec.completions, newSpec.completions));
  errs.push(...immutable('spec.completionMode', oldSpec.completionMode, newSpec.completionMode));
  if (!jsonEqual(oldSpec.template ?? null, newSpec.template ?? null)) {
    errs.push(
      invalid(
        'spec.template',
        new Rendered(JSON.stringify(newSpec.template ?? null)),
        'field is immutable',
      ),
    );
  }
  return errs;
}

function validateImmutableData(
  oldObj: KubeObject,
  newObj: KubeObject,
  fields: string[],
): FieldError[] {
  if (oldObj.immutable !== true) return [];
  const errs: FieldError[] = [];
  if (newObj.immutable !== true)
    errs.push(forbidden('immutable', 'field is immutable when `immutable` is set'));
  for (const field of fields) {
    if (!jsonEqual(oldObj[field] ?? null, newObj[field] ?? null)) {
      errs.push(forbidden(field, 'field is immutable when `immutable` is set'));
    }
  }
  return errs;
}

function validateServiceUpdate(oldObj: KubeObject, newObj: KubeObject): FieldError[] {
  const oldSpec = recOf(oldObj.spec);
  const newSpec = recOf(newObj.spec);
  const before = typeof oldSpec.clusterIP === 'string' ? oldSpec.clusterIP : '';
  const after = typeof newSpec.clusterIP === 'string' ? newSpec.clusterIP : '';
  if (!before || before === after) return [];
  // Turning a Service into an ExternalName one releases its address.
  if (newSpec.type === 'ExternalName' && !after) return [];
  return [invalid('spec.clusterIP', after, 'field is immutable')];
}

const STS_UPDATABLE = [
  'replicas',
  'ordinals',
  'template',
  'updateStrategy',
  'revisionHistoryLimit',
  'persistentVolumeClaimRetentionPolicy',
  'minReadySeconds',
];

function validateStatefulSetUpdate(oldObj: KubeObject, newObj: KubeObject): FieldError[] {
  const oldSpec = { ...recOf(oldObj.spec) };
  const newSpec = { ...recOf(newObj.spec) };
  for (const f of STS_UPDATABLE) {
    delete oldSpec[f];
    delete newSpec[f];
  }
  if (jsonEqual(oldSpec, newSpec)) return [];
  return [
    forbidden(
      'spec',
      "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
    ),
  ];
}

const UPDATE_CHECKS: Record<string, (oldObj: KubeObject, newObj: KubeObject) => FieldError[]> = {
  Pod: validatePodUpdate,
  Deployment: (o, n) => selectorImmutable(recOf(o.spec), recOf(n.spec)),
  ReplicaSet: (o, n) => selectorImmutable(recOf(o.spec), recOf(n.spec)),
  DaemonSet: (o, n) => selectorImmutable(recOf(o.spec), recOf(n.spec)),
  StatefulSet: validateStatefulSetUpdate,
  PersistentVolumeClaim: validateClaimUpdate,
  PersistentVolume: validateVolumeUpdate,
  StorageClass: validateStorageClassUpdate,
  Job: validateJobUpdate,
  ConfigMap: (o, n) => validateImmutableData(o, n, ['data', 'binaryData']),
  Secret: (o, n) => [
    ...validateImmutableData(o, n, ['data']),
    ...immutable('type', o.type ?? 'Opaque', n.type ?? 'Opaque'),
  ],
  Service: validateServiceUpdate,
  PriorityClass: validatePriorityClassUpdate,
};

/** The update-only checks: identity and each kind's immutable fields. */
export function validateUpdateOnly(
  resource: ResourceInfo,
  oldObj: KubeObject,
  newObj: KubeObject,
): FieldError[] {
  return [
    ...validateObjectMetaUpdate(oldObj.metadata, newObj.metadata),
    ...(UPDATE_CHECKS[resource.kind]?.(oldObj, newObj) ?? []),
  ];
}
