// Walks over objects guided by the merge-key table, for server-side apply:
// the set of fields an object sets, the difference between two objects as
// sets of paths, the merge of an applied configuration into the live object,
// and the removal of paths. Lists merge like schema.ts declares them: keyed
// lists by their apply keys, sets by value, everything else atomically.

import { badPatch } from './errors.js';
import { FieldSet, LEAF, fieldsV1Node, prefixTree } from './fieldpath.js';
import type { Path, PrefixTree } from './fieldpath.js';
import { clone, deepEqual, isRecord, setKey } from './json.js';
import { fieldSchema } from './schema.js';
import type { FieldSchema, KeyField } from './schema.js';

/** The `k:` element naming a keyed-list item, e.g. `k:{"containerPort":80,"protocol":"TCP"}`. */
export function itemKey(item: Record<string, unknown>, keys: readonly KeyField[]): string {
  if (keys.length === 1) {
    // One key with a string value (a container's name, a condition's type):
    // the same string every time, so the maps and FieldsV1 objects keyed by
    // it hash it once.
    const v: unknown = item[keys[0]!.name] ?? keys[0]!.default;
    if (typeof v === 'string') {
      let known = ITEM_KEYS.get(keys);
      if (!known) ITEM_KEYS.set(keys, (known = new Map()));
      let key = known.get(v);
      if (key === undefined) {
        key = buildItemKey(item, keys);
        if (known.size >= MAX_ITEM_KEYS) known.clear();
        known.set(v, key);
      }
      return key;
    }
  }
  return buildItemKey(item, keys);
}

/** itemKey's strings of one-key lists by the key's value, per list schema. */
const ITEM_KEYS = new WeakMap<readonly KeyField[], Map<string, string>>();
const MAX_ITEM_KEYS = 1024;

function buildItemKey(item: Record<string, unknown>, keys: readonly KeyField[]): string {
  // Written out piece by piece, as JSON.stringify writes the key object: a
  // scalar's JSON is the same inside an object as alone. Anything else goes
  // through the object, so its encoding (toJSON, undefined members) is
  // JSON.stringify's own.
  let out = 'k:{';
  let first = true;
  let key: Record<string, unknown> | undefined;
  for (const k of sortedKeys(keys)) {
    const v = item[k.name] ?? k.default;
    if (v === undefined) {
      throw badPatch(
        `associative list with keys has an element that omits key field "${k.name}" (and doesn't have default value)`,
      );
    }
    const name = key ? '' : jsonName(k.name);
    if (key) key[k.name] = v;
    else if (
      name !== '' &&
      (typeof v === 'string' || typeof v === 'boolean' || typeof v === 'number')
    ) {
      out += `${first ? '' : ','}${name}:${JSON.stringify(v)}`;
      first = false;
    } else {
      key = {};
      for (const done of sortedKeys(keys)) {
        if (done === k) break;
        key[done.name] = item[done.name] ?? done.default;
      }
      key[k.name] = v;
    }
  }
  return key ? `k:${JSON.stringify(key)}` : out + '}';
}

/**
 * A key field's name as JSON, made once per name (the schema tables are
 * constants); '' for a name like an array index, which an object puts
 * before its other keys, so only JSON.stringify of the object orders it right.
 */
const JSON_NAMES = new Map<string, string>();
function jsonName(name: string): string {
  let json = JSON_NAMES.get(name);
  if (json === undefined) {
    json = /^(0|[1-9][0-9]*)$/.test(name) ? '' : JSON.stringify(name);
    JSON_NAMES.set(name, json);
  }
  return json;
}

/**
 * The `f:` element of a field, one string per field name: the same string
 * every time is hashed once, in the sets' maps and as a key of the FieldsV1
 * objects encoded from them, where a fresh one was hashed (and made a
 * property name) at every use. Names past the limit (a flood of distinct
 * label keys) are built fresh, as before.
 */
const FIELD_ELEMENTS = new Map<string, string>();
const MAX_FIELD_ELEMENTS = 10_000;
function fieldElement(name: string): string {
  let el = FIELD_ELEMENTS.get(name);
  if (el === undefined) {
    el = `f:${name}`;
    if (FIELD_ELEMENTS.size < MAX_FIELD_ELEMENTS) FIELD_ELEMENTS.set(name, el);
  }
  return el;
}

