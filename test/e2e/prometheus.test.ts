// Observability end to end, real parts: a control plane (scheduler and
// controllers on) with its plain-HTTP metrics listener, two `shoal agent`
// processes on two network-namespace hosts, and Debian's real `prometheus`
// on loopback scraping them with a configuration generated from the shipped
// deploy/prometheus/prometheus.yml (same jobs and rules; only the targets and
// intervals are the test's). Assertions go through Prometheus' HTTP API, so
// what is checked is what an operator's Prometheus would see. promtool checks
// the shipped config, the rule files and every component's /metrics text.

import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as k8s from '@kubernetes/client-node';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import type { Lab } from '../support/hosts.js';
import type { TestControlplane } from '../support/controlplane.js';
import { startTestCluster, type TestCluster } from '../support/cluster.js';
import { waitFor } from '../support/wait.js';
import { repoRoot } from '../support/paths.js';
import type { TestAgent } from '../support/agents.js';
import { promtoolCheckMetrics } from '../../controlplane/metrics/promtool.js';

const run = promisify(execFile);
const DEPLOY = join(repoRoot(), 'deploy', 'prometheus');
const SHIPPED_CONFIG = join(DEPLOY, 'prometheus.yml');
const RULE_FILES = [
  join(DEPLOY, 'rules', 'shoal-recording.yml'),
  join(DEPLOY, 'rules', 'shoal-alerts.yml'),
];
const DASHBOARD = join(repoRoot(), 'deploy', 'grafana', 'shoal-overview.json');
/** The agent port the docs use; free in each namespace the lab creates. */
const AGENT_METRICS_PORT = 10255;
const POLL = { timeout: 90_000, interval: 500 };

let testCluster: TestCluster | undefined;
let lab: Lab;
let cp: TestControlplane;
let agents: TestAgent[] = [];
let core: k8s.CoreV1Api;
let kc: k8s.KubeConfig;
let image: string;
let workDir: string | undefined;
let prometheus: ChildProcess | undefined;
let prometheusOutput = '';
let promUrl = '';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function getText(url: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.text() };
}

