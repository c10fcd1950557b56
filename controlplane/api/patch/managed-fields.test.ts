import { describe, expect, it } from 'vitest';
import type { KubeObject, ManagedFieldsEntry } from '../objects.js';
import { updateManagedFields } from './apply.js';
import { fromFieldsV1, prefixTree, toFieldsV1 } from './fieldpath.js';
import type { Path } from './fieldpath.js';
import { schemaFor } from './schema.js';
import { compare, encodeFields } from './typed.js';

// The shortcuts of an Update's bookkeeping against the long way round: a
// diff that skips ignored subtrees and shared values against one over
// unshared copies filtered afterwards, and managedFields that keep stored
// fieldsV1 against the same write over stored fieldsV1 it must decode and
// encode again.

const T = (s: number): string => `2025-01-01T00:00:${String(s).padStart(2, '0')}Z`;

function pod(): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'web-x1',
      namespace: 'default',
      uid: 'u-1',
      creationTimestamp: T(0),
      generateName: 'web-',
      labels: { app: 'web', rs: '0' },
      ownerReferences: [
        { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web', uid: 'rs-1', controller: true },
      ],
    },
    spec: {
      containers: [
        {
          name: 'web',
          image: 'nginx:1',
          ports: [{ containerPort: 80 }],
          env: [{ name: 'A', value: '1' }],
          resources: { requests: { cpu: '10m' } },
        },
        { name: 'side', image: 'busybox' },
      ],
      restartPolicy: 'Always',
      tolerations: [{ key: 'k' }],
    },
    status: { phase: 'Pending', qosClass: 'Burstable' },
  };
}

type Change = (o: KubeObject) => KubeObject;
const spec = (o: KubeObject): Record<string, unknown> => o.spec as Record<string, unknown>;
const status = (o: KubeObject): Record<string, unknown> =>
  (o.status ?? {}) as Record<string, unknown>;
const containers = (o: KubeObject): Record<string, unknown>[] =>
  spec(o)['containers'] as Record<string, unknown>[];

const bind: Change = (o) => ({
  ...o,
  spec: { ...spec(o), nodeName: 'node-1' },
  status: { ...status(o), conditions: [{ type: 'PodScheduled', status: 'True' }] },
});
const running: Change = (o) => ({
  ...o,
  status: {
    phase: 'Running',
    conditions: [
      { type: 'Ready', status: 'True' },
      { type: 'PodScheduled', status: 'True' },
    ],
    podIP: '10.0.0.1',
    podIPs: [{ ip: '10.0.0.1' }],
    containerStatuses: [{ name: 'web', ready: true, restartCount: 0 }],
  },
});
const restarted: Change = (o) => ({
  ...o,
  status: { ...status(o), containerStatuses: [{ name: 'web', ready: true, restartCount: 1 }] },
});
const relabel: Change = (o) => ({
  ...o,
  metadata: { ...o.metadata, labels: { app: 'web', tier: 'front' } },
});
const unlabel: Change = (o) => {
  const { labels: _l, ...metadata } = o.metadata;
  return { ...o, metadata };
};
const reorder: Change = (o) => ({
  ...o,
  spec: { ...spec(o), containers: [...containers(o)].reverse() },
});
const dropContainer: Change = (o) => ({
  ...o,
  spec: { ...spec(o), containers: containers(o).slice(1) },
});
const newImage: Change = (o) => ({
  ...o,
  spec: { ...spec(o), containers: containers(o).map((c) => ({ ...c, image: 'nginx:2' })) },
});
const dropEnv: Change = (o) => ({
  ...o,
  spec: {
    ...spec(o),
    containers: containers(o).map(({ env: _e, ...c }) => c),
  },
});
const dropCondition: Change = (o) => ({
  ...o,
  status: { ...status(o), conditions: [{ type: 'PodScheduled', status: 'True' }] },
});
const finalize: Change = (o) => ({ ...o, metadata: { ...o.metadata, finalizers: ['a', 'b'] } });
const shapeChange: Change = (o) => ({ ...o, spec: { ...spec(o), tolerations: { key: 'k' } } });
const same: Change = (o) => ({ ...o, metadata: { ...o.metadata } });

interface Write {
  change: Change;
  manager: string;
  subresource?: 'status';
}
const create: Write = { change: same, manager: 'replicaset-controller' };
const scheduler: Write = { change: bind, manager: 'shoal-scheduler' };
const agent = (change: Change): Write => ({
  change,
  manager: 'shoal-agent',
  subresource: 'status',
});
const user = (change: Change): Write => ({ change, manager: 'kubectl' });

const SEQUENCES: [string, Write[]][] = [
  ['create, bind, status, status again', [create, scheduler, agent(running), agent(restarted)]],
  ['status that changes nothing', [create, agent(running), agent(running), agent(same)]],
  ['label changes and removal', [create, user(relabel), user(unlabel), user(relabel)]],
  ['list reordering and removal', [create, user(reorder), user(dropContainer), user(reorder)]],
  ['fields moving between managers', [create, user(newImage), create, user(dropEnv)]],
  ['status items removed', [create, scheduler, agent(running), agent(dropCondition)]],
  ['set and shape changes', [create, user(finalize), user(shapeChange), scheduler]],
  ['the owner updates again', [create, create, user(same), agent(running), create]],
];

