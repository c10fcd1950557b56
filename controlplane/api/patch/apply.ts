// Server-side apply (`Content-Type: application/apply-patch+yaml`) and the
// field ownership every write records in metadata.managedFields.
//
// Each manager entry is identified by (manager, operation, subresource, and
// for Update the apiVersion) and owns a set of field paths. An Apply:
//   1. merges the applied configuration into the live object (keyed lists by
//      the keys in schema.ts);
//   2. removes the fields this applier owned last time and no longer applies,
//      unless another manager (or the new configuration) still owns them;
//   3. compares live with the result: a field another manager owns whose
//      value would change is a conflict, reported unless `force`, in which
//      case the other manager loses it;
//   4. records the applier's set as exactly the applied configuration's.
// An Update (create, PUT, patch) takes ownership of the fields it changed and
// takes them from everybody else; removed fields leave every set.
// The rules follow Kubernetes' structured-merge-diff and fieldmanager
// behaviour as documented; the code is Shoal's own.

import type { KubeObject, ManagedFieldsEntry } from '../objects.js';
import { RESOURCES } from '../resources.js';
import { ApiError } from '../status.js';
import { badPatch } from './errors.js';
import { FieldSet, decodeFieldsV1, pathString, prefixTree, toFieldsV1 } from './fieldpath.js';
import type { Path, PrefixTree } from './fieldpath.js';
import { clone, deepEqual, isRecord } from './json.js';
import { schemaFor } from './schema.js';
import { compare, encodeFields, fieldsOf, mergeApplied, removePaths } from './typed.js';

/** One field another manager owns that an apply would change. */
export interface ApplyConflict {
  manager: string;
  /** The field as Kubernetes prints it: `.spec.replicas`, `.spec.template.spec.containers[name="web"].image`. */
  field: string;
  operation?: 'Apply' | 'Update';
  apiVersion?: string;
  subresource?: string;
}

export interface ServerSideApplyArgs {
  live: KubeObject | undefined;
  applied: KubeObject;
  manager: string;
  force: boolean;
  kind: string;
  apiVersion: string;
  now: string;
}

export interface UpdateManagedFieldsArgs {
  old: KubeObject | undefined;
  updated: KubeObject;
  manager: string;
  operation: 'Update';
  apiVersion: string;
  now: string;
  subresource?: string;
}

interface Manager {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time?: string;
  subresource?: string;
  set: FieldSet;
  /**
   * The stored fieldsV1 of a manager this write cannot touch, kept as it is
   * (set is then not decoded): see updateManagedFields.
   */
  raw?: Record<string, unknown>;
  /**
   * The stored fieldsV1 when it is exactly toFieldsV1(set) of this set object:
   * written back as it is while `set` stays that object (a manager the write
   * takes nothing from), instead of encoding the same fields again.
   */
  encoded?: { set: FieldSet; fieldsV1: Record<string, unknown> };
}

/** Fields nobody owns: identity and bookkeeping the server sets (Kubernetes' DefaultStripFields). */
const STRIPPED: readonly Path[] = [
  ['f:apiVersion'],
  ['f:kind'],
  ['f:metadata', 'f:name'],
  ['f:metadata', 'f:namespace'],
  ['f:metadata', 'f:creationTimestamp'],
  ['f:metadata', 'f:selfLink'],
  ['f:metadata', 'f:uid'],
  ['f:metadata', 'f:generation'],
  ['f:metadata', 'f:managedFields'],
  ['f:metadata', 'f:resourceVersion'],
];

/**
 * Fields a write through this endpoint cannot set, so nobody gains them: the
 * main resource of a kind with a status subresource ignores status, the status
 * subresource ignores spec (Kubernetes' reset fields).
 */
function ignoredPaths(kind: string, subresource: string | undefined): Ignored {
  if (subresource === 'status') return IGNORED_BY_STATUS;
  const hasStatus = RESOURCES.some((r) => r.kind === kind && r.subresources.includes('status'));
  return !subresource && hasStatus ? IGNORED_BY_MAIN : IGNORED;
}

/** The paths, and the same as a tree for the walks that leave them out. */
interface Ignored {
  paths: readonly Path[];
  tree: PrefixTree;
}

const ignoring = (paths: readonly Path[]): Ignored => ({ paths, tree: prefixTree(paths) });
const IGNORED = ignoring(STRIPPED);
const IGNORED_BY_STATUS = ignoring([...STRIPPED, ['f:spec']]);
const IGNORED_BY_MAIN = ignoring([...STRIPPED, ['f:status']]);

