// Leader election on etcd: one key, created under a lease by whoever gets
// there first (a transaction comparing the key's create_revision with 0).
// The holder leads while it keeps the lease alive; everyone else watches the
// key and tries again when it goes away (resigned, or the lease expired).
//
// Why not etcd3's Election/Campaign: it reports a lost lease only after
// 2 × TTL without a keepalive (Lease's 'lost' event), by which time another
// replica has long been elected — two leaders at once. Here the leader steps
// down on its own clock before the lease can have expired on the server:
// every successful keepalive proves the lease lives until (time the keepalive
// was *sent*) + TTL, and the leader stops a margin before that deadline. So a
// replica that is cut off from etcd stops leading before anyone else can start.
//
// This file imports nothing from the project but etcd3, so it can also run in
// a bare child process (the kill -9 test does that).

import { Etcd3, EtcdLeaseInvalidError, type Lease, type Watcher } from 'etcd3';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';

/** etcd keys of elections: <prefix><name>, value = the leader's identity. */
export const LEADER_KEY_PREFIX = '/shoal/leader/';

export interface LeaderElectorOptions {
  endpoints: string[];
  /** What is being led, e.g. "shoal-controllers"; one key per name. */
  name: string;
  /** Who this replica is (hostname + pid, say); must be unique among replicas. */
  identity: string;
  /** The lease TTL (--leader-lease-ttl): how long a dead leader blocks a successor. Integer ≥ 2. */
  ttlSeconds: number;
  logger?: Logger;
  /**
   * Called when this replica becomes leader. Renewals go on meanwhile. If it
   * rejects, the replica steps down and campaigns again after a retry period.
   */
  onStartedLeading(): Promise<void>;
  /**
   * Called as soon as leadership ends, before the lease can have expired on
   * the server; possibly while onStartedLeading has not finished yet (the
   * ControllerManager serialises the two).
   */
  onStoppedLeading(): Promise<void>;
  /** How often a follower tries again without a watch event; default min(2 s, TTL / 2). */
  retryPeriodMs?: number;
  keyPrefix?: string;
}

interface Term {
  lease: Lease;
  /** The leader key's create_revision: the key is ours only while it is unchanged. */
  createRevision: string;
  /** performance.now() before which the lease is certainly alive on the server. */
  validUntil: number;
  done: boolean;
  end(reason: string): void;
  ended: Promise<string>;
}

/** Renewals per TTL, as etcd's Go client keeps leases alive. */
const RENEWALS_PER_TTL = 3;

export class LeaderElector {
  private readonly key: string;
  private readonly ttlMs: number;
  private readonly marginMs: number;
  private readonly retryMs: number;
  private readonly log: Logger | undefined;
  private client: Etcd3 | undefined;
  private watcher: Watcher | undefined;
  private loop: Promise<void> | undefined;
  private term: Term | undefined;
  private stopping = false;
  /** Ends a follower's wait early (the key was deleted, or stop()). */
  private wake: (() => void) | undefined;
  private lastHolder: string | undefined;

  constructor(private readonly opts: LeaderElectorOptions) {
    if (!Number.isInteger(opts.ttlSeconds) || opts.ttlSeconds < 2) {
      throw new RangeError(
        `leader lease TTL must be an integer ≥ 2 seconds, got ${opts.ttlSeconds}`,
      );
    }
    if (opts.endpoints.length === 0) throw new RangeError('leader election needs etcd endpoints');
    if (!opts.name || !opts.identity)
      throw new RangeError('leader election needs a name and an identity');
    this.key = (opts.keyPrefix ?? LEADER_KEY_PREFIX) + opts.name;
    this.ttlMs = opts.ttlSeconds * 1000;
    // Room for the step-down itself and for clocks that run at slightly different rates.
    this.marginMs = Math.max(1000, this.ttlMs / 5);
    this.retryMs = opts.retryPeriodMs ?? Math.min(2000, this.ttlMs / 2);
    this.log = opts.logger;
  }

  /** True while this replica holds the lease and has not stepped down. */
  get isLeader(): boolean {
    return this.term !== undefined && !this.term.done;
  }

  /** 1 while leading, else 0: kube-controller-manager's leader_election_master_status. */
  get leaderElectionMasterStatus(): 0 | 1 {
    return this.isLeader ? 1 : 0;
  }

  /** The identity last seen holding the key (this replica's own while it leads). */
  get leader(): string | undefined {
    return this.isLeader ? this.opts.identity : this.lastHolder;
  }

  /** Starts campaigning in the background; returns at once. */
  start(): void {
    if (this.loop) return;
    this.stopping = false;
    this.client = new Etcd3({
      hosts: this.opts.endpoints,
      dialTimeout: 5000,
      // Unary calls must not hang past a renewal period; streams (the watch) stay open.
      defaultCallOptions: (ctx) =>
        ctx.isStream ? {} : { deadline: Date.now() + this.ttlMs / RENEWALS_PER_TTL },
    });
    this.loop = this.run(this.client);
  }

  /**
   * Resigns: if leading, calls onStoppedLeading and revokes the lease, which
   * deletes the key so a follower takes over at once. Then closes the client.
   */
  async stop(): Promise<void> {
    if (!this.loop) return;
    this.stopping = true;
    this.wake?.();
    this.term?.end('resigned');
    await this.loop;
    this.loop = undefined;
    await this.watcher?.cancel().catch(() => undefined);
    this.watcher = undefined;
    this.client?.close();
    this.client = undefined;
  }

  private async run(client: Etcd3): Promise<void> {
    while (!this.stopping) {
      let term: Term | undefined;
      try {
        await this.ensureWatch(client);
        term = await this.campaign(client);
      } catch (err) {
        this.log?.warn({ err, election: this.opts.name }, 'leader election: campaign failed');
      }
      if (term) {
        const ok = await this.lead(client, term);
        // After a failed start, give the other replicas a turn before trying again.
        if (!ok) await this.pause();
      } else {
        await this.pause();
      }
    }
  }

