// A pod as the scheduler reads it, parsed once: its requests, ports,
// tolerations, affinity and spread rules as typed values, so stages that run
// once per node per attempt never re-read the raw object. Malformed parts of
// a pod (which validation should have refused) read as absent.

import { isRecord, type KubeObject } from '../api/objects.js';
import { podRequests, type Resources } from './resources.js';

type Rec = Record<string, unknown>;

export interface Toleration {
  key: string;
  operator: 'Exists' | 'Equal';
  value: string;
  effect: string;
}

export interface HostPort {
  hostIP: string;
  protocol: string;
  port: number;
}

export interface SelectorRequirement {
  key: string;
  operator: string;
  values: string[];
}

/** A v1.NodeSelectorTerm: expressions over labels and fields, all ANDed. */
export interface NodeSelectorTerm {
  matchExpressions: SelectorRequirement[];
  matchFields: SelectorRequirement[];
}

export interface PreferredTerm {
  weight: number;
  preference: NodeSelectorTerm;
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

export interface PodAffinityTerm {
  /** null selects no pod, as a nil selector does in Kubernetes. */
  labelSelector: LabelSelector | null;
  /** The namespaces the term looks in: those listed, else the pod's own. */
  namespaces: string[];
  topologyKey: string;
}

export interface SpreadConstraint {
  maxSkew: number;
  topologyKey: string;
  whenUnsatisfiable: 'DoNotSchedule' | 'ScheduleAnyway';
  labelSelector: LabelSelector | null;
  minDomains: number;
}

export interface PodInfo {
  /** namespace/name, as informer keys read. */
  readonly key: string;
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly nodeName: string;
  readonly priority: number;
  readonly terminating: boolean;
  /** The uid of the ownerReference with controller: true, if any. */
  readonly controllerUid: string | undefined;
  /** For fitting: the requests as declared (init containers' max, overhead). */
  readonly requests: Readonly<Resources>;
  /** For scoring: unset cpu/memory counted as 100m/200Mi. */
  readonly nonZeroRequests: Readonly<Resources>;
  readonly hostPorts: readonly HostPort[];
  readonly nodeSelector: Readonly<Record<string, string>>;
  /** Required node affinity terms (ORed); undefined when the pod sets none. */
  readonly requiredNodeTerms: readonly NodeSelectorTerm[] | undefined;
  readonly preferredNodeTerms: readonly PreferredTerm[];
  readonly tolerations: readonly Toleration[];
  readonly requiredAffinity: readonly PodAffinityTerm[];
  readonly requiredAntiAffinity: readonly PodAffinityTerm[];
  readonly spreadConstraints: readonly SpreadConstraint[];
  readonly pod: KubeObject;
}

function recs(v: unknown): Rec[] {
  return Array.isArray(v) ? v.filter(isRecord) : [];
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : [];
}

function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isRecord(v)) return out;
  for (const [k, val] of Object.entries(v)) if (typeof val === 'string') out[k] = val;
  return out;
}

function requirement(r: Rec): SelectorRequirement {
  return {
    key: typeof r.key === 'string' ? r.key : '',
    operator: typeof r.operator === 'string' ? r.operator : '',
    values: strings(r.values),
  };
}

export function parseNodeSelectorTerm(t: Rec): NodeSelectorTerm {
  return {
    matchExpressions: recs(t.matchExpressions).map(requirement),
    matchFields: recs(t.matchFields).map(requirement),
  };
}

function labelSelector(v: unknown): LabelSelector | null {
  if (!isRecord(v)) return null;
  const sel: LabelSelector = {};
  if (isRecord(v.matchLabels)) sel.matchLabels = stringMap(v.matchLabels);
  if (Array.isArray(v.matchExpressions))
    sel.matchExpressions = recs(v.matchExpressions).map(requirement);
  return sel;
}

// namespaceSelector is not read: the scheduler has no namespace labels at hand,
// so a term without a namespaces list looks in the pod's own namespace only.
function affinityTerms(v: unknown, namespace: string): PodAffinityTerm[] {
  return recs(v).map((t) => ({
    labelSelector: labelSelector(t.labelSelector),
    namespaces: strings(t.namespaces).length > 0 ? strings(t.namespaces) : [namespace],
    topologyKey: typeof t.topologyKey === 'string' ? t.topologyKey : '',
  }));
}

