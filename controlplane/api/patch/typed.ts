// Walks over objects guided by the merge-key table, for server-side apply:
// the set of fields an object sets, the difference between two objects as
// sets of paths, the merge of an applied configuration into the live object,
// and the removal of paths. Lists merge like schema.ts declares them: keyed
// lists by their apply keys, sets by value, everything else atomically.

import { badPatch } from './errors.js';
import { FieldSet } from './fieldpath.js';
import type { Path } from './fieldpath.js';
import { clone, deepEqual, isRecord, setKey } from './json.js';
import { fieldSchema } from './schema.js';
import type { FieldSchema, KeyField } from './schema.js';

/** The `k:` element naming a keyed-list item, e.g. `k:{"containerPort":80,"protocol":"TCP"}`. */
export function itemKey(item: Record<string, unknown>, keys: readonly KeyField[]): string {
  const key: Record<string, unknown> = {};
  for (const k of [...keys].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const v = item[k.name] ?? k.default;
    if (v === undefined) {
      throw badPatch(
        `associative list with keys has an element that omits key field "${k.name}" (and doesn't have default value)`,
      );
    }
    key[k.name] = v;
  }
  return `k:${JSON.stringify(key)}`;
}

function valueKey(v: unknown): string {
  return `v:${JSON.stringify(v)}`;
}

const isScalar = (v: unknown): boolean => !isRecord(v) && !Array.isArray(v);

/** How a value at a position is treated: its kind decides how sets, diffs and merges walk it. */
type Shape =
  | { kind: 'absent' }
  | { kind: 'struct'; value: Record<string, unknown> }
  | {
      kind: 'keyed';
      items: Map<string, Record<string, unknown>>;
      order: string[];
      itemSchema?: FieldSchema;
    }
  | { kind: 'set'; items: Map<string, unknown>; order: string[] }
  | { kind: 'leaf'; value: unknown };

/**
 * `strict` is for applied configurations: a keyed-list item without its key
 * is an error there, as in Kubernetes. Stored objects are read leniently: such
 * a list is treated as atomic rather than failing every later write.
 */
function shape(v: unknown, schema: FieldSchema | undefined, strict = false): Shape {
  if (v === undefined || v === null) return { kind: 'absent' };
  if (isRecord(v) && !schema?.atomic) return { kind: 'struct', value: v };
  const list = schema?.list;
  if (Array.isArray(v) && list?.type === 'map' && v.every(isRecord)) {
    if (
      !strict &&
      !v.every((item) => list.keys.every((k) => item[k.name] != null || k.default !== undefined))
    ) {
      return { kind: 'leaf', value: v };
    }
    const items = new Map<string, Record<string, unknown>>();
    const order: string[] = [];
    for (const item of v) {
      const k = itemKey(item, list.keys);
      // A duplicate key keeps its first item, as the apiserver's validation would reject the list.
      if (!items.has(k)) {
        items.set(k, item);
        order.push(k);
      }
    }
    return list.items
      ? { kind: 'keyed', items, order, itemSchema: list.items }
      : { kind: 'keyed', items, order };
  }
  if (Array.isArray(v) && list?.type === 'set' && v.every(isScalar)) {
    const items = new Map<string, unknown>();
    for (const x of v) items.set(valueKey(x), x);
    return { kind: 'set', items, order: [...items.keys()] };
  }
  return { kind: 'leaf', value: v };
}

interface WalkOptions {
  /** Also add non-empty string-keyed maps themselves (an Update that creates labels owns the map). */
  markMaps?: boolean;
  /** Reject keyed-list items without their key (applied configurations). */
  strict?: boolean;
}

/**
 * Adds to `out` every field `v` sets at `path`: leaves, keyed items, set
 * values, empty maps and lists; with `markMaps`, non-empty string-keyed maps
 * themselves too.
 */
