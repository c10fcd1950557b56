// Strategic merge patch, the engine behind `Content-Type:
// application/strategic-merge-patch+json` and what `kubectl apply`
// (client-side), `kubectl edit`, `label`, `annotate` and `set image` send.
// It is a JSON merge patch, except that lists declared in schema.ts merge item
// by item (containers by name, ports by containerPort, finalizers as a set),
// and the patch carries directives:
//   $patch: replace | merge | delete   in a map or a list item
//   $retainKeys: [...]                 keep only these keys of the original map
//   $setElementOrder/<field>: [...]    the order the merged list must have
//   $deleteFromPrimitiveList/<field>   values to drop from a list of scalars
// The behaviour follows apimachinery's strategicpatch package (its docs and
// tests); the code is Shoal's own.

import { ApiError } from '../status.js';
import { badPatch } from './errors.js';
import { clone, deepEqual, isRecord, setKey } from './json.js';
import { fieldSchema, schemaFor } from './schema.js';
import type { FieldSchema } from './schema.js';

const PATCH = '$patch';
const RETAIN_KEYS = '$retainKeys';
const SET_ORDER = '$setElementOrder/';
const DELETE_FROM_PRIMITIVE = '$deleteFromPrimitiveList/';

/**
 * Returns `target` with the strategic merge `patch` applied, using the merge
 * keys of `kind` (e.g. 'Pod', 'Deployment'); `target` is not modified.
 * Throws ApiError BadRequest for a patch that is not an object or carries a
 * malformed directive, Invalid where Kubernetes answers 422 (keys outside
 * `$retainKeys`).
 */
export function applyStrategicMergePatch(target: unknown, patch: unknown, kind: string): unknown {
  if (!isRecord(patch))
    throw badPatch('invalid JSON document: a strategic merge patch must be a JSON object');
  const original = isRecord(target) ? clone(target) : {};
  return mergeMap(original, clone(patch), schemaFor(kind));
}

/** Merges `patch` into `original` in place (both are private copies) and returns the result. */
function mergeMap(
  original: Record<string, unknown>,
  patch: Record<string, unknown>,
  schema: FieldSchema | undefined,
): Record<string, unknown> {
  if (Object.hasOwn(patch, PATCH)) {
    const directive = patch[PATCH];
    delete patch[PATCH];
    if (directive === 'replace') return mergeMap({}, patch, schema);
    if (directive === 'delete') return {};
    if (directive !== 'merge')
      throw badPatch(
        `Unknown patch type: ${JSON.stringify(directive)} in map: ${JSON.stringify(patch)}`,
      );
  }

  if (Object.hasOwn(patch, RETAIN_KEYS)) {
    const keep = patch[RETAIN_KEYS];
    delete patch[RETAIN_KEYS];
    if (!Array.isArray(keep) || !keep.every((k) => typeof k === 'string')) {
      throw badPatch('invalid patch: $retainKeys must be a list of strings');
    }
    for (const k of Object.keys(patch)) {
      if (!k.startsWith('$') && patch[k] !== null && !keep.includes(k)) {
        throw new ApiError(
          'Invalid',
          `patch content doesn't match retainKeys list: ${k} is not in ${JSON.stringify(keep)}`,
        );
      }
    }
    for (const k of Object.keys(original)) if (!keep.includes(k)) delete original[k];
  }

  const orders = new Map<string, unknown[]>();
  for (const key of Object.keys(patch)) {
    if (key.startsWith(DELETE_FROM_PRIMITIVE)) {
      const field = key.slice(DELETE_FROM_PRIMITIVE.length);
      const values = patch[key];
      delete patch[key];
      if (!Array.isArray(values)) throw badPatch(`invalid patch: ${key} must be a list`);
      const current = original[field];
      if (Array.isArray(current)) {
        setKey(
          original,
          field,
          current.filter((v) => !values.some((d) => deepEqual(d, v))),
        );
      }
    } else if (key.startsWith(SET_ORDER)) {
      const field = key.slice(SET_ORDER.length);
      const order = patch[key];
      delete patch[key];
      if (!Array.isArray(order)) throw badPatch(`invalid patch: ${key} must be a list`);
      orders.set(field, order);
    } else if (key.startsWith('$')) {
      throw badPatch(`invalid patch: unknown directive ${key}`);
    }
  }

  for (const [key, value] of Object.entries(patch)) {
    if (value === null) {
      delete original[key];
      continue;
    }
    const current = Object.hasOwn(original, key) ? original[key] : undefined;
    setKey(original, key, mergeValue(current, value, fieldSchema(schema, key), orders.get(key)));
    orders.delete(key);
  }

  // A $setElementOrder without a patch for its list only reorders the list.
  for (const [field, order] of orders) {
    const current = original[field];
    if (Array.isArray(current)) {
      setKey(original, field, mergeList(current, [], fieldSchema(schema, field), order));
    }
  }
  return original;
}

