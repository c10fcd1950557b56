// Sets of field paths, the unit of ownership in server-side apply, and their
// wire form FieldsV1 as stored in metadata.managedFields:
//   {"f:metadata":{"f:labels":{".":{},"f:app":{}}},
//    "f:spec":{"f:containers":{"k:{\"name\":\"web\"}":{".":{},"f:image":{}}}}}
// A path is a list of elements: `f:<field>`, `k:<json key>` (an item of a
// keyed list), `v:<json value>` (an item of a set), `i:<index>`. A path is a
// member of the set when its node is `{}` or holds a `.` marker.

import { badPatch } from './errors.js';
import { isRecord } from './json.js';

export type Path = readonly string[];

/** Path prefixes as a tree of their elements: a walk looks its next element up instead of comparing whole paths. */
export interface PrefixTree {
  /** A prefix ends here: everything at and below this path is left out. */
  readonly end: boolean;
  readonly children: ReadonlyMap<string, PrefixTree>;
}

export function prefixTree(prefixes: readonly Path[]): PrefixTree {
  interface Mutable {
    end: boolean;
    children: Map<string, Mutable>;
  }
  const root: Mutable = { end: false, children: new Map() };
  for (const p of prefixes) {
    let node = root;
    for (const el of p) {
      let next = node.children.get(el);
      if (!next) {
        next = { end: false, children: new Map() };
        node.children.set(el, next);
      }
      node = next;
    }
    node.end = true;
  }
  return root;
}

/** A node of a set's path tree: a path is a member when its node says so. */
interface Node {
  member: boolean;
  /** Created on first use; never left empty (see FieldSet). */
  children: Map<string, Node> | undefined;
}

const newNode = (): Node => ({ member: false, children: undefined });

/**
 * An immutable-by-convention set of paths, kept as the tree FieldsV1 encodes:
 * the set operations run several times on every write (managedFields) over
 * every field of the object, and a tree spares them a string key per path,
 * reads and writes FieldsV1 without rebuilding one, and drops a whole subtree
 * (`without`) at once. Every node holds a member at or below it: operations
 * that remove paths prune the nodes they leave empty.
 */
export class FieldSet {
  private readonly root: Node = newNode();
  private count = 0;
  /**
   * The last path add() went down, and its nodes below the root: the walks
   * that build a set add paths in depth-first order, so the next one mostly
   * shares all but its last element or two with it and starts there, not at
   * the root. Made on first add; emptied when nodes are removed.
   */
  private trailPath: string[] | undefined;
  private trailNodes: Node[] | undefined;
  private trailLength = 0;

  constructor(paths: Iterable<Path> = []) {
    for (const p of paths) this.add(p);
  }

  /** Only while building a set: the operations below may return an operand rather than a copy. */
  add(path: Path): void {
    const trailPath = (this.trailPath ??= []);
    const trailNodes = (this.trailNodes ??= []);
    const shared = Math.min(path.length, this.trailLength);
    let depth = 0;
    while (depth < shared && trailPath[depth] === path[depth]) depth++;
    let node = depth === 0 ? this.root : trailNodes[depth - 1]!;
    for (; depth < path.length; depth++) {
      const el = path[depth]!;
      node.children ??= new Map();
      let next = node.children.get(el);
      if (!next) {
        next = newNode();
        node.children.set(el, next);
      }
      node = next;
      trailPath[depth] = el;
      trailNodes[depth] = node;
    }
    this.trailLength = path.length;
    if (!node.member) {
      node.member = true;
      this.count++;
    }
  }

  has(path: Path): boolean {
    return this.find(path)?.member === true;
  }

  get size(): number {
    return this.count;
  }

  /** The members, each before the paths below it. */
  paths(): Path[] {
    const out: Path[] = [];
    const walk = (node: Node, path: string[]): void => {
      if (node.member) out.push([...path]);
      if (!node.children) return;
      for (const [el, child] of node.children) {
        path.push(el);
        walk(child, path);
        path.pop();
      }
    };
    walk(this.root, []);
    return out;
  }

  /** The first element of every member but the empty path: which top-level fields the set has. */
  topLevel(): string[] {
    return [...(this.root.children?.keys() ?? [])];
  }

  // The operations return one of their operands when the result equals it:
  // a set is not changed once made, and most writes take nothing from most
  // managers.
  union(other: FieldSet): FieldSet {
    if (other.count === 0) return this;
    if (this.count === 0) return other;
    const out = new FieldSet();
    out.count = mergeInto(out.root, this.root);
    out.count += mergeInto(out.root, other.root);
    return out;
  }

  difference(other: FieldSet): FieldSet {
    return overlaps(this.root, other.root) ? this.combine(other, false) : this;
  }

  intersection(other: FieldSet): FieldSet {
    return overlaps(this.root, other.root) ? this.combine(other, true) : new FieldSet();
  }