/** The pod after each write, the fast way or the slow way. */
function run(writes: Write[], slow: boolean): KubeObject[] {
  const out: KubeObject[] = [];
  let old: KubeObject | undefined;
  writes.forEach((w, i) => {
    const base = old ?? pod();
    let updated = w.change(base);
    let stored = old;
    if (slow) {
      // Nothing shared with the stored object, and stored fieldsV1 that must
      // be decoded and encoded again (keys in reverse: not what toFieldsV1 writes).
      updated = structuredClone(updated);
      if (stored) {
        stored = structuredClone(stored);
        stored.metadata.managedFields = stored.metadata.managedFields?.map(reversed);
        updated.metadata.managedFields = stored.metadata.managedFields;
      }
    }
    const result = updateManagedFields({
      old: stored,
      updated,
      manager: w.manager,
      operation: 'Update',
      apiVersion: 'v1',
      now: T(i + 1),
      ...(w.subresource ? { subresource: w.subresource } : {}),
    });
    // As the store would give it back.
    old = JSON.parse(JSON.stringify(result)) as KubeObject;
    out.push(old);
  });
  return out;
}

function reversed(e: ManagedFieldsEntry): ManagedFieldsEntry {
  const flip = (v: unknown): unknown =>
    typeof v === 'object' && v !== null
      ? Object.fromEntries(
          Object.entries(v)
            .reverse()
            .map(([k, c]) => [k, flip(c)]),
        )
      : v;
  return { ...e, fieldsV1: flip(e.fieldsV1) as Record<string, unknown> };
}

/** Every fieldsV1 as toFieldsV1 writes it. */
function canonical(o: KubeObject): string {
  const managed = o.metadata.managedFields?.map((e) => ({
    ...e,
    fieldsV1: toFieldsV1(fromFieldsV1(e.fieldsV1)),
  }));
  return JSON.stringify({ ...o, metadata: { ...o.metadata, managedFields: managed } });
}

describe('updateManagedFields shortcuts', () => {
  it.each(SEQUENCES)('%s: the same managedFields as the slow way', (_name, writes) => {
    const fast = run(writes, false);
    const slow = run(writes, true);
    for (let i = 0; i < writes.length; i++) {
      // Byte for byte: the fast way's stored fieldsV1 are already canonical.
      expect(JSON.stringify(fast[i])).toBe(canonical(fast[i]!));
      expect(JSON.stringify(fast[i])).toBe(canonical(slow[i]!));
    }
  });
});

describe('compare', () => {
  const ignored: [string, Path[]][] = [
    ['nothing', []],
    ['identity', [['f:metadata', 'f:name'], ['f:metadata', 'f:uid'], ['f:apiVersion']]],
    ['status', [['f:status'], ['f:metadata', 'f:name']]],
    ['spec', [['f:spec'], ['f:metadata', 'f:managedFields']]],
    ['a container', [['f:spec', 'f:containers', 'k:{"name":"web"}']]],
  ];
  const changes: [string, Change][] = Object.entries({
    bind,
    running,
    relabel,
    unlabel,
    reorder,
    dropContainer,
    newImage,
    dropEnv,
    finalize,
    shapeChange,
    same,
  });
  const cases = ignored.flatMap(([n, paths]) =>
    [['create', undefined] as const, ...changes].map(
      ([c, change]) => [n, paths, c, change] as const,
    ),
  );
  const keys = (s: { paths(): Path[] }): string[] =>
    s
      .paths()
      .map((p) => JSON.stringify(p))
      .sort();

  it.each(cases)('ignoring %s, %s: skipping equals filtering', (_n, paths, _c, change) => {
    const before = pod();
    const after = change ? change(before) : before;
    const schema = schemaFor('Pod');
    const fast = compare(change ? before : undefined, after, schema, prefixTree(paths));
    const slow = compare(
      change ? structuredClone(before) : undefined,
      structuredClone(after),
      schema,
    );
    expect(keys(fast.changed)).toEqual(keys(slow.changed.without(paths)));
    expect(keys(fast.removed)).toEqual(keys(slow.removed.without(paths)));
  });
});

describe('encodeFields', () => {
  // A create's fieldsV1 written straight from the object, against the set
  // compare finds and toFieldsV1 encodes, byte for byte.
  const ignored: [string, Path[]][] = [
    ['nothing', []],
    ['identity', [['f:metadata', 'f:name'], ['f:metadata', 'f:uid'], ['f:apiVersion']]],
    ['status', [['f:status'], ['f:metadata', 'f:name']]],
    ['a container', [['f:spec', 'f:containers', 'k:{"name":"web"}']]],
    ['a container field', [['f:spec', 'f:containers', 'k:{"name":"web"}', 'f:env']]],
    ['everything', [[]]],
  ];
  const odd: KubeObject = {
    ...pod(),
    spec: {
      containers: [
        { name: 'web', ports: [{ containerPort: 80 }, { containerPort: 80, protocol: 'TCP' }] },
        { name: 'web', image: 'dup' },
        { image: 'no-name' },
      ],
      tolerations: [],
      nodeSelector: {},
      volumes: [{ name: 'v', emptyDir: {} }],
      extra: { list: [1, 'a', null], empty: [], nothing: null },
    },
    metadata: { ...pod().metadata, labels: {}, finalizers: ['a', 'b', 'a'] },
  };
  const objects: [string, KubeObject][] = [
    ['pod', pod()],
    ['bound, running pod', running(bind(pod()))],
    ['odd pod', odd],
  ];
  const cases = ignored.flatMap(([n, paths]) =>
    objects.map(([o, obj]) => [n, paths, o, obj] as const),
  );

  it.each(cases)('ignoring %s, %s: the encoding of the set compare finds', (_n, paths, _o, obj) => {
    const schema = schemaFor('Pod');
    const tree = prefixTree(paths);
    const { changed } = compare(undefined, obj, schema, tree);
    const direct = encodeFields(obj, schema, tree);
    expect(JSON.stringify(direct.fieldsV1)).toBe(JSON.stringify(toFieldsV1(changed)));
    expect(direct.size).toBe(changed.size);
  });
});
