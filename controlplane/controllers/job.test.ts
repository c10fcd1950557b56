// Job controller: fixture on a real etcd → one reconcile → the writes it sent.
// Pod lifecycles are simulated by writing pod status as an agent would; time
// (deadlines, TTLs) by the controller's injected clock.

import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../api/objects.js';
import { isRecord } from '../api/objects.js';
import { CONTROLLER_UID_LABEL, JOB_NAME_LABEL, JobController } from './job.js';
import { isPodActive } from './owner-refs.js';
import {
  JOBS,
  PODS,
  createNamespace,
  newFixture,
  podsIn,
  setPodStatus,
  useHarness,
  type Action,
  type Fixture,
} from './workload-test-fixture.js';

const h = useHarness();
let f: Fixture | undefined;
let clock = Date.parse('2030-01-01T00:00:00Z');

const job = (
  name: string,
  spec: Record<string, unknown> = {},
  restartPolicy = 'Never',
): KubeObject => ({
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { name },
  spec: {
    template: { spec: { containers: [{ name: 'main', image: 'busybox:1.36' }], restartPolicy } },
    ...spec,
  },
});

async function setup(ns: string, j: KubeObject): Promise<JobController> {
  await createNamespace(h.api, ns);
  await h.api.create(JOBS, ns, j);
  f = newFixture(h);
  const c = f.track(new JobController(f.deps, { now: () => new Date(clock) }));
  await f.start();
  return c;
}

async function step(c: JobController, key: string): Promise<Action[]> {
  await f!.settle(JOBS, PODS);
  f!.registry.take();
  await c.reconcile(key);
  return f!.registry.take();
}

const creates = (a: Action[]): Action[] =>
  a.filter((x) => x.verb === 'create' && x.resource === 'pods');
const deletes = (a: Action[]): Action[] =>
  a.filter((x) => x.verb === 'delete' && x.resource === 'pods');

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- test-side JSON access
async function jobStatus(ns: string, name: string): Promise<Record<string, any>> {
  const j = await h.api.get(JOBS, ns, name);
  return isRecord(j.status) ? j.status : {};
}