  /** Whether `path` or any path below it is a member. */
  coversOrContainsBelow(path: Path): boolean {
    // No node is left without a member at or below it.
    return path.length === 0 ? this.count > 0 : this.find(path) !== undefined;
  }

  /** Members that do not start with any of `prefixes`. */
  without(prefixes: readonly Path[]): FieldSet {
    if (prefixes.some((p) => p.length === 0)) return new FieldSet();
    const out = new FieldSet();
    out.count = mergeInto(out.root, this.root);
    for (const pre of prefixes) out.count -= out.removeSubtree(pre);
    return out;
  }

  private find(path: Path): Node | undefined {
    let node: Node | undefined = this.root;
    for (const el of path) {
      node = node.children?.get(el);
      if (!node) return undefined;
    }
    return node;
  }

  /** Removes the subtree at `path` (not empty), pruning emptied parents; returns how many members went. */
  private removeSubtree(path: Path): number {
    this.trailLength = 0;
    const trail: Node[] = [];
    let node: Node | undefined = this.root;
    for (const el of path) {
      trail.push(node);
      node = node.children?.get(el);
      if (!node) return 0;
    }
    const gone = countMembers(node);
    for (let i = path.length - 1; i >= 0; i--) {
      const parent = trail[i]!;
      parent.children!.delete(path[i]!);
      if (parent.children!.size > 0) break;
      parent.children = undefined;
      if (parent.member || i === 0) break;
    }
    return gone;
  }

  /** This set's members that `other` has (`keep`) or has not. */
  private combine(other: FieldSet, keep: boolean): FieldSet {
    const out = new FieldSet();
    const walk = (a: Node, b: Node | undefined, into: Node): number => {
      let n = 0;
      if (a.member && (b?.member === true) === keep) {
        into.member = true;
        n++;
      }
      if (!a.children) return n;
      for (const [el, child] of a.children) {
        const bc = b?.children?.get(el);
        if (!bc && keep) continue;
        if (!bc) {
          // Nothing of `other` below: the whole subtree stays.
          const copy = newNode();
          n += mergeInto(copy, child);
          (into.children ??= new Map()).set(el, copy);
          continue;
        }
        const sub = newNode();
        const m = walk(child, bc, sub);
        if (m > 0) {
          (into.children ??= new Map()).set(el, sub);
          n += m;
        }
      }
      return n;
    };
    out.count = walk(this.root, other.root, out.root);
    return out;
  }

  /** Encodes the set as FieldsV1 (see toFieldsV1). */
  encode(): Record<string, unknown> {
    // A fresh object at the top: callers own what encode() returns.
    return this.root.children ? encodeNode(this.root) : {};
  }

  /** Reads FieldsV1 into a set (see decodeFieldsV1). */
  static decode(fields: unknown): { set: FieldSet; canonical: boolean } {
    const set = new FieldSet();
    const path: string[] = [];
    let canonical = true;
    const walk = (obj: unknown, node: Node): void => {
      if (!isRecord(obj))
        throw badPatch(
          `invalid managedFields: FieldsV1 node at ${pathString(path) || '.'} is not an object`,
        );
      const keys = Object.keys(obj);
      if (keys.length === 0 && path.length > 0) {
        if (!node.member) set.count++;
        node.member = true;
      }
      let last: string | undefined;
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i]!;
        if (key === '.') {
          if (!node.member) set.count++;
          node.member = true;
          // toFieldsV1 writes `.` first, empty, and only beside children.
          const dot = obj[key];
          if (i !== 0 || keys.length === 1 || !isRecord(dot) || Object.keys(dot).length > 0)
            canonical = false;
        } else if (isElement(key)) {
          if (last !== undefined && !(last < key)) canonical = false;
          last = key;
          node.children ??= new Map();
          let child = node.children.get(key);
          if (!child) {
            child = newNode();
            node.children.set(key, child);
          }
          path.push(key);
          walk(obj[key], child);
          path.pop();
        } else {
          throw badPatch(`invalid managedFields: unknown path element ${JSON.stringify(key)}`);
        }
      }
    };
    walk(fields, set.root);
    return { set, canonical };
  }
}

/** `f:`, `k:`, `v:` or `i:` and the rest: a path element (tested without a RegExp, on every key). */
function isElement(key: string): boolean {
  const c = key.charCodeAt(0);
  return key.charCodeAt(1) === 58 && (c === 102 || c === 107 || c === 118 || c === 105);
}

/** Adds `from`'s members to `into` (copying nodes, never sharing them); returns how many were new. */
function mergeInto(into: Node, from: Node): number {
  let n = 0;
  if (from.member && !into.member) {
    into.member = true;
    n++;
  }
  if (!from.children) return n;
  into.children ??= new Map();
  for (const [el, child] of from.children) {
    let target = into.children.get(el);
    if (!target) {
      target = newNode();
      into.children.set(el, target);
    }
    n += mergeInto(target, child);
  }
  return n;
}

