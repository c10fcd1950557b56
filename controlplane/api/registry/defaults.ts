// Kubernetes' defaulting, applied on every write before validation, so that
// what clients read back (and what controllers and `kubectl rollout status`
// reason about) has the fields Kubernetes would have filled in.

import { isRecord, type KubeObject } from '../objects.js';

type Rec = Record<string, unknown>;

function rec(parent: Rec, field: string): Rec {
  const v = parent[field];
  if (isRecord(v)) return v;
  const created: Rec = {};
  parent[field] = created;
  return created;
}

function setDefault(obj: Rec, field: string, value: unknown): void {
  if (obj[field] === undefined || obj[field] === null) obj[field] = value;
}

/** Image tag rules for imagePullPolicy: `:latest` or no tag means Always. */
function defaultPullPolicy(image: unknown): string {
  if (typeof image !== 'string') return 'IfNotPresent';
  if (image.includes('@')) return 'IfNotPresent';
  const lastSlash = image.lastIndexOf('/');
  const tagColon = image.indexOf(':', lastSlash + 1);
  if (tagColon < 0) return 'Always';
  return image.slice(tagColon + 1) === 'latest' ? 'Always' : 'IfNotPresent';
}

function defaultContainers(list: unknown): void {
  if (!Array.isArray(list)) return;
  for (const c of list) {
    if (!isRecord(c)) continue;
    setDefault(c, 'imagePullPolicy', defaultPullPolicy(c.image));
    setDefault(c, 'terminationMessagePath', '/dev/termination-log');
    setDefault(c, 'terminationMessagePolicy', 'File');
    setDefault(c, 'resources', {});
    if (Array.isArray(c.ports)) {
      for (const p of c.ports) if (isRecord(p)) setDefault(p, 'protocol', 'TCP');
    }
    for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
      const pr = c[probe];
      if (!isRecord(pr)) continue;
      setDefault(pr, 'timeoutSeconds', 1);
      setDefault(pr, 'periodSeconds', 10);
      setDefault(pr, 'successThreshold', 1);
      setDefault(pr, 'failureThreshold', 3);
      if (isRecord(pr.httpGet)) {
        setDefault(pr.httpGet, 'path', '/');
        setDefault(pr.httpGet, 'scheme', 'HTTP');
      }
    }
  }
}

export function defaultPodSpec(spec: Rec, restartPolicy = 'Always'): void {
  setDefault(spec, 'restartPolicy', restartPolicy);
  setDefault(spec, 'terminationGracePeriodSeconds', 30);
  setDefault(spec, 'dnsPolicy', 'ClusterFirst');
  setDefault(spec, 'schedulerName', 'default-scheduler');
  setDefault(spec, 'securityContext', {});
  setDefault(spec, 'enableServiceLinks', true);
  defaultContainers(spec.containers);
  defaultContainers(spec.initContainers);
  if (Array.isArray(spec.volumes)) {
    for (const v of spec.volumes) {
      if (!isRecord(v)) continue;
      for (const src of ['configMap', 'secret']) {
        if (isRecord(v[src])) setDefault(v[src], 'defaultMode', 0o644);
      }
    }
  }
}

function defaultTemplate(spec: Rec, restartPolicy?: string): void {
  const template = rec(spec, 'template');
  const podSpec = rec(template, 'spec');
  defaultPodSpec(podSpec, restartPolicy);
}