function toleration(t: Rec): Toleration {
  return {
    key: typeof t.key === 'string' ? t.key : '',
    operator: t.operator === 'Exists' ? 'Exists' : 'Equal',
    value: typeof t.value === 'string' ? t.value : '',
    effect: typeof t.effect === 'string' ? t.effect : '',
  };
}

/** Ports the pod takes on its node; a hostNetwork pod takes its container ports. */
function hostPorts(spec: Rec): HostPort[] {
  const out: HostPort[] = [];
  const hostNetwork = spec.hostNetwork === true;
  const containers = [
    ...recs(spec.containers),
    ...recs(spec.initContainers).filter((c) => c.restartPolicy === 'Always'),
  ];
  for (const c of containers) {
    for (const p of recs(c.ports)) {
      const port =
        typeof p.hostPort === 'number' && p.hostPort > 0
          ? p.hostPort
          : hostNetwork && typeof p.containerPort === 'number'
            ? p.containerPort
            : 0;
      if (port <= 0) continue;
      out.push({
        hostIP: typeof p.hostIP === 'string' && p.hostIP !== '' ? p.hostIP : '0.0.0.0',
        protocol: typeof p.protocol === 'string' && p.protocol !== '' ? p.protocol : 'TCP',
        port,
      });
    }
  }
  return out;
}

function spreadConstraints(v: unknown): SpreadConstraint[] {
  return recs(v).map((c) => ({
    maxSkew: typeof c.maxSkew === 'number' && c.maxSkew > 0 ? c.maxSkew : 1,
    topologyKey: typeof c.topologyKey === 'string' ? c.topologyKey : '',
    whenUnsatisfiable:
      c.whenUnsatisfiable === 'ScheduleAnyway' ? 'ScheduleAnyway' : 'DoNotSchedule',
    labelSelector: labelSelector(c.labelSelector),
    minDomains: typeof c.minDomains === 'number' && c.minDomains > 0 ? c.minDomains : 1,
  }));
}

export function podKey(pod: KubeObject): string {
  return `${pod.metadata.namespace ?? ''}/${pod.metadata.name ?? ''}`;
}

/** Parses a pod for the scheduler. The result shares nothing mutable with `pod`. */
export function parsePod(pod: KubeObject): PodInfo {
  const spec: Rec = isRecord(pod.spec) ? pod.spec : {};
  const affinity = isRecord(spec.affinity) ? spec.affinity : {};
  const nodeAffinity = isRecord(affinity.nodeAffinity) ? affinity.nodeAffinity : {};
  const required = nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution;
  const podAffinity = isRecord(affinity.podAffinity) ? affinity.podAffinity : {};
  const podAntiAffinity = isRecord(affinity.podAntiAffinity) ? affinity.podAntiAffinity : {};
  const meta = pod.metadata;
  return {
    key: podKey(pod),
    uid: meta.uid ?? '',
    namespace: meta.namespace ?? '',
    name: meta.name ?? '',
    labels: { ...(meta.labels ?? {}) },
    nodeName: typeof spec.nodeName === 'string' ? spec.nodeName : '',
    priority: typeof spec.priority === 'number' ? spec.priority : 0,
    terminating: meta.deletionTimestamp !== undefined,
    controllerUid: meta.ownerReferences?.find((o) => o.controller === true)?.uid,
    requests: podRequests(spec),
    nonZeroRequests: podRequests(spec, true),
    hostPorts: hostPorts(spec),
    nodeSelector: stringMap(spec.nodeSelector),
    requiredNodeTerms: isRecord(required)
      ? recs(required.nodeSelectorTerms).map(parseNodeSelectorTerm)
      : undefined,
    preferredNodeTerms: recs(nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution).map(
      (p) => ({
        weight: typeof p.weight === 'number' ? p.weight : 0,
        preference: parseNodeSelectorTerm(isRecord(p.preference) ? p.preference : {}),
      }),
    ),
    tolerations: recs(spec.tolerations).map(toleration),
    requiredAffinity: affinityTerms(
      podAffinity.requiredDuringSchedulingIgnoredDuringExecution,
      meta.namespace ?? '',
    ),
    requiredAntiAffinity: affinityTerms(
      podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution,
      meta.namespace ?? '',
    ),
    spreadConstraints: spreadConstraints(spec.topologySpreadConstraints),
    pod,
  };
}
