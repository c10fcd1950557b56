import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../controlplane/api/objects.js';
import { expand, resolveEnv, type EnvContext } from './env.js';
import type { Container, EnvFromSource, EnvVar } from './types.js';

const b64 = (s: string): string => Buffer.from(s).toString('base64');

const pod: KubeObject = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name: 'web-1',
    namespace: 'shop',
    uid: 'uid-1',
    labels: { app: 'web', tier: 'front' },
    annotations: { note: 'a "quoted" value' },
  },
  spec: {
    nodeName: 'node-a',
    serviceAccountName: 'builder',
    containers: [
      {
        name: 'web',
        resources: {
          limits: { cpu: '250m', memory: '64Mi' },
          requests: { cpu: '100m', memory: '32Mi' },
        },
      },
      { name: 'other', resources: { limits: { cpu: '2' } } },
    ],
  },
};

const ctx: EnvContext = {
  pod,
  configMaps: new Map<string, KubeObject>([
    [
      'cfg',
      {
        metadata: { name: 'cfg' },
        data: { MODE: 'prod', LEVEL: 'debug', 'bad key': 'x', '1NUM': 'y' },
      },
    ],
    ['more', { metadata: { name: 'more' }, data: { MODE: 'staging' } }],
  ]),
  secrets: new Map<string, KubeObject>([
    ['creds', { metadata: { name: 'creds' }, data: { user: b64('admin'), pass: b64('s3cr3t') } }],
  ]),
  nodeName: 'node-a',
  podIP: '10.1.0.7',
  hostIP: '192.168.5.5',
  nodeAllocatable: { cpu: '4', memory: '8Gi' },
};

function container(env: EnvVar[], envFrom: EnvFromSource[] = []): Container {
  const base = (pod['spec'] as { containers: Container[] }).containers[0];
  return { ...base, name: 'web', env, envFrom };
}

function envOf(c: Container): Record<string, string> {
  const r = resolveEnv(c, ctx);
  if ('error' in r) throw new Error(r.error);
  return Object.fromEntries(r.env.map((e) => [e.name, e.value]));
}

describe('expand', () => {
  const vars: Record<string, string> = { A: 'a', B: 'b' };
  const lookup = (n: string): string | undefined => vars[n];
  it.each([
    ['$(A)-$(B)', 'a-b'],
    ['$$(A)', '$(A)'],
    ['$$$(A)', '$a'],
    ['$(UNKNOWN)', '$(UNKNOWN)'],
    ['$(A', '$(A'],
    ['cost: $5', 'cost: $5'],
    ['trailing $', 'trailing $'],
    ['$()', '$()'],
    ['no refs', 'no refs'],
  ])('%s → %s', (input, want) => {
    expect(expand(input, lookup)).toBe(want);
  });
});

