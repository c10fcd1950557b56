// The Endpoints controller: for each Service with a selector, an Endpoints
// object of the same name listing the pods it selects — ready ones under
// `addresses`, the rest under `notReadyAddresses` — with the Service's ports
// resolved against each pod (a named targetPort is looked up in the pod's
// containers, so pods that number a port differently land in different
// subsets, as Kubernetes' RepackSubsets groups them). Only pods with an IP
// that are neither finished nor terminating count.
//
// Endpoints this controller writes carry MANAGED_BY_LABEL. A Service without
// a selector is left to its users: its Endpoints is touched only if the
// label says this controller made it (the Service lost its selector), and
// then deleted. A deleted Service takes its managed Endpoints with it.
// Writes happen only when the computed object differs from the cached one.

import type { Logger } from 'pino';
import { isRecord, type KubeObject } from '../api/objects.js';
import type { Registry } from '../api/registry/registry.js';
import { findResource } from '../api/resources.js';
import type { Informer } from './runtime/informer.js';
import { objectKeyOf } from './runtime/informer.js';
import { WorkQueue } from './runtime/workqueue.js';
import { Workers } from './runtime/run.js';
import type { Controller, ControllerDeps } from './types.js';
import { isApiError, isPodReady, isPodTerminal } from './owner-refs.js';

const SERVICES = findResource('', 'v1', 'services')!;
const ENDPOINTS = findResource('', 'v1', 'endpoints')!;
const PODS = findResource('', 'v1', 'pods')!;
const FIELD_MANAGER = 'endpoint-controller';

/** Marks Endpoints this controller owns (the key recent Kubernetes releases use for the same purpose). */
export const MANAGED_BY_LABEL = 'endpoints.kubernetes.io/managed-by';
export const MANAGED_BY_VALUE = 'endpoint-controller';
const HEADLESS_LABEL = 'service.kubernetes.io/headless';

type Rec = Record<string, unknown>;

export interface EndpointAddress {
  ip: string;
  hostname?: string;
  nodeName?: string;
  targetRef: { kind: 'Pod'; namespace: string; name: string; uid: string };
}

export interface EndpointPort {
  name?: string;
  port: number;
  protocol: string;
  appProtocol?: string;
}

export interface EndpointSubset {
  addresses?: EndpointAddress[];
  notReadyAddresses?: EndpointAddress[];
  ports?: EndpointPort[];
}

export interface EndpointsControllerOptions {
  workers?: number;
}

export class EndpointsController implements Controller {
  readonly name = 'endpoints';
  private readonly registry: Registry;
  private readonly log: Logger | undefined;
  private readonly services: Informer;
  private readonly endpoints: Informer;
  private readonly pods: Informer;
  private readonly queue = new WorkQueue('endpoints');
  private readonly workers = new Workers(this.queue, this);

  constructor(
    deps: ControllerDeps,
    private readonly opts: EndpointsControllerOptions = {},
  ) {
    this.registry = deps.registry;
    this.log = deps.logger;
    this.services = deps.informers.forResource(SERVICES);
    this.endpoints = deps.informers.forResource(ENDPOINTS);
    this.pods = deps.informers.forResource(PODS);
    const enqueue = (o: KubeObject): void => this.queue.add(objectKeyOf(o));
    this.services.on({ add: enqueue, update: (_o, n) => enqueue(n), delete: enqueue });
    // Someone else changed or removed an Endpoints: put back what the Service says.
    this.endpoints.on({
      update: (_o, n) => enqueue(n),
      delete: enqueue,
    });
    this.pods.on({
      add: (p) => this.podChanged(p, undefined),
      update: (o, n) => this.podChanged(n, o),
      delete: (p) => this.podChanged(p, undefined),
    });
  }

  async start(): Promise<void> {
    for (const svc of this.services.list()) this.queue.add(objectKeyOf(svc));
    // Managed Endpoints whose Service went while no controller ran.
    for (const ep of this.endpoints.list()) {
      if (ep.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY_VALUE)
        this.queue.add(objectKeyOf(ep));
    }
    this.workers.start({ workers: this.opts.workers ?? 2, logger: this.log });
  }

  async stop(): Promise<void> {
    await this.workers.stop();
  }

