import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../controlplane/api/objects.js';
import { computePodStatus, type ContainerRuntimeState } from './status.js';
import type { PodCondition, PodSpec, PodStatus } from './types.js';

const T0 = '2024-05-01T10:00:00Z';
const T1 = '2024-05-01T10:05:00Z';

function pod(spec: PodSpec, status?: PodStatus): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'default', uid: 'u1' },
    spec,
    ...(status ? { status } : {}),
  };
}

function running(
  name: string,
  ready = true,
  extra: Partial<ContainerRuntimeState> = {},
): ContainerRuntimeState {
  return {
    name,
    image: 'busybox',
    imageID: 'sha256:abc',
    containerID: `runc://${name}-1`,
    state: { running: { startedAt: T0 } },
    restartCount: 0,
    ready,
    ...extra,
  };
}

function exited(
  name: string,
  exitCode: number,
  extra: Partial<ContainerRuntimeState> = {},
): ContainerRuntimeState {
  return {
    name,
    image: 'busybox',
    containerID: `runc://${name}-1`,
    state: {
      terminated: {
        exitCode,
        reason: exitCode === 0 ? 'Completed' : 'Error',
        startedAt: T0,
        finishedAt: T1,
      },
    },
    restartCount: 0,
    ready: false,
    ...extra,
  };
}

function cond(status: PodStatus, type: string): PodCondition | undefined {
  return status.conditions?.find((c) => c.type === type);
}

const one: PodSpec = { containers: [{ name: 'web', image: 'busybox' }] };

interface Case {
  name: string;
  spec: PodSpec;
  init?: ContainerRuntimeState[];
  containers: ContainerRuntimeState[];
  phase: string;
  ready: [string, string?, string?];
  initialized?: [string, string?, string?];
}

