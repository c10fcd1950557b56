// copyJson against structuredClone and sameObject against the JSON.stringify
// comparison it replaced, on a table of hand-picked pairs and on random ones.

import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../objects.js';
import { copyJson, sameObject } from './json-value.js';

/** The registry's no-op test before json-value.ts, verbatim. */
function oldSameObject(a: KubeObject, b: KubeObject): boolean {
  const canonical = (o: KubeObject): string => {
    const { resourceVersion: _rv, managedFields, ...meta } = o.metadata;
    const owners = managedFields?.map(({ time: _t, ...entry }) => entry);
    return JSON.stringify({ ...o, metadata: { ...meta, owners } });
  };
  return canonical(a) === canonical(b);
}

const pod = (): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name: 'p',
    namespace: 'default',
    uid: 'u1',
    resourceVersion: '10',
    labels: { app: 'a' },
    managedFields: [
      {
        manager: 'kubectl',
        operation: 'Update',
        apiVersion: 'v1',
        time: '2026-01-01T00:00:00Z',
        fieldsType: 'FieldsV1',
        fieldsV1: { 'f:spec': {} },
      },
    ],
  },
  spec: { containers: [{ name: 'c', image: 'i', ports: [{ containerPort: 80 }] }] },
  status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] },
});

type Change = (o: KubeObject) => void;

/** Each row changes a copy of pod(); the expectation is what the old test said. */
const table: [string, Change, boolean][] = [
  ['nothing', () => undefined, true],
  ['resourceVersion', (o) => (o.metadata.resourceVersion = '11'), true],
  ['resourceVersion removed', (o) => delete o.metadata.resourceVersion, true],
  [
    'managedFields time',
    (o) => (o.metadata.managedFields![0]!.time = '2027-01-01T00:00:00Z'),
    true,
  ],
  ['managedFields time removed', (o) => delete o.metadata.managedFields![0]!.time, true],
  ['managedFields manager', (o) => (o.metadata.managedFields![0]!.manager = 'x'), false],
  ['managedFields removed', (o) => delete o.metadata.managedFields, false],
  ['managedFields emptied', (o) => (o.metadata.managedFields = []), false],
  ['managedFields null', (o) => (o.metadata.managedFields = null as never), false],
  [
    'managedFields moved to the front of metadata',
    (o) => {
      const { managedFields, ...rest } = o.metadata;
      o.metadata = { managedFields, ...rest };
    },
    true,
  ],
  ['a label', (o) => (o.metadata.labels = { app: 'b' }), false],
  ['an undefined member', (o) => (o.spec = { ...(o.spec as object), extra: undefined }), true],
  ['a function member', (o) => ((o.status as Record<string, unknown>).f = () => 1), true],
  [
    'an undefined array element',
    (o) => ((o.status as Record<string, unknown>).xs = [undefined]),
    false,
  ],
  [
    'key order',
    (o) => {
      const { status, spec, ...rest } = o;
      Object.assign(o, rest);
      delete o.spec;
      delete o.status;
      o.status = status;
      o.spec = spec;
    },
    false,
  ],
  ['a number for a string', (o) => ((o.status as Record<string, unknown>).phase = 1), false],
  ['NaN', (o) => ((o.status as Record<string, unknown>).n = NaN), false],
  ['-0', (o) => ((o.status as Record<string, unknown>).conditions = -0), false],
  ['an array for an object', (o) => (o.spec = []), false],
  ['an empty object for an empty array', (o) => (o.status = {}), false],
  ['a Date', (o) => ((o.status as Record<string, unknown>).d = new Date(0)), false],
  ['null for a member', (o) => (o.status = null), false],
  ['a member added', (o) => (o.extra = 1), false],
  ['a member removed', (o) => delete o.status, false],
  [
    'a deeper change',
    (o) => {
      const spec = o.spec as { containers: { ports: { containerPort: number }[] }[] };
      spec.containers[0]!.ports[0]!.containerPort = 81;
    },
    false,
  ],
];

