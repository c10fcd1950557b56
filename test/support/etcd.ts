// Real etcd for tests, on free loopback ports under a temp dir that stop()
// removes. startEtcd(): one member, through the production EtcdSupervisor.
// startEtcdCluster(): several members started together with --initial-cluster,
// spawned directly because a supervisor would undo killMember().

import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EtcdError } from '../../controlplane/etcd/errors.js';
import { freePorts } from '../../controlplane/etcd/ports.js';
import {
  clientUrl,
  etcdArgs,
  launchEtcd,
  stopEtcdProcess,
  type EtcdMember,
  type EtcdProcess,
} from '../../controlplane/etcd/process.js';
import { EtcdSupervisor } from '../../controlplane/etcd/supervisor.js';

export interface TestEtcd {
  endpoints: string[];
  /** The supervisor's data directory (etcd's own data is in <dataDir>/etcd). */
  dataDir: string;
  /** Stops etcd and removes dataDir. */
  stop(): Promise<void>;
}

export interface TestEtcdCluster {
  /** One client URL per member, in member order. */
  endpoints: string[];
  /** Holds every member's data (m<i>/) and log (m<i>.log). */
  dataDir: string;
  /** The pid of each member, undefined for a killed one. */
  pids(): (number | undefined)[];
  /** SIGKILLs member `i` and waits until it has exited. */
  killMember(i: number): Promise<void>;
  /** Starts member `i` again on its data and ports; resolves once it reports healthy. */
  restartMember(i: number): Promise<void>;
  /** Stops every member and removes dataDir. */
  stop(): Promise<void>;
}

const BINARY = 'etcd';
const START_TIMEOUT_MS = 60_000;
const GRACE_MS = 5_000;
const PORT_ATTEMPTS = 3;

export async function startEtcd(): Promise<TestEtcd> {
  const dataDir = await mkdtemp(join(tmpdir(), 'shoal-etcd-'));
  const supervisor = new EtcdSupervisor({ dataDir, etcdBinary: BINARY, stopGraceMs: GRACE_MS });
  try {
    const { endpoints } = await supervisor.start();
    return {
      endpoints,
      dataDir,
      stop: async () => {
        await supervisor.stop();
        await rm(dataDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await supervisor.stop();
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
}

export async function startEtcdCluster(members = 3): Promise<TestEtcdCluster> {
  const dataDir = await mkdtemp(join(tmpdir(), 'shoal-etcd-cluster-'));
  const token = `shoal-test-${randomBytes(6).toString('hex')}`;
  const logPath = (i: number): string => join(dataDir, `m${i}.log`);
  let procs: (EtcdProcess | undefined)[] = [];
  let config: EtcdMember[] = [];

  const stopAll = async (): Promise<void> => {
    const running = procs.filter((p): p is EtcdProcess => p !== undefined);
    await Promise.all(running.map((p) => stopEtcdProcess(p, GRACE_MS)));
    procs = [];
  };

  const launch = (i: number, onSpawn: (p: EtcdProcess) => void): Promise<EtcdProcess> => {
    const member = config[i]!;
    return launchEtcd({
      binary: BINARY,
      args: etcdArgs(member, { members: config, token }),
      logPath: logPath(i),
      clientPort: member.clientPort,
      timeoutMs: START_TIMEOUT_MS,
      graceMs: GRACE_MS,
      onSpawn,
    });
  };

  try {
    for (let attempt = 1; ; attempt++) {
      const ports = await freePorts(2 * members);
      config = Array.from({ length: members }, (_, i) => ({
        name: `m${i}`,
        dataDir: join(dataDir, `m${i}`),
        clientPort: ports[2 * i]!,
        peerPort: ports[2 * i + 1]!,
      }));
      // A member of a failed attempt may have written a WAL for the old ports.
      await Promise.all(config.map((m) => rm(m.dataDir, { recursive: true, force: true })));
      await Promise.all(config.map((m) => mkdir(m.dataDir, { recursive: true, mode: 0o700 })));
      // In parallel: no member is healthy until a quorum of peers is up.
      const launches = config.map((_, i) =>
        launch(i, (p) => {
          procs[i] = p;
        }),
      );
      try {
        await Promise.all(launches);
        break;
      } catch (err) {
        // One member failed: the others would wait out the whole timeout.
        await stopAll();
        await Promise.allSettled(launches);
        const portTaken = err instanceof EtcdError && err.type === 'AddressInUse';
        if (!portTaken || attempt >= PORT_ATTEMPTS) throw err;
      }
    }
  } catch (err) {
    await stopAll();
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }

  const member = (i: number): EtcdMember => {
    const m = config[i];
    if (!m) throw new RangeError(`no etcd member ${i} in a cluster of ${members}`);
    return m;
  };
  return {
    endpoints: config.map((m) => clientUrl(m.clientPort)),
    dataDir,
    pids: () => config.map((_, i) => procs[i]?.pid),
    killMember: async (i) => {
      member(i);
      const p = procs[i];
      if (!p) return;
      p.child.kill('SIGKILL');
      await p.exited;
      procs[i] = undefined;
    },
    restartMember: async (i) => {
      member(i);
      if (procs[i]) throw new Error(`etcd member ${i} is running`);
      try {
        procs[i] = await launch(i, (p) => {
          procs[i] = p;
        });
      } catch (err) {
        procs[i] = undefined;
        throw err;
      }
    },
    stop: async () => {
      await stopAll();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
