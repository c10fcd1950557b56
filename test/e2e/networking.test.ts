// End to end: pod networking across hosts and Services. Three network-
// namespace hosts with real agents and runc; busybox httpd pods on hosts 2
// and 3 behind a NodePort Service; a client pod on host 1 fetches pages by
// pod IP (host-gw routes), by the Service's cluster IP (iptables DNAT), by
// DNS name (each agent's DNS server), from every host's node port, and from
// a hostPort. Not-ready pods leave the rotation, scaling joins it, deleting
// the Service removes its rules everywhere, and nothing is left afterwards.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import type { Lab } from '../support/hosts.js';
import { startTestCluster, type TestCluster } from '../support/cluster.js';
import { runcContainers, scrubAgent, type TestAgent } from '../support/agents.js';
import { waitFor } from '../support/wait.js';
import { ServiceProxy } from '../../nodeagent/network/service-proxy.js';
import { HostRoutes } from '../../nodeagent/network/routes.js';
import { agentPaths } from '../../nodeagent/paths.js';

const run = promisify(execFile);
let cluster: TestCluster | undefined;
let lab: Lab;
let agents: TestAgent[] = [];
let core: k8s.CoreV1Api;
let apps: k8s.AppsV1Api;
let image: string;
let labPrefix = '';

const POLL = { timeout: 90_000, interval: 250 };
const NS = 'default';
const HOST_PORT = 18080;

function webDeployment(replicas: number, hosts: string[]): k8s.V1Deployment {
  return {
    metadata: { name: 'web' },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: {
          terminationGracePeriodSeconds: 1,
          affinity: {
            nodeAffinity: {
              requiredDuringSchedulingIgnoredDuringExecution: {
                nodeSelectorTerms: [
                  {
                    matchExpressions: [
                      { key: 'kubernetes.io/hostname', operator: 'In', values: hosts },
                    ],
                  },
                ],
              },
            },
          },
          containers: [
            {
              name: 'main',
              image,
              // The page is the pod's name, so a client can tell who answered.
              command: [
                'sh',
                '-c',
                'mkdir -p /www && hostname > /www/index.html && touch /tmp/ready && exec httpd -f -p 8080 -h /www',
              ],
              ports: [{ name: 'http', containerPort: 8080 }],
              // A generous timeout: `runc exec` alone can take over the default
              // 1 s when the suite loads both cores, and that is not what this tests.
              readinessProbe: {
                exec: { command: ['cat', '/tmp/ready'] },
                periodSeconds: 1,
                timeoutSeconds: 5,
              },
              resources: { requests: { cpu: '10m', memory: '8Mi' } },
            },
          ],
        },
      },
    },
  };
}

function podOn(name: string, node: string, cmd: string, hostPort?: number): k8s.V1Pod {
  return {
    metadata: { name, labels: { role: name } },
    spec: {
      nodeName: node,
      terminationGracePeriodSeconds: 1,
      containers: [
        {
          name: 'main',
          image,
          command: ['sh', '-c', cmd],
          ...(hostPort ? { ports: [{ containerPort: 8080, hostPort }] } : {}),
        },
      ],
    },
  };
}

async function readyWebPods(): Promise<k8s.V1Pod[]> {
  const pods = (await core.listNamespacedPod({ namespace: NS, labelSelector: 'app=web' })).items;
  return pods.filter(
    (p) =>
      !p.metadata?.deletionTimestamp &&
      p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
  );
}

/**
 * Runs a command in a pod's main container with `runc exec`; returns stdout.
 * (Debian's static busybox wget crashes when given -T, so none is passed;
 * the exec itself has a timeout.)
 */
async function execIn(pod: k8s.V1Pod, cmd: string[], timeoutMs = 60_000): Promise<string> {
  const agent = agents.find((a) => a.nodeName === pod.spec?.nodeName)!;
  const ids = (await runcContainers(agent)).filter((id) =>
    id.startsWith(`${pod.metadata!.uid!}-main-`),
  );
  const id = ids.sort().at(-1);
  if (!id) throw new Error(`no container for pod ${pod.metadata?.name}`);
  const { stdout } = await run(
    'runc',
    ['--root', agentPaths(agent.dataDir).runcRoot, 'exec', id, ...cmd],
    {
      timeout: timeoutMs,
    },
  );
  return stdout;
}

async function client(): Promise<k8s.V1Pod> {
  return core.readNamespacedPod({ namespace: NS, name: 'client' });
}

async function fetchFrom(url: string): Promise<string> {
  return (await execIn(await client(), ['wget', '-q', '-O', '-', url])).trim();
}

/** `n` fetches of `url` from the client pod; the answering pod names, one per line. */
async function fetchMany(url: string, n: number): Promise<string[]> {
  const out = await execIn(await client(), [
    'sh',
    '-c',
    `i=0; while [ $i -lt ${n} ]; do wget -q -O - ${url}; i=$((i+1)); done`,
  ]);
  return out.split('\n').filter((l) => l !== '');
}

