// ObjectMeta, as Go's ValidateObjectMeta and ValidateObjectMetaUpdate check
// it: the name (each kind brings its own name syntax), the namespace,
// labels, annotations, owner references and finalizers.

import type { FieldError } from '../status.js';
import { isRecord } from '../objects.js';
import { labelKeyErrors } from '../selectors.js';
import { validateAnnotations, validateLabels } from './labels.js';
import {
  child,
  forbidden,
  formatValue,
  invalid,
  invalidEach,
  nonNegative,
  readInt,
  readList,
  readString,
  readStringMap,
  recordItems,
  required,
  type Rec,
} from './field.js';
import { nameIsDNSLabel, type NameCheck } from './names.js';

const STANDARD_FINALIZERS = new Set(['kubernetes', 'orphan', 'foregroundDeletion']);

/** The metadata of a stored object: name, namespace rules and the parts every object shares. */
export function validateObjectMeta(
  meta: unknown,
  namespaced: boolean,
  nameCheck: NameCheck,
  path = 'metadata',
): FieldError[] {
  const errs: FieldError[] = [];
  if (!isRecord(meta)) return [required(path)];
  const name = readString(meta, 'name', path, errs);
  const generateName = readString(meta, 'generateName', path, errs);
  if (generateName) {
    errs.push(
      ...invalidEach(child(path, 'generateName'), generateName, nameCheck(generateName, true)),
    );
  }
  if (name) {
    errs.push(...invalidEach(child(path, 'name'), name, nameCheck(name, false)));
  } else if (!generateName) {
    // The server fills the name from generateName before it stores the object.
    errs.push(required(child(path, 'name'), 'name or generateName is required'));
  }
  const namespace = readString(meta, 'namespace', path, errs);
  if (namespaced) {
    // The server fills the namespace from the request; only a bad one is an error here.
    if (namespace)
      errs.push(
        ...invalidEach(child(path, 'namespace'), namespace, nameIsDNSLabel(namespace, false)),
      );
  } else if (namespace) {
    errs.push(forbidden(child(path, 'namespace'), 'not allowed on this type'));
  }
  errs.push(...nonNegative(child(path, 'generation'), readInt(meta, 'generation', path, errs)));
  errs.push(...validateCommonMeta(meta, path, errs));
  errs.push(...validateOwnerReferences(meta, path, errs));
  errs.push(
    ...validateFinalizers(readList(meta, 'finalizers', path, errs), child(path, 'finalizers')),
  );
  return errs;
}

/** Labels and annotations: all a pod template's metadata is checked for. */
export function validateCommonMeta(meta: Rec, path: string, errs: FieldError[] = []): FieldError[] {
  const out: FieldError[] = [];
  out.push(...validateLabels(readStringMap(meta, 'labels', path, errs), child(path, 'labels')));
  out.push(
    ...validateAnnotations(
      readStringMap(meta, 'annotations', path, errs),
      child(path, 'annotations'),
    ),
  );
  return out;
}

function validateOwnerReferences(meta: Rec, path: string, errs: FieldError[]): FieldError[] {
  const out: FieldError[] = [];
  const refsPath = child(path, 'ownerReferences');
  const controllers: string[] = [];
  // Go reports owner reference fields at the list's path, without an index.
  for (const [ref] of recordItems(readList(meta, 'ownerReferences', path, errs), refsPath, errs)) {
    const apiVersion = typeof ref.apiVersion === 'string' ? ref.apiVersion : '';
    const version = apiVersion.includes('/')
      ? apiVersion.slice(apiVersion.indexOf('/') + 1)
      : apiVersion;
    if (!version)
      out.push(invalid(child(refsPath, 'apiVersion'), apiVersion, 'version must not be empty'));
    const kind = typeof ref.kind === 'string' ? ref.kind : '';
    if (!kind) out.push(invalid(child(refsPath, 'kind'), kind, 'kind must not be empty'));
    const name = typeof ref.name === 'string' ? ref.name : '';
    if (!name) out.push(invalid(child(refsPath, 'name'), name, 'name must not be empty'));
    const uid = typeof ref.uid === 'string' ? ref.uid : '';
    if (!uid) out.push(invalid(child(refsPath, 'uid'), uid, 'uid must not be empty'));
    if (ref.controller === true) controllers.push(`${kind}/${name}`);
  }
  if (controllers.length > 1) {
    out.push(
      invalid(
        refsPath,
        controllers.join(', '),
        `Only one reference can have Controller set to true. Found "true" in references for ${controllers.join(' and ')}`,
      ),
    );
  }
  return out;
}

/** Finalizer names: qualified names, or one of the standard unqualified ones. */
export function validateFinalizers(list: unknown[] | undefined, path: string): FieldError[] {
  const out: FieldError[] = [];
  const names: string[] = [];
  for (const f of list ?? []) {
    if (typeof f !== 'string') {
      out.push(invalid(path, f, 'must be a string'));
      continue;
    }
    names.push(f);
    const errs = labelKeyErrors(f);
    out.push(...invalidEach(path, f, errs));
    if (errs.length === 0 && !f.includes('/') && !STANDARD_FINALIZERS.has(f)) {
      out.push(
        invalid(path, f, 'name is neither a standard finalizer name nor is it fully qualified'),
      );
    }
  }
  if (names.includes('orphan') && names.includes('foregroundDeletion')) {
    out.push(
      invalid(
        path,
        formatValue(names),
        'finalizer orphan and foregroundDeletion cannot be both set',
      ),
    );
  }
  return out;
}

/** The identity fields an update may not touch. */
export function validateObjectMetaUpdate(
  oldMeta: unknown,
  newMeta: unknown,
  path = 'metadata',
): FieldError[] {
  const out: FieldError[] = [];
  const o = isRecord(oldMeta) ? oldMeta : {};
  const n = isRecord(newMeta) ? newMeta : {};
  for (const field of ['name', 'namespace', 'uid', 'creationTimestamp']) {
    const before = o[field];
    const after = n[field];
    if ((before ?? '') !== (after ?? ''))
      out.push(invalid(child(path, field), after ?? '', 'field is immutable'));
  }
  return out;
}
