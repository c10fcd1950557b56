// Store write benchmark: what combining writes into one etcd txn buys. In one
// run, on one fresh local etcd, 32 concurrent writers create N pod-sized keys
//   1. as raw etcd3 single-key txns (compare create_revision = 0, put): the
//      baseline, what every store write used to be;
//   2. as raw etcd3 txns of 16 such keys each (what combining can reach);
//   3. through EtcdStore.create, which combines the writes of one event-loop
//      turn (controlplane/store/txn-batcher.ts).
//
//   node dist/test/bench/etcd-writes.js [--keys 5000]

import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { EtcdSupervisor } from '../../controlplane/etcd/supervisor.js';
import { EtcdStore } from '../../controlplane/store/etcd-store.js';
import type { KubeObject } from '../../controlplane/api/objects.js';

const CLIENTS = 32;

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

/** A pod-sized object (≈ 2.5 KB of JSON). */
function pod(i: number): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `p${i}`, namespace: 'default', labels: { app: 'bench' } },
    spec: { containers: [{ name: 'c', image: 'busybox', args: ['x'.repeat(2200)] }] },
  };
}

/** Runs `write(i)` for i < n from CLIENTS concurrent loops; returns writes per second. */
async function rate(
  n: number,
  step: number,
  write: (i: number) => Promise<unknown>,
): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (next < n) {
        const i = next;
        next += step;
        await write(i);
      }
    }),
  );
  return n / ((performance.now() - t0) / 1000);
}

async function main(): Promise<void> {
  const n = option('keys', 5000);
  const dir = await mkdtemp(join(tmpdir(), 'shoal-etcd-writes-'));
  const etcd = new EtcdSupervisor({ dataDir: dir });
  try {
    const { endpoints } = await etcd.start();
    const client = new Etcd3({ hosts: endpoints });
    const store = new EtcdStore({ endpoints });
    const value = (i: number): Buffer => Buffer.from(JSON.stringify(pod(i)));
    const createOp = (key: Buffer, i: number) => ({
      compare: { key, target: 'Create' as const, result: 'Equal' as const, create_revision: 0 },
      put: { request_put: { key, value: value(i) } },
    });
    const single = await rate(n, 1, (i) => {
      const op = createOp(Buffer.from(`/bench/single/${i}`), i);
      return client.kv.txn({ compare: [op.compare], success: [op.put] });
    });
    const grouped = await rate(n, 16, (first) => {
      const ops = Array.from({ length: Math.min(16, n - first) }, (_, j) =>
        createOp(Buffer.from(`/bench/grouped/${first + j}`), first + j),
      );
      return client.kv.txn({ compare: ops.map((o) => o.compare), success: ops.map((o) => o.put) });
    });
    const viaStore = await rate(n, 1, (i) => store.create(`/bench/store/${i}`, pod(i)));
    client.close();
    await store.close();
    console.log(
      `\nShoal store write benchmark — ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}; ${n} creates of ≈ 2.5 KB, ${CLIENTS} concurrent writers\n`,
    );
    console.log('| writes | creates/s |');
    console.log('| --- | --- |');
    console.log(`| raw etcd3, one key per txn (baseline) | ${single.toFixed(0)} |`);
    console.log(`| raw etcd3, 16 keys per txn | ${grouped.toFixed(0)} |`);
    console.log(`| EtcdStore.create (writes of one turn combined) | ${viaStore.toFixed(0)} |`);
  } finally {
    await etcd.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
