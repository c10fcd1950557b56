// `shoal describe` against a real control plane: pods (running, with status
// written through the status subresource, and Pending with the scheduler's
// reason), nodes with the pods on them, Deployments with their ReplicaSets,
// Services with their Endpoints, Events matched to each object, and errors.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeClient } from '../../cli/commands/client.js';
import { DescribeWriter, rfc1123z, tabwrite } from '../../cli/commands/describe-writer.js';
import { describePod, describeProbe, tolerationText } from '../../cli/commands/describe-pods.js';
import { startTestControlplane, type TestControlplane } from '../support/controlplane.js';
import { runCli } from './harness.js';

let cp: TestControlplane;
let k: string[];
let client: KubeClient;

type Obj = Record<string, unknown> & { metadata: { uid: string; name: string } };

const START = '2026-01-02T03:04:05Z';
const STARTED = '2026-01-02T03:04:07Z';
const DAY = 86_400_000;
/** Three days and an hour ago: the age reads "3d1h" for as long as the test runs. */
const longAgo = (): string => new Date(Date.now() - 3 * DAY - 3_600_000).toISOString();

async function create(path: string, body: unknown): Promise<Obj> {
  return client.request<Obj>({ method: 'POST', path, body });
}

async function setStatus(path: string, status: unknown): Promise<void> {
  await client.request({
    method: 'PATCH',
    path: `${path}/status`,
    contentType: 'application/merge-patch+json',
    body: { status },
  });
}

async function event(
  ns: string,
  name: string,
  involved: Record<string, unknown>,
  e: Record<string, unknown>,
): Promise<void> {
  const at = longAgo();
  await create(`/api/v1/namespaces/${ns}/events`, {
    metadata: { name, namespace: ns },
    involvedObject: involved,
    type: 'Normal',
    count: 1,
    firstTimestamp: at,
    lastTimestamp: at,
    source: { component: 'default-scheduler' },
    ...e,
  });
}

