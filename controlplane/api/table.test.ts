import { describe, expect, it } from 'vitest';
import type { KubeObject } from './objects.js';
import { RESOURCES, type ResourceInfo } from './resources.js';
import { ApiError } from './status.js';
import {
  humanDuration,
  parseIncludeObject,
  podStatusText,
  toTable,
  wantsTable,
  type IncludeObject,
  type TableCell,
} from './table.js';

const NOW = new Date('2025-03-01T12:00:00Z');
const ago = (seconds: number): string => new Date(NOW.getTime() - seconds * 1000).toISOString();

function resource(kind: string): ResourceInfo {
  const r = RESOURCES.find((x) => x.kind === kind);
  if (!r) throw new Error(`no resource ${kind}`);
  return r;
}

function table(kind: string, items: KubeObject[], includeObject: IncludeObject = 'Metadata') {
  return toTable(resource(kind), items, {
    includeObject,
    listMeta: { resourceVersion: '42' },
    now: NOW,
    version: 'v1',
  });
}

function cells(kind: string, obj: KubeObject): TableCell[] {
  const row = table(kind, [obj]).rows[0];
  if (!row) throw new Error('no row');
  return row.cells;
}

function columns(kind: string): [string, number][] {
  return table(kind, []).columnDefinitions.map((c) => [c.name, c.priority]);
}

// ---------------------------------------------------------------------------

describe('wantsTable', () => {
  it.each<[string, string | undefined, ReturnType<typeof wantsTable>]>([
    [
      "kubectl 1.32's header",
      'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json',
      { version: 'v1' },
    ],
    [
      "an older kubectl's header",
      'application/json;as=Table;v=v1beta1;g=meta.k8s.io, application/json',
      { version: 'v1beta1' },
    ],
    ['a Table alone', 'application/json;as=Table;v=v1;g=meta.k8s.io', { version: 'v1' }],
    ['parameters in any order', 'application/json;g=meta.k8s.io;v=v1;as=Table', { version: 'v1' }],
    ['spaces', ' application/json ; as=Table ; v=v1 ; g=meta.k8s.io', { version: 'v1' }],
    ['application/* for JSON', 'application/*;as=Table;v=v1;g=meta.k8s.io', { version: 'v1' }],
    ['plain JSON', 'application/json', undefined],
    ['anything', '*/*', undefined],
    ['no header', undefined, undefined],
    ['an empty header', '', undefined],
    [
      'plain JSON before a Table',
      'application/json,application/json;as=Table;v=v1;g=meta.k8s.io',
      undefined,
    ],
    [
      'a Table with the higher q',
      'application/json;q=0.5,application/json;as=Table;v=v1;g=meta.k8s.io;q=0.9',
      { version: 'v1' },
    ],
    [
      'a Table refused with q=0',
      'application/json;as=Table;v=v1;g=meta.k8s.io;q=0,application/json',
      undefined,
    ],
    [
      'a specific Table range before */*',
      '*/*,application/json;as=Table;v=v1;g=meta.k8s.io',
      { version: 'v1' },
    ],
    [
      'a Table version that does not exist',
      'application/json;as=Table;v=v2;g=meta.k8s.io,application/json',
      undefined,
    ],
    [
      'a Table in another group',
      'application/json;as=Table;v=v1;g=example.com,application/json',
      undefined,
    ],
    [
      'a Table in a media type JSON cannot serve',
      'application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io,application/json',
      undefined,
    ],
    [
      'an unknown conversion, then a Table',
      'application/json;as=Other;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io',
      { version: 'v1beta1' },
    ],
    ['plain JSON with a charset', 'application/json;charset=utf-8', undefined],
  ])('%s', (_, header, want) => {
    expect(wantsTable(header)).toEqual(want);
  });
});

