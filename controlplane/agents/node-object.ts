// The Node object an agent's Register describes, and the heartbeat that keeps
// its Ready condition fresh. Quantities are written the way kubelets write
// them ("2", "8145364Ki", "110") so kubectl and the scheduler read them alike.

import type { KubeObject } from '../api/objects.js';
import { isRecord } from '../api/objects.js';
import type { Register__Output } from '../../proto/generated/shoal/agent/v1/Register.js';
import type { Resources__Output } from '../../proto/generated/shoal/agent/v1/Resources.js';

function quantities(r: Resources__Output | null): Record<string, string> {
  if (!r) return {};
  const cpu = Number(r.cpu_millis);
  return {
    cpu: cpu % 1000 === 0 ? String(cpu / 1000) : `${cpu}m`,
    memory: `${Math.floor(Number(r.memory_bytes) / 1024)}Ki`,
    pods: String(r.pods),
    ...(Number(r.ephemeral_storage_bytes) > 0
      ? { 'ephemeral-storage': `${Math.floor(Number(r.ephemeral_storage_bytes) / 1024)}Ki` }
      : {}),
  };
}

function timestamp(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function readyCondition(now: Date, since: string = timestamp(now)): Record<string, unknown> {
  return {
    type: 'Ready',
    status: 'True',
    reason: 'KubeletReady',
    message: 'shoal agent is posting ready status',
    lastHeartbeatTime: timestamp(now),
    lastTransitionTime: since,
  };
}

export function nodeFromRegister(reg: Register__Output, now: Date): KubeObject {
  const info = reg.node_info;
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: reg.node_name, labels: { ...reg.labels } },
    spec:
      reg.taints.length > 0
        ? { taints: reg.taints.map((t) => ({ key: t.key, value: t.value, effect: t.effect })) }
        : {},
    status: {
      capacity: quantities(reg.capacity),
      allocatable: quantities(reg.allocatable),
      addresses: reg.addresses.map((a) => ({ type: a.type, address: a.address })),
      conditions: [readyCondition(now)],
      nodeInfo: {
        operatingSystem: info?.os ?? 'linux',
        architecture: info?.architecture ?? '',
        kernelVersion: info?.kernel_version ?? '',
        osImage: info?.os_image ?? '',
        containerRuntimeVersion: info?.container_runtime_version ?? '',
        kubeletVersion: info?.kubelet_version ?? '',
        kubeProxyVersion: '',
        machineID: info?.machine_id ?? '',
        systemUUID: info?.machine_id ?? '',
        bootID: info?.boot_id ?? '',
      },
      daemonEndpoints: { kubeletEndpoint: { Port: 0 } },
    },
  };
}

/** The node with its Ready condition renewed: True since whenever it last turned True. */
export function withHeartbeat(node: KubeObject, now: Date): KubeObject {
  const status = isRecord(node.status) ? node.status : {};
  const conditions = Array.isArray(status.conditions) ? status.conditions.filter(isRecord) : [];
  const ready = conditions.find((c) => c.type === 'Ready');
  const since =
    ready?.status === 'True' && typeof ready.lastTransitionTime === 'string'
      ? ready.lastTransitionTime
      : undefined;
  const others = conditions.filter((c) => c.type !== 'Ready');
  return {
    ...node,
    metadata: { ...node.metadata, resourceVersion: undefined },
    status: { ...status, conditions: [...others, readyCondition(now, since)] },
  };
}