/** The key fields in name order, sorted once per list schema (the schema tables are constants). */
const SORTED = new WeakMap<readonly KeyField[], readonly KeyField[]>();
function sortedKeys(keys: readonly KeyField[]): readonly KeyField[] {
  let sorted = SORTED.get(keys);
  if (!sorted) {
    sorted = [...keys].sort((a, b) => (a.name < b.name ? -1 : 1));
    SORTED.set(keys, sorted);
  }
  return sorted;
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
 * One walk's state. The path is one array pushed and popped as the walk goes
 * down and up: FieldSet.add copies nothing out of it, and a fresh array per
 * field was much of what a write's bookkeeping allocated.
 */
interface Walk {
  path: string[];
  markMaps: boolean;
  strict: boolean;
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
  const w: Walk = {
    path: [...path],
    markMaps: opts.markMaps === true,
    strict: opts.strict === true,
  };
  collect(v, schema, w, out, undefined);
}

/** collectFields, leaving out the paths `skip` ends (it is the tree of prefixes below `w.path`). */
function collect(
  v: unknown,
  schema: FieldSchema | undefined,
  w: Walk,
  out: FieldSet,
  skip: PrefixTree | undefined,
): void {
  const path = w.path;
  // Most values are scalars and maps: classified here as shape would,
  // without allocating its description.
  if (v === null || v === undefined) return;
  if (typeof v !== 'object') {
    if (path.length > 0) out.add(path);
    return;
  }
  const s: Shape =
    isRecord(v) && !schema?.atomic ? { kind: 'struct', value: v } : shape(v, schema, w.strict);
  switch (s.kind) {
    case 'absent':
      return;
    case 'struct': {
      const obj = s.value;
      let set = 0;
      for (const k of Object.keys(obj)) {
        const child = obj[k];
        if (child === null || child === undefined) continue;
        set++;
        const el = fieldElement(k);
        const sk = skip?.children.get(el);
        if (sk?.end) continue;
        path.push(el);
        collect(child, fieldSchema(schema, k), w, out, sk);
        path.pop();
      }
      // An Update that creates a map (labels) owns the map itself too: Kubernetes' `.` marker.
      if ((set === 0 || (w.markMaps && schema?.map)) && path.length > 0) out.add(path);
      return;
    }
    case 'keyed':
      if (s.order.length === 0) out.add(path);
      for (const k of s.order) {
        const sk = skip?.children.get(k);
        if (sk?.end) continue;
        path.push(k);
        out.add(path);
        collectItem(s.items.get(k) ?? {}, s.itemSchema, w, out, sk);
        path.pop();
      }
      return;
    case 'set':
      if (s.order.length === 0) out.add(path);
      for (const k of s.order) {
        if (skip?.children.get(k)?.end) continue;
        path.push(k);
        out.add(path);
        path.pop();
      }
      return;
    case 'leaf':
      if (path.length > 0) out.add(path);
      return;
  }
}

/** The fields of a keyed-list item (not the item itself), at `w.path`. */
function collectItem(
  item: Record<string, unknown>,
  itemSchema: FieldSchema | undefined,
  w: Walk,
  out: FieldSet,
  skip: PrefixTree | undefined,
): void {
  for (const f of Object.keys(item)) {
    const el = fieldElement(f);
    const sk = skip?.children.get(el);
    if (sk?.end) continue;
    w.path.push(el);
    collect(item[f], fieldSchema(itemSchema, f), w, out, sk);
    w.path.pop();
  }
}

/**
 * toFieldsV1 of the set compare({}, obj, schema, ignored) finds changed (every
 * field obj sets, maps marked, nothing under `ignored`), and that set's size,
 * built straight from obj without the set: what a create's Update owns, where
 * building the set only to encode it was most of the create's managedFields
 * cost. Each step mirrors collect's; managed-fields tests compare the two.
 */
export function encodeFields(
  obj: Record<string, unknown>,
  schema: FieldSchema | undefined,
  ignored: PrefixTree,
): { fieldsV1: Record<string, unknown>; size: number } {
  const count = { members: 0 };
  if (ignored.end) return { fieldsV1: {}, size: 0 };
  // The top is never a member (collect adds no empty path).
  const top = encodeStruct(obj, schema, ignored, count, false);
  // A fresh object at the top, as toFieldsV1 returns.
  return { fieldsV1: top === undefined || top === LEAF ? {} : top, size: count.members };
}

/** collect's struct case at a path: fields, and the map itself when empty or (markMaps) a map. */
function encodeStruct(
  obj: Record<string, unknown>,
  schema: FieldSchema | undefined,
  skip: PrefixTree | undefined,
  count: { members: number },
  mayBeMember: boolean,
): Record<string, unknown> | undefined {
  const { set, keys, values } = encodeChildren(obj, schema, skip, count);
  const member = mayBeMember && (set === 0 || Boolean(schema?.map));
  if (member) count.members++;
  return keys ? fieldsV1Node(member, keys, values) : member ? LEAF : undefined;
}

/**
 * The fields obj sets (null and undefined are unset), each encoded as
 * collect walks it: their elements and FieldsV1 (keys undefined when none
 * holds anything), and how many are set.
 */
function encodeChildren(
  obj: Record<string, unknown>,
  schema: FieldSchema | undefined,
  skip: PrefixTree | undefined,
  count: { members: number },
): { set: number; keys: string[] | undefined; values: Record<string, unknown>[] } {
  let set = 0;
  let keys: string[] | undefined;
  const values: Record<string, unknown>[] = [];
  for (const k of Object.keys(obj)) {
    const child = obj[k];
    if (child === null || child === undefined) continue;
    set++;
    const el = fieldElement(k);
    const sk = skip?.children.get(el);
    if (sk?.end) continue;
    const enc = encodeValue(child, fieldSchema(schema, k), sk, count);
    if (enc) {
      (keys ??= []).push(el);
      values.push(enc);
    }
  }
  return { set, keys, values };
}

/** collect at a path below the top, encoded: the node's FieldsV1, undefined when it holds nothing. */
function encodeValue(
  v: unknown,
  schema: FieldSchema | undefined,
  skip: PrefixTree | undefined,
  count: { members: number },
): Record<string, unknown> | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v !== 'object') {
    count.members++;
    return LEAF;
  }
  if (isRecord(v) && !schema?.atomic) return encodeStruct(v, schema, skip, count, true);
  const s = shape(v, schema, false);
  switch (s.kind) {
    case 'absent':
      return undefined;
    case 'struct':
      return encodeStruct(s.value, schema, skip, count, true);
    case 'keyed': {
      if (s.order.length === 0) {
        count.members++;
        return LEAF;
      }
      const keys: string[] = [];
      const values: Record<string, unknown>[] = [];
      for (const k of s.order) {
        const sk = skip?.children.get(k);
        if (sk?.end) continue;
        count.members++;
        // The item is a member; its fields, as collectItem walks them, below it.
        const item = encodeChildren(s.items.get(k) ?? {}, s.itemSchema, sk, count);
        keys.push(k);
        values.push(item.keys ? fieldsV1Node(true, item.keys, item.values)! : LEAF);
      }
      return fieldsV1Node(false, keys, values);
    }
    case 'set': {
      if (s.order.length === 0) {
        count.members++;
        return LEAF;
      }
      const keys: string[] = [];
      const values: Record<string, unknown>[] = [];
      for (const k of s.order) {
        if (skip?.children.get(k)?.end) continue;
        count.members++;
        keys.push(k);
        values.push(LEAF);
      }
      return fieldsV1Node(false, keys, values);
    }
    case 'leaf':
      count.members++;
      return LEAF;
  }
}

