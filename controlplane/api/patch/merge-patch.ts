// JSON merge patch (RFC 7386), the engine behind
// `Content-Type: application/merge-patch+json`. Objects merge key by key, a
// null deletes a key, and anything else (arrays included) replaces.

import { clone, isRecord, setKey } from './json.js';

/**
 * Returns the RFC 7386 merge of `patch` into `target`; `target` is not
 * modified. Per the RFC a non-object patch replaces the whole target: the
 * caller rejects a result that is not an object.
 */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isRecord(patch)) return clone(patch);
  const out: Record<string, unknown> = isRecord(target) ? clone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) {
      delete out[key];
    } else {
      setKey(out, key, applyMergePatch(Object.hasOwn(out, key) ? out[key] : undefined, value));
    }
  }
  return out;
}
