// Every name and path a local cluster uses, derived from its name, its
// subnet and its state directory alone, so that `down` and `status` find
// exactly what `up` made.

import { join, resolve } from 'node:path';
import { agentPaths } from '../../nodeagent/paths.js';

/** The subnet `cluster up` uses unless it is taken or --subnet says otherwise. */
export const DEFAULT_SUBNET = '10.213.0.0/24';
export const API_PORT = 6443;
export const AGENT_PORT = 6444;
export const REGISTRY_PORT = 5000;
export const MAX_NODES = 99;

/** 9 characters at most: the bridge `shoal-<name>` must fit IFNAMSIZ (15). */
const NAME = /^[a-z][a-z0-9]{0,8}$/;

export function validateClusterName(name: string): string | undefined {
  return NAME.test(name)
    ? undefined
    : `cluster name "${name}" must be 1-9 lowercase letters or digits, starting with a letter`;
}

export function defaultStateDir(name: string): string {
  return join('/var/lib/shoal/clusters', name);
}

export interface HostLayout {
  /** Network namespace and Node name. */
  name: string;
  /** The veth end in the root namespace. */
  veth: string;
  address: string;
  /** The agent's --data-dir. */
  dataDir: string;
  /** The agent's runc --root. */
  runcRoot: string;
  /** The cgroup parent the agent gives its pods (below each hierarchy's root). */
  cgroupParent: string;
}

export interface ClusterLayout {
  name: string;
  stateDir: string;
  bridge: string;
  /** "a.b.c" of the /24. */
  prefix: string;
  subnet: string;
  /** The bridge's address: API, agent gateway and registry listen here. */
  gateway: string;
  apiUrl: string;
  agentAddress: string;
  registryAddress: string;
  /** What pods name the preloaded image by. */
  busyboxImage: string;
  controlplaneDir: string;
  adminKubeconfig: string;
  registryDir: string;
  imageLayoutDir: string;
  logsDir: string;
  runDir: string;
  stateFile: string;
  contextName: string;
  userName: string;
  hosts: HostLayout[];
}

export function clusterLayout(
  name: string,
  stateDir: string,
  prefix: string,
  nodes: number,
): ClusterLayout {
  const dir = resolve(stateDir);
  const gateway = `${prefix}.1`;
  const registryAddress = `${gateway}:${REGISTRY_PORT}`;
  const hosts: HostLayout[] = [];
  for (let i = 1; i <= nodes; i++) {
    const hostName = `shoal-${name}-${i}`;
    const dataDir = join(dir, 'agents', hostName);
    hosts.push({
      name: hostName,
      veth: `sh-${name}-${i}`,
      // .2-.9 stay free for whatever else the bridge may need later.
      address: `${prefix}.${9 + i}`,
      dataDir,
      runcRoot: agentPaths(dataDir).runcRoot,
      // nodeagent/agent.ts: cgroupParent `/shoal-<node name>`.
      cgroupParent: `shoal-${hostName}`,
    });
  }
  return {
    name,
    stateDir: dir,
    bridge: `shoal-${name}`,
    prefix,
    subnet: `${prefix}.0/24`,
    gateway,
    apiUrl: `https://${gateway}:${API_PORT}`,
    agentAddress: `${gateway}:${AGENT_PORT}`,
    registryAddress,
    busyboxImage: `${registryAddress}/busybox:latest`,
    controlplaneDir: join(dir, 'controlplane'),
    adminKubeconfig: join(dir, 'controlplane', 'admin.kubeconfig'),
    registryDir: join(dir, 'registry'),
    imageLayoutDir: join(dir, 'images', 'busybox-oci'),
    logsDir: join(dir, 'logs'),
    runDir: join(dir, 'run'),
    stateFile: join(dir, 'state.json'),
    contextName: `shoal-${name}`,
    userName: `shoal-${name}-admin`,
    hosts,
  };
}

/** The background processes of a cluster, in the order `down` stops them. */
export function processNames(layout: ClusterLayout): string[] {
  return [...layout.hosts.map((h) => `agent-${h.name}`), 'registry', 'controlplane'];
}
