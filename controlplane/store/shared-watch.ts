// One etcd watch per prefix, shared by every watcher of that prefix in this
// process, as kube-apiserver's watch cache serves many watches from one. The
// pods prefix alone had four watchers (the controllers' informer, the agent
// gateway, the cluster-state metrics, each kubectl -w): etcd sent each event
// four times and each copy was parsed, twice (value and previous value).
// Here an event is decoded once and handed to every subscriber, which must
// therefore treat it as read-only (all of them already do: informers never
// change cached objects, the others only read or serialize).
//
// A watcher asking for changes after revision F joins when the shared watch
// can give it every event after F: it started at or before F, or its buffer
// of recent events still reaches back past F. Anything older gets its own
// etcd watch (EtcdStore decides), so no one ever misses an event.

import type { StoreEvent, WatchCallbacks, WatchHandle } from './types.js';

/** Recent events kept for watchers that join a little behind the shared watch. */
const RECENT_EVENTS = 1000;

interface Subscriber {
  from: number;
  cb: WatchCallbacks;
}

export class SharedWatch {
  private readonly subscribers = new Set<Subscriber>();
  private readonly recent: StoreEvent[] = [];
  /** True once the buffer dropped an event: it then reaches back only to recent[0]. */
  private evicted = false;
  private ended = false;
  private readonly upstream: Promise<WatchHandle>;

  /**
   * Opens the upstream watch for changes after `start`; `onEnd` runs once
   * when this shared watch can take no more subscribers (failed or idle).
   */
  constructor(
    private readonly start: number,
    open: (cb: WatchCallbacks) => Promise<WatchHandle>,
    private readonly onEnd: () => void,
  ) {
    this.upstream = open({ onEvent: (ev) => this.deliver(ev), onError: (err) => this.fail(err) });
    this.upstream.catch(() => this.end());
  }

  /** Can a watcher wanting every change after `from` join? */
  covers(from: number): boolean {
    if (this.ended) return false;
    const oldest = this.recent[0];
    return this.evicted && oldest ? from >= oldest.revision : from >= this.start;
  }

  /** Replays what it holds after `from`, then delivers live events, until the handle closes. */
  async attach(from: number, cb: WatchCallbacks): Promise<WatchHandle> {
    const sub: Subscriber = { from, cb };
    // Synchronously, so no live event can come between the replay and the join.
    for (const ev of this.recent) if (ev.revision > from) cb.onEvent(ev);
    this.subscribers.add(sub);
    try {
      await this.upstream;
    } catch (err) {
      this.subscribers.delete(sub);
      throw err;
    }
    return {
      close: async () => {
        if (!this.subscribers.delete(sub) || this.subscribers.size > 0) return;
        this.end();
        await (await this.upstream).close();
      },
    };
  }

  private deliver(ev: StoreEvent): void {
    this.recent.push(ev);
    if (this.recent.length > RECENT_EVENTS) {
      this.recent.shift();
      this.evicted = true;
    }
    for (const sub of this.subscribers) {
      if (ev.revision <= sub.from) continue;
      try {
        sub.cb.onEvent(ev);
      } catch (err) {
        // One watcher's failure ends its watch, not everyone's.
        this.subscribers.delete(sub);
        sub.cb.onError(err instanceof Error ? err : new Error(String(err)));
        if (this.subscribers.size === 0) this.closeUpstream();
      }
    }
  }

  private closeUpstream(): void {
    this.end();
    this.upstream.then((h) => h.close()).catch(() => undefined);
  }

  private fail(err: Error): void {
    this.end();
    const subs = [...this.subscribers];
    this.subscribers.clear();
    for (const sub of subs) sub.cb.onError(err);
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    this.onEnd();
  }
}