  /** Converges the Endpoints `namespace/name` with the Service of that name. */
  async reconcile(key: string): Promise<void> {
    const [namespace = '', name = ''] = key.split('/');
    const svc = this.services.get(key);
    const existing = this.endpoints.get(key);
    const selector = svc ? selectorOf(svc) : undefined;
    if (!svc || !selector) {
      if (existing && existing.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY_VALUE) {
        try {
          await this.registry.delete(ENDPOINTS, namespace, name, {
            preconditions: { uid: existing.metadata.uid! },
          });
        } catch (err) {
          if (!isApiError(err, 'NotFound', 'Conflict')) throw err;
        }
      }
      return;
    }
    const pods = this.pods.list((p) => p.metadata.namespace === namespace && selects(selector, p));
    const subsets = subsetsFor(svc, pods);
    const labels: Record<string, string> = {
      ...(svc.metadata.labels ?? {}),
      [MANAGED_BY_LABEL]: MANAGED_BY_VALUE,
    };
    const svcSpec = isRecord(svc.spec) ? svc.spec : {};
    if (svcSpec.clusterIP === 'None') labels[HEADLESS_LABEL] = '';

    if (existing) {
      if (
        JSON.stringify(existing.metadata.labels ?? {}) === JSON.stringify(labels) &&
        JSON.stringify(existing.subsets ?? []) === JSON.stringify(subsets)
      ) {
        return;
      }
      const next = structuredClone(existing);
      next.metadata.labels = labels;
      if (subsets.length > 0) next.subsets = subsets;
      else delete next.subsets;
      // On the version read: a conflict retries against a fresh cache.
      await this.registry.update(ENDPOINTS, namespace, name, next, { fieldManager: FIELD_MANAGER });
      return;
    }
    try {
      await this.registry.create(
        ENDPOINTS,
        namespace,
        {
          apiVersion: 'v1',
          kind: 'Endpoints',
          metadata: { name, namespace, labels },
          ...(subsets.length > 0 ? { subsets } : {}),
        },
        { fieldManager: FIELD_MANAGER },
      );
    } catch (err) {
      // Created meanwhile (by us before the cache knew, or by a user): look again.
      if (isApiError(err, 'AlreadyExists')) this.queue.add(key);
      else throw err;
    }
  }

  private podChanged(pod: KubeObject, old: KubeObject | undefined): void {
    const ns = pod.metadata.namespace;
    for (const svc of this.services.list()) {
      if (svc.metadata.namespace !== ns) continue;
      const selector = selectorOf(svc);
      if (!selector) continue;
      if (selects(selector, pod) || (old && selects(selector, old)))
        this.queue.add(objectKeyOf(svc));
    }
  }
}

/**
 * The subsets of a Service over its selected pods, packed as Kubernetes'
 * RepackSubsets does: addresses with the same set of ports share a subset.
 */
export function subsetsFor(svc: KubeObject, pods: KubeObject[]): EndpointSubset[] {
  const spec = isRecord(svc.spec) ? svc.spec : {};
  const ports = (Array.isArray(spec.ports) ? spec.ports : []).filter(isRecord);
  const publishNotReady = spec.publishNotReadyAddresses === true;
  const headless = spec.clusterIP === 'None';
  const groups = new Map<
    string,
    { ports: EndpointPort[]; ready: EndpointAddress[]; notReady: EndpointAddress[] }
  >();
  for (const pod of pods) {
    if (!shouldBeInEndpoints(pod, publishNotReady)) continue;
    const address = addressOf(svc, pod);
    const podPorts: EndpointPort[] = [];
    for (const sp of ports) {
      const port = findPort(pod, sp);
      if (port === undefined) continue; // this pod does not serve that port
      const ep: EndpointPort = {
        port,
        protocol: typeof sp.protocol === 'string' ? sp.protocol : 'TCP',
      };
      if (typeof sp.name === 'string' && sp.name !== '') ep.name = sp.name;
      if (typeof sp.appProtocol === 'string') ep.appProtocol = sp.appProtocol;
      podPorts.push(ep);
    }
    // A pod serving none of the ports is listed only for a headless Service without ports.
    if (podPorts.length === 0 && !(headless && ports.length === 0)) continue;
    podPorts.sort(comparePorts);
    const groupKey = JSON.stringify(podPorts);
    let g = groups.get(groupKey);
    if (!g) {
      g = { ports: podPorts, ready: [], notReady: [] };
      groups.set(groupKey, g);
    }
    if (publishNotReady || isPodReady(pod)) g.ready.push(address);
    else g.notReady.push(address);
  }
  const subsets: EndpointSubset[] = [];
  for (const g of groups.values()) {
    const subset: EndpointSubset = {};
    if (g.ready.length > 0) subset.addresses = g.ready.sort(compareAddresses);
    if (g.notReady.length > 0) subset.notReadyAddresses = g.notReady.sort(compareAddresses);
    if (g.ports.length > 0) subset.ports = g.ports;
    subsets.push(subset);
  }
  // A stable order, so an unchanged set of pods writes nothing.
  return subsets.sort((a, b) => subsetKey(a).localeCompare(subsetKey(b)));
}