describe('resolveEnv', () => {
  it.each<[string, EnvVar[], Record<string, string>]>([
    ['plain value', [{ name: 'A', value: 'x' }], { A: 'x' }],
    ['empty value', [{ name: 'A' }], { A: '' }],
    [
      'expansion of earlier vars only',
      [
        { name: 'A', value: 'x' },
        { name: 'B', value: '$(A)-$(C)' },
        { name: 'C', value: 'late' },
      ],
      { A: 'x', B: 'x-$(C)', C: 'late' },
    ],
    ['escaped reference', [{ name: 'A', value: '$$(HOME)' }], { A: '$(HOME)' }],
    [
      'configMapKeyRef',
      [{ name: 'M', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'MODE' } } }],
      { M: 'prod' },
    ],
    [
      'secretKeyRef decodes base64',
      [{ name: 'P', valueFrom: { secretKeyRef: { name: 'creds', key: 'pass' } } }],
      { P: 's3cr3t' },
    ],
    [
      'optional missing sources are skipped',
      [
        { name: 'X', valueFrom: { configMapKeyRef: { name: 'nope', key: 'k', optional: true } } },
        { name: 'Y', valueFrom: { secretKeyRef: { name: 'creds', key: 'nokey', optional: true } } },
      ],
      {},
    ],
    [
      'fieldRef',
      [
        { name: 'N', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        { name: 'NS', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
        { name: 'UID', valueFrom: { fieldRef: { fieldPath: 'metadata.uid' } } },
        { name: 'APP', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
        { name: 'NOTE', valueFrom: { fieldRef: { fieldPath: "metadata.annotations['note']" } } },
        { name: 'LABELS', valueFrom: { fieldRef: { fieldPath: 'metadata.labels' } } },
        { name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
        { name: 'SA', valueFrom: { fieldRef: { fieldPath: 'spec.serviceAccountName' } } },
        { name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
        { name: 'HOST', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } },
      ],
      {
        N: 'web-1',
        NS: 'shop',
        UID: 'uid-1',
        APP: 'web',
        NOTE: 'a "quoted" value',
        LABELS: 'app="web"\ntier="front"',
        NODE: 'node-a',
        SA: 'builder',
        IP: '10.1.0.7',
        HOST: '192.168.5.5',
      },
    ],
    [
      'resourceFieldRef rounds up and divides',
      [
        { name: 'CPU', valueFrom: { resourceFieldRef: { resource: 'limits.cpu' } } },
        {
          name: 'CPU_M',
          valueFrom: { resourceFieldRef: { resource: 'limits.cpu', divisor: '1m' } },
        },
        { name: 'MEM', valueFrom: { resourceFieldRef: { resource: 'limits.memory' } } },
        {
          name: 'MEM_MI',
          valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } },
        },
        {
          name: 'REQ_CPU_M',
          valueFrom: { resourceFieldRef: { resource: 'requests.cpu', divisor: '1m' } },
        },
        {
          name: 'REQ_MEM_K',
          valueFrom: { resourceFieldRef: { resource: 'requests.memory', divisor: '1k' } },
        },
        {
          name: 'OTHER',
          valueFrom: { resourceFieldRef: { containerName: 'other', resource: 'limits.cpu' } },
        },
        {
          name: 'ALLOC',
          valueFrom: {
            resourceFieldRef: { containerName: 'other', resource: 'limits.memory', divisor: '1Gi' },
          },
        },
      ],
      {
        CPU: '1',
        CPU_M: '250',
        MEM: String(64 * 1024 * 1024),
        MEM_MI: '64',
        REQ_CPU_M: '100',
        REQ_MEM_K: String(Math.ceil((32 * 1024 * 1024) / 1000)),
        OTHER: '2',
        ALLOC: '8',
      },
    ],
  ])('%s', (_name, env, want) => {
    expect(envOf(container(env))).toEqual(want);
  });

  it('applies envFrom first, later sources and env win, prefixes apply, invalid names are skipped with a warning', () => {
    const r = resolveEnv(
      container(
        [
          { name: 'LEVEL', value: 'info' },
          { name: 'SHOW', value: '$(MODE)/$(S_user)' },
        ],
        [
          { configMapRef: { name: 'cfg' } },
          { configMapRef: { name: 'more' } },
          { secretRef: { name: 'creds' }, prefix: 'S_' },
        ],
      ),
      ctx,
    );
    if ('error' in r) throw new Error(r.error);
    expect(r.env).toEqual([
      { name: 'MODE', value: 'staging' },
      { name: 'LEVEL', value: 'info' },
      { name: 'S_user', value: 'admin' },
      { name: 'S_pass', value: 's3cr3t' },
      { name: 'SHOW', value: 'staging/admin' },
    ]);
    expect(r.warnings).toEqual([
      'Keys [1NUM, bad key] from the EnvFrom configMap shop/cfg were skipped since they are considered invalid environment variable names.',
    ]);
  });

  it.each<[string, Container, string]>([
    [
      'missing configmap',
      container([{ name: 'X', valueFrom: { configMapKeyRef: { name: 'x', key: 'k' } } }]),
      'configmap "x" not found',
    ],
    [
      'missing secret',
      container([{ name: 'X', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }]),
      'secret "s" not found',
    ],
    [
      'missing configmap key',
      container([{ name: 'X', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'k' } } }]),
      "couldn't find key k in ConfigMap shop/cfg",
    ],
    [
      'missing secret key',
      container([{ name: 'X', valueFrom: { secretKeyRef: { name: 'creds', key: 'k' } } }]),
      "couldn't find key k in Secret shop/creds",
    ],
    [
      'missing envFrom configmap',
      container([], [{ configMapRef: { name: 'gone' } }]),
      'configmap "gone" not found',
    ],
    [
      'missing envFrom secret',
      container([], [{ secretRef: { name: 'gone' } }]),
      'secret "gone" not found',
    ],
  ])('fails on a %s', (_name, c, error) => {
    expect(resolveEnv(c, ctx)).toEqual({ error });
  });

  it('tolerates optional envFrom sources that are missing', () => {
    expect(
      envOf(
        container(
          [],
          [
            { configMapRef: { name: 'gone', optional: true } },
            { secretRef: { name: 'gone', optional: true } },
          ],
        ),
      ),
    ).toEqual({});
  });
});
