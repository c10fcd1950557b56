// Server-side printing: the `meta.k8s.io` Table that `kubectl get` asks for in
// its Accept header and prints as it comes. The columns and cell formats follow
// kube-apiserver's printers (pkg/printers/internalversion/printers.go, 1.32), so
// that `kubectl get` against Shoal reads like it does against Kubernetes; the
// shoal CLI reuses podStatusText and humanDuration for the same reason.
//
// Like kube-apiserver, every row carries the wide (priority 1) cells as well:
// the client drops priority-1 columns unless asked for `-o wide`.

import { isRecord, type KubeObject, type ObjectMeta } from './objects.js';
import { parseAccept } from './openapi/accept.js';
import { apiVersionOf, type ResourceInfo } from './resources.js';
import { formatLabelSelector } from './selectors.js';
import { ApiError } from './status.js';

export type TableVersion = 'v1' | 'v1beta1';
export type IncludeObject = 'None' | 'Object' | 'Metadata';

export interface TableColumnDefinition {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  format: string;
  description: string;
  priority: number;
}

export type TableCell = string | number | boolean;

export interface TableRowCondition {
  type: 'Completed';
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
}

export interface PartialObjectMetadata {
  kind: 'PartialObjectMetadata';
  apiVersion: `meta.k8s.io/${TableVersion}`;
  metadata: ObjectMeta;
}

export interface TableRow {
  cells: TableCell[];
  /** null for includeObject=None, as kube-apiserver serialises an empty RawExtension. */
  object: KubeObject | PartialObjectMetadata | null;
  conditions?: TableRowCondition[];
}

export interface TableListMeta {
  resourceVersion?: string;
  continue?: string;
  remainingItemCount?: number;
}

export interface Table {
  kind: 'Table';
  apiVersion: `meta.k8s.io/${TableVersion}`;
  metadata: TableListMeta;
  columnDefinitions: TableColumnDefinition[];
  rows: TableRow[];
}

export interface ToTableOptions {
  includeObject: IncludeObject;
  /** For a list, the list's; for one object (get, watch event), that object's resourceVersion. */
  listMeta: TableListMeta;
  now: Date;
  version: TableVersion;
  /** Omit columnDefinitions: kube-apiserver does so for every watch event after the first. */
  noHeaders?: boolean;
}

// ---------------------------------------------------------------------------
// Content negotiation

/**
 * Whether the Accept header asks for a Table before it accepts plain JSON,
 * following kube-apiserver's negotiation: ranges by q (q=0 refused), then the
 * more specific first, then the client's order; the first range that JSON
 * can serve decides. A range asking for another conversion (another Table
 * version, PartialObjectMetadata) is skipped, as kube-apiserver skips those it
 * cannot honour.
 */
export function wantsTable(accept: string | undefined): { version: TableVersion } | undefined {
  if (accept === undefined || accept.trim() === '') return undefined;
  const ranges = parseAccept(accept)
    .map((r, i) => ({ r, i }))
    .sort((a, b) => b.r.q - a.r.q || specificity(b.r) - specificity(a.r) || a.i - b.i)
    .map(({ r }) => r);
  for (const r of ranges) {
    const servesJson =
      (r.type === 'application' && (r.subtype === 'json' || r.subtype === '*')) ||
      (r.type === '*' && r.subtype === '*');
    if (!servesJson) continue;
    const { as, g, v } = r.params;
    if (as === undefined && g === undefined && v === undefined) return undefined;
    if (as === 'Table' && g === 'meta.k8s.io' && (v === 'v1' || v === 'v1beta1')) {
      return { version: v };
    }
  }
  return undefined;
}

function specificity(r: { type: string; subtype: string }): number {
  if (r.type === '*') return 0;
  return r.subtype === '*' ? 1 : 2;
}

/**
 * `?includeObject=`: absent or empty means Metadata, as in kube-apiserver;
 * anything else but None/Object/Metadata is the same 400 it answers.
 */
export function parseIncludeObject(value: string | undefined): IncludeObject {
  if (value === undefined || value === '') return 'Metadata';
  if (value === 'None' || value === 'Object' || value === 'Metadata') return value;
  throw new ApiError(
    'BadRequest',
    `Unable to convert to Table as requested: includeObject: Unsupported value: ${JSON.stringify(value)}: supported values: "", "Metadata", "None", "Object"`,
  );
}

// ---------------------------------------------------------------------------
// The Table

/** Builds the Table kube-apiserver would answer for these objects of one resource. */
export function toTable(resource: ResourceInfo, items: KubeObject[], opts: ToTableOptions): Table {
  const printer = PRINTERS[`${resource.group}/${resource.kind}`] ?? GENERIC;
  const now = opts.now.getTime();
  const rows = items.map((obj): TableRow => {
    const { cells, conditions } = printer.row(obj, now);
    const row: TableRow = { cells, object: rowObject(resource, obj, opts) };
    if (conditions) row.conditions = conditions;
    return row;
  });
  const metadata: TableListMeta = {};
  if (opts.listMeta.resourceVersion) metadata.resourceVersion = opts.listMeta.resourceVersion;
  if (opts.listMeta.continue) metadata.continue = opts.listMeta.continue;
  if (opts.listMeta.remainingItemCount !== undefined) {
    metadata.remainingItemCount = opts.listMeta.remainingItemCount;
  }
  return {
    kind: 'Table',
    apiVersion: `meta.k8s.io/${opts.version}`,
    metadata,
    columnDefinitions: opts.noHeaders ? [] : printer.columns.map((c) => ({ ...c })),
    rows,
  };
}

function rowObject(
  resource: ResourceInfo,
  obj: KubeObject,
  opts: ToTableOptions,
): TableRow['object'] {
  switch (opts.includeObject) {
    case 'None':
      return null;
    case 'Object':
      return { ...obj, apiVersion: obj.apiVersion ?? apiVersionOf(resource), kind: resource.kind };
    case 'Metadata':
      return {
        kind: 'PartialObjectMetadata',
        apiVersion: `meta.k8s.io/${opts.version}`,
        metadata: obj.metadata,
      };
  }
}

