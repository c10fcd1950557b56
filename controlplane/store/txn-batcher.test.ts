import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Etcd3, type ITxnRequest, type ITxnResponse } from 'etcd3';
import { TxnBatcher, type KeyTxn } from './txn-batcher.js';
import { EtcdStore } from './etcd-store.js';
import { StoreError } from './errors.js';
import { startEtcd, type TestEtcd } from '../../test/support/etcd.js';

const create = (key: string, value = 'v'): KeyTxn => ({
  key,
  compare: [{ key: Buffer.from(key), target: 'Create', result: 'Equal', create_revision: 0 }],
  success: [{ request_put: { key: Buffer.from(key), value: Buffer.from(value) } }],
  size: value.length,
});

describe('TxnBatcher against a real etcd', () => {
  let etcd: TestEtcd;
  let client: Etcd3;
  const sent: ITxnRequest[] = [];
  let batcher: TxnBatcher;
  beforeAll(async () => {
    etcd = await startEtcd();
    client = new Etcd3({ hosts: etcd.endpoints });
    batcher = new TxnBatcher({
      send: (req): Promise<ITxnResponse> => {
        sent.push(req);
        return client.kv.txn(req);
      },
      maxOps: 4,
    });
  });
  afterAll(async () => {
    client?.close();
    await etcd?.stop();
  });

  it('sends the writes of one turn as one txn, split at maxOps; all get one revision', async () => {
    sent.length = 0;
    const results = await Promise.all(
      ['a', 'b', 'c', 'd', 'e', 'f'].map((k) => batcher.submit(create(`/b1/${k}`))),
    );
    expect(sent.map((r) => r.success?.length)).toEqual([4, 2]);
    expect(results.every((r) => r.succeeded)).toBe(true);
    expect(new Set(results.slice(0, 4).map((r) => r.header.revision)).size).toBe(1);
    expect(results[0]!.responses).toHaveLength(1);
    expect((await client.getAll().prefix('/b1/').keys()).sort()).toEqual(
      ['a', 'b', 'c', 'd', 'e', 'f'].map((k) => `/b1/${k}`),
    );
  });

  it('answers each write as its own txn would when one compare fails', async () => {
    await client.put('/b2/taken').value('old');
    sent.length = 0;
    const [x, taken, y] = await Promise.all([
      batcher.submit(create('/b2/x')),
      batcher.submit(create('/b2/taken', 'new')),
      batcher.submit(create('/b2/y')),
    ]);
    expect([x.succeeded, taken.succeeded, y.succeeded]).toEqual([true, false, true]);
    // The combined txn, then the three alone.
    expect(sent.map((r) => r.success?.length)).toEqual([3, 1, 1, 1]);
    expect(await client.get('/b2/taken').string()).toBe('old');
  });

  it('never names one key twice in a txn', async () => {
    sent.length = 0;
    const [first, second] = await Promise.all([
      batcher.submit(create('/b3/k', '1')),
      batcher.submit(create('/b3/k', '2')),
    ]);
    expect(sent).toHaveLength(2);
    expect([first.succeeded, second.succeeded].sort()).toEqual([false, true]);
  });

  it('keeps the store answers of concurrent writes exact (EtcdStore over the batcher)', async () => {
    const store = new EtcdStore({ endpoints: etcd.endpoints });
    try {
      const obj = (name: string): Parameters<EtcdStore['create']>[1] => ({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name, namespace: 'default' },
      });
      const a = await store.create('/b4/a', obj('a'));
      const results = await Promise.allSettled([
        store.create('/b4/a', obj('a')),
        store.create('/b4/b', obj('b')),
        store.update('/b4/a', { ...a, data: { k: 'v' } }, Number(a.metadata.resourceVersion)),
        store.update('/b4/missing', obj('missing'), 1),
      ]);
      const errType = (r: PromiseSettledResult<unknown>): string | undefined =>
        r.status === 'rejected' && r.reason instanceof StoreError ? r.reason.type : undefined;
      expect(errType(results[0])).toBe('AlreadyExists');
      expect(results[1].status).toBe('fulfilled');
      expect(results[2].status).toBe('fulfilled');
      expect(errType(results[3])).toBe('NotFound');
    } finally {
      await store.close();
    }
  });
});
