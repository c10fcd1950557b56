// A whole test cluster on one machine: lab hosts (network namespaces), a
// registry on the lab's gateway holding busybox, a control plane listening
// for agents on the gateway, a `shoal agent` on every host, and the wait for
// their nodes to be Ready. stop() takes it down in reverse order and tries
// every step even when one fails, so nothing is left behind.

import * as k8s from '@kubernetes/client-node';
import { createLab, type Lab, type LabHost } from './hosts.js';
import { startRegistry, type TestRegistry } from './registry.js';
import { startTestControlplane, type TestControlplane } from './controlplane.js';
import { scrubAgent, startAgentOn, type TestAgent } from './agents.js';
import { waitFor } from './wait.js';

/** What the cluster needs of a control plane; startTestControlplane's is one. */
export interface ClusterControlplane {
  agentAddress: string;
  joinToken: string;
  kubeconfigPath: string;
  stop(): Promise<void>;
}

export type TestControlplaneOptions = Omit<
  NonNullable<Parameters<typeof startTestControlplane>[0]>,
  'agentListen'
>;

export interface TestClusterOptions {
  /** How many lab hosts; each gets an agent unless agents.start is false. */
  hosts: number;
  /** createLab's name prefix (random by default). */
  labPrefix?: string;
  /** busybox tags pushed to the registry; `image` names the first. Default ['latest']. */
  imageTags?: string[];
  agents?: {
    /** false: no agents at setup; the test starts them with startAgent(). */
    start?: boolean;
    /** Extra `shoal agent` flags for a host. */
    extra?: (host: LabHost) => string[];
    /** How long to wait for all nodes to be Ready (waitFor's default otherwise). */
    readyTimeoutMs?: number;
  };
}

export interface TestCluster<C extends ClusterControlplane = TestControlplane> {
  lab: Lab;
  registry: TestRegistry;
  /** `<registry>/busybox:<first tag>`. */
  image: string;
  cp: C;
  kubeconfig: k8s.KubeConfig;
  core: k8s.CoreV1Api;
  /** Every agent started, at setup or by startAgent(); stop() stops and scrubs them all. */
  agents: TestAgent[];
  /** Starts an agent on a lab host, joined to the control plane and trusting the registry. */
  startAgent(host: LabHost): Promise<TestAgent>;
  /** Agents (SIGTERM, SIGKILL after 20 s), their leftovers, control plane, registry, lab. */
  stop(): Promise<void>;
}

/** How long an agent has to exit on SIGTERM before it is killed. */
const AGENT_STOP_GRACE_MS = 20_000;

async function stopAgent(agent: TestAgent): Promise<void> {
  const child = agent.process;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const timer = setTimeout(() => child.kill('SIGKILL'), AGENT_STOP_GRACE_MS);
  try {
    await agent.stop();
  } finally {
    clearTimeout(timer);
  }
}

/** Starts the control plane with startTestControlplane and these options. */
export function startTestCluster(
  opts: TestClusterOptions & { controlplane?: TestControlplaneOptions; startControlplane?: never },
): Promise<TestCluster>;
/**
 * Starts the control plane with the test's own function, given the agent
 * listen address (for a test that restarts it on the same data and port).
 */
export function startTestCluster<C extends ClusterControlplane>(
  opts: TestClusterOptions & { startControlplane: (agentListen: string) => Promise<C> },
): Promise<TestCluster<C>>;
export async function startTestCluster(
  opts: TestClusterOptions & {
    controlplane?: TestControlplaneOptions;
    startControlplane?: (agentListen: string) => Promise<ClusterControlplane>;
  },
): Promise<TestCluster<ClusterControlplane>> {
  // Clean-ups in the order things were made; stop() runs them backwards.
  const undo: { what: string; run: () => Promise<unknown> }[] = [];
  const agents: TestAgent[] = [];
  const stop = async (): Promise<void> => {
    const failures: string[] = [];
    while (undo.length > 0) {
      const step = undo.pop()!;
      try {
        await step.run();
      } catch (err) {
        failures.push(`${step.what}: ${String(err)}`);
      }
    }
    if (failures.length > 0) throw new Error(`test cluster clean-up: ${failures.join('; ')}`);
  };
  try {
    const lab = await createLab(opts.hosts, opts.labPrefix ? { prefix: opts.labPrefix } : {});
    undo.push({ what: 'lab', run: () => lab.destroy() });
    const registry = await startRegistry({ address: lab.gatewayIp });
    undo.push({ what: 'registry', run: () => registry.stop() });
    const tags = opts.imageTags ?? ['latest'];
    for (const tag of tags) await registry.pushBusybox(tag);
    const agentListen = `${lab.gatewayIp}:0`;
    const cp = opts.startControlplane
      ? await opts.startControlplane(agentListen)
      : await startTestControlplane({ ...opts.controlplane, agentListen });
    undo.push({ what: 'control plane', run: () => cp.stop() });
    // All agents stop before any is scrubbed, as they would on a real shutdown.
    undo.push({
      what: 'agents',
      run: async () => {
        const failures: string[] = [];
        for (const a of agents)
          await stopAgent(a).catch((err: unknown) => failures.push(`stop ${a.nodeName}: ${err}`));
        for (const a of agents)
          await scrubAgent(a).catch((err: unknown) => failures.push(`scrub ${a.nodeName}: ${err}`));
        if (failures.length > 0) throw new Error(failures.join('; '));
      },
    });
    const kubeconfig = new k8s.KubeConfig();
    kubeconfig.loadFromFile(cp.kubeconfigPath);
    const core = kubeconfig.makeApiClient(k8s.CoreV1Api);
    const startAgent = async (host: LabHost): Promise<TestAgent> => {
      const agent = await startAgentOn(host, {
        server: cp.agentAddress,
        token: cp.joinToken,
        insecureRegistries: [registry.host],
        ...(opts.agents?.extra ? { extra: opts.agents.extra(host) } : {}),
      });
      agents.push(agent);
      return agent;
    };
    if (opts.agents?.start ?? true) {
      await Promise.all(lab.hosts.map((h) => startAgent(h)));
      await waitFor(
        `${lab.hosts.length} Ready nodes`,
        async () =>
          (await core.listNode()).items.filter((n) =>
            n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
          ).length,
        (n) => n === lab.hosts.length,
        opts.agents?.readyTimeoutMs ? { timeoutMs: opts.agents.readyTimeoutMs } : {},
      ).catch((err: unknown) => {
        // What the agents said is the only clue to why they did not join.
        const said = agents.map((a) => `${a.nodeName}: ${a.output().slice(-2000)}`).join('\n');
        throw new Error(`${String(err)}\n${said}`);
      });
    }
    return {
      lab,
      registry,
      image: `${registry.host}/busybox:${tags[0] ?? 'latest'}`,
      cp,
      kubeconfig,
      core,
      agents,
      startAgent,
      stop,
    };
  } catch (err) {
    // The caller never gets the cluster to stop: take down what was made here.
    await stop().catch((cleanupErr: unknown) => console.error(String(cleanupErr)));
    throw err;
  }
}
