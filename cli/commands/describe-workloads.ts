// `describe` for Deployments, ReplicaSets, DaemonSets, Jobs, Services and
// Namespaces as kubectl lays them out, plus a generic describer (fields
// nested as "Key: value") for every other kind.

import {
  annotationLines,
  arr,
  describeEvents,
  DescribeWriter,
  labelLines,
  rec,
  rfc1123z,
  str,
  type Obj,
} from './describe-writer.js';
import { controllerOf, describePodTemplate } from './describe-pods.js';

/** What describers may read beyond the object itself; all of it through the API. */
export interface DescribeContext {
  /** Events about the object: uid, else kind + name + namespace, match. */
  events(obj: Obj, kind: string): Promise<Obj[]>;
  /** An object by URL path; undefined when it does not exist. */
  get(path: string): Promise<Obj | undefined>;
  /** A collection's items by URL path. */
  list(path: string, query?: Record<string, string | undefined>): Promise<Obj[]>;
}

/** metav1.LabelSelector → the ?labelSelector= string kubectl prints ("app=web,tier in (a,b)"). */
export function selectorText(sel: unknown): string {
  const s = rec(sel);
  const parts = labelLines(s.matchLabels);
  for (const e of arr(s.matchExpressions)) {
    const key = str(e.key);
    const values = Array.isArray(e.values) ? e.values.map((v) => str(v)).join(',') : '';
    switch (e.operator) {
      case 'In':
        parts.push(`${key} in (${values})`);
        break;
      case 'NotIn':
        parts.push(`${key} notin (${values})`);
        break;
      case 'Exists':
        parts.push(key);
        break;
      case 'DoesNotExist':
        parts.push(`!${key}`);
        break;
    }
  }
  return parts.join(',');
}

function header(w: DescribeWriter, meta: Obj, namespaced = true): void {
  w.kv(0, 'Name', meta.name);
  if (namespaced) w.kv(0, 'Namespace', meta.namespace);
}

function conditionsTable(w: DescribeWriter, conditions: Obj[]): void {
  if (!conditions.length) return;
  w.line(0, 'Conditions:');
  w.line(1, 'Type', 'Status', 'Reason');
  w.line(1, '----', '------', '------');
  for (const c of conditions) w.line(1, str(c.type), str(c.status), str(c.reason));
}

const num = (v: unknown): number => (typeof v === 'number' ? v : 0);

/** Pods the controller with `uid` owns, matched first by its selector. */
async function ownedPods(ctx: DescribeContext, obj: Obj, selector: unknown): Promise<Obj[]> {
  const meta = rec(obj.metadata);
  const pods = await ctx.list(
    `/api/v1/namespaces/${encodeURIComponent(str(meta.namespace))}/pods`,
    {
      labelSelector: selectorText(selector) || undefined,
    },
  );
  return pods.filter((p) => arr(rec(p.metadata).ownerReferences).some((r) => r.uid === meta.uid));
}

function podsStatus(pods: Obj[]): string {
  const count = (phase: string): number =>
    pods.filter((p) => str(rec(p.status).phase) === phase).length;
  return `${count('Running')} Running / ${count('Pending')} Waiting / ${count('Succeeded')} Succeeded / ${count('Failed')} Failed`;
}

function rsLine(rs: Obj): string {
  const spec = rec(rs.spec);
  const status = rec(rs.status);
  return `${str(rec(rs.metadata).name)} (${num(status.replicas)}/${num(spec.replicas)} replicas created)`;
}

