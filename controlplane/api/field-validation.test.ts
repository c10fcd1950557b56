import { describe, expect, it } from 'vitest';
import {
  fieldValidationError,
  fieldValidationWarnings,
  patchFieldValidationError,
  pruneUnknownFields,
  strictDecodingMessage,
  unknownFields,
  unknownFieldsOf,
  warningHeader,
} from './field-validation.js';
import type { KubeObject } from './objects.js';
import { applyDefaults } from './registry/defaults.js';
import { initialStatus } from './registry/strategy.js';
import { RESOURCES, type ResourceInfo } from './resources.js';
import { ApiError } from './status.js';
import {
  VALID_MANIFESTS,
  configMap,
  daemonSet,
  deployment,
  endpoints,
  event,
  job,
  namespace,
  node,
  pod,
  replicaSet,
  secret,
  service,
} from './validation/manifests.fixture.js';
import { computePodStatus } from '../../nodeagent/pods/status.js';
import { nodeFromRegister, withHeartbeat } from '../agents/node-object.js';
import type { Register__Output } from '../../proto/generated/shoal/agent/v1/Register.js';

function resource(kind: string): ResourceInfo {
  const r = RESOURCES.find((x) => x.kind === kind);
  if (!r) throw new Error(`no resource ${kind}`);
  return r;
}

