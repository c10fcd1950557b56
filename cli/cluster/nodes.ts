// The cluster's nodes as the API reports them, read with the control plane's
// admin kubeconfig (the same credentials `up` copies into the user's).

import * as k8s from '@kubernetes/client-node';
import type { ClusterLayout } from './layout.js';

export interface NodeRow {
  name: string;
  /** "Ready", "NotReady" or "Unknown", as kubectl's STATUS column. */
  status: string;
}

export function coreClient(layout: ClusterLayout): k8s.CoreV1Api {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(layout.adminKubeconfig);
  return kc.makeApiClient(k8s.CoreV1Api);
}

export async function listNodes(core: k8s.CoreV1Api): Promise<NodeRow[]> {
  const nodes = (await core.listNode()).items;
  return nodes
    .map((n) => {
      const ready = n.status?.conditions?.find((c) => c.type === 'Ready');
      const status =
        ready?.status === 'True' ? 'Ready' : ready?.status === 'False' ? 'NotReady' : 'Unknown';
      return { name: n.metadata?.name ?? '', status };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** How many of the cluster's hosts the API reports Ready. */
export function readyCount(layout: ClusterLayout, rows: NodeRow[]): number {
  const ours = new Set(layout.hosts.map((h) => h.name));
  return rows.filter((r) => ours.has(r.name) && r.status === 'Ready').length;
}
