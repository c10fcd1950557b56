// Pod events and container logs end to end, real parts: a control plane, a
// docker-registry with the busybox image, one `shoal agent` on a
// network-namespace host. First the gateway's rules for PodEvent messages
// (played by hand on a raw stream: own pod recorded as the kubelet's,
// another node's pod refused, a burst aggregated); then the events a real
// pod's life produces, and its logs with timestamps, since, tail, previous
// and limitBytes, still flowing across an agent killed with -9.

import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type * as k8s from '@kubernetes/client-node';
import type { Lab } from '../support/hosts.js';
import type { TestRegistry } from '../support/registry.js';
import type { TestControlplane } from '../support/controlplane.js';
import { startTestCluster, type TestCluster } from '../support/cluster.js';
import { waitFor } from '../support/wait.js';
import type { TestAgent } from '../support/agents.js';
import {
  openAgentStream,
  registration,
  tlsCredentials,
  type RawAgentStream,
} from '../support/grpc-client.js';
import { ensureNodeCredentials } from '../../nodeagent/join.js';
import type { PodEvent } from '../../proto/generated/shoal/agent/v1/PodEvent.js';

const run = promisify(execFile);

let cluster: TestCluster | undefined;
let lab: Lab;
let registry: TestRegistry;
let cp: TestControlplane;
let agent: TestAgent | undefined;
let core: k8s.CoreV1Api;
let image: string;
const dirs: string[] = [];
const streams: RawAgentStream[] = [];

const POLL = { timeout: 60_000, interval: 250 };
const SLOW = 150_000;
const TS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z /;

beforeAll(async () => {
  // The agent starts later, in 'a real agent': the raw-stream tests come first.
  cluster = await startTestCluster({ hosts: 1, labPrefix: 'sev', agents: { start: false } });
  ({ lab, registry, cp, image, core } = cluster);
}, 180_000);

afterAll(async () => {
  for (const s of streams) s.close();
  if (core)
    await core
      .deleteCollectionNamespacedPod({ namespace: 'default', gracePeriodSeconds: 0 })
      .catch(() => undefined);
  try {
    await cluster?.stop();
  } finally {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  }
}, 120_000);

async function events(pod: string): Promise<k8s.CoreV1Event[]> {
  return (await core.listNamespacedEvent({ namespace: 'default' })).items.filter(
    (e) => e.involvedObject.name === pod,
  );
}

function reasons(list: k8s.CoreV1Event[]): string[] {
  return [...new Set(list.map((e) => e.reason ?? ''))].sort();
}

async function createPod(name: string, node: string, spec: Partial<k8s.V1PodSpec> = {}) {
  return core.createNamespacedPod({
    namespace: 'default',
    body: {
      metadata: { name },
      spec: { nodeName: node, containers: [{ name: 'web', image: 'none' }], ...spec },
    },
  });
}

describe('PodEvent messages at the gateway', () => {
  async function connectedAs(node: string): Promise<RawAgentStream> {
    const dataDir = await mkdtemp(join(tmpdir(), 'shoal-evt-'));
    dirs.push(dataDir);
    const creds = await ensureNodeCredentials({
      dataDir,
      server: cp.agentAddress,
      token: cp.joinToken,
      nodeName: node,
    });
    const s = openAgentStream(cp.agentAddress, tlsCredentials(creds.caPem, creds));
    streams.push(s);
    s.send({ register: registration(node) });
    await s.next('desired');
    return s;
  }

  it('records an event about its own pod as the kubelet, refuses one about another node’s', async () => {
    const a = await connectedAs('evt-node-a');
    const own = await createPod('evt-own', 'evt-node-a');
    const other = await createPod('evt-other', 'evt-node-b');
    const event = (pod: k8s.V1Pod, reason: string): PodEvent => ({
      namespace: 'default',
      name: pod.metadata!.name!,
      uid: pod.metadata!.uid!,
      type: 'Warning',
      reason,
      message: 'Back-off restarting failed container web',
      field_path: 'spec.containers{web}',
    });
    a.send({ event: event(other, 'Forged') });
    // A burst of one event: all counted, none lost to AlreadyExists or a conflict.
    for (let i = 0; i < 6; i++) a.send({ event: event(own, 'BackOff') });
    await expect.poll(async () => (await events('evt-own'))[0]?.count, POLL).toBe(6);
    const [e] = await events('evt-own');
    expect(e).toMatchObject({
      type: 'Warning',
      reason: 'BackOff',
      source: { component: 'kubelet', host: 'evt-node-a' },
      reportingComponent: 'kubelet',
      reportingInstance: 'evt-node-a',
      involvedObject: { kind: 'Pod', uid: own.metadata!.uid, fieldPath: 'spec.containers{web}' },
    });
    // Sent before the burst on the same stream, so handled by now.
    expect(await events('evt-other')).toEqual([]);
  });
});

