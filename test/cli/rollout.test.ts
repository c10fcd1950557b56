// `shoal rollout` against a real control plane with its controllers running:
// the Deployment controller makes ReplicaSets and revisions, the ReplicaSet
// controller makes pods. No agent runs, so the test plays the kubelet by
// writing pod status (Running, Ready) through the status subresource.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { KubeClient } from '../../cli/commands/client.js';
import { rolloutStatus } from '../../cli/commands/rollout.js';
import { startTestControlplane, type TestControlplane } from '../support/controlplane.js';
import { waitFor } from '../support/wait.js';
import { runCli } from './harness.js';

let cp: TestControlplane;
let k: string[];
let api: KubeClient;

type Obj = Record<string, unknown>;

const deployment = (image: string, cause: string): string => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  annotations:
    kubernetes.io/change-cause: ${cause}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: c
        image: ${image}
        command: [sleep, "3600"]
`;

const daemonSet = `apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: agent
spec:
  selector:
    matchLabels: {app: agent}
  template:
    metadata:
      labels: {app: agent}
    spec:
      containers:
      - name: c
        image: busybox
`;

async function getDeployment(): Promise<Obj> {
  return api.request<Obj>({ path: '/apis/apps/v1/namespaces/default/deployments/web' });
}

const spec = (o: Obj): Obj => o.spec as Obj;
const template = (o: Obj): Obj => spec(o).template as Obj;
const image = (o: Obj): string => String(((template(o).spec as Obj).containers as Obj[])[0]!.image);

/** Plays the kubelet: every pod of the Deployment not yet Ready becomes Running and Ready. */
async function makePodsReady(): Promise<number> {
  const pods = await api.request<{ items: Obj[] }>({
    path: '/api/v1/namespaces/default/pods',
    query: { labelSelector: 'app=web' },
  });
  let changed = 0;
  for (const pod of pods.items) {
    const meta = pod.metadata as Obj;
    const status = (pod.status ?? {}) as Obj;
    if (meta.deletionTimestamp || status.phase === 'Running') continue;
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    await api.request({
      method: 'PATCH',
      path: `/api/v1/namespaces/default/pods/${String(meta.name)}/status`,
      contentType: 'application/merge-patch+json',
      body: {
        status: {
          phase: 'Running',
          conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: now }],
        },
      },
    });
    changed++;
  }
  return changed;
}

beforeAll(async () => {
  cp = await startTestControlplane({ controllers: true });
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
  const r = await runCli(['apply', '-f', '-', ...k], {
    stdin: deployment('busybox:1', 'v1') + '---\n' + daemonSet,
  });
  if (r.code !== 0) throw new Error(r.stderr);
});
afterAll(async () => {
  await cp?.stop();
});

describe('rollout status', () => {
  it('--watch=false prints where the rollout is and exits 0', async () => {
    await waitFor('the controller to observe web', getDeployment, (d) =>
      Boolean((d.status as Obj | undefined)?.observedGeneration),
    );
    const r = await runCli(['rollout', 'status', 'deploy/web', '--watch=false', ...k]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^Waiting for deployment "web" rollout to finish: (0 out of 2 new replicas have been updated|0 of 2 updated replicas are available)\.\.\.\n$/,
    );
  });

  it('--timeout gives up naming the deployment', async () => {
    const r = await runCli(['rollout', 'status', 'deployment', 'web', '--timeout', '1s', ...k]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^error: timed out waiting for deployment.apps\/web rollout to finish: Waiting for deployment "web" rollout to finish: .*\n$/,
    );
  });

  it('follows the rollout until it finishes', async () => {
    const lines: string[] = [];
    const watching = runCli(['rollout', 'status', 'deploy/web', '--timeout', '60s', ...k], {
      onOut: (all) => lines.splice(0, lines.length, ...all.split('\n')),
    });
    await waitFor('the pods to be made ready', makePodsReady, () => true);
    await waitFor(
      'two ready pods',
      async () => {
        await makePodsReady();
        return getDeployment();
      },
      (d) => (d.status as Obj).availableReplicas === 2,
    );
    const r = await watching;
    expect(r.code).toBe(0);
    expect(r.stdout.endsWith('deployment "web" successfully rolled out\n')).toBe(true);
    expect(lines.length).toBeGreaterThan(1);
  });

  it('supports DaemonSets and names unsupported kinds', async () => {
    const ds = await runCli(['rollout', 'status', 'ds/agent', '--watch=false', ...k]);
    expect(ds.code).toBe(0);
    // No nodes: nothing to schedule, so the DaemonSet is rolled out once observed.
    expect(ds.stdout).toMatch(/daemon set|Waiting for daemon set spec update/);
    const cm = await runCli(['rollout', 'history', 'ds/agent', ...k]);
    expect(cm).toMatchObject({
      code: 1,
      stderr:
        'error: rollout history is not supported for daemonset.apps/agent: only deployments\n',
    });
    const missing = await runCli(['rollout', 'status', 'deploy/nope', ...k]);
    expect(missing).toMatchObject({
      code: 1,
      stderr: 'error: deployments.apps "nope" not found\n',
    });
    expect((await runCli(['rollout', 'status', ...k])).code).toBe(2);
    expect((await runCli(['rollout', 'status', 'deploy/web', '--watch=maybe', ...k])).code).toBe(2);
  });
});

describe('rollout history and undo', () => {
  it('lists revisions with their change-cause', async () => {
    const r = await runCli(['apply', '-f', '-', ...k], { stdin: deployment('busybox:2', 'v2') });
    expect(r.code).toBe(0);
    await waitFor(
      'revision 2',
      getDeployment,
      (d) => ((d.metadata as Obj).annotations as Obj)['deployment.kubernetes.io/revision'] === '2',
    );
    const h = await runCli(['rollout', 'history', 'deploy/web', ...k]);
    expect(h).toMatchObject({
      code: 0,
      stdout: 'deployment.apps/web \nREVISION  CHANGE-CAUSE\n1         v1\n2         v2\n\n',
    });
  });

  it('--revision shows that template', async () => {
    const r = await runCli(['rollout', 'history', 'deploy/web', '--revision', '1', ...k]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('deployment.apps/web with revision #1\nPod Template:\n');
    expect(r.stdout).toContain('    Image:\tbusybox:1\n');
    expect(r.stdout).toMatch(/Labels:\tapp=web\n\s+pod-template-hash=/);
    const y = await runCli([
      'rollout',
      'history',
      'deploy/web',
      '--revision=2',
      '-o',
      'yaml',
      ...k,
    ]);
    const tpl = parse(y.stdout) as Obj;
    expect(tpl.kind).toBe('PodTemplateSpec');
    expect(image({ spec: { template: tpl } })).toBe('busybox:2');
    const bad = await runCli(['rollout', 'history', 'deploy/web', '--revision', '9', ...k]);
    expect(bad).toMatchObject({
      code: 1,
      stderr: 'error: unable to find the specified revision 9 for deployment.apps/web\n',
    });
  });

  it('undo copies the previous template back without the pod-template-hash', async () => {
    const r = await runCli(['rollout', 'undo', 'deploy/web', ...k]);
    expect(r).toMatchObject({ code: 0, stdout: 'deployment.apps/web rolled back\n' });
    const d = await getDeployment();
    expect(image(d)).toBe('busybox:1');
    expect((template(d).metadata as Obj).labels).toEqual({ app: 'web' });
    expect(((d.metadata as Obj).annotations as Obj)['kubernetes.io/change-cause']).toBe('v1');
    // The controller moves revision 1's ReplicaSet to revision 3.
    await waitFor(
      'revision 3',
      async () => runCli(['rollout', 'history', 'deploy/web', ...k]),
      (h) => h.stdout.includes('3         v1'),
    );
    const h = await runCli(['rollout', 'history', 'deploy/web', ...k]);
    expect(h.stdout).toBe(
      'deployment.apps/web \nREVISION  CHANGE-CAUSE\n2         v2\n3         v1\n\n',
    );
    const again = await runCli(['rollout', 'undo', 'deploy/web', '--to-revision', '3', ...k]);
    expect(again.stdout).toBe(
      'deployment.apps/web skipped rollback (current template already matches revision 3)\n',
    );
    const missing = await runCli(['rollout', 'undo', 'deploy/web', '--to-revision', '7', ...k]);
    expect(missing).toMatchObject({
      code: 1,
      stderr: 'error: unable to find specified revision 7 in history\n',
    });
    expect(image(await getDeployment())).toBe('busybox:1');
  });
});

describe('rollout restart, pause and resume', () => {
  it('restart sets the restartedAt annotation on the template', async () => {
    const r = await runCli(['rollout', 'restart', 'deploy/web', ...k]);
    expect(r).toMatchObject({ code: 0, stdout: 'deployment.apps/web restarted\n' });
    const at = ((template(await getDeployment()).metadata as Obj).annotations as Obj)[
      'kubectl.kubernetes.io/restartedAt'
    ];
    expect(at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const ds = await runCli(['rollout', 'restart', 'daemonset/agent', ...k]);
    expect(ds).toMatchObject({ code: 0, stdout: 'daemonset.apps/agent restarted\n' });
  });

  it('pause and resume set spec.paused, and refuse to repeat', async () => {
    let r = await runCli(['rollout', 'pause', 'deploy/web', ...k]);
    expect(r).toMatchObject({ code: 0, stdout: 'deployment.apps/web paused\n' });
    expect(spec(await getDeployment()).paused).toBe(true);
    r = await runCli(['rollout', 'pause', 'deploy/web', ...k]);
    expect(r).toMatchObject({ code: 1, stderr: 'error: deployments "web" is already paused\n' });
    r = await runCli(['rollout', 'restart', 'deploy/web', ...k]);
    expect(r.stderr).toBe(
      "error: can't restart paused deployment.apps/web (run rollout resume first)\n",
    );
    r = await runCli(['rollout', 'undo', 'deploy/web', ...k]);
    expect(r.stderr).toMatch(/^error: you cannot rollback a paused deployment/);
    r = await runCli(['rollout', 'resume', 'deploy/web', ...k]);
    expect(r).toMatchObject({ code: 0, stdout: 'deployment.apps/web resumed\n' });
    expect(spec(await getDeployment())).not.toHaveProperty('paused');
    r = await runCli(['rollout', 'resume', 'deploy/web', ...k]);
    expect(r).toMatchObject({ code: 1, stderr: 'error: deployments "web" is not paused\n' });
  });

  it('--help shows examples', async () => {
    const r = await runCli(['rollout', 'undo', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('shoal rollout undo deploy/web --to-revision 1');
  });
});

describe('rolloutStatus', () => {
  const d = (status: Obj, replicas = 3): Obj => ({
    kind: 'Deployment',
    metadata: { name: 'web', generation: 2 },
    spec: { replicas },
    status: { observedGeneration: 2, ...status },
  });
  it.each([
    [
      d({ updatedReplicas: 1, replicas: 3 }),
      'Waiting for deployment "web" rollout to finish: 1 out of 3 new replicas have been updated...',
    ],
    [
      d({ updatedReplicas: 3, replicas: 4 }),
      'Waiting for deployment "web" rollout to finish: 1 old replicas are pending termination...',
    ],
    [
      d({ updatedReplicas: 3, replicas: 3, availableReplicas: 1 }),
      'Waiting for deployment "web" rollout to finish: 1 of 3 updated replicas are available...',
    ],
    [
      d({ updatedReplicas: 3, replicas: 3, availableReplicas: 3 }),
      'deployment "web" successfully rolled out',
    ],
    [
      { ...d({}), status: { observedGeneration: 1 } },
      'Waiting for deployment spec update to be observed...',
    ],
  ])('%#: %s', (obj, message) => {
    expect(rolloutStatus(obj).message).toBe(message);
  });
});
