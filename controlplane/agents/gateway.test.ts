// What the gateway pushes down a node's stream, against a real control plane
// (etcd, the API, the gateway on loopback) and a raw agent stream: every
// change the agent acts on, in watch order, whether the pod needs reads
// (ConfigMaps) or not; never an echo of the node's own status reports.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DesiredPod__Output } from '../../proto/generated/shoal/agent/v1/DesiredPod.js';
import { ensureNodeCredentials } from '../../nodeagent/join.js';
import { startTestControlplane, type TestControlplane } from '../../test/support/controlplane.js';
import {
  openAgentStream,
  registration,
  tlsCredentials,
  type RawAgentStream,
} from '../../test/support/grpc-client.js';
import { findResource } from '../api/resources.js';
import type { KubeObject } from '../api/objects.js';

const PODS = findResource('', 'v1', 'pods')!;
const CONFIGMAPS = findResource('', 'v1', 'configmaps')!;
const NODE = 'gw-node';
const POLL = { timeout: 15_000, interval: 50 };

let cp: TestControlplane;
let dir: string;
let agent: RawAgentStream;

beforeAll(async () => {
  cp = await startTestControlplane();
  dir = await mkdtemp(join(tmpdir(), 'shoal-gw-test-'));
  const creds = await ensureNodeCredentials({
    dataDir: dir,
    server: cp.agentAddress,
    token: cp.joinToken,
    nodeName: NODE,
  });
  agent = openAgentStream(cp.agentAddress, tlsCredentials(creds.caPem, creds));
  agent.send({ register: registration(NODE) });
  await agent.next('desired');
}, 60_000);

afterAll(async () => {
  agent?.close();
  await cp?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
}, 60_000);

/** The changes received so far: [type, pod name, the pod as sent]. */
function changes(): [string, string, DesiredPod__Output][] {
  return agent.received.flatMap((m): [string, string, DesiredPod__Output][] =>
    m.change?.pod ? [[m.change.type, m.change.pod.name, m.change.pod]] : [],
  );
}

function podBody(name: string, spec: Record<string, unknown> = {}): unknown {
  return {
    metadata: { name, labels: { app: 'gw' } },
    spec: { nodeName: NODE, containers: [{ name: 'c', image: 'busybox' }], ...spec },
  };
}

function statusJson(message: string): string {
  return JSON.stringify({ phase: 'Running', message, podIP: '10.244.0.7' });
}

describe('pod changes pushed to the agent', () => {
  it('keeps watch order between a pod that needs reads and one that does not', async () => {
    const configMaps = Array.from({ length: 30 }, (_, i) => `settings-${i}`);
    for (const name of configMaps) {
      await cp.registry.create(CONFIGMAPS, 'default', { metadata: { name }, data: { a: 'b' } });
    }
    // The first needs 30 ConfigMap reads before it can be sent; the second,
    // created once the first is written, needs none and must still come second.
    const created: string[] = [];
    for (let i = 0; i < 5; i++) {
      const envFrom = configMaps.map((name) => ({ configMapRef: { name } }));
      await cp.registry.create(
        PODS,
        'default',
        podBody(`reads-${i}`, { containers: [{ name: 'c', image: 'busybox', envFrom }] }),
      );
      await cp.registry.create(PODS, 'default', podBody(`plain-${i}`));
      created.push(`reads-${i}`, `plain-${i}`);
    }
    await expect.poll(() => changes().length, POLL).toBe(10);
    expect(changes().map((c) => c[1])).toEqual(created);
    for (const [type, name, pod] of changes()) {
      expect(type).toBe('UPSERT');
      expect(pod.config_maps_json.length).toBe(name.startsWith('reads-') ? 30 : 0);
      expect((JSON.parse(pod.pod_json) as KubeObject).metadata.name).toBe(name);
    }
  });

  it("does not echo the node's status reports, and sends the next change it acts on", async () => {
    const pod = await cp.registry.create(PODS, 'default', podBody('reported'));
    await expect.poll(() => changes().filter((c) => c[1] === 'reported').length, POLL).toBe(1);
    for (const message of ['starting', 'started']) {
      agent.send({
        pod_status: {
          namespace: 'default',
          name: 'reported',
          uid: pod.metadata.uid!,
          status_json: statusJson(message),
        },
      });
      await expect
        .poll(
          async () =>
            ((await cp.registry.get(PODS, 'default', 'reported')).status as { message?: string })
              .message,
          POLL,
        )
        .toBe(message);
    }
    const current = await cp.registry.get(PODS, 'default', 'reported');
    await cp.registry.update(PODS, 'default', 'reported', {
      ...current,
      metadata: { ...current.metadata, labels: { app: 'gw', tier: 'web' } },
    });
    await expect.poll(() => changes().filter((c) => c[1] === 'reported').length, POLL).toBe(2);
    const [, , relabelled] = changes().filter((c) => c[1] === 'reported')[1]!;
    const sent = JSON.parse(relabelled.pod_json) as KubeObject;
    expect(sent.metadata.labels).toEqual({ app: 'gw', tier: 'web' });
    // The API server's bookkeeping stays behind (the stored pod has it).
    expect(current.metadata.managedFields).toBeDefined();
    expect(sent.metadata.managedFields).toBeUndefined();
    // The pod as sent carries the status the node reported last.
    expect((sent.status as { message?: string }).message).toBe('started');
  });

  it('sends the deletion mark, then the delete', async () => {
    await cp.registry.create(PODS, 'default', podBody('doomed'));
    await expect.poll(() => changes().filter((c) => c[1] === 'doomed').length, POLL).toBe(1);
    await cp.registry.delete(PODS, 'default', 'doomed', { gracePeriodSeconds: 30 });
    await expect.poll(() => changes().filter((c) => c[1] === 'doomed').length, POLL).toBe(2);
    const marked = JSON.parse(
      changes().filter((c) => c[1] === 'doomed')[1]![2].pod_json,
    ) as KubeObject;
    expect(marked.metadata.deletionTimestamp).toBeDefined();
    await cp.registry.delete(PODS, 'default', 'doomed', { gracePeriodSeconds: 0 });
    await expect
      .poll(
        () =>
          changes()
            .filter((c) => c[1] === 'doomed')
            .map((c) => c[0]),
        POLL,
      )
      .toEqual(['UPSERT', 'UPSERT', 'DELETE']);
  });
});
