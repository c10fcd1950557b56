// The pod's API status, computed from what the runtime reports, the way the
// kubelet computes it: getPhase and convertToAPIContainerStatuses
// (pkg/kubelet/kubelet_pods.go), the condition generators
// (pkg/kubelet/status/generate.go) and the lastTransitionTime bookkeeping of
// the status manager. Pure functions: the pod worker supplies observations
// and a clock reading, and sends what comes back.

import type { KubeObject } from '../../controlplane/api/objects.js';
import {
  podSpec,
  podStatusOf,
  type Container,
  type ContainerState,
  type ContainerStatus,
  type PodCondition,
  type PodSpec,
  type PodStatus,
} from './types.js';

/** What the runtime side knows about one container of a pod. */
export interface RuntimeContainerState {
  waiting?: { reason: string; message?: string };
  running?: { startedAt: string };
  terminated?: {
    exitCode: number;
    reason: string;
    message?: string;
    startedAt?: string;
    finishedAt: string;
  };
}

export interface ContainerRuntimeState {
  name: string;
  image: string;
  imageID?: string;
  /** 'runc://<id>' */
  containerID?: string;
  state: RuntimeContainerState;
  lastState?: RuntimeContainerState;
  restartCount: number;
  /** The readiness probe's verdict (true when there is no probe). Ignored unless running and started. */
  ready: boolean;
  /** The startup probe's verdict; absent means "no startup probe", i.e. started once running. */
  started?: boolean;
}

export interface PodStatusInput {
  pod: KubeObject;
  initContainers: ContainerRuntimeState[];
  containers: ContainerRuntimeState[];
  podIP?: string;
  hostIP?: string;
  startTime?: string;
  /** RFC 3339 time used for conditions that change now. */
  now: string;
  /** The status last sent; defaults to the pod's own status. */
  previous?: PodStatus;
}

// Condition reasons, as the kubelet spells them.
export const ContainersNotReady = 'ContainersNotReady';
export const ContainersNotInitialized = 'ContainersNotInitialized';
export const PodCompleted = 'PodCompleted';
export const PodFailedReason = 'PodFailed';
export const ReadinessGatesNotReady = 'ReadinessGatesNotReady';
export const UnknownContainerStatuses = 'UnknownContainerStatuses';

/** Default waiting reasons for containers the runtime has not created yet. */
export const ContainerCreating = 'ContainerCreating';
export const PodInitializing = 'PodInitializing';

// The kubelet owns these condition types; any other condition on the pod
// (readiness gates, DisruptionTarget) is somebody else's and is kept.
const KUBELET_CONDITIONS = new Set(['PodScheduled', 'Ready', 'Initialized', 'ContainersReady']);

type Phase = NonNullable<PodStatus['phase']>;

export function isRestartableInitContainer(c: Container): boolean {
  return c.restartPolicy === 'Always';
}

