// `shoal cluster down`: undoes `up`, in the order that lets each step
// succeed: agents stop (their containers would otherwise be restarted), then
// the registry and the control plane (which stops its etcd); then what the
// agents leave on purpose (containers and their monitors, mounts, cgroups);
// then any process still naming the state directory (an etcd orphaned by a
// killed control plane); then the hosts, the bridge, the kubeconfig context
// and the state directory. Every step tolerates its part being gone already,
// so `down` also cleans up after a failed `up` or a second `down`.

import { rm } from 'node:fs/promises';
import {
  daemonDirs,
  loadExisting,
  plural,
  requireRoot,
  resolveNameAndDir,
  writer,
  type ClusterOptions,
} from './common.js';
import {
  cgroupPids,
  mountsUnder,
  removeCgroupTree,
  removeRuncContainers,
  runcContainers,
  unmountAllUnder,
} from './cleanup.js';
import { removeContext } from './kubeconfig.js';
import { processNames, type ClusterLayout } from './layout.js';
import { deleteHost, deleteLink } from './network.js';
import { processesMentioning, stopDaemon, terminate } from './processes.js';

export interface DownResult {
  /** False when there was no cluster to remove. */
  removed: boolean;
  layout?: ClusterLayout;
}

/** Removes the cluster and everything it made; a no-op when there is none. */
export async function clusterDown(opts: ClusterOptions = {}): Promise<DownResult> {
  requireRoot('down');
  const { name, stateDir } = resolveNameAndDir(opts);
  const say = writer(opts.out, process.stdout);
  const progress = writer(opts.err, process.stderr);
  const existing = await loadExisting(name, stateDir);
  if (!existing) {
    say(`cluster ${name} is not up (no state in ${stateDir}); nothing to remove`);
    return { removed: false };
  }
  const { layout, state } = existing;
  const dirs = daemonDirs(layout);

  for (const proc of processNames(layout)) {
    // The control plane gets longer: it stops etcd cleanly before it exits.
    await stopDaemon(dirs, proc, proc === 'controlplane' ? 15_000 : 10_000);
  }
  progress('stopped agents, registry and control plane');

  for (const host of layout.hosts) {
    const containers = await runcContainers(host.runcRoot);
    await removeRuncContainers(host.runcRoot);
    if (containers.length > 0)
      progress(`removed ${plural(containers.length, 'container')} of ${host.name}`);
  }
  // Container monitors exit with their containers; whatever still names the
  // state directory (a monitor, an orphaned etcd) goes now, as do stray
  // processes in the agents' cgroups.
  const leftovers = new Set(await processesMentioning(layout.stateDir));
  for (const host of layout.hosts)
    for (const pid of await cgroupPids(host.cgroupParent)) leftovers.add(pid);
  for (const pid of leftovers) await terminate(pid, 2_000);

  await unmountAllUnder(layout.stateDir);
  const stillMounted = await mountsUnder(layout.stateDir);
  for (const host of layout.hosts) await removeCgroupTree(host.cgroupParent);

  for (const host of layout.hosts) await deleteHost({ netns: host.name, veth: host.veth });
  await deleteLink(layout.bridge);
  progress(`deleted ${plural(layout.hosts.length, 'host')} and bridge ${layout.bridge}`);

  if (state.kubeconfig) {
    await removeContext(layout, state.kubeconfig);
    progress(`removed context ${layout.contextName} from ${state.kubeconfig.path}`);
  }
  if (stillMounted.length > 0) {
    // Never recurse into a live mount: that would delete inside a container's rootfs.
    throw new Error(
      `could not unmount ${stillMounted.join(', ')}; ${layout.stateDir} is left in place`,
    );
  }
  await rm(layout.stateDir, { recursive: true, force: true });
  say(`cluster ${name} is down`);
  return { removed: true, layout };
}