/** Sets `value` at a dotted path with [i] indexes, creating objects on the way. */
function set(obj: KubeObject, path: string, value: unknown): KubeObject {
  const parts = path
    .split(/\.|(?=\[)/)
    .map((p) => (p.startsWith('[') ? Number(p.slice(1, -1)) : p));
  let cur = obj as unknown as Record<string | number, unknown>;
  for (const p of parts.slice(0, -1)) {
    cur[p] ??= {};
    cur = cur[p] as Record<string | number, unknown>;
  }
  cur[parts[parts.length - 1]!] = value;
  return obj;
}

describe('unknownFields: valid manifests', () => {
  it.each(VALID_MANIFESTS)('$name declares every field it uses', ({ resource: plural, obj }) => {
    const r = RESOURCES.find((x) => x.plural === plural)!;
    expect(unknownFields(r, obj)).toEqual([]);
  });

  // The server adds defaults and a status to what it stores; a later patch is
  // checked against the whole patched object, so those must be declared too.
  it.each(VALID_MANIFESTS)('$name with server defaults and status', ({ resource: plural, obj }) => {
    const r = RESOURCES.find((x) => x.plural === plural)!;
    const stored = structuredClone(obj);
    applyDefaults(r.kind, stored);
    const status = initialStatus(r, stored);
    if (status !== undefined) stored.status = status;
    stored.metadata = {
      ...stored.metadata,
      uid: 'u',
      resourceVersion: '5',
      generation: 1,
      creationTimestamp: '2024-01-02T15:04:05Z',
      managedFields: [
        {
          manager: 'kubectl',
          operation: 'Update',
          apiVersion: 'v1',
          time: '2024-01-02T15:04:05Z',
          fieldsType: 'FieldsV1',
          fieldsV1: { 'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } } },
        },
      ],
      ownerReferences: [
        { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web', uid: 'x', controller: true },
      ],
      finalizers: ['example.com/f'],
    };
    expect(unknownFields(r, stored)).toEqual([]);
  });

  it('accepts the pod status the node agent reports', () => {
    const p = pod();
    applyDefaults('Pod', p);
    const running = {
      name: 'web',
      image: 'busybox:1.36',
      imageID: 'sha256:abc',
      containerID: 'runc://abc',
      state: { running: { startedAt: '2024-01-02T15:04:05Z' } },
      lastState: {
        terminated: {
          exitCode: 1,
          reason: 'Error',
          message: 'boom',
          startedAt: '2024-01-02T15:03:05Z',
          finishedAt: '2024-01-02T15:04:00Z',
        },
      },
      restartCount: 1,
      ready: true,
      started: true,
    };
    p.status = computePodStatus({
      pod: p,
      initContainers: [],
      containers: [running],
      podIP: '10.42.1.5',
      hostIP: '192.168.1.10',
      now: '2024-01-02T15:04:05Z',
    });
    expect(unknownFields(resource('Pod'), p)).toEqual([]);
  });

  it('accepts the Node an agent registers, and its heartbeat', () => {
    const reg = {
      node_name: 'node-a',
      labels: { 'kubernetes.io/hostname': 'node-a' },
      taints: [{ key: 'dedicated', value: 'web', effect: 'NoSchedule' }],
      capacity: { cpu_millis: '2000', memory_bytes: '4127463424', pods: 110 },
      allocatable: { cpu_millis: '1900', memory_bytes: '3900000000', pods: 110 },
      addresses: [{ type: 'InternalIP', address: '192.168.1.10' }],
      node_info: {
        os: 'linux',
        architecture: 'amd64',
        kernel_version: '6.1.0',
        os_image: 'Debian GNU/Linux 12',
        container_runtime_version: 'runc://1.1.5',
        kubelet_version: 'v1.32.0-shoal',
        machine_id: 'm',
        boot_id: 'b',
      },
    } as unknown as Register__Output;
    const n = nodeFromRegister(reg, new Date('2024-01-02T15:04:05Z'));
    expect(unknownFields(resource('Node'), n)).toEqual([]);
    const beat = withHeartbeat(n, new Date('2024-01-02T15:05:05Z'));
    delete beat.metadata.resourceVersion;
    expect(unknownFields(resource('Node'), beat)).toEqual([]);
  });
});

describe('unknownFields: undeclared fields, with the paths kube-apiserver reports', () => {
  const cases: { name: string; kind: string; obj: () => KubeObject; want: string[] }[] = [
    {
      name: 'a container field',
      kind: 'Pod',
      obj: () => set(pod(), 'spec.containers[0].imagee', 'busybox'),
      want: ['spec.containers[0].imagee'],
    },
    {
      name: 'a metadata field',
      kind: 'Pod',
      obj: () => set(pod(), 'metadata.labelz', { a: 'b' }),
      want: ['metadata.labelz'],
    },
    {
      name: 'a top-level field',
      kind: 'Pod',
      obj: () => set(pod(), 'specc', {}),
      want: ['specc'],
    },
    {
      name: 'a status field',
      kind: 'Pod',
      obj: () => set(pod(), 'status.foo', 1),
      want: ['status.foo'],
    },
    {
      name: 'a field in a pod template container port',
      kind: 'Deployment',
      obj: () => set(deployment(), 'spec.template.spec.containers[0].ports[0].containerPortt', 80),
      want: ['spec.template.spec.containers[0].ports[0].containerPortt'],
    },
    {
      name: 'a field beside an int-or-string',
      kind: 'Deployment',
      obj: () => set(deployment(), 'spec.strategy.rollingUpdate.maxSurgee', 1),
      want: ['spec.strategy.rollingUpdate.maxSurgee'],
    },
    {
      name: 'a field in pod template metadata',
      kind: 'DaemonSet',
      obj: () => set(daemonSet(), 'spec.template.metadata.label', { a: 'b' }),
      want: ['spec.template.metadata.label'],
    },
    {
      name: 'a field of the second list item',
      kind: 'Service',
      obj: () => set(service(), 'spec.ports[1].targetPortt', 9090),
      want: ['spec.ports[1].targetPortt'],
    },
    {
      name: 'a field in a probe',
      kind: 'Job',
      obj: () => set(job(), 'spec.template.spec.containers[0].livenessProbe.exec.cmd', ['true']),
      want: ['spec.template.spec.containers[0].livenessProbe.exec.cmd'],
    },
    {
      name: 'a field in an owner reference',
      kind: 'ConfigMap',
      obj: () =>
        set(configMap(), 'metadata.ownerReferences', [
          { apiVersion: 'v1', kind: 'Pod', name: 'p', uid: 'u', owner: true },
        ]),
      want: ['metadata.ownerReferences[0].owner'],
    },
    {
      name: 'a field in node status',
      kind: 'Node',
      obj: () => set(node(), 'status.capacityy', {}),
      want: ['status.capacityy'],
    },
    {
      name: 'a field of an Event',
      kind: 'Event',
      obj: () => set(event(), 'involvedObject.namee', 'x'),
      want: ['involvedObject.namee'],
    },
    {
      name: 'a field of a Namespace spec',
      kind: 'Namespace',
      obj: () => set(namespace(), 'spec.finalizer', []),
      want: ['spec.finalizer'],
    },
    {
      name: 'a Secret field',
      kind: 'Secret',
      obj: () => set(secret(), 'stringdata', {}),
      want: ['stringdata'],
    },
    {
      name: 'an Endpoints address field',
      kind: 'Endpoints',
      obj: () => set(endpoints(), 'subsets[0].addresses[1].node', 'x'),
      want: ['subsets[0].addresses[1].node'],
    },
    {
      name: 'a ReplicaSet selector field',
      kind: 'ReplicaSet',
      obj: () => set(replicaSet(), 'spec.selector.matchExpressions[0].value', 'x'),
      want: ['spec.selector.matchExpressions[0].value'],
    },
    {
      name: 'names are case-sensitive',
      kind: 'Pod',
      obj: () => set(pod(), 'spec.containers[0].Image', 'busybox'),
      want: ['spec.containers[0].Image'],
    },
    {
      name: 'an inherited Object property name is still unknown',
      kind: 'Pod',
      obj: () => set(pod(), 'spec.constructor', 'x'),
      want: ['spec.constructor'],
    },
    {
      name: 'several, in the order they appear',
      kind: 'Deployment',
      obj: () => {
        const d = deployment();
        set(d, 'zzz', 1);
        set(d, 'spec.template.spec.containers[0].imagee', 'x');
        set(d, 'metadata.labelz', {});
        return d;
      },
      want: ['metadata.labelz', 'spec.template.spec.containers[0].imagee', 'zzz'],
    },
  ];
  it.each(cases)('$name', ({ kind, obj, want }) => {
    expect(unknownFields(resource(kind), obj())).toEqual(want);
  });
});

describe('unknownFields: open and polymorphic fields', () => {
  it('accepts any key in ConfigMap data, binaryData, labels and annotations', () => {
    const cm = configMap();
    cm.data = { 'any.key': 'x', spec: 'y', constructor: 'z' };
    cm.binaryData = { 'anything.bin': 'AA==' };
    cm.metadata.labels = { 'example.com/whatever': 'x' };
    cm.metadata.annotations = { 'kubectl.kubernetes.io/last-applied-configuration': '{}' };
    expect(unknownFields(resource('ConfigMap'), cm)).toEqual([]);
  });

  it.each([1, '25%', '3'])('accepts int-or-string maxSurge %j', (v) => {
    const d = set(deployment(), 'spec.strategy.rollingUpdate.maxSurge', v);
    expect(unknownFields(resource('Deployment'), d)).toEqual([]);
  });

  it.each([8080, 'http'])('accepts int-or-string targetPort and probe port %j', (v) => {
    const s = set(service(), 'spec.ports[0].targetPort', v);
    expect(unknownFields(resource('Service'), s)).toEqual([]);
    const p = set(pod(), 'spec.containers[0].livenessProbe.tcpSocket.port', v);
    expect(unknownFields(resource('Pod'), p)).toEqual([]);
  });

  it.each(['100m', 0.5, 2, '1Gi'])(
    'accepts quantity %j in requests, limits and node capacity',
    (v) => {
      const p = set(pod(), 'spec.containers[0].resources.requests.cpu', v);
      set(p, 'spec.containers[0].resources.limits.memory', v);
      expect(unknownFields(resource('Pod'), p)).toEqual([]);
      const n = set(node(), 'status.allocatable.cpu', v);
      expect(unknownFields(resource('Node'), n)).toEqual([]);
    },
  );

  it('leaves values of the wrong type to validation', () => {
    const p = pod();
    set(p, 'spec.containers', { not: 'a list' });
    set(p, 'metadata.labels', ['x']);
    expect(unknownFields(resource('Pod'), p)).toEqual([]);
    const d = set(deployment(), 'spec.strategy.rollingUpdate.maxSurge', { a: 1 });
    expect(unknownFields(resource('Deployment'), d)).toEqual([]);
  });

  it('accepts nulls and non-objects without complaint', () => {
    expect(unknownFields(resource('Pod'), set(pod(), 'spec', null))).toEqual([]);
    expect(unknownFields(resource('Pod'), null)).toEqual([]);
    expect(unknownFields(resource('Pod'), 'x')).toEqual([]);
  });

  it('accepts any content in managedFields[].fieldsV1', () => {
    const p = set(pod(), 'metadata.managedFields', [
      { manager: 'm', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': { 'k:{"name":"x"}': {} } } },
    ]);
    expect(unknownFields(resource('Pod'), p)).toEqual([]);
  });

  it('reports at most 100 fields, as the strict decoder does', () => {
    const p = pod();
    for (let i = 0; i < 150; i++) set(p, `spec.x${i}`, i);
    expect(unknownFields(resource('Pod'), p)).toHaveLength(100);
  });

  it('checks bodies of other definitions: Scale and Binding', () => {
    expect(
      unknownFieldsOf('io.k8s.api.autoscaling.v1.Scale', {
        apiVersion: 'autoscaling/v1',
        kind: 'Scale',
        metadata: { name: 'web' },
        spec: { replicas: 3, replica: 1 },
      }),
    ).toEqual(['spec.replica']);
    expect(
      unknownFieldsOf('io.k8s.api.core.v1.Binding', {
        metadata: { name: 'web-0' },
        target: { kind: 'Node', name: 'node-a', nodeName: 'x' },
      }),
    ).toEqual(['target.nodeName']);
  });
});

describe('pruneUnknownFields', () => {
  it('deletes undeclared fields in place and keeps the rest', () => {
    const p = pod();
    set(p, 'spec.containers[0].imagee', 'x');
    set(p, 'metadata.labelz', {});
    set(p, 'status.foo', 1);
    const want = pod();
    set(want, 'status', {});
    expect(pruneUnknownFields(resource('Pod'), p)).toEqual([
      'metadata.labelz',
      'spec.containers[0].imagee',
      'status.foo',
    ]);
    expect(p).toEqual(want);
    expect(unknownFields(resource('Pod'), p)).toEqual([]);
  });
});

describe('errors and warnings', () => {
  it('formats a strict decoding error as kube-apiserver does', () => {
    expect(strictDecodingMessage(['spec.containers[0].imagee'])).toBe(
      'strict decoding error: unknown field "spec.containers[0].imagee"',
    );
    const err = fieldValidationError(['a', 'b.c']);
    expect(err).toBeInstanceOf(ApiError);
    expect(err.toStatus()).toMatchObject({
      kind: 'Status',
      status: 'Failure',
      reason: 'BadRequest',
      code: 400,
      message: 'strict decoding error: unknown field "a", unknown field "b.c"',
    });
  });

  it('prefixes create and update errors with the decoded kind and version', () => {
    const d = set(deployment(), 'spec.template.spec.containers[0].imagee', 'x');
    const paths = unknownFields(resource('Deployment'), d);
    expect(fieldValidationError(paths, { resource: resource('Deployment'), body: d }).message).toBe(
      'Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "spec.template.spec.containers[0].imagee"',
    );
    // A body without apiVersion and kind is decoded as the URL's kind.
    expect(
      fieldValidationError(['foo'], { resource: resource('Pod'), body: { foo: 1 } }).message,
    ).toBe(
      'Pod in version "v1" cannot be handled as a Pod: strict decoding error: unknown field "foo"',
    );
  });

  it('names the Scale type for the scale subresource', () => {
    const body = { apiVersion: 'autoscaling/v1', kind: 'Scale', spec: { replica: 1 } };
    const paths = unknownFieldsOf('io.k8s.api.autoscaling.v1.Scale', body);
    expect(
      fieldValidationError(paths, { resource: { kind: 'Scale', version: 'v1' }, body }).message,
    ).toBe(
      'Scale in version "v1" cannot be handled as a Scale: strict decoding error: unknown field "spec.replica"',
    );
  });

  it('escapes field names as Go quotes them', () => {
    expect(strictDecodingMessage(['metadata.a"b\\c\n'])).toBe(
      'strict decoding error: unknown field "metadata.a\\"b\\\\c\\n"',
    );
  });

  it('answers strict patch failures with 422 naming the patch', () => {
    const smp = { spec: { containers: [{ name: 'web', imagee: 'x' }], b: 1 } };
    const err = patchFieldValidationError(['spec.containers[0].imagee'], 'strategic', smp, {});
    expect(err.code).toBe(422);
    expect(err.reason).toBe('Invalid');
    expect(err.message).toBe(
      ' "" is invalid: patch: Invalid value: "map[spec:map[b:1 containers:[map[imagee:x name:web]]]]": strict decoding error: unknown field "spec.containers[0].imagee"',
    );
    expect(err.details?.causes).toEqual([
      {
        reason: 'FieldValueInvalid',
        field: 'patch',
        message:
          'Invalid value: "map[spec:map[b:1 containers:[map[imagee:x name:web]]]]": strict decoding error: unknown field "spec.containers[0].imagee"',
      },
    ]);
    const merge = patchFieldValidationError(['spec.foo'], 'merge', {}, { spec: { foo: 1 } });
    expect(merge.message).toBe(
      ' "" is invalid: patch: Invalid value: "{\\"spec\\":{\\"foo\\":1}}": strict decoding error: unknown field "spec.foo"',
    );
  });

  it('words warnings and Warning headers as kube-apiserver does', () => {
    expect(fieldValidationWarnings(['spec.foo', 'metadata.bar', 'spec.foo'])).toEqual([
      'unknown field "spec.foo"',
      'unknown field "metadata.bar"',
    ]);
    expect(warningHeader('unknown field "spec.foo"')).toBe('299 - "unknown field \\"spec.foo\\""');
    expect(warningHeader('a\\b')).toBe('299 - "a\\\\b"');
  });
});