describe('parseIncludeObject', () => {
  it.each<[string | undefined, IncludeObject]>([
    [undefined, 'Metadata'],
    ['', 'Metadata'],
    ['None', 'None'],
    ['Object', 'Object'],
    ['Metadata', 'Metadata'],
  ])('%s → %s', (v, want) => {
    expect(parseIncludeObject(v)).toBe(want);
  });

  it('answers 400 for anything else, as kube-apiserver does', () => {
    let err: unknown;
    try {
      parseIncludeObject('object');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toBe(400);
    expect((err as ApiError).message).toBe(
      'Unable to convert to Table as requested: includeObject: Unsupported value: "object": supported values: "", "Metadata", "None", "Object"',
    );
  });
});

describe('humanDuration', () => {
  it.each<[number, string]>([
    [-3, '<invalid>'],
    [-2, '<invalid>'],
    [-1.5, '0s'],
    [0, '0s'],
    [5, '5s'],
    [119, '119s'],
    [120, '2m'],
    [200, '3m20s'],
    [599, '9m59s'],
    [600, '10m'],
    [179 * 60 + 59, '179m'],
    [3 * 3600, '3h'],
    [3 * 3600 + 5 * 60 + 30, '3h5m'],
    [8 * 3600, '8h'],
    [47 * 3600 + 59 * 60, '47h'],
    [48 * 3600, '2d'],
    [51 * 3600, '2d3h'],
    [8 * 86400, '8d'],
    [729 * 86400, '729d'],
    [730 * 86400, '2y'],
    [740 * 86400, '2y10d'],
    [8 * 365 * 86400, '8y'],
  ])('%ss → %s', (seconds, want) => {
    expect(humanDuration(seconds * 1000)).toBe(want);
  });
});

// ---------------------------------------------------------------------------

describe('toTable', () => {
  const pod: KubeObject = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'web-1',
      namespace: 'default',
      uid: 'u1',
      resourceVersion: '7',
      creationTimestamp: ago(200),
      labels: { app: 'web' },
    },
    spec: { containers: [{ name: 'web', image: 'nginx' }] },
    status: { phase: 'Pending' },
  };

  it('is a meta.k8s.io Table with the list metadata', () => {
    const t = toTable(resource('Pod'), [pod], {
      includeObject: 'Metadata',
      listMeta: { resourceVersion: '42', continue: 'abc', remainingItemCount: 3 },
      now: NOW,
      version: 'v1beta1',
    });
    expect(t.kind).toBe('Table');
    expect(t.apiVersion).toBe('meta.k8s.io/v1beta1');
    expect(t.metadata).toEqual({ resourceVersion: '42', continue: 'abc', remainingItemCount: 3 });
    expect(t.columnDefinitions[0]).toEqual({
      name: 'Name',
      type: 'string',
      format: 'name',
      description: expect.stringContaining('Name must be unique within a namespace.') as string,
      priority: 0,
    });
    expect(t.columnDefinitions[4]).toMatchObject({ name: 'Age', type: 'string', format: '' });
  });

  it('carries PartialObjectMetadata by default, of the Table version asked for', () => {
    const t = toTable(resource('Pod'), [pod], {
      includeObject: 'Metadata',
      listMeta: {},
      now: NOW,
      version: 'v1beta1',
    });
    expect(t.metadata).toEqual({});
    expect(t.rows[0]?.object).toEqual({
      kind: 'PartialObjectMetadata',
      apiVersion: 'meta.k8s.io/v1beta1',
      metadata: pod.metadata,
    });
  });

  it('carries the whole object for includeObject=Object, and null for None', () => {
    expect(table('Pod', [pod], 'Object').rows[0]?.object).toEqual(pod);
    const bare: KubeObject = { metadata: { name: 'x' } };
    expect(table('Pod', [bare], 'Object').rows[0]?.object).toEqual({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'x' },
    });
    expect(table('Pod', [pod], 'None').rows[0]?.object).toBeNull();
  });

  it('leaves column definitions out when asked (watch events after the first)', () => {
    const t = toTable(resource('Pod'), [pod], {
      includeObject: 'Metadata',
      listMeta: { resourceVersion: '7' },
      now: NOW,
      version: 'v1',
      noHeaders: true,
    });
    expect(t.columnDefinitions).toEqual([]);
    expect(t.rows).toHaveLength(1);
  });

  it('prints <unknown> for an object without a creation time', () => {
    expect(cells('ConfigMap', { metadata: { name: 'c' } })).toEqual(['c', 0, '<unknown>']);
  });

  it('falls back to NAME and AGE for kinds without a printer', () => {
    const lease: ResourceInfo = {
      group: 'example.com',
      version: 'v1',
      kind: 'Widget',
      plural: 'widgets',
      singular: 'widget',
      namespaced: true,
      shortNames: [],
      categories: [],
      subresources: [],
    };
    const t = toTable(lease, [{ metadata: { name: 'l', creationTimestamp: ago(65) } }], {
      includeObject: 'None',
      listMeta: {},
      now: NOW,
      version: 'v1',
    });
    expect(t.columnDefinitions.map((c) => [c.name, c.priority])).toEqual([
      ['Name', 0],
      ['Age', 0],
    ]);
    expect(t.rows[0]?.cells).toEqual(['l', '65s']);
  });
});

// ---------------------------------------------------------------------------
// Pods

interface ContainerStatusInit {
  name: string;
  ready?: boolean;
  started?: boolean;
  restartCount?: number;
  state?: Record<string, unknown>;
  lastState?: Record<string, unknown>;
}

function podWith(
  status: Record<string, unknown>,
  opts: {
    containers?: string[];
    init?: { name: string; restartPolicy?: string }[];
    deleting?: boolean;
    spec?: Record<string, unknown>;
  } = {},
): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'p',
      namespace: 'default',
      creationTimestamp: ago(3600),
      ...(opts.deleting ? { deletionTimestamp: ago(5) } : {}),
    },
    spec: {
      containers: (opts.containers ?? ['app']).map((name) => ({ name, image: 'busybox' })),
      ...(opts.init ? { initContainers: opts.init.map((c) => ({ image: 'busybox', ...c })) } : {}),
      ...opts.spec,
    },
    status,
  };
}

const running = (name: string, ready = true, restartCount = 0): ContainerStatusInit => ({
  name,
  ready,
  started: true,
  restartCount,
  state: { running: { startedAt: ago(600) } },
});
const waiting = (name: string, reason: string, restartCount = 0): ContainerStatusInit => ({
  name,
  ready: false,
  started: false,
  restartCount,
  state: { waiting: { reason } },
});
const terminated = (
  name: string,
  exitCode: number,
  reason?: string,
  extra: Record<string, unknown> = {},
): ContainerStatusInit => ({
  name,
  ready: false,
  started: false,
  restartCount: 0,
  state: {
    terminated: { exitCode, ...(reason ? { reason } : {}), finishedAt: ago(30), ...extra },
  },
});
const crashed = (secondsAgo: number) => ({
  terminated: { exitCode: 1, reason: 'Error', finishedAt: ago(secondsAgo) },
});
const cond = (type: string, status: string, reason?: string) => ({
  type,
  status,
  ...(reason ? { reason } : {}),
});