describe('a real agent', () => {
  afterEach((ctx) => {
    // What the agent said is the first thing to read when one of these fails.
    if (ctx.task.result?.state === 'fail') console.error(agent?.output().slice(-8000));
  });

  beforeAll(async () => {
    agent = await cluster!.startAgent(lab.hosts[0]!);
    await waitFor(
      'a Ready node',
      async () => (await core.readNode({ name: lab.hosts[0]!.name })).status?.conditions,
      (c) => c?.some((x) => x.type === 'Ready' && x.status === 'True') ?? false,
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${agent?.output() ?? ''}`);
    });
  }, 120_000);

  it(
    'reports Pulling, Pulled, Created, Started; Unhealthy and Killing for a failing liveness probe',
    async () => {
      const node = lab.hosts[0]!.name;
      await createPod('sick', node, {
        terminationGracePeriodSeconds: 1,
        containers: [
          {
            name: 'web',
            image,
            command: ['sh', '-c', 'echo attempt; sleep 3600'],
            livenessProbe: { exec: { command: ['false'] }, periodSeconds: 1, failureThreshold: 1 },
          },
        ],
      });
      await expect
        .poll(async () => reasons(await events('sick')), POLL)
        .toEqual(expect.arrayContaining(['Created', 'Killing', 'Pulled', 'Started', 'Unhealthy']));
      const list = await events('sick');
      const pulled = list.find((e) => e.reason === 'Pulled')!;
      expect(pulled.message).toMatch(
        /^(Successfully pulled image ".*busybox:latest" in [\d.]+s|Container image ".*busybox:latest" already present on machine)/,
      );
      const unhealthy = list.find((e) => e.reason === 'Unhealthy')!;
      expect(unhealthy).toMatchObject({
        type: 'Warning',
        source: { component: 'kubelet', host: node },
        involvedObject: { fieldPath: 'spec.containers{web}' },
      });
      expect(unhealthy.message).toMatch(/^Liveness probe failed/);
      expect(list.find((e) => e.reason === 'Killing')?.message).toBe(
        'Container web failed liveness probe, will be restarted',
      );
      expect(list.find((e) => e.reason === 'Started')?.message).toBe('Started container web');

      // The restarted container's predecessor keeps its log.
      await expect
        .poll(
          async () =>
            (await core.readNamespacedPod({ namespace: 'default', name: 'sick' })).status
              ?.containerStatuses?.[0]?.restartCount ?? 0,
          POLL,
        )
        .toBeGreaterThanOrEqual(1);
      const previous = await core.readNamespacedPodLog({
        namespace: 'default',
        name: 'sick',
        previous: true,
      });
      expect(previous).toBe('attempt\n');
    },
    SLOW,
  );

  it(
    'reports Failed and BackOff for an image that cannot be pulled',
    async () => {
      await createPod('nopull', lab.hosts[0]!.name, {
        containers: [{ name: 'web', image: `${registry.host}/nope:missing` }],
      });
      await expect
        .poll(async () => reasons(await events('nopull')), POLL)
        .toEqual(expect.arrayContaining(['BackOff', 'Failed', 'Pulling']));
      const list = await events('nopull');
      expect(list.map((e) => e.message)).toEqual(
        expect.arrayContaining([
          'Error: ErrImagePull',
          `Back-off pulling image "${registry.host}/nope:missing"`,
        ]),
      );
    },
    SLOW,
  );

  it(
    'serves logs with timestamps, since, tail and limitBytes, and keeps them flowing across kill -9',
    async () => {
      await createPod('ticker', lab.hosts[0]!.name, {
        terminationGracePeriodSeconds: 1,
        containers: [
          {
            name: 'web',
            image,
            command: ['sh', '-c', 'i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done'],
          },
        ],
      });
      const log = (opts: Partial<k8s.CoreV1ApiReadNamespacedPodLogRequest> = {}) =>
        core.readNamespacedPodLog({ namespace: 'default', name: 'ticker', ...opts });
      await expect
        .poll(async () => (await log().catch(() => '')).split('\n').length, POLL)
        .toBeGreaterThan(20);

      const plain = (await log()).split('\n').filter(Boolean);
      expect(plain[0]).toBe('tick 0');
      expect(plain.every((l) => /^tick \d+$/.test(l))).toBe(true);

      const stamped = (await log({ timestamps: true })).split('\n').filter(Boolean);
      expect(stamped.every((l) => TS.test(l))).toBe(true);
      expect(stamped[0]).toMatch(/ tick 0$/);

      expect((await log({ tailLines: 2 })).split('\n').filter(Boolean)).toHaveLength(2);
      expect(await log({ limitBytes: 7 })).toBe('tick 0\n');

      // Since two seconds ago: only the newest lines, all of them that recent.
      const since = Date.now() - 2000;
      const recent = (await log({ sinceSeconds: 2, timestamps: true })).split('\n').filter(Boolean);
      expect(recent.length).toBeGreaterThan(0);
      expect(recent.length).toBeLessThan(stamped.length);
      // One second of slack: sinceSeconds is whole seconds, the clocks are one.
      for (const l of recent)
        expect(Date.parse(l.slice(0, 30))).toBeGreaterThanOrEqual(since - 1000);

      // kubectl's --since-time (sinceTime) and --timestamps.
      const sinceTime = new Date(Date.now() - 1500).toISOString().replace(/\.\d+Z$/, 'Z');
      const { stdout } = await run('kubectl', [
        '--kubeconfig',
        cp.kubeconfigPath,
        'logs',
        'ticker',
        `--since-time=${sinceTime}`,
        '--timestamps',
      ]);
      const byTime = stdout.split('\n').filter(Boolean);
      expect(byTime.length).toBeGreaterThan(0);
      expect(byTime.length).toBeLessThan(stamped.length);
      expect(byTime.every((l) => TS.test(l))).toBe(true);

      // The monitor, not the agent, holds the pipe: lines written while the agent is down are kept.
      await agent!.kill9();
      const down = Date.now();
      await new Promise((r) => setTimeout(r, 1500));
      const up = Date.now();
      await agent!.restart();
      await expect
        .poll(
          async () =>
            (await log({ timestamps: true }).catch(() => ''))
              .split('\n')
              .filter(Boolean)
              .some((l) => {
                const t = Date.parse(l.slice(0, 30));
                return t > down + 200 && t < up - 200;
              }),
          POLL,
        )
        .toBe(true);
      const after = (await log()).split('\n').filter(Boolean);
      // Still one unbroken count: nothing lost, nothing doubled.
      expect(after.map((l, i) => l === `tick ${i}`).every(Boolean)).toBe(true);
      await expect
        .poll(async () => (await log()).split('\n').filter(Boolean).length, POLL)
        .toBeGreaterThan(after.length);
    },
    SLOW,
  );
});