const cases: Case[] = [
  {
    name: 'running and ready',
    spec: one,
    containers: [running('web')],
    phase: 'Running',
    ready: ['True'],
    initialized: ['True'],
  },
  {
    name: 'running, readiness probe not passed',
    spec: one,
    containers: [running('web', false)],
    phase: 'Running',
    ready: ['False', 'ContainersNotReady', 'containers with unready status: [web]'],
  },
  {
    name: 'running, startup probe not passed yet: not ready whatever the readiness says',
    spec: one,
    containers: [running('web', true, { started: false })],
    phase: 'Running',
    ready: ['False', 'ContainersNotReady', 'containers with unready status: [web]'],
  },
  {
    name: 'crash loop: waiting with last state terminated counts as stopped',
    spec: one,
    containers: [
      {
        name: 'web',
        image: 'busybox',
        state: {
          waiting: {
            reason: 'CrashLoopBackOff',
            message: 'back-off 20s restarting failed container=web',
          },
        },
        lastState: { terminated: { exitCode: 1, reason: 'Error', finishedAt: T0 } },
        restartCount: 3,
        ready: true,
      },
    ],
    phase: 'Running',
    ready: ['False', 'ContainersNotReady', 'containers with unready status: [web]'],
  },
  {
    name: 'Never, exit 0: Succeeded',
    spec: { ...one, restartPolicy: 'Never' },
    containers: [exited('web', 0)],
    phase: 'Succeeded',
    ready: ['False', 'PodCompleted'],
    initialized: ['True', 'PodCompleted'],
  },
  {
    name: 'Never, exit 1: Failed',
    spec: { ...one, restartPolicy: 'Never' },
    containers: [exited('web', 1)],
    phase: 'Failed',
    ready: ['False', 'PodFailed'],
  },
  {
    name: 'OnFailure, exit 1 and restarting: Running',
    spec: { ...one, restartPolicy: 'OnFailure' },
    containers: [exited('web', 1)],
    phase: 'Running',
    ready: ['False', 'ContainersNotReady', 'containers with unready status: [web]'],
  },
  {
    name: 'OnFailure, exit 0: Succeeded',
    spec: { ...one, restartPolicy: 'OnFailure' },
    containers: [exited('web', 0)],
    phase: 'Succeeded',
    ready: ['False', 'PodCompleted'],
  },
  {
    name: 'image pull back-off: Pending',
    spec: one,
    containers: [
      {
        name: 'web',
        image: 'nope:1',
        state: {
          waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image "nope:1"' },
        },
        restartCount: 0,
        ready: false,
      },
    ],
    phase: 'Pending',
    ready: ['False', 'ContainersNotReady', 'containers with unready status: [web]'],
  },
  {
    name: 'two containers, one exited, Always: Running',
    spec: { containers: [{ name: 'web' }, { name: 'job' }] },
    containers: [running('web'), exited('job', 0)],
    phase: 'Running',
    ready: ['False', 'ContainersNotReady', 'containers with unready status: [job]'],
  },
  {
    name: 'no runtime state yet: ContainerCreating, Pending',
    spec: one,
    containers: [],
    phase: 'Pending',
    ready: ['False', 'ContainersNotReady', 'containers with unready status: [web]'],
  },
  {
    name: 'first init container running: Pending, not initialized',
    spec: { initContainers: [{ name: 'a' }, { name: 'b' }], containers: [{ name: 'web' }] },
    init: [running('a')],
    containers: [],
    phase: 'Pending',
    ready: ['False', 'ContainersNotReady', 'containers with unready status: [web]'],
    initialized: ['False', 'ContainersNotInitialized', 'containers with incomplete status: [a b]'],
  },
  {
    name: 'init containers done, app running',
    spec: { initContainers: [{ name: 'a' }], containers: [{ name: 'web' }] },
    init: [exited('a', 0)],
    containers: [running('web')],
    phase: 'Running',
    ready: ['True'],
    initialized: ['True'],
  },
  {
    name: 'init container failed, Never: Failed',
    spec: {
      restartPolicy: 'Never',
      initContainers: [{ name: 'a' }],
      containers: [{ name: 'web' }],
    },
    init: [exited('a', 2)],
    containers: [],
    phase: 'Failed',
    ready: ['False', 'PodFailed'],
    initialized: ['False', 'ContainersNotInitialized', 'containers with incomplete status: [a]'],
  },
  {
    name: 'init container failed, Always: Pending while it restarts',
    spec: { initContainers: [{ name: 'a' }], containers: [{ name: 'web' }] },
    init: [
      {
        name: 'a',
        image: 'busybox',
        state: { waiting: { reason: 'CrashLoopBackOff' } },
        lastState: { terminated: { exitCode: 1, reason: 'Error', finishedAt: T0 } },
        restartCount: 1,
        ready: false,
      },
    ],
    containers: [],
    phase: 'Pending',
    ready: ['False', 'ContainersNotReady', 'containers with unready status: [web]'],
    initialized: ['False', 'ContainersNotInitialized', 'containers with incomplete status: [a]'],
  },
  {
    name: 'sidecar running and started, app running: Running',
    spec: {
      initContainers: [{ name: 'side', restartPolicy: 'Always' }],
      containers: [{ name: 'web' }],
    },
    init: [running('side')],
    containers: [running('web')],
    phase: 'Running',
    ready: ['True'],
    initialized: ['True'],
  },
];

