// The pods of each connected node, from ONE watch on all pods shared by every
// agent session of this replica. A watch per session (a field selector on
// spec.nodeName) costs an etcd watch whose every pod event is decoded once per
// connected node: with 1,000 nodes each pod write was parsed 1,000 times and
// the control plane spent its time there, starving binds and heartbeats. Here
// an event is decoded once and handed to the one session whose node it names,
// the way kube-apiserver's watch cache serves many kubelets' watches.
//
// Per node: subscribe first (events are held), then list the node's pods; the
// list's revision R says what the list already holds, so held and later
// events at or below R are dropped and the rest delivered in order. The
// shared watch starts before any list, so nothing between them is missed.

import type { Logger } from 'pino';
import type { KubeObject } from '../api/objects.js';
import { isRecord } from '../api/objects.js';
import type { Registry, WatchEvent, WatchSink } from '../api/registry/registry.js';
import { findResource } from '../api/resources.js';
import type { ApiError } from '../api/status.js';
import type { WatchHandle } from '../store/types.js';

const PODS = findResource('', 'v1', 'pods')!;

interface Subscriber {
  sink: WatchSink;
  /** Revision the initial list holds; undefined until it returned (events are held meanwhile). */
  from: number | undefined;
  held: WatchEvent[];
}

function nodeNameOf(pod: KubeObject): string {
  const spec = isRecord(pod.spec) ? pod.spec : {};
  return typeof spec.nodeName === 'string' ? spec.nodeName : '';
}

export class NodePods {
  private readonly subscribers = new Map<string, Set<Subscriber>>();
  private watch: WatchHandle | undefined;
  private starting: Promise<void> | undefined;

  constructor(
    private readonly registry: Registry,
    private readonly log?: Logger,
  ) {}

  /**
   * The pods bound to `node` now, and every later change to them through
   * `sink` until the handle is closed. A failure of the shared watch ends
   * every subscription with sink.onError (agents reconnect and relist).
   */
  async open(
    node: string,
    sink: WatchSink,
  ): Promise<{ items: KubeObject[]; revision: number; handle: WatchHandle; start: () => void }> {
    await this.ensureWatch();
    const sub: Subscriber = { sink, from: undefined, held: [] };
    let set = this.subscribers.get(node);
    if (!set) this.subscribers.set(node, (set = new Set()));
    set.add(sub);
    const handle: WatchHandle = {
      close: async () => {
        const s = this.subscribers.get(node);
        s?.delete(sub);
        if (s?.size === 0) this.subscribers.delete(node);
      },
    };
    try {
      const list = await this.registry.list(PODS, undefined, {
        fieldSelector: `spec.nodeName=${node}`,
      });
      return {
        items: list.items,
        revision: list.revision,
        handle,
        // The caller has sent the list: changes after it may flow now.
        start: () => {
          sub.from = list.revision;
          const held = sub.held;
          sub.held = [];
          for (const ev of held) this.deliver(sub, ev);
        },
      };
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  async stop(): Promise<void> {
    await this.watch?.close();
    this.watch = undefined;
    this.starting = undefined;
    this.subscribers.clear();
  }

  private deliver(sub: Subscriber, ev: WatchEvent): void {
    if (sub.from === undefined) {
      sub.held.push(ev);
      return;
    }
    if (Number(ev.object.metadata.resourceVersion) > sub.from) sub.sink.onEvent(ev);
  }

  private async ensureWatch(): Promise<void> {
    if (this.watch) return;
    this.starting ??= (async () => {
      const revision = await this.registry.store.currentRevision();
      this.watch = await this.registry.watch(
        PODS,
        undefined,
        { resourceVersion: String(revision) },
        {
          onEvent: (ev) => {
            const node = nodeNameOf(ev.object);
            if (!node) return;
            for (const sub of this.subscribers.get(node) ?? []) this.deliver(sub, ev);
          },
          onError: (err) => this.fail(err),
        },
      );
    })();
    try {
      await this.starting;
    } catch (err) {
      this.starting = undefined;
      throw err;
    }
  }

  private fail(err: ApiError): void {
    this.log?.warn({ err }, 'shared pod watch ended; agent streams restart');
    this.watch = undefined;
    this.starting = undefined;
    const subs = [...this.subscribers.values()].flatMap((s) => [...s]);
    this.subscribers.clear();
    for (const sub of subs) sub.sink.onError(err);
  }
}