/**
 * Applies `applied` for `manager` over `live` (undefined on create). Returns
 * the new object with its managedFields, or the conflicts when another
 * manager owns a field the apply would change and `force` is false. When
 * nothing changes the returned object equals `live`, so the caller can skip
 * the write. Throws ApiError BadRequest for an applied object that carries
 * managedFields or a keyed list item without its key.
 */
export function serverSideApply(
  args: ServerSideApplyArgs,
): { object: KubeObject } | { conflicts: ApplyConflict[] } {
  const { live, applied, manager, force, kind, apiVersion, now } = args;
  if (Array.isArray(applied.metadata?.managedFields) && applied.metadata.managedFields.length > 0) {
    throw badPatch('metadata.managedFields must be nil');
  }
  const schema = schemaFor(kind);
  const ignored = ignoredPaths(kind, undefined);
  const liveBody = bodyOf(live);
  const appliedBody = bodyOf(applied);
  if (ignored.paths.some((p) => p.length === 1 && p[0] === 'f:status'))
    delete appliedBody['status'];

  let managers = live ? decodeManagers(live.metadata.managedFields) : [];
  if (live && managers.length === 0) {
    // An object nobody tracked yet: Kubernetes hands its fields to this pseudo-manager.
    managers = [
      {
        manager: 'before-first-apply',
        operation: 'Update',
        apiVersion: live.apiVersion ?? apiVersion,
        set: fieldsOf(liveBody, schema).without(ignored.paths),
      },
    ];
  }
  const selfId = { manager, operation: 'Apply', apiVersion };
  const self = managers.find((m) => sameIdentity(m, selfId));
  const others = managers.filter((m) => m !== self);

  const newSet = fieldsOf(appliedBody, schema, true).without(ignored.paths);
  const merged = mergeApplied(liveBody, appliedBody, schema) as Record<string, unknown>;
  if (self) {
    const stillOwned = others.reduce((acc, m) => acc.union(m.set), newSet);
    const dropped = self.set
      .difference(newSet)
      .paths()
      .filter((p) => !stillOwned.coversOrContainsBelow(p) && !isItemKeyField(p));
    removePaths(merged, dropped, schema);
  }

  const { changed, removed } = compare(liveBody, merged, schema, ignored.tree);
  const conflicts: ApplyConflict[] = [];
  for (const m of others) {
    for (const p of m.set.intersection(changed).paths()) {
      const c: ApplyConflict = {
        manager: m.manager,
        field: pathString(p),
        operation: m.operation,
        apiVersion: m.apiVersion,
      };
      if (m.subresource) c.subresource = m.subresource;
      conflicts.push(c);
    }
  }
  if (conflicts.length > 0 && !force) {
    conflicts.sort((a, b) => cmpStr(a.manager, b.manager) || cmpStr(a.field, b.field));
    return { conflicts };
  }
  for (const m of others) m.set = losing(m.set, changed, removed);

  const objectChanged = !live || !deepEqual(liveBody, merged);
  const mine: Manager = {
    manager,
    operation: 'Apply',
    apiVersion,
    set: newSet,
    time: objectChanged || !self?.time ? now : self.time,
  };
  const object = withManagers(merged, [...others, mine]);
  return { object };
}

/**
 * Returns `updated` with managedFields recording a non-apply write by
 * `manager`: it owns what it added or changed relative to `old` (undefined on
 * create), other managers lose those fields, and removed fields leave every
 * set. A client that sends managedFields different from the stored ones
 * overrides them (one empty entry clears them all), as in Kubernetes. The
 * result shares everything below metadata with `updated`: read it, or take
 * its managedFields, but do not change it.
 */
