// Store over etcd v3. Each object is one key holding its JSON without
// resourceVersion: the version is the key's mod_revision, filled in on every
// read, so the value never has to be written twice to learn its revision.

import { performance } from 'node:perf_hooks';
import { Etcd3, type IOptions, type IKeyValue, type IWatchResponse } from 'etcd3';
import type { KubeObject } from '../api/objects.js';
import { StoreError } from './errors.js';
import { LeaseManager, type ExpiringPrefix } from './lease-manager.js';
import { TxnBatcher } from './txn-batcher.js';
import { SharedWatch } from './shared-watch.js';
import { withResourceVersion } from './served-json.js';
import { InOrder } from './in-order.js';
import type {
  DeletePreconditions,
  ListOptions,
  ListResult,
  Store,
  StoreEvent,
  WatchCallbacks,
  WatchHandle,
} from './types.js';

/** How many keys one etcd range reads while filling a filtered page. */
const RANGE_BATCH = 1000;
/** Give up a guaranteedUpdate after this many lost races (a hot key or a bug). */
const MAX_UPDATE_ATTEMPTS = 100;

export type EtcdOperation =
  'get' | 'list' | 'create' | 'update' | 'delete' | 'watch' | 'txn' | 'compact';

/** Hooks for whoever wires metrics (etcd_request_duration_seconds); optional, must not throw. */
export interface EtcdStoreMetrics {
  /** One etcd call ended (succeeded or not); key is the object's key or the listed prefix. */
  request?(operation: EtcdOperation, key: string, seconds: number): void;
}

export interface EtcdStoreOptions {
  endpoints: string[];
  /** Timeout of a single etcd call. */
  dialTimeoutMs?: number;
  metrics?: EtcdStoreMetrics;
  /** Keys under these prefixes expire after their TTL (Events: --event-ttl); see lease-manager.ts. */
  expiring?: ExpiringPrefix[];
}

export class EtcdStore implements Store {
  private readonly client: Etcd3;
  private readonly metrics: EtcdStoreMetrics | undefined;
  private readonly leases: { prefix: string; manager: LeaseManager }[];
  /** Every write goes through here: one etcd txn per event-loop turn, not per write. */
  private readonly writes: TxnBatcher;
  /** Gets, combined the same way: a txn of ranges only is a read, served without a raft entry. */
  private readonly reads: TxnBatcher;
  /** One etcd watch per prefix for every watcher in this process that it can serve. */
  private readonly sharedWatches = new Map<string, SharedWatch>();

  constructor(opts: EtcdStoreOptions) {
    this.metrics = opts.metrics;
    this.leases = (opts.expiring ?? []).map((e) => ({
      prefix: e.prefix,
      // Only a grant is an etcd request (and counted as one); most writes reuse the lease.
      manager: new LeaseManager(e.ttlSeconds, (ttl) =>
        this.call(
          e.prefix,
          async () => String((await this.client.leaseClient.leaseGrant({ TTL: ttl })).ID),
          'txn',
        ),
      ),
    }));
    const options: IOptions = {
      hosts: opts.endpoints,
      dialTimeout: opts.dialTimeoutMs ?? 5000,
      // Combined gets, and a watch catching up (etcd sends up to 1,000
      // revisions in one response), can exceed gRPC's default 4 MiB.
      grpcOptions: { 'grpc.max_receive_message_length': -1 },
    };
    this.client = new Etcd3(options);
    this.writes = new TxnBatcher({ send: (req) => this.client.kv.txn(req) });
    this.reads = new TxnBatcher({ send: (req) => this.client.kv.txn(req) });
  }

  async create(key: string, obj: KubeObject): Promise<KubeObject> {
    const value = encode(obj);
    const lease = await this.leaseFor(key);
    const k = Buffer.from(key);
    const res = await this.call(
      key,
      () =>
        this.writes.submit({
          key,
          compare: [{ key: k, target: 'Create', result: 'Equal', create_revision: 0 }],
          success: [{ request_put: { key: k, value, ...lease } }],
          size: value.length,
        }),
      'create',
    );
    if (!res.succeeded) throw new StoreError('AlreadyExists', key, `${key} already exists`);
    return withRevision(obj, Number(res.header.revision));
  }