export async function describeDeployment(ctx: DescribeContext, d: Obj): Promise<string> {
  const w = new DescribeWriter();
  const meta = rec(d.metadata);
  const spec = rec(d.spec);
  const status = rec(d.status);
  header(w, meta);
  w.kv(0, 'CreationTimestamp', rfc1123z(meta.creationTimestamp));
  w.list(0, 'Labels', labelLines(meta.labels));
  w.list(0, 'Annotations', annotationLines(meta.annotations));
  w.kv(0, 'Selector', selectorText(spec.selector));
  const replicas = typeof spec.replicas === 'number' ? spec.replicas : 1;
  w.kv(
    0,
    'Replicas',
    `${replicas} desired | ${num(status.updatedReplicas)} updated | ${num(status.replicas)} total | ${num(status.availableReplicas)} available | ${num(status.unavailableReplicas)} unavailable`,
  );
  const strategy = rec(spec.strategy);
  const type = str(strategy.type, 'RollingUpdate');
  w.kv(0, 'StrategyType', type);
  w.kv(0, 'MinReadySeconds', num(spec.minReadySeconds));
  if (type === 'RollingUpdate') {
    const ru = rec(strategy.rollingUpdate);
    w.kv(
      0,
      'RollingUpdateStrategy',
      `${str(ru.maxUnavailable, '25%')} max unavailable, ${str(ru.maxSurge, '25%')} max surge`,
    );
  }
  describePodTemplate(w, rec(spec.template));
  conditionsTable(w, arr(status.conditions));
  const sets = (
    await ctx.list(
      `/apis/apps/v1/namespaces/${encodeURIComponent(str(meta.namespace))}/replicasets`,
    )
  ).filter((rs) => arr(rec(rs.metadata).ownerReferences).some((r) => r.uid === meta.uid));
  // The new ReplicaSet is the one at the Deployment's revision (the controller
  // stamps both with deployment.kubernetes.io/revision), else the newest.
  const revision = (o: Obj): number =>
    Number(str(rec(rec(o.metadata).annotations)['deployment.kubernetes.io/revision'], '0')) || 0;
  const byRevision = [...sets].sort((a, b) => revision(b) - revision(a));
  const current = revision(d);
  const newest =
    (current ? byRevision.find((rs) => revision(rs) === current) : undefined) ?? byRevision[0];
  const old = byRevision.filter(
    (rs) => rs !== newest && (num(rec(rs.spec).replicas) > 0 || num(rec(rs.status).replicas) > 0),
  );
  w.kv(0, 'OldReplicaSets', old.length ? old.map(rsLine).join(', ') : '<none>');
  w.kv(0, 'NewReplicaSet', newest ? rsLine(newest) : '<none>');
  describeEvents(w, await ctx.events(d, 'Deployment'));
  return w.text();
}

export async function describeReplicaSet(ctx: DescribeContext, rs: Obj): Promise<string> {
  const w = new DescribeWriter();
  const meta = rec(rs.metadata);
  const spec = rec(rs.spec);
  const status = rec(rs.status);
  header(w, meta);
  w.kv(0, 'Selector', selectorText(spec.selector));
  w.list(0, 'Labels', labelLines(meta.labels));
  w.list(0, 'Annotations', annotationLines(meta.annotations));
  const controller = controllerOf(meta);
  if (controller) w.kv(0, 'Controlled By', controller);
  w.kv(0, 'Replicas', `${num(status.replicas)} current / ${num(spec.replicas)} desired`);
  w.kv(0, 'Pods Status', podsStatus(await ownedPods(ctx, rs, spec.selector)));
  describePodTemplate(w, rec(spec.template));
  conditionsTable(w, arr(status.conditions));
  describeEvents(w, await ctx.events(rs, 'ReplicaSet'));
  return w.text();
}

export async function describeDaemonSet(ctx: DescribeContext, ds: Obj): Promise<string> {
  const w = new DescribeWriter();
  const meta = rec(ds.metadata);
  const spec = rec(ds.spec);
  const status = rec(ds.status);
  header(w, meta);
  w.kv(0, 'Selector', selectorText(spec.selector));
  w.list(0, 'Node-Selector', labelLines(rec(rec(spec.template).spec).nodeSelector));
  w.list(0, 'Labels', labelLines(meta.labels));
  w.list(0, 'Annotations', annotationLines(meta.annotations));
  w.kv(0, 'Desired Number of Nodes Scheduled', num(status.desiredNumberScheduled));
  w.kv(0, 'Current Number of Nodes Scheduled', num(status.currentNumberScheduled));
  w.kv(0, 'Number of Nodes Scheduled with Up-to-date Pods', num(status.updatedNumberScheduled));
  w.kv(0, 'Number of Nodes Scheduled with Available Pods', num(status.numberAvailable));
  w.kv(0, 'Number of Nodes Misscheduled', num(status.numberMisscheduled));
  w.kv(0, 'Pods Status', podsStatus(await ownedPods(ctx, ds, spec.selector)));
  describePodTemplate(w, rec(spec.template));
  describeEvents(w, await ctx.events(ds, 'DaemonSet'));
  return w.text();
}

