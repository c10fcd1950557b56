import { describe, expect, it } from 'vitest';
import { AgentMetrics } from './agent-metrics.js';
import { statValue, workingSet } from './cgroup-stats.js';
import { promtoolCheckMetrics } from '../../controlplane/metrics/promtool.js';
import type { PodStatus } from '../pods/types.js';

const running: PodStatus = {
  phase: 'Running',
  containerStatuses: [
    {
      name: 'main',
      state: { running: { startedAt: '2026-01-01T00:00:00Z' } },
      ready: true,
      restartCount: 3,
      image: 'busybox',
      imageID: 'sha256:x',
    },
  ],
};

describe('cgroup stats parsing', () => {
  it('reads a key of a stat file', () => {
    const stat = 'cache 100\ntotal_inactive_file 4096\ninactive_file 1\n';
    expect(statValue(stat, 'total_inactive_file')).toBe(4096);
    expect(statValue(stat, 'inactive_file')).toBe(1);
    expect(statValue(stat, 'missing')).toBeUndefined();
  });

  it('working set is usage minus inactive file, never negative', () => {
    expect(workingSet(10_000, 4096)).toBe(5904);
    expect(workingSet(10, 4096)).toBe(0);
    expect(workingSet(10, undefined)).toBe(10);
  });
});

describe('AgentMetrics', () => {
  it('exposes kubelet-named series with per-pod labels', async () => {
    const m = new AgentMetrics('/shoal-test-node-that-does-not-exist');
    const ref = { namespace: 'default', name: 'web-1', uid: 'u1' };
    m.setPodSource({ pods: () => [{ ref, status: running }] });
    m.adopted(['u2']);
    m.podStatus(ref, { phase: 'Pending' });
    m.podStatus(ref, running);
    // A second Running report does not observe again.
    m.podStatus(ref, running);
    // Restored from a checkpoint after an agent restart: not observed.
    m.podStatus({ ...ref, uid: 'u2' }, running);
    // First reported as Running, with the time the agent took it on.
    m.podStatus(
      { ...ref, uid: 'u3' },
      { ...running, startTime: new Date(Date.now() - 3000).toISOString() },
    );
    await m.runtimeOperation('start', async () => undefined);
    await expect(
      m.runtimeOperation('kill', async () => {
        throw new Error('no such container');
      }),
    ).rejects.toThrow('no such container');
    m.imagePull(0.5, 1234);
    m.probeResult(ref, 'main', 'readiness', 'success');
    const text = await m.metrics();
    expect(text).toContain('kubelet_pod_start_duration_seconds_count 2');
    // The u3 start took about 3 s: in the (2, 3] or (3, 4] bucket, not below 2 s.
    expect(text).toContain('kubelet_pod_start_duration_seconds_bucket{le="2"} 1');
    expect(text).toContain('kubelet_running_pods 1');
    expect(text).toContain('kubelet_running_containers{container_state="running"} 1');
    expect(text).toContain(
      'kube_pod_container_status_restarts_total{namespace="default",pod="web-1",container="main"} 3',
    );
    expect(text).toContain(
      'kubelet_runtime_operations_duration_seconds_count{operation_type="start"} 1',
    );
    expect(text).toContain('kubelet_runtime_operations_errors_total{operation_type="kill"} 1');
    expect(text).toContain('shoal_agent_image_pull_bytes_total 1234');
    expect(text).toContain(
      'prober_probe_total{probe_type="readiness",result="success",container="main",pod="web-1",namespace="default"} 1',
    );
    // No cgroup for this made-up parent: no CPU or memory sample rather than a wrong one.
    expect(text).not.toMatch(/^container_cpu_usage_seconds_total\{/m);
    expect(await promtoolCheckMetrics(text)).toEqual([]);
  });
});
