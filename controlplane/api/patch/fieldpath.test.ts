import { describe, expect, it } from 'vitest';
import { FieldSet, decodeFieldsV1, fromFieldsV1, toFieldsV1 } from './fieldpath.js';
import type { Path } from './fieldpath.js';

// The tree-backed FieldSet against the plainest set of paths there is: one
// string per path.
const key = (p: Path): string => JSON.stringify(p);
const naive = (paths: readonly Path[]): Set<string> => new Set(paths.map(key));
const members = (s: FieldSet): string[] => s.paths().map(key).sort();
const sorted = (s: Set<string>): string[] => [...s].sort();

const A: Path[] = [
  ['f:metadata', 'f:labels'],
  ['f:metadata', 'f:labels', 'f:app'],
  ['f:metadata', 'f:name'],
  ['f:spec', 'f:containers', 'k:{"name":"web"}'],
  ['f:spec', 'f:containers', 'k:{"name":"web"}', 'f:image'],
  ['f:spec', 'f:replicas'],
  ['f:status'],
];
const B: Path[] = [
  ['f:metadata', 'f:labels', 'f:app'],
  ['f:metadata', 'f:labels', 'f:tier'],
  ['f:spec', 'f:containers', 'k:{"name":"web"}', 'f:image'],
  ['f:spec', 'f:containers', 'k:{"name":"db"}'],
  ['f:status', 'f:phase'],
];
const SETS: Record<string, Path[]> = {
  empty: [],
  root: [[]],
  a: A,
  b: B,
  'a and root': [...A, []],
  'one deep path': [
    ['f:spec', 'f:template', 'f:spec', 'f:containers', 'k:{"name":"x"}', 'f:image'],
  ],
};

describe('FieldSet', () => {
  const pairs = Object.entries(SETS).flatMap(([x, px]) =>
    Object.entries(SETS).map(([y, py]) => [x, px, y, py] as const),
  );

  it.each(pairs)('%s with %s: union, difference, intersection as plain sets', (_x, px, _y, py) => {
    const sx = new FieldSet(px);
    const sy = new FieldSet(py);
    const nx = naive(px);
    const ny = naive(py);
    const union = sx.union(sy);
    expect(members(union)).toEqual(sorted(new Set([...nx, ...ny])));
    expect(union.size).toBe(new Set([...nx, ...ny]).size);
    const difference = sx.difference(sy);
    expect(members(difference)).toEqual([...nx].filter((k) => !ny.has(k)).sort());
    expect(difference.size).toBe([...nx].filter((k) => !ny.has(k)).length);
    const intersection = sx.intersection(sy);
    expect(members(intersection)).toEqual([...nx].filter((k) => ny.has(k)).sort());
    expect(intersection.size).toBe([...nx].filter((k) => ny.has(k)).length);
    // The operands are not changed.
    expect(members(sx)).toEqual(sorted(nx));
    expect(members(sy)).toEqual(sorted(ny));
  });

  it.each(Object.entries(SETS))('%s: has, size, coversOrContainsBelow, topLevel', (_n, paths) => {
    const s = new FieldSet(paths);
    const probes: Path[] = [...A, ...B, [], ['f:metadata'], ['f:spec', 'f:containers'], ['f:x']];
    for (const p of probes) {
      expect(s.has(p)).toBe(naive(paths).has(key(p)));
      expect(s.coversOrContainsBelow(p)).toBe(
        paths.some((q) => q.length >= p.length && p.every((e, i) => q[i] === e)),
      );
    }
    expect(s.size).toBe(naive(paths).size);
    expect(s.topLevel().sort()).toEqual(
      [...new Set(paths.filter((p) => p.length > 0).map((p) => p[0]))].sort(),
    );
  });

  it.each(Object.entries(SETS))(
    '%s: without removes exactly the paths under a prefix',
    (_n, paths) => {
      const prefixes: Path[][] = [
        [],
        [['f:metadata', 'f:labels']],
        [['f:status'], ['f:metadata', 'f:name']],
        [['f:spec', 'f:containers', 'k:{"name":"web"}', 'f:image']],
        [[]],
      ];
      for (const pre of prefixes) {
        const kept = paths.filter(
          (p) => !pre.some((q) => q.length <= p.length && q.every((e, i) => p[i] === e)),
        );
        const s = new FieldSet(paths).without(pre);
        expect(members(s)).toEqual(sorted(naive(kept)));
        expect(s.size).toBe(naive(kept).size);
        // Pruned: what is left covers only what it holds.
        for (const p of [['f:metadata'], ['f:spec'], ['f:status']] as Path[])
          expect(s.coversOrContainsBelow(p)).toBe(kept.some((q) => q[0] === p[0]));
      }
    },
  );

  it('returns an operand when the result equals it', () => {
    const a = new FieldSet(A);
    const none = new FieldSet([['f:data']]);
    expect(a.difference(none)).toBe(a);
    expect(a.union(new FieldSet())).toBe(a);
    expect(new FieldSet().union(a)).toBe(a);
  });
});

describe('FieldsV1', () => {
  it.each(Object.entries(SETS))(
    '%s encodes and decodes to the same set, canonically',
    (_n, paths) => {
      const s = new FieldSet(paths);
      const encoded = toFieldsV1(s);
      const decoded = decodeFieldsV1(JSON.parse(JSON.stringify(encoded)));
      // The root alone has no encoding of its own (`{}` is the empty set).
      const expected = paths.length === 1 && paths[0]?.length === 0 ? [] : members(s);
      expect(members(decoded.set)).toEqual(expected);
      expect(decoded.canonical).toBe(true);
    },
  );

  // Whatever the stored form, `canonical` says whether encoding the set again
  // gives the same JSON: only then may a write keep the stored object.
  const STORED: [string, Record<string, unknown>][] = [
    ['sorted', { 'f:a': {}, 'f:b': { '.': {}, 'f:c': {} } }],
    ['unsorted fields', { 'f:b': {}, 'f:a': {} }],
    ['unsorted below', { 'f:a': { 'f:z': {}, 'f:y': {} } }],
    ['"." after a field', { 'f:a': { 'f:c': {}, '.': {} } }],
    ['"." alone', { 'f:a': { '.': {} } }],
    ['"." with content', { 'f:a': { '.': { 'f:x': {} }, 'f:c': {} } }],
    ['"." at the root', { '.': {}, 'f:a': {} }],
    ['"." alone at the root', { '.': {} }],
    ['empty', {}],
    [
      'keys of every kind',
      { 'f:a': { 'i:0': {}, 'k:{"name":"x"}': { '.': {}, 'f:n': {} }, 'v:"s"': {} } },
    ],
    ['a kind before another', { 'k:{"a":1}': {}, 'f:z': {} }],
  ];

  it.each(STORED)('%s: canonical exactly when toFieldsV1 writes the same', (_n, stored) => {
    const { set, canonical } = decodeFieldsV1(stored);
    expect(members(set)).toEqual(members(fromFieldsV1(stored)));
    expect(canonical).toBe(JSON.stringify(toFieldsV1(set)) === JSON.stringify(stored));
  });

  it('rejects what is not FieldsV1', () => {
    expect(() => decodeFieldsV1({ 'f:a': [] })).toThrow(/not an object/);
    expect(() => decodeFieldsV1({ x: {} })).toThrow(/unknown path element/);
    expect(() => decodeFieldsV1({ 'x:a': {} })).toThrow(/unknown path element/);
  });
});