/** GET on the HTTPS API with the admin token from the kubeconfig (or none). */
async function apiGet(path: string, auth: boolean): Promise<{ status: number; body: string }> {
  const cluster = kc.getCurrentCluster()!;
  const token = kc.getCurrentUser()?.token;
  const url = new URL(path, cluster.server);
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      url,
      {
        ca: Buffer.from(cluster.caData ?? '', 'base64'),
        headers: auth && token ? { Authorization: `Bearer ${token}` } : {},
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

interface PromVector {
  metric: Record<string, string>;
  value: [number, string];
}

async function promQuery(expr: string): Promise<PromVector[]> {
  const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = (await res.json()) as {
    status: string;
    error?: string;
    data?: { resultType: string; result: PromVector[] };
  };
  if (body.status !== 'success') throw new Error(`query ${expr}: ${body.error ?? res.status}`);
  return body.data?.resultType === 'vector' ? body.data.result : [];
}

/** The sum of a query's samples; 0 when the series do not exist yet. */
async function promSum(expr: string): Promise<number> {
  const result = await promQuery(expr);
  return result.reduce((n, r) => n + Number(r.value[1]), 0);
}

interface PromTarget {
  labels: Record<string, string>;
  scrapeUrl: string;
  health: string;
  lastError: string;
  lastScrape: string;
}

async function activeTargets(): Promise<PromTarget[]> {
  const res = await fetch(`${promUrl}/api/v1/targets?state=active`);
  const body = (await res.json()) as { data: { activeTargets: PromTarget[] } };
  return body.data.activeTargets;
}

type ScrapeConfig = {
  job_name: string;
  static_configs?: { targets: string[]; labels?: Record<string, string> }[];
  file_sd_configs?: { files: string[]; refresh_interval?: string }[];
  [k: string]: unknown;
};

/**
 * The shipped configuration with the test's addresses: every job kept as it
 * is (relabelling, labels, service discovery kind), only targets, rule file
 * paths and intervals changed. A job the test does not know fails the test,
 * so a new job in the shipped file gets a target here too.
 */
async function testConfig(dir: string): Promise<string> {
  const config = parseYaml(await readFile(SHIPPED_CONFIG, 'utf8')) as {
    global: Record<string, unknown>;
    rule_files: string[];
    scrape_configs: ScrapeConfig[];
  };
  config.global.scrape_interval = '1s';
  config.global.evaluation_interval = '1s';
  config.rule_files = config.rule_files.map((f) => join(DEPLOY, f));
  const targetsDir = join(dir, 'targets');
  await mkdir(targetsDir, { recursive: true });
  for (const job of config.scrape_configs) {
    if (job.job_name === 'shoal-controlplane') {
      const labels = job.static_configs?.[0]?.labels ?? {};
      job.static_configs = [{ targets: [cp.metricsAddress!], labels }];
    } else if (job.job_name === 'shoal-agent') {
      // The same file format as the shipped example, written where the job reads it.
      const example = parseYaml(
        await readFile(join(DEPLOY, 'targets', 'shoal-agents.yml'), 'utf8'),
      ) as { targets: string[]; labels: Record<string, string> }[];
      expect(example[0]?.labels.node).toBeDefined();
      const entries = lab.hosts.map((h) => ({
        targets: [`${h.ip}:${AGENT_METRICS_PORT}`],
        labels: { node: h.name },
      }));
      await writeFile(join(targetsDir, 'shoal-agents.yml'), stringifyYaml(entries));
      job.file_sd_configs = (job.file_sd_configs ?? []).map((sd) => ({
        ...sd,
        files: sd.files.map((f) => join(dir, f)),
        refresh_interval: '1s',
      }));
    } else {
      throw new Error(`prometheus.test.ts does not know job ${job.job_name}: give it targets`);
    }
  }
  const path = join(dir, 'prometheus.yml');
  await writeFile(path, stringifyYaml(config));
  return path;
}

async function setUp(): Promise<void> {
  testCluster = await startTestCluster({
    hosts: 2,
    controlplane: { controllers: true, metricsListen: '127.0.0.1:0' },
    agents: { extra: (h) => ['--metrics-listen', `${h.ip}:${AGENT_METRICS_PORT}`] },
  });
  ({ lab, cp, agents, image, core, kubeconfig: kc } = testCluster);

  workDir = await mkdtemp(join(tmpdir(), 'shoal-prometheus-'));
  const configPath = await testConfig(workDir);
  const port = await freePort();
  promUrl = `http://127.0.0.1:${port}`;
  prometheus = spawn(
    'prometheus',
    [
      `--config.file=${configPath}`,
      `--storage.tsdb.path=${join(workDir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  prometheus.stdout?.on('data', (d: Buffer) => (prometheusOutput += d.toString()));
  prometheus.stderr?.on('data', (d: Buffer) => (prometheusOutput += d.toString()));
  await waitFor(
    'prometheus ready',
    async () => (await fetch(`${promUrl}/-/ready`)).status,
    (s) => s === 200,
    {
      timeoutMs: 60_000,
    },
  ).catch((err: unknown) => {
    throw new Error(`${String(err)}\n${prometheusOutput}`);
  });
}

/** Runs one clean-up step; a failure is reported and the next step still runs. */
async function step(what: string, fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    console.error(`prometheus.test.ts clean-up: ${what}: ${String(err)}`);
  }
}

/** SIGTERM, then SIGKILL if the process has not exited after graceMs. */
async function stopProcess(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

async function tearDown(): Promise<void> {
  if (prometheus) await step('prometheus', () => stopProcess(prometheus!, 10_000));
  if (core)
    await step('delete pods', () =>
      core.deleteCollectionNamespacedPod({ namespace: 'default', gracePeriodSeconds: 0 }),
    );
  // Agents (SIGKILL after 20 s), control plane, registry, lab.
  await step('cluster', async () => testCluster?.stop());
  if (workDir) await rm(workDir, { recursive: true, force: true });
}

describe('shipped Prometheus files', () => {
  it('promtool accepts the configuration and the rule files', async () => {
    const config = await run('promtool', ['check', 'config', SHIPPED_CONFIG]);
    expect(config.stdout).toContain('is valid prometheus config file syntax');
    const rules = await run('promtool', ['check', 'rules', ...RULE_FILES]);
    expect(rules.stdout).toMatch(/SUCCESS: \d+ rules found/);
    // The alerts' own unit tests: they fire on Shoal's series and not on a healthy cluster.
    const tests = await run('promtool', [
      'test',
      'rules',
      join(DEPLOY, 'tests', 'shoal-alerts.test.yml'),
    ]);
    expect(tests.stdout).toContain('SUCCESS');
  });
});

// Only these need the cluster: promtool's checks of the shipped files run without one.
describe('a cluster scraped by Prometheus', () => {
  beforeAll(setUp, 240_000);
  afterAll(tearDown, 180_000);

  describe('metrics and health endpoints', () => {
    it('the control plane serves lint-clean /metrics on its plain listener and, with credentials, on the API', async () => {
      const plain = await getText(`http://${cp.metricsAddress!}/metrics`);
      expect(plain.status).toBe(200);
      expect(plain.body).toContain('apiserver_request_total{');
      expect(await promtoolCheckMetrics(plain.body)).toEqual([]);

      expect((await apiGet('/metrics', false)).status).toBe(401);
      const api = await apiGet('/metrics', true);
      expect(api.status).toBe(200);
      expect(api.body).toContain('etcd_request_duration_seconds_bucket{');
      expect(await promtoolCheckMetrics(api.body)).toEqual([]);
    });

    it('the control plane answers /healthz, /livez and /readyz with its checks', async () => {
      for (const base of [`http://${cp.metricsAddress!}`]) {
        expect((await getText(`${base}/healthz`)).body).toBe('ok');
        expect((await getText(`${base}/livez`)).body).toBe('ok');
        const ready = await getText(`${base}/readyz?verbose`);
        expect(ready.status).toBe(200);
        expect(ready.body).toContain('[+]etcd ok');
        expect(ready.body).toContain('[+]informer-sync ok');
        expect(ready.body).toContain('readyz check passed');
      }
      const apiReady = await apiGet('/readyz?verbose', false);
      expect(apiReady.status).toBe(200);
      expect(apiReady.body).toContain('[+]etcd ok');
    });

    it('each agent serves lint-clean /metrics and is ready once registered', async () => {
      for (const h of lab.hosts) {
        const base = `http://${h.ip}:${AGENT_METRICS_PORT}`;
        const agent = agents.find((a) => a.host === h)!;
        const ready = await getText(`${base}/readyz?verbose`).catch((err: unknown) => {
          throw new Error(`${String(err)}\n${agent.output()}`);
        });
        expect(ready.status).toBe(200);
        expect(ready.body).toContain('[+]registered ok');
        expect((await getText(`${base}/livez`)).body).toBe('ok');
        const m = await getText(`${base}/metrics`);
        expect(m.body).toContain('kubelet_running_pods');
        expect(await promtoolCheckMetrics(m.body)).toEqual([]);
      }
    });
  });

  describe('Prometheus scraping the shipped configuration', () => {
    it('sees every target up after two scrapes', { timeout: 200_000 }, async () => {
      await expect
        .poll(async () => {
          const targets = await activeTargets();
          return targets
            .map((t) => `${t.labels.job} ${t.health} ${t.lastError}`)
            .sort()
            .join('\n');
        }, POLL)
        .toBe(['shoal-agent up ', 'shoal-agent up ', 'shoal-controlplane up '].join('\n'));
      // Two scrapes of each target: its up series has two samples.
      await expect
        .poll(
          async () => (await promQuery('count_over_time(up[1m])')).map((r) => Number(r.value[1])),
          POLL,
        )
        .toSatisfy((counts: number[]) => counts.length === 3 && counts.every((n) => n >= 2));
      const agentInstances = (await activeTargets())
        .filter((t) => t.labels.job === 'shoal-agent')
        .map((t) => t.labels.instance)
        .sort();
      // The shipped relabelling names agents by their node label.
      expect(agentInstances).toEqual(lab.hosts.map((h) => h.name).sort());
    });

    it('reads cluster state, leadership and controller series', { timeout: 300_000 }, async () => {
      await expect
        .poll(() => promSum('shoal_nodes{condition="Ready",status="True"}'), POLL)
        .toBe(2);
      // One leader for each lease: the scheduler's and the controllers'.
      for (const name of ['shoal-scheduler', 'shoal-controllers']) {
        await expect
          .poll(() => promSum(`leader_election_master_status{name="${name}"}`), POLL)
          .toBe(1);
      }
      await expect.poll(() => promSum('shoal:nodes:by_status{status="True"}'), POLL).toBe(2);
      await expect
        .poll(async () => (await promQuery('workqueue_adds_total{name="replicaset"}')).length, POLL)
        .toBe(1);
      expect(
        await promSum('etcd_request_duration_seconds_count{operation="create"}'),
      ).toBeGreaterThan(0);
      expect((await promQuery('process_resident_memory_bytes')).length).toBe(3);
      expect(await promSum('ALERTS{alertname="LeaderMissing"}')).toBe(0);
    });

    // Generous: pulling the image and the polls add up on a loaded two-core machine.
    it(
      'counts a pod through the API, the scheduler and an agent',
      { timeout: 300_000 },
      async () => {
        const before = {
          creates: await promSum('apiserver_request_total{resource="pods",verb="create"}'),
          scheduled: await promSum('scheduler_schedule_attempts_total{result="scheduled"}'),
          started: await promSum('kubelet_pod_start_duration_seconds_count'),
          probes: await promSum('prober_probe_total{probe_type="readiness"}'),
        };
        await core.createNamespacedPod({
          namespace: 'default',
          body: {
            metadata: { name: 'observed' },
            spec: {
              terminationGracePeriodSeconds: 1,
              containers: [
                {
                  name: 'main',
                  image,
                  command: ['sleep', '3600'],
                  readinessProbe: {
                    exec: { command: ['true'] },
                    periodSeconds: 1,
                    timeoutSeconds: 5,
                  },
                },
              ],
            },
          },
        });
        await expect
          .poll(
            async () =>
              (await core.readNamespacedPod({ namespace: 'default', name: 'observed' })).status
                ?.phase,
            POLL,
          )
          .toBe('Running');
        await expect
          .poll(() => promSum('apiserver_request_total{resource="pods",verb="create"}'), POLL)
          .toBeGreaterThan(before.creates);
        await expect
          .poll(() => promSum('scheduler_schedule_attempts_total{result="scheduled"}'), POLL)
          .toBeGreaterThan(before.scheduled);
        await expect
          .poll(() => promSum('kubelet_pod_start_duration_seconds_count'), POLL)
          .toBeGreaterThan(before.started);
        await expect
          .poll(() => promSum('prober_probe_total{probe_type="readiness",pod="observed"}'), POLL)
          .toBeGreaterThan(before.probes);
        await expect
          .poll(() => promSum('shoal_pods{phase="Running",namespace="default"}'), POLL)
          .toBeGreaterThanOrEqual(1);
        // Read from the pod's cgroups at scrape time.
        await expect
          .poll(
            () => promSum('container_memory_working_set_bytes{pod="observed",container="main"}'),
            POLL,
          )
          .toBeGreaterThan(0);
        await expect
          .poll(
            async () =>
              (await promQuery('container_cpu_usage_seconds_total{pod="observed"}')).length,
            POLL,
          )
          .toBe(1);
        // Pod names are agent labels only: the control plane's series carry none.
        expect(await promQuery('{job="shoal-controlplane", pod!=""}')).toEqual([]);
      },
    );

    it('evaluates every dashboard query', async () => {
      const dashboard = JSON.parse(await readFile(DASHBOARD, 'utf8')) as {
        panels: { title: string; targets?: { expr: string }[] }[];
      };
      const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
      expect(exprs.length).toBeGreaterThan(10);
      for (const expr of exprs) {
        const concrete = expr
          .replaceAll('$__rate_interval', '1m')
          .replaceAll('$controlplane_job', '.*')
          .replaceAll('$node', '.*');
        await expect(promQuery(concrete), expr).resolves.toBeDefined();
      }
    });
  });
});
