import { describe, expect, it } from 'vitest';
import { fastify } from 'fastify';
import { ControlPlaneMetrics } from './controlplane-metrics.js';
import { WorkQueue, withWorkQueueMetrics } from '../controllers/runtime/workqueue.js';
import { findResource } from '../api/resources.js';
import { promtoolCheckMetrics } from './promtool.js';

describe('ControlPlaneMetrics', () => {
  it('counts API requests with Kubernetes verbs and bounded labels', async () => {
    const m = new ControlPlaneMetrics();
    const app = fastify();
    m.instrumentApiServer(app);
    app.post('/api/v1/namespaces/:ns/pods', async (_req, reply) => reply.code(201).send({}));
    app.get('/api/v1/namespaces/:ns/pods', async () => ({ items: [] }));
    await app.inject({ method: 'POST', url: '/api/v1/namespaces/default/pods', payload: {} });
    await app.inject({ method: 'POST', url: '/api/v1/namespaces/default/pods', payload: {} });
    await app.inject({ method: 'GET', url: '/api/v1/namespaces/default/pods' });
    await app.inject({ method: 'GET', url: '/api/v1/namespaces/default/nonsense-xyz' });
    const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(text).toContain(
      'apiserver_request_total{verb="create",group="",resource="pods",subresource="",code="201"} 2',
    );
    expect(text).toContain(
      'apiserver_request_total{verb="list",group="",resource="pods",subresource="",code="200"} 1',
    );
    // An unknown path is counted without its name as a label.
    expect(text).toContain(
      'apiserver_request_total{verb="get",group="",resource="",subresource="",code="404"} 1',
    );
    expect(text).not.toContain('nonsense-xyz');
    expect(text).toMatch(
      /apiserver_request_duration_seconds_count\{verb="create",resource="pods",subresource=""\} 2/,
    );
    expect(text).toContain('apiserver_current_inflight_requests{request_kind="mutating"} 0');
    expect(text).toContain('process_cpu_seconds_total');
    await app.close();
  });

  it('records etcd, watch, scheduler, work queue and leader metrics', async () => {
    const m = new ControlPlaneMetrics();
    m.etcdMetrics.request?.('create', '/registry/pods/default/a', 0.002);
    m.watchMetrics.onEvent(findResource('apps', 'v1', 'deployments')!);
    m.schedulerMetrics.attempt?.('scheduled', 0.003);
    m.schedulerMetrics.attempt?.('unschedulable', 0.001);
    m.schedulerMetrics.queueSizes?.(() => ({ active: 2, backoff: 1 }));
    const q = withWorkQueueMetrics(
      (name) => m.workQueueMetrics(name),
      () => new WorkQueue('replicaset'),
    );
    q.add('default/a');
    q.add('default/b');
    q.addRateLimited('default/c');
    q.shutdown();
    m.setLeaderElector({ leaderElectionMasterStatus: 1 }, 'shoal-controllers');
    const text = await m.metrics();
    expect(text).toContain('etcd_request_duration_seconds_count{operation="create",type="pods"} 1');
    expect(text).toContain(
      'apiserver_watch_events_total{group="apps",version="v1",kind="Deployment"} 1',
    );
    expect(text).toContain(
      'scheduler_schedule_attempts_total{result="scheduled",profile="default-scheduler"} 1',
    );
    expect(text).toContain(
      'scheduler_schedule_attempts_total{result="error",profile="default-scheduler"} 0',
    );
    expect(text).toContain('scheduler_pending_pods{queue="active"} 2');
    expect(text).toContain('scheduler_pending_pods{queue="backoff"} 1');
    expect(text).toContain('workqueue_adds_total{name="replicaset"} 2');
    expect(text).toContain('workqueue_depth{name="replicaset"} 2');
    expect(text).toContain('workqueue_retries_total{name="replicaset"} 1');
    expect(text).toContain('leader_election_master_status{name="shoal-controllers"} 1');
    expect(text).toContain('shoal_nodes{condition="Ready",status="True"} 0');
    // A queue built outside withWorkQueueMetrics reports nothing.
    new WorkQueue('orphan').add('x');
    expect(await m.metrics()).not.toContain('orphan');
  });

  it('keeps two instances apart and passes promtool check metrics', async () => {
    const a = new ControlPlaneMetrics();
    const b = new ControlPlaneMetrics();
    a.schedulerMetrics.attempt?.('scheduled', 0.01);
    expect(await b.metrics()).toContain(
      'scheduler_schedule_attempts_total{result="scheduled",profile="default-scheduler"} 0',
    );
    expect(await promtoolCheckMetrics(await a.metrics())).toEqual([]);
  });

  it("sums another thread's values into its own exposition", async () => {
    const main = new ControlPlaneMetrics();
    const worker = new ControlPlaneMetrics();
    main.etcdMetrics.request?.('update', '/registry/pods/default/a', 0.002);
    worker.etcdMetrics.request?.('update', '/registry/pods/default/b', 0.004);
    worker.etcdMetrics.request?.('create', '/registry/pods/default/c', 0.001);
    worker.schedulerMetrics.attempt?.('scheduled', 0.003);
    worker.schedulerMetrics.queueSizes?.(() => ({ active: 4, backoff: 0 }));
    worker.setLeaderElector({ leaderElectionMasterStatus: 1 }, 'shoal-controllers');
    main.addSource(() => worker.registry.getMetricsAsJSON());
    const text = await main.metrics();
    expect(text).toContain('etcd_request_duration_seconds_count{operation="update",type="pods"} 2');
    expect(text).toContain('etcd_request_duration_seconds_count{operation="create",type="pods"} 1');
    expect(text).toContain(
      'scheduler_schedule_attempts_total{result="scheduled",profile="default-scheduler"} 1',
    );
    expect(text).toContain('scheduler_pending_pods{queue="active"} 4');
    expect(text).toContain('leader_election_master_status{name="shoal-controllers"} 1');
    expect(text).toContain('process_cpu_seconds_total');
    expect(await promtoolCheckMetrics(text)).toEqual([]);
  });
});
