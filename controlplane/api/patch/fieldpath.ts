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

/**
 * An immutable-by-convention set of paths keyed by their JSON form. The set
 * operations reuse the members' keys rather than encoding every path again:
 * they run several times on every write (managedFields), over every field of
 * the object.
 */
export class FieldSet {
  private readonly members = new Map<string, Path>();

  constructor(paths: Iterable<Path> = []) {
    for (const p of paths) this.add(p);
  }

  add(path: Path): void {
    this.members.set(JSON.stringify(path), path);
  }

  has(path: Path): boolean {
    return this.members.has(JSON.stringify(path));
  }

  get size(): number {
    return this.members.size;
  }

  paths(): Path[] {
    return [...this.members.values()];
  }

  union(other: FieldSet): FieldSet {
    const out = this.filter(() => true);
    for (const [k, p] of other.members) out.members.set(k, p);
    return out;
  }

  difference(other: FieldSet): FieldSet {
    return this.filter((k) => !other.members.has(k));
  }

  intersection(other: FieldSet): FieldSet {
    return this.filter((k) => other.members.has(k));
  }

  /** Whether `path` or any path below it is a member. */
  coversOrContainsBelow(path: Path): boolean {
    return this.paths().some((p) => p.length >= path.length && path.every((e, i) => p[i] === e));
  }

  /** Members that do not start with any of `prefixes`. */
  without(prefixes: readonly Path[]): FieldSet {
    return this.filter(
      (_k, p) => !prefixes.some((pre) => pre.length <= p.length && pre.every((e, i) => p[i] === e)),
    );
  }

  private filter(keep: (key: string, path: Path) => boolean): FieldSet {
    const out = new FieldSet();
    for (const [k, p] of this.members) if (keep(k, p)) out.members.set(k, p);
    return out;
  }
}

/** Reads a FieldsV1 object; throws BadRequest when it is not one. */
export function fromFieldsV1(fields: unknown): FieldSet {
  const out = new FieldSet();
  const walk = (node: unknown, path: string[]): void => {
    if (!isRecord(node))
      throw badPatch(
        `invalid managedFields: FieldsV1 node at ${pathString(path) || '.'} is not an object`,
      );
    const keys = Object.keys(node);
    if (keys.length === 0 && path.length > 0) out.add(path);
    for (const key of keys) {
      if (key === '.') out.add(path);
      else if (/^[fkvi]:/.test(key)) walk(node[key], [...path, key]);
      else throw badPatch(`invalid managedFields: unknown path element ${JSON.stringify(key)}`);
    }
  };
  walk(fields, []);
  return out;
}

/** Encodes a set as FieldsV1 with sorted keys, so equal sets encode identically. */
export function toFieldsV1(set: FieldSet): Record<string, unknown> {
  interface Node {
    member: boolean;
    children: Map<string, Node>;
  }
  const root: Node = { member: false, children: new Map() };
  for (const path of set.paths()) {
    let node = root;
    for (const el of path) {
      let next = node.children.get(el);
      if (!next) {
        next = { member: false, children: new Map() };
        node.children.set(el, next);
      }
      node = next;
    }
    node.member = true;
  }
  const encode = (node: Node): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    if (node.member && node.children.size > 0) out['.'] = {};
    for (const key of [...node.children.keys()].sort()) {
      const child = node.children.get(key);
      if (child)
        Object.defineProperty(out, key, {
          value: encode(child),
          enumerable: true,
          writable: true,
          configurable: true,
        });
    }
    return out;
  };
  return encode(root);
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
