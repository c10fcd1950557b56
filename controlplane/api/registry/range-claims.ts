// Claims on values drawn from a range (a service address, a node port, a
// pod CIDR), one etcd key each under /registry/ranges/<range>/<value>, the
// way Kubernetes' newer allocators keep one IPAddress object per address.
// Creating the key is a transaction comparing create_revision == 0, so two
// API replicas can never both win one value: etcd is the only truth, no
// replica keeps a lock or a bitmap in memory.
//
// The claim is written before the object that uses it (a Service, a Node).
// If the process dies between the two, the claim is left without a user; it
// is taken over by the next allocation that wants the value, once it is older
// than a grace period (so a create still in flight on another replica is
// never robbed) and its owner does not hold the value — the job Kubernetes'
// repair loops do, done lazily where the conflict shows.

import type { KubeObject } from '../objects.js';
import type { Store } from '../../store/types.js';
import { StoreError } from '../../store/errors.js';

export const RANGES_PREFIX = '/registry/ranges/';
/** A claim younger than this is never taken over: its owner may still be being written. */
export const CLAIM_GRACE_MS = 30_000;

export interface ClaimOwner {
  kind: string;
  namespace?: string;
  name: string;
  uid?: string;
}

export interface Claim {
  key: string;
  value: string;
  owner: ClaimOwner;
  /** ms since the epoch. */
  createdAt: number;
  revision: number;
}

/** Whether the claim's owner still uses the value (then it is not taken over). */
export type OwnerCheck = (claim: Claim) => Promise<boolean>;

export class RangeClaims {
  constructor(
    private readonly store: Store,
    /** e.g. "serviceips"; one folder of keys per range. */
    readonly range: string,
    private readonly ownerHolds: OwnerCheck,
    private readonly now: () => number = Date.now,
  ) {}

  keyOf(value: string): string {
    return `${RANGES_PREFIX}${this.range}/${value.replace(/\//g, '-')}`;
  }

  /**
   * Claims `value` for `owner`: true when it is now the owner's (already
   * was, newly written, or taken over from a dead claim), false when someone
   * else holds it.
   */
  async claim(value: string, owner: ClaimOwner): Promise<boolean> {
    const key = this.keyOf(value);
    const obj = this.claimObject(value, owner);
    try {
      await this.store.create(key, obj);
      return true;
    } catch (err) {
      if (!(err instanceof StoreError && err.type === 'AlreadyExists')) throw err;
    }
    const existing = await this.read(key);
    if (!existing) return this.claim(value, owner);
    if (sameOwner(existing.owner, owner)) return true;
    if (this.now() - existing.createdAt < CLAIM_GRACE_MS) return false;
    if (await this.ownerHolds(existing)) return false;
    try {
      await this.store.update(key, obj, existing.revision);
      return true;
    } catch (err) {
      if (err instanceof StoreError && (err.type === 'Conflict' || err.type === 'NotFound'))
        return false;
      throw err;
    }
  }

  /** Deletes the claim if `owner` holds it; a claim of someone else is left alone. */
  async release(value: string, owner: ClaimOwner): Promise<void> {
    const key = this.keyOf(value);
    const existing = await this.read(key);
    if (!existing || !sameOwner(existing.owner, owner)) return;
    try {
      await this.store.delete(key, { resourceVersion: String(existing.revision) });
    } catch (err) {
      if (
        err instanceof StoreError &&
        (err.type === 'NotFound' || err.type === 'Conflict' || err.type === 'PreconditionFailed')
      )
        return;
      throw err;
    }
  }

  /** Every claim of this range (for allocation when random picks keep colliding, and for tests). */
  async list(): Promise<Claim[]> {
    const res = await this.store.list(`${RANGES_PREFIX}${this.range}/`);
    return res.items.map((o) => claimOf(o)).filter((c): c is Claim => c !== undefined);
  }

  private async read(key: string): Promise<Claim | undefined> {
    const obj = await this.store.get(key);
    return obj ? claimOf(obj) : undefined;
  }

  private claimObject(value: string, owner: ClaimOwner): KubeObject {
    return {
      apiVersion: 'shoal.io/v1',
      kind: 'RangeClaim',
      metadata: { name: value, creationTimestamp: new Date(this.now()).toISOString() },
      range: this.range,
      value,
      owner,
    };
  }
}

function claimOf(o: KubeObject): Claim | undefined {
  const owner = o.owner as ClaimOwner | undefined;
  if (typeof o.value !== 'string' || !owner || typeof owner.name !== 'string') return undefined;
  return {
    key: '',
    value: o.value,
    owner,
    createdAt: Date.parse(o.metadata.creationTimestamp ?? '') || 0,
    revision: Number(o.metadata.resourceVersion ?? 0),
  };
}

function sameOwner(a: ClaimOwner, b: ClaimOwner): boolean {
  return (
    a.kind === b.kind &&
    (a.namespace ?? '') === (b.namespace ?? '') &&
    a.name === b.name &&
    (a.uid ?? '') === (b.uid ?? '')
  );
}