describe('computePodStatus', () => {
  it.each(cases)('$name', (c) => {
    const s = computePodStatus({
      pod: pod(c.spec),
      initContainers: c.init ?? [],
      containers: c.containers,
      podIP: '10.0.0.5',
      hostIP: '192.168.1.2',
      now: T1,
    });
    expect(s.phase).toBe(c.phase);
    const ready = cond(s, 'Ready');
    expect([ready?.status, ready?.reason, ready?.message]).toEqual([
      c.ready[0],
      c.ready[1],
      c.ready[2],
    ]);
    const cr = cond(s, 'ContainersReady');
    expect([cr?.status, cr?.reason, cr?.message]).toEqual([c.ready[0], c.ready[1], c.ready[2]]);
    if (c.initialized) {
      const init = cond(s, 'Initialized');
      expect([init?.status, init?.reason, init?.message]).toEqual([
        c.initialized[0],
        c.initialized[1],
        c.initialized[2],
      ]);
    }
    expect(cond(s, 'PodScheduled')?.status).toBe('True');
  });

  it('fills addresses, times and container statuses like the kubelet', () => {
    const s = computePodStatus({
      pod: pod(
        {
          containers: [
            { name: 'web', image: 'busybox' },
            { name: 'aaa', image: 'nginx' },
          ],
        },
        { phase: 'Pending', qosClass: 'BestEffort' },
      ),
      initContainers: [],
      containers: [running('web')],
      podIP: '10.0.0.5',
      hostIP: '192.168.1.2',
      startTime: T0,
      now: T1,
    });
    expect(s.podIP).toBe('10.0.0.5');
    expect(s.podIPs).toEqual([{ ip: '10.0.0.5' }]);
    expect(s.hostIPs).toEqual([{ ip: '192.168.1.2' }]);
    expect(s.startTime).toBe(T0);
    expect(s.qosClass).toBe('BestEffort');
    expect(s.initContainerStatuses).toBeUndefined();
    // Sorted by name, as the kubelet's SortedContainerStatuses does.
    expect(s.containerStatuses).toEqual([
      {
        name: 'aaa',
        state: { waiting: { reason: 'ContainerCreating' } },
        lastState: {},
        ready: false,
        restartCount: 0,
        image: 'nginx',
        imageID: '',
        started: false,
      },
      {
        name: 'web',
        state: { running: { startedAt: T0 } },
        lastState: {},
        ready: true,
        restartCount: 0,
        image: 'busybox',
        imageID: 'sha256:abc',
        containerID: 'runc://web-1',
        started: true,
      },
    ]);
    expect(s.conditions?.map((c) => c.type)).toEqual([
      'Initialized',
      'Ready',
      'ContainersReady',
      'PodScheduled',
    ]);
  });

  it('waits for init containers with PodInitializing and keeps them in spec order', () => {
    const s = computePodStatus({
      pod: pod({
        initContainers: [{ name: 'z' }, { name: 'a' }],
        containers: [{ name: 'web', image: 'x' }],
      }),
      initContainers: [exited('z', 0)],
      containers: [],
      now: T1,
    });
    expect(s.initContainerStatuses?.map((c) => [c.name, c.ready, c.state])).toEqual([
      [
        'z',
        true,
        {
          terminated: {
            exitCode: 0,
            reason: 'Completed',
            startedAt: T0,
            finishedAt: T1,
            containerID: 'runc://z-1',
          },
        },
      ],
      ['a', false, { waiting: { reason: 'PodInitializing' } }],
    ]);
    expect(s.containerStatuses?.[0]?.state).toEqual({ waiting: { reason: 'PodInitializing' } });
    expect(cond(s, 'Initialized')?.message).toBe('containers with incomplete status: [a]');
  });

  it('moves lastTransitionTime only when a condition changes status', () => {
    const first = computePodStatus({
      pod: pod(one),
      initContainers: [],
      containers: [running('web', false)],
      now: T0,
    });
    expect(cond(first, 'Ready')?.lastTransitionTime).toBe(T0);
    const later = '2024-05-01T11:00:00Z';
    const second = computePodStatus({
      pod: pod(one),
      initContainers: [],
      containers: [running('web', true)],
      now: later,
      previous: first,
    });
    expect(cond(second, 'Ready')?.lastTransitionTime).toBe(later);
    expect(cond(second, 'PodScheduled')?.lastTransitionTime).toBe(T0);
    expect(cond(second, 'Initialized')?.lastTransitionTime).toBe(T0);
  });

  it('keeps a terminal phase and conditions it does not own', () => {
    const gate = { type: 'example.com/gate', status: 'True' as const, lastTransitionTime: T0 };
    const s = computePodStatus({
      pod: pod(
        { ...one, readinessGates: [{ conditionType: 'example.com/gate' }] },
        {
          phase: 'Succeeded',
          conditions: [gate],
        },
      ),
      initContainers: [],
      containers: [running('web')],
      now: T1,
    });
    expect(s.phase).toBe('Succeeded');
    expect(s.conditions?.[0]).toEqual(gate);
  });

  it('reports an unmet readiness gate', () => {
    const s = computePodStatus({
      pod: pod({ ...one, readinessGates: [{ conditionType: 'example.com/gate' }] }),
      initContainers: [],
      containers: [running('web')],
      now: T1,
    });
    expect(cond(s, 'ContainersReady')?.status).toBe('True');
    expect(cond(s, 'Ready')).toMatchObject({
      status: 'False',
      reason: 'ReadinessGatesNotReady',
      message: 'corresponding condition of pod readiness gate "example.com/gate" does not exist.',
    });
  });

  it('gives a host-network pod its host address', () => {
    const s = computePodStatus({
      pod: pod({ ...one, hostNetwork: true }),
      initContainers: [],
      containers: [running('web')],
      hostIP: '192.168.1.2',
      now: T1,
    });
    expect(s.podIP).toBe('192.168.1.2');
  });
});
