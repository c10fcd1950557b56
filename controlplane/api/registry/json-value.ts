// Copy and compare of the registry's JSON objects, on the write path of every
// create and update. structuredClone and JSON.stringify did this before and
// were a large share of the control plane's CPU in the scheduler benchmark
// (with the garbage they leave); these walk plain objects and arrays directly
// and hand anything else (a Date, a Map, a cycle) to the old way, so the
// result is always the one the old code gave.

import type { KubeObject } from '../objects.js';

/** Deeper than any object the API accepts: past it, assume a cycle and let structuredClone decide. */
const MAX_DEPTH = 200;

/** Thrown (and caught here) when a value is not plain JSON data: the old way decides. */
const UNSUPPORTED = new Error('not plain JSON data');

/**
 * A deep copy, as structuredClone makes one, of plain objects, arrays and
 * primitives. A subtree referenced twice is copied twice (structuredClone
 * keeps it shared): nothing in an API object relies on sharing.
 */
export function copyJson<T>(value: T): T {
  try {
    return copy(value, 0) as T;
  } catch (err) {
    if (err === UNSUPPORTED) return structuredClone(value);
    throw err;
  }
}

function copy(v: unknown, depth: number): unknown {
  if (typeof v !== 'object' || v === null) {
    // structuredClone throws on these; let it.
    if (typeof v === 'function' || typeof v === 'symbol') throw UNSUPPORTED;
    return v;
  }
  if (depth > MAX_DEPTH) throw UNSUPPORTED;
  if (Array.isArray(v)) {
    if (Object.getPrototypeOf(v) !== Array.prototype) throw UNSUPPORTED;
    const n = v.length;
    const out: unknown[] = new Array<unknown>(n);
    for (let i = 0; i < n; i++) {
      // A hole would become undefined; structuredClone keeps holes.
      if (!(i in v)) throw UNSUPPORTED;
      out[i] = copy(v[i], depth + 1);
    }
    return out;
  }
  const proto: unknown = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) throw UNSUPPORTED;
  const src = v as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k in src) {
    const value = copy(src[k], depth + 1);
    if (k === '__proto__') {
      // JSON.parse makes "__proto__" an own key; plain assignment would set the prototype.
      Object.defineProperty(out, k, {
        value,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    } else {
      out[k] = value;
    }
  }
  return out;
}

/**
 * Equal but for metadata.resourceVersion and the times in managedFields: a
 * write that would change nothing. The same answer as the old test, which
 * compared JSON.stringify of both objects with those fields left out (so key
 * order counts, and undefined members are absent), without building the
 * strings; anything but plain JSON data is still compared that way.
 */
export function sameObject(a: KubeObject, b: KubeObject): boolean {
  try {
    return objectsEqual(plain(a), plain(b), 0, Members.Top);
  } catch (err) {
    if (err === UNSUPPORTED) return canonical(a) === canonical(b);
    throw err;
  }
}

/** The old comparison, for what the walk does not handle. */
function canonical(o: KubeObject): string {
  const { resourceVersion: _rv, managedFields, ...meta } = o.metadata;
  const owners = managedFields?.map(({ time: _t, ...entry }) => entry);
  return JSON.stringify({ ...o, metadata: { ...meta, owners } });
}

/** Which object objectsEqual compares: the members canonical() dropped or moved differ. */
const Members = {
  Top: 0,
  /** Without resourceVersion; managedFields is compared last, as canonical()'s "owners". */
  Metadata: 1,
  /** A managedFields entry, without its time. */
  ManagedEntry: 2,
  Plain: 3,
} as const;
type Members = (typeof Members)[keyof typeof Members];

function skipped(members: Members, key: string): boolean {
  if (members === Members.Metadata) return key === 'resourceVersion' || key === 'managedFields';
  return members === Members.ManagedEntry && key === 'time';
}

function metadataEqual(a: unknown, b: unknown, depth: number): boolean {
  const am = plain(a);
  const bm = plain(b);
  // "owners" is where canonical() put managedFields: a real member of that name would collide.
  if (Object.hasOwn(am, 'owners') || Object.hasOwn(bm, 'owners')) throw UNSUPPORTED;
  return (
    objectsEqual(am, bm, depth, Members.Metadata) &&
    ownersEqual(am.managedFields, bm.managedFields, depth + 1)
  );
}

function ownersEqual(a: unknown, b: unknown, depth: number): boolean {
  // managedFields?.map(...): nullish is absent, anything else but an array threw.
  const an = a === undefined || a === null;
  const bn = b === undefined || b === null;
  if (an || bn) return an && bn;
  if (!Array.isArray(a) || !Array.isArray(b)) throw UNSUPPORTED;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (!objectsEqual(plain(a[i]), plain(b[i]), depth + 1, Members.ManagedEntry)) return false;
  }
  return true;
}