export async function describeJob(ctx: DescribeContext, job: Obj): Promise<string> {
  const w = new DescribeWriter();
  const meta = rec(job.metadata);
  const spec = rec(job.spec);
  const status = rec(job.status);
  header(w, meta);
  w.kv(0, 'Selector', selectorText(spec.selector));
  w.list(0, 'Labels', labelLines(meta.labels));
  w.list(0, 'Annotations', annotationLines(meta.annotations));
  const controller = controllerOf(meta);
  if (controller) w.kv(0, 'Controlled By', controller);
  w.kv(0, 'Parallelism', typeof spec.parallelism === 'number' ? spec.parallelism : 1);
  w.kv(0, 'Completions', typeof spec.completions === 'number' ? spec.completions : '<unset>');
  w.kv(0, 'Completion Mode', str(spec.completionMode, 'NonIndexed'));
  w.kv(0, 'Suspend', String(spec.suspend === true));
  w.kv(0, 'Backoff Limit', typeof spec.backoffLimit === 'number' ? spec.backoffLimit : 6);
  if (status.startTime) w.kv(0, 'Start Time', rfc1123z(status.startTime));
  if (status.completionTime) {
    w.kv(0, 'Completed At', rfc1123z(status.completionTime));
    const ms = Date.parse(str(status.completionTime)) - Date.parse(str(status.startTime));
    if (!Number.isNaN(ms)) w.kv(0, 'Duration', `${Math.round(ms / 1000)}s`);
  }
  w.kv(
    0,
    'Pods Statuses',
    `${num(status.active)} Active (${num(status.ready)} Ready) / ${num(status.succeeded)} Succeeded / ${num(status.failed)} Failed`,
  );
  describePodTemplate(w, rec(spec.template));
  describeEvents(w, await ctx.events(job, 'Job'));
  return w.text();
}

export async function describeService(ctx: DescribeContext, svc: Obj): Promise<string> {
  const w = new DescribeWriter();
  const meta = rec(svc.metadata);
  const spec = rec(svc.spec);
  header(w, meta);
  w.list(0, 'Labels', labelLines(meta.labels));
  w.list(0, 'Annotations', annotationLines(meta.annotations));
  const selector = labelLines(spec.selector).join(',');
  w.kv(0, 'Selector', selector || '<none>');
  const type = str(spec.type, 'ClusterIP');
  w.kv(0, 'Type', type);
  if (spec.ipFamilyPolicy) w.kv(0, 'IP Family Policy', spec.ipFamilyPolicy);
  const families = Array.isArray(spec.ipFamilies) ? spec.ipFamilies.map((f) => str(f)) : [];
  w.kv(0, 'IP Families', families.length ? families.join(',') : '<none>');
  w.kv(0, 'IP', str(spec.clusterIP, '<none>'));
  const ips = Array.isArray(spec.clusterIPs) ? spec.clusterIPs.map((f) => str(f)) : [];
  if (ips.length) w.kv(0, 'IPs', ips.join(','));
  if (type === 'ExternalName') w.kv(0, 'External Name', spec.externalName);
  const external = Array.isArray(spec.externalIPs) ? spec.externalIPs.map((f) => str(f)) : [];
  if (external.length) w.kv(0, 'External IPs', external.join(','));
  const lb = arr(rec(rec(svc.status).loadBalancer).ingress)
    .map((i) => str(i.ip) || str(i.hostname))
    .filter(Boolean);
  if (lb.length) w.kv(0, 'LoadBalancer Ingress', lb.join(', '));
  const endpoints = await ctx.get(
    `/api/v1/namespaces/${encodeURIComponent(str(meta.namespace))}/endpoints/${encodeURIComponent(str(meta.name))}`,
  );
  const ports = arr(spec.ports);
  if (!ports.length) w.kv(0, 'Port', '<none>');
  for (const p of ports) {
    const name = str(p.name) || '<unset>';
    const proto = str(p.protocol, 'TCP');
    w.line(0, 'Port:', name, `${str(p.port)}/${proto}`);
    const target = str(p.targetPort, str(p.port));
    w.kv(0, 'TargetPort', `${target}/${proto}`);
    if (p.nodePort) w.line(0, 'NodePort:', name, `${str(p.nodePort)}/${proto}`);
    w.kv(0, 'Endpoints', endpointsFor(endpoints, p, ports.length === 1));
  }
  w.kv(0, 'Session Affinity', str(spec.sessionAffinity, 'None'));
  if (spec.externalTrafficPolicy) w.kv(0, 'External Traffic Policy', spec.externalTrafficPolicy);
  if (spec.internalTrafficPolicy) w.kv(0, 'Internal Traffic Policy', spec.internalTrafficPolicy);
  describeEvents(w, await ctx.events(svc, 'Service'));
  return w.text();
}