  /** Waits a retry period, or less if the key is deleted or stop() is called. */
  private pause(): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const finish = (): void => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(finish, this.retryMs);
      this.wake = finish;
    });
  }

  /** One watch on the key for the elector's life: a delete wakes followers and ends a term. */
  private async ensureWatch(client: Etcd3): Promise<void> {
    if (this.watcher) return;
    const watcher = await client.watch().key(this.key).create();
    watcher.on('delete', (kv) => {
      // A deletion older than our key (its event late) is the previous leader's, not ours.
      const term = this.term;
      if (term && BigInt(kv.mod_revision) > BigInt(term.createRevision)) {
        term.end('the leader key was deleted');
      }
      this.wake?.();
    });
    watcher.on('put', (kv) => {
      this.lastHolder = kv.value.toString();
    });
    // The client reconnects watches itself; polling covers any gap meanwhile.
    watcher.on('error', (err) =>
      this.log?.debug({ err, election: this.opts.name }, 'leader election: watch error'),
    );
    this.watcher = watcher;
  }

  /** Tries once to create the key under a fresh lease. Returns the term if this replica won. */
  private async campaign(client: Etcd3): Promise<Term | undefined> {
    const lease = client.lease(this.opts.ttlSeconds, { autoKeepAlive: false });
    // Sent before the grant: the lease lives at least until then + TTL.
    const sentAt = performance.now();
    try {
      const leaseId = await lease.grant();
      const res = await client
        .if(this.key, 'Create', '==', 0)
        .then(client.put(this.key).value(this.opts.identity).lease(leaseId))
        .else(client.get(this.key))
        .commit();
      if (res.succeeded) {
        return newTerm(lease, res.header.revision, sentAt + this.ttlMs);
      }
      const holder = res.responses[0]?.response_range?.kvs[0];
      this.lastHolder = holder?.value.toString();
    } catch (err) {
      // Whether the put landed is unknown; revoking the lease removes the key if it did.
      await lease.revoke().catch(() => undefined);
      throw err;
    }
    // Lost: free the lease now instead of letting it run out.
    await lease.revoke().catch(() => undefined);
    return undefined;
  }

  /** Leads until the term ends; returns false if onStartedLeading failed. */
  private async lead(client: Etcd3, term: Term): Promise<boolean> {
    if (this.stopping) {
      await term.lease.revoke().catch(() => undefined);
      return true;
    }
    this.term = term;
    this.log?.info(
      { election: this.opts.name, identity: this.opts.identity },
      'leader election: became leader',
    );
    let startFailed = false;
    // Started, not awaited: renewals must go on while controllers sync their caches.
    const started = this.opts.onStartedLeading().catch((err: unknown) => {
      startFailed = true;
      this.log?.error(
        { err, election: this.opts.name },
        'leader election: starting to lead failed',
      );
      term.end('onStartedLeading failed');
    });
    let watchdog: NodeJS.Timeout | undefined;
    const arm = (): void => {
      if (watchdog) clearTimeout(watchdog);
      const ms = term.validUntil - this.marginMs - performance.now();
      watchdog = setTimeout(() => term.end('lease renewal deadline passed'), Math.max(0, ms));
    };
    arm();
    const renewing = this.renew(client, term, arm);
    const reason = await term.ended;
    if (watchdog) clearTimeout(watchdog);
    this.log?.[reason === 'resigned' ? 'info' : 'warn'](
      { election: this.opts.name, reason },
      'leader election: stopped leading',
    );
    try {
      await this.opts.onStoppedLeading();
    } catch (err) {
      this.log?.error({ err, election: this.opts.name }, 'leader election: stopping failed');
    }
    await renewing;
    // Resign: deleting the key now lets a follower in at once rather than after the TTL.
    await term.lease.revoke().catch(() => undefined);
    await started;
    if (this.term === term) this.term = undefined;
    return !startFailed;
  }

  /** Keeps the lease alive and checks the key is still ours, every TTL / 3, until the term ends. */
  private async renew(client: Etcd3, term: Term, rearm: () => void): Promise<void> {
    const interval = this.ttlMs / RENEWALS_PER_TTL;
    while (!term.done) {
      await sleepUnless(interval, term.ended);
      if (term.done) return;
      const sentAt = performance.now();
      try {
        await term.lease.keepaliveOnce({ deadline: Date.now() + interval });
        const kv = (await client.get(this.key).exec()).kvs[0];
        if (!kv || kv.create_revision !== term.createRevision) {
          term.end('the leader key is gone or was replaced');
          return;
        }
        if (term.done) return;
        term.validUntil = Math.max(term.validUntil, sentAt + this.ttlMs);
        rearm();
      } catch (err) {
        if (err instanceof EtcdLeaseInvalidError) {
          term.end('the lease expired');
          return;
        }
        // Transient: the watchdog ends the term if renewals keep failing.
        this.log?.warn({ err, election: this.opts.name }, 'leader election: renewal failed');
      }
    }
  }
}

function newTerm(lease: Lease, createRevision: string, validUntil: number): Term {
  let resolve!: (reason: string) => void;
  const ended = new Promise<string>((r) => (resolve = r));
  const term: Term = {
    lease,
    createRevision,
    validUntil,
    done: false,
    ended,
    end(reason) {
      if (term.done) return;
      term.done = true;
      resolve(reason);
    },
  };
  return term;
}

/** Waits ms, or less if `until` settles first; leaves no timer behind. */
function sleepUnless(ms: number, until: Promise<unknown>): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    void until.then(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
