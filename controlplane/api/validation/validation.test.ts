import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../objects.js';
import { RESOURCES, type ResourceInfo } from '../resources.js';
import { invalid as invalidStatus, type FieldError } from '../status.js';
import { applyDefaults } from '../registry/defaults.js';
import { parseQuantity, validateObject, validateUpdate } from './index.js';
import { BAD_MANIFESTS } from './bad-manifests.fixture.js';
import {
  VALID_MANIFESTS,
  daemonSet,
  deployment,
  job,
  pod,
  configMap,
  secret,
  service,
  node,
} from './manifests.fixture.js';

function resource(plural: string): ResourceInfo {
  const r = RESOURCES.find((x) => x.plural === plural);
  if (!r) throw new Error(`no resource ${plural}`);
  return r;
}

const fieldsOf = (errs: FieldError[]): string[] => [...new Set(errs.map((e) => e.field))].sort();

/** What the registry validates: the object after Kubernetes' defaulting. */
function defaulted(r: ResourceInfo, obj: KubeObject): KubeObject {
  const copy = structuredClone(obj);
  applyDefaults(r.kind, copy);
  return copy;
}

describe('valid manifests', () => {
  it('cover every served kind', () => {
    const kinds = new Set(VALID_MANIFESTS.map((m) => resource(m.resource).kind));
    expect([...kinds].sort()).toEqual(RESOURCES.map((r) => r.kind).sort());
  });

  it.each(VALID_MANIFESTS)(
    '$name has no errors, as written and after defaulting',
    ({ resource: plural, obj }) => {
      const r = resource(plural);
      expect(validateObject(r, obj)).toEqual([]);
      expect(validateObject(r, defaulted(r, obj))).toEqual([]);
    },
  );
});

describe('bad manifests', () => {
  it('table has at least 45 cases with unique names', () => {
    expect(BAD_MANIFESTS.length).toBeGreaterThanOrEqual(45);
    expect(new Set(BAD_MANIFESTS.map((m) => m.name)).size).toBe(BAD_MANIFESTS.length);
  });

  it.each(BAD_MANIFESTS)('$name → $fields', ({ resource: plural, obj, fields }) => {
    const r = resource(plural);
    expect(fieldsOf(validateObject(r, obj))).toEqual(fields);
    // The same fields fail over HTTP, where defaults are applied first.
    expect(fieldsOf(validateObject(r, defaulted(r, obj)))).toEqual(fields);
  });

  it('every error has a detail that matches its type', () => {
    const prefix: Record<FieldError['type'], RegExp> = {
      FieldValueRequired: /^Required value/,
      FieldValueInvalid: /^(Invalid value|Not found)/,
      FieldValueNotSupported: /^Unsupported value: .*: supported values: /,
      FieldValueDuplicate: /^Duplicate value: /,
      FieldValueForbidden: /^Forbidden: /,
      FieldValueTooLong: /^Too long: /,
    };
    for (const m of BAD_MANIFESTS) {
      for (const e of validateObject(resource(m.resource), m.obj))
        expect(e.detail, m.name).toMatch(prefix[e.type]);
    }
  });
});

