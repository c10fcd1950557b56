import { describe, expect, it } from 'vitest';
import { ApiError } from '../status.js';
import { applyStrategicMergePatch } from './strategic-merge-patch.js';

const deployment = () => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', labels: { app: 'web', tier: 'front' }, finalizers: ['a', 'b'] },
  spec: {
    replicas: 2,
    template: {
      metadata: { labels: { app: 'web' } },
      spec: {
        containers: [
          {
            name: 'web',
            image: 'nginx:1',
            command: ['nginx', '-g', 'daemon off;'],
            ports: [
              { containerPort: 80, name: 'http' },
              { containerPort: 443, name: 'https' },
            ],
            env: [
              { name: 'A', value: '1' },
              { name: 'B', value: '2' },
              { name: 'C', value: '3' },
            ],
          },
          { name: 'side', image: 'busybox' },
        ],
        tolerations: [{ key: 'k', operator: 'Exists' }],
        volumes: [{ name: 'data', emptyDir: {} }],
      },
    },
  },
});

type Obj = ReturnType<typeof deployment>;
interface Container {
  name: string;
  image: string;
  command?: string[];
  ports: { containerPort: number; name?: string }[];
  env: { name: string; value: string }[];
}
const containers = (o: unknown) => (o as Obj).spec.template.spec.containers as Container[];
const web = (o: unknown) => containers(o)[0] as Container;

interface Case {
  name: string;
  kind?: string;
  target?: unknown;
  patch: unknown;
  check: (out: unknown) => void;
}