function mergeValue(
  current: unknown,
  patch: unknown,
  schema: FieldSchema | undefined,
  order?: unknown[],
): unknown {
  if (isRecord(patch)) return mergeMap(isRecord(current) ? current : {}, patch, schema);
  if (Array.isArray(patch))
    return mergeList(Array.isArray(current) ? current : [], patch, schema, order);
  return patch;
}

/**
 * Merges a patch list into an original list. Lists without a merge strategy
 * are replaced; keyed lists merge items by their merge key; sets union. The
 * result is ordered like Kubernetes does: items named in the patch (or in
 * `$setElementOrder`) in that order, interleaved with server-only items at
 * their original relative positions.
 */
function mergeList(
  original: unknown[],
  patch: unknown[],
  schema: FieldSchema | undefined,
  order?: unknown[],
): unknown[] {
  const list = schema?.list;
  if (!list || list.type === 'atomic') return patch.length > 0 || !order ? patch : original;

  const mergeKey = list.type === 'map' ? list.mergeKey : undefined;
  const items: unknown[] = [];
  let merged = [...original];
  for (const item of patch) {
    if (!isRecord(item) || !Object.hasOwn(item, PATCH)) {
      items.push(item);
      continue;
    }
    const directive = item[PATCH];
    if (directive === 'replace') {
      // Everything else in the patch list becomes the whole list.
      return patch
        .filter((p) => p !== item)
        .map((p) => mergeValue(undefined, p, list.type === 'map' ? list.items : undefined));
    }
    if (directive === 'delete') {
      if (mergeKey === undefined || !Object.hasOwn(item, mergeKey)) {
        throw badPatch(`delete patch type with no merge key defined: ${JSON.stringify(item)}`);
      }
      merged = merged.filter((o) => !(isRecord(o) && deepEqual(o[mergeKey], item[mergeKey])));
      continue;
    }
    if (directive !== 'merge')
      throw badPatch(
        `Unknown patch type: ${JSON.stringify(directive)} in list item: ${JSON.stringify(item)}`,
      );
    const { [PATCH]: _directive, ...rest } = item;
    items.push(rest);
  }

  const scalars = items.every((i) => !isRecord(i)) && merged.every((i) => !isRecord(i));
  let idOf: (v: unknown) => unknown;
  if (scalars) {
    idOf = (v) => v;
    for (const item of items) if (!merged.some((m) => deepEqual(m, item))) merged.push(item);
  } else {
    if (mergeKey === undefined) throw badPatch('cannot merge lists of maps without a merge key');
    idOf = (v) => (isRecord(v) ? v[mergeKey] : v);
    for (const item of items) {
      if (!isRecord(item) || !Object.hasOwn(item, mergeKey)) {
        throw badPatch(
          `map: ${JSON.stringify(item)} does not contain declared merge key: ${mergeKey}`,
        );
      }
      const at = merged.findIndex((m) => isRecord(m) && deepEqual(m[mergeKey], item[mergeKey]));
      const itemSchema = list.type === 'map' ? list.items : undefined;
      if (at >= 0) merged[at] = mergeMap(merged[at] as Record<string, unknown>, item, itemSchema);
      else merged.push(mergeMap({}, item, itemSchema));
    }
  }
  const wanted = (order ?? items).map(idOf);
  return normalizeOrder(merged, wanted, original.map(idOf), idOf);
}

/**
 * Orders `merged`: items whose id is in `wanted` follow `wanted`; the others
 * ("server-only") keep their order from `server`; the two runs interleave so
 * that a server-only item stays before a wanted item it preceded on the server.
 */
function normalizeOrder(
  merged: unknown[],
  wanted: unknown[],
  server: unknown[],
  idOf: (v: unknown) => unknown,
): unknown[] {
  const indexIn = (ids: unknown[], v: unknown): number =>
    ids.findIndex((id) => deepEqual(id, idOf(v)));
  const rank = (ids: unknown[], v: unknown): number => {
    const i = indexIn(ids, v);
    return i < 0 ? Number.MAX_SAFE_INTEGER : i;
  };
  const left = merged
    .filter((m) => indexIn(wanted, m) >= 0)
    .sort((a, b) => rank(wanted, a) - rank(wanted, b));
  const right = merged
    .filter((m) => indexIn(wanted, m) < 0)
    .sort((a, b) => rank(server, a) - rank(server, b));
  const out: unknown[] = [];
  let i = 0;
  let j = 0;
  while (i < left.length || j < right.length) {
    if (i >= left.length) out.push(right[j++]);
    else if (j >= right.length) out.push(left[i++]);
    else {
      const li = indexIn(server, left[i]);
      const ri = indexIn(server, right[j]);
      if (li >= 0 && ri >= 0 && li < ri) out.push(left[i++]);
      else out.push(right[j++]);
    }
  }
  return out;
}