describe('sameObject', () => {
  it.each(table)('agrees with the old comparison: %s', (_name, change, expected) => {
    const a = pod();
    const b = pod();
    change(b);
    expect(oldSameObject(a, b)).toBe(expected);
    expect(sameObject(a, b)).toBe(expected);
    expect(sameObject(b, a)).toBe(expected);
  });

  it('agrees on values JSON writes alike: NaN and null, a Date and its string, undefined and null in arrays', () => {
    const pairs: [unknown, unknown][] = [
      [NaN, null],
      [Infinity, -Infinity],
      [0, -0],
      [new Date(0), new Date(0).toISOString()],
      [[undefined], [null]],
      [[() => 1], [null]],
      [{ a: undefined, b: 1 }, { b: 1 }],
      [new String('x'), 'x'],
      [{ toJSON: () => 'x' }, 'x'],
      [{ toJSON: () => [1] }, [1]],
      [
        { toJSON: () => ({ a: 1 }), x: 1 },
        { y: 2, toJSON: () => ({ a: 1 }) },
      ],
    ];
    for (const [x, y] of pairs) {
      const a = { ...pod(), status: { v: x } };
      const b = { ...pod(), status: { v: y } };
      expect(oldSameObject(a, b)).toBe(true);
      expect(sameObject(a, b)).toBe(true);
      expect(sameObject(b, a)).toBe(true);
    }
  });

  it('throws where the old comparison threw, once it gets there', () => {
    const a = { ...pod(), status: { v: 1n } };
    const b = { ...pod(), status: { v: 1n } };
    expect(() => oldSameObject(a, b)).toThrow();
    expect(() => sameObject(a, b)).toThrow();
  });

  it('agrees with the old comparison on random objects and random changes', () => {
    let seed = 42;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const leaves = [0, 1, -1, 0.5, NaN, '', 'a', 'b', true, false, null, undefined];
    const value = (depth: number): unknown => {
      const k = depth > 3 ? 0 : rand(4);
      if (k === 0 || k === 1) return leaves[rand(leaves.length)];
      if (k === 2) return Array.from({ length: rand(3) }, () => value(depth + 1));
      const o: Record<string, unknown> = {};
      for (let i = rand(4); i > 0; i--)
        o[['a', 'b', 'c', 'time', 'd'][rand(5)]!] = value(depth + 1);
      return o;
    };
    const object = (): KubeObject => {
      const metadata: Record<string, unknown> = {};
      for (const key of ['name', 'resourceVersion', 'managedFields', 'labels']) {
        if (rand(3) === 0) continue;
        metadata[key] =
          key === 'managedFields'
            ? Array.from({ length: rand(3) }, () => ({
                manager: ['m', 'n'][rand(2)],
                time: String(rand(3)),
                ...(rand(2) ? { fieldsV1: value(2) } : {}),
              }))
            : value(2);
      }
      return { metadata, spec: value(1), ...(rand(2) ? { status: value(1) } : {}) };
    };
    /** A copy with at most one small change, so that equal pairs are common. */
    const mutate = (o: unknown, depth: number): unknown => {
      if (typeof o !== 'object' || o === null) return rand(4) === 0 ? value(depth) : o;
      if (Array.isArray(o)) return o.map((x) => mutate(x, depth + 1));
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(o)) out[k] = rand(8) === 0 ? value(depth) : v;
      return rand(10) === 0 ? { ...out, z: 1 } : out;
    };
    let equal = 0;
    for (let i = 0; i < 5000; i++) {
      const a = object();
      const b = rand(3) === 0 ? structuredClone(a) : (mutate(a, 0) as KubeObject);
      if (!b.metadata || typeof b.metadata !== 'object') continue;
      const expected = oldSameObject(a, b);
      if (expected) equal++;
      expect(sameObject(a, b)).toBe(expected);
    }
    expect(equal).toBeGreaterThan(500);
  });
});

describe('copyJson', () => {
  it('copies as structuredClone does, sharing nothing with the original', () => {
    const o = pod();
    const c = copyJson(o);
    expect(c).toStrictEqual(structuredClone(o));
    (c.spec as { containers: { name: string }[] }).containers[0]!.name = 'changed';
    c.metadata.labels!.app = 'changed';
    expect(o).toStrictEqual(pod());
  });

  it('keeps a parsed "__proto__" key as data', () => {
    const o = JSON.parse('{"metadata":{},"__proto__":{"x":1}}') as Record<string, unknown>;
    const c = copyJson(o);
    expect(Object.getPrototypeOf(c)).toBe(Object.prototype);
    expect(Object.hasOwn(c, '__proto__')).toBe(true);
    expect(JSON.stringify(c)).toBe(JSON.stringify(o));
  });

  it('hands what is not plain JSON to structuredClone', () => {
    const d = { when: new Date(5), undef: undefined, m: new Map([[1, 2]]) };
    const c = copyJson(d);
    expect(c.when).toBeInstanceOf(Date);
    expect(c.when).not.toBe(d.when);
    expect(c).toStrictEqual(structuredClone(d));
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    const cc = copyJson(cyclic);
    expect(cc.self).toBe(cc);
    expect(() => copyJson({ f: () => 1 })).toThrow();
  });
});
