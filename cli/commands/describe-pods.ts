// `describe pod` and `describe node`, section by section as kubectl prints
// them (pkg/describe/describe.go, 1.32): containers with state, probes, env
// and mounts; conditions, volumes, tolerations; for a node its conditions,
// capacity, the pods on it and what they request of it.

import { parseQuantity, type Quantity } from '../../nodeagent/pods/quantity.js';
import {
  annotationLines,
  arr,
  describeEvents,
  labelLines,
  rec,
  rfc1123z,
  since,
  str,
  type DescribeWriter,
  type Obj,
} from './describe-writer.js';

/** kubectl's DescribeProbe: "http-get http://:8080/ delay=0s timeout=1s period=10s #success=1 #failure=3". */
export function describeProbe(probe: Obj): string {
  const n = (v: unknown, d: number): number => (typeof v === 'number' ? v : d);
  const attrs = `delay=${n(probe.initialDelaySeconds, 0)}s timeout=${n(probe.timeoutSeconds, 1)}s period=${n(probe.periodSeconds, 10)}s #success=${n(probe.successThreshold, 1)} #failure=${n(probe.failureThreshold, 3)}`;
  if (isObj(probe.exec)) return `exec [${arr2(probe.exec.command).join(' ')}] ${attrs}`;
  if (isObj(probe.httpGet)) {
    const h = probe.httpGet;
    const scheme = str(h.scheme, 'HTTP').toLowerCase();
    const host = str(h.host);
    const port = str(h.port);
    const hostPort = port ? (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`) : host;
    return `http-get ${scheme}://${hostPort}${str(h.path)} ${attrs}`;
  }
  if (isObj(probe.tcpSocket))
    return `tcp-socket ${str(probe.tcpSocket.host)}:${str(probe.tcpSocket.port)} ${attrs}`;
  if (isObj(probe.grpc))
    return `grpc <pod>:${str(probe.grpc.port)} ${str(probe.grpc.service)} ${attrs}`;
  return `unknown ${attrs}`;
}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function arr2(v: unknown): string[] {
  return Array.isArray(v) ? v.map((x) => str(x)) : [];
}

function describeState(w: DescribeWriter, level: number, label: string, state: Obj): void {
  if (isObj(state.running)) {
    w.kv(level, label, 'Running');
    w.kv(level + 1, 'Started', rfc1123z(state.running.startedAt));
  } else if (isObj(state.waiting)) {
    w.kv(level, label, 'Waiting');
    if (state.waiting.reason) w.kv(level + 1, 'Reason', state.waiting.reason);
    if (state.waiting.message) w.kv(level + 1, 'Message', state.waiting.message);
  } else if (isObj(state.terminated)) {
    const t = state.terminated;
    w.kv(level, label, 'Terminated');
    if (t.reason) w.kv(level + 1, 'Reason', t.reason);
    if (t.message) w.kv(level + 1, 'Message', t.message);
    w.kv(level + 1, 'Exit Code', str(t.exitCode, '0'));
    if (t.signal) w.kv(level + 1, 'Signal', t.signal);
    w.kv(level + 1, 'Started', rfc1123z(t.startedAt));
    w.kv(level + 1, 'Finished', rfc1123z(t.finishedAt));
  } else {
    w.kv(level, label, 'Waiting');
  }
}

function envValue(e: Obj): string {
  if (typeof e.value === 'string') return e.value;
  const from = rec(e.valueFrom);
  const optional = (ref: Obj): string => `Optional: ${ref.optional === true}`;
  if (isObj(from.fieldRef))
    return `(${str(from.fieldRef.apiVersion, 'v1')}:${str(from.fieldRef.fieldPath)})`;
  if (isObj(from.resourceFieldRef)) {
    const r = from.resourceFieldRef;
    return `${str(r.resource)} (${str(r.containerName)})`;
  }
  if (isObj(from.secretKeyRef))
    return `<set to the key '${str(from.secretKeyRef.key)}' in secret '${str(from.secretKeyRef.name)}'>\t${optional(from.secretKeyRef)}`;
  if (isObj(from.configMapKeyRef))
    return `<set to the key '${str(from.configMapKeyRef.key)}' of config map '${str(from.configMapKeyRef.name)}'>\t${optional(from.configMapKeyRef)}`;
  return '';
}

function describeResources(w: DescribeWriter, level: number, label: string, v: unknown): void {
  const entries = Object.entries(rec(v)).sort(([a], [b]) => a.localeCompare(b));
  if (!entries.length) return;
  w.line(level, `${label}:`);
  for (const [k, q] of entries) w.kv(level + 1, k, q);
}

/** One container of a pod (with its status) or of a pod template (status undefined). */
export function describeContainer(
  w: DescribeWriter,
  level: number,
  c: Obj,
  status: Obj | undefined,
  template = false,
): void {
  // kubectl indents a pod template's container names by one odd extra space.
  if (template) w.line(level, ` ${str(c.name)}:`);
  else w.line(level, `${str(c.name)}:`);
  const l = level + 1;
  if (status) w.kv(l, 'Container ID', str(status.containerID));
  w.kv(l, 'Image', c.image);
  if (status) w.kv(l, 'Image ID', str(status.imageID));
  const ports = arr(c.ports);
  const portText = (p: Obj, f: string): string => `${str(p[f], '0')}/${str(p.protocol, 'TCP')}`;
  w.kv(
    l,
    ports.length > 1 ? 'Ports' : 'Port',
    ports.length ? ports.map((p) => portText(p, 'containerPort')).join(', ') : '<none>',
  );
  w.kv(
    l,
    ports.length > 1 ? 'Host Ports' : 'Host Port',
    ports.length ? ports.map((p) => portText(p, 'hostPort')).join(', ') : '<none>',
  );
  for (const [key, label] of [
    ['command', 'Command'],
    ['args', 'Args'],
  ] as const) {
    const words = arr2(c[key]);
    if (!words.length) continue;
    w.line(l, `${label}:`);
    for (const word of words) w.line(l + 1, word);
  }
  if (status) {
    describeState(w, l, 'State', rec(status.state));
    const last = rec(status.lastState);
    if (Object.keys(last).length) describeState(w, l, 'Last State', last);
    w.kv(l, 'Ready', status.ready === true ? 'True' : 'False');
    w.kv(l, 'Restart Count', str(status.restartCount, '0'));
  }
  const resources = rec(c.resources);
  describeResources(w, l, 'Limits', resources.limits);
  describeResources(w, l, 'Requests', resources.requests);
  for (const [key, label] of [
    ['livenessProbe', 'Liveness'],
    ['readinessProbe', 'Readiness'],
    ['startupProbe', 'Startup'],
  ] as const) {
    if (isObj(c[key])) w.kv(l, label, describeProbe(c[key]));
  }
  const envFrom = arr(c.envFrom);
  if (envFrom.length) {
    w.line(l, 'Environment Variables from:');
    for (const f of envFrom) {
      const ref = isObj(f.configMapRef) ? f.configMapRef : rec(f.secretRef);
      const kind = isObj(f.configMapRef) ? 'ConfigMap' : 'Secret';
      const prefix = f.prefix ? ` with prefix '${str(f.prefix)}'` : '';
      w.line(l + 1, str(ref.name), `${kind}${prefix}`, `Optional: ${ref.optional === true}`);
    }
  }
  const env = arr(c.env);
  if (!env.length) w.kv(l, 'Environment', '<none>');
  else {
    w.line(l, 'Environment:');
    for (const e of env) w.line(l + 1, `${str(e.name)}:`, envValue(e));
  }
  const mounts = arr(c.volumeMounts);
  if (!mounts.length) w.kv(l, 'Mounts', '<none>');
  else {
    w.line(l, 'Mounts:');
    for (const m of [...mounts].sort((a, b) => str(a.mountPath).localeCompare(str(b.mountPath)))) {
      const flags = [m.readOnly === true ? 'ro' : 'rw'];
      if (m.subPath) flags.push(`path="${str(m.subPath)}"`);
      w.line(l + 1, `${str(m.mountPath)} from ${str(m.name)} (${flags.join(',')})`);
    }
  }
}

function describeVolume(w: DescribeWriter, v: Obj): void {
  w.line(1, `${str(v.name)}:`);
  if (isObj(v.emptyDir)) {
    w.kv(2, 'Type', "EmptyDir (a temporary directory that shares a pod's lifetime)");
    w.kv(2, 'Medium', str(v.emptyDir.medium));
    w.kv(2, 'SizeLimit', str(v.emptyDir.sizeLimit, '<unset>'));
  } else if (isObj(v.hostPath)) {
    w.kv(2, 'Type', 'HostPath (bare host directory volume)');
    w.kv(2, 'Path', str(v.hostPath.path));
    w.kv(2, 'HostPathType', str(v.hostPath.type));
  } else if (isObj(v.configMap)) {
    w.kv(2, 'Type', 'ConfigMap (a volume populated by a ConfigMap)');
    w.kv(2, 'Name', str(v.configMap.name));
    w.kv(2, 'Optional', String(v.configMap.optional === true));
  } else if (isObj(v.secret)) {
    w.kv(2, 'Type', 'Secret (a volume populated by a Secret)');
    w.kv(2, 'SecretName', str(v.secret.secretName));
    w.kv(2, 'Optional', String(v.secret.optional === true));
  } else if (isObj(v.persistentVolumeClaim)) {
    w.kv(
      2,
      'Type',
      'PersistentVolumeClaim (a reference to a PersistentVolumeClaim in the same namespace)',
    );
    w.kv(2, 'ClaimName', str(v.persistentVolumeClaim.claimName));
    w.kv(2, 'ReadOnly', String(v.persistentVolumeClaim.readOnly === true));
  } else if (isObj(v.projected)) {
    w.kv(2, 'Type', 'Projected (a volume that contains injected data from multiple sources)');
  } else if (isObj(v.downwardAPI)) {
    w.kv(2, 'Type', 'DownwardAPI (a volume populated by information about the pod)');
  } else {
    w.kv(2, 'Type', '<unknown>');
  }
}

/** kubectl's toleration text: key=value:Effect op=Exists for 300s. */
export function tolerationText(t: Obj): string {
  let s = str(t.key);
  if (t.value) s += `=${str(t.value)}`;
  if (t.effect) s += `:${str(t.effect)}`;
  if (t.operator === 'Exists' && !t.value) s += s ? ' op=Exists' : 'op=Exists';
  if (typeof t.tolerationSeconds === 'number') s += ` for ${t.tolerationSeconds}s`;
  return s;
}

export function taintText(t: Obj): string {
  return `${str(t.key)}${t.value ? `=${str(t.value)}` : ''}:${str(t.effect)}`;
}

/** The pod-spec sections shared by pods and pod templates. */
export function describePodSpecTail(
  w: DescribeWriter,
  level: number,
  spec: Obj,
  qos?: string,
): void {
  const volumes = arr(spec.volumes);
  if (level === 0) {
    if (!volumes.length) w.kv(0, 'Volumes', '<none>');
    else {
      w.line(0, 'Volumes:');
      for (const v of volumes) describeVolume(w, v);
    }
  } else {
    w.kv(level, 'Volumes', volumes.length ? volumes.map((v) => str(v.name)).join(', ') : '<none>');
  }
  if (qos) w.kv(level, 'QoS Class', qos);
  w.list(level, 'Node-Selectors', labelLines(spec.nodeSelector));
  w.list(level, 'Tolerations', arr(spec.tolerations).map(tolerationText));
}

/** A pod template (Deployments, ReplicaSets, DaemonSets, Jobs) under "Pod Template:". */
export function describePodTemplate(w: DescribeWriter, template: Obj): void {
  const meta = rec(template.metadata);
  const spec = rec(template.spec);
  w.line(0, 'Pod Template:');
  w.list(1, 'Labels', labelLines(meta.labels));
  if (Object.keys(rec(meta.annotations)).length)
    w.list(1, 'Annotations', annotationLines(meta.annotations));
  if (spec.serviceAccountName) w.kv(1, 'Service Account', spec.serviceAccountName);
  const inits = arr(spec.initContainers);
  if (inits.length) {
    w.line(1, 'Init Containers:');
    for (const c of inits) describeContainer(w, 1, c, undefined, true);
  }
  w.line(1, 'Containers:');
  for (const c of arr(spec.containers)) describeContainer(w, 1, c, undefined, true);
  describePodSpecTail(w, 1, spec);
}

/** "Kind/name" of the object's controller (its ownerReference with controller: true). */
export function controllerOf(meta: Obj): string | undefined {
  const ref = arr(meta.ownerReferences).find((r) => r.controller === true);
  return ref ? `${str(ref.kind)}/${str(ref.name)}` : undefined;
}

/** kubectl's QoS class: Guaranteed, Burstable or BestEffort, when status does not say. */
function qosClass(spec: Obj): string {
  const containers = [...arr(spec.containers), ...arr(spec.initContainers)];
  let any = false;
  let guaranteed = true;
  for (const c of containers) {
    const r = rec(c.resources);
    const req = rec(r.requests);
    const lim = rec(r.limits);
    if (Object.keys(req).length || Object.keys(lim).length) any = true;
    for (const k of ['cpu', 'memory']) {
      if (lim[k] === undefined || (req[k] !== undefined && str(req[k]) !== str(lim[k])))
        guaranteed = false;
    }
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

export function describePod(w: DescribeWriter, pod: Obj, events: Obj[]): void {
  const meta = rec(pod.metadata);
  const spec = rec(pod.spec);
  const status = rec(pod.status);
  w.kv(0, 'Name', meta.name);
  w.kv(0, 'Namespace', meta.namespace);
  if (typeof spec.priority === 'number') w.kv(0, 'Priority', spec.priority);
  if (spec.priorityClassName) w.kv(0, 'Priority Class Name', spec.priorityClassName);
  if (spec.serviceAccountName) w.kv(0, 'Service Account', spec.serviceAccountName);
  const node = str(spec.nodeName);
  w.kv(0, 'Node', node ? `${node}${status.hostIP ? `/${str(status.hostIP)}` : ''}` : '<none>');
  if (status.startTime) w.kv(0, 'Start Time', rfc1123z(status.startTime));
  w.list(0, 'Labels', labelLines(meta.labels));
  w.list(0, 'Annotations', annotationLines(meta.annotations));
  if (meta.deletionTimestamp) {
    w.kv(0, 'Status', `Terminating (lasts ${since(meta.deletionTimestamp)})`);
    if (typeof meta.deletionGracePeriodSeconds === 'number')
      w.kv(0, 'Termination Grace Period', `${meta.deletionGracePeriodSeconds}s`);
  } else {
    w.kv(0, 'Status', str(status.phase, 'Unknown'));
  }
  // Why a pod is Pending: the scheduler's PodScheduled=False condition, as
  // Reason/Message lines where kubectl puts a pod's own reason and message.
  const unscheduled = arr(status.conditions).find(
    (c) => c.type === 'PodScheduled' && c.status === 'False',
  );
  const reason = str(status.reason) || str(unscheduled?.reason);
  const message = str(status.message) || str(unscheduled?.message);
  if (reason) w.kv(0, 'Reason', reason);
  if (message) w.kv(0, 'Message', message);
  if (status.nominatedNodeName) w.kv(0, 'NominatedNodeName', status.nominatedNodeName);
  w.kv(0, 'IP', str(status.podIP));
  const ips = arr(status.podIPs);
  if (!ips.length) w.kv(0, 'IPs', '<none>');
  else {
    w.line(0, 'IPs:');
    for (const ip of ips) w.kv(1, 'IP', ip.ip);
  }
  const controller = controllerOf(meta);
  if (controller) w.kv(0, 'Controlled By', controller);
  const statuses = (key: string): Map<string, Obj> =>
    new Map(arr(status[key]).map((s) => [str(s.name), s]));
  const inits = arr(spec.initContainers);
  if (inits.length) {
    w.line(0, 'Init Containers:');
    const st = statuses('initContainerStatuses');
    for (const c of inits) describeContainer(w, 1, c, st.get(str(c.name)));
  }
  w.line(0, 'Containers:');
  const st = statuses('containerStatuses');
  // A container without a status yet shows no ID, state, readiness or restarts, as in kubectl.
  for (const c of arr(spec.containers)) describeContainer(w, 1, c, st.get(str(c.name)));
  const conditions = arr(status.conditions);
  if (conditions.length) {
    w.line(0, 'Conditions:');
    w.line(1, 'Type', 'Status');
    for (const c of conditions) w.line(1, str(c.type), str(c.status));
  }
  describePodSpecTail(w, 0, spec, str(status.qosClass) || qosClass(spec));
  describeEvents(w, events);
}

// Resource arithmetic for the node's pod table: requests/limits in milli-units.

function milli(q: unknown): bigint {
  const parsed: Quantity | undefined =
    typeof q === 'string' || typeof q === 'number' ? parseQuantity(q) : undefined;
  if (!parsed) return 0n;
  const m = parsed.num * 1000n;
  return m % parsed.den === 0n ? m / parsed.den : m / parsed.den + 1n;
}

/** A pod's effective requests and limits (containers summed, each init container a floor), in milli-units. */
export function podResources(pod: Obj): {
  requests: Map<string, bigint>;
  limits: Map<string, bigint>;
} {
  const spec = rec(pod.spec);
  const out = { requests: new Map<string, bigint>(), limits: new Map<string, bigint>() };
  for (const which of ['requests', 'limits'] as const) {
    const sum = out[which];
    for (const c of arr(spec.containers)) {
      for (const [k, q] of Object.entries(rec(rec(c.resources)[which])))
        sum.set(k, (sum.get(k) ?? 0n) + milli(q));
    }
    for (const c of arr(spec.initContainers)) {
      for (const [k, q] of Object.entries(rec(rec(c.resources)[which]))) {
        const v = milli(q);
        if (v > (sum.get(k) ?? 0n)) sum.set(k, v);
      }
    }
    for (const [k, q] of Object.entries(rec(spec.overhead)))
      sum.set(k, (sum.get(k) ?? 0n) + milli(q));
  }
  return out;
}

/** A milli-unit amount as a quantity: "250m", "2", "64Mi". */
export function formatMilli(resource: string, m: bigint): string {
  if (resource === 'cpu') return m % 1000n === 0n ? String(m / 1000n) : `${m}m`;
  if (m % 1000n !== 0n) return `${m}m`;
  const v = m / 1000n;
  if (v === 0n) return '0';
  for (const [suffix, size] of [
    ['Gi', 1n << 30n],
    ['Mi', 1n << 20n],
    ['Ki', 1n << 10n],
  ] as const) {
    if (v % size === 0n) return `${v / size}${suffix}`;
  }
  return String(v);
}

function percent(m: bigint, of: bigint): string {
  if (of <= 0n) return '0%';
  return `${(m * 100n) / of}%`;
}

export function describeNode(w: DescribeWriter, node: Obj, pods: Obj[], events: Obj[]): void {
  const meta = rec(node.metadata);
  const spec = rec(node.spec);
  const status = rec(node.status);
  w.kv(0, 'Name', meta.name);
  const roles = Object.keys(rec(meta.labels))
    .filter((k) => k.startsWith('node-role.kubernetes.io/'))
    .map((k) => k.slice('node-role.kubernetes.io/'.length))
    .filter(Boolean)
    .sort();
  w.kv(0, 'Roles', roles.length ? roles.join(',') : '<none>');
  w.list(0, 'Labels', labelLines(meta.labels));
  w.list(0, 'Annotations', annotationLines(meta.annotations));
  w.kv(0, 'CreationTimestamp', rfc1123z(meta.creationTimestamp));
  w.list(0, 'Taints', arr(spec.taints).map(taintText));
  w.kv(0, 'Unschedulable', String(spec.unschedulable === true));
  const conditions = arr(status.conditions);
  w.line(0, 'Conditions:');
  w.line(1, 'Type', 'Status', 'LastHeartbeatTime', 'LastTransitionTime', 'Reason', 'Message');
  w.line(1, '----', '------', '-----------------', '------------------', '------', '-------');
  for (const c of conditions) {
    w.line(
      1,
      str(c.type),
      str(c.status),
      rfc1123z(c.lastHeartbeatTime),
      rfc1123z(c.lastTransitionTime),
      str(c.reason),
      str(c.message),
    );
  }
  w.line(0, 'Addresses:');
  for (const a of arr(status.addresses)) w.kv(1, str(a.type), a.address);
  const capacity = rec(status.capacity);
  const allocatable = rec(status.allocatable);
  for (const [label, list] of [
    ['Capacity', capacity],
    ['Allocatable', allocatable],
  ] as const) {
    w.line(0, `${label}:`);
    for (const [k, v] of Object.entries(list).sort(([a], [b]) => a.localeCompare(b))) w.kv(1, k, v);
  }
  const info = rec(status.nodeInfo);
  w.line(0, 'System Info:');
  for (const [label, field] of [
    ['Machine ID', 'machineID'],
    ['System UUID', 'systemUUID'],
    ['Boot ID', 'bootID'],
    ['Kernel Version', 'kernelVersion'],
    ['OS Image', 'osImage'],
    ['Operating System', 'operatingSystem'],
    ['Architecture', 'architecture'],
    ['Container Runtime Version', 'containerRuntimeVersion'],
    ['Kubelet Version', 'kubeletVersion'],
    ['Kube-Proxy Version', 'kubeProxyVersion'],
  ] as const) {
    w.kv(1, label, str(info[field]));
  }
  if (spec.podCIDR) w.kv(0, 'PodCIDR', spec.podCIDR);
  const cidrs = Array.isArray(spec.podCIDRs) ? spec.podCIDRs.map((c) => str(c)) : [];
  if (cidrs.length) w.kv(0, 'PodCIDRs', cidrs.join(','));
  if (spec.providerID) w.kv(0, 'ProviderID', spec.providerID);

  const running = pods.filter((p) => {
    const phase = str(rec(p.status).phase);
    return phase !== 'Succeeded' && phase !== 'Failed';
  });
  const alloc = (k: string): bigint => milli(allocatable[k]);
  const cell = (k: string, m: bigint | undefined): string =>
    `${formatMilli(k, m ?? 0n)} (${percent(m ?? 0n, alloc(k))})`;
  w.line(0, 'Non-terminated Pods:', `(${running.length} in total)`);
  w.line(
    1,
    'Namespace',
    'Name',
    'CPU Requests',
    'CPU Limits',
    'Memory Requests',
    'Memory Limits',
    'Age',
  );
  w.line(
    1,
    '---------',
    '----',
    '------------',
    '----------',
    '---------------',
    '-------------',
    '---',
  );
  const total = { requests: new Map<string, bigint>(), limits: new Map<string, bigint>() };
  const sorted = [...running].sort((a, b) => {
    const ma = rec(a.metadata);
    const mb = rec(b.metadata);
    return `${str(ma.namespace)}/${str(ma.name)}`.localeCompare(
      `${str(mb.namespace)}/${str(mb.name)}`,
    );
  });
  for (const p of sorted) {
    const pm = rec(p.metadata);
    const r = podResources(p);
    for (const which of ['requests', 'limits'] as const) {
      for (const [k, v] of r[which]) total[which].set(k, (total[which].get(k) ?? 0n) + v);
    }
    w.line(
      1,
      str(pm.namespace),
      str(pm.name),
      cell('cpu', r.requests.get('cpu')),
      cell('cpu', r.limits.get('cpu')),
      cell('memory', r.requests.get('memory')),
      cell('memory', r.limits.get('memory')),
      since(pm.creationTimestamp),
    );
  }
  w.line(0, 'Allocated resources:');
  w.line(1, '(Total limits may be over 100 percent, i.e., overcommitted.)');
  w.line(1, 'Resource', 'Requests', 'Limits');
  w.line(1, '--------', '--------', '------');
  const resources = new Set(['cpu', 'memory', ...total.requests.keys(), ...total.limits.keys()]);
  for (const k of [...resources].sort((a, b) =>
    a === 'cpu' ? -1 : b === 'cpu' ? 1 : a.localeCompare(b),
  )) {
    w.line(1, k, cell(k, total.requests.get(k)), cell(k, total.limits.get(k)));
  }
  describeEvents(w, events);
}