describe('messages read like Kubernetes', () => {
  const errorsOf = (plural: string, obj: KubeObject): string[] =>
    validateObject(resource(plural), obj).map((e) => `${e.field}: ${e.detail}`);

  it.each([
    [
      'pods',
      { ...pod(), metadata: { name: 'Foo_Bar' } },
      `metadata.name: Invalid value: "Foo_Bar": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
    ],
    [
      'namespaces',
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team.a' } },
      'metadata.name: Invalid value: "team.a": must not contain dots',
    ],
    [
      'services',
      { ...service(), metadata: { name: '1web' } },
      `metadata.name: Invalid value: "1web": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')`,
    ],
    [
      'configmaps',
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: {} },
      'metadata.name: Required value: name or generateName is required',
    ],
  ])('%s %#', (plural, obj, expected) => {
    expect(errorsOf(plural, obj as KubeObject)).toEqual([expected]);
  });

  it('names unsupported values with the supported ones', () => {
    const p = pod();
    const c0 = (p.spec as { containers: Record<string, unknown>[] }).containers[0]!;
    c0.imagePullPolicy = 'Sometimes';
    (c0.ports as Record<string, unknown>[])[0]!.protocol = 'HTTP';
    expect(errorsOf('pods', p)).toEqual([
      'spec.containers[0].imagePullPolicy: Unsupported value: "Sometimes": supported values: "Always", "IfNotPresent", "Never"',
      'spec.containers[0].ports[0].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"',
    ]);
  });

  it('reports a selector mismatch with the template labels as Go prints them', () => {
    const d = deployment();
    (d.spec as { selector: unknown }).selector = { matchLabels: { app: 'api' } };
    expect(errorsOf('deployments', d)).toEqual([
      'spec.template.metadata.labels: Invalid value: map[string]string{"app":"web", "tier":"frontend"}: `selector` does not match template `labels`',
    ]);
  });

  it('reports requests above limits and bad quantities', () => {
    const p = pod();
    const res = (p.spec as { containers: { resources: { requests: Rec; limits: Rec } }[] })
      .containers[0]!.resources;
    res.requests.cpu = '2';
    res.limits.memory = '1K';
    expect(errorsOf('pods', p)).toEqual([
      `spec.containers[0].resources.limits[memory]: Invalid value: "1K": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'`,
      'spec.containers[0].resources.requests[cpu]: Invalid value: "2": must be less than or equal to cpu limit of 500m',
    ]);
  });

  it('gives the registry what it needs for a 422 Status naming every field', () => {
    const d = deployment();
    delete (d.spec as Rec).selector;
    const err = invalidStatus(
      'Deployment',
      'apps',
      'web',
      validateObject(resource('deployments'), d),
    );
    expect(err.code).toBe(422);
    expect(err.message).toBe(
      'Deployment "web" is invalid: [spec.selector: Required value, spec.template.metadata.labels: Invalid value: map[string]string{"app":"web", "tier":"frontend"}: `selector` does not match template `labels`]',
    );
    expect(err.details?.causes?.map((c) => c.field)).toEqual([
      'spec.selector',
      'spec.template.metadata.labels',
    ]);
  });
});

type Rec = Record<string, unknown>;

describe('metadata rules outside the HTTP table', () => {
  it.each([
    [
      'generateName prefix may end in a dash',
      'pods',
      { ...pod(), metadata: { generateName: 'web-' } },
      [],
    ],
    [
      'bad generateName',
      'pods',
      { ...pod(), metadata: { generateName: 'Web_' } },
      ['metadata.generateName'],
    ],
    [
      'namespace on a cluster-scoped kind',
      'nodes',
      { ...node(), metadata: { name: 'n1', namespace: 'default' } },
      ['metadata.namespace'],
    ],
    [
      'bad namespace name',
      'configmaps',
      { ...configMap(), metadata: { name: 'c', namespace: 'Team_A' } },
      ['metadata.namespace'],
    ],
    [
      'negative generation',
      'configmaps',
      { ...configMap(), metadata: { name: 'c', generation: -1 } },
      ['metadata.generation'],
    ],
    [
      'label value not a string',
      'configmaps',
      { ...configMap(), metadata: { name: 'c', labels: { v: 1 } } },
      ['metadata.labels'],
    ],
    [
      'two controller owners',
      'pods',
      {
        ...pod(),
        metadata: {
          name: 'p',
          ownerReferences: [
            { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'a', uid: '1', controller: true },
            { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'b', uid: '2', controller: true },
          ],
        },
      },
      ['metadata.ownerReferences'],
    ],
  ])('%s', (_name, plural, obj, fields) => {
    expect(fieldsOf(validateObject(resource(plural), obj as KubeObject))).toEqual(fields);
  });

  it('never throws on arbitrary JSON shapes', () => {
    const shapes: unknown[] = [null, 1, 'x', [], {}, [1, 'a', null], { a: { b: [] } }];
    for (const r of RESOURCES) {
      for (const s of shapes) {
        const obj = {
          metadata: { name: 'x' },
          spec: s,
          data: s,
          subsets: s,
          involvedObject: s,
          status: s,
        } as KubeObject;
        expect(() => validateObject(r, obj)).not.toThrow();
        const podLike = {
          metadata: { name: 'x' },
          spec: { containers: [s], volumes: s, template: { spec: { containers: s } } },
        };
        expect(() => validateObject(r, podLike as KubeObject)).not.toThrow();
      }
    }
  });
});