export function computePodStatus(input: PodStatusInput): PodStatus {
  const { pod } = input;
  const spec = podSpec(pod);
  const apiStatus = podStatusOf(pod);
  const previous = input.previous ?? apiStatus;
  const hasInit = (spec.initContainers ?? []).length > 0;

  const initContainerStatuses = (spec.initContainers ?? []).map((c) =>
    toContainerStatus(
      c,
      find(input.initContainers, c.name),
      hasInit,
      !isRestartableInitContainer(c),
    ),
  );
  // The kubelet sorts regular container statuses by name (SortedContainerStatuses)
  // and keeps init containers in spec order, since their order means something.
  const containerStatuses = (spec.containers ?? [])
    .map((c) => toContainerStatus(c, find(input.containers, c.name), hasInit, false))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  const all = [...initContainerStatuses, ...containerStatuses];
  let phase = getPhase(spec, all);
  // A terminal phase is final: the kubelet refuses to move a pod out of it.
  for (const known of [apiStatus.phase, previous.phase]) {
    if ((known === 'Succeeded' || known === 'Failed') && phase !== known) phase = known;
  }

  const preserved = (apiStatus.conditions ?? []).filter((c) => !KUBELET_CONDITIONS.has(c.type));
  const kubeletConditions: PodCondition[] = [
    podInitializedCondition(spec, all, phase),
    podReadyCondition(spec, preserved, all, phase),
    containersReadyCondition(spec, all, phase),
    { type: 'PodScheduled', status: 'True' },
  ];
  const conditions = [
    ...preserved,
    ...kubeletConditions.map((c) => withTransitionTime(c, previous.conditions ?? [], input.now)),
  ];

  const status: PodStatus = { phase, conditions };

  const hostIP = input.hostIP ?? previous.hostIP;
  if (hostIP) {
    status.hostIP = hostIP;
    status.hostIPs = [{ ip: hostIP }];
  }
  // A host-network pod's address is its host's; otherwise keep the last known
  // address while the sandbox is being (re)created, as the kubelet does.
  const podIP = spec.hostNetwork ? hostIP : (input.podIP ?? previous.podIP);
  if (podIP) {
    status.podIP = podIP;
    status.podIPs = [{ ip: podIP }];
  }
  status.startTime = input.startTime ?? previous.startTime ?? input.now;
  if (hasInit) status.initContainerStatuses = initContainerStatuses;
  status.containerStatuses = containerStatuses;
  const qosClass = previous.qosClass ?? apiStatus.qosClass;
  if (qosClass) status.qosClass = qosClass;
  return status;
}

function find(list: ContainerRuntimeState[], name: string): ContainerRuntimeState | undefined {
  return list.find((c) => c.name === name);
}

function toApiState(
  s: RuntimeContainerState | undefined,
  containerID: string | undefined,
): ContainerState {
  if (!s) return {};
  if (s.running) return { running: { startedAt: s.running.startedAt } };
  if (s.terminated) {
    const t = s.terminated;
    return {
      terminated: {
        exitCode: t.exitCode,
        reason: t.reason,
        ...(t.message ? { message: t.message } : {}),
        ...(t.startedAt ? { startedAt: t.startedAt } : {}),
        finishedAt: t.finishedAt,
        ...(containerID ? { containerID } : {}),
      },
    };
  }
  if (s.waiting)
    return {
      waiting: {
        reason: s.waiting.reason,
        ...(s.waiting.message ? { message: s.waiting.message } : {}),
      },
    };
  return {};
}

// convertToAPIContainerStatuses plus the probe manager's UpdatePodStatus: a
// container the runtime has not created waits with ContainerCreating (or
// PodInitializing when the pod has init containers); `started` and `ready`
// only hold while it runs; a regular init container is ready once it exited 0.
function toContainerStatus(
  c: Container,
  rt: ContainerRuntimeState | undefined,
  hasInit: boolean,
  regularInit: boolean,
): ContainerStatus {
  if (!rt) {
    return {
      name: c.name,
      state: { waiting: { reason: hasInit ? PodInitializing : ContainerCreating } },
      lastState: {},
      ready: false,
      restartCount: 0,
      image: c.image ?? '',
      imageID: '',
      started: false,
    };
  }
  const running = rt.state.running !== undefined;
  const started = running && (rt.started ?? true);
  let ready = started && rt.ready;
  if (regularInit) ready = rt.state.terminated !== undefined && rt.state.terminated.exitCode === 0;
  const status: ContainerStatus = {
    name: c.name,
    state: toApiState(rt.state, rt.containerID),
    lastState: toApiState(rt.lastState, undefined),
    ready,
    restartCount: rt.restartCount,
    image: rt.image,
    imageID: rt.imageID ?? '',
  };
  if (rt.containerID) status.containerID = rt.containerID;
  status.started = started;
  return status;
}

function statusOf(statuses: ContainerStatus[], name: string): ContainerStatus | undefined {
  return statuses.find((s) => s.name === name);
}