export function collectFields(
  v: unknown,
  schema: FieldSchema | undefined,
  path: Path,
  out: FieldSet,
  opts: WalkOptions = {},
): void {
  const s = shape(v, schema, opts.strict);
  switch (s.kind) {
    case 'absent':
      return;
    case 'struct': {
      const keys = Object.keys(s.value).filter(
        (k) => s.value[k] !== null && s.value[k] !== undefined,
      );
      // An Update that creates a map (labels) owns the map itself too: Kubernetes' `.` marker.
      if ((keys.length === 0 || (opts.markMaps && schema?.map)) && path.length > 0) out.add(path);
      for (const k of keys)
        collectFields(s.value[k], fieldSchema(schema, k), [...path, `f:${k}`], out, opts);
      return;
    }
    case 'keyed':
      if (s.order.length === 0) out.add(path);
      for (const k of s.order) {
        const itemPath = [...path, k];
        out.add(itemPath);
        const item = s.items.get(k) ?? {};
        for (const f of Object.keys(item))
          collectFields(item[f], fieldSchema(s.itemSchema, f), [...itemPath, `f:${f}`], out, opts);
      }
      return;
    case 'set':
      if (s.order.length === 0) out.add(path);
      for (const k of s.order) out.add([...path, k]);
      return;
    case 'leaf':
      if (path.length > 0) out.add(path);
      return;
  }
}

const MARK: WalkOptions = { markMaps: true };

/** The fields an applied configuration sets; throws BadRequest for a keyed item without its key. */
export function fieldsOf(v: unknown, schema: FieldSchema | undefined, strict = false): FieldSet {
  const out = new FieldSet();
  collectFields(v, schema, [], out, { strict });
  return out;
}

export interface Comparison {
  added: FieldSet;
  modified: FieldSet;
  removed: FieldSet;
}

/** The paths `after` adds, changes and drops relative to `before`. */
export function compare(
  before: unknown,
  after: unknown,
  schema: FieldSchema | undefined,
): Comparison {
  const r: Comparison = {
    added: new FieldSet(),
    modified: new FieldSet(),
    removed: new FieldSet(),
  };
  diff(before, after, schema, [], r);
  return r;
}

function diff(
  a: unknown,
  b: unknown,
  schema: FieldSchema | undefined,
  path: Path,
  r: Comparison,
): void {
  // The same value (a subtree a write shares with the stored object) has no differences.
  if (a === b) return;
  const sa = shape(a, schema);
  const sb = shape(b, schema);
  if (sa.kind === 'absent' && sb.kind === 'absent') return;
  if (sa.kind === 'absent') {
    collectFields(b, schema, path, r.added, MARK);
    return;
  }
  if (sb.kind === 'absent') {
    collectFields(a, schema, path, r.removed, MARK);
    if (path.length > 0) r.removed.add(path);
    return;
  }
  if (sa.kind === 'struct' && sb.kind === 'struct') {
    const keys = new Set([...Object.keys(sa.value), ...Object.keys(sb.value)]);
    for (const k of keys)
      diff(sa.value[k], sb.value[k], fieldSchema(schema, k), [...path, `f:${k}`], r);
    return;
  }
  if (sa.kind === 'keyed' && sb.kind === 'keyed') {
    for (const k of new Set([...sa.order, ...sb.order])) {
      const ia = sa.items.get(k);
      const ib = sb.items.get(k);
      const itemPath = [...path, k];
      if (!ia || !ib) {
        const set = ia ? r.removed : r.added;
        set.add(itemPath);
        const item = ia ?? ib ?? {};
        for (const f of Object.keys(item))
          collectFields(item[f], fieldSchema(sb.itemSchema, f), [...itemPath, `f:${f}`], set, MARK);
        continue;
      }
      for (const f of new Set([...Object.keys(ia), ...Object.keys(ib)])) {
        diff(ia[f], ib[f], fieldSchema(sb.itemSchema, f), [...itemPath, `f:${f}`], r);
      }
    }
    return;
  }
  if (sa.kind === 'set' && sb.kind === 'set') {
    for (const k of sb.order) if (!sa.items.has(k)) r.added.add([...path, k]);
    for (const k of sa.order) if (!sb.items.has(k)) r.removed.add([...path, k]);
    return;
  }
  if (sa.kind === 'leaf' && sb.kind === 'leaf') {
    if (!deepEqual(sa.value, sb.value)) r.modified.add(path);
    return;
  }
  // The value changed its shape (a map became a scalar): the old fields go, the new ones come.
  collectFields(a, schema, path, r.removed, MARK);
  collectFields(b, schema, path, r.added, MARK);
  r.modified.add(path);
}