async function natRules(host: string): Promise<string> {
  const { stdout } = await run('nsenter', [
    `--net=/run/netns/${host}`,
    'iptables-save',
    '-t',
    'nat',
  ]);
  return stdout;
}

beforeAll(async () => {
  cluster = await startTestCluster({ hosts: 3, controlplane: { controllers: true } });
  ({ lab, agents, image, core } = cluster);
  labPrefix = lab.bridge.replace(/br$/, '');
  apps = cluster.kubeconfig.makeApiClient(k8s.AppsV1Api);
  try {
    const [h1, h2, h3] = lab.hosts.map((h) => h.name) as [string, string, string];
    await apps.createNamespacedDeployment({ namespace: NS, body: webDeployment(3, [h2, h3]) });
    await core.createNamespacedPod({ namespace: NS, body: podOn('client', h1, 'sleep 3600') });
    await core.createNamespacedPod({
      namespace: NS,
      body: podOn(
        'hostport',
        h2,
        'mkdir -p /www && echo hostport > /www/index.html && exec httpd -f -p 8080 -h /www',
        HOST_PORT,
      ),
    });
    await core.createNamespacedService({
      namespace: NS,
      body: {
        metadata: { name: 'web' },
        spec: {
          type: 'NodePort',
          selector: { app: 'web' },
          ports: [{ port: 80, targetPort: 'http' }],
        },
      },
    });
    await waitFor(
      'three ready web pods',
      async () => (await readyWebPods()).length,
      (n) => n === 3,
      {
        timeoutMs: 120_000,
      },
    );
    await waitFor(
      'a running client pod',
      async () => (await client()).status?.phase,
      (p) => p === 'Running',
      {
        timeoutMs: 120_000,
      },
    );
  } catch (err) {
    const pods = (await core.listNamespacedPod({ namespace: NS })).items;
    const lines = pods.map(
      (p) => `${p.metadata?.name} ${p.spec?.nodeName} ${JSON.stringify(p.status)}`,
    );
    const logs = agents.map((a) => a.output().slice(-3000));
    throw new Error([(err as Error).message, ...lines, ...logs].join('\n'));
  }
}, 300_000);

afterAll(async () => {
  if (core) {
    await apps?.deleteNamespacedDeployment({ namespace: NS, name: 'web' }).catch(() => undefined);
    await core.deleteNamespacedService({ namespace: NS, name: 'web' }).catch(() => undefined);
    await core
      .deleteCollectionNamespacedPod({ namespace: NS, gracePeriodSeconds: 0 })
      .catch(() => undefined);
    // Pods' networks (veths, masquerade chains, portmap rules) go with the pods.
    await waitFor(
      'pods gone',
      async () => (await core.listNamespacedPod({ namespace: NS })).items.length,
      (n) => n === 0,
      { timeoutMs: 60_000 },
    ).catch(() => undefined);
  }
  await cluster?.stop();
}, 180_000);