export function updateManagedFields(args: UpdateManagedFieldsArgs): KubeObject {
  const { old, updated, manager, operation, apiVersion, now, subresource } = args;
  const kind = updated.kind ?? old?.kind ?? '';
  const schema = schemaFor(kind);
  const ignored = ignoredPaths(kind, subresource);

  const sent = updated.metadata?.managedFields;
  const stored = old?.metadata.managedFields;
  if (
    Array.isArray(sent) &&
    sent.length === 1 &&
    isRecord(sent[0]) &&
    Object.keys(sent[0]).length === 0
  ) {
    return shallowBodyOf(updated) as KubeObject;
  }
  const useSent = Array.isArray(sent) && sent.length > 0 && !deepEqual(sent, stored);

  const body = shallowBodyOf(updated);
  if (!old && !useSent && !schema?.atomic) {
    // A create: no manager but this one, which owns every field the object
    // sets (what compare finds changed against nothing), encoded directly.
    const { fieldsV1, size } = encodeFields(body, schema, ignored.tree);
    const self: Manager = { manager, operation, apiVersion, set: new FieldSet(), time: now };
    if (subresource) self.subresource = subresource;
    return withManagers(body, size > 0 ? [self] : [], fieldsV1);
  }
  const { changed, removed } = compare(shallowBodyOf(old), body, schema, ignored.tree);
  // A stored manager owning nothing under the top-level fields this write
  // touches keeps its entry unread: an agent's status report (only status
  // changes) would otherwise decode, diff and re-encode every manager's
  // fields, the spec's included, on every report.
  const touched = new Set([...changed.topLevel(), ...removed.topLevel()]);
  const managers = useSent
    ? decodeManagers(sent)
    : decodeManagers(stored, (f) => !Object.keys(f).some((k) => touched.has(k)));

  const self: Manager = { manager, operation, apiVersion, set: new FieldSet() };
  if (subresource) self.subresource = subresource;
  const previous = managers.find((m) => sameIdentity(m, self));
  if (previous?.raw) {
    decodeInto(previous, previous.raw);
    delete previous.raw;
  }
  const others = managers.filter((m) => m !== previous);
  for (const m of others) if (!m.raw) m.set = losing(m.set, changed, removed);
  if (previous) {
    const kept = previous.set.difference(removed);
    const grown = kept.union(changed);
    // An unchanged set stays the same object (difference returns it when it
    // loses nothing), so its stored encoding is reused.
    self.set = grown.size === kept.size ? kept : grown;
    if (previous.encoded) self.encoded = previous.encoded;
  } else {
    self.set = changed;
  }
  // The time says when this manager last changed something, not when it last wrote.
  self.time = changed.size > 0 || !previous?.time ? now : previous.time;

  return withManagers(body, [...others, self]);
}

/** The 409 Kubernetes answers for an apply with conflicts, in its words. */
export function applyConflictError(conflicts: readonly ApplyConflict[]): ApiError {
  const causes = conflicts.map((c) => ({
    reason: 'FieldManagerConflict',
    message: `conflict with ${printManager(c)}`,
    field: c.field,
  }));
  let message: string;
  const [only] = conflicts;
  if (conflicts.length === 1 && only) {
    message = `Apply failed with 1 conflict: conflict with ${printManager(only)}: ${only.field}`;
  } else {
    const byManager = new Map<string, string[]>();
    for (const c of conflicts) {
      const key = printManager(c);
      byManager.set(key, [...(byManager.get(key) ?? []), c.field]);
    }
    const lines: string[] = [];
    for (const key of [...byManager.keys()].sort()) {
      lines.push(`conflicts with ${key}:`);
      for (const field of byManager.get(key) ?? []) lines.push(`- ${field}`);
    }
    message = `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`;
  }
  return new ApiError('Conflict', message, { causes });
}

function printManager(c: ApplyConflict): string {
  let s = JSON.stringify(c.manager);
  if (c.subresource) s += ` with subresource ${JSON.stringify(c.subresource)}`;
  if (c.operation === 'Update' && c.apiVersion) s += ` using ${c.apiVersion}`;
  return s;
}

/** Appliers keep one entry across apiVersions; updaters get one per apiVersion. */
function sameIdentity(a: Identity, b: Identity): boolean {
  return (
    a.manager === b.manager &&
    a.operation === b.operation &&
    (a.subresource ?? '') === (b.subresource ?? '') &&
    (a.operation !== 'Update' || a.apiVersion === b.apiVersion)
  );
}

interface Identity {
  manager: string;
  operation: string;
  apiVersion: string;
  subresource?: string;
}

/** A deep copy of the object without its managedFields: what an apply merges over. */
function bodyOf(obj: KubeObject | undefined): Record<string, unknown> {
  if (!obj) return {};
  const body = clone(obj) as Record<string, unknown>;
  const meta = body['metadata'];
  if (isRecord(meta)) delete meta['managedFields'];
  return body;
}

/**
 * The object without its managedFields, as a shallow copy (new object and
 * metadata, values below shared): what an Update's ownership is computed
 * over. The field walks only read it and withManagers only writes the copy's
 * own metadata; a deep copy here was the largest single cost of a write.
 */
function shallowBodyOf(obj: KubeObject | undefined): Record<string, unknown> {
  if (!obj) return {};
  const { managedFields: _mf, ...metadata } = isRecord(obj.metadata) ? obj.metadata : {};
  return { ...obj, metadata };
}

/**
 * `set` without `changed` and `removed`: the same object when it has none of
 * them, so an encoding of it stays valid.
 */