/**
 * Merges an applied configuration into the live object: maps by key, keyed
 * lists by item key (applied order for shared items, live-only items keep
 * their place), sets by value, anything else replaced. Nulls in the applied
 * configuration are skipped. Returns a new value.
 */
export function mergeApplied(
  live: unknown,
  applied: unknown,
  schema: FieldSchema | undefined,
): unknown {
  const sa = shape(applied, schema, true);
  if (sa.kind === 'absent') return clone(live);
  const sl = shape(live, schema);
  if (sa.kind === 'struct') {
    const out: Record<string, unknown> = sl.kind === 'struct' ? clone(sl.value) : {};
    for (const [k, v] of Object.entries(sa.value)) {
      if (v === null || v === undefined) continue;
      setKey(
        out,
        k,
        mergeApplied(Object.hasOwn(out, k) ? out[k] : undefined, v, fieldSchema(schema, k)),
      );
    }
    return out;
  }
  if (sa.kind === 'keyed' && sl.kind === 'keyed') {
    return interleave(sl.order, sa.order).map((k) => {
      const l = sl.items.get(k);
      const a = sa.items.get(k);
      return a ? mergeApplied(l, a, sa.itemSchema) : clone(l);
    });
  }
  if (sa.kind === 'set' && sl.kind === 'set') {
    return interleave(sl.order, sa.order).map((k) => sa.items.get(k) ?? sl.items.get(k));
  }
  if (sa.kind === 'keyed')
    return sa.order.map((k) => mergeApplied(undefined, sa.items.get(k), sa.itemSchema));
  return clone(applied);
}

/**
 * Orders the union of two key lists: shared keys in applied order, live-only
 * keys where they stood in the live list.
 */
function interleave(live: string[], applied: string[]): string[] {
  const inApplied = new Set(applied);
  const out: string[] = [];
  const done = new Set<string>();
  let i = 0;
  let j = 0;
  while (i < live.length || j < applied.length) {
    const l = live[i];
    if (l !== undefined && (done.has(l) || !inApplied.has(l))) {
      if (!done.has(l)) out.push(l);
      done.add(l);
      i++;
      continue;
    }
    const a = applied[j];
    if (a !== undefined) {
      if (!done.has(a)) out.push(a);
      done.add(a);
      j++;
      continue;
    }
    i++;
  }
  return out;
}

/**
 * Removes the fields at `paths` from `obj` in place. Maps and lists left empty
 * by a removal are removed too: Kubernetes' omitempty serialisation drops them.
 */
export function removePaths(
  obj: Record<string, unknown>,
  paths: readonly Path[],
  schema: FieldSchema | undefined,
): void {
  for (const path of paths) removeOne(obj, path, schema);
}

function removeOne(container: unknown, path: Path, schema: FieldSchema | undefined): boolean {
  const [el, ...rest] = path;
  if (el === undefined) return false;
  if (el.startsWith('f:') && isRecord(container)) {
    const name = el.slice(2);
    if (!Object.hasOwn(container, name)) return false;
    const child = container[name];
    const childSchema = fieldSchema(schema, name);
    if (rest.length === 0 || (removeOne(child, rest, childSchema) && isEmpty(child)))
      delete container[name];
    return true;
  }
  if (Array.isArray(container) && (el.startsWith('k:') || el.startsWith('v:'))) {
    const list = schema?.list;
    const at = container.findIndex((item) =>
      el.startsWith('v:')
        ? valueKey(item) === el
        : list?.type === 'map' && isRecord(item) && keyOrUndefined(item, list.keys) === el,
    );
    if (at < 0) return false;
    const itemSchema = list?.type === 'map' ? list.items : undefined;
    if (
      rest.length === 0 ||
      (removeOne(container[at], rest, itemSchema) && isEmpty(container[at]))
    ) {
      container.splice(at, 1);
    }
    return true;
  }
  return false;
}

function keyOrUndefined(
  item: Record<string, unknown>,
  keys: readonly KeyField[],
): string | undefined {
  try {
    return itemKey(item, keys);
  } catch {
    return undefined;
  }
}

function isEmpty(v: unknown): boolean {
  return (isRecord(v) && Object.keys(v).length === 0) || (Array.isArray(v) && v.length === 0);
}
