// Builders for the scheduler's tests: Nodes and Pods as the API stores them,
// with only what a case sets beyond a sensible default (a Ready node with
// 4 cpu, 8Gi and 110 pods; a pod in "default" with one container).

import type { KubeObject, OwnerReference } from '../api/objects.js';
import type { Pipeline } from './pipeline.js';
import type { FilterStage, ScoreStage } from './types.js';

export interface NodeFixture {
  labels?: Record<string, string>;
  cpu?: string;
  memory?: string;
  pods?: string;
  ready?: 'True' | 'False' | 'Unknown' | 'none';
  unschedulable?: boolean;
  taints?: { key: string; value?: string; effect: string }[];
}

export function makeNode(name: string, f: NodeFixture = {}): KubeObject {
  const ready = f.ready ?? 'True';
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...(f.labels ?? {}) } },
    spec: {
      ...(f.unschedulable ? { unschedulable: true } : {}),
      ...(f.taints ? { taints: f.taints } : {}),
    },
    status: {
      allocatable: { cpu: f.cpu ?? '4', memory: f.memory ?? '8Gi', pods: f.pods ?? '110' },
      capacity: { cpu: f.cpu ?? '4', memory: f.memory ?? '8Gi', pods: f.pods ?? '110' },
      conditions: ready === 'none' ? [] : [{ type: 'Ready', status: ready }],
    },
  };
}

export interface PodFixture {
  namespace?: string;
  labels?: Record<string, string>;
  nodeName?: string;
  cpu?: string;
  memory?: string;
  /** Extra fields merged into spec (affinity, tolerations, initContainers, …). */
  spec?: Record<string, unknown>;
  /** Container ports. */
  ports?: Record<string, unknown>[];
  owner?: string;
  priority?: number;
  phase?: string;
  created?: string;
  terminating?: boolean;
}

export function makePod(name: string, f: PodFixture = {}): KubeObject {
  const requests: Record<string, string> = {};
  if (f.cpu) requests.cpu = f.cpu;
  if (f.memory) requests.memory = f.memory;
  const owner: OwnerReference[] | undefined = f.owner
    ? [
        {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          name: f.owner,
          uid: `uid-${f.owner}`,
          controller: true,
        },
      ]
    : undefined;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: f.namespace ?? 'default',
      uid: `uid-pod-${name}`,
      creationTimestamp: f.created ?? '2024-01-01T00:00:00Z',
      ...(f.labels ? { labels: f.labels } : {}),
      ...(owner ? { ownerReferences: owner } : {}),
      ...(f.terminating ? { deletionTimestamp: '2024-01-01T00:01:00Z' } : {}),
    },
    spec: {
      schedulerName: 'default-scheduler',
      containers: [
        {
          name: 'c',
          image: 'busybox',
          resources: Object.keys(requests).length > 0 ? { requests } : {},
          ...(f.ports ? { ports: f.ports } : {}),
        },
      ],
      ...(f.nodeName ? { nodeName: f.nodeName } : {}),
      ...(f.priority !== undefined ? { priority: f.priority } : {}),
      ...(f.spec ?? {}),
    },
    status: { phase: f.phase ?? 'Pending' },
  };
}

/** The same stages with only `filter` and `score`: nothing skipped, nothing batched. */
export function unskipped(p: Pipeline): Pipeline {
  return {
    filters: p.filters.map((s): FilterStage => ({
      name: s.name,
      filter: (pod, n, snap) => s.filter(pod, n, snap),
    })),
    scores: p.scores.map((s): ScoreStage => ({
      name: s.name,
      weight: s.weight,
      normalize: s.normalize,
      score: (pod, n, snap) => s.score(pod, n, snap),
    })),
  };
}

/** A small deterministic PRNG, so two runs see the same tie-breaking draws. */
export function seeded(seed: number): () => number {
  let x = seed;
  return () => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return x / 2 ** 32;
  };
}