describe('Job controller', () => {
  it('runs 5 completions with parallelism 2, never more than 2 at once, and completes', async () => {
    const ns = 'job-complete';
    const c = await setup(ns, job('pi', { completions: 5, parallelism: 2 }));
    const key = `${ns}/pi`;
    const first = await step(c, key);
    expect(creates(first)).toHaveLength(2);
    const pod = creates(first)[0]!.object!;
    const uid = (await h.api.get(JOBS, ns, 'pi')).metadata.uid;
    expect(pod.metadata.labels).toMatchObject({
      [JOB_NAME_LABEL]: 'pi',
      'job-name': 'pi',
      [CONTROLLER_UID_LABEL]: uid,
      'controller-uid': uid,
    });
    expect(pod.metadata.ownerReferences?.[0]).toMatchObject({
      kind: 'Job',
      name: 'pi',
      uid,
      controller: true,
    });
    expect(await jobStatus(ns, 'pi')).toMatchObject({ active: 2, succeeded: 0, failed: 0 });

    for (let round = 0; round < 10; round++) {
      const pods = await podsIn(h.api, ns);
      const active = pods.filter(isPodActive);
      expect(active.length).toBeLessThanOrEqual(2);
      const status = await jobStatus(ns, 'pi');
      if (status.conditions) break;
      // One pod finishes, then the controller looks.
      if (active[0]) await setPodStatus(h.api, active[0], { phase: 'Succeeded' });
      await step(c, key);
    }
    const pods = await podsIn(h.api, ns);
    expect(pods.filter((p) => isRecord(p.status) && p.status.phase === 'Succeeded')).toHaveLength(
      5,
    );
    expect(pods.filter(isPodActive)).toHaveLength(0);
    const status = await jobStatus(ns, 'pi');
    expect(status).toMatchObject({ active: 0, succeeded: 5, failed: 0 });
    expect(status.completionTime).toBeDefined();
    expect(status.startTime).toBeDefined();
    expect(status.conditions).toEqual([
      expect.objectContaining({ type: 'Complete', status: 'True' }),
    ]);
    expect(f!.events.recorded.filter((e) => e.reason === 'SuccessfulCreate')).toHaveLength(5);
    expect(f!.events.recorded.some((e) => e.reason === 'Completed')).toBe(true);
    // Finished: nothing more happens.
    expect(await step(c, key)).toEqual([]);
  });

  it('fails with BackoffLimitExceeded after more than backoffLimit failed pods, deleting the active ones', async () => {
    const ns = 'job-backoff';
    const c = await setup(ns, job('flaky', { completions: 3, parallelism: 2, backoffLimit: 1 }));
    const key = `${ns}/flaky`;
    await step(c, key);
    let [p1, p2] = (await podsIn(h.api, ns)).filter(isPodActive);
    await setPodStatus(h.api, p1!, { phase: 'Failed' });
    // One failure is within the limit: it is replaced.
    const replaced = await step(c, key);
    expect(creates(replaced)).toHaveLength(1);
    expect(await jobStatus(ns, 'flaky')).toMatchObject({ failed: 1, active: 2 });

    [p1, p2] = (await podsIn(h.api, ns)).filter(isPodActive);
    await setPodStatus(h.api, p1!, { phase: 'Failed' });
    const failed = await step(c, key);
    expect(creates(failed)).toHaveLength(0);
    expect(deletes(failed).map((a) => a.name)).toEqual([p2!.metadata.name]);
    const status = await jobStatus(ns, 'flaky');
    expect(status).toMatchObject({ failed: 2, active: 0 });
    expect(status.conditions).toEqual([
      expect.objectContaining({ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded' }),
    ]);
    // Failed pods stay (they are the record of what happened) until the Job goes.
    expect(
      (await podsIn(h.api, ns)).filter((p) => isRecord(p.status) && p.status.phase === 'Failed'),
    ).toHaveLength(2);
  });

  it('counts container restarts against backoffLimit with restartPolicy OnFailure', async () => {
    const ns = 'job-onfailure';
    const c = await setup(ns, job('retry', { backoffLimit: 2 }, 'OnFailure'));
    const key = `${ns}/retry`;
    await step(c, key);
    const [p] = await podsIn(h.api, ns);
    await setPodStatus(h.api, p!, { phase: 'Running', restartCount: 2 });
    await step(c, key);
    const status = await jobStatus(ns, 'retry');
    expect(status.conditions).toEqual([
      expect.objectContaining({ type: 'Failed', reason: 'BackoffLimitExceeded' }),
    ]);
  });

  it('fails with DeadlineExceeded once activeDeadlineSeconds have passed', async () => {
    const ns = 'job-deadline';
    const c = await setup(ns, job('slow', { activeDeadlineSeconds: 30 }));
    const key = `${ns}/slow`;
    await step(c, key);
    expect(await jobStatus(ns, 'slow')).toMatchObject({ active: 1 });
    clock += 29_000;
    expect(creates(await step(c, key))).toHaveLength(0);
    expect((await jobStatus(ns, 'slow')).conditions).toBeUndefined();
    clock += 2_000;
    const actions = await step(c, key);
    expect(deletes(actions)).toHaveLength(1);
    const status = await jobStatus(ns, 'slow');
    expect(status.conditions).toEqual([
      expect.objectContaining({ type: 'Failed', reason: 'DeadlineExceeded' }),
    ]);
    expect(f!.events.recorded.some((e) => e.reason === 'DeadlineExceeded')).toBe(true);
  });

  it('deletes a finished Job ttlSecondsAfterFinished later, with background propagation', async () => {
    const ns = 'job-ttl';
    const c = await setup(ns, job('once', { ttlSecondsAfterFinished: 60 }));
    const key = `${ns}/once`;
    await step(c, key);
    const [p] = await podsIn(h.api, ns);
    await setPodStatus(h.api, p!, { phase: 'Succeeded' });
    await step(c, key);
    expect((await jobStatus(ns, 'once')).conditions).toEqual([
      expect.objectContaining({ type: 'Complete' }),
    ]);
    clock += 59_000;
    expect(await step(c, key)).toEqual([]);
    clock += 1_000;
    const actions = await step(c, key);
    expect(actions).toEqual([
      {
        verb: 'delete',
        resource: 'jobs',
        namespace: ns,
        name: 'once',
        propagationPolicy: 'Background',
      },
    ]);
    await expect(h.api.get(JOBS, ns, 'once')).rejects.toMatchObject({ reason: 'NotFound' });
  });
});