// ---------------------------------------------------------------------------
// Durations

/**
 * Kubernetes' duration.HumanDuration: two or three significant figures,
 * "0s" for up to a second in the future (clock skew), "<invalid>" beyond.
 */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 60 * 2) return `${seconds}s`;
  const minutes = Math.trunc(ms / 60_000);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 60 * 3) return `${minutes}m`;
  const hours = Math.trunc(ms / 3_600_000);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${Math.trunc(hours / 24)}d` : `${Math.trunc(hours / 24)}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const dy = Math.trunc(hours / 24) % 365;
    const y = Math.trunc(hours / 24 / 365);
    return dy === 0 ? `${y}y` : `${y}y${dy}d`;
  }
  return `${Math.trunc(hours / 24 / 365)}y`;
}

/** Go's zero time.Time, which some writers send instead of leaving a timestamp out. */
const ZERO_TIME = Date.parse('0001-01-01T00:00:00Z');

function parseTime(v: unknown): number | undefined {
  if (typeof v !== 'string' || v === '') return undefined;
  const t = Date.parse(v);
  if (Number.isNaN(t) || t === ZERO_TIME) return undefined;
  return t;
}

/** translateTimestampSince: "<unknown>" for a missing time. */
function since(t: number | undefined, now: number): string {
  return t === undefined ? '<unknown>' : humanDuration(now - t);
}

function age(obj: KubeObject, now: number): string {
  return since(parseTime(obj.metadata.creationTimestamp), now);
}

// ---------------------------------------------------------------------------
// Reading untyped object bodies

type Rec = Record<string, unknown>;

const EMPTY: Rec = Object.freeze({});

function rec(v: unknown): Rec {
  return isRecord(v) ? v : EMPTY;
}

function optRec(v: unknown): Rec | undefined {
  return isRecord(v) ? v : undefined;
}

