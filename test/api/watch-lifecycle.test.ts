// An HTTP watch's life on a control plane over real HTTPS and etcd: it is
// counted while open (apiserver_registered_watchers) and released when its
// client leaves, also when the client leaves while the watch is starting
// (reading its initial list), which once left the watch open for good.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import type { ClientRequest } from 'node:http';
import { request } from 'node:https';
import { parse } from 'yaml';
import { loadOrCreateTokens } from '../../controlplane/pki/tokens.js';
import { findResource } from '../../controlplane/api/resources.js';
import { startTestControlplane, type TestControlplane } from '../support/controlplane.js';

const CONFIGMAPS = findResource('', 'v1', 'configmaps')!;
const GAUGE = 'apiserver_registered_watchers{group="",version="v1",kind="ConfigMap"}';
const LISTS = 'etcd_request_duration_seconds_count{operation="list",type="configmaps"}';

let cp: TestControlplane;
let token: string;
let ca: Buffer;

beforeAll(async () => {
  cp = await startTestControlplane();
  token = (await loadOrCreateTokens(cp.dataDir)).adminToken;
  const kubeconfig = parse(await readFile(cp.kubeconfigPath, 'utf8')) as {
    clusters: { cluster: { 'certificate-authority-data': string } }[];
  };
  ca = Buffer.from(kubeconfig.clusters[0]!.cluster['certificate-authority-data'], 'base64');
  // Enough objects that the initial list takes a while.
  for (let i = 0; i < 300; i++) {
    await cp.registry.create(CONFIGMAPS, 'default', {
      metadata: { name: `cm-${i}`, labels: { app: i % 2 ? 'odd' : 'even' } },
      data: { filler: 'x'.repeat(2000) },
    });
  }
});
let stopped = false;
afterAll(async () => {
  if (!stopped) await cp?.stop();
});

function openWatch(path: string): ClientRequest {
  const url = new URL(cp.url);
  const req = request({
    host: url.hostname,
    port: url.port,
    path,
    ca,
    headers: { authorization: `Bearer ${token}` },
  });
  req.on('error', () => undefined);
  req.end();
  return req;
}

const ODD = '/api/v1/namespaces/default/configmaps?watch=true&labelSelector=app%3Dodd';

/** Counts a watch's events until the 150 initial ones (the odd ConfigMaps) have come. */
function initialEvents(req: ClientRequest): Promise<number> {
  return new Promise<number>((resolve) => {
    req.on('response', (res) => {
      let n = 0;
      res.on('data', (d: Buffer) => {
        n += d.toString().split('\n').length - 1;
        if (n >= 150) resolve(n);
      });
    });
  });
}

async function metric(name: string): Promise<number> {
  const line = (await cp.metrics.metrics()).split('\n').find((l) => l.startsWith(name + ' '));
  return line ? Number(line.slice(name.length + 1)) : 0;
}

/** Polls until the metric reads `n` (or at least `n`); fails the test if it never does. */
async function until(name: string, n: number, atLeast = false): Promise<void> {
  const done = (v: number): boolean => (atLeast ? v >= n : v === n);
  for (let i = 0; i < 200 && !done(await metric(name)); i++) {
    await new Promise((r) => setTimeout(r, 50));
  }
  expect(await metric(name)).toSatisfy(done);
}

describe('HTTP watch lifecycle', () => {
  it('is counted while open and released when its client leaves', async () => {
    const req = openWatch(ODD);
    expect(await initialEvents(req)).toBe(150);
    await until(GAUGE, 1);
    req.destroy();
    await until(GAUGE, 0);
  });

  it('is released when its client leaves while it starts', async () => {
    const listed = await metric(LISTS);
    const reqs = Array.from({ length: 20 }, () => {
      const req = openWatch('/api/v1/namespaces/default/configmaps?watch=true');
      // Gone just after the request is sent: while the server reads the list.
      req.on('socket', (socket) =>
        socket.once('secureConnect', () => setTimeout(() => req.destroy(), 5)),
      );
      return req;
    });
    await Promise.all(reqs.map((r) => new Promise((resolve) => r.on('close', resolve))));
    // Every initial list read; then a watch started after them: once it has
    // its events, the ones before it have opened too (they wait on the same
    // store watch), and only it may be counted.
    await until(LISTS, listed + 20, true);
    const probe = openWatch(ODD);
    expect(await initialEvents(probe)).toBe(150);
    expect(await metric(GAUGE)).toBe(1);
    probe.destroy();
    await until(GAUGE, 0);
    // A watch left open would keep the server from closing.
    await cp.stop();
    stopped = true;
  });
});
