// Hollow agents, for scale benchmarks only: many simulated nodes in one
// process that speak the real agent protocol — join with the token, one
// mTLS stream each, register, heartbeat — and report every pod they are
// given as Running at once, running nothing. Nothing else may fake an agent.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentConnection } from '../../nodeagent/connection.js';
import { ensureNodeCredentials } from '../../nodeagent/join.js';
import type { DesiredPod__Output } from '../../proto/generated/shoal/agent/v1/DesiredPod.js';
import type { KubeObject } from '../../controlplane/api/objects.js';

export interface HollowAgents {
  names: string[];
  stop(): Promise<void>;
}

export interface HollowOptions {
  server: string;
  token: string;
  count: number;
  prefix?: string;
  cpuMillis?: number;
  memoryBytes?: number;
  pods?: number;
  heartbeatMs?: number;
  /** How many join at once (each join signs a certificate). */
  joinConcurrency?: number;
}

/** The status_json of a pod's Running report. */
export function runningStatusJson(pod: KubeObject, hostIP: string, podIP: string): string {
  const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  const spec = (pod.spec ?? {}) as { containers?: { name: string; image?: string }[] };
  const cond = (type: string): Record<string, unknown> => ({
    type,
    status: 'True',
    lastProbeTime: null,
    lastTransitionTime: now,
  });
  return JSON.stringify({
    phase: 'Running',
    conditions: [cond('Initialized'), cond('Ready'), cond('ContainersReady'), cond('PodScheduled')],
    hostIP,
    podIP,
    podIPs: [{ ip: podIP }],
    startTime: now,
    containerStatuses: (spec.containers ?? []).map((c) => ({
      name: c.name,
      image: c.image ?? '',
      imageID: '',
      ready: true,
      started: true,
      restartCount: 0,
      state: { running: { startedAt: now } },
    })),
  });
}

export async function startHollowAgents(opts: HollowOptions): Promise<HollowAgents> {
  const dir = await mkdtemp(join(tmpdir(), 'shoal-hollow-'));
  const prefix = opts.prefix ?? 'hollow';
  const names = Array.from(
    { length: opts.count },
    (_, i) => `${prefix}-${String(i).padStart(5, '0')}`,
  );
  const connections: AgentConnection[] = [];
  let next = 0;
  const joinOne = async (): Promise<void> => {
    while (next < names.length) {
      const i = next++;
      const name = names[i]!;
      const hostIP = `10.${100 + Math.floor(i / 65536)}.${Math.floor(i / 256) % 256}.${i % 256}`;
      // A busy control plane (or a busy machine) can miss a join's TLS
      // deadline; a real agent would retry too.
      let credentials: Awaited<ReturnType<typeof ensureNodeCredentials>> | undefined;
      for (let attempt = 1; !credentials; attempt++) {
        try {
          credentials = await ensureNodeCredentials({
            dataDir: join(dir, name),
            server: opts.server,
            token: opts.token,
            nodeName: name,
          });
        } catch (err) {
          if (attempt >= 5) throw err;
          await new Promise((r) => setTimeout(r, 1000 * attempt));
        }
      }
      let podSeq = 0;
      const running = new Map<string, { namespace: string; name: string; uid: string }>();
      const report = (p: DesiredPod__Output): void => {
        const pod = JSON.parse(p.pod_json) as KubeObject;
        if (pod.metadata.deletionTimestamp) {
          running.delete(p.uid);
          conn.send({ pod_terminated: { namespace: p.namespace, name: p.name, uid: p.uid } });
          return;
        }
        if (running.has(p.uid)) return;
        running.set(p.uid, { namespace: p.namespace, name: p.name, uid: p.uid });
        const podIP = `10.244.${i % 256}.${(podSeq++ % 250) + 2}`;
        conn.send({
          pod_status: {
            namespace: p.namespace,
            name: p.name,
            uid: p.uid,
            status_json: runningStatusJson(pod, hostIP, podIP),
          },
        });
      };
      const conn: AgentConnection = new AgentConnection({
        server: opts.server,
        credentials,
        heartbeatMs: opts.heartbeatMs ?? 10_000,
        handlers: {
          registration: async () => ({
            node_name: name,
            labels: {
              'kubernetes.io/hostname': name,
              'kubernetes.io/os': 'linux',
              'kubernetes.io/arch': 'amd64',
              'shoal.dev/hollow': 'true',
            },
            taints: [],
            capacity: {
              cpu_millis: opts.cpuMillis ?? 32_000,
              memory_bytes: opts.memoryBytes ?? 128 * 2 ** 30,
              pods: opts.pods ?? 110,
            },
            allocatable: {
              cpu_millis: opts.cpuMillis ?? 32_000,
              memory_bytes: opts.memoryBytes ?? 128 * 2 ** 30,
              pods: opts.pods ?? 110,
            },
            addresses: [{ type: 'InternalIP', address: hostIP }],
            node_info: {
              os: 'linux',
              architecture: 'amd64',
              kubelet_version: 'hollow',
              container_runtime_version: 'hollow://0',
            },
            pods: [...running.values()],
          }),
          onRegistered: () => undefined,
          onDesired: (pods) => {
            const wanted = new Set(pods.map((p) => p.uid));
            for (const uid of running.keys()) if (!wanted.has(uid)) running.delete(uid);
            for (const p of pods) report(p);
          },
          onUpsert: report,
          onDelete: (p) => running.delete(p.uid),
          onLogRequest: () => undefined,
        },
      });
      conn.start();
      connections.push(conn);
    }
  };
  const stop = async (): Promise<void> => {
    await Promise.all(connections.map((c) => c.stop()));
    await rm(dir, { recursive: true, force: true });
  };
  const joins = await Promise.allSettled(
    Array.from({ length: opts.joinConcurrency ?? 16 }, () =>
      joinOne().catch((err: unknown) => {
        next = names.length; // the other joiners stop after their current join
        throw err;
      }),
    ),
  );
  const failed = joins.find((j): j is PromiseRejectedResult => j.status === 'rejected');
  if (failed) {
    // Nobody gets a handle to stop what did join: stop it here, and keep no credentials.
    await stop();
    throw failed.reason;
  }
  return { names, stop };
}
