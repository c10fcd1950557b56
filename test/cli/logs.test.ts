// `shoal logs` end to end: a control plane with its scheduler and controllers,
// one `shoal agent` on one network-namespace host running busybox pods with
// runc, and the command reading their logs through pods/{name}/log. The same
// agent (one start-up per file) then shows `rollout status` following a real
// rolling restart and `drain` evicting real pods that the agent stops.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeClient } from '../../cli/commands/client.js';
import { containersToRead, logPodOrder } from '../../cli/commands/logs.js';
import { scrubAgent, startAgentOn, type TestAgent } from '../support/agents.js';
import { startTestControlplane, type TestControlplane } from '../support/controlplane.js';
import { createLab, type Lab } from '../support/hosts.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { waitFor } from '../support/wait.js';
import { runCli } from './harness.js';

let lab: Lab | undefined;
let registry: TestRegistry | undefined;
let cp: TestControlplane | undefined;
let agent: TestAgent | undefined;
let api: KubeClient;
let k: string[];
let image: string;

type Obj = Record<string, unknown>;

const POLL = { timeout: 60_000, interval: 250 };

function manifests(): string {
  const pod = (name: string, body: string): string => `---
apiVersion: v1
kind: Pod
metadata:
  name: ${name}
spec:
  terminationGracePeriodSeconds: 1
${body}`;
  return [
    pod(
      'counter',
      `  containers:
  - name: main
    image: ${image}
    command: [sh, -c, 'for i in 1 2 3 4 5; do echo line $i; done; sleep 3600']
`,
    ),
    pod(
      'two',
      `  containers:
  - name: a
    image: ${image}
    command: [sh, -c, 'echo from a; sleep 3600']
  - name: b
    image: ${image}
    command: [sh, -c, 'echo from b; sleep 3600']
`,
    ),
    pod(
      'ticker',
      `  restartPolicy: Never
  containers:
  - name: main
    image: ${image}
    command: [sh, -c, 'sleep 2; for i in 1 2 3; do echo tick $i; sleep 1; done']
`,
    ),
    pod(
      'crasher',
      `  containers:
  - name: main
    image: ${image}
    command: [sh, -c, 'echo boom; exit 3']
`,
    ),
    `---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: ${image}
        command: [sh, -c, 'echo web says hi from $(hostname); sleep 3600']
`,
  ].join('');
}

async function podStatus(name: string): Promise<Obj> {
  const pod = await api.request<Obj>({ path: `/api/v1/namespaces/default/pods/${name}` });
  return (pod.status ?? {}) as Obj;
}

beforeAll(async () => {
  lab = await createLab(1);
  registry = await startRegistry({ address: lab.gatewayIp });
  await registry.pushBusybox();
  image = `${registry.host}/busybox:latest`;
  cp = await startTestControlplane({ agentListen: `${lab.gatewayIp}:0`, controllers: true });
  k = ['--kubeconfig', cp.kubeconfigPath];
  api = KubeClient.connect(
    { kubeconfig: cp.kubeconfigPath },
    {
      out: () => undefined,
      err: () => undefined,
      readStdin: () => Promise.resolve(''),
      env: {},
      isTTY: false,
    },
  );
  agent = await startAgentOn(lab.hosts[0]!, {
    server: cp.agentAddress,
    token: cp.joinToken,
    insecureRegistries: [registry.host],
  });
  await waitFor(
    'a Ready node',
    () => api.request<{ items: Obj[] }>({ path: '/api/v1/nodes' }),
    (l) =>
      l.items.some((n) =>
        (((n.status as Obj | undefined)?.conditions ?? []) as Obj[]).some(
          (c) => c.type === 'Ready' && c.status === 'True',
        ),
      ),
  ).catch((err: unknown) => {
    throw new Error(`${String(err)}\n${agent?.output() ?? ''}`);
  });
  const r = await runCli(['apply', '-f', '-', ...k], { stdin: manifests() });
  if (r.code !== 0) throw new Error(r.stderr);
  await waitFor(
    'the pods to run',
    () => Promise.all(['counter', 'two'].map(podStatus)),
    (s) => s.every((x) => x.phase === 'Running'),
    { timeoutMs: 90_000 },
  ).catch((err: unknown) => {
    throw new Error(`${String(err)}\n${agent?.output() ?? ''}`);
  });
}, 240_000);