describe('parseQuantity', () => {
  it.each([
    ['0', 0],
    ['1', 1],
    ['1.5', 1.5],
    ['.5', 0.5],
    ['500m', 0.5],
    ['100m', 0.1],
    ['250u', 0.00025],
    ['5n', 5e-9],
    ['1k', 1000],
    ['1M', 1e6],
    ['1G', 1e9],
    ['2T', 2e12],
    ['1P', 1e15],
    ['1E', 1e18],
    ['1Ki', 1024],
    ['128Mi', 134217728],
    ['1.5Gi', 1610612736],
    ['1Ti', 2 ** 40],
    ['2e3', 2000],
    ['2E3', 2000],
    ['1e-3', 0.001],
    ['1.5e+2', 150],
    ['+3', 3],
    ['-1', -1],
    ['-500m', -0.5],
    [2, 2],
    [0.25, 0.25],
  ] as [string | number, number][])('%s → %s', (input, expected) => {
    expect(parseQuantity(input)).toBeCloseTo(expected, 12);
  });

  it.each([
    '',
    'abc',
    '1K',
    '1KB',
    '1ki',
    '1e',
    '1e+',
    '1.2.3',
    '.',
    '-',
    '1 Gi',
    ' 1',
    '1Mi3',
    '1mi',
    'Mi',
    '1Gb',
    'e3',
  ])('%j is not a quantity', (input) => {
    expect(parseQuantity(input)).toBeUndefined();
  });
});

