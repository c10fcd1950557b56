// JSON patch (RFC 6902), the engine behind `Content-Type:
// application/json-patch+json`. Written here rather than taken from
// fast-json-patch so that every failure maps to the status Kubernetes answers:
// a body that is not a list of operations is 400 BadRequest, an operation that
// does not apply (missing path, failed `test`, bad index) is 422 Invalid, with
// messages worded like the apiserver's.

import { badPatch, patchNotApplicable } from './errors.js';
import { clone, deepEqual, isRecord, setKey } from './json.js';

const OPS = ['add', 'remove', 'replace', 'move', 'copy', 'test'] as const;
type OpName = (typeof OPS)[number];

interface Operation {
  op: OpName;
  path: string[];
  rawPath: string;
  from?: string[];
  rawFrom?: string;
  value?: unknown;
}

/**
 * Applies the RFC 6902 operations in `ops` to a copy of `target`, in order,
 * and returns the result. Throws ApiError: BadRequest when `ops` is not a list
 * of operation objects, Invalid when an operation is malformed or does not
 * apply (its `test` fails, its path is missing).
 */
export function applyJsonPatch(target: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops))
    throw badPatch('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  const parsed = ops.map((op, i) => parseOperation(op, i));
  let doc = clone(target);
  for (const op of parsed) doc = applyOne(doc, op);
  return doc;
}

function parseOperation(raw: unknown, index: number): Operation {
  if (!isRecord(raw))
    throw badPatch(
      `json: cannot unmarshal operation ${index} into Go value of type jsonpatch.Operation`,
    );
  const op = raw['op'];
  if (typeof op !== 'string') throw patchNotApplicable(`operation ${index}: missing op field`);
  if (!(OPS as readonly string[]).includes(op)) throw patchNotApplicable(`Unexpected kind: ${op}`);
  const rawPath = raw['path'];
  if (typeof rawPath !== 'string') throw patchNotApplicable(`${op} operation: missing path field`);
  const out: Operation = { op: op as OpName, rawPath, path: parsePointer(rawPath) };
  if (op === 'add' || op === 'replace' || op === 'test') {
    if (!Object.hasOwn(raw, 'value'))
      throw patchNotApplicable(`${op} operation: missing value field`);
    out.value = raw['value'];
  }
  if (op === 'move' || op === 'copy') {
    const from = raw['from'];
    if (typeof from !== 'string') throw patchNotApplicable(`${op} operation: missing from field`);
    out.rawFrom = from;
    out.from = parsePointer(from);
  }
  return out;
}

/** RFC 6901: "" is the whole document, otherwise "/"-separated tokens with ~1 and ~0 escapes. */
function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/'))
    throw patchNotApplicable(
      `invalid JSON pointer ${JSON.stringify(pointer)}: must start with "/"`,
    );
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function applyOne(doc: unknown, op: Operation): unknown {
  switch (op.op) {
    case 'add':
      return add(doc, op.path, clone(op.value), op);
    case 'remove':
      return remove(doc, op.path, op).doc;
    case 'replace':
      get(doc, op.path, op); // must exist
      return add(remove(doc, op.path, op).doc, op.path, clone(op.value), op);
    case 'move': {
      const from = op.from ?? [];
      if (isPrefix(from, op.path) && from.length < op.path.length) {
        throw patchNotApplicable(
          `move operation: "from" ${op.rawFrom} is a prefix of "path" ${op.rawPath}`,
        );
      }
      const { doc: without, removed } = remove(doc, from, op);
      return add(without, op.path, removed, op);
    }
    case 'copy':
      return add(doc, op.path, clone(get(doc, op.from ?? [], op)), op);
    case 'test':
      if (!deepEqual(get(doc, op.path, op), op.value)) {
        throw patchNotApplicable(`testing value ${op.rawPath} failed: test failed`);
      }
      return doc;
  }
}

function isPrefix(prefix: string[], path: string[]): boolean {
  return prefix.length <= path.length && prefix.every((t, i) => path[i] === t);
}

function missing(op: Operation, path: string[]): never {
  const where = '/' + path.map((t) => t.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');
  throw patchNotApplicable(
    `${op.op} operation does not apply: doc is missing path: "${where}": missing value`,
  );
}

/** The value at `path`; throws when any step is missing. */
function get(doc: unknown, path: string[], op: Operation): unknown {
  let cur = doc;
  for (let i = 0; i < path.length; i++) {
    const token = path[i] ?? '';
    if (Array.isArray(cur)) {
      const idx = arrayIndex(token, cur.length - 1, op);
      cur = cur[idx];
    } else if (isRecord(cur) && Object.hasOwn(cur, token)) {
      cur = cur[token];
    } else {
      missing(op, path.slice(0, i + 1));
    }
  }
  return cur;
}

/** Parses an array index token; `max` is the largest index allowed. */
function arrayIndex(token: string, max: number, op: Operation): number {
  if (!/^(0|[1-9][0-9]*)$/.test(token))
    throw patchNotApplicable(`${op.op} operation: invalid array index ${JSON.stringify(token)}`);
  const idx = Number(token);
  if (idx > max) throw patchNotApplicable(`${op.op} operation: array index ${idx} out of bounds`);
  return idx;
}

function add(doc: unknown, path: string[], value: unknown, op: Operation): unknown {
  if (path.length === 0) return value;
  const parent = get(doc, path.slice(0, -1), op);
  const last = path[path.length - 1] ?? '';
  if (Array.isArray(parent)) {
    const idx = last === '-' ? parent.length : arrayIndex(last, parent.length, op);
    parent.splice(idx, 0, value);
  } else if (isRecord(parent)) {
    setKey(parent, last, value);
  } else {
    missing(op, path);
  }
  return doc;
}

function remove(doc: unknown, path: string[], op: Operation): { doc: unknown; removed: unknown } {
  if (path.length === 0) return { doc: null, removed: doc };
  const parent = get(doc, path.slice(0, -1), op);
  const last = path[path.length - 1] ?? '';
  if (Array.isArray(parent)) {
    const idx = arrayIndex(last, parent.length - 1, op);
    const [removed] = parent.splice(idx, 1);
    return { doc, removed };
  }
  if (isRecord(parent) && Object.hasOwn(parent, last)) {
    const removed = parent[last];
    delete parent[last];
    return { doc, removed };
  }
  return missing(op, path);
}
