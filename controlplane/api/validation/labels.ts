// Labels, annotations and the metav1.LabelSelector object that workload
// specs carry: their syntax (Go's ValidateLabels, ValidateAnnotations,
// ValidateLabelSelector) and whether a selector matches a set of labels.

import type { FieldError } from '../status.js';
import { isRecord } from '../objects.js';
import { labelKeyErrors, labelValueErrors } from '../selectors.js';
import {
  child,
  forbidden,
  index,
  invalid,
  invalidEach,
  readList,
  readStringMap,
  recordItems,
  required,
  tooLong,
  type Rec,
} from './field.js';

/** Every key a qualified name, every value a label value; errors sit at the map's own path, as in Go. */
export function validateLabels(
  labels: Record<string, string> | undefined,
  path: string,
): FieldError[] {
  const errs: FieldError[] = [];
  for (const [k, v] of Object.entries(labels ?? {})) {
    if (!VALID_LABEL_KEYS.has(k)) {
      const keyErrs = labelKeyErrors(k);
      if (keyErrs.length === 0) remember(VALID_LABEL_KEYS, k);
      errs.push(...invalidEach(path, k, keyErrs));
    }
    // A value of another type is the caller's (readStringMap's) error, and is not remembered.
    if (!VALID_LABEL_VALUES.has(v)) {
      const valueErrs = labelValueErrors(v);
      if (valueErrs.length === 0 && typeof v === 'string') remember(VALID_LABEL_VALUES, v);
      errs.push(...invalidEach(path, v, valueErrs));
    }
  }
  return errs;
}

/**
 * Label keys and values seen valid lately: every pod of a ReplicaSet carries
 * the same few, and checking them (splits, byte lengths, regular
 * expressions) was most of a pod's metadata validation. Validity depends on
 * the string alone; the sets are emptied when full.
 */
const VALID_LABEL_KEYS = new Set<string>();
const VALID_LABEL_VALUES = new Set<string>();
const MAX_REMEMBERED = 4096;

function remember(set: Set<string>, s: string): void {
  if (set.size >= MAX_REMEMBERED) set.clear();
  set.add(s);
}

/** Annotations cap the whole map at 256 KiB. */
const TOTAL_ANNOTATION_SIZE = 256 * 1024;

export function validateAnnotations(
  annotations: Record<string, string> | undefined,
  path: string,
): FieldError[] {
  const errs: FieldError[] = [];
  let size = 0;
  for (const [k, v] of Object.entries(annotations ?? {})) {
    // Go lower-cases annotation keys before the qualified-name check.
    errs.push(...invalidEach(path, k, labelKeyErrors(k.toLowerCase())));
    size += Buffer.byteLength(k) + Buffer.byteLength(v);
  }
  if (size > TOTAL_ANNOTATION_SIZE) errs.push(tooLong(path, TOTAL_ANNOTATION_SIZE));
  return errs;
}

export interface SelectorRequirement {
  key: string;
  operator: string;
  values: string[];
}

/** A metav1.LabelSelector read from JSON, kept only when well-formed enough to match with. */
export interface Selector {
  matchLabels: Record<string, string> | undefined;
  matchExpressions: SelectorRequirement[] | undefined;
}

/**
 * Checks a metav1.LabelSelector at `path` and returns it in typed form, or
 * undefined when it is absent or not an object.
 */
export function validateLabelSelector(
  value: unknown,
  path: string,
  errs: FieldError[],
): Selector | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isRecord(value)) {
    errs.push(invalid(path, value, 'must be an object'));
    return undefined;
  }
  const matchLabels = readStringMap(value, 'matchLabels', path, errs);
  errs.push(...validateLabels(matchLabels, child(path, 'matchLabels')));
  const exprPath = child(path, 'matchExpressions');
  const list = readList(value, 'matchExpressions', path, errs);
  const matchExpressions = list
    ? recordItems(list, exprPath, errs).map(([e, i]) =>
        validateRequirement(e, index(exprPath, i), errs),
      )
    : undefined;
  return { matchLabels, matchExpressions };
}

function validateRequirement(e: Rec, path: string, errs: FieldError[]): SelectorRequirement {
  const key = typeof e.key === 'string' ? e.key : '';
  const operator = typeof e.operator === 'string' ? e.operator : '';
  const values = Array.isArray(e.values) ? e.values.map(String) : [];
  switch (operator) {
    case 'In':
    case 'NotIn':
      if (values.length === 0) {
        errs.push(
          required(child(path, 'values'), "must be specified when `operator` is 'In' or 'NotIn'"),
        );
      }
      break;
    case 'Exists':
    case 'DoesNotExist':
      if (values.length > 0) {
        errs.push(
          forbidden(
            child(path, 'values'),
            "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
          ),
        );
      }
      break;
    default:
      errs.push(invalid(child(path, 'operator'), operator, 'not a valid selector operator'));
  }
  errs.push(...invalidEach(child(path, 'key'), key, labelKeyErrors(key)));
  values.forEach((v, i) =>
    errs.push(...invalidEach(index(child(path, 'values'), i), v, labelValueErrors(v))),
  );
  return { key, operator, values };
}

export function isEmptySelector(s: Selector): boolean {
  return Object.keys(s.matchLabels ?? {}).length + (s.matchExpressions ?? []).length === 0;
}

/**
 * metav1.LabelSelectorAsSelector(s).Matches(labels): every matchLabels pair
 * and every expression must hold. An absent selector matches nothing, an
 * empty one everything, as in Go.
 */
export function selectorMatches(
  s: Selector | undefined,
  labels: Record<string, string> | undefined,
): boolean {
  if (s === undefined) return false;
  const set = labels ?? {};
  for (const [k, v] of Object.entries(s.matchLabels ?? {})) if (set[k] !== v) return false;
  for (const r of s.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(set, r.key);
    const value = set[r.key];
    switch (r.operator) {
      case 'In':
        if (!has || !r.values.includes(value ?? '')) return false;
        break;
      case 'NotIn':
        if (has && r.values.includes(value ?? '')) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/** Go's %#v of a metav1.LabelSelector, the value `field is immutable` errors print. */
export function formatSelector(s: Selector | undefined): string {
  if (s === undefined) return '(*v1.LabelSelector)(nil)';
  const labels = s.matchLabels;
  const ml = labels
    ? `map[string]string{${Object.keys(labels)
        .sort()
        .map((k) => `${JSON.stringify(k)}:${JSON.stringify(labels[k])}`)
        .join(', ')}}`
    : 'map[string]string(nil)';
  const me = s.matchExpressions
    ? `[]v1.LabelSelectorRequirement{${s.matchExpressions
        .map(
          (r) =>
            `v1.LabelSelectorRequirement{Key:${JSON.stringify(r.key)}, Operator:${JSON.stringify(r.operator)}, Values:${
              r.values.length
                ? `[]string{${r.values.map((v) => JSON.stringify(v)).join(', ')}}`
                : '[]string(nil)'
            }}`,
        )
        .join(', ')}}`
    : '[]v1.LabelSelectorRequirement(nil)';
  return `v1.LabelSelector{MatchLabels:${ml}, MatchExpressions:${me}}`;
}
