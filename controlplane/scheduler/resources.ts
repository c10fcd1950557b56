// Resource amounts as the scheduler adds them up: cpu in millicores, memory
// and ephemeral storage in bytes, a pod count. Quantities are parsed exactly
// (nodeagent/pods/quantity.ts) and rounded up as Kubernetes' MilliValue() and
// Value() do, so "0.1" cpu is 100m and "1.5Gi" is an exact byte count.

import { isRecord } from '../api/objects.js';
import { parseQuantity, quantityMilliValue, quantityValue } from '../../nodeagent/pods/quantity.js';

export interface Resources {
  milliCpu: number;
  memory: number;
  ephemeralStorage: number;
  pods: number;
}

export const ZERO: Readonly<Resources> = Object.freeze({
  milliCpu: 0,
  memory: 0,
  ephemeralStorage: 0,
  pods: 0,
});

/** kube-scheduler's defaults for a container that requests nothing, used only for scoring. */
export const DEFAULT_MILLI_CPU_REQUEST = 100;
export const DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024;

type Rec = Record<string, unknown>;

// Parsed amounts by text: a cluster's pods repeat a handful of quantities
// ("100m", "128Mi"), and every pod event is parsed again (exact parsing
// with bigints was 1 % of the scheduler's thread at 30,000 pods).
const parsed = new Map<string, number | undefined>();
const MAX_PARSED = 4096;

function quantity(v: unknown, milli: boolean): number | undefined {
  if (typeof v !== 'string' && typeof v !== 'number') return undefined;
  // The prefix ends in ':', which no quantity holds: milli and whole amounts never share a key.
  const key = `${milli ? 'milli:' : 'whole:'}${v}`;
  if (parsed.has(key)) return parsed.get(key);
  const q = parseQuantity(v);
  const amount = q ? Number(milli ? quantityMilliValue(q) : quantityValue(q)) : undefined;
  if (parsed.size >= MAX_PARSED) parsed.clear();
  parsed.set(key, amount);
  return amount;
}

/** A v1.ResourceList ({cpu: "2", memory: "4Gi", pods: "110"}); absent or unparsable entries are 0. */
export function resourceList(list: unknown): Resources {
  const l: Rec = isRecord(list) ? list : {};
  return {
    milliCpu: quantity(l.cpu, true) ?? 0,
    memory: quantity(l.memory, false) ?? 0,
    ephemeralStorage: quantity(l['ephemeral-storage'], false) ?? 0,
    pods: quantity(l.pods, false) ?? 0,
  };
}

export function add(a: Resources, b: Readonly<Resources>): void {
  a.milliCpu += b.milliCpu;
  a.memory += b.memory;
  a.ephemeralStorage += b.ephemeralStorage;
  a.pods += b.pods;
}

export function subtract(a: Resources, b: Readonly<Resources>): void {
  a.milliCpu -= b.milliCpu;
  a.memory -= b.memory;
  a.ephemeralStorage -= b.ephemeralStorage;
  a.pods -= b.pods;
}

function max(a: Resources, b: Readonly<Resources>): void {
  a.milliCpu = Math.max(a.milliCpu, b.milliCpu);
  a.memory = Math.max(a.memory, b.memory);
  a.ephemeralStorage = Math.max(a.ephemeralStorage, b.ephemeralStorage);
}

/**
 * One container's requests. A request left out but limited takes the limit,
 * as the API server's defaulting does in Kubernetes (Shoal's does not fill it
 * in). With `nonZero`, an unset cpu or memory request counts as kube-scheduler's
 * scoring defaults (100m, 200Mi), so pods that request nothing still spread.
 */
function containerRequests(c: Rec, nonZero: boolean): Resources {
  const res = isRecord(c.resources) ? c.resources : {};
  const requests = isRecord(res.requests) ? res.requests : {};
  const limits = isRecord(res.limits) ? res.limits : {};
  const pick = (name: string): unknown => requests[name] ?? limits[name];
  const cpu = quantity(pick('cpu'), true);
  const memory = quantity(pick('memory'), false);
  return {
    milliCpu: cpu ?? (nonZero ? DEFAULT_MILLI_CPU_REQUEST : 0),
    memory: memory ?? (nonZero ? DEFAULT_MEMORY_REQUEST : 0),
    ephemeralStorage: quantity(pick('ephemeral-storage'), false) ?? 0,
    pods: 0,
  };
}

/**
 * What a pod asks of its node (resourcehelper.PodRequests): the sum of its
 * containers, or more if an init container needs more while it runs —
 * init containers run one at a time, so the pod needs the largest of them,
 * plus every restartable (sidecar) init container started before it, which
 * keeps running beside the app containers. Then spec.overhead. `pods` is 1.
 */
export function podRequests(spec: Rec, nonZero = false): Resources {
  const total: Resources = { ...ZERO, pods: 1 };
  const containers = Array.isArray(spec.containers) ? spec.containers.filter(isRecord) : [];
  for (const c of containers) add(total, containerRequests(c, nonZero));
  const inits = Array.isArray(spec.initContainers) ? spec.initContainers.filter(isRecord) : [];
  const sidecars: Resources = { ...ZERO };
  const initPeak: Resources = { ...ZERO };
  for (const c of inits) {
    const own = containerRequests(c, nonZero);
    if (c.restartPolicy === 'Always') {
      add(total, own);
      add(sidecars, own);
      max(initPeak, sidecars);
    } else {
      const whileRunning = { ...own };
      add(whileRunning, sidecars);
      max(initPeak, whileRunning);
    }
  }
  max(total, initPeak);
  if (isRecord(spec.overhead)) add(total, { ...resourceList(spec.overhead), pods: 0 });
  return total;
}