  async get(key: string): Promise<KubeObject | undefined> {
    const k = Buffer.from(key);
    const res = await this.call(key, () =>
      this.reads.submit({ key, compare: [], success: [{ request_range: { key: k } }], size: 0 }),
    );
    const kv = res.responses[0]?.response_range.kvs[0];
    return kv ? decode(kv) : undefined;
  }

  async update(key: string, obj: KubeObject, expectedRevision: number): Promise<KubeObject> {
    const value = encode(obj);
    const k = Buffer.from(key);
    const lease = await this.leaseFor(key);
    const res = await this.call(
      key,
      () =>
        this.writes.submit({
          key,
          compare: [{ key: k, target: 'Mod', result: 'Equal', mod_revision: expectedRevision }],
          success: [{ request_put: { key: k, value, ...lease } }],
          failure: [{ request_range: { key: k, keys_only: true } }],
          size: value.length,
        }),
      'update',
    );
    if (!res.succeeded) {
      const exists = (res.responses[0]?.response_range.kvs.length ?? 0) > 0;
      if (!exists) throw new StoreError('NotFound', key, `${key} not found`);
      throw new StoreError(
        'Conflict',
        key,
        'the object has been modified; please apply your changes to the latest version and try again',
      );
    }
    return withRevision(obj, Number(res.header.revision));
  }

  async guaranteedUpdate(
    key: string,
    fn: (current: KubeObject) => KubeObject | undefined | Promise<KubeObject | undefined>,
  ): Promise<KubeObject> {
    for (let attempt = 0; attempt < MAX_UPDATE_ATTEMPTS; attempt++) {
      const current = await this.get(key);
      if (!current) throw new StoreError('NotFound', key, `${key} not found`);
      const revision = Number(current.metadata.resourceVersion);
      const next = await fn(structuredClone(current));
      if (next === undefined) return current;
      try {
        return await this.update(key, next, revision);
      } catch (err) {
        if (err instanceof StoreError && err.type === 'Conflict') continue;
        throw err;
      }
    }
    throw new StoreError('Conflict', key, `too many concurrent updates of ${key}`);
  }

  async delete(key: string, preconditions?: DeletePreconditions): Promise<KubeObject> {
    const k = Buffer.from(key);
    for (let attempt = 0; attempt < MAX_UPDATE_ATTEMPTS; attempt++) {
      const current = await this.get(key);
      if (!current) throw new StoreError('NotFound', key, `${key} not found`);
      checkPreconditions(key, current, preconditions);
      const revision = Number(current.metadata.resourceVersion);
      const res = await this.call(
        key,
        () =>
          this.writes.submit({
            key,
            compare: [{ key: k, target: 'Mod', result: 'Equal', mod_revision: revision }],
            success: [{ request_delete_range: { key: k } }],
            size: k.length,
          }),
        'delete',
      );
      if (res.succeeded) return withRevision(current, Number(res.header.revision));
    }
    throw new StoreError('Conflict', key, `too many concurrent updates of ${key}`);
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    let revision = opts.revision ?? 0;
    let start = prefix;
    if (opts.continue) {
      const token = decodeContinue(opts.continue, prefix);
      revision = token.revision;
      start = token.start;
    }
    const end = prefixEnd(prefix);
    const limit = opts.limit && opts.limit > 0 ? opts.limit : 0;
    const items: KubeObject[] = [];
    let more = false;
    let lastKey = '';
    let remaining: number | undefined;

    // Read in batches even without a limit: one etcd response must stay
    // under gRPC's message size limit (4 MiB), which 10,000 pods exceed.
    const batch = limit > 0 && !opts.filter ? limit : Math.max(limit, RANGE_BATCH);
    for (;;) {
      const res = await this.call(
        prefix,
        () =>
          this.client.kv.range({ key: Buffer.from(start), range_end: end, revision, limit: batch }),
        'list',
      );
      // Pin the whole listing, and every page after it, to one revision.
      if (revision === 0) revision = Number(res.header.revision);
      let stoppedEarly = false;
      for (const kv of res.kvs) {
        const obj = decode(kv);
        lastKey = kv.key.toString();
        if (opts.filter && !opts.filter(obj)) continue;
        items.push(obj);
        if (limit > 0 && items.length === limit) {
          stoppedEarly = kv !== res.kvs[res.kvs.length - 1] || res.more;
          break;
        }
      }
      if (stoppedEarly) {
        more = true;
        if (!opts.filter && batch === limit) remaining = Number(res.count) - res.kvs.length;
        break;
      }
      if (!res.more || res.kvs.length === 0) break;
      start = lastKey + '\x00';
    }
    const result: ListResult = { items, revision };
    if (more) {
      result.continue = encodeContinue({ revision, start: lastKey + '\x00' });
      if (remaining !== undefined) result.remainingItemCount = remaining;
    }
    return result;
  }