afterAll(async () => {
  // Pods first, so the agent tears down what it made; then whatever is left, by force.
  if (cp) {
    await api
      .request({ method: 'DELETE', path: '/apis/apps/v1/namespaces/default/deployments/web' })
      .catch(() => undefined);
    await api
      .request({
        method: 'DELETE',
        path: '/api/v1/namespaces/default/pods',
        query: { gracePeriodSeconds: 0 },
      })
      .catch(() => undefined);
  }
  if (agent) {
    await agent.stop().catch(() => undefined);
    await scrubAgent(agent);
  }
  await cp?.stop();
  await registry?.stop();
  await lab?.destroy();
}, 120_000);

describe('logs', () => {
  it("prints a pod's log, and --tail its last lines", async () => {
    await expect
      .poll(async () => (await runCli(['logs', 'counter', ...k])).stdout, POLL)
      .toBe('line 1\nline 2\nline 3\nline 4\nline 5\n');
    const tail = await runCli(['logs', 'pod/counter', '--tail', '2', ...k]);
    expect(tail).toMatchObject({ code: 0, stdout: 'line 4\nline 5\n', stderr: '' });
    const none = await runCli(['logs', 'counter', '--tail=0', ...k]);
    expect(none.stdout).toBe('');
  });

  it('needs -c for a pod with several containers, and names them', async () => {
    const r = await runCli(['logs', 'two', ...k]);
    expect(r).toMatchObject({
      code: 1,
      stdout: '',
      stderr: 'error: a container name must be specified for pod two, choose one of: [a b]\n',
    });
    await expect
      .poll(async () => (await runCli(['logs', 'two', '-c', 'b', ...k])).stdout, POLL)
      .toBe('from b\n');
    expect((await runCli(['logs', 'two', 'a', ...k])).stdout).toBe('from a\n');
    const all = await runCli(['logs', 'two', '--all-containers', ...k]);
    expect(all.stdout).toBe('from a\nfrom b\n');
    const bad = await runCli(['logs', 'two', '-c', 'zz', ...k]);
    expect(bad).toMatchObject({
      code: 1,
      stderr: 'error: container zz is not valid for pod two\n',
    });
  });

  it('-f follows until the container ends', async () => {
    const r = await runCli(['logs', '-f', 'ticker', ...k]);
    expect(r).toMatchObject({ code: 0, stdout: 'tick 1\ntick 2\ntick 3\n' });
  });

  it('--timestamps and --since reach the agent', async () => {
    const r = await runCli(['logs', 'counter', '--timestamps', '--tail', '2', ...k]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z line 4\n\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z line 5\n$/,
    );
    expect((await runCli(['logs', 'ticker', '--since', '1h', ...k])).stdout).toBe(
      'tick 1\ntick 2\ntick 3\n',
    );
    // counter wrote its lines when it started: soon they are all older than 1 s.
    await expect
      .poll(async () => (await runCli(['logs', 'counter', '--since', '1s', ...k])).stdout, POLL)
      .toBe('');
    expect((await runCli(['logs', 'counter', '--since', '1h', ...k])).stdout).toBe(
      'line 1\nline 2\nline 3\nline 4\nline 5\n',
    );
  });

  it('-f stops when interrupted', async () => {
    const ac = new AbortController();
    const following = runCli(['logs', 'counter', '-f', ...k], {
      signal: ac.signal,
      onOut: (all) => {
        if (all.includes('line 5\n')) ac.abort();
      },
    });
    const r = await following;
    expect(r).toMatchObject({ code: 0, stdout: 'line 1\nline 2\nline 3\nline 4\nline 5\n' });
  });

  it('--previous reads the terminated instance', async () => {
    await expect
      .poll(
        async () =>
          (((await podStatus('crasher')).containerStatuses ?? []) as Obj[])[0]?.restartCount ?? 0,
        POLL,
      )
      .toBeGreaterThanOrEqual(1);
    const r = await runCli(['logs', 'crasher', '--previous', ...k]);
    expect(r).toMatchObject({ code: 0, stdout: 'boom\n' });
    // A container that never restarted has no previous instance: a 400, as kube-apiserver answers.
    const none = await runCli(['logs', 'counter', '-p', ...k]);
    expect(none.code).toBe(1);
    expect(none.stdout).toBe('');
    expect(none.stderr).toContain(
      'previous terminated container "main" in pod "counter" not found',
    );
  });

  it('deploy/NAME reads one of its pods', async () => {
    await expect
      .poll(async () => (await runCli(['logs', 'deploy/web', ...k])).stdout, POLL)
      .toMatch(/^web says hi from web-[a-z0-9]+-[a-z0-9]+\n$/);
    const r = await runCli(['logs', 'deployment/web', ...k]);
    expect(r.stderr).toMatch(/^Found 2 pods, using pod\/web-[a-z0-9]+-[a-z0-9]+\n$/);
    const rs = await runCli(['logs', 'deploy/nope', ...k]);
    expect(rs).toMatchObject({ code: 1, stderr: 'error: deployments.apps "nope" not found\n' });
    const cm = await runCli(['logs', 'svc/kubernetes', ...k]);
    expect(cm.code).toBe(1);
  });

  it('names a missing pod; usage errors exit 2; --help has examples', async () => {
    expect(await runCli(['logs', 'nope', ...k])).toMatchObject({
      code: 1,
      stderr: 'error: pods "nope" not found\n',
    });
    expect((await runCli(['logs', ...k])).code).toBe(2);
    expect((await runCli(['logs', 'counter', '--tail', 'x', ...k])).code).toBe(2);
    expect((await runCli(['logs', 'two', 'a', '-c', 'b', ...k])).code).toBe(2);
    const help = await runCli(['logs', '--help']);
    expect(help.stdout).toContain('shoal logs -f deploy/web');
  });
});