const DEFAULTERS: Record<string, (obj: KubeObject) => void> = {
  Pod(obj) {
    defaultPodSpec(rec(obj, 'spec'));
  },
  Deployment(obj) {
    const spec = rec(obj, 'spec');
    setDefault(spec, 'replicas', 1);
    setDefault(spec, 'revisionHistoryLimit', 10);
    setDefault(spec, 'progressDeadlineSeconds', 600);
    const strategy = rec(spec, 'strategy');
    setDefault(strategy, 'type', 'RollingUpdate');
    if (strategy.type === 'RollingUpdate') {
      const ru = rec(strategy, 'rollingUpdate');
      setDefault(ru, 'maxUnavailable', '25%');
      setDefault(ru, 'maxSurge', '25%');
    }
    defaultTemplate(spec);
  },
  ReplicaSet(obj) {
    const spec = rec(obj, 'spec');
    setDefault(spec, 'replicas', 1);
    defaultTemplate(spec);
  },
  DaemonSet(obj) {
    const spec = rec(obj, 'spec');
    setDefault(spec, 'revisionHistoryLimit', 10);
    const strategy = rec(spec, 'updateStrategy');
    setDefault(strategy, 'type', 'RollingUpdate');
    if (strategy.type === 'RollingUpdate') {
      const ru = rec(strategy, 'rollingUpdate');
      setDefault(ru, 'maxUnavailable', 1);
      setDefault(ru, 'maxSurge', 0);
    }
    defaultTemplate(spec);
  },
  StatefulSet(obj) {
    const spec = rec(obj, 'spec');
    setDefault(spec, 'replicas', 1);
    setDefault(spec, 'podManagementPolicy', 'OrderedReady');
    setDefault(spec, 'revisionHistoryLimit', 10);
    const strategy = rec(spec, 'updateStrategy');
    setDefault(strategy, 'type', 'RollingUpdate');
    if (strategy.type === 'RollingUpdate')
      setDefault(rec(strategy, 'rollingUpdate'), 'partition', 0);
    const retention = rec(spec, 'persistentVolumeClaimRetentionPolicy');
    setDefault(retention, 'whenDeleted', 'Retain');
    setDefault(retention, 'whenScaled', 'Retain');
    if (Array.isArray(spec.volumeClaimTemplates)) {
      for (const t of spec.volumeClaimTemplates) {
        if (isRecord(t)) setDefault(rec(t, 'spec'), 'volumeMode', 'Filesystem');
      }
    }
    defaultTemplate(spec);
  },
  PersistentVolume(obj) {
    const spec = rec(obj, 'spec');
    setDefault(spec, 'persistentVolumeReclaimPolicy', 'Retain');
    setDefault(spec, 'volumeMode', 'Filesystem');
  },
  PersistentVolumeClaim(obj) {
    setDefault(rec(obj, 'spec'), 'volumeMode', 'Filesystem');
  },
  StorageClass(obj) {
    setDefault(obj, 'reclaimPolicy', 'Delete');
    setDefault(obj, 'volumeBindingMode', 'Immediate');
  },
  Job(obj) {
    const spec = rec(obj, 'spec');
    setDefault(spec, 'completions', 1);
    setDefault(spec, 'parallelism', 1);
    setDefault(spec, 'backoffLimit', 6);
    setDefault(spec, 'completionMode', 'NonIndexed');
    setDefault(spec, 'suspend', false);
    defaultTemplate(spec);
  },
  Service(obj) {
    const spec = rec(obj, 'spec');
    setDefault(spec, 'type', 'ClusterIP');
    setDefault(spec, 'sessionAffinity', 'None');
    if (Array.isArray(spec.ports)) {
      for (const p of spec.ports) {
        if (!isRecord(p)) continue;
        setDefault(p, 'protocol', 'TCP');
        setDefault(p, 'targetPort', p.port);
      }
    }
  },
  Secret(obj) {
    setDefault(obj, 'type', 'Opaque');
  },
  PriorityClass(obj) {
    setDefault(obj, 'preemptionPolicy', 'PreemptLowerPriority');
  },
  Namespace(obj) {
    const spec = rec(obj, 'spec');
    setDefault(spec, 'finalizers', ['kubernetes']);
  },
};

/** Fills Kubernetes' defaults into obj in place. */
export function applyDefaults(kind: string, obj: KubeObject): void {
  DEFAULTERS[kind]?.(obj);
}