  async watch(
    prefix: string,
    fromRevision: number | undefined,
    cb: WatchCallbacks,
  ): Promise<WatchHandle> {
    if (fromRevision === undefined || fromRevision <= 0)
      return this.etcdWatch(prefix, fromRevision, cb);
    let shared = this.sharedWatches.get(prefix);
    if (shared && !shared.covers(fromRevision)) return this.etcdWatch(prefix, fromRevision, cb);
    if (!shared) {
      const created = new SharedWatch(
        fromRevision,
        (upstream) => this.etcdWatch(prefix, fromRevision, upstream),
        () => {
          if (this.sharedWatches.get(prefix) === created) this.sharedWatches.delete(prefix);
        },
      );
      this.sharedWatches.set(prefix, created);
      shared = created;
    }
    return shared.attach(fromRevision, cb);
  }

  /**
   * A watch of its own on etcd, without previous values: etcd reads a
   * previous value from its backend for every event of every watcher that
   * asks, which was a third of etcd's CPU in the scheduler benchmark. Only a
   * delete needs one (to say what was deleted); it is read here, at the
   * revision before the delete, and the events after it wait so that the
   * order holds.
   */
  private async etcdWatch(
    prefix: string,
    fromRevision: number | undefined,
    cb: WatchCallbacks,
  ): Promise<WatchHandle> {
    const builder = this.client.watch().prefix(prefix);
    // etcd's start_revision is inclusive; ours is "changes after".
    if (fromRevision !== undefined && fromRevision > 0) {
      builder.startRevision(String(fromRevision + 1));
    }
    const watchStarted = performance.now();
    const watcher = builder.watcher();
    // No more input once it failed or closed; no more output once the caller
    // closed it or heard its error.
    let stopped = false;
    let done = false;
    // Busy while a delete's last state is being read: what comes after waits on it.
    const backlog = new InOrder();
    const emit = (event: StoreEvent): void => {
      if (!done) cb.onEvent(event);
    };
    const fail = (err: Error): void => {
      stopped = true;
      if (done) return;
      done = true;
      cb.onError(err);
    };
    watcher.on('data', (res: IWatchResponse) => {
      if (stopped) return;
      for (const ev of res.events) {
        if (ev.type === 'Delete') {
          const deleted = this.deletedEvent(ev.kv);
          // Read now, told in turn: a failure waits for its turn too, handled.
          deleted.catch(() => undefined);
          backlog.add(
            async () => emit(await deleted),
            (err) => {
              fail(err);
              watcher.cancel().catch(() => undefined);
            },
          );
        } else {
          const event = this.putEvent(ev.kv);
          if (backlog.busy) backlog.add(() => emit(event), fail);
          else emit(event);
        }
      }
    });
    watcher.on('error', (err: Error) => {
      if (stopped) return;
      stopped = true;
      // Told after the events that came before it.
      const classified = this.classifyWatchError(prefix, fromRevision, err);
      backlog.add(async () => fail(await classified), fail);
    });
    await new Promise<void>((resolve, reject) => {
      const onConnected = (): void => {
        watcher.off('error', onError);
        resolve();
      };
      const onError = (err: Error): void => {
        watcher.off('connected', onConnected);
        // A cancelled start (e.g. a compacted revision) is reported through cb.onError.
        if (/canceled|compact/i.test(err.message)) resolve();
        else reject(err);
      };
      watcher.once('connected', onConnected);
      watcher.once('error', onError);
    });
    this.metrics?.request?.('watch', prefix, (performance.now() - watchStarted) / 1000);
    return {
      close: async () => {
        done = true;
        if (stopped) return;
        stopped = true;
        await watcher.cancel();
      },
    };
  }