describe('validateUpdate', () => {
  type Case = {
    name: string;
    plural: string;
    old: () => KubeObject;
    edit: (o: Rec) => void;
    fields: string[];
  };
  const withMeta = (make: () => KubeObject) => (): KubeObject => {
    const o = make();
    o.metadata = {
      ...o.metadata,
      namespace: 'default',
      uid: 'u-1',
      creationTimestamp: '2024-01-01T00:00:00Z',
    };
    return o;
  };
  const at = (o: Rec, ...path: (string | number)[]): Rec =>
    path.reduce<unknown>((cur, p) => (cur as Record<string | number, unknown>)[p], o) as Rec;

  const cases: Case[] = [
    { name: 'no change', plural: 'pods', old: withMeta(pod), edit: () => {}, fields: [] },
    {
      name: 'label change',
      plural: 'pods',
      old: withMeta(pod),
      edit: (o) => (at(o, 'metadata').labels = { app: 'web2' }),
      fields: [],
    },
    {
      name: 'rename',
      plural: 'configmaps',
      old: withMeta(configMap),
      edit: (o) => (at(o, 'metadata').name = 'other'),
      fields: ['metadata.name'],
    },
    {
      name: 'namespace change',
      plural: 'configmaps',
      old: withMeta(configMap),
      edit: (o) => (at(o, 'metadata').namespace = 'x'),
      fields: ['metadata.namespace'],
    },
    {
      name: 'uid change',
      plural: 'configmaps',
      old: withMeta(configMap),
      edit: (o) => (at(o, 'metadata').uid = 'u-2'),
      fields: ['metadata.uid'],
    },
    {
      name: 'pod image change',
      plural: 'pods',
      old: withMeta(pod),
      edit: (o) => (at(o, 'spec', 'containers', 0).image = 'busybox:1.37'),
      fields: [],
    },
    {
      name: 'pod activeDeadlineSeconds set',
      plural: 'pods',
      old: withMeta(pod),
      edit: (o) => (at(o, 'spec').activeDeadlineSeconds = 60),
      fields: [],
    },
    {
      name: 'pod toleration added',
      plural: 'pods',
      old: withMeta(pod),
      edit: (o) =>
        (at(o, 'spec', 'tolerations') as unknown as unknown[]).push({
          key: 'x',
          operator: 'Exists',
        }),
      fields: [],
    },
    {
      name: 'pod toleration removed',
      plural: 'pods',
      old: withMeta(pod),
      edit: (o) => (at(o, 'spec').tolerations = []),
      fields: ['spec.tolerations'],
    },
    {
      name: 'pod activeDeadlineSeconds lengthened',
      plural: 'pods',
      old: () => {
        const p = withMeta(pod)();
        (p.spec as Rec).activeDeadlineSeconds = 60;
        return p;
      },
      edit: (o) => (at(o, 'spec').activeDeadlineSeconds = 120),
      fields: ['spec.activeDeadlineSeconds'],
    },
    {
      name: 'pod port change',
      plural: 'pods',
      old: withMeta(pod),
      edit: (o) => (at(o, 'spec', 'containers', 0, 'ports', 0).containerPort = 9090),
      fields: ['spec'],
    },
    {
      name: 'pod nodeSelector change',
      plural: 'pods',
      old: withMeta(pod),
      edit: (o) => (at(o, 'spec').nodeSelector = {}),
      fields: ['spec'],
    },
    {
      name: 'pod container added',
      plural: 'pods',
      old: withMeta(pod),
      edit: (o) =>
        (at(o, 'spec', 'containers') as unknown as unknown[]).push({ name: 'x', image: 'busybox' }),
      fields: ['spec.containers'],
    },
    {
      name: 'deployment scaled',
      plural: 'deployments',
      old: withMeta(deployment),
      edit: (o) => (at(o, 'spec').replicas = 10),
      fields: [],
    },
    {
      name: 'deployment template image',
      plural: 'deployments',
      old: withMeta(deployment),
      edit: (o) => (at(o, 'spec', 'template', 'spec', 'containers', 0).image = 'busybox:1.37'),
      fields: [],
    },
    {
      name: 'deployment selector change',
      plural: 'deployments',
      old: withMeta(deployment),
      edit: (o) => (at(o, 'spec').selector = { matchLabels: { app: 'web', tier: 'frontend' } }),
      fields: ['spec.selector'],
    },
    {
      name: 'daemonset selector change',
      plural: 'daemonsets',
      old: withMeta(daemonSet),
      edit: (o) => {
        at(o, 'spec').selector = { matchLabels: { app: 'logger' } };
        at(o, 'spec', 'template', 'metadata').labels = { app: 'logger' };
      },
      fields: ['spec.selector'],
    },
    {
      name: 'job template change',
      plural: 'jobs',
      old: withMeta(job),
      edit: (o) => (at(o, 'spec', 'template', 'spec', 'containers', 0).image = 'busybox:1.37'),
      fields: ['spec.template'],
    },
    {
      name: 'job parallelism change',
      plural: 'jobs',
      old: withMeta(job),
      edit: (o) => (at(o, 'spec').parallelism = 5),
      fields: [],
    },
    {
      name: 'job completions change',
      plural: 'jobs',
      old: withMeta(job),
      edit: (o) => (at(o, 'spec').completions = 5),
      fields: ['spec.completions'],
    },
    {
      name: 'job selector filled in',
      plural: 'jobs',
      old: withMeta(job),
      edit: (o) => {
        at(o, 'spec').selector = { matchLabels: { 'job-name': 'pi' } };
        at(o, 'spec', 'template').metadata = { labels: { 'job-name': 'pi' } };
      },
      fields: ['spec.template'],
    },
    {
      name: 'configmap data change',
      plural: 'configmaps',
      old: withMeta(configMap),
      edit: (o) => (at(o, 'data').x = 'y'),
      fields: [],
    },
    {
      name: 'immutable configmap data change',
      plural: 'configmaps',
      old: () => ({ ...withMeta(configMap)(), immutable: true }),
      edit: (o) => (at(o, 'data').x = 'y'),
      fields: ['data'],
    },
    {
      name: 'immutable configmap made mutable',
      plural: 'configmaps',
      old: () => ({ ...withMeta(configMap)(), immutable: true }),
      edit: (o) => (o.immutable = false),
      fields: ['immutable'],
    },
    {
      name: 'immutable secret data change',
      plural: 'secrets',
      old: () => ({ ...withMeta(secret)(), immutable: true }),
      edit: (o) => (at(o, 'data').password = 'bmV3'),
      fields: ['data'],
    },
    {
      name: 'secret type change',
      plural: 'secrets',
      old: withMeta(secret),
      edit: (o) => (o.type = 'example.com/custom'),
      fields: ['type'],
    },
    {
      name: 'service clusterIP change',
      plural: 'services',
      old: () => {
        const s = withMeta(service)();
        (s.spec as Rec).clusterIP = '10.96.0.10';
        return s;
      },
      edit: (o) => (at(o, 'spec').clusterIP = '10.96.0.11'),
      fields: ['spec.clusterIP'],
    },
    {
      name: 'service clusterIP set the first time',
      plural: 'services',
      old: withMeta(service),
      edit: (o) => (at(o, 'spec').clusterIP = '10.96.0.11'),
      fields: [],
    },
    {
      name: 'service ports change keeps clusterIP',
      plural: 'services',
      old: () => {
        const s = withMeta(service)();
        (s.spec as Rec).clusterIP = '10.96.0.10';
        return s;
      },
      edit: (o) => (at(o, 'spec', 'ports', 0).port = 8080),
      fields: [],
    },
    {
      name: 'node taints change',
      plural: 'nodes',
      old: () => ({ ...node(), metadata: { name: 'node-a', uid: 'n' } }),
      edit: (o) => (at(o, 'spec').taints = []),
      fields: [],
    },
  ];

  it.each(cases)('$name → $fields', ({ plural, old, edit, fields }) => {
    const r = resource(plural);
    const before = old();
    const after = structuredClone(before) as Rec;
    edit(after);
    expect(fieldsOf(validateUpdate(r, before, after as KubeObject))).toEqual(fields);
  });

  it('checks only the metadata of a pod whose spec is the stored one itself (a status write)', () => {
    const before = withMeta(pod)();
    (before.spec as Rec).containers = [{ name: 'Bad_Name' }];
    const statusWrite: KubeObject = {
      ...before,
      metadata: { ...before.metadata, name: 'Bad_Name' },
      status: { phase: 'Running' },
    };
    expect(fieldsOf(validateUpdate(resource('pods'), before, statusWrite))).toEqual([
      'metadata.name',
    ]);
    // The same spec as a copy is checked in full.
    const copied = { ...statusWrite, spec: structuredClone(before.spec) };
    expect(fieldsOf(validateUpdate(resource('pods'), before, copied))).toContain(
      'spec.containers[0].name',
    );
  });

  it('says which pod fields may change', () => {
    const before = withMeta(pod)();
    const after = structuredClone(before);
    (after.spec as Rec).nodeSelector = {};
    const [err] = validateUpdate(resource('pods'), before, after);
    expect(err?.detail).toMatch(
      /^Forbidden: pod updates may not change fields other than `spec.containers\[\*\].image`/,
    );
    expect(err?.detail).toContain('spec.nodeSelector');
  });

  it('prints an immutable selector as Go does', () => {
    const before = withMeta(deployment)();
    const after = structuredClone(before);
    (after.spec as Rec).selector = { matchLabels: { app: 'web', tier: 'frontend' } };
    expect(validateUpdate(resource('deployments'), before, after).map((e) => e.detail)).toEqual([
      'Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"web", "tier":"frontend"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable',
    ]);
  });
});
