// Where an agent keeps things under its data directory, in one place so the
// agent, `shoal cluster down` and the tests' clean-up agree.
//
// Two kinds of state, laid out as containerd and the kubelet lay theirs out:
// - what must outlive a reboot (images, the pods' checkpoints, their writable
//   layers, logs and volumes, the node's credentials) stays on the data
//   directory's own filesystem;
// - runtime state that is meaningless once the machine restarts (runc's
//   state, the container monitors' pid and exit files, the pods' network
//   namespaces and IP allocations, the OCI bundles) lives in `run/`, a tmpfs
//   the agent mounts there, as containerd keeps its under /run.
//
// Why a tmpfs: a pod start creates some thirty small files and directories
// and a pod stop deletes them. On ext4, allocating an inode skips every
// inode freed in the last minute or more (`recently_deleted`, one inode-table
// lookup each), so on a node that churns pods the allocations alone cost
// ~10 ms of CPU per pod start (measured with perf during test/bench/pod-start.ts).

import { join } from 'node:path';

export interface AgentPaths {
  /** tmpfs mounted by the agent (runtime/run-dir.ts): gone after a reboot, kept across agent restarts. */
  run: string;
  /** `runc --root`. */
  runcRoot: string;
  /** The container monitors' pid, exit and runc log files. */
  monitorState: string;
  /** Pod network namespaces, host-local IPAM, CNI attachments. */
  network: string;
  /** OCI bundles (config.json and the rootfs mount point), one per container instance. */
  bundles: string;
  /** Per-pod checkpoints, /etc files, logs, writable layers. */
  pods: string;
  images: string;
  volumes: string;
}

export function agentPaths(dataDir: string): AgentPaths {
  const run = join(dataDir, 'run');
  return {
    run,
    runcRoot: join(run, 'runc'),
    monitorState: join(run, 'runc-monitor'),
    network: join(run, 'network'),
    bundles: join(run, 'bundles'),
    pods: join(dataDir, 'pods'),
    images: join(dataDir, 'images'),
    volumes: join(dataDir, 'volumes'),
  };
}