/** The ready addresses the Endpoints object lists for one service port: "10.0.0.5:8080,…". */
function endpointsFor(ep: Obj | undefined, port: Obj, only: boolean): string {
  if (!ep) return '<none>';
  const out: string[] = [];
  for (const subset of arr(ep.subsets)) {
    const match = arr(subset.ports).find(
      (p) => str(p.name) === str(port.name) || (only && arr(subset.ports).length === 1),
    );
    if (!match) continue;
    for (const a of arr(subset.addresses)) out.push(`${str(a.ip)}:${str(match.port)}`);
  }
  return out.length ? out.join(',') : '<none>';
}

export async function describeNamespace(ctx: DescribeContext, ns: Obj): Promise<string> {
  const w = new DescribeWriter();
  const meta = rec(ns.metadata);
  header(w, meta, false);
  w.list(0, 'Labels', labelLines(meta.labels));
  w.list(0, 'Annotations', annotationLines(meta.annotations));
  w.kv(0, 'Status', str(rec(ns.status).phase, 'Active'));
  w.line(0, '');
  w.line(0, 'No resource quota.');
  w.line(0, '');
  w.line(0, 'No LimitRange resource.');
  const events = await ctx.events(ns, 'Namespace');
  if (events.length) describeEvents(w, events);
  return w.text();
}

function scalar(v: unknown): string | undefined {
  if (v === null || v === undefined) return '<nil>';
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

function genericFields(w: DescribeWriter, level: number, v: Obj): void {
  for (const [k, val] of Object.entries(v)) {
    const key = k === 'apiVersion' ? 'API Version' : k.charAt(0).toUpperCase() + k.slice(1);
    const s = scalar(val);
    if (s !== undefined) w.kv(level, key, s);
    else if (Array.isArray(val)) {
      w.line(level, `${key}:`);
      for (const item of val) {
        const is = scalar(item);
        if (is !== undefined) w.line(level + 1, is);
        else genericFields(w, level + 1, rec(item));
      }
    } else {
      w.line(level, `${key}:`);
      genericFields(w, level + 1, rec(val));
    }
  }
}

/** Any other kind: kubectl's generic describer, the fields nested as "Key: value". */
export async function describeGeneric(
  ctx: DescribeContext,
  obj: Obj,
  kind: string,
  namespaced: boolean,
): Promise<string> {
  const w = new DescribeWriter();
  const meta = rec(obj.metadata);
  header(w, meta, namespaced);
  w.list(0, 'Labels', labelLines(meta.labels));
  w.list(0, 'Annotations', annotationLines(meta.annotations));
  const { metadata: _m, ...rest } = obj;
  genericFields(w, 0, rest);
  describeEvents(w, await ctx.events(obj, kind));
  return w.text();
}