function recs(v: unknown): Rec[] {
  return Array.isArray(v) ? v.filter(isRecord) : [];
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function strs(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : [];
}

function int(v: unknown, dflt = 0): number {
  return typeof v === 'number' && Number.isFinite(v) ? Math.trunc(v) : dflt;
}

function count(v: unknown): number {
  return isRecord(v) ? Object.keys(v).length : 0;
}

/** labels.FormatLabels: sorted k=v pairs, "<none>" when empty. */
function formatLabels(v: unknown): string {
  const pairs = Object.entries(rec(v))
    .filter((e): e is [string, string] => typeof e[1] === 'string')
    .map(([k, val]) => `${k}=${val}`)
    .sort();
  return pairs.length === 0 ? '<none>' : pairs.join(',');
}

/** The string form of a metav1.LabelSelector, or undefined when it is not one. */
function selectorString(v: unknown): string | undefined {
  if (v !== undefined && v !== null && !isRecord(v)) return undefined;
  try {
    return formatLabelSelector(v);
  } catch {
    return undefined;
  }
}

/** metav1.FormatLabelSelector. */
function formatSelector(v: unknown): string {
  const s = selectorString(v);
  if (s === undefined) return '<error>';
  return s === '' ? '<none>' : s;
}

/** layoutContainerCells: names and images joined by commas. */
function containerCells(template: unknown): [string, string] {
  const containers = recs(rec(rec(template).spec).containers);
  return [
    containers.map((c) => str(c.name)).join(','),
    containers.map((c) => str(c.image)).join(','),
  ];
}

// ---------------------------------------------------------------------------
// Printers

interface Printer {
  columns: readonly TableColumnDefinition[];
  row(obj: KubeObject, now: number): { cells: TableCell[]; conditions?: TableRowCondition[] };
}

function col(
  name: string,
  type: TableColumnDefinition['type'],
  description: string,
  priority = 0,
  format = '',
): TableColumnDefinition {
  return { name, type, format, description, priority };
}

// Descriptions are kube-apiserver's: the API's field documentation (k8s.io/api
// v0.32 swagger docs, extensions/v1beta1 for the apps kinds, as the printers
// cite them) or the printers' own sentences.
const DOC = {
  name: 'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names',
  creationTimestamp:
    'CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata',
  containers: 'Names of each container in the template.',
  images: 'Images referenced by each container in the template.',
  podIP:
    'podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.',
  nodeName:
    'NodeName indicates in which node this pod is scheduled. If empty, this pod is a candidate for scheduling by the scheduler defined in schedulerName. Once this field is set, the kubelet for this node becomes responsible for the lifecycle of this pod. This field should not be used to express a desire for the pod to be scheduled on a specific node. https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/#nodename',
  nominatedNodeName:
    'nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods. This field does not guarantee that the pod will be scheduled on this node. Scheduler may decide to place the pod elsewhere if other nodes become available sooner. Scheduler may also decide to give the resources on this node to a higher priority pod that is created after preemption. As a result, this field may be different than PodSpec.nodeName when the pod is scheduled.',
  readinessGates:
    'If specified, all readiness gates will be evaluated for pod readiness. A pod is ready when all its containers are ready AND all conditions specified in the readiness gates have status equal to "True" More info: https://git.k8s.io/enhancements/keps/sig-network/580-pod-readiness-gates',
  rsSpecReplicas:
    'Replicas is the number of desired replicas. This is a pointer to distinguish between explicit zero and unspecified. Defaults to 1. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller/#what-is-a-replicationcontroller',
  rsStatusReplicas:
    'Replicas is the most recently observed number of replicas. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller/#what-is-a-replicationcontroller',
  rsReadyReplicas: 'The number of ready replicas for this replica set.',
  rsSelector:
    'Selector is a label query over pods that should match the replica count. If the selector is empty, it is defaulted to the labels present on the pod template. Label keys and values that must match in order to be controlled by this replica set. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors',
  dsDesired:
    'The total number of nodes that should be running the daemon pod (including nodes correctly running the daemon pod). More info: https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/',
  dsCurrent:
    'The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod. More info: https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/',
  dsReady:
    'The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready.',
  dsUpdated: 'The total number of nodes that are running updated daemon pod',
  dsAvailable:
    'The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available (ready for at least spec.minReadySeconds)',
  nodeSelector:
    "NodeSelector is a selector which must be true for the pod to fit on a node. Selector which must match a node's labels for the pod to be scheduled on that node. More info: https://kubernetes.io/docs/concepts/configuration/assign-pod-node/",
  dsSelector:
    'A label query over pods that are managed by the daemon set. Must match in order to be controlled. If empty, defaulted to labels on Pod template. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors',
  jobSucceeded:
    'The number of pods which reached phase Succeeded. The value increases monotonically for a given spec. However, it may decrease in reaction to scale down of elastic indexed jobs.',
  jobSelector:
    'A label query over pods that should match the pod count. Normally, the system sets this field for you. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors',
  svcType:
    'type determines how the Service is exposed. Defaults to ClusterIP. Valid options are ExternalName, ClusterIP, NodePort, and LoadBalancer. "ClusterIP" allocates a cluster-internal IP address for load-balancing to endpoints. Endpoints are determined by the selector or if that is not specified, by manual construction of an Endpoints object or EndpointSlice objects. If clusterIP is "None", no virtual IP is allocated and the endpoints are published as a set of endpoints rather than a virtual IP. "NodePort" builds on ClusterIP and allocates a port on every node which routes to the same endpoints as the clusterIP. "LoadBalancer" builds on NodePort and creates an external load-balancer (if supported in the current cloud) which routes to the same endpoints as the clusterIP. "ExternalName" aliases this service to the specified externalName. Several other fields do not apply to ExternalName services. More info: https://kubernetes.io/docs/concepts/services-networking/service/#publishing-services-service-types',
  svcClusterIP:
    'clusterIP is the IP address of the service and is usually assigned randomly. If an address is specified manually, is in-range (as per system configuration), and is not in use, it will be allocated to the service; otherwise creation of the service will fail. This field may not be changed through updates unless the type field is also being changed to ExternalName (which requires this field to be blank) or the type field is being changed from ExternalName (in which case this field may optionally be specified, as describe above).  Valid values are "None", empty string (""), or a valid IP address. Setting this to "None" makes a "headless service" (no virtual IP), which is useful when direct endpoint connections are preferred and proxying is not required.  Only applies to types ClusterIP, NodePort, and LoadBalancer. If this field is specified when creating a Service of type ExternalName, creation will fail. This field will be wiped when updating a Service to type ExternalName. More info: https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies',
  svcExternalIPs:
    'externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.  These IPs are not managed by Kubernetes.  The user is responsible for ensuring that traffic arrives at a node with this IP.  A common example is external load-balancers that are not part of the Kubernetes system.',
  svcPorts:
    'The list of ports that are exposed by this service. More info: https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies',
  svcSelector:
    'Route service traffic to pods with label keys and values matching this selector. If empty or not present, the service is assumed to have an external process managing its endpoints, which Kubernetes will not modify. Only applies to types ClusterIP, NodePort, and LoadBalancer. Ignored if type is ExternalName. More info: https://kubernetes.io/docs/concepts/services-networking/service/',
  epSubsets:
    'The set of all endpoints is the union of all subsets. Addresses are placed into subsets according to the IPs they share. A single address with multiple ports, some of which are ready and some of which are not (because they come from different containers) will result in the address being displayed in different subsets for the different ports. No address will appear in both Addresses and NotReadyAddresses in the same subset. Sets of addresses and ports that comprise a service.',
  kubeletVersion: 'Kubelet Version reported by the node.',
  nodeAddresses:
    "List of addresses reachable to the node. Queried from cloud provider, if available. More info: https://kubernetes.io/docs/reference/node/node-status/#addresses Note: This field is declared as mergeable, but the merge key is not sufficiently unique, which can cause data corruption when it is merged. Callers should instead use a full-replacement patch. See https://pr.k8s.io/79391 for an example. Consumers should assume that addresses can change during the lifetime of a Node. However, there are some exceptions where this may not be possible, such as Pods that inherit a Node's address in its own status or consumers of the downward API (status.hostIP).",
  osImage: 'OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).',
  kernelVersion: "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).",
  containerRuntimeVersion:
    'ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).',
  evLastTimestamp: 'The time at which the most recent occurrence of this event was recorded.',
  evType: 'Type of this event (Normal, Warning), new types could be added in the future',
  evReason:
    "This should be a short, machine understandable string that gives the reason for the transition into the object's current status.",
  evInvolvedObject: 'The object that this event is about.',
  evFieldPath:
    'If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement, such as desiredState.manifest.containers[2]. For example, if the object reference is to a container within a pod, this would take on a value like: "spec.containers{name}" (where "name" refers to the name of the container that triggered the event) or if no container name is specified "spec.containers[2]" (container with index 2 in this pod). This syntax is chosen only to have some well-defined way of referencing a part of an object.',
  evSource: 'The component reporting this event. Should be a short machine understandable string.',
  evMessage: 'A human-readable description of the status of this operation.',
  evFirstTimestamp:
    'The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)',
  evCount: 'The number of times this event has occurred.',
  secretType:
    'Used to facilitate programmatic handling of secret data. More info: https://kubernetes.io/docs/concepts/configuration/secret/#secret-types',
  secretData:
    "Data contains the secret data. Each key must consist of alphanumeric characters, '-', '_' or '.'. The serialized form of the secret data is a base64 encoded string, representing the arbitrary (possibly non-string) data value here. Described in https://tools.ietf.org/html/rfc4648#section-4",
  configMapData:
    "Data contains the configuration data. Each key must consist of alphanumeric characters, '-', '_' or '.'. Values with non-UTF-8 byte sequences must use the BinaryData field. The keys stored in Data must not overlap with the keys in the BinaryData field, this is enforced during validation process.",
  deployUpdated:
    'Total number of non-terminated pods targeted by this deployment that have the desired template spec.',
  deployAvailable:
    'Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.',
  deploySelector:
    'Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.',
} as const;

const NAME = col('Name', 'string', DOC.name, 0, 'name');
const AGE = col('Age', 'string', DOC.creationTimestamp);

// --- Pods ------------------------------------------------------------------

interface PodSummary {
  ready: number;
  total: number;
  reason: string;
  restarts: number;
  /** When the most recently restarted counted container last terminated. */
  lastRestart: number | undefined;
}

function later(a: number | undefined, b: number | undefined): number | undefined {
  if (b === undefined) return a;
  return a === undefined || a < b ? b : a;
}

function lastTerminated(status: Rec): number | undefined {
  const t = optRec(rec(status.lastState).terminated);
  return t ? parseTime(t.finishedAt) : undefined;
}

function conditionTrue(conditions: Rec[], type: string): boolean {
  const c = conditions.find((x) => x.type === type);
  return c !== undefined && c.status === 'True';
}

/** printPod's READY, STATUS and RESTARTS, computed as kube-apiserver does. */
function summarizePod(pod: KubeObject): PodSummary {
  const spec = rec(pod.spec);
  const status = rec(pod.status);
  const conditions = recs(status.conditions);
  const initContainers = recs(spec.initContainers);
  // Sidecars (init containers that restart Always) count as containers of the pod.
  const sidecars = new Set(
    initContainers.filter((c) => c.restartPolicy === 'Always').map((c) => str(c.name)),
  );
  const total = recs(spec.containers).length + sidecars.size;
  const phase = str(status.phase);
  let reason = str(status.reason) || phase;
  if (conditions.some((c) => c.type === 'PodScheduled' && c.reason === 'SchedulingGated')) {
    reason = 'SchedulingGated';
  }

  let ready = 0;
  let restarts = 0;
  let lastRestart: number | undefined;
  let sidecarRestarts = 0;
  let lastSidecarRestart: number | undefined;
  let initializing = false;
  const initStatuses = recs(status.initContainerStatuses);
  for (const [i, c] of initStatuses.entries()) {
    const state = rec(c.state);
    const terminated = optRec(state.terminated);
    const waiting = optRec(state.waiting);
    const sidecar = sidecars.has(str(c.name));
    restarts += int(c.restartCount);
    lastRestart = later(lastRestart, lastTerminated(c));
    if (sidecar) {
      sidecarRestarts += int(c.restartCount);
      lastSidecarRestart = later(lastSidecarRestart, lastTerminated(c));
    }
    if (terminated && int(terminated.exitCode) === 0) continue;
    if (sidecar && c.started === true) {
      if (c.ready === true) ready++;
      continue;
    }
    // The first init container that has not finished decides the status.
    if (terminated) {
      const why = str(terminated.reason);
      if (why !== '') reason = `Init:${why}`;
      else if (int(terminated.signal) !== 0) reason = `Init:Signal:${int(terminated.signal)}`;
      else reason = `Init:ExitCode:${int(terminated.exitCode)}`;
    } else if (waiting && str(waiting.reason) !== '' && waiting.reason !== 'PodInitializing') {
      reason = `Init:${str(waiting.reason)}`;
    } else {
      reason = `Init:${i}/${initContainers.length}`;
    }
    initializing = true;
    break;
  }

  if (!initializing || conditionTrue(conditions, 'Initialized')) {
    restarts = sidecarRestarts;
    lastRestart = lastSidecarRestart;
    let hasRunning = false;
    // Last to first, so the first container's state is the one that shows.
    const statuses = recs(status.containerStatuses);
    for (let i = statuses.length - 1; i >= 0; i--) {
      const c = statuses[i]!;
      const state = rec(c.state);
      const terminated = optRec(state.terminated);
      const waiting = optRec(state.waiting);
      restarts += int(c.restartCount);
      lastRestart = later(lastRestart, lastTerminated(c));
      if (waiting && str(waiting.reason) !== '') {
        reason = str(waiting.reason);
      } else if (terminated && str(terminated.reason) !== '') {
        reason = str(terminated.reason);
      } else if (terminated) {
        reason =
          int(terminated.signal) !== 0
            ? `Signal:${int(terminated.signal)}`
            : `ExitCode:${int(terminated.exitCode)}`;
      } else if (c.ready === true && isRecord(state.running)) {
        hasRunning = true;
        ready++;
      }
    }
    // A pod whose finished container says Completed still runs while another one does.
    if (reason === 'Completed' && hasRunning) {
      reason = conditionTrue(conditions, 'Ready') ? 'Running' : 'NotReady';
    }
  }

  const deleting = str(pod.metadata.deletionTimestamp) !== '';
  if (deleting && status.reason === 'NodeLost') reason = 'Unknown';
  else if (deleting && phase !== 'Succeeded' && phase !== 'Failed') reason = 'Terminating';

  return { ready, total, reason, restarts, lastRestart };
}

/** The STATUS cell of `kubectl get pods`: Running, Completed, CrashLoopBackOff, Init:0/1, Terminating, … */
export function podStatusText(pod: KubeObject): string {
  return summarizePod(pod).reason;
}

const POD_SUCCEEDED: TableRowCondition[] = [
  {
    type: 'Completed',
    status: 'True',
    reason: 'Succeeded',
    message: 'The pod has completed successfully.',
  },
];
const POD_FAILED: TableRowCondition[] = [
  { type: 'Completed', status: 'True', reason: 'Failed', message: 'The pod failed.' },
];

const podPrinter: Printer = {
  columns: [
    NAME,
    col('Ready', 'string', 'The aggregate readiness state of this pod for accepting traffic.'),
    col('Status', 'string', 'The aggregate status of the containers in this pod.'),
    col(
      'Restarts',
      'string',
      'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.',
    ),
    AGE,
    col('IP', 'string', DOC.podIP, 1),
    col('Node', 'string', DOC.nodeName, 1),
    col('Nominated Node', 'string', DOC.nominatedNodeName, 1),
    col('Readiness Gates', 'string', DOC.readinessGates, 1),
  ],
  row(pod, now) {
    const spec = rec(pod.spec);
    const status = rec(pod.status);
    const s = summarizePod(pod);
    const restarts =
      s.restarts !== 0 && s.lastRestart !== undefined
        ? `${s.restarts} (${since(s.lastRestart, now)} ago)`
        : String(s.restarts);
    // Kubernetes keeps podIP and podIPs[0] equal; an older writer may set only podIP.
    const podIP = str(recs(status.podIPs)[0]?.ip) || str(status.podIP) || '<none>';
    const gates = recs(spec.readinessGates);
    let readinessGates = '<none>';
    if (gates.length > 0) {
      const conditions = recs(status.conditions);
      const met = gates.filter((g) => conditionTrue(conditions, str(g.conditionType))).length;
      readinessGates = `${met}/${gates.length}`;
    }
    const cells: TableCell[] = [
      pod.metadata.name ?? '',
      `${s.ready}/${s.total}`,
      s.reason,
      restarts,
      age(pod, now),
      podIP,
      str(spec.nodeName) || '<none>',
      str(status.nominatedNodeName) || '<none>',
      readinessGates,
    ];
    const phase = status.phase;
    if (phase === 'Succeeded') return { cells, conditions: POD_SUCCEEDED };
    if (phase === 'Failed') return { cells, conditions: POD_FAILED };
    return { cells };
  },
};

// --- Nodes -----------------------------------------------------------------

const ROLE_PREFIX = 'node-role.kubernetes.io/';

function nodeRoles(labels: Record<string, string> | undefined): string {
  const roles = new Set<string>();
  for (const [k, v] of Object.entries(labels ?? {})) {
    if (k.startsWith(ROLE_PREFIX)) {
      const role = k.slice(ROLE_PREFIX.length);
      if (role !== '') roles.add(role);
    } else if (k === 'kubernetes.io/role' && v !== '') {
      roles.add(v);
    }
  }
  return roles.size === 0 ? '<none>' : [...roles].sort().join(',');
}

function nodeAddress(status: Rec, type: string): string {
  return str(recs(status.addresses).find((a) => a.type === type)?.address) || '<none>';
}

const nodePrinter: Printer = {
  columns: [
    NAME,
    col('Status', 'string', 'The status of the node'),
    col('Roles', 'string', 'The roles of the node'),
    AGE,
    col('Version', 'string', DOC.kubeletVersion),
    col('Internal-IP', 'string', DOC.nodeAddresses, 1),
    col('External-IP', 'string', DOC.nodeAddresses, 1),
    col('OS-Image', 'string', DOC.osImage, 1),
    col('Kernel-Version', 'string', DOC.kernelVersion, 1),
    col('Container-Runtime', 'string', DOC.containerRuntimeVersion, 1),
  ],
  row(node, now) {
    const status = rec(node.status);
    const info = rec(status.nodeInfo);
    // The last Ready condition wins, as in the printer's condition map.
    const readyCond = recs(status.conditions).findLast((c) => c.type === 'Ready');
    const states: string[] = [];
    if (readyCond === undefined) states.push('Unknown');
    else states.push(readyCond.status === 'True' ? 'Ready' : 'NotReady');
    if (rec(node.spec).unschedulable === true) states.push('SchedulingDisabled');
    return {
      cells: [
        node.metadata.name ?? '',
        states.join(','),
        nodeRoles(node.metadata.labels),
        age(node, now),
        str(info.kubeletVersion),
        nodeAddress(status, 'InternalIP'),
        nodeAddress(status, 'ExternalIP'),
        str(info.osImage) || '<unknown>',
        str(info.kernelVersion) || '<unknown>',
        str(info.containerRuntimeVersion) || '<unknown>',
      ],
    };
  },
};

// --- Namespaces, ConfigMaps, Secrets ----------------------------------------

const namespacePrinter: Printer = {
  columns: [NAME, col('Status', 'string', 'The status of the namespace'), AGE],
  row: (ns, now) => ({
    cells: [ns.metadata.name ?? '', str(rec(ns.status).phase), age(ns, now)],
  }),
};

const configMapPrinter: Printer = {
  columns: [NAME, col('Data', 'string', DOC.configMapData), AGE],
  row: (cm, now) => ({
    cells: [cm.metadata.name ?? '', count(cm.data) + count(cm.binaryData), age(cm, now)],
  }),
};

const secretPrinter: Printer = {
  columns: [
    NAME,
    col('Type', 'string', DOC.secretType),
    col('Data', 'string', DOC.secretData),
    AGE,
  ],
  row: (s, now) => ({
    // Kubernetes defaults an empty type to Opaque on write.
    cells: [s.metadata.name ?? '', str(s.type) || 'Opaque', count(s.data), age(s, now)],
  }),
};

// --- Workloads ---------------------------------------------------------------

const deploymentPrinter: Printer = {
  columns: [
    NAME,
    col('Ready', 'string', 'Number of the pod with ready state'),
    col('Up-to-date', 'string', DOC.deployUpdated),
    col('Available', 'string', DOC.deployAvailable),
    AGE,
    col('Containers', 'string', DOC.containers, 1),
    col('Images', 'string', DOC.images, 1),
    col('Selector', 'string', DOC.deploySelector, 1),
  ],
  row(d, now) {
    const spec = rec(d.spec);
    const status = rec(d.status);
    const [names, images] = containerCells(spec.template);
    return {
      cells: [
        d.metadata.name ?? '',
        `${int(status.readyReplicas)}/${int(spec.replicas, 1)}`,
        int(status.updatedReplicas),
        int(status.availableReplicas),
        age(d, now),
        names,
        images,
        // Unlike the other workloads, an empty selector prints empty here.
        selectorString(spec.selector) ?? '<invalid>',
      ],
    };
  },
};

const replicaSetPrinter: Printer = {
  columns: [
    NAME,
    col('Desired', 'integer', DOC.rsSpecReplicas),
    col('Current', 'integer', DOC.rsStatusReplicas),
    col('Ready', 'integer', DOC.rsReadyReplicas),
    AGE,
    col('Containers', 'string', DOC.containers, 1),
    col('Images', 'string', DOC.images, 1),
    col('Selector', 'string', DOC.rsSelector, 1),
  ],
  row(rs, now) {
    const spec = rec(rs.spec);
    const status = rec(rs.status);
    const [names, images] = containerCells(spec.template);
    return {
      cells: [
        rs.metadata.name ?? '',
        int(spec.replicas, 1),
        int(status.replicas),
        int(status.readyReplicas),
        age(rs, now),
        names,
        images,
        formatSelector(spec.selector),
      ],
    };
  },
};

const daemonSetPrinter: Printer = {
  columns: [
    NAME,
    col('Desired', 'integer', DOC.dsDesired),
    col('Current', 'integer', DOC.dsCurrent),
    col('Ready', 'integer', DOC.dsReady),
    col('Up-to-date', 'integer', DOC.dsUpdated),
    col('Available', 'integer', DOC.dsAvailable),
    col('Node Selector', 'string', DOC.nodeSelector),
    AGE,
    col('Containers', 'string', DOC.containers, 1),
    col('Images', 'string', DOC.images, 1),
    col('Selector', 'string', DOC.dsSelector, 1),
  ],
  row(ds, now) {
    const spec = rec(ds.spec);
    const status = rec(ds.status);
    const [names, images] = containerCells(spec.template);
    return {
      cells: [
        ds.metadata.name ?? '',
        int(status.desiredNumberScheduled),
        int(status.currentNumberScheduled),
        int(status.numberReady),
        int(status.updatedNumberScheduled),
        int(status.numberAvailable),
        formatLabels(rec(rec(spec.template).spec).nodeSelector),
        age(ds, now),
        names,
        images,
        formatSelector(spec.selector),
      ],
    };
  },
};

const statefulSetPrinter: Printer = {
  columns: [
    NAME,
    col('Ready', 'string', 'Number of the pod with ready state'),
    AGE,
    col('Containers', 'string', DOC.containers, 1),
    col('Images', 'string', DOC.images, 1),
  ],
  row(sts, now) {
    const spec = rec(sts.spec);
    const status = rec(sts.status);
    const [names, images] = containerCells(spec.template);
    return {
      cells: [
        sts.metadata.name ?? '',
        `${int(status.readyReplicas)}/${int(spec.replicas, 1)}`,
        age(sts, now),
        names,
        images,
      ],
    };
  },
};

// --- Storage -----------------------------------------------------------------

const ACCESS_MODE_SHORT: Readonly<Record<string, string>> = {
  ReadWriteOnce: 'RWO',
  ReadOnlyMany: 'ROX',
  ReadWriteMany: 'RWX',
  ReadWriteOncePod: 'RWOP',
};

/** kubectl's access modes cell: short names in a fixed order, e.g. `RWO,ROX`. */
function accessModesCell(v: unknown): string {
  const modes = strs(v);
  return Object.keys(ACCESS_MODE_SHORT)
    .filter((m) => modes.includes(m))
    .map((m) => ACCESS_MODE_SHORT[m])
    .join(',');
}

const persistentVolumePrinter: Printer = {
  columns: [
    NAME,
    col(
      'Capacity',
      'string',
      "capacity is the description of the persistent volume's resources and capacity.",
    ),
    col('Access Modes', 'string', 'accessModes contains all ways the volume can be mounted.'),
    col(
      'Reclaim Policy',
      'string',
      'persistentVolumeReclaimPolicy defines what happens to a persistent volume when released from its claim.',
    ),
    col(
      'Status',
      'string',
      'phase indicates if a volume is available, bound to a claim, or released by a claim.',
    ),
    col(
      'Claim',
      'string',
      'claimRef is part of a bi-directional binding between PersistentVolume and PersistentVolumeClaim.',
    ),
    col(
      'StorageClass',
      'string',
      'storageClassName is the name of StorageClass to which this persistent volume belongs.',
    ),
    col('Reason', 'string', 'reason is a brief CamelCase string that describes any failure.'),
    AGE,
    col(
      'VolumeMode',
      'string',
      'volumeMode defines if a volume is intended to be used with a formatted filesystem or to remain in raw block state.',
      1,
    ),
  ],
  row(pv, now) {
    const spec = rec(pv.spec);
    const status = rec(pv.status);
    const claim = optRec(spec.claimRef);
    return {
      cells: [
        pv.metadata.name ?? '',
        str(rec(spec.capacity).storage),
        accessModesCell(spec.accessModes),
        str(spec.persistentVolumeReclaimPolicy),
        str(status.phase),
        claim ? `${str(claim.namespace)}/${str(claim.name)}` : '',
        str(spec.storageClassName),
        str(status.reason),
        age(pv, now),
        str(spec.volumeMode) || 'Filesystem',
      ],
    };
  },
};

const persistentVolumeClaimPrinter: Printer = {
  columns: [
    NAME,
    col('Status', 'string', 'phase represents the current phase of PersistentVolumeClaim.'),
    col(
      'Volume',
      'string',
      'volumeName is the binding reference to the PersistentVolume backing this claim.',
    ),
    col('Capacity', 'string', 'capacity represents the actual resources of the underlying volume.'),
    col(
      'Access Modes',
      'string',
      'accessModes contains the desired access modes the volume should have.',
    ),
    col(
      'StorageClass',
      'string',
      'storageClassName is the name of the StorageClass required by the claim.',
    ),
    AGE,
    col(
      'VolumeMode',
      'string',
      'volumeMode defines what type of volume is required by the claim.',
      1,
    ),
  ],
  row(pvc, now) {
    const spec = rec(pvc.spec);
    const status = rec(pvc.status);
    const bound = str(status.phase) === 'Bound';
    return {
      cells: [
        pvc.metadata.name ?? '',
        str(status.phase),
        str(spec.volumeName),
        bound ? str(rec(status.capacity).storage) : '',
        bound ? accessModesCell(status.accessModes) : '',
        str(spec.storageClassName),
        age(pvc, now),
        str(spec.volumeMode) || 'Filesystem',
      ],
    };
  },
};

export const DEFAULT_CLASS_ANNOTATION = 'storageclass.kubernetes.io/is-default-class';

const storageClassPrinter: Printer = {
  columns: [
    NAME,
    col('Provisioner', 'string', 'provisioner indicates the type of the provisioner.'),
    col(
      'ReclaimPolicy',
      'string',
      'reclaimPolicy controls the reclaimPolicy for dynamically provisioned PersistentVolumes of this storage class.',
    ),
    col(
      'VolumeBindingMode',
      'string',
      'volumeBindingMode indicates how PersistentVolumeClaims should be provisioned and bound.',
    ),
    col(
      'AllowVolumeExpansion',
      'string',
      'allowVolumeExpansion shows whether the storage class allow volume expand.',
    ),
    AGE,
  ],
  row(sc, now) {
    const isDefault = sc.metadata.annotations?.[DEFAULT_CLASS_ANNOTATION] === 'true';
    return {
      cells: [
        `${sc.metadata.name ?? ''}${isDefault ? ' (default)' : ''}`,
        str(sc.provisioner),
        str(sc.reclaimPolicy) || 'Delete',
        str(sc.volumeBindingMode) || 'Immediate',
        String(sc.allowVolumeExpansion === true),
        age(sc, now),
      ],
    };
  },
};

function jobStatus(job: KubeObject, conditions: Rec[]): string {
  if (conditionTrue(conditions, 'Complete')) return 'Complete';
  if (conditionTrue(conditions, 'Failed')) return 'Failed';
  if (str(job.metadata.deletionTimestamp) !== '') return 'Terminating';
  if (conditionTrue(conditions, 'Suspended')) return 'Suspended';
  if (conditionTrue(conditions, 'FailureTarget')) return 'FailureTarget';
  return 'Running';
}

const jobPrinter: Printer = {
  columns: [
    NAME,
    col('Status', 'string', 'Status of the job.'),
    col('Completions', 'string', DOC.jobSucceeded),
    col('Duration', 'string', 'Time required to complete the job.'),
    AGE,
    col('Containers', 'string', DOC.containers, 1),
    col('Images', 'string', DOC.images, 1),
    col('Selector', 'string', DOC.jobSelector, 1),
  ],
  row(job, now) {
    const spec = rec(job.spec);
    const status = rec(job.status);
    const succeeded = int(status.succeeded);
    let completions: string;
    if (typeof spec.completions === 'number') {
      completions = `${succeeded}/${int(spec.completions)}`;
    } else {
      const parallelism = int(spec.parallelism);
      completions = parallelism > 1 ? `${succeeded}/1 of ${parallelism}` : `${succeeded}/1`;
    }
    const start = parseTime(status.startTime);
    const end = parseTime(status.completionTime);
    let duration = '';
    if (start !== undefined) duration = humanDuration((end ?? now) - start);
    const [names, images] = containerCells(spec.template);
    return {
      cells: [
        job.metadata.name ?? '',
        jobStatus(job, recs(status.conditions)),
        completions,
        duration,
        age(job, now),
        names,
        images,
        formatSelector(spec.selector),
      ],
    };
  },
};

// --- Services and Endpoints ------------------------------------------------------

function serviceExternalIP(spec: Rec, status: Rec): string {
  const externalIPs = strs(spec.externalIPs);
  switch (str(spec.type) || 'ClusterIP') {
    case 'ClusterIP':
    case 'NodePort':
      return externalIPs.length > 0 ? externalIPs.join(',') : '<none>';
    case 'LoadBalancer': {
      // The server prints wide, so load-balancer addresses are never clipped.
      const lb = new Set<string>();
      for (const ing of recs(rec(status.loadBalancer).ingress)) {
        const addr = str(ing.ip) || str(ing.hostname);
        if (addr !== '') lb.add(addr);
      }
      const lbIPs = [...lb].sort();
      if (externalIPs.length > 0) return [...lbIPs, ...externalIPs].join(',');
      return lbIPs.length > 0 ? lbIPs.join(',') : '<pending>';
    }
    case 'ExternalName':
      return str(spec.externalName);
    default:
      return '<unknown>';
  }
}

function servicePorts(spec: Rec): string {
  const ports = recs(spec.ports).map((p) => {
    const protocol = str(p.protocol) || 'TCP';
    const nodePort = int(p.nodePort);
    return nodePort > 0 ? `${int(p.port)}:${nodePort}/${protocol}` : `${int(p.port)}/${protocol}`;
  });
  return ports.length === 0 ? '<none>' : ports.join(',');
}

const servicePrinter: Printer = {
  columns: [
    NAME,
    col('Type', 'string', DOC.svcType),
    col('Cluster-IP', 'string', DOC.svcClusterIP),
    col('External-IP', 'string', DOC.svcExternalIPs),
    col('Port(s)', 'string', DOC.svcPorts),
    AGE,
    col('Selector', 'string', DOC.svcSelector, 1),
  ],
  row(svc, now) {
    const spec = rec(svc.spec);
    const status = rec(svc.status);
    return {
      cells: [
        svc.metadata.name ?? '',
        str(spec.type) || 'ClusterIP',
        strs(spec.clusterIPs)[0] || str(spec.clusterIP) || '<none>',
        serviceExternalIP(spec, status),
        servicePorts(spec),
        age(svc, now),
        formatLabels(spec.selector),
      ],
    };
  },
};

function joinHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** formatEndpoints: the first three addresses (host:port per port), then "+ N more...". */
function formatEndpoints(ep: KubeObject): string {
  const subsets = recs(ep.subsets);
  if (subsets.length === 0) return '<none>';
  const max = 3;
  const list: string[] = [];
  let more = false;
  let total = 0;
  for (const ss of subsets) {
    const addresses = recs(ss.addresses);
    const ports = recs(ss.ports);
    if (ports.length === 0) {
      // A headless service may have no ports.
      total += addresses.length;
      for (const a of addresses) {
        if (list.length === max) {
          more = true;
          break;
        }
        list.push(str(a.ip));
      }
      continue;
    }
    for (const port of ports) {
      total += addresses.length;
      for (const a of addresses) {
        if (list.length === max) {
          more = true;
          break;
        }
        list.push(joinHostPort(str(a.ip), int(port.port)));
      }
    }
  }
  const joined = list.join(',');
  return more ? `${joined} + ${total - max} more...` : joined;
}

const endpointsPrinter: Printer = {
  columns: [NAME, col('Endpoints', 'string', DOC.epSubsets), AGE],
  row: (ep, now) => ({ cells: [ep.metadata.name ?? '', formatEndpoints(ep), age(ep, now)] }),
};

// --- Events ------------------------------------------------------------------------

const eventPrinter: Printer = {
  columns: [
    col('Last Seen', 'string', DOC.evLastTimestamp),
    col('Type', 'string', DOC.evType),
    col('Reason', 'string', DOC.evReason),
    col('Object', 'string', DOC.evInvolvedObject),
    col('Subobject', 'string', DOC.evFieldPath, 1),
    col('Source', 'string', DOC.evSource, 1),
    col('Message', 'string', DOC.evMessage),
    col('First Seen', 'string', DOC.evFirstTimestamp, 1),
    col('Count', 'string', DOC.evCount, 1),
    col('Name', 'string', DOC.name, 1, 'name'),
  ],
  row(ev, now) {
    // Events written through events.k8s.io carry eventTime and series instead
    // of firstTimestamp, lastTimestamp and count.
    const first =
      parseTime(ev.firstTimestamp) !== undefined
        ? since(parseTime(ev.firstTimestamp), now)
        : since(parseTime(ev.eventTime), now);
    let last =
      parseTime(ev.lastTimestamp) !== undefined ? since(parseTime(ev.lastTimestamp), now) : first;
    let n = int(ev.count);
    const series = optRec(ev.series);
    if (series) {
      last = since(parseTime(series.lastObservedTime), now);
      n = int(series.count);
    } else if (n === 0) {
      n = 1;
    }
    const involved = rec(ev.involvedObject);
    const kind = str(involved.kind).toLowerCase();
    const target = str(involved.name) !== '' ? `${kind}/${str(involved.name)}` : kind;
    const source = rec(ev.source);
    const component = str(source.component) || str(ev.reportingComponent);
    const instance = str(source.host) || str(ev.reportingInstance);
    return {
      cells: [
        last,
        str(ev.type),
        str(ev.reason),
        target,
        str(involved.fieldPath),
        instance === '' ? component : `${component}, ${instance}`,
        str(ev.message).trim(),
        first,
        n,
        ev.metadata.name ?? '',
      ],
    };
  },
};

// --- Leases, PriorityClasses -----------------------------------------------------

const leasePrinter: Printer = {
  columns: [NAME, col('Holder', 'string', 'The identity of the current holder of the lease.'), AGE],
  row: (l, now) => ({
    cells: [l.metadata.name ?? '', str(rec(l.spec).holderIdentity), age(l, now)],
  }),
};

const priorityClassPrinter: Printer = {
  columns: [
    NAME,
    col('Value', 'integer', 'The priority pods of this class get.'),
    col('Global-Default', 'boolean', 'Whether pods without a priorityClassName get this class.'),
    AGE,
  ],
  row: (pc, now) => ({
    cells: [
      pc.metadata.name ?? '',
      typeof pc.value === 'number' ? pc.value : 0,
      pc.globalDefault === true,
      age(pc, now),
    ],
  }),
};

// --- Anything else -------------------------------------------------------------------

const GENERIC: Printer = {
  columns: [NAME, AGE],
  row: (obj, now) => ({ cells: [obj.metadata.name ?? '', age(obj, now)] }),
};

/** Keyed by `${group}/${kind}`. */
const PRINTERS: Readonly<Record<string, Printer>> = {
  '/Pod': podPrinter,
  '/Node': nodePrinter,
  '/Namespace': namespacePrinter,
  '/Service': servicePrinter,
  '/Endpoints': endpointsPrinter,
  '/ConfigMap': configMapPrinter,
  '/Secret': secretPrinter,
  '/Event': eventPrinter,
  'apps/Deployment': deploymentPrinter,
  'apps/ReplicaSet': replicaSetPrinter,
  'apps/DaemonSet': daemonSetPrinter,
  'apps/StatefulSet': statefulSetPrinter,
  '/PersistentVolume': persistentVolumePrinter,
  '/PersistentVolumeClaim': persistentVolumeClaimPrinter,
  'storage.k8s.io/StorageClass': storageClassPrinter,
  'batch/Job': jobPrinter,
  'coordination.k8s.io/Lease': leasePrinter,
  'scheduling.k8s.io/PriorityClass': priorityClassPrinter,
};