  /**
   * A delete as watchers see it: the object's last state (read at the
   * revision before the delete) with the delete's revision. Fails with
   * Expired when that revision has been compacted away, as a watch that far
   * behind would.
   */
  private async deletedEvent(kv: IKeyValue): Promise<StoreEvent> {
    const revision = Number(kv.mod_revision);
    const last = await this.readBefore(kv);
    // etcd has just told us the key existed: only a compaction can hide it.
    if (!last) throw tooOld(kv);
    const object = withRevision(decode(last), revision);
    return { type: 'DELETED', object, revision, json: servedJson(last.value, object, revision) };
  }

  /** A put as watchers see it; a MODIFIED can read the object before it. */
  private putEvent(kv: IKeyValue): StoreEvent {
    const object = decode(kv);
    const revision = Number(kv.mod_revision);
    const json = servedJson(kv.value, object, revision);
    if (kv.create_revision === kv.mod_revision) return { type: 'ADDED', object, revision, json };
    let previous: Promise<KubeObject> | undefined;
    return {
      type: 'MODIFIED',
      object,
      revision,
      json,
      previous: () => (previous ??= this.previousOf(kv)),
    };
  }

  /** The object before the change `kv`, which updated it (so it existed). */
  private async previousOf(kv: IKeyValue): Promise<KubeObject> {
    const before = await this.readBefore(kv);
    if (!before) throw tooOld(kv);
    return decode(before);
  }

  /**
   * The key as it was just before the change `kv` (undefined when it did not
   * exist); Expired when that revision has been compacted.
   */
  private async readBefore(kv: IKeyValue): Promise<IKeyValue | undefined> {
    const res = await this.call(kv.key.toString(), () =>
      this.client.kv.range({ key: kv.key, revision: Number(kv.mod_revision) - 1 }),
    ).catch((err: unknown) => {
      throw err instanceof StoreError && err.type === 'Expired' ? tooOld(kv, err) : err;
    });
    return res.kvs[0];
  }

  /**
   * etcd cancels a watch on a compacted start revision without saying why
   * (the client sees "Watcher canceled: "), so ask: a read at that revision
   * fails with "compacted" exactly when history is gone.
   */
  private async classifyWatchError(
    prefix: string,
    fromRevision: number | undefined,
    err: Error,
  ): Promise<StoreError> {
    if (fromRevision !== undefined && fromRevision > 0) {
      try {
        await this.client.kv.range({
          key: Buffer.from(prefix),
          revision: fromRevision + 1,
          keys_only: true,
        });
      } catch (probe) {
        if (/compact/i.test(probe instanceof Error ? probe.message : String(probe))) {
          return new StoreError('Expired', prefix, `too old resource version: ${fromRevision}`, {
            cause: err,
          });
        }
      }
    }
    return new StoreError('Unavailable', prefix, err.message, { cause: err });
  }

  async currentRevision(): Promise<number> {
    const res = await this.call('', () =>
      this.client.kv.range({ key: Buffer.from('\x00'), count_only: true }),
    );
    return Number(res.header.revision);
  }

  async compact(revision: number): Promise<void> {
    await this.call('', () => this.client.kv.compact({ revision, physical: true }), 'compact');
  }

  async close(): Promise<void> {
    this.client.close();
  }

  /** The lease a write of key must carry, if it is under an expiring prefix. */
  private async leaseFor(key: string): Promise<{ lease?: string }> {
    const l = this.leases.find((e) => key.startsWith(e.prefix));
    return l ? { lease: await l.manager.lease() } : {};
  }