describe('pods', () => {
  it('has kube-apiserver’s columns', () => {
    expect(columns('Pod')).toEqual([
      ['Name', 0],
      ['Ready', 0],
      ['Status', 0],
      ['Restarts', 0],
      ['Age', 0],
      ['IP', 1],
      ['Node', 1],
      ['Nominated Node', 1],
      ['Readiness Gates', 1],
    ]);
  });

  it.each<[string, KubeObject, string, string, string]>([
    ['unscheduled', podWith({ phase: 'Pending' }), '0/1', 'Pending', '0'],
    [
      'scheduling gated',
      podWith({
        phase: 'Pending',
        conditions: [cond('PodScheduled', 'False', 'SchedulingGated')],
      }),
      '0/1',
      'SchedulingGated',
      '0',
    ],
    [
      'creating its containers',
      podWith({ phase: 'Pending', containerStatuses: [waiting('app', 'ContainerCreating')] }),
      '0/1',
      'ContainerCreating',
      '0',
    ],
    [
      'running',
      podWith({
        phase: 'Running',
        conditions: [cond('Ready', 'True')],
        containerStatuses: [running('app')],
      }),
      '1/1',
      'Running',
      '0',
    ],
    [
      'running, one of two containers ready',
      podWith(
        {
          phase: 'Running',
          containerStatuses: [running('app'), running('side', false)],
        },
        { containers: ['app', 'side'] },
      ),
      '1/2',
      'Running',
      '0',
    ],
    [
      'completed',
      podWith({ phase: 'Succeeded', containerStatuses: [terminated('app', 0, 'Completed')] }),
      '0/1',
      'Completed',
      '0',
    ],
    [
      'failed',
      podWith({ phase: 'Failed', containerStatuses: [terminated('app', 1, 'Error')] }),
      '0/1',
      'Error',
      '0',
    ],
    [
      'killed by a signal, without a reason',
      podWith({ phase: 'Failed', containerStatuses: [terminated('app', 137, '', { signal: 9 })] }),
      '0/1',
      'Signal:9',
      '0',
    ],
    [
      'exited without a reason',
      podWith({ phase: 'Failed', containerStatuses: [terminated('app', 3)] }),
      '0/1',
      'ExitCode:3',
      '0',
    ],
    [
      'crash looping',
      podWith({
        phase: 'Running',
        containerStatuses: [{ ...waiting('app', 'CrashLoopBackOff', 5), lastState: crashed(300) }],
      }),
      '0/1',
      'CrashLoopBackOff',
      '5 (5m ago)',
    ],
    [
      'pulling an image in vain',
      podWith({ phase: 'Pending', containerStatuses: [waiting('app', 'ImagePullBackOff')] }),
      '0/1',
      'ImagePullBackOff',
      '0',
    ],
    [
      'failing to pull an image',
      podWith({ phase: 'Pending', containerStatuses: [waiting('app', 'ErrImagePull')] }),
      '0/1',
      'ErrImagePull',
      '0',
    ],
    [
      'restarted, running again',
      podWith({
        phase: 'Running',
        conditions: [cond('Ready', 'True')],
        containerStatuses: [{ ...running('app', true, 2), lastState: crashed(3 * 3600 + 600) }],
      }),
      '1/1',
      'Running',
      '2 (3h10m ago)',
    ],
    [
      'restarted, without a termination time',
      podWith({
        phase: 'Running',
        containerStatuses: [{ ...running('app', true, 2), lastState: {} }],
      }),
      '1/1',
      'Running',
      '2',
    ],
    [
      'running its first init container',
      podWith(
        {
          phase: 'Pending',
          conditions: [cond('Initialized', 'False')],
          initContainerStatuses: [running('init', false)],
          containerStatuses: [waiting('app', 'PodInitializing')],
        },
        { init: [{ name: 'init' }] },
      ),
      '0/1',
      'Init:0/1',
      '0',
    ],
    [
      'running its second init container',
      podWith(
        {
          phase: 'Pending',
          conditions: [cond('Initialized', 'False')],
          initContainerStatuses: [
            terminated('init-a', 0, 'Completed'),
            waiting('init-b', 'PodInitializing'),
          ],
          containerStatuses: [waiting('app', 'PodInitializing')],
        },
        { init: [{ name: 'init-a' }, { name: 'init-b' }] },
      ),
      '0/1',
      'Init:1/2',
      '0',
    ],
    [
      'crash looping in an init container',
      podWith(
        {
          phase: 'Pending',
          conditions: [cond('Initialized', 'False')],
          initContainerStatuses: [
            { ...waiting('init', 'CrashLoopBackOff', 3), lastState: crashed(120) },
          ],
          containerStatuses: [waiting('app', 'PodInitializing')],
        },
        { init: [{ name: 'init' }] },
      ),
      '0/1',
      'Init:CrashLoopBackOff',
      '3 (2m ago)',
    ],
    [
      'failed in an init container',
      podWith(
        {
          phase: 'Failed',
          initContainerStatuses: [terminated('init', 1, 'Error')],
          containerStatuses: [waiting('app', 'PodInitializing')],
        },
        { init: [{ name: 'init' }] },
      ),
      '0/1',
      'Init:Error',
      '0',
    ],
    [
      'an init container exited without a reason',
      podWith(
        { phase: 'Pending', initContainerStatuses: [terminated('init', 2)] },
        { init: [{ name: 'init' }] },
      ),
      '0/1',
      'Init:ExitCode:2',
      '0',
    ],
    [
      'initialised, starting its containers',
      podWith(
        {
          phase: 'Pending',
          conditions: [cond('Initialized', 'True')],
          initContainerStatuses: [terminated('init', 0, 'Completed')],
          containerStatuses: [waiting('app', 'PodInitializing')],
        },
        { init: [{ name: 'init' }] },
      ),
      '0/1',
      'PodInitializing',
      '0',
    ],
    [
      'running with a sidecar',
      podWith(
        {
          phase: 'Running',
          conditions: [cond('Initialized', 'True'), cond('Ready', 'True')],
          initContainerStatuses: [{ ...running('proxy', true, 1), lastState: crashed(90) }],
          containerStatuses: [running('app')],
        },
        { init: [{ name: 'proxy', restartPolicy: 'Always' }] },
      ),
      '2/2',
      'Running',
      '1 (90s ago)',
    ],
    [
      'one container completed, another still running and ready',
      podWith(
        {
          phase: 'Running',
          conditions: [cond('Ready', 'True')],
          containerStatuses: [terminated('job', 0, 'Completed'), running('app')],
        },
        { containers: ['job', 'app'] },
      ),
      '1/2',
      'Running',
      '0',
    ],
    [
      'one container completed, another running, pod not ready',
      podWith(
        {
          phase: 'Running',
          conditions: [cond('Ready', 'False')],
          containerStatuses: [terminated('job', 0, 'Completed'), running('app')],
        },
        { containers: ['job', 'app'] },
      ),
      '1/2',
      'NotReady',
      '0',
    ],
    [
      'being deleted',
      podWith({ phase: 'Running', containerStatuses: [running('app')] }, { deleting: true }),
      '1/1',
      'Terminating',
      '0',
    ],
    [
      'being deleted after it completed',
      podWith(
        { phase: 'Succeeded', containerStatuses: [terminated('app', 0, 'Completed')] },
        { deleting: true },
      ),
      '0/1',
      'Completed',
      '0',
    ],
    [
      'being deleted on a lost node',
      podWith(
        { phase: 'Running', reason: 'NodeLost', containerStatuses: [running('app')] },
        { deleting: true },
      ),
      '1/1',
      'Unknown',
      '0',
    ],
    [
      'evicted',
      podWith({ phase: 'Failed', reason: 'Evicted', message: 'low on memory' }),
      '0/1',
      'Evicted',
      '0',
    ],
  ])('%s', (_, obj, ready, status, restarts) => {
    expect(cells('Pod', obj).slice(1, 5)).toEqual([ready, status, restarts, '60m']);
    expect(podStatusText(obj)).toBe(status);
  });

  it('prints the wide cells: IP, node, nominated node, readiness gates', () => {
    const obj = podWith(
      {
        phase: 'Running',
        podIP: '10.244.1.7',
        podIPs: [{ ip: '10.244.1.7' }, { ip: 'fd00::7' }],
        nominatedNodeName: 'node-b',
        conditions: [cond('Ready', 'True'), cond('example.com/lb', 'True')],
        containerStatuses: [running('app')],
      },
      {
        spec: {
          nodeName: 'node-a',
          readinessGates: [
            { conditionType: 'example.com/lb' },
            { conditionType: 'example.com/dns' },
          ],
        },
      },
    );
    expect(cells('Pod', obj)).toEqual([
      'p',
      '1/1',
      'Running',
      '0',
      '60m',
      '10.244.1.7',
      'node-a',
      'node-b',
      '1/2',
    ]);
    expect(cells('Pod', podWith({ phase: 'Pending' })).slice(5)).toEqual([
      '<none>',
      '<none>',
      '<none>',
      '<none>',
    ]);
    expect(cells('Pod', podWith({ phase: 'Running', podIP: '10.0.0.9' }))[5]).toBe('10.0.0.9');
  });

  it('marks finished pods with a Completed row condition', () => {
    const done = table('Pod', [
      podWith({ phase: 'Succeeded' }),
      podWith({ phase: 'Failed' }),
      podWith({ phase: 'Running' }),
    ]).rows;
    expect(done[0]?.conditions).toEqual([
      {
        type: 'Completed',
        status: 'True',
        reason: 'Succeeded',
        message: 'The pod has completed successfully.',
      },
    ]);
    expect(done[1]?.conditions).toEqual([
      { type: 'Completed', status: 'True', reason: 'Failed', message: 'The pod failed.' },
    ]);
    expect(done[2]?.conditions).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------
// Nodes

function node(
  name: string,
  opts: {
    ready?: string;
    labels?: Record<string, string>;
    unschedulable?: boolean;
    info?: Record<string, string>;
    addresses?: { type: string; address: string }[];
  },
): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, creationTimestamp: ago(51 * 3600), labels: opts.labels ?? {} },
    spec: opts.unschedulable ? { unschedulable: true } : {},
    status: {
      conditions: opts.ready ? [cond('MemoryPressure', 'False'), cond('Ready', opts.ready)] : [],
      addresses: opts.addresses ?? [],
      nodeInfo: opts.info ?? {},
    },
  };
}

describe('nodes', () => {
  it('has kube-apiserver’s columns', () => {
    expect(columns('Node')).toEqual([
      ['Name', 0],
      ['Status', 0],
      ['Roles', 0],
      ['Age', 0],
      ['Version', 0],
      ['Internal-IP', 1],
      ['External-IP', 1],
      ['OS-Image', 1],
      ['Kernel-Version', 1],
      ['Container-Runtime', 1],
    ]);
  });

  it.each<[string, KubeObject, TableCell[]]>([
    [
      'a ready control-plane node',
      node('cp-1', {
        ready: 'True',
        labels: { 'node-role.kubernetes.io/control-plane': '', 'kubernetes.io/os': 'linux' },
        info: {
          kubeletVersion: 'v1.32.0+shoal-0.1.0',
          osImage: 'Debian GNU/Linux 12 (bookworm)',
          kernelVersion: '6.1.0-18-amd64',
          containerRuntimeVersion: 'runc://1.1.5',
        },
        addresses: [
          { type: 'Hostname', address: 'cp-1' },
          { type: 'InternalIP', address: '192.168.1.10' },
        ],
      }),
      [
        'cp-1',
        'Ready',
        'control-plane',
        '2d3h',
        'v1.32.0+shoal-0.1.0',
        '192.168.1.10',
        '<none>',
        'Debian GNU/Linux 12 (bookworm)',
        '6.1.0-18-amd64',
        'runc://1.1.5',
      ],
    ],
    [
      'a cordoned worker',
      node('w-1', {
        ready: 'True',
        unschedulable: true,
        labels: {
          'node-role.kubernetes.io/worker': 'true',
          'kubernetes.io/role': 'infra',
          'node-role.kubernetes.io/': '',
        },
        addresses: [
          { type: 'ExternalIP', address: '203.0.113.5' },
          { type: 'InternalIP', address: '10.0.0.5' },
        ],
      }),
      [
        'w-1',
        'Ready,SchedulingDisabled',
        'infra,worker',
        '2d3h',
        '',
        '10.0.0.5',
        '203.0.113.5',
        '<unknown>',
        '<unknown>',
        '<unknown>',
      ],
    ],
    [
      'a node that stopped reporting',
      node('w-2', { ready: 'Unknown' }),
      [
        'w-2',
        'NotReady',
        '<none>',
        '2d3h',
        '',
        '<none>',
        '<none>',
        '<unknown>',
        '<unknown>',
        '<unknown>',
      ],
    ],
    [
      'a node whose kubelet says it is not ready',
      node('w-3', { ready: 'False' }),
      [
        'w-3',
        'NotReady',
        '<none>',
        '2d3h',
        '',
        '<none>',
        '<none>',
        '<unknown>',
        '<unknown>',
        '<unknown>',
      ],
    ],
    [
      'a node with no Ready condition yet, cordoned',
      node('w-4', { unschedulable: true }),
      [
        'w-4',
        'Unknown,SchedulingDisabled',
        '<none>',
        '2d3h',
        '',
        '<none>',
        '<none>',
        '<unknown>',
        '<unknown>',
        '<unknown>',
      ],
    ],
  ])('%s', (_, obj, want) => {
    expect(cells('Node', obj)).toEqual(want);
  });
});

// ---------------------------------------------------------------------------
// Namespaces, ConfigMaps, Secrets

describe('namespaces, configmaps and secrets', () => {
  it('have kube-apiserver’s columns', () => {
    expect(columns('Namespace')).toEqual([
      ['Name', 0],
      ['Status', 0],
      ['Age', 0],
    ]);
    expect(columns('ConfigMap')).toEqual([
      ['Name', 0],
      ['Data', 0],
      ['Age', 0],
    ]);
    expect(columns('Secret')).toEqual([
      ['Name', 0],
      ['Type', 0],
      ['Data', 0],
      ['Age', 0],
    ]);
  });

  it.each<[string, string, KubeObject, TableCell[]]>([
    [
      'an active namespace',
      'Namespace',
      {
        metadata: { name: 'default', creationTimestamp: ago(10 * 86400) },
        status: { phase: 'Active' },
      },
      ['default', 'Active', '10d'],
    ],
    [
      'a namespace being deleted',
      'Namespace',
      {
        metadata: { name: 'old', creationTimestamp: ago(90), deletionTimestamp: ago(1) },
        status: { phase: 'Terminating' },
      },
      ['old', 'Terminating', '90s'],
    ],
    [
      'a configmap with text and binary data',
      'ConfigMap',
      {
        metadata: { name: 'cfg', creationTimestamp: ago(125) },
        data: { 'a.conf': 'x', 'b.conf': 'y' },
        binaryData: { 'c.bin': 'AAE=' },
      },
      ['cfg', 3, '2m5s'],
    ],
    [
      'an empty configmap',
      'ConfigMap',
      { metadata: { name: 'empty', creationTimestamp: ago(30) } },
      ['empty', 0, '30s'],
    ],
    [
      'a TLS secret',
      'Secret',
      {
        metadata: { name: 'tls', creationTimestamp: ago(7200) },
        type: 'kubernetes.io/tls',
        data: { 'tls.crt': 'Y3J0', 'tls.key': 'a2V5' },
      },
      ['tls', 'kubernetes.io/tls', 2, '120m'],
    ],
    [
      'an opaque secret',
      'Secret',
      { metadata: { name: 's', creationTimestamp: ago(5) }, type: 'Opaque', data: { p: 'eA==' } },
      ['s', 'Opaque', 1, '5s'],
    ],
  ])('%s', (_, kind, obj, want) => {
    expect(cells(kind, obj)).toEqual(want);
  });
});

// ---------------------------------------------------------------------------
// Workloads

const template = {
  metadata: { labels: { app: 'web' } },
  spec: {
    containers: [
      { name: 'web', image: 'nginx:1.27' },
      { name: 'log', image: 'busybox' },
    ],
  },
};

describe('deployments', () => {
  it('has kube-apiserver’s columns', () => {
    expect(columns('Deployment')).toEqual([
      ['Name', 0],
      ['Ready', 0],
      ['Up-to-date', 0],
      ['Available', 0],
      ['Age', 0],
      ['Containers', 1],
      ['Images', 1],
      ['Selector', 1],
    ]);
  });

  it.each<[string, KubeObject, TableCell[]]>([
    [
      'rolled out',
      {
        metadata: { name: 'web', creationTimestamp: ago(3 * 86400) },
        spec: { replicas: 3, selector: { matchLabels: { app: 'web' } }, template },
        status: { replicas: 3, readyReplicas: 3, updatedReplicas: 3, availableReplicas: 3 },
      },
      ['web', '3/3', 3, 3, '3d', 'web,log', 'nginx:1.27,busybox', 'app=web'],
    ],
    [
      'rolling out',
      {
        metadata: { name: 'web', creationTimestamp: ago(40) },
        spec: {
          replicas: 3,
          selector: {
            matchLabels: { app: 'web' },
            matchExpressions: [{ key: 'tier', operator: 'In', values: ['front', 'edge'] }],
          },
          template,
        },
        status: { replicas: 4, readyReplicas: 2, updatedReplicas: 1, availableReplicas: 2 },
      },
      ['web', '2/3', 1, 2, '40s', 'web,log', 'nginx:1.27,busybox', 'app=web,tier in (edge,front)'],
    ],
    [
      'just created, with defaulting not yet visible',
      {
        metadata: { name: 'new', creationTimestamp: ago(1) },
        spec: { selector: {}, template },
      },
      ['new', '0/1', 0, 0, '1s', 'web,log', 'nginx:1.27,busybox', ''],
    ],
  ])('%s', (_, obj, want) => {
    expect(cells('Deployment', obj)).toEqual(want);
  });
});

describe('replicasets', () => {
  it('has kube-apiserver’s columns', () => {
    expect(columns('ReplicaSet')).toEqual([
      ['Name', 0],
      ['Desired', 0],
      ['Current', 0],
      ['Ready', 0],
      ['Age', 0],
      ['Containers', 1],
      ['Images', 1],
      ['Selector', 1],
    ]);
  });

  it.each<[string, KubeObject, TableCell[]]>([
    [
      'scaled up',
      {
        metadata: { name: 'web-5d8f9', creationTimestamp: ago(600) },
        spec: {
          replicas: 3,
          selector: { matchLabels: { app: 'web', 'pod-template-hash': '5d8f9' } },
          template,
        },
        status: { replicas: 3, readyReplicas: 2 },
      },
      [
        'web-5d8f9',
        3,
        3,
        2,
        '10m',
        'web,log',
        'nginx:1.27,busybox',
        'app=web,pod-template-hash=5d8f9',
      ],
    ],
    [
      'scaled to zero, with an empty selector',
      {
        metadata: { name: 'old', creationTimestamp: ago(600) },
        spec: { replicas: 0, selector: {}, template },
        status: { replicas: 0 },
      },
      ['old', 0, 0, 0, '10m', 'web,log', 'nginx:1.27,busybox', '<none>'],
    ],
  ])('%s', (_, obj, want) => {
    expect(cells('ReplicaSet', obj)).toEqual(want);
  });
});

describe('daemonsets', () => {
  it('has kube-apiserver’s columns', () => {
    expect(columns('DaemonSet')).toEqual([
      ['Name', 0],
      ['Desired', 0],
      ['Current', 0],
      ['Ready', 0],
      ['Up-to-date', 0],
      ['Available', 0],
      ['Node Selector', 0],
      ['Age', 0],
      ['Containers', 1],
      ['Images', 1],
      ['Selector', 1],
    ]);
  });

  it.each<[string, KubeObject, TableCell[]]>([
    [
      'on linux nodes',
      {
        metadata: { name: 'agent', creationTimestamp: ago(86400) },
        spec: {
          selector: { matchLabels: { app: 'agent' } },
          template: {
            ...template,
            spec: { ...template.spec, nodeSelector: { 'kubernetes.io/os': 'linux', disk: 'ssd' } },
          },
        },
        status: {
          desiredNumberScheduled: 3,
          currentNumberScheduled: 3,
          numberReady: 2,
          updatedNumberScheduled: 3,
          numberAvailable: 2,
        },
      },
      [
        'agent',
        3,
        3,
        2,
        3,
        2,
        'disk=ssd,kubernetes.io/os=linux',
        '24h',
        'web,log',
        'nginx:1.27,busybox',
        'app=agent',
      ],
    ],
    [
      'on every node, before its first status',
      {
        metadata: { name: 'fresh', creationTimestamp: ago(2) },
        spec: { selector: { matchLabels: { app: 'fresh' } }, template },
      },
      ['fresh', 0, 0, 0, 0, 0, '<none>', '2s', 'web,log', 'nginx:1.27,busybox', 'app=fresh'],
    ],
  ])('%s', (_, obj, want) => {
    expect(cells('DaemonSet', obj)).toEqual(want);
  });
});

describe('jobs', () => {
  it('has kube-apiserver’s columns', () => {
    expect(columns('Job')).toEqual([
      ['Name', 0],
      ['Status', 0],
      ['Completions', 0],
      ['Duration', 0],
      ['Age', 0],
      ['Containers', 1],
      ['Images', 1],
      ['Selector', 1],
    ]);
  });

  const job = (
    spec: Record<string, unknown>,
    status: Record<string, unknown>,
    deleting = false,
  ) => ({
    metadata: {
      name: 'batch',
      creationTimestamp: ago(900),
      ...(deleting ? { deletionTimestamp: ago(1) } : {}),
    },
    spec: {
      selector: { matchLabels: { 'batch.kubernetes.io/controller-uid': 'abc' } },
      template,
      ...spec,
    },
    status,
  });
  const wide = ['web,log', 'nginx:1.27,busybox', 'batch.kubernetes.io/controller-uid=abc'];

  it.each<[string, KubeObject, TableCell[]]>([
    [
      'complete',
      job(
        { completions: 1, parallelism: 1 },
        {
          succeeded: 1,
          startTime: ago(890),
          completionTime: ago(765),
          conditions: [cond('SuccessCriteriaMet', 'True'), cond('Complete', 'True')],
        },
      ),
      ['batch', 'Complete', '1/1', '2m5s', '15m', ...wide],
    ],
    [
      'running, five completions wanted',
      job({ completions: 5, parallelism: 2 }, { succeeded: 2, active: 2, startTime: ago(300) }),
      ['batch', 'Running', '2/5', '5m', '15m', ...wide],
    ],
    [
      'running, a work queue of three workers',
      job({ parallelism: 3 }, { active: 3, startTime: ago(60) }),
      ['batch', 'Running', '0/1 of 3', '60s', '15m', ...wide],
    ],
    [
      'failed',
      job(
        { completions: 1, parallelism: 1, backoffLimit: 0 },
        {
          failed: 1,
          startTime: ago(800),
          conditions: [cond('FailureTarget', 'True'), cond('Failed', 'True')],
        },
      ),
      ['batch', 'Failed', '0/1', '13m', '15m', ...wide],
    ],
    [
      'about to fail',
      job({ completions: 1 }, { startTime: ago(800), conditions: [cond('FailureTarget', 'True')] }),
      ['batch', 'FailureTarget', '0/1', '13m', '15m', ...wide],
    ],
    [
      'suspended before it started',
      job({ completions: 1, suspend: true }, { conditions: [cond('Suspended', 'True')] }),
      ['batch', 'Suspended', '0/1', '', '15m', ...wide],
    ],
    [
      'being deleted',
      job({ completions: 1 }, { startTime: ago(100) }, true),
      ['batch', 'Terminating', '0/1', '100s', '15m', ...wide],
    ],
  ])('%s', (_, obj, want) => {
    expect(cells('Job', obj)).toEqual(want);
  });
});

// ---------------------------------------------------------------------------
// Services and Endpoints

describe('services', () => {
  it('has kube-apiserver’s columns', () => {
    expect(columns('Service')).toEqual([
      ['Name', 0],
      ['Type', 0],
      ['Cluster-IP', 0],
      ['External-IP', 0],
      ['Port(s)', 0],
      ['Age', 0],
      ['Selector', 1],
    ]);
  });

  const svc = (
    spec: Record<string, unknown>,
    status: Record<string, unknown> = {},
  ): KubeObject => ({
    metadata: { name: 'svc', creationTimestamp: ago(3600) },
    spec,
    status,
  });

  it.each<[string, KubeObject, TableCell[]]>([
    [
      'cluster DNS',
      svc({
        type: 'ClusterIP',
        clusterIP: '10.96.0.10',
        clusterIPs: ['10.96.0.10'],
        selector: { 'k8s-app': 'kube-dns' },
        ports: [
          { name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 },
          { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 },
          { name: 'metrics', port: 9153, protocol: 'TCP', targetPort: 9153 },
        ],
      }),
      [
        'svc',
        'ClusterIP',
        '10.96.0.10',
        '<none>',
        '53/UDP,53/TCP,9153/TCP',
        '60m',
        'k8s-app=kube-dns',
      ],
    ],
    [
      'a node port with external IPs',
      svc({
        type: 'NodePort',
        clusterIPs: ['10.96.3.4', 'fd00::3:4'],
        externalIPs: ['198.51.100.1', '198.51.100.2'],
        selector: { app: 'web', tier: 'front' },
        ports: [{ port: 80, nodePort: 30080, protocol: 'TCP' }],
      }),
      [
        'svc',
        'NodePort',
        '10.96.3.4',
        '198.51.100.1,198.51.100.2',
        '80:30080/TCP',
        '60m',
        'app=web,tier=front',
      ],
    ],
    [
      'a load balancer still pending',
      svc({
        type: 'LoadBalancer',
        clusterIP: '10.96.5.5',
        ports: [{ port: 443, nodePort: 31443 }],
      }),
      ['svc', 'LoadBalancer', '10.96.5.5', '<pending>', '443:31443/TCP', '60m', '<none>'],
    ],
    [
      'a load balancer with addresses, never clipped',
      svc(
        {
          type: 'LoadBalancer',
          clusterIPs: ['10.96.5.5'],
          externalIPs: ['192.0.2.9'],
          ports: [{ port: 443, nodePort: 31443, protocol: 'TCP' }],
        },
        {
          loadBalancer: {
            ingress: [
              { hostname: 'a1b2c3.elb.example.com' },
              { ip: '203.0.113.10' },
              { ip: '203.0.113.10' },
            ],
          },
        },
      ),
      [
        'svc',
        'LoadBalancer',
        '10.96.5.5',
        '203.0.113.10,a1b2c3.elb.example.com,192.0.2.9',
        '443:31443/TCP',
        '60m',
        '<none>',
      ],
    ],
    [
      'an external name',
      svc({ type: 'ExternalName', externalName: 'db.example.com' }),
      ['svc', 'ExternalName', '<none>', 'db.example.com', '<none>', '60m', '<none>'],
    ],
    [
      'headless',
      svc({
        type: 'ClusterIP',
        clusterIP: 'None',
        clusterIPs: ['None'],
        selector: { app: 'db' },
        ports: [{ port: 5432, protocol: 'TCP' }],
      }),
      ['svc', 'ClusterIP', 'None', '<none>', '5432/TCP', '60m', 'app=db'],
    ],
  ])('%s', (_, obj, want) => {
    expect(cells('Service', obj)).toEqual(want);
  });
});

describe('endpoints', () => {
  it('has kube-apiserver’s columns', () => {
    expect(columns('Endpoints')).toEqual([
      ['Name', 0],
      ['Endpoints', 0],
      ['Age', 0],
    ]);
  });

  const ep = (subsets?: unknown[]): KubeObject => ({
    metadata: { name: 'web', creationTimestamp: ago(300) },
    ...(subsets ? { subsets } : {}),
  });
  const addrs = (...ips: string[]) => ips.map((ip) => ({ ip }));

  it.each<[string, KubeObject, string]>([
    ['no subsets', ep(), '<none>'],
    [
      'two pods on one port',
      ep([
        { addresses: addrs('10.244.1.5', '10.244.2.6'), ports: [{ port: 8080, protocol: 'TCP' }] },
      ]),
      '10.244.1.5:8080,10.244.2.6:8080',
    ],
    [
      'more than three',
      ep([
        {
          addresses: addrs('10.0.0.1', '10.0.0.2'),
          ports: [
            { name: 'http', port: 80 },
            { name: 'https', port: 443 },
          ],
        },
        { addresses: addrs('10.0.0.3'), ports: [{ port: 80 }] },
      ]),
      '10.0.0.1:80,10.0.0.2:80,10.0.0.1:443 + 2 more...',
    ],
    ['IPv6', ep([{ addresses: addrs('fd00::5'), ports: [{ port: 80 }] }]), '[fd00::5]:80'],
    [
      'headless without ports',
      ep([{ addresses: addrs('10.0.0.1', '10.0.0.2') }]),
      '10.0.0.1,10.0.0.2',
    ],
    [
      'only not-ready addresses',
      ep([{ notReadyAddresses: addrs('10.0.0.1'), ports: [{ port: 80 }] }]),
      '',
    ],
  ])('%s', (_, obj, want) => {
    expect(cells('Endpoints', obj)).toEqual(['web', want, '5m']);
  });
});

// ---------------------------------------------------------------------------
// Events

describe('events', () => {
  it('has kube-apiserver’s columns', () => {
    expect(columns('Event')).toEqual([
      ['Last Seen', 0],
      ['Type', 0],
      ['Reason', 0],
      ['Object', 0],
      ['Subobject', 1],
      ['Source', 1],
      ['Message', 0],
      ['First Seen', 1],
      ['Count', 1],
      ['Name', 1],
    ]);
    expect(table('Event', []).columnDefinitions[9]?.format).toBe('name');
  });

  it.each<[string, KubeObject, TableCell[]]>([
    [
      'a repeated kubelet event',
      {
        metadata: { name: 'web-1.17f3a', namespace: 'default', creationTimestamp: ago(600) },
        involvedObject: {
          kind: 'Pod',
          name: 'web-1',
          namespace: 'default',
          fieldPath: 'spec.containers{web}',
        },
        reason: 'BackOff',
        message: 'Back-off restarting failed container web in pod web-1\n',
        source: { component: 'kubelet', host: 'node-1' },
        firstTimestamp: ago(600),
        lastTimestamp: ago(30),
        count: 7,
        type: 'Warning',
      },
      [
        '30s',
        'Warning',
        'BackOff',
        'pod/web-1',
        'spec.containers{web}',
        'kubelet, node-1',
        'Back-off restarting failed container web in pod web-1',
        '10m',
        7,
        'web-1.17f3a',
      ],
    ],
    [
      'a scheduler event written through events.k8s.io',
      {
        metadata: { name: 'web-2.17f3b', namespace: 'default', creationTimestamp: ago(45) },
        involvedObject: { kind: 'Pod', name: 'web-2', namespace: 'default' },
        reason: 'Scheduled',
        message: 'Successfully assigned default/web-2 to node-2',
        source: {},
        eventTime: '2025-03-01T11:59:15.000000Z',
        reportingComponent: 'default-scheduler',
        reportingInstance: 'default-scheduler-cp-1',
        type: 'Normal',
      },
      [
        '45s',
        'Normal',
        'Scheduled',
        'pod/web-2',
        '',
        'default-scheduler, default-scheduler-cp-1',
        'Successfully assigned default/web-2 to node-2',
        '45s',
        1,
        'web-2.17f3b',
      ],
    ],
    [
      'a series',
      {
        metadata: { name: 'n.1', creationTimestamp: ago(4000) },
        involvedObject: { kind: 'Node' },
        reason: 'NodeNotReady',
        message: 'Node is not ready',
        eventTime: '2025-03-01T10:53:20.000000Z',
        series: { count: 12, lastObservedTime: '2025-03-01T11:58:00.000000Z' },
        reportingComponent: 'node-controller',
        type: 'Normal',
      },
      [
        '2m',
        'Normal',
        'NodeNotReady',
        'node',
        '',
        'node-controller',
        'Node is not ready',
        '66m',
        12,
        'n.1',
      ],
    ],
  ])('%s', (_, obj, want) => {
    expect(cells('Event', obj)).toEqual(want);
  });
});

describe('persistent volumes, claims, storage classes and stateful sets', () => {
  it('have kube-apiserver’s columns', () => {
    expect(columns('PersistentVolume')).toEqual([
      ['Name', 0],
      ['Capacity', 0],
      ['Access Modes', 0],
      ['Reclaim Policy', 0],
      ['Status', 0],
      ['Claim', 0],
      ['StorageClass', 0],
      ['Reason', 0],
      ['Age', 0],
      ['VolumeMode', 1],
    ]);
    expect(columns('PersistentVolumeClaim')).toEqual([
      ['Name', 0],
      ['Status', 0],
      ['Volume', 0],
      ['Capacity', 0],
      ['Access Modes', 0],
      ['StorageClass', 0],
      ['Age', 0],
      ['VolumeMode', 1],
    ]);
    expect(columns('StorageClass').map(([n]) => n)).toEqual([
      'Name',
      'Provisioner',
      'ReclaimPolicy',
      'VolumeBindingMode',
      'AllowVolumeExpansion',
      'Age',
    ]);
    expect(columns('StatefulSet')).toEqual([
      ['Name', 0],
      ['Ready', 0],
      ['Age', 0],
      ['Containers', 1],
      ['Images', 1],
    ]);
  });

  it('prints a bound volume and claim as kubectl does', () => {
    const pv: KubeObject = {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: 'pvc-1', creationTimestamp: ago(120) },
      spec: {
        capacity: { storage: '1Gi' },
        accessModes: ['ReadOnlyMany', 'ReadWriteOnce'],
        persistentVolumeReclaimPolicy: 'Delete',
        storageClassName: 'local',
        claimRef: { namespace: 'default', name: 'data' },
      },
      status: { phase: 'Bound' },
    };
    expect(cells('PersistentVolume', pv)).toEqual([
      'pvc-1',
      '1Gi',
      'RWO,ROX',
      'Delete',
      'Bound',
      'default/data',
      'local',
      '',
      '2m',
      'Filesystem',
    ]);
    const pending: KubeObject = {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'data', creationTimestamp: ago(30) },
      spec: { storageClassName: 'local', resources: { requests: { storage: '1Gi' } } },
      status: { phase: 'Pending' },
    };
    expect(cells('PersistentVolumeClaim', pending)).toEqual([
      'data',
      'Pending',
      '',
      '',
      '',
      'local',
      '30s',
      'Filesystem',
    ]);
  });

  it('marks the default class and counts ready stateful pods', () => {
    const sc: KubeObject = {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: {
        name: 'local',
        creationTimestamp: ago(3600),
        annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' },
      },
      provisioner: 'shoal.io/local',
      reclaimPolicy: 'Delete',
      volumeBindingMode: 'WaitForFirstConsumer',
    };
    expect(cells('StorageClass', sc)).toEqual([
      'local (default)',
      'shoal.io/local',
      'Delete',
      'WaitForFirstConsumer',
      'false',
      '60m',
    ]);
    const sts: KubeObject = {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'db', creationTimestamp: ago(10) },
      spec: { replicas: 3, template: { spec: { containers: [{ name: 'db', image: 'busybox' }] } } },
      status: { readyReplicas: 2 },
    };
    expect(cells('StatefulSet', sts)).toEqual(['db', '2/3', '10s', 'db', 'busybox']);
  });
});
