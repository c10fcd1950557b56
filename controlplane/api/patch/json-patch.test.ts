import { describe, expect, it } from 'vitest';
import { ApiError } from '../status.js';
import { applyJsonPatch } from './json-patch.js';

const doc = () => ({
  spec: { replicas: 1, list: ['a', 'b'] },
  metadata: { name: 'web', labels: { 'a/b': 'x', 'c~d': 'y' } },
});

describe('applyJsonPatch (RFC 6902)', () => {
  const cases: { name: string; ops: unknown[]; want: unknown }[] = [
    {
      name: 'add a field',
      ops: [{ op: 'add', path: '/spec/paused', value: true }],
      want: { ...doc(), spec: { ...doc().spec, paused: true } },
    },
    {
      name: 'add replaces an existing field',
      ops: [{ op: 'add', path: '/spec/replicas', value: 3 }],
      want: { ...doc(), spec: { ...doc().spec, replicas: 3 } },
    },
    {
      name: 'add inserts into a list',
      ops: [{ op: 'add', path: '/spec/list/1', value: 'z' }],
      want: { ...doc(), spec: { replicas: 1, list: ['a', 'z', 'b'] } },
    },
    {
      name: 'add appends with -',
      ops: [{ op: 'add', path: '/spec/list/-', value: 'z' }],
      want: { ...doc(), spec: { replicas: 1, list: ['a', 'b', 'z'] } },
    },
    {
      name: 'remove a field',
      ops: [{ op: 'remove', path: '/spec/replicas' }],
      want: { ...doc(), spec: { list: ['a', 'b'] } },
    },
    {
      name: 'remove a list item',
      ops: [{ op: 'remove', path: '/spec/list/0' }],
      want: { ...doc(), spec: { replicas: 1, list: ['b'] } },
    },
    {
      name: 'replace',
      ops: [{ op: 'replace', path: '/spec/replicas', value: 5 }],
      want: { ...doc(), spec: { ...doc().spec, replicas: 5 } },
    },
    {
      name: 'escaped pointer tokens ~1 and ~0',
      ops: [
        { op: 'replace', path: '/metadata/labels/a~1b', value: 'X' },
        { op: 'remove', path: '/metadata/labels/c~0d' },
      ],
      want: { ...doc(), metadata: { name: 'web', labels: { 'a/b': 'X' } } },
    },
    {
      name: 'move',
      ops: [{ op: 'move', from: '/spec/replicas', path: '/spec/count' }],
      want: { ...doc(), spec: { list: ['a', 'b'], count: 1 } },
    },
    {
      name: 'copy',
      ops: [{ op: 'copy', from: '/spec/list/0', path: '/spec/first' }],
      want: { ...doc(), spec: { ...doc().spec, first: 'a' } },
    },
    {
      name: 'test passes, then replace',
      ops: [
        { op: 'test', path: '/spec/replicas', value: 1 },
        { op: 'replace', path: '/spec/replicas', value: 2 },
      ],
      want: { ...doc(), spec: { ...doc().spec, replicas: 2 } },
    },
    {
      name: 'replace the whole document',
      ops: [{ op: 'replace', path: '', value: { a: 1 } }],
      want: { a: 1 },
    },
    { name: 'no operations', ops: [], want: doc() },
  ];
  it.each(cases)('$name', ({ ops, want }) => {
    expect(applyJsonPatch(doc(), ops)).toEqual(want);
  });

  const errors: { name: string; ops: unknown; reason: string; message: RegExp }[] = [
    {
      name: 'body is not a list',
      ops: { op: 'add' },
      reason: 'BadRequest',
      message: /cannot unmarshal/,
    },
    {
      name: 'operation is not an object',
      ops: ['add'],
      reason: 'BadRequest',
      message: /cannot unmarshal/,
    },
    {
      name: 'unknown op',
      ops: [{ op: 'frobnicate', path: '/a' }],
      reason: 'Invalid',
      message: /Unexpected kind: frobnicate/,
    },
    { name: 'missing path', ops: [{ op: 'remove' }], reason: 'Invalid', message: /missing path/ },
    {
      name: 'missing value',
      ops: [{ op: 'add', path: '/a' }],
      reason: 'Invalid',
      message: /missing value field/,
    },
    {
      name: 'missing from',
      ops: [{ op: 'move', path: '/a' }],
      reason: 'Invalid',
      message: /missing from/,
    },
    {
      name: 'pointer without leading slash',
      ops: [{ op: 'remove', path: 'spec' }],
      reason: 'Invalid',
      message: /must start with/,
    },
    {
      name: 'test fails',
      ops: [{ op: 'test', path: '/spec/replicas', value: 2 }],
      reason: 'Invalid',
      message: /testing value \/spec\/replicas failed/,
    },
    {
      name: 'remove a missing field',
      ops: [{ op: 'remove', path: '/spec/nope' }],
      reason: 'Invalid',
      message: /doc is missing path: "\/spec\/nope"/,
    },
    {
      name: 'replace a missing field',
      ops: [{ op: 'replace', path: '/spec/nope', value: 1 }],
      reason: 'Invalid',
      message: /doc is missing path/,
    },
    {
      name: 'add under a missing parent',
      ops: [{ op: 'add', path: '/status/phase', value: 'x' }],
      reason: 'Invalid',
      message: /doc is missing path: "\/status"/,
    },
    {
      name: 'index out of bounds',
      ops: [{ op: 'add', path: '/spec/list/5', value: 'x' }],
      reason: 'Invalid',
      message: /out of bounds/,
    },
    {
      name: 'index with a leading zero',
      ops: [{ op: 'remove', path: '/spec/list/01' }],
      reason: 'Invalid',
      message: /invalid array index/,
    },
    {
      name: 'move into its own child',
      ops: [{ op: 'move', from: '/spec', path: '/spec/x' }],
      reason: 'Invalid',
      message: /prefix/,
    },
  ];
  it.each(errors)('error: $name', ({ ops, reason, message }) => {
    const target = doc();
    let caught: unknown;
    try {
      applyJsonPatch(target, ops);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(ApiError);
    expect((caught as ApiError).reason).toBe(reason);
    expect((caught as ApiError).code).toBe(reason === 'BadRequest' ? 400 : 422);
    expect((caught as ApiError).message).toMatch(message);
    expect(target).toEqual(doc());
  });

  it('applies all or nothing: a failing later op leaves the target untouched', () => {
    const target = doc();
    expect(() =>
      applyJsonPatch(target, [
        { op: 'replace', path: '/spec/replicas', value: 9 },
        { op: 'test', path: '/spec/replicas', value: 1 },
      ]),
    ).toThrow(ApiError);
    expect(target.spec.replicas).toBe(1);
  });
});