describe('rollout and drain with a real agent', () => {
  it('rollout status follows a real restart to the end', async () => {
    let r = await runCli(['rollout', 'status', 'deploy/web', '--timeout', '90s', ...k]);
    expect(r.code).toBe(0);
    expect(r.stdout.endsWith('deployment "web" successfully rolled out\n')).toBe(true);
    r = await runCli(['rollout', 'restart', 'deploy/web', ...k]);
    expect(r.stdout).toBe('deployment.apps/web restarted\n');
    r = await runCli(['rollout', 'status', 'deploy/web', '--timeout', '90s', ...k]);
    expect(r.code).toBe(0);
    // kubectl's first line when the controller has not yet seen the restart's new generation.
    expect(r.stdout).toMatch(
      /^(Waiting for deployment spec update to be observed\.\.\.\n)?Waiting for deployment "web" rollout to finish: /,
    );
    expect(r.stdout.endsWith('deployment "web" successfully rolled out\n')).toBe(true);
    const h = await runCli(['rollout', 'history', 'deploy/web', ...k]);
    expect(h.stdout).toBe(
      'deployment.apps/web \nREVISION  CHANGE-CAUSE\n1         <none>\n2         <none>\n\n',
    );
  });

  it('drain evicts the pods, the agent stops them, and drain waits for that', async () => {
    const node = lab!.hosts[0]!.name;
    const r = await runCli([
      'drain',
      node,
      '--ignore-daemonsets',
      '--force',
      '--delete-emptydir-data',
      '--timeout',
      '90s',
      ...k,
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^node/${node} cordoned\n`));
    expect(r.stdout).toContain('pod/counter evicted\n');
    expect(r.stdout.endsWith(`node/${node} drained\n`)).toBe(true);
    // Only the replacements the ReplicaSet made are left, Pending: the node is cordoned.
    const pods = await api.request<{ items: Obj[] }>({ path: '/api/v1/namespaces/default/pods' });
    for (const p of pods.items) {
      expect((p.spec as Obj).nodeName).toBeUndefined();
      expect(String((p.metadata as Obj).name)).toMatch(/^web-/);
    }
    expect((await runCli(['uncordon', node, ...k])).stdout).toBe(`node/${node} uncordoned\n`);
  });
});

describe('logs, pure parts', () => {
  const pod = (extra: Obj): Obj => ({
    metadata: { name: 'p', ...extra },
    spec: { initContainers: [{ name: 'init' }], containers: [{ name: 'a' }, { name: 'b' }] },
  });
  it('containersToRead honours the default-container annotation and --all-containers', () => {
    expect(
      containersToRead(
        pod({ annotations: { 'kubectl.kubernetes.io/default-container': 'b' } }),
        {},
      ),
    ).toEqual(['b']);
    expect(containersToRead(pod({}), { allContainers: true })).toEqual(['init', 'a', 'b']);
    expect(() => containersToRead(pod({}), {})).toThrow(
      'a container name must be specified for pod p, choose one of: [a b] or one of the init containers: [init]',
    );
  });
  it('logPodOrder prefers scheduled, running, ready pods', () => {
    const p = (name: string, nodeName: string, phase: string, ready: boolean): Obj => ({
      metadata: { name },
      spec: { nodeName },
      status: { phase, conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
    });
    const sorted = [
      p('pending', '', 'Pending', false),
      p('unready', 'n', 'Running', false),
      p('ready', 'n', 'Running', true),
    ].sort(logPodOrder);
    expect(sorted.map((x) => (x.metadata as Obj).name)).toEqual(['ready', 'unready', 'pending']);
  });
});