/** podutil.FindPort: a number as is; a name looked up among the pod's container ports of that protocol. */
export function findPort(pod: KubeObject, servicePort: Rec): number | undefined {
  const target = servicePort.targetPort ?? servicePort.port;
  if (typeof target === 'number') return target;
  if (typeof target !== 'string') return undefined;
  if (/^\d+$/.test(target)) return Number(target);
  const protocol = typeof servicePort.protocol === 'string' ? servicePort.protocol : 'TCP';
  const spec = isRecord(pod.spec) ? pod.spec : {};
  for (const c of Array.isArray(spec.containers) ? spec.containers : []) {
    if (!isRecord(c) || !Array.isArray(c.ports)) continue;
    for (const p of c.ports) {
      if (!isRecord(p) || p.name !== target) continue;
      if ((p.protocol ?? 'TCP') === protocol && typeof p.containerPort === 'number')
        return p.containerPort;
    }
  }
  return undefined;
}

/** endpointsliceutil.ShouldPodBeInEndpoints: an IP, not finished, not terminating (unless unready ones are published). */
function shouldBeInEndpoints(pod: KubeObject, includeTerminating: boolean): boolean {
  if (isPodTerminal(pod)) return false;
  if (!podIP(pod)) return false;
  if (pod.metadata.deletionTimestamp && !includeTerminating) return false;
  return true;
}

function addressOf(svc: KubeObject, pod: KubeObject): EndpointAddress {
  const spec = isRecord(pod.spec) ? pod.spec : {};
  const address: EndpointAddress = {
    ip: podIP(pod)!,
    targetRef: {
      kind: 'Pod',
      namespace: pod.metadata.namespace ?? '',
      name: pod.metadata.name ?? '',
      uid: pod.metadata.uid ?? '',
    },
  };
  // A pod's DNS name under a headless Service: hostname.subdomain.
  if (
    typeof spec.hostname === 'string' &&
    spec.hostname !== '' &&
    spec.subdomain === svc.metadata.name
  ) {
    address.hostname = spec.hostname;
  }
  if (typeof spec.nodeName === 'string' && spec.nodeName !== '') address.nodeName = spec.nodeName;
  return address;
}

function podIP(pod: KubeObject): string | undefined {
  const status = isRecord(pod.status) ? pod.status : {};
  return typeof status.podIP === 'string' && status.podIP !== '' ? status.podIP : undefined;
}

/** A Service's selector; undefined (user-managed Endpoints) when absent or empty. */
function selectorOf(svc: KubeObject): Record<string, string> | undefined {
  const spec = isRecord(svc.spec) ? svc.spec : {};
  if (!isRecord(spec.selector) || Object.keys(spec.selector).length === 0) return undefined;
  return spec.selector as Record<string, string>;
}

function selects(selector: Record<string, string>, pod: KubeObject): boolean {
  const labels = pod.metadata.labels ?? {};
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

function comparePorts(a: EndpointPort, b: EndpointPort): number {
  return (
    (a.name ?? '').localeCompare(b.name ?? '') ||
    a.port - b.port ||
    a.protocol.localeCompare(b.protocol)
  );
}

function compareAddresses(a: EndpointAddress, b: EndpointAddress): number {
  return a.ip.localeCompare(b.ip) || a.targetRef.uid.localeCompare(b.targetRef.uid);
}

function subsetKey(s: EndpointSubset): string {
  return JSON.stringify([
    s.ports ?? [],
    s.addresses?.[0]?.ip ?? s.notReadyAddresses?.[0]?.ip ?? '',
  ]);
}