/** kubecontainer.HasAnyRegularContainerStarted */
function hasAnyRegularContainerStarted(spec: PodSpec, statuses: ContainerStatus[]): boolean {
  const names = new Set((spec.containers ?? []).map((c) => c.name));
  return statuses.some(
    (s) =>
      names.has(s.name) && (s.state?.running !== undefined || s.state?.terminated !== undefined),
  );
}

/** The kubelet's getPhase for a pod that is not being terminated. */
export function getPhase(spec: PodSpec, statuses: ContainerStatus[]): Phase {
  let pendingRegularInit = 0;
  let failedInit = 0;
  let pendingRestartableInit = 0;
  let unknown = 0;
  let running = 0;
  let waiting = 0;
  let stopped = 0;
  let succeeded = 0;

  for (const c of spec.initContainers ?? []) {
    if (isRestartableInitContainer(c)) continue;
    const s = statusOf(statuses, c.name);
    if (!s) {
      pendingRegularInit++;
    } else if (s.state?.running) {
      pendingRegularInit++;
    } else if (s.state?.terminated) {
      if (s.state.terminated.exitCode !== 0) failedInit++;
    } else if (s.state?.waiting) {
      const last = s.lastState?.terminated;
      if (last) {
        if (last.exitCode !== 0) failedInit++;
      } else {
        pendingRegularInit++;
      }
    } else {
      pendingRegularInit++;
    }
  }

  for (const c of spec.initContainers ?? []) {
    if (!isRestartableInitContainer(c)) continue;
    const s = statusOf(statuses, c.name);
    if (!s) {
      unknown++;
    } else if (s.state?.running) {
      if (!s.started) pendingRestartableInit++;
      running++;
    } else if (s.state?.terminated) {
      // A stopped sidecar does not decide the phase.
    } else if (s.state?.waiting) {
      if (!s.lastState?.terminated) {
        pendingRestartableInit++;
        waiting++;
      }
    } else {
      pendingRestartableInit++;
      unknown++;
    }
  }

  for (const c of spec.containers ?? []) {
    const s = statusOf(statuses, c.name);
    if (!s) {
      unknown++;
    } else if (s.state?.running) {
      running++;
    } else if (s.state?.terminated) {
      stopped++;
      if (s.state.terminated.exitCode === 0) succeeded++;
    } else if (s.state?.waiting) {
      if (s.lastState?.terminated) stopped++;
      else waiting++;
    } else {
      unknown++;
    }
  }

  const restartPolicy = spec.restartPolicy ?? 'Always';
  if (failedInit > 0 && restartPolicy === 'Never') return 'Failed';

  if (
    pendingRegularInit > 0 ||
    (pendingRestartableInit > 0 && !hasAnyRegularContainerStarted(spec, statuses))
  ) {
    return 'Pending';
  }
  if (waiting > 0) return 'Pending';
  if (running > 0 && unknown === 0) return 'Running';
  if (running === 0 && stopped > 0 && unknown === 0) {
    // Every container has run; whether the pod is done depends on whether
    // anything will restart.
    if (restartPolicy === 'Always') return 'Running';
    if (stopped === succeeded) return 'Succeeded';
    if (restartPolicy === 'Never') return 'Failed';
    return 'Running';
  }
  return 'Pending';
}

// Go prints a []string with %s as "[a b]"; the kubelet's messages use that.
function goList(names: string[]): string {
  return `[${names.join(' ')}]`;
}

