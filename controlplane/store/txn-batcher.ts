// Single-key etcd transactions, combined. Every write of the store is one
// compare-and-put (or -delete) on one key; sent one by one, each costs a gRPC
// call on our side and a request, a raft entry and an apply on etcd's, and on
// a busy control plane those per-call costs, not the bytes, were most of the
// work (test/bench/etcd-writes.ts on the 2-core machine: 2,728 single-key
// creates/s, 17,844/s at 16 keys a txn). So the writes submitted during one
// turn of the event loop go to etcd as one transaction: all their compares,
// all their puts.
//
// A combined txn succeeds only if every compare holds. When one does not
// (a lost race, a create of a name that exists), the batch is sent again as
// the single txns it was made of, so each caller gets exactly the answer its
// own txn would have had. Conflicts are the rare case; the retry costs one
// more round trip for the writes that shared a batch with the loser.
//
// Writes in one combined txn share one etcd revision, so several objects can
// have the same resourceVersion. That is fine for everything that reads them
// (a resourceVersion orders one object's versions; a watch from revision R
// means "after R", and etcd delivers a revision's events together).

import type { ICompare, IRequestOp, ITxnRequest, ITxnResponse } from 'etcd3';

/** One key's transaction: its compares, what to do if they hold, and if they do not. */
export interface KeyTxn {
  key: string;
  compare: ICompare[];
  success: IRequestOp[];
  failure?: IRequestOp[];
  /** Bytes the ops carry (value sizes), to keep a combined txn under etcd's request limit. */
  size: number;
}

export interface TxnBatcherOptions {
  /** Sends one txn to etcd. */
  send: (req: ITxnRequest) => Promise<ITxnResponse>;
  /** Ops per combined txn; etcd refuses more than --max-txn-ops (128 by default). */
  maxOps?: number;
  /** Bytes per combined txn; etcd refuses requests over --max-request-bytes (1.5 MiB by default). */
  maxBytes?: number;
}

interface Pending {
  txn: KeyTxn;
  resolve: (res: ITxnResponse) => void;
  reject: (err: unknown) => void;
}

export class TxnBatcher {
  private queue: Pending[] = [];
  private scheduled = false;
  private readonly maxOps: number;
  private readonly maxBytes: number;

  constructor(private readonly opts: TxnBatcherOptions) {
    this.maxOps = opts.maxOps ?? 128;
    this.maxBytes = opts.maxBytes ?? 1024 * 1024;
  }

  /** Runs `txn` (alone or combined with others) and answers as etcd would have answered it alone. */
  submit(txn: KeyTxn): Promise<ITxnResponse> {
    return new Promise((resolve, reject) => {
      this.queue.push({ txn, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        // After the current turn's callbacks: the writes they start join this batch.
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const queue = this.queue;
    this.queue = [];
    while (queue.length > 0) {
      const batch = this.take(queue);
      void this.run(batch);
    }
  }

  /** Takes the longest prefix of distinct keys within the limits (a txn may not name a key twice). */
  private take(queue: Pending[]): Pending[] {
    const keys = new Set<string>();
    let ops = 0;
    let bytes = 0;
    let i = 0;
    for (; i < queue.length; i++) {
      const t = queue[i]!.txn;
      const n = t.success.length;
      if (i > 0 && (keys.has(t.key) || ops + n > this.maxOps || bytes + t.size > this.maxBytes))
        break;
      keys.add(t.key);
      ops += n;
      bytes += t.size;
    }
    return queue.splice(0, i);
  }

  private async run(batch: Pending[]): Promise<void> {
    if (batch.length === 1) {
      await this.single(batch[0]!);
      return;
    }
    let res: ITxnResponse;
    try {
      res = await this.opts.send({
        compare: batch.flatMap((p) => p.txn.compare),
        success: batch.flatMap((p) => p.txn.success),
      });
    } catch {
      // Not knowing which write broke the request (too large, a bad lease), each goes alone.
      await Promise.all(batch.map((p) => this.single(p)));
      return;
    }
    if (!res.succeeded) {
      await Promise.all(batch.map((p) => this.single(p)));
      return;
    }
    // Each caller sees its own ops' responses, as from its own txn.
    let at = 0;
    for (const p of batch) {
      const n = p.txn.success.length;
      p.resolve({ ...res, responses: res.responses.slice(at, at + n) });
      at += n;
    }
  }

  private async single(p: Pending): Promise<void> {
    const { compare, success, failure } = p.txn;
    try {
      p.resolve(await this.opts.send({ compare, success, ...(failure ? { failure } : {}) }));
    } catch (err) {
      p.reject(err);
    }
  }
}
