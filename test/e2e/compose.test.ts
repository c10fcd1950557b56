// End to end: one `shoal apply -f compose.yaml` on three network-namespace
// hosts with real agents and runc. A web service (busybox httpd, 3 replicas,
// a config file served as the page, a NodePort), a db service (a loop writing
// to a named volume, with a healthcheck) that web waits for, and a one-shot
// check that fetches the page through web's Service by name. The web page
// answers on every node's NodePort; the db's data survives deleting its pod.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import type { Lab } from '../support/hosts.js';
import type { TestControlplane } from '../support/controlplane.js';
import { startTestCluster, type TestCluster } from '../support/cluster.js';
import { runCli } from '../cli/harness.js';

let cluster: TestCluster | undefined;
let lab: Lab;
let cp: TestControlplane;
let core: k8s.CoreV1Api;
let apps: k8s.AppsV1Api;
let dir: string;
let composePath: string;
let image: string;

const NS = 'e2eshop';
const POLL = { timeout: 180_000, interval: 500 };
// Each test polls for up to POLL.timeout; a slow, shared machine needs the margin.
const TEST_TIMEOUT = 240_000;
const PAGE = '<h1>hello from compose</h1>';

// The db writes a random id once into its volume and logs it with a boot
// count on every start: a new pod logging the same id and boots=2 read the
// same data.
const COMPOSE = `name: ${NS}
services:
  web:
    image: \${IMAGE}
    command: httpd -f -p 80 -h /www
    ports: ["30080:80"]
    configs:
      - source: page
        target: /www/index.html
    deploy:
      replicas: 3
      resources:
        reservations: {cpus: "0.01", memory: 8m}
    depends_on:
      db: {condition: service_healthy}
    healthcheck:
      test: wget -q -O /dev/null http://127.0.0.1/
      interval: 2s
    stop_grace_period: 1s
  db:
    image: \${IMAGE}
    command:
      - sh
      - -c
      - |
        [ -s /data/id ] || head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \\n' > /data/id
        echo boot >> /data/boots
        echo "id=$$(cat /data/id) boots=$$(wc -l < /data/boots)"
        mkdir -p /srv && httpd -p 7000 -h /srv
        while true; do date >> /data/log; sleep 2; done
    expose: ["7000"]
    volumes: ["data:/data"]
    healthcheck:
      test: ["CMD-SHELL", "test -s /data/log"]
      interval: 2s
      retries: 3
    stop_grace_period: 1s
  check:
    image: \${IMAGE}
    restart: "no"
    command: ["sh", "-c", "until wget -q -O- http://web/; do sleep 2; done"]
    depends_on: [web]
configs:
  page:
    content: "${PAGE}"
volumes:
  data:
    driver_opts: {shoal.io/size: 16Mi}
`;

function running(pods: k8s.V1Pod[]): k8s.V1Pod[] {
  return pods.filter((p) => p.status?.phase === 'Running' && !p.metadata?.deletionTimestamp);
}

async function podsOf(service: string): Promise<k8s.V1Pod[]> {
  return (
    await core.listNamespacedPod({
      namespace: NS,
      labelSelector: `io.shoal.compose.service=${service}`,
    })
  ).items;
}

async function logOf(name: string): Promise<string> {
  return core.readNamespacedPodLog({ namespace: NS, name }).catch(() => '');
}

beforeAll(async () => {
  cluster = await startTestCluster({ hosts: 3, controlplane: { controllers: true } });
  ({ lab, cp, image, core } = cluster);
  apps = cluster.kubeconfig.makeApiClient(k8s.AppsV1Api);
  dir = await mkdtemp(join(tmpdir(), 'shoal-e2e-compose-'));
  composePath = join(dir, 'compose.yaml');
  await writeFile(composePath, COMPOSE);
}, 240_000);

afterAll(async () => {
  if (core) {
    for (const d of ['web', 'db'])
      await apps.deleteNamespacedDeployment({ namespace: NS, name: d }).catch(() => undefined);
    await core
      .deleteCollectionNamespacedPod({ namespace: NS, gracePeriodSeconds: 0 })
      .catch(() => undefined);
  }
  try {
    await cluster?.stop();
  } finally {
    if (dir) await rm(dir, { recursive: true, force: true });
  }
}, 180_000);

describe('a compose app on three hosts', () => {
  it(
    'deploys with one apply: namespace, config, claim, services and workloads',
    async () => {
      const r = await runCli(['apply', '-f', composePath, '--kubeconfig', cp.kubeconfigPath], {
        env: { IMAGE: image },
      });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(
        [
          `namespace/${NS} created`,
          'configmap/page created',
          'persistentvolumeclaim/data created',
          'service/web created',
          'deployment.apps/web created',
          'service/db created',
          'deployment.apps/db created',
          'pod/check created',
          '',
        ].join('\n'),
      );
    },
    TEST_TIMEOUT,
  );

  it(
    'starts db, then 3 web replicas spread over the hosts once db is healthy',
    async () => {
      await expect.poll(async () => running(await podsOf('db')).length, POLL).toBe(1);
      await expect
        .poll(
          async () =>
            running(await podsOf('web')).filter((p) =>
              p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
            ).length,
          POLL,
        )
        .toBe(3);
      const nodes = new Set(running(await podsOf('web')).map((p) => p.spec?.nodeName));
      expect(nodes.size).toBe(3);
    },
    TEST_TIMEOUT,
  );

  it(
    'serves the config file as the page through the web Service, by name from a pod',
    async () => {
      // The check pod loops on `wget http://web/` (cluster DNS → ClusterIP) until it answers.
      await expect
        .poll(
          async () =>
            (await core.readNamespacedPod({ namespace: NS, name: 'check' })).status?.phase,
          POLL,
        )
        .toBe('Succeeded');
      expect(await logOf('check')).toContain(PAGE);
    },
    TEST_TIMEOUT,
  );

  it(
    'serves the page on the NodePort of every node',
    async () => {
      for (const h of lab.hosts) {
        await expect
          .poll(
            () =>
              fetch(`http://${h.ip}:30080/`, { signal: AbortSignal.timeout(3000) }).then(
                (res) => res.text(),
                () => '',
              ),
            POLL,
          )
          .toContain(PAGE);
      }
    },
    TEST_TIMEOUT,
  );

  it(
    "keeps db's data in its volume when its pod is deleted",
    async () => {
      const [first] = running(await podsOf('db'));
      const name = first!.metadata!.name!;
      let before = '';
      await expect
        .poll(async () => (before = await logOf(name)), POLL)
        .toMatch(/id=[0-9a-f]{16} boots=1/);
      const id = /id=([0-9a-f]{16})/.exec(before)![1]!;
      await core.deleteNamespacedPod({ namespace: NS, name, gracePeriodSeconds: 1 });
      let next = '';
      await expect
        .poll(async () => {
          const pod = running(await podsOf('db')).find((p) => p.metadata?.name !== name);
          next = pod ? await logOf(pod.metadata!.name!) : '';
          return next;
        }, POLL)
        .toMatch(/boots=2/);
      expect(next).toContain(`id=${id}`);
    },
    TEST_TIMEOUT,
  );
});