function containersReadyCondition(
  spec: PodSpec,
  statuses: ContainerStatus[],
  phase: Phase,
): PodCondition {
  const unknown: string[] = [];
  const unready: string[] = [];
  for (const c of spec.initContainers ?? []) {
    if (!isRestartableInitContainer(c)) continue;
    const s = statusOf(statuses, c.name);
    if (!s) unknown.push(c.name);
    else if (!s.ready) unready.push(c.name);
  }
  for (const c of spec.containers ?? []) {
    const s = statusOf(statuses, c.name);
    if (!s) unknown.push(c.name);
    else if (!s.ready) unready.push(c.name);
  }
  if (phase === 'Succeeded' && unknown.length === 0) {
    return { type: 'ContainersReady', status: 'False', reason: PodCompleted };
  }
  if (phase === 'Failed')
    return { type: 'ContainersReady', status: 'False', reason: PodFailedReason };
  const messages: string[] = [];
  if (unknown.length > 0) messages.push(`containers with unknown status: ${goList(unknown)}`);
  if (unready.length > 0) messages.push(`containers with unready status: ${goList(unready)}`);
  if (messages.length > 0) {
    return {
      type: 'ContainersReady',
      status: 'False',
      reason: ContainersNotReady,
      message: messages.join(', '),
    };
  }
  return { type: 'ContainersReady', status: 'True' };
}

function podReadyCondition(
  spec: PodSpec,
  conditions: PodCondition[],
  statuses: ContainerStatus[],
  phase: Phase,
): PodCondition {
  const containersReady = containersReadyCondition(spec, statuses, phase);
  if (containersReady.status !== 'True') {
    const c: PodCondition = { type: 'Ready', status: containersReady.status };
    if (containersReady.reason) c.reason = containersReady.reason;
    if (containersReady.message) c.message = containersReady.message;
    return c;
  }
  const messages: string[] = [];
  for (const gate of spec.readinessGates ?? []) {
    const c = conditions.find((x) => x.type === gate.conditionType);
    if (!c) {
      messages.push(
        `corresponding condition of pod readiness gate "${gate.conditionType}" does not exist.`,
      );
    } else if (c.status !== 'True') {
      messages.push(
        `the status of pod readiness gate "${gate.conditionType}" is not "True", but ${c.status}`,
      );
    }
  }
  if (messages.length > 0) {
    return {
      type: 'Ready',
      status: 'False',
      reason: ReadinessGatesNotReady,
      message: messages.join(', '),
    };
  }
  return { type: 'Ready', status: 'True' };
}

function podInitializedCondition(
  spec: PodSpec,
  statuses: ContainerStatus[],
  phase: Phase,
): PodCondition {
  const unknown: string[] = [];
  const incomplete: string[] = [];
  for (const c of spec.initContainers ?? []) {
    const s = statusOf(statuses, c.name);
    if (!s) unknown.push(c.name);
    else if (isRestartableInitContainer(c) ? !s.started : !s.ready) incomplete.push(c.name);
  }
  if (phase === 'Succeeded' && unknown.length === 0) {
    return { type: 'Initialized', status: 'True', reason: PodCompleted };
  }
  // Once a regular container has run, the pod was initialized, even if a
  // sidecar is restarting now.
  if (hasAnyRegularContainerStarted(spec, statuses)) return { type: 'Initialized', status: 'True' };
  const messages: string[] = [];
  if (unknown.length > 0) messages.push(`containers with unknown status: ${goList(unknown)}`);
  if (incomplete.length > 0)
    messages.push(`containers with incomplete status: ${goList(incomplete)}`);
  if (messages.length > 0) {
    return {
      type: 'Initialized',
      status: 'False',
      reason: ContainersNotInitialized,
      message: messages.join(', '),
    };
  }
  return { type: 'Initialized', status: 'True' };
}

// The status manager's updateLastTransitionTime: a condition keeps its old
// transition time while its status stays the same.
function withTransitionTime(c: PodCondition, previous: PodCondition[], now: string): PodCondition {
  const old = previous.find((p) => p.type === c.type);
  const lastTransitionTime =
    old && old.status === c.status && old.lastTransitionTime ? old.lastTransitionTime : now;
  return { type: c.type, status: c.status, lastProbeTime: null, lastTransitionTime, ...rest(c) };
}

function rest(c: PodCondition): Partial<PodCondition> {
  const out: Partial<PodCondition> = {};
  if (c.reason) out.reason = c.reason;
  if (c.message) out.message = c.message;
  return out;
}