function losing(set: FieldSet, changed: FieldSet, removed: FieldSet): FieldSet {
  const next = set.difference(changed).difference(removed);
  return next.size === set.size ? set : next;
}

/** Sets a manager's set from stored FieldsV1, keeping the stored object when it is canonical. */
function decodeInto(m: Manager, fields: unknown): void {
  const { set, canonical } = decodeFieldsV1(fields);
  m.set = set;
  if (canonical && isRecord(fields)) m.encoded = { set, fieldsV1: fields };
  else delete m.encoded;
}

/** Stored entries we cannot read are dropped, as Kubernetes resets unreadable managedFields. */
function decodeManagers(
  entries: unknown,
  /** Entries whose (non-empty) fieldsV1 this accepts are kept raw, not decoded. */
  keepRaw?: (fieldsV1: Record<string, unknown>) => boolean,
): Manager[] {
  if (!Array.isArray(entries)) return [];
  const out: Manager[] = [];
  for (const e of entries) {
    if (!isRecord(e) || typeof e['manager'] !== 'string') continue;
    const operation = e['operation'];
    if (operation !== 'Apply' && operation !== 'Update') continue;
    const fields = e['fieldsV1'];
    const raw =
      keepRaw && isRecord(fields) && Object.keys(fields).length > 0 && keepRaw(fields)
        ? fields
        : undefined;
    const m: Manager = {
      manager: e['manager'],
      operation,
      apiVersion: typeof e['apiVersion'] === 'string' ? e['apiVersion'] : '',
      set: new FieldSet(),
    };
    if (!raw) {
      try {
        decodeInto(m, fields ?? {});
      } catch {
        continue;
      }
    }
    if (raw) m.raw = raw;
    if (typeof e['time'] === 'string') m.time = e['time'];
    if (typeof e['subresource'] === 'string' && e['subresource'] !== '')
      m.subresource = e['subresource'];
    out.push(m);
  }
  return out;
}

/**
 * Writes the managers into the object's metadata, in Kubernetes' order; empty
 * ones are dropped. `only`: the FieldsV1 of the one manager, which owns fields
 * (a create's, encoded without its set).
 */
function withManagers(
  body: Record<string, unknown>,
  managers: Manager[],
  only?: Record<string, unknown>,
): KubeObject {
  const meta = isRecord(body['metadata']) ? body['metadata'] : {};
  body['metadata'] = meta;
  // Each time is parsed once, not in every comparison.
  const secondsOf = new Map(managers.map((m) => [m, seconds(m.time)]));
  const entries = managers
    .filter((m) => only !== undefined || m.raw !== undefined || m.set.size > 0)
    .sort(
      (a, b) =>
        cmpStr(a.operation, b.operation) ||
        secondsOf.get(a)! - secondsOf.get(b)! ||
        cmpStr(a.manager, b.manager) ||
        cmpStr(a.apiVersion, b.apiVersion) ||
        cmpStr(a.subresource ?? '', b.subresource ?? ''),
    )
    .map((m) => {
      const e: ManagedFieldsEntry = {
        manager: m.manager,
        operation: m.operation,
        apiVersion: m.apiVersion,
      };
      if (m.time) e.time = m.time;
      e.fieldsType = 'FieldsV1';
      e.fieldsV1 =
        only ??
        m.raw ??
        (m.encoded?.set === m.set ? m.encoded.fieldsV1 : undefined) ??
        toFieldsV1(m.set);
      if (m.subresource) e.subresource = m.subresource;
      return e;
    });
  if (entries.length > 0) meta['managedFields'] = entries;
  else delete meta['managedFields'];
  return body as KubeObject;
}

function seconds(time: string | undefined): number {
  if (!time) return 0;
  // Most entries carry one of a few recent times (every write of one second
  // has the same): parsed once each, not at every write.
  let s = SECONDS.get(time);
  if (s === undefined) {
    const t = Date.parse(time);
    s = Number.isNaN(t) ? 0 : Math.floor(t / 1000);
    if (SECONDS.size >= 256) SECONDS.clear();
    SECONDS.set(time, s);
  }
  return s;
}
const SECONDS = new Map<string, number>();

function cmpStr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `…k:{"name":"web"}, f:name`: the key of an item stays while the item does. */
function isItemKeyField(path: Path): boolean {
  const last = path[path.length - 1];
  const parent = path[path.length - 2];
  if (!last?.startsWith('f:') || !parent?.startsWith('k:')) return false;
  const key = JSON.parse(parent.slice(2)) as Record<string, unknown>;
  return Object.hasOwn(key, last.slice(2));
}