const fixturePodSpec = {
  nodeName: 'node-a',
  nodeSelector: { disk: 'ssd' },
  tolerations: [
    { key: 'dedicated', operator: 'Equal', value: 'web', effect: 'NoSchedule' },
    {
      key: 'node.kubernetes.io/not-ready',
      operator: 'Exists',
      effect: 'NoExecute',
      tolerationSeconds: 300,
    },
  ],
  containers: [
    {
      name: 'app',
      image: 'registry.local/app:1',
      ports: [{ containerPort: 8080, protocol: 'TCP' }],
      args: ['--port', '8080'],
      resources: {
        requests: { cpu: '250m', memory: '64Mi' },
        limits: { cpu: '500m', memory: '128Mi' },
      },
      livenessProbe: { httpGet: { path: '/', port: 8080 } },
      readinessProbe: { tcpSocket: { port: 8080 }, initialDelaySeconds: 2, periodSeconds: 5 },
      env: [
        { name: 'MODE', value: 'prod' },
        { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        { name: 'PASS', valueFrom: { secretKeyRef: { name: 's', key: 'pw' } } },
      ],
      volumeMounts: [
        { name: 'data', mountPath: '/data' },
        { name: 'cfg', mountPath: '/etc/app', readOnly: true },
      ],
    },
  ],
  volumes: [
    { name: 'data', emptyDir: {} },
    { name: 'cfg', configMap: { name: 'app-config' } },
  ],
};

const fixturePodStatus = {
  phase: 'Running',
  hostIP: '10.0.0.2',
  podIP: '10.244.1.5',
  podIPs: [{ ip: '10.244.1.5' }],
  startTime: START,
  qosClass: 'Burstable',
  conditions: [
    { type: 'Initialized', status: 'True' },
    { type: 'Ready', status: 'True' },
    { type: 'ContainersReady', status: 'True' },
    { type: 'PodScheduled', status: 'True' },
  ],
  containerStatuses: [
    {
      name: 'app',
      image: 'registry.local/app:1',
      imageID: 'registry.local/app@sha256:abc',
      containerID: 'runc://c1',
      ready: true,
      restartCount: 1,
      state: { running: { startedAt: STARTED } },
      lastState: {
        terminated: { exitCode: 137, reason: 'OOMKilled', startedAt: START, finishedAt: STARTED },
      },
    },
  ],
};

/** kubectl describe pod's text for the fixture pod, Events aside. */
const fixturePodText = (serviceAccount: string, priority = ''): string => `Name:             web-1
Namespace:        d
${priority}${serviceAccount ? `Service Account:  ${serviceAccount}\n` : ''}Node:             node-a/10.0.0.2
Start Time:       ${rfc1123z(START)}
Labels:           app=web
                  tier=front
Annotations:      note: hi
Status:           Running
IP:               10.244.1.5
IPs:
  IP:  10.244.1.5
Containers:
  app:
    Container ID:  runc://c1
    Image:         registry.local/app:1
    Image ID:      registry.local/app@sha256:abc
    Port:          8080/TCP
    Host Port:     0/TCP
    Args:
      --port
      8080
    State:          Running
      Started:      ${rfc1123z(STARTED)}
    Last State:     Terminated
      Reason:       OOMKilled
      Exit Code:    137
      Started:      ${rfc1123z(START)}
      Finished:     ${rfc1123z(STARTED)}
    Ready:          True
    Restart Count:  1
    Limits:
      cpu:     500m
      memory:  128Mi
    Requests:
      cpu:      250m
      memory:   64Mi
    Liveness:   http-get http://:8080/ delay=0s timeout=1s period=10s #success=1 #failure=3
    Readiness:  tcp-socket :8080 delay=2s timeout=1s period=5s #success=1 #failure=3
    Environment:
      MODE:  prod
      POD:   (v1:metadata.name)
      PASS:  <set to the key 'pw' in secret 's'>  Optional: false
    Mounts:
      /data from data (rw)
      /etc/app from cfg (ro)
Conditions:
  Type             Status
  Initialized      True
  Ready            True
  ContainersReady  True
  PodScheduled     True
Volumes:
  data:
    Type:       EmptyDir (a temporary directory that shares a pod's lifetime)
    Medium:
    SizeLimit:  <unset>
  cfg:
    Type:        ConfigMap (a volume populated by a ConfigMap)
    Name:        app-config
    Optional:    false
QoS Class:       Burstable
Node-Selectors:  disk=ssd
Tolerations:     dedicated=web:NoSchedule
                 node.kubernetes.io/not-ready:NoExecute op=Exists for 300s
`;

describe('describe layout (pure)', () => {
  it('aligns columns over runs of lines as Go text/tabwriter does', () => {
    expect(tabwrite(['a:\t1', 'long key:\t2', 'break', '  x:\ty\tz', '  yy:\t\tw'])).toEqual([
      'a:         1',
      'long key:  2',
      'break',
      '  x:   y  z',
      '  yy:     w',
    ]);
  });

  it('prints probes and tolerations in kubectl words', () => {
    expect(describeProbe({ httpGet: { path: '/healthz', port: 'http', scheme: 'HTTPS' } })).toBe(
      'http-get https://:http/healthz delay=0s timeout=1s period=10s #success=1 #failure=3',
    );
    expect(
      describeProbe({
        exec: { command: ['cat', '/tmp/ok'] },
        failureThreshold: 5,
        timeoutSeconds: 2,
      }),
    ).toBe('exec [cat /tmp/ok] delay=0s timeout=2s period=10s #success=1 #failure=5');
    expect(tolerationText({ operator: 'Exists' })).toBe('op=Exists');
    expect(tolerationText({ key: 'k', operator: 'Exists', effect: 'NoSchedule' })).toBe(
      'k:NoSchedule op=Exists',
    );
  });

  it('lays out a pod with its events', () => {
    const w = new DescribeWriter();
    const now = Date.now();
    describePod(
      w,
      {
        metadata: {
          name: 'web-1',
          namespace: 'd',
          labels: { app: 'web', tier: 'front' },
          annotations: { note: 'hi' },
          ownerReferences: [{ kind: 'ReplicaSet', name: 'web-abc', uid: 'u', controller: true }],
        },
        spec: { ...fixturePodSpec, serviceAccountName: 'default' },
        status: fixturePodStatus,
      },
      [
        {
          type: 'Normal',
          reason: 'Started',
          message: 'Started container app',
          lastTimestamp: new Date(now - 65_000).toISOString(),
          firstTimestamp: new Date(now - 4 * DAY).toISOString(),
          count: 2,
          source: { component: 'shoal-agent', host: 'node-a' },
        },
        {
          type: 'Normal',
          reason: 'Scheduled',
          message: 'Successfully assigned d/web-1 to node-a',
          lastTimestamp: new Date(now - 4 * DAY).toISOString(),
          reportingComponent: 'default-scheduler',
        },
      ],
    );
    const expected = fixturePodText('default').replace(
      'IP:  10.244.1.5\n',
      'IP:           10.244.1.5\nControlled By:  ReplicaSet/web-abc\n',
    );
    expect(w.text()).toBe(`${expected}Events:
  Type    Reason     Age               From                 Message
  ----    ------     ----              ----                 -------
  Normal  Scheduled  4d                default-scheduler    Successfully assigned d/web-1 to node-a
  Normal  Started    65s (x2 over 4d)  shoal-agent, node-a  Started container app
`);
  });
});

describe('describe against a control plane', () => {
  beforeAll(async () => {
    cp = await startTestControlplane();
    k = ['--kubeconfig', cp.kubeconfigPath];
    client = KubeClient.connect(
      { kubeconfig: cp.kubeconfigPath },
      {
        out: () => undefined,
        err: () => undefined,
        readStdin: () => Promise.resolve(''),
        env: {},
        isTTY: false,
      },
    );
    await create('/api/v1/namespaces', { metadata: { name: 'd' } });

    const node = await create('/api/v1/nodes', {
      metadata: {
        name: 'node-a',
        labels: { 'node-role.kubernetes.io/worker': '', 'kubernetes.io/hostname': 'node-a' },
      },
      spec: {
        podCIDR: '10.244.1.0/24',
        podCIDRs: ['10.244.1.0/24'],
        taints: [{ key: 'dedicated', value: 'web', effect: 'NoSchedule' }],
      },
    });
    await setStatus('/api/v1/nodes/node-a', {
      capacity: { cpu: '2', memory: '4Gi', pods: '110' },
      allocatable: { cpu: '2', memory: '4Gi', pods: '110' },
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          lastHeartbeatTime: START,
          lastTransitionTime: START,
          reason: 'AgentReady',
          message: 'agent is posting ready status',
        },
      ],
      addresses: [
        { type: 'InternalIP', address: '10.0.0.2' },
        { type: 'Hostname', address: 'node-a' },
      ],
      nodeInfo: {
        machineID: 'm1',
        systemUUID: 's1',
        bootID: 'b1',
        kernelVersion: '6.1.0',
        osImage: 'Debian GNU/Linux 12',
        operatingSystem: 'linux',
        architecture: 'amd64',
        containerRuntimeVersion: 'runc://1.1.5',
        kubeletVersion: 'v1.32.0',
        kubeProxyVersion: '',
      },
    });
    await event(
      'default',
      'node-a.1',
      { kind: 'Node', name: 'node-a', uid: node.metadata.uid },
      {
        reason: 'NodeReady',
        message: 'Node node-a status is now: NodeReady',
        source: { component: 'node-controller' },
      },
    );

    await create('/api/v1/namespaces/d/pods', {
      metadata: {
        name: 'web-1',
        labels: { app: 'web', tier: 'front' },
        annotations: { note: 'hi' },
      },
      spec: fixturePodSpec,
    });
    await setStatus('/api/v1/namespaces/d/pods/web-1', fixturePodStatus);

    const big = await create('/api/v1/namespaces/d/pods', {
      metadata: { name: 'big' },
      spec: {
        containers: [{ name: 'c', image: 'busybox', resources: { requests: { memory: '64Gi' } } }],
      },
    });
    await setStatus('/api/v1/namespaces/d/pods/big', {
      phase: 'Pending',
      conditions: [
        {
          type: 'PodScheduled',
          status: 'False',
          reason: 'Unschedulable',
          message: '0/3 nodes are available: 3 Insufficient memory.',
        },
      ],
    });
    await event(
      'd',
      'big.1',
      { kind: 'Pod', namespace: 'd', name: 'big', uid: big.metadata.uid },
      {
        type: 'Warning',
        reason: 'FailedScheduling',
        message: '0/3 nodes are available: 3 Insufficient memory.',
        count: 4,
        firstTimestamp: new Date(Date.now() - 4 * DAY).toISOString(),
      },
    );
    // An event about an earlier pod of the same name (another uid) is not this pod's.
    await event(
      'd',
      'big.0',
      { kind: 'Pod', namespace: 'd', name: 'big', uid: 'an-older-uid' },
      { reason: 'Scheduled', message: 'long gone' },
    );
  });
  afterAll(async () => {
    await cp?.stop();
  });

  it('describes a running pod as kubectl does, status from the status subresource', async () => {
    const r = await runCli(['describe', 'pod', 'web-1', '-n', 'd', ...k]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // The server defaults priority to 0 and leaves the service account unset (not shown).
    // The pure test above pins the alignment; here the content, spacing collapsed.
    const squeeze = (t: string): string => t.replace(/ {2,}/g, '  ');
    expect(squeeze(r.stdout)).toBe(
      squeeze(`${fixturePodText('', 'Priority:  0\n')}Events:  <none>\n`),
    );
  });

  it("says why a pod is Pending: the scheduler's condition and its events, not older pods'", async () => {
    const r = await runCli(['describe', 'pods/big', '-n', 'd', ...k]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /\nStatus: +Pending\nReason: +Unschedulable\nMessage: +0\/3 nodes are available: 3 Insufficient memory\.\n/,
    );
    expect(r.stdout).toMatch(/\nNode: +<none>\n/);
    expect(r.stdout).toMatch(
      /\nEvents:\n  Type +Reason +Age +From +Message\n  ---- +------ +---- +---- +-------\n  Warning +FailedScheduling +3d1h \(x4 over 4d\) +default-scheduler +0\/3 nodes are available: 3 Insufficient memory\.\n$/,
    );
    expect(r.stdout).not.toContain('long gone');
  });

  it('describes a node with the pods on it and what they ask of it', async () => {
    const r = await runCli(['describe', 'node', 'node-a', ...k]);
    expect(r.code).toBe(0);
    const text = r.stdout.replace(/ +\d+s\n/g, '  <age>\n');
    expect(text).toMatch(
      /^Name: +node-a\nRoles: +worker\nLabels: +kubernetes.io\/hostname=node-a\n +node-role.kubernetes.io\/worker=\n/,
    );
    expect(text).toMatch(/\nTaints: +dedicated=web:NoSchedule\nUnschedulable: +false\n/);
    expect(text).toMatch(/\n  Ready +True +\S.+ +AgentReady +agent is posting ready status\n/);
    expect(text).toMatch(/\nAddresses:\n  InternalIP: +10\.0\.0\.2\n  Hostname: +node-a\n/);
    expect(text).toMatch(/\n  Kernel Version: +6\.1\.0\n/);
    expect(text).toMatch(/\nPodCIDR: +10\.244\.1\.0\/24\n/);
    expect(text).toMatch(/\nNon-terminated Pods: +\(1 in total\)\n/);
    expect(text).toMatch(
      /\n  d +web-1 +250m \(12%\) +500m \(25%\) +64Mi \(1%\) +128Mi \(3%\) +<age>\n/,
    );
    expect(text).toMatch(
      /\n  Resource +Requests +Limits\n  -------- +-------- +------\n  cpu +250m \(12%\) +500m \(25%\)\n  memory +64Mi \(1%\) +128Mi \(3%\)\n/,
    );
    expect(text).toMatch(
      /\n  Normal +NodeReady +3d1h +node-controller +Node node-a status is now: NodeReady\n$/,
    );
  });

  it('describes a Deployment with its ReplicaSets and conditions', async () => {
    const r0 = await runCli(['apply', '-f', '-', '-n', 'd', ...k], {
      stdin: `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  annotations: {deployment.kubernetes.io/revision: "2"}
spec:
  replicas: 3
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: app
        image: registry.local/app:2
`,
    });
    expect(r0.stderr).toBe('');
    const d = await client.request<Obj>({ path: '/apis/apps/v1/namespaces/d/deployments/web' });
    await setStatus('/apis/apps/v1/namespaces/d/deployments/web', {
      replicas: 3,
      updatedReplicas: 3,
      readyReplicas: 3,
      availableReplicas: 3,
      conditions: [
        { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable' },
        { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable' },
      ],
    });
    for (const [name, revision, replicas] of [
      ['web-old', '1', 0],
      ['web-new', '2', 3],
    ] as const) {
      await create('/apis/apps/v1/namespaces/d/replicasets', {
        metadata: {
          name,
          labels: { app: 'web', 'pod-template-hash': name },
          annotations: { 'deployment.kubernetes.io/revision': revision },
          ownerReferences: [
            {
              apiVersion: 'apps/v1',
              kind: 'Deployment',
              name: 'web',
              uid: d.metadata.uid,
              controller: true,
            },
          ],
        },
        spec: {
          replicas,
          selector: { matchLabels: { app: 'web', 'pod-template-hash': name } },
          template: {
            metadata: { labels: { app: 'web', 'pod-template-hash': name } },
            spec: { containers: [{ name: 'app', image: 'registry.local/app:2' }] },
          },
        },
      });
      await setStatus(`/apis/apps/v1/namespaces/d/replicasets/${name}`, { replicas });
    }
    const r = await runCli(['describe', 'deploy', 'web', '-n', 'd', ...k]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Name: +web\nNamespace: +d\nCreationTimestamp: +\S/);
    expect(r.stdout).toMatch(/\nSelector: +app=web\n/);
    expect(r.stdout).toMatch(
      /\nReplicas: +3 desired \| 3 updated \| 3 total \| 3 available \| 0 unavailable\nStrategyType: +RollingUpdate\nMinReadySeconds: +0\nRollingUpdateStrategy: +25% max unavailable, 25% max surge\n/,
    );
    expect(r.stdout).toMatch(
      /\nPod Template:\n  Labels: +app=web\n  Containers:\n   app:\n    Image: +registry\.local\/app:2\n/,
    );
    expect(r.stdout).toMatch(
      /\nConditions:\n  Type +Status +Reason\n  ---- +------ +------\n  Available +True +MinimumReplicasAvailable\n  Progressing +True +NewReplicaSetAvailable\n/,
    );
    expect(r.stdout).toMatch(
      /\nOldReplicaSets: +<none>\nNewReplicaSet: +web-new \(3\/3 replicas created\)\nEvents: +<none>\n$/,
    );

    const rs = await runCli(['describe', 'rs', 'web-new', '-n', 'd', ...k]);
    expect(rs.stdout).toMatch(
      /\nControlled By: +Deployment\/web\nReplicas: +3 current \/ 3 desired\nPods Status: +0 Running \/ 0 Waiting \/ 0 Succeeded \/ 0 Failed\n/,
    );
  });

  it('describes a Service with the addresses its Endpoints list', async () => {
    await runCli(['apply', '-f', '-', '-n', 'd', ...k], {
      stdin: `apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
  - {name: http, port: 80, targetPort: 8080}
`,
    });
    await create('/api/v1/namespaces/d/endpoints', {
      metadata: { name: 'web' },
      subsets: [
        {
          addresses: [{ ip: '10.244.1.5' }, { ip: '10.244.2.7' }],
          ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
        },
      ],
    });
    const r = await runCli(['describe', 'svc', 'web', '-n', 'd', ...k]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^Name: +web\nNamespace: +d\nLabels: +<none>\nAnnotations: +<none>\nSelector: +app=web\nType: +ClusterIP\n/,
    );
    expect(r.stdout).toMatch(/\nIP: +\d+\.\d+\.\d+\.\d+\n/);
    expect(r.stdout).toMatch(
      /\nPort: +http +80\/TCP\nTargetPort: +8080\/TCP\nEndpoints: +10\.244\.1\.5:8080,10\.244\.2\.7:8080\nSession Affinity: +None\n/,
    );
  });

  it('describes every match of a type, a selector or a name prefix', async () => {
    const all = await runCli(['describe', 'pods', '-n', 'd', ...k]);
    expect(all.code).toBe(0);
    expect(all.stdout.match(/^Name: /gm)).toHaveLength(2);
    expect(all.stdout).toContain('\n\n\nName:');
    const sel = await runCli(['describe', 'po', '-l', 'app=web', '-n', 'd', ...k]);
    expect(sel.stdout.match(/^Name: +(\S+)/gm)).toEqual([expect.stringMatching(/web-1$/)]);
    const prefix = await runCli(['describe', 'pod', 'web', '-n', 'd', ...k]);
    expect(prefix.stdout).toMatch(/^Name: +web-1\n/);
    const ns = await runCli(['describe', 'ns', 'd', ...k]);
    expect(ns.stdout).toMatch(/^Name: +d\nLabels: +\S+/);
    expect(ns.stdout).toMatch(
      /\nStatus: +Active\n\nNo resource quota\.\n\nNo LimitRange resource\.\n$/,
    );
    const empty = await runCli(['describe', 'pods', '-n', 'default', ...k]);
    expect(empty).toEqual({
      code: 0,
      stdout: '',
      stderr: 'No resources found in default namespace.\n',
    });
  });

  it('describes other kinds generically', async () => {
    await runCli(['apply', '-f', '-', '-n', 'd', ...k], {
      stdin: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  mode: fast\n',
    });
    const r = await runCli(['describe', 'cm', 'cfg', '-n', 'd', ...k]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Name: +cfg\nNamespace: +d\n/);
    expect(r.stdout).toMatch(/\nData:\n  Mode: +fast\n/);
  });

  it('fails with one line per missing object, and on unknown types and bad usage', async () => {
    expect(await runCli(['describe', 'pod', 'nope', '-n', 'd', ...k])).toEqual({
      code: 1,
      stdout: '',
      stderr: 'error: pods "nope" not found\n',
    });
    const some = await runCli(['describe', 'pod', 'web-1', 'nope', '-n', 'd', ...k]);
    expect(some.code).toBe(1);
    expect(some.stdout).toMatch(/^Name: +web-1\n/);
    expect(some.stderr).toBe('error: pods "nope" not found\n');
    expect(await runCli(['describe', 'gadgets', ...k])).toEqual({
      code: 1,
      stdout: '',
      stderr: 'error: the server doesn\'t have a resource type "gadgets"\n',
    });
    expect(await runCli(['describe', 'pods', '--context', 'nope', ...k])).toEqual({
      code: 1,
      stdout: '',
      stderr: 'error: context "nope" does not exist\n',
    });
    expect((await runCli(['describe', ...k])).code).toBe(2);
    expect((await runCli(['describe', 'pod', '--bogus', ...k])).code).toBe(2);
    expect((await runCli(['describe', '--help'])).stdout).toContain('Examples:');
  });
});
