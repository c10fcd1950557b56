// `shoal cluster status`: the cluster's processes (running or not, by their
// pid files) and its nodes as the API reports them. "Up" means every process
// runs and every host is a Ready node.

import {
  daemonDirs,
  loadExisting,
  resolveNameAndDir,
  writer,
  type ClusterOptions,
} from './common.js';
import { processNames, type ClusterLayout } from './layout.js';
import { coreClient, listNodes, readyCount, type NodeRow } from './nodes.js';
import { linkAddresses } from './network.js';
import { runningPid } from './processes.js';

export interface ProcessRow {
  name: string;
  /** Undefined when it does not run. */
  pid?: number;
}

export interface StatusResult {
  /** Every process runs and every host is a Ready node. */
  up: boolean;
  layout?: ClusterLayout;
  processes: ProcessRow[];
  nodes: NodeRow[];
  /** Why the nodes could not be listed, if they could not. */
  apiError?: string;
}

/** Prints the status table; never throws for a cluster that is down, it reports it. */
export async function clusterStatus(opts: ClusterOptions = {}): Promise<StatusResult> {
  const { name, stateDir } = resolveNameAndDir(opts);
  const say = writer(opts.out, process.stdout);
  const existing = await loadExisting(name, stateDir);
  if (!existing) {
    say(`cluster ${name}: not up (no state in ${stateDir})`);
    return { up: false, processes: [], nodes: [] };
  }
  const { layout } = existing;
  const dirs = daemonDirs(layout);
  const processes: ProcessRow[] = [];
  // Started first, listed first: control plane, registry, then the agents.
  const names = processNames(layout);
  for (const proc of [...names.slice(-2).reverse(), ...names.slice(0, -2)]) {
    const pid = await runningPid(dirs, proc);
    processes.push(pid === undefined ? { name: proc } : { name: proc, pid });
  }
  let nodes: NodeRow[] = [];
  let apiError: string | undefined;
  // Without the bridge the API's address would be routed off the machine:
  // only ask when the bridge holds it and the control plane runs.
  if (!(await linkAddresses(layout.bridge)).includes(`${layout.gateway}/24`)) {
    apiError = `bridge ${layout.bridge} with ${layout.gateway} is missing`;
  } else if (processes.find((p) => p.name === 'controlplane')?.pid === undefined) {
    apiError = 'the control plane does not run';
  } else {
    try {
      nodes = await listNodes(coreClient(layout));
    } catch (err) {
      apiError = err instanceof Error ? err.message : String(err);
    }
  }
  const up =
    processes.every((p) => p.pid !== undefined) &&
    readyCount(layout, nodes) === layout.hosts.length;

  say(`cluster ${name}: ${up ? 'up' : 'not fully up'}`);
  say(`  API ${layout.apiUrl}, registry ${layout.registryAddress}, state ${layout.stateDir}`);
  say('');
  say(
    table(
      ['PROCESS', 'PID', 'STATUS'],
      processes.map((p) => [
        p.name,
        p.pid === undefined ? '-' : String(p.pid),
        p.pid === undefined ? 'not running' : 'running',
      ]),
    ),
  );
  say('');
  if (apiError !== undefined) say(`nodes: not listed: ${apiError}`);
  else
    say(
      table(
        ['NAME', 'STATUS'],
        nodes.map((n) => [n.name, n.status]),
      ),
    );
  return { up, layout, processes, nodes, ...(apiError === undefined ? {} : { apiError }) };
}

/** Columns padded to their widest cell plus three spaces, as kubectl prints them. */
export function table(header: string[], rows: string[][]): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd((widths[i] ?? 0) + 3)))
        .join('')
        .trimEnd(),
    )
    .join('\n');
}