  /** Maps etcd's transport failures to one retryable error type. */
  private async call<T>(
    key: string,
    op: () => Promise<T>,
    operation: EtcdOperation = 'get',
  ): Promise<T> {
    const timed = this.metrics?.request !== undefined;
    const started = timed ? performance.now() : 0;
    try {
      return await op();
    } catch (err) {
      if (err instanceof StoreError) throw err;
      const message = err instanceof Error ? err.message : String(err);
      if (/compacted/.test(message)) {
        throw new StoreError('Expired', key, 'The provided continue parameter is too old', {
          cause: err,
        });
      }
      throw new StoreError('Unavailable', key, `etcd: ${message}`, { cause: err });
    } finally {
      if (timed) this.metrics?.request?.(operation, key, (performance.now() - started) / 1000);
    }
  }
}

function encode(obj: KubeObject): Buffer {
  // resourceVersion lives in etcd's revision, not in the value (creates have none to drop).
  if (obj.metadata.resourceVersion === undefined) return Buffer.from(JSON.stringify(obj));
  const { resourceVersion: _rv, ...metadata } = obj.metadata;
  return Buffer.from(JSON.stringify({ ...obj, metadata }));
}

function decode(kv: IKeyValue): KubeObject {
  const obj = JSON.parse(kv.value.toString()) as KubeObject;
  obj.metadata.resourceVersion = kv.mod_revision;
  return obj;
}

function withRevision(obj: KubeObject, revision: number): KubeObject {
  return { ...obj, metadata: { ...obj.metadata, resourceVersion: String(revision) } };
}

function tooOld(kv: IKeyValue, cause?: unknown): StoreError {
  const before = Number(kv.mod_revision) - 1;
  return new StoreError('Expired', kv.key.toString(), `too old resource version: ${before}`, {
    cause,
  });
}

/** StoreEvent.json: the stored bytes with the revision put in, made once. */
function servedJson(stored: Buffer, object: KubeObject, revision: number): () => readonly Buffer[] {
  let json: readonly Buffer[] | undefined;
  return () =>
    (json ??= withResourceVersion(stored, revision) ?? [Buffer.from(JSON.stringify(object))]);
}

function checkPreconditions(key: string, obj: KubeObject, pre?: DeletePreconditions): void {
  if (pre?.uid && pre.uid !== obj.metadata.uid) {
    throw new StoreError(
      'PreconditionFailed',
      key,
      `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${obj.metadata.uid ?? ''}`,
    );
  }
  if (pre?.resourceVersion && pre.resourceVersion !== obj.metadata.resourceVersion) {
    throw new StoreError(
      'PreconditionFailed',
      key,
      `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${obj.metadata.resourceVersion ?? ''}`,
    );
  }
}

/** The smallest key greater than every key with this prefix (etcd's range_end for a prefix). */
function prefixEnd(prefix: string): Buffer {
  const buf = Buffer.from(prefix);
  for (let i = buf.length - 1; i >= 0; i--) {
    if (buf[i]! < 0xff) {
      const end = Buffer.from(buf.subarray(0, i + 1));
      end[i] = buf[i]! + 1;
      return end;
    }
  }
  return Buffer.from([0]);
}

interface ContinueToken {
  revision: number;
  start: string;
}

function encodeContinue(t: ContinueToken): string {
  return Buffer.from(JSON.stringify({ v: 1, rv: t.revision, start: t.start })).toString(
    'base64url',
  );
}

function decodeContinue(token: string, prefix: string): ContinueToken {
  try {
    const t = JSON.parse(Buffer.from(token, 'base64url').toString()) as {
      rv?: unknown;
      start?: unknown;
    };
    if (typeof t.rv === 'number' && typeof t.start === 'string' && t.start.startsWith(prefix)) {
      return { revision: t.rv, start: t.start };
    }
  } catch {
    // fall through to the error below
  }
  throw new StoreError('InvalidContinue', prefix, 'continue key is not valid');
}
