// The test etcd helpers themselves: a 3-member cluster replicates, survives a
// member's death, and leaves no process or directory behind; startEtcd cleans up too.

import { access } from 'node:fs/promises';
import { Etcd3 } from 'etcd3';
import { describe, expect, it } from 'vitest';
import { isHealthy } from '../../controlplane/etcd/health.js';
import { startEtcd, startEtcdCluster } from './etcd.js';

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

async function withClient<T>(endpoint: string, fn: (c: Etcd3) => Promise<T>): Promise<T> {
  const client = new Etcd3({ hosts: [endpoint] });
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}

describe('startEtcdCluster', () => {
  it('brings up 3 members that replicate, survive a member kill, and stop without a trace', async () => {
    const cluster = await startEtcdCluster(3);
    let stopped = false;
    try {
      expect(cluster.endpoints).toHaveLength(3);
      expect(new Set(cluster.endpoints).size).toBe(3);
      for (const e of cluster.endpoints) expect(await isHealthy(e)).toBe(true);
      const members = await withClient(cluster.endpoints[1]!, (c) => c.cluster.memberList({}));
      expect(members.members).toHaveLength(3);

      await withClient(cluster.endpoints[0]!, async (c) => {
        await c.put('/t/k').value('v');
      });
      expect(await withClient(cluster.endpoints[2]!, (c) => c.get('/t/k').string())).toBe('v');

      // Two of three keep a quorum; the restarted member catches up.
      const killed = cluster.pids()[0]!;
      await cluster.killMember(0);
      expect(running(killed)).toBe(false);
      expect(cluster.pids()[0]).toBeUndefined();
      await withClient(cluster.endpoints[1]!, async (c) => {
        await c.put('/t/k2').value('while-down');
      });
      await cluster.restartMember(0);
      await expect
        .poll(() => withClient(cluster.endpoints[0]!, (c) => c.get('/t/k2').string()), {
          timeout: 30_000,
        })
        .toBe('while-down');

      const pids = cluster.pids();
      await cluster.stop();
      stopped = true;
      for (const pid of pids) expect(running(pid!)).toBe(false);
      expect(await exists(cluster.dataDir)).toBe(false);
    } finally {
      if (!stopped) await cluster.stop();
    }
  });
});

describe('startEtcd', () => {
  it('serves one member and removes its directory on stop', async () => {
    const etcd = await startEtcd();
    let stopped = false;
    try {
      await withClient(etcd.endpoints[0]!, async (c) => {
        await c.put('/t/one').value('1');
      });
      expect(await withClient(etcd.endpoints[0]!, (c) => c.get('/t/one').string())).toBe('1');
      await etcd.stop();
      stopped = true;
      expect(await isHealthy(etcd.endpoints[0]!)).toBe(false);
      expect(await exists(etcd.dataDir)).toBe(false);
    } finally {
      if (!stopped) await etcd.stop();
    }
  });
});