/** The fields an applied configuration sets; throws BadRequest for a keyed item without its key. */
export function fieldsOf(v: unknown, schema: FieldSchema | undefined, strict = false): FieldSet {
  const out = new FieldSet();
  collectFields(v, schema, [], out, { strict });
  return out;
}

export interface Comparison {
  /** Paths `after` adds or whose value it changes. */
  changed: FieldSet;
  /** Paths `after` drops. */
  removed: FieldSet;
}

/**
 * The paths `after` adds or changes, and those it drops, relative to
 * `before`, leaving out every path under `ignored` (fields nobody owns): the
 * walk does not go down there at all, which spares a create walking the
 * status it cannot own and a status write the spec.
 */
export function compare(
  before: unknown,
  after: unknown,
  schema: FieldSchema | undefined,
  ignored: PrefixTree = NO_PREFIXES,
): Comparison {
  const r: Comparison = { changed: new FieldSet(), removed: new FieldSet() };
  if (ignored.end) return r;
  diff(before, after, schema, { path: [], markMaps: true, strict: false }, r, ignored);
  return r;
}

const NO_PREFIXES = prefixTree([]);

function diff(
  a: unknown,
  b: unknown,
  schema: FieldSchema | undefined,
  w: Walk,
  r: Comparison,
  skip: PrefixTree | undefined,
): void {
  // The same value (a subtree a write shares with the stored object) has no differences.
  if (a === b) return;
  const path = w.path;
  // The common cases first, classified as shape would without allocating:
  // two different scalars, and two maps.
  if (a != null && b != null && typeof a !== 'object' && typeof b !== 'object') {
    r.changed.add(path);
    return;
  }
  if (isRecord(a) && isRecord(b) && !schema?.atomic) {
    diffStruct(a, b, schema, w, r, skip);
    return;
  }
  const sa = shape(a, schema);
  const sb = shape(b, schema);
  if (sa.kind === 'absent' && sb.kind === 'absent') return;
  if (sa.kind === 'absent') {
    collect(b, schema, w, r.changed, skip);
    return;
  }
  if (sb.kind === 'absent') {
    collect(a, schema, w, r.removed, skip);
    if (path.length > 0) r.removed.add(path);
    return;
  }
  if (sa.kind === 'struct' && sb.kind === 'struct') {
    diffStruct(sa.value, sb.value, schema, w, r, skip);
    return;
  }
  if (sa.kind === 'keyed' && sb.kind === 'keyed') {
    const item = (k: string): void => {
      const ia = sa.items.get(k);
      const ib = sb.items.get(k);
      if (ia === ib) return;
      const sk = skip?.children.get(k);
      if (sk?.end) return;
      path.push(k);
      if (!ia || !ib) {
        const set = ia ? r.removed : r.changed;
        set.add(path);
        collectItem(ia ?? ib ?? {}, sb.itemSchema, w, set, sk);
      } else {
        const fieldOf = (f: string): void => {
          const ca = ia[f];
          const cb = ib[f];
          if (ca === cb) return;
          const el = fieldElement(f);
          const skf = sk?.children.get(el);
          if (skf?.end) return;
          path.push(el);
          diff(ca, cb, fieldSchema(sb.itemSchema, f), w, r, skf);
          path.pop();
        };
        for (const f of Object.keys(ia)) fieldOf(f);
        for (const f of Object.keys(ib)) if (!Object.hasOwn(ia, f)) fieldOf(f);
      }
      path.pop();
    };
    for (const k of sa.order) item(k);
    for (const k of sb.order) if (!sa.items.has(k)) item(k);
    return;
  }
  if (sa.kind === 'set' && sb.kind === 'set') {
    const value = (k: string, set: FieldSet): void => {
      if (skip?.children.get(k)?.end) return;
      path.push(k);
      set.add(path);
      path.pop();
    };
    for (const k of sb.order) if (!sa.items.has(k)) value(k, r.changed);
    for (const k of sa.order) if (!sb.items.has(k)) value(k, r.removed);
    return;
  }
  if (sa.kind === 'leaf' && sb.kind === 'leaf') {
    if (!deepEqual(sa.value, sb.value)) r.changed.add(path);
    return;
  }
  // The value changed its shape (a map became a scalar): the old fields go, the new ones come.
  collect(a, schema, w, r.removed, skip);
  collect(b, schema, w, r.changed, skip);
  r.changed.add(path);
}

function diffStruct(
  va: Record<string, unknown>,
  vb: Record<string, unknown>,
  schema: FieldSchema | undefined,
  w: Walk,
  r: Comparison,
  skip: PrefixTree | undefined,
): void {
  const path = w.path;
  const field = (k: string): void => {
    const ca = va[k];
    const cb = vb[k];
    if (ca === cb) return;
    const el = fieldElement(k);
    const sk = skip?.children.get(el);
    if (sk?.end) return;
    path.push(el);
    diff(ca, cb, fieldSchema(schema, k), w, r, sk);
    path.pop();
  };
  for (const k of Object.keys(va)) field(k);
  for (const k of Object.keys(vb)) if (!Object.hasOwn(va, k)) field(k);
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