const cases: Case[] = [
  {
    name: 'changes a container image by name, keeping the other container and fields',
    patch: { spec: { template: { spec: { containers: [{ name: 'web', image: 'nginx:2' }] } } } },
    check: (out) => {
      expect(containers(out).map((c) => [c.name, c.image])).toEqual([
        ['web', 'nginx:2'],
        ['side', 'busybox'],
      ]);
      expect(web(out).env).toHaveLength(3);
    },
  },
  {
    name: 'adds an env var by name and deletes another with $patch: delete',
    patch: {
      spec: {
        template: {
          spec: {
            containers: [
              {
                name: 'web',
                env: [
                  { name: 'D', value: '4' },
                  { name: 'B', $patch: 'delete' },
                ],
              },
            ],
          },
        },
      },
    },
    check: (out) =>
      expect(web(out).env).toEqual([
        { name: 'A', value: '1' },
        { name: 'C', value: '3' },
        { name: 'D', value: '4' },
      ]),
  },
  {
    name: 'changes an env var value in place',
    patch: {
      spec: {
        template: { spec: { containers: [{ name: 'web', env: [{ name: 'B', value: 'two' }] }] } },
      },
    },
    check: (out) => expect(web(out).env.map((e) => e.value)).toEqual(['1', 'two', '3']),
  },
  {
    name: '$setElementOrder reorders env and places a new item',
    patch: {
      spec: {
        template: {
          spec: {
            containers: [
              {
                name: 'web',
                '$setElementOrder/env': [
                  { name: 'C' },
                  { name: 'D' },
                  { name: 'A' },
                  { name: 'B' },
                ],
                env: [{ name: 'D', value: '4' }],
              },
            ],
          },
        },
      },
    },
    check: (out) => expect(web(out).env.map((e) => e.name)).toEqual(['C', 'D', 'A', 'B']),
  },
  {
    name: '$setElementOrder of containers as kubectl apply sends it',
    patch: {
      spec: {
        template: {
          spec: {
            '$setElementOrder/containers': [{ name: 'side' }, { name: 'web' }],
            containers: [{ name: 'web', image: 'nginx:3' }],
          },
        },
      },
    },
    check: (out) =>
      expect(containers(out).map((c) => `${c.name}=${c.image}`)).toEqual([
        'side=busybox',
        'web=nginx:3',
      ]),
  },
  {
    name: 'merges ports by containerPort',
    patch: {
      spec: {
        template: {
          spec: {
            containers: [
              {
                name: 'web',
                ports: [{ containerPort: 443, name: 'tls' }, { containerPort: 8080 }],
              },
            ],
          },
        },
      },
    },
    check: (out) =>
      expect(web(out).ports).toEqual([
        { containerPort: 80, name: 'http' },
        { containerPort: 443, name: 'tls' },
        { containerPort: 8080 },
      ]),
  },
  {
    name: 'replaces tolerations (no merge key)',
    patch: {
      spec: {
        template: { spec: { tolerations: [{ key: 'other', operator: 'Equal', value: 'x' }] } },
      },
    },
    check: (out) =>
      expect((out as Obj).spec.template.spec.tolerations).toEqual([
        { key: 'other', operator: 'Equal', value: 'x' },
      ]),
  },
  {
    name: 'replaces a list without a strategy (command)',
    patch: { spec: { template: { spec: { containers: [{ name: 'web', command: ['sh'] }] } } } },
    check: (out) => expect(web(out).command).toEqual(['sh']),
  },
  {
    name: 'null deletes a key, even nested',
    patch: {
      metadata: { labels: { tier: null } },
      spec: { replicas: null, template: { spec: { containers: [{ name: 'web', env: null }] } } },
    },
    check: (out) => {
      expect((out as Obj).metadata.labels).toEqual({ app: 'web' });
      expect((out as Record<string, Record<string, unknown>>)['spec']).not.toHaveProperty(
        'replicas',
      );
      expect(web(out)).not.toHaveProperty('env');
    },
  },
  {
    name: '$patch: replace on a map replaces it',
    patch: { metadata: { labels: { $patch: 'replace', only: 'this' } } },
    check: (out) => expect((out as Obj).metadata.labels).toEqual({ only: 'this' }),
  },
  {
    name: '$patch: delete on a map empties it',
    patch: { spec: { template: { metadata: { $patch: 'delete' } } } },
    check: (out) => expect((out as Obj).spec.template.metadata).toEqual({}),
  },
  {
    name: '$patch: replace as a list item replaces the whole list',
    patch: {
      spec: {
        template: { spec: { containers: [{ name: 'only', image: 'x' }, { $patch: 'replace' }] } },
      },
    },
    check: (out) => expect(containers(out)).toEqual([{ name: 'only', image: 'x' }]),
  },
  {
    name: '$retainKeys drops the volume source that is not retained',
    patch: {
      spec: {
        template: {
          spec: {
            volumes: [
              { name: 'data', $retainKeys: ['configMap', 'name'], configMap: { name: 'cm' } },
            ],
          },
        },
      },
    },
    check: (out) =>
      expect((out as Obj).spec.template.spec.volumes).toEqual([
        { name: 'data', configMap: { name: 'cm' } },
      ]),
  },
  {
    name: 'finalizers merge as a set',
    patch: { metadata: { finalizers: ['b', 'c'] } },
    check: (out) => expect((out as Obj).metadata.finalizers).toEqual(['a', 'b', 'c']),
  },
  {
    name: '$deleteFromPrimitiveList removes finalizers',
    patch: { metadata: { '$deleteFromPrimitiveList/finalizers': ['a'] } },
    check: (out) => expect((out as Obj).metadata.finalizers).toEqual(['b']),
  },
  {
    name: '$setElementOrder on a primitive list orders it',
    patch: { metadata: { '$setElementOrder/finalizers': ['b', 'a'] } },
    check: (out) => expect((out as Obj).metadata.finalizers).toEqual(['b', 'a']),
  },
  {
    name: 'new item with directives inside is cleaned of them',
    patch: {
      spec: {
        template: {
          spec: {
            containers: [
              {
                name: 'new',
                image: 'x',
                env: [
                  { name: 'X', value: '1' },
                  { name: 'Y', $patch: 'delete' },
                ],
                args: null,
              },
            ],
          },
        },
      },
    },
    check: (out) =>
      expect(containers(out)[2]).toEqual({
        name: 'new',
        image: 'x',
        env: [{ name: 'X', value: '1' }],
      }),
  },
  {
    name: 'Pod: containers sit at spec.containers',
    kind: 'Pod',
    target: {
      kind: 'Pod',
      metadata: { name: 'p' },
      spec: {
        containers: [
          { name: 'a', image: '1' },
          { name: 'b', image: '2' },
        ],
      },
    },
    patch: { spec: { containers: [{ name: 'b', image: '3' }] } },
    check: (out) =>
      expect((out as { spec: unknown }).spec).toEqual({
        containers: [
          { name: 'a', image: '1' },
          { name: 'b', image: '3' },
        ],
      }),
  },
  {
    name: 'Pod status conditions merge by type',
    kind: 'Pod',
    target: {
      metadata: { name: 'p' },
      status: {
        conditions: [
          { type: 'Ready', status: 'False' },
          { type: 'Scheduled', status: 'True' },
        ],
      },
    },
    patch: { status: { conditions: [{ type: 'Ready', status: 'True' }] } },
    check: (out) =>
      expect(out).toMatchObject({
        status: {
          conditions: [
            { type: 'Ready', status: 'True' },
            { type: 'Scheduled', status: 'True' },
          ],
        },
      }),
  },
  {
    name: 'Node addresses merge by type',
    kind: 'Node',
    target: {
      metadata: { name: 'n' },
      status: { addresses: [{ type: 'InternalIP', address: '10.0.0.1' }] },
    },
    patch: { status: { addresses: [{ type: 'Hostname', address: 'n' }] } },
    check: (out) =>
      expect(out).toMatchObject({
        status: { addresses: [{ type: 'InternalIP' }, { type: 'Hostname' }] },
      }),
  },
  {
    name: 'Service ports merge by port',
    kind: 'Service',
    target: {
      metadata: { name: 's' },
      spec: { ports: [{ port: 80, targetPort: 8080 }, { port: 443 }] },
    },
    patch: { spec: { ports: [{ port: 80, targetPort: 9090 }] } },
    check: (out) =>
      expect(out).toMatchObject({
        spec: { ports: [{ port: 80, targetPort: 9090 }, { port: 443 }] },
      }),
  },
  {
    name: 'ownerReferences merge by uid',
    kind: 'ReplicaSet',
    target: {
      metadata: {
        name: 'r',
        ownerReferences: [{ uid: '1', name: 'a', kind: 'Deployment', apiVersion: 'apps/v1' }],
      },
    },
    patch: {
      metadata: {
        ownerReferences: [{ uid: '2', name: 'b', kind: 'Deployment', apiVersion: 'apps/v1' }],
      },
    },
    check: (out) =>
      expect((out as Obj).metadata).toMatchObject({
        ownerReferences: [{ uid: '1' }, { uid: '2' }],
      }),
  },
  {
    name: 'Job: PodSpec at spec.template.spec',
    kind: 'Job',
    target: {
      metadata: { name: 'j' },
      spec: {
        template: {
          spec: { containers: [{ name: 'a', image: '1', env: [{ name: 'X', value: '1' }] }] },
        },
      },
    },
    patch: {
      spec: {
        template: { spec: { containers: [{ name: 'a', env: [{ name: 'Y', value: '2' }] }] } },
      },
    },
    check: (out) =>
      expect(out).toMatchObject({
        spec: {
          template: {
            spec: { containers: [{ name: 'a', image: '1', env: [{ name: 'X' }, { name: 'Y' }] }] },
          },
        },
      }),
  },
  {
    name: 'unknown kind: lists replace, maps merge',
    kind: 'Widget',
    target: { metadata: { name: 'w', labels: { a: '1' } }, spec: { items: [{ name: 'x' }] } },
    patch: { metadata: { labels: { b: '2' } }, spec: { items: [{ name: 'y' }] } },
    check: (out) =>
      expect(out).toEqual({
        metadata: { name: 'w', labels: { a: '1', b: '2' } },
        spec: { items: [{ name: 'y' }] },
      }),
  },
];

