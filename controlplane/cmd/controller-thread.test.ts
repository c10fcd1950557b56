import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Etcd3 } from 'etcd3';
import { LEADER_KEY_PREFIX } from '../leader/election.js';
import { startEtcd, type TestEtcd } from '../../test/support/etcd.js';
import { waitFor } from '../../test/support/wait.js';
import { ControllerThread, type ControllerThreadConfig } from './controller-thread.js';

describe('ControllerThread', () => {
  let etcd: TestEtcd;
  const threads: ControllerThread[] = [];
  const log = pino({ level: 'silent' });
  const config = (
    identity: string,
    parts: ControllerThreadConfig['parts'] = ['controllers'],
  ): ControllerThreadConfig => ({
    parts,
    endpoints: etcd.endpoints,
    identity,
    leaderLeaseTtlSeconds: 3,
    eventTtlSeconds: 0,
    logLevel: 'silent',
  });

  beforeAll(async () => {
    etcd = await startEtcd();
  });
  afterAll(async () => {
    for (const t of threads) await t.stop();
    await etcd?.stop();
  });

  it('leads in its worker, reports its metrics, and hands over at once when stopped', async () => {
    const a = await ControllerThread.start(config('a'), log);
    threads.push(a);
    await waitFor('a to lead with synced caches', async () => a.controllersRunning, Boolean, {
      timeoutMs: 30_000,
    });
    expect(a.isLeader).toBe(true);
    const leaderSeries = async (t: ControllerThread): Promise<unknown> =>
      (await t.metrics()).find((m) => m.name === 'leader_election_master_status')?.values;
    expect(await leaderSeries(a)).toEqual([
      expect.objectContaining({ value: 1, labels: { name: 'shoal-controllers' } }),
    ]);
    const adds = (await a.metrics()).find((m) => m.name === 'workqueue_adds_total');
    expect(adds?.values.map((v) => v.labels.name)).toContain('replicaset');

    // The scheduler has a lease of its own: the same replica leads both.
    const scheduler = await ControllerThread.start(config('a', ['scheduler']), log);
    threads.push(scheduler);
    await waitFor('the scheduler to lead', async () => scheduler.controllersRunning, Boolean, {
      timeoutMs: 30_000,
    });
    expect(await leaderSeries(scheduler)).toEqual([
      expect.objectContaining({ value: 1, labels: { name: 'shoal-scheduler' } }),
    ]);
    const scheduled = (await scheduler.metrics()).find(
      (m) => m.name === 'scheduler_schedule_attempts_total',
    );
    expect(scheduled?.values.length).toBeGreaterThan(0);

    const b = await ControllerThread.start(config('b'), log);
    threads.push(b);
    expect(b.isLeader).toBe(false);
    await a.stop();
    expect(a.isLeader).toBe(false);
    expect(await a.metrics()).toEqual([]);
    // a resigned (deleted its key) rather than letting its lease run out.
    const client = new Etcd3({ hosts: etcd.endpoints });
    try {
      expect([null, 'b']).toContain(await client.get(`${LEADER_KEY_PREFIX}shoal-controllers`));
    } finally {
      client.close();
    }
    await waitFor('b to lead', async () => b.isLeader, Boolean, { timeoutMs: 30_000 });
  });
});
