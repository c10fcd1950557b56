// Field errors the way k8s.io/apimachinery's field package renders them, so
// a client reads the same `Invalid value: "x": …` it would get from a real
// apiserver, plus the path helpers and the typed readers every validator uses
// on objects that arrive as open JSON records.

import type { FieldError } from '../status.js';
import { isRecord } from '../objects.js';

export type Rec = Record<string, unknown>;

/** `a.b`, or just `b` at the root. */
export function child(path: string, name: string): string {
  return path ? `${path}.${name}` : name;
}

export function index(path: string, i: number): string {
  return `${path}[${i}]`;
}

/** Map keys print bare inside brackets, as Go's field.Path.Key does: `data[bad key]`. */
export function key(path: string, k: string): string {
  return `${path}[${k}]`;
}

/** Go's %q for strings, %v for numbers and booleans, JSON for anything else. */
export function formatValue(value: unknown): string {
  if (value === undefined || value === null) return 'null';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  return JSON.stringify(value);
}

/** Go's %#v of a map[string]string: sorted keys, `map[string]string{"a":"b", "c":"d"}`. */
export function formatStringMap(m: Record<string, string> | undefined): string {
  if (m === undefined) return 'map[string]string(nil)';
  const parts = Object.keys(m)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${JSON.stringify(m[k])}`);
  return `map[string]string{${parts.join(', ')}}`;
}

/** A value already rendered (Go's %#v of a struct): printed as is. */
export class Rendered {
  constructor(readonly text: string) {}
}

function render(value: unknown): string {
  return value instanceof Rendered ? value.text : formatValue(value);
}

export function required(field: string, detail = ''): FieldError {
  return {
    field,
    type: 'FieldValueRequired',
    detail: detail ? `Required value: ${detail}` : 'Required value',
  };
}

export function invalid(field: string, value: unknown, detail: string): FieldError {
  return { field, type: 'FieldValueInvalid', detail: `Invalid value: ${render(value)}: ${detail}` };
}

/** Invalid with the value left out, for values too large to echo (pod templates). */
export function invalidOmitValue(field: string, detail: string): FieldError {
  return { field, type: 'FieldValueInvalid', detail: `Invalid value: ${detail}` };
}

export function notSupported(
  field: string,
  value: unknown,
  supported: readonly string[],
): FieldError {
  const list = supported.map((s) => JSON.stringify(s)).join(', ');
  return {
    field,
    type: 'FieldValueNotSupported',
    detail: `Unsupported value: ${render(value)}: supported values: ${list}`,
  };
}

export function duplicate(field: string, value: unknown): FieldError {
  return { field, type: 'FieldValueDuplicate', detail: `Duplicate value: ${render(value)}` };
}

export function forbidden(field: string, detail: string): FieldError {
  return { field, type: 'FieldValueForbidden', detail: `Forbidden: ${detail}` };
}

export function tooLong(field: string, max: number): FieldError {
  return {
    field,
    type: 'FieldValueTooLong',
    detail: `Too long: may not be more than ${max} bytes`,
  };
}

/**
 * Go's field.NotFound. FieldError has no NotFound type, so it travels as
 * Invalid; the detail text is Go's.
 */
export function notFound(field: string, value: unknown): FieldError {
  return { field, type: 'FieldValueInvalid', detail: `Not found: ${render(value)}` };
}

/** One Invalid per message, as Go's validators return them. */
export function invalidEach(field: string, value: unknown, msgs: readonly string[]): FieldError[] {
  return msgs.map((m) => invalid(field, value, m));
}

// ---------------------------------------------------------------------------
// Typed readers. A wrong JSON type is what Go's decoder rejects before
// validation runs (400); here it is one more field error, so the request
// still fails as a whole with every problem named.

export function readString(
  obj: Rec,
  name: string,
  path: string,
  errs: FieldError[],
): string | undefined {
  const v = obj[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  errs.push(invalid(child(path, name), v, 'must be a string'));
  return undefined;
}

export function readInt(
  obj: Rec,
  name: string,
  path: string,
  errs: FieldError[],
): number | undefined {
  const v = obj[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  errs.push(invalid(child(path, name), v, 'must be an integer'));
  return undefined;
}

export function readBool(
  obj: Rec,
  name: string,
  path: string,
  errs: FieldError[],
): boolean | undefined {
  const v = obj[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'boolean') return v;
  errs.push(invalid(child(path, name), v, 'must be a boolean'));
  return undefined;
}

export function readRecord(
  obj: Rec,
  name: string,
  path: string,
  errs: FieldError[],
): Rec | undefined {
  const v = obj[name];
  if (v === undefined || v === null) return undefined;
  if (isRecord(v)) return v;
  errs.push(invalid(child(path, name), v, 'must be an object'));
  return undefined;
}

export function readList(
  obj: Rec,
  name: string,
  path: string,
  errs: FieldError[],
): unknown[] | undefined {
  const v = obj[name];
  if (v === undefined || v === null) return undefined;
  if (Array.isArray(v)) return v;
  errs.push(invalid(child(path, name), v, 'must be a list'));
  return undefined;
}

/** A map of strings (labels, selectors, data); a non-string value is reported at the map's path. */
export function readStringMap(
  obj: Rec,
  name: string,
  path: string,
  errs: FieldError[],
): Record<string, string> | undefined {
  const m = readRecord(obj, name, path, errs);
  if (m === undefined) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(m)) {
    if (typeof v === 'string') out[k] = v;
    else
      errs.push(
        invalid(child(path, name), v, `value of key ${JSON.stringify(k)} must be a string`),
      );
  }
  return out;
}

/** Items of a list that are objects; any other item is reported at its index. */
export function recordItems(
  list: unknown[] | undefined,
  path: string,
  errs: FieldError[],
): [Rec, number][] {
  const out: [Rec, number][] = [];
  (list ?? []).forEach((item, i) => {
    if (isRecord(item)) out.push([item, i]);
    else errs.push(invalid(index(path, i), item, 'must be an object'));
  });
  return out;
}

/** An object's `spec`, read leniently: absent is empty (the server's defaults create it). */
export function readSpec(obj: Rec, errs: FieldError[]): Rec {
  return readRecord(obj, 'spec', '', errs) ?? {};
}

/** Structural equality of JSON values, independent of key order. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  }
  if (isRecord(a) && isRecord(b)) {
    const ka = Object.keys(a).filter((k) => a[k] !== undefined);
    const kb = Object.keys(b).filter((k) => b[k] !== undefined);
    return ka.length === kb.length && ka.every((k) => jsonEqual(a[k], b[k]));
  }
  return false;
}

/** Go's ValidateNonnegativeField. */
export function nonNegative(path: string, value: number | undefined): FieldError[] {
  return value !== undefined && value < 0
    ? [invalid(path, value, 'must be greater than or equal to 0')]
    : [];
}