describe('applyStrategicMergePatch', () => {
  it.each(cases)('$name', ({ kind, target, patch, check }) => {
    const t = target ?? deployment();
    const before = structuredClone(t);
    check(applyStrategicMergePatch(t, patch, kind ?? 'Deployment'));
    expect(t).toEqual(before);
  });

  const errors: { name: string; patch: unknown; reason: string }[] = [
    { name: 'patch is not an object', patch: [1], reason: 'BadRequest' },
    {
      name: 'unknown $patch in a map',
      patch: { metadata: { $patch: 'explode' } },
      reason: 'BadRequest',
    },
    {
      name: 'list item without its merge key',
      patch: { spec: { template: { spec: { containers: [{ image: 'x' }] } } } },
      reason: 'BadRequest',
    },
    {
      name: 'delete without a merge key',
      patch: { spec: { template: { spec: { containers: [{ $patch: 'delete' }] } } } },
      reason: 'BadRequest',
    },
    {
      name: '$setElementOrder that is not a list',
      patch: { metadata: { '$setElementOrder/finalizers': 'a' } },
      reason: 'BadRequest',
    },
    { name: 'unknown directive', patch: { metadata: { $frob: 1 } }, reason: 'BadRequest' },
    {
      name: 'keys outside $retainKeys',
      patch: {
        spec: {
          template: {
            spec: { volumes: [{ name: 'data', $retainKeys: ['name'], configMap: { name: 'c' } }] },
          },
        },
      },
      reason: 'Invalid',
    },
  ];
  it.each(errors)('error: $name', ({ patch, reason }) => {
    let caught: unknown;
    try {
      applyStrategicMergePatch(deployment(), patch, 'Deployment');
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(ApiError);
    expect((caught as ApiError).reason).toBe(reason);
  });
});
