import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import {
  createServer as createTcpServer,
  type AddressInfo,
  type Server as TcpServer,
} from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  ProbeWorker,
  runProbe,
  type ExecResult,
  type ProbeContext,
  type ProbeResult,
} from './probes.js';
import type { Probe } from './types.js';

function listen(server: Server | TcpServer): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
}

function close(server: Server | TcpServer): Promise<void> {
  if ('closeAllConnections' in server) server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

const noExec = (): Promise<ExecResult> => Promise.reject(new Error('no exec in this test'));

describe('runProbe httpGet', () => {
  let server: Server;
  let port: number;
  let lastHeaders: IncomingHttpHeaders = {};
  let lastUrl = '';

  beforeAll(async () => {
    server = createServer((req, res) => {
      lastHeaders = req.headers;
      lastUrl = req.url ?? '';
      if (req.url?.startsWith('/ok')) res.end('fine');
      else if (req.url === '/redirect') res.writeHead(302, { location: '/elsewhere' }).end();
      else if (req.url === '/hang')
        return; // never answers
      else res.writeHead(500).end('broken');
    });
    port = await listen(server);
  });
  afterAll(() => close(server));

  const ctx = (): ProbeContext => ({
    podIP: '127.0.0.1',
    exec: noExec,
    namedPort: (name) => (name === 'http' ? port : undefined),
  });

  it('succeeds on 200 and sends the kubelet headers', async () => {
    const r = await runProbe(
      { httpGet: { path: '/ok?x=1', port, httpHeaders: [{ name: 'X-Probe', value: 'yes' }] } },
      ctx(),
    );
    expect(r).toEqual({ result: 'success', message: 'fine' });
    expect(lastUrl).toBe('/ok?x=1');
    expect(lastHeaders['user-agent']).toMatch(/^kube-probe\/1\.\d+$/);
    expect(lastHeaders['accept']).toBe('*/*');
    expect(lastHeaders['x-probe']).toBe('yes');
  });

  it('resolves a named port and a Host header override', async () => {
    const r = await runProbe(
      {
        httpGet: {
          path: '/ok',
          port: 'http',
          httpHeaders: [{ name: 'Host', value: 'example.test' }],
        },
      },
      ctx(),
    );
    expect(r.result).toBe('success');
    expect(lastHeaders['host']).toBe('example.test');
  });

  it('treats a redirect as success', async () => {
    expect((await runProbe({ httpGet: { path: '/redirect', port } }, ctx())).result).toBe(
      'success',
    );
  });

  it('fails on 500', async () => {
    expect(await runProbe({ httpGet: { path: '/bad', port } }, ctx())).toEqual({
      result: 'failure',
      message: 'HTTP probe failed with statuscode: 500',
    });
  });

  it('fails when the server does not answer within timeoutSeconds', async () => {
    const r = await runProbe({ httpGet: { path: '/hang', port }, timeoutSeconds: 1 }, ctx());
    expect(r.result).toBe('failure');
    expect(r.message).toContain('Client.Timeout exceeded');
  });

  it('fails when nothing listens', async () => {
    const closed = createServer();
    const freePort = await listen(closed);
    await close(closed);
    const r = await runProbe({ httpGet: { path: '/', port: freePort } }, ctx());
    expect(r.result).toBe('failure');
    expect(r.message).toContain('ECONNREFUSED');
  });

  it('is unknown for a port name the container does not have', async () => {
    expect(await runProbe({ httpGet: { path: '/', port: 'nope' } }, ctx())).toEqual({
      result: 'unknown',
      message: "couldn't find port: nope",
    });
  });
});

describe('runProbe tcpSocket', () => {
  it('succeeds when a listener accepts and fails when none does', async () => {
    const server = createTcpServer((s) => s.destroy());
    const port = await listen(server);
    const ctx: ProbeContext = { podIP: '127.0.0.1', exec: noExec };
    try {
      expect(await runProbe({ tcpSocket: { port } }, ctx)).toEqual({ result: 'success' });
    } finally {
      await close(server);
    }
    const r = await runProbe({ tcpSocket: { port } }, ctx);
    expect(r.result).toBe('failure');
    expect(r.message).toContain(`dial tcp 127.0.0.1:${port}`);
  });
});

describe('runProbe exec', () => {
  it.each<[string, ExecResult | Error, ProbeResult]>([
    ['exit 0', { exitCode: 0, output: 'ok' }, { result: 'success', message: 'ok' }],
    ['exit 1', { exitCode: 1, output: 'bad' }, { result: 'failure', message: 'bad' }],
    [
      'timed out',
      { exitCode: -1, output: '', timedOut: true },
      { result: 'failure', message: 'command "cat /tmp/healthy" timed out' },
    ],
    [
      'cannot run',
      new Error('container not running'),
      { result: 'unknown', message: 'container not running' },
    ],
  ])('%s', async (_name, outcome, want) => {
    const calls: [string[], number][] = [];
    const exec = (cmd: string[], timeoutMs: number): Promise<ExecResult> => {
      calls.push([cmd, timeoutMs]);
      return outcome instanceof Error ? Promise.reject(outcome) : Promise.resolve(outcome);
    };
    expect(
      await runProbe(
        { exec: { command: ['cat', '/tmp/healthy'] }, timeoutSeconds: 2 },
        { podIP: '', exec },
      ),
    ).toEqual(want);
    expect(calls).toEqual([[['cat', '/tmp/healthy'], 2000]]);
  });
});

describe('ProbeWorker', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  // A worker fed a scripted sequence of results, on fake timers.
  function scripted(
    probe: Probe,
    kind: 'liveness' | 'readiness' | 'startup',
    results: ProbeResult['result'][],
  ): { worker: ProbeWorker; changes: boolean[]; calls: () => number } {
    vi.useFakeTimers({ now: 1_000_000 });
    let i = 0;
    const changes: boolean[] = [];
    const worker = new ProbeWorker(
      probe,
      kind,
      () => Promise.resolve({ result: results[Math.min(i++, results.length - 1)] ?? 'unknown' }),
      (ok) => changes.push(ok),
    );
    return { worker, changes, calls: () => i };
  }

  async function periods(n: number, periodSeconds: number): Promise<void> {
    for (let k = 0; k < n; k++) await vi.advanceTimersByTimeAsync(periodSeconds * 1000);
  }

  it('readiness: false until successThreshold successes, false again after failureThreshold failures', async () => {
    const { worker, changes, calls } = scripted(
      { periodSeconds: 1, successThreshold: 2, failureThreshold: 3 },
      'readiness',
      ['success', 'success', 'failure', 'failure', 'success', 'failure', 'failure', 'failure'],
    );
    expect(worker.verdict).toBe(false);
    worker.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(calls()).toBe(1);
    expect(changes).toEqual([]);
    await periods(1, 1); // 2nd success
    expect(changes).toEqual([true]);
    await periods(3, 1); // failure, failure, success: never three in a row
    expect(changes).toEqual([true]);
    await periods(3, 1); // three failures
    expect(changes).toEqual([true, false]);
    worker.stop();
    await periods(5, 1);
    expect(calls()).toBe(8);
  });

  it('liveness: reports one failure after failureThreshold, then holds', async () => {
    const { worker, changes, calls } = scripted(
      { periodSeconds: 10, failureThreshold: 3 },
      'liveness',
      ['success', 'failure', 'failure', 'failure'],
    );
    worker.start();
    await vi.advanceTimersByTimeAsync(0);
    await periods(2, 10);
    expect(changes).toEqual([]); // two failures: still alive
    await periods(1, 10);
    expect(changes).toEqual([false]);
    await periods(5, 10);
    expect(calls()).toBe(4); // on hold: no more probes
    worker.stop();
  });

  it('waits initialDelaySeconds from the container start, counting whole seconds', async () => {
    const { worker, calls } = scripted({ periodSeconds: 2, initialDelaySeconds: 5 }, 'readiness', [
      'success',
    ]);
    worker.start();
    await vi.advanceTimersByTimeAsync(0); // t=0 skipped
    await periods(2, 2); // t=2, t=4 skipped
    expect(calls()).toBe(0);
    await periods(1, 2); // t=6 probes
    expect(calls()).toBe(1);
    worker.stop();
  });

  it('ignores unknown results', async () => {
    const { worker, changes } = scripted({ periodSeconds: 1, failureThreshold: 2 }, 'readiness', [
      'success',
      'unknown',
      'unknown',
      'failure',
      'unknown',
      'failure',
    ]);
    worker.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(changes).toEqual([true]);
    await periods(4, 1);
    expect(changes).toEqual([true]);
    await periods(1, 1);
    expect(changes).toEqual([true, false]);
    worker.stop();
  });

  it('startup: reports success once and stops probing', async () => {
    const { worker, changes, calls } = scripted(
      { periodSeconds: 1, failureThreshold: 30 },
      'startup',
      ['failure', 'failure', 'success'],
    );
    expect(worker.verdict).toBeUndefined();
    worker.start();
    await vi.advanceTimersByTimeAsync(0);
    await periods(4, 1);
    expect(changes).toEqual([true]);
    expect(calls()).toBe(3);
  });

  it('startup: reports failure after failureThreshold', async () => {
    const { worker, changes } = scripted({ periodSeconds: 1, failureThreshold: 2 }, 'startup', [
      'failure',
    ]);
    worker.start();
    await vi.advanceTimersByTimeAsync(0);
    await periods(3, 1);
    expect(changes).toEqual([false]);
    worker.stop();
  });

  it('does not overlap a slow probe with the next tick', async () => {
    vi.useFakeTimers({ now: 0 });
    let running = 0;
    let maxRunning = 0;
    let calls = 0;
    const worker = new ProbeWorker(
      { periodSeconds: 1 },
      'readiness',
      async () => {
        calls++;
        running++;
        maxRunning = Math.max(maxRunning, running);
        await new Promise((r) => setTimeout(r, 3500));
        running--;
        return { result: 'success' };
      },
      () => {},
    );
    worker.start();
    await vi.advanceTimersByTimeAsync(10_000);
    worker.stop();
    expect(maxRunning).toBe(1);
    expect(calls).toBe(3); // at 0, at 3.5 (kept tick), at 7
  });
});