describe('pod networking and Services across three hosts', () => {
  it('reaches pods on other hosts by their pod IPs (host-gw routes)', async () => {
    const pods = await readyWebPods();
    expect(new Set(pods.map((p) => p.spec!.nodeName)).size).toBe(2);
    for (const p of pods) {
      expect(await fetchFrom(`http://${p.status!.podIP!}:8080/`)).toBe(p.metadata!.name);
    }
  });

  it('gives the Service a cluster IP from the service CIDR and a node port', async () => {
    const svc = await core.readNamespacedService({ namespace: NS, name: 'web' });
    expect(svc.spec?.clusterIP).toMatch(/^10\.(9[6-9]|10[0-9]|11[01])\.\d+\.\d+$/);
    const np = svc.spec?.ports?.[0]?.nodePort ?? 0;
    expect(np).toBeGreaterThanOrEqual(30000);
    expect(np).toBeLessThanOrEqual(32767);
  });

  it('spreads 100 requests to the cluster IP over every ready endpoint', async () => {
    const svc = await core.readNamespacedService({ namespace: NS, name: 'web' });
    const names = new Set((await readyWebPods()).map((p) => p.metadata!.name));
    const answers = await fetchMany(`http://${svc.spec!.clusterIP!}/`, 100);
    expect(answers).toHaveLength(100);
    expect(new Set(answers)).toEqual(names);
  });

  it('resolves the Service by name (search path and full name)', async () => {
    const names = new Set((await readyWebPods()).map((p) => p.metadata!.name));
    expect(names.has(await fetchFrom('http://web/'))).toBe(true);
    expect(names.has(await fetchFrom('http://web.default.svc.cluster.local/'))).toBe(true);
  });

  it('answers on the node port of every host and on a hostPort', async () => {
    const svc = await core.readNamespacedService({ namespace: NS, name: 'web' });
    const np = svc.spec!.ports![0]!.nodePort!;
    const names = new Set((await readyWebPods()).map((p) => p.metadata!.name));
    for (const h of lab.hosts) {
      expect(names.has(await fetchFrom(`http://${h.ip}:${np}/`))).toBe(true);
    }
    await expect
      .poll(
        async () =>
          (await core.readNamespacedPod({ namespace: NS, name: 'hostport' })).status?.phase,
        POLL,
      )
      .toBe('Running');
    expect(await fetchFrom(`http://${lab.hosts[1]!.ip}:${HOST_PORT}/`)).toBe('hostport');
  });

  it('stops sending traffic to a pod that turns not ready', async () => {
    const svc = await core.readNamespacedService({ namespace: NS, name: 'web' });
    const [victim] = await readyWebPods();
    await execIn(victim!, ['rm', '/tmp/ready']);
    await expect.poll(async () => (await readyWebPods()).length, POLL).toBe(2);
    // Ready is in the API; the rules follow within the coalescing window.
    const rest = new Set((await readyWebPods()).map((p) => p.metadata!.name));
    await expect
      .poll(async () => new Set(await fetchMany(`http://${svc.spec!.clusterIP!}/`, 30)), POLL)
      .toEqual(rest);
    await execIn(victim!, ['touch', '/tmp/ready']);
    await expect.poll(async () => (await readyWebPods()).length, POLL).toBe(3);
  });

  it('adds endpoints when the Deployment scales', async () => {
    await apps.patchNamespacedDeploymentScale(
      { namespace: NS, name: 'web', body: [{ op: 'replace', path: '/spec/replicas', value: 4 }] },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch),
    );
    await expect.poll(async () => (await readyWebPods()).length, POLL).toBe(4);
    const svc = await core.readNamespacedService({ namespace: NS, name: 'web' });
    const names = new Set((await readyWebPods()).map((p) => p.metadata!.name));
    await expect
      .poll(async () => new Set(await fetchMany(`http://${svc.spec!.clusterIP!}/`, 100)), POLL)
      .toEqual(names);
  });

  it('lets a pod reach itself and its node neighbours through the cluster IP (hairpin)', async () => {
    const svc = await core.readNamespacedService({ namespace: NS, name: 'web' });
    const [self] = await readyWebPods();
    const out = await execIn(self!, [
      'sh',
      '-c',
      `i=0; while [ $i -lt 40 ]; do wget -q -O - http://${svc.spec!.clusterIP!}/; i=$((i+1)); done`,
    ]);
    const answers = out.split('\n').filter((l) => l !== '');
    expect(answers).toHaveLength(40);
    expect(answers).toContain(self!.metadata!.name);
  });

  it('rebuilds exactly the same routes and rules when an agent restarts after they were removed', async () => {
    const h1 = lab.hosts[0]!;
    const state = async (): Promise<string> => {
      const rules = (await natRules(h1.name)).split('\n').filter((l) => !l.startsWith('#'));
      const { stdout: routes } = await run('nsenter', [
        `--net=${h1.netnsPath}`,
        'ip',
        'route',
        'show',
        'proto',
        '212',
      ]);
      return `${rules.join('\n')}\n${routes}`;
    };
    const before = await state();
    expect(before).toContain('SHOAL-SVC-');
    await agents[0]!.stop();
    // Shoal's own removal code, run against the host as an operator's clean-up would.
    await new ServiceProxy({ netnsPath: h1.netnsPath }).remove();
    await new HostRoutes({ nodeName: h1.name, netnsPath: h1.netnsPath }).remove();
    expect(await state()).not.toContain('SHOAL-');
    await agents[0]!.restart();
    await expect.poll(state, POLL).toBe(before);
    // Room for the polls: a restart and re-adoption under a loaded suite take a while.
  }, 180_000);

  it('removes the Service rules on every host when the Service is deleted', async () => {
    for (const h of lab.hosts) expect(await natRules(h.name)).toContain('default/web');
    await core.deleteNamespacedService({ namespace: NS, name: 'web' });
    for (const h of lab.hosts) {
      await expect
        .poll(async () => (await natRules(h.name)).includes('default/web'), POLL)
        .toBe(false);
      expect(await natRules(h.name)).not.toMatch(/SHOAL-(SVC|SEP)-/);
    }
  }, 180_000);
});

describe('after the test', () => {
  it('leaves no namespace, link, route or rule behind', async () => {
    // Runs the clean-up now so it can be checked (afterAll repeats it harmlessly).
    await apps.deleteNamespacedDeployment({ namespace: NS, name: 'web' }).catch(() => undefined);
    await core
      .deleteCollectionNamespacedPod({ namespace: NS, gracePeriodSeconds: 0 })
      .catch(() => undefined);
    await expect
      .poll(async () => (await core.listNamespacedPod({ namespace: NS })).items.length, POLL)
      .toBe(0);
    for (const a of agents) await a.stop();
    for (const a of agents) await scrubAgent(a);
    await lab.destroy();
    const { stdout: netns } = await run('ip', ['netns', 'list']);
    expect(netns).not.toContain(labPrefix);
    const { stdout: links } = await run('ip', ['-o', 'link']);
    expect(links).not.toContain(labPrefix);
    const { stdout: routes } = await run('ip', ['-o', 'route', 'show', 'proto', '212']);
    expect(routes.trim()).toBe('');
    const { stdout: rules } = await run('iptables-save');
    expect(rules).not.toContain('SHOAL-');
  });
});