/** An object whose members JSON.stringify would write as a plain object, or UNSUPPORTED. */
function plain(v: unknown): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw UNSUPPORTED;
  const proto: unknown = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) throw UNSUPPORTED;
  // An own toJSON replaces the whole object in JSON.stringify.
  if (typeof (v as { toJSON?: unknown }).toJSON === 'function') throw UNSUPPORTED;
  return v as Record<string, unknown>;
}

/** JSON.stringify leaves these members out of objects (and writes null in arrays). */
function absent(v: unknown): boolean {
  return v === undefined || typeof v === 'function' || typeof v === 'symbol';
}

/** Same JSON text for the members of a and b, in order, without the ones JSON.stringify omits. */
function objectsEqual(
  a: Record<string, unknown>,
  b: Record<string, unknown>,
  depth: number,
  members: Members,
): boolean {
  if (depth > MAX_DEPTH) throw UNSUPPORTED;
  // Object.keys and JSON.stringify list members in the same order.
  const ak = Object.keys(a);
  const bk = Object.keys(b);
  let i = 0;
  let j = 0;
  for (;;) {
    while (i < ak.length && (absent(a[ak[i]!]) || skipped(members, ak[i]!))) i++;
    while (j < bk.length && (absent(b[bk[j]!]) || skipped(members, bk[j]!))) j++;
    if (i === ak.length || j === bk.length) return i === ak.length && j === bk.length;
    const k = ak[i]!;
    if (k !== bk[j]) return false;
    const equal =
      members === Members.Top && k === 'metadata'
        ? metadataEqual(a[k], b[k], depth + 1)
        : valuesEqual(a[k], b[k], depth + 1);
    if (!equal) return false;
    i++;
    j++;
  }
}

function valuesEqual(a: unknown, b: unknown, depth: number): boolean {
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null)
    return leavesEqual(a, b);
  // The same object writes the same text (a status write shares spec with current).
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) {
    if (Object.getPrototypeOf(a) !== Array.prototype) throw UNSUPPORTED;
    if (Object.getPrototypeOf(b) !== Array.prototype) throw UNSUPPORTED;
    if (a.length !== b.length) return false;
    if (depth > MAX_DEPTH) throw UNSUPPORTED;
    for (let i = 0; i < a.length; i++) {
      const x: unknown = a[i];
      const y: unknown = b[i];
      // In an array, what an object would omit is written as null.
      if (!valuesEqual(absent(x) ? null : x, absent(y) ? null : y, depth + 1)) return false;
    }
    return true;
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    // An array and a plain object never write the same text; anything else goes to canonical().
    if (!Array.isArray(a)) plain(a);
    if (!Array.isArray(b)) plain(b);
    return false;
  }
  return objectsEqual(plain(a), plain(b), depth, Members.Plain);
}

/** JSON text equality of two values at least one of which is not an object. */
function leavesEqual(a: unknown, b: unknown): boolean {
  // A Date or a boxed primitive may write the same text as a string: canonical() decides.
  if (typeof a === 'object' && a !== null) {
    plain(a);
    return false;
  }
  if (typeof b === 'object' && b !== null) {
    plain(b);
    return false;
  }
  if (typeof a === 'bigint' || typeof b === 'bigint') throw UNSUPPORTED;
  if (a === b) return true;
  // NaN and ±Infinity are written as null.
  const an = typeof a === 'number' && !Number.isFinite(a) ? null : a;
  const bn = typeof b === 'number' && !Number.isFinite(b) ? null : b;
  return an === bn;
}
