// Small JSON value helpers shared by the patch engines. Every engine works on
// copies: the caller's target is never mutated, because the registry may hold
// it in a cache that other requests read.

import { isRecord } from '../objects.js';

export { isRecord };

/** Deep copy of a JSON value (objects, arrays, primitives). */
export function clone<T>(v: T): T {
  return structuredClone(v);
}

/** Structural equality of two JSON values; key order of objects does not matter. */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => deepEqual(x, b[i]));
  }
  if (isRecord(a)) {
    if (!isRecord(b)) return false;
    const ak = Object.keys(a);
    if (ak.length !== Object.keys(b).length) return false;
    return ak.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}

/** Writes a key so that `__proto__` in a patch becomes data, never the prototype. */
export function setKey(obj: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}