/** Whether the two trees share a member. */
function overlaps(a: Node, b: Node): boolean {
  if (a.member && b.member) return true;
  if (!a.children || !b.children) return false;
  const [small, large] =
    a.children.size <= b.children.size ? [a.children, b.children] : [b.children, a.children];
  for (const [el, child] of small) {
    const other = large.get(el);
    if (other && overlaps(child, other)) return true;
  }
  return false;
}

function countMembers(node: Node): number {
  let n = node.member ? 1 : 0;
  if (node.children) for (const child of node.children.values()) n += countMembers(child);
  return n;
}

/**
 * The `{}` of every leaf and `.` marker an encoding writes, one object for
 * all: most of a FieldsV1 object is leaves, and a fresh one each was most of
 * what encoding allocated. Frozen, so nothing can change every set's at once;
 * nothing changes stored FieldsV1 in place (the walks only read it).
 */
export const LEAF: Record<string, unknown> = Object.freeze({});

function encodeNode(node: Node): Record<string, unknown> {
  const children = node.children;
  if (!children) return LEAF;
  const out: Record<string, unknown> = {};
  if (node.member) out['.'] = LEAF;
  // Every key carries a two-letter prefix (`f:`, `k:`, ...), so a plain
  // assignment cannot reach the prototype (`__proto__`) and keeps the object
  // in V8's fast mode, which the JSON encoding of the stored object reads too.
  if (children.size === 1) {
    for (const [key, child] of children) out[key] = encodeNode(child);
    return out;
  }
  for (const key of sortedKeys(children)) out[key] = encodeNode(children.get(key)!);
  return out;
}

/**
 * The FieldsV1 object of one node, as encodeNode writes it, from its member
 * flag and its children's elements and encoded objects (in any order; both
 * arrays are sorted here, together): for walks that encode without building
 * a set (typed.ts encodeFields). Undefined for a node with neither, which a
 * set does not hold.
 */
export function fieldsV1Node(
  member: boolean,
  keys: string[],
  values: Record<string, unknown>[],
): Record<string, unknown> | undefined {
  if (keys.length === 0) return member ? LEAF : undefined;
  for (let i = 1; i < keys.length; i++) {
    const key = keys[i]!;
    const value = values[i]!;
    let j = i;
    while (j > 0 && keys[j - 1]! > key) {
      keys[j] = keys[j - 1]!;
      values[j] = values[j - 1]!;
      j--;
    }
    keys[j] = key;
    values[j] = value;
  }
  const out: Record<string, unknown> = {};
  if (member) out['.'] = LEAF;
  for (let i = 0; i < keys.length; i++) out[keys[i]!] = values[i];
  return out;
}

/**
 * The keys in code-unit order, as Array.prototype.sort() orders strings: by
 * insertion, since a node has few children, mostly in order already, and the
 * default sort's string conversions made it most of the encoding's cost.
 */
function sortedKeys(children: ReadonlyMap<string, Node>): string[] {
  const keys: string[] = [];
  for (const key of children.keys()) {
    let j = keys.length;
    keys.push(key);
    while (j > 0 && keys[j - 1]! > key) {
      keys[j] = keys[j - 1]!;
      j--;
    }
    keys[j] = key;
  }
  return keys;
}

/** Reads a FieldsV1 object; throws BadRequest when it is not one. */
export function fromFieldsV1(fields: unknown): FieldSet {
  return FieldSet.decode(fields).set;
}

/**
 * Reads a FieldsV1 object and says whether it is exactly what toFieldsV1
 * writes for the set (same keys in the same order), so a caller whose set
 * did not change can keep the stored object instead of encoding it again.
 * Throws BadRequest when it is not FieldsV1.
 */
export function decodeFieldsV1(fields: unknown): { set: FieldSet; canonical: boolean } {
  return FieldSet.decode(fields);
}

/** Encodes a set as FieldsV1 with sorted keys, so equal sets encode identically. */
export function toFieldsV1(set: FieldSet): Record<string, unknown> {
  return set.encode();
}

/** Renders a path the way Kubernetes' conflict messages do: `.spec.containers[name="web"].image`. */
export function pathString(path: Path): string {
  return path
    .map((el) => {
      const body = el.slice(2);
      switch (el[0]) {
        case 'f':
          return `.${body}`;
        case 'k': {
          const key = JSON.parse(body) as Record<string, unknown>;
          return `[${Object.entries(key)
            .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
            .join(',')}]`;
        }
        case 'v':
          return `[=${body}]`;
        default:
          return `[${body}]`;
      }
    })
    .join('');
}
