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
import { ApiError } from '../api/status.js';
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

/**
 * One agent session's view of its node's busy pods: the latest object its
 * NodePods subscription delivered or its writes returned, by uid, for pods
 * touched in the last few seconds (forgetQuiet). Status reports, events and
 * termination confirmations check the pod against it instead of reading etcd
 * (a started pod cost ~5 reads: 1–2 status reports, Pulled, Created, Started).
 *
 * The objects are the watch's own, shared with whoever else holds them: never
 * mutated here or by callers. A cached pod may be stale (the watch lags the
 * write), so status writes on it are compare-and-swaps on its revision and
 * retry on a fresh read (writeBoundPodStatus); uid, namespace, name and
 * spec.nodeName never change on a pod, so the binding check holds however
 * stale it is.
 */
export class SessionPods {
  /** Pods delivered or written lately, as they came; oldest first (Map order). */
  private readonly recent = new Map<string, { pod: KubeObject; at: number }>();
  private lastForget = 0;

  constructor(
    readonly node: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** The subscription's initial list. */
  listed(items: readonly KubeObject[]): void {
    for (const p of items) this.remember(p);
  }

  /** Every event of the subscription, before anything else looks at it. */
  observe(ev: WatchEvent): void {
    if (ev.type === 'DELETED') this.forget(ev.object.metadata.uid ?? '');
    else this.remember(ev.object);
  }

  /**
   * A write of this session returned `pod`: newer than what the watch has
   * delivered so far, so the next report does not conflict with our own
   * write. Only replaces a pod still held (a delete seen meanwhile wins).
   */
  wrote(pod: KubeObject): void {
    const uid = pod.metadata.uid ?? '';
    if (this.recent.has(uid)) this.remember(pod);
  }

  /** The session ended: nothing will keep the maps current any more. */
  clear(): void {
    this.recent.clear();
  }

  get size(): number {
    return this.recent.size;
  }

  /** The held pod if it is exactly this one (namespace, name, uid) and bound to this node. */
  cached(namespace: string, name: string, uid: string): KubeObject | undefined {
    const pod = this.recent.get(uid)?.pod;
    if (!pod) return undefined;
    const m = pod.metadata;
    if (m.namespace !== namespace || m.name !== name || nodeNameOf(pod) !== this.node) {
      return undefined;
    }
    return pod;
  }

  private forget(uid: string): void {
    this.recent.delete(uid);
  }

  private remember(pod: KubeObject): void {
    const uid = pod.metadata.uid ?? '';
    const held = this.recent.get(uid)?.pod;
    // Never go back: a status write's result may be ahead of the watch.
    if (held && revisionOf(held) > revisionOf(pod)) return;
    const now = this.now();
    this.forget(uid);
    this.recent.set(uid, { pod, at: now });
    this.forgetQuiet(now);
  }

  /**
   * A pod quiet for QUIET_MS is let go: most pods are written a few times
   * around their start (bind, status reports, Pulled/Created/Started) and
   * then rarely, and holding every running pod of every node (with its
   * managedFields, most of a pod's heap) cost the main thread more memory
   * than the reads it saves. A later report on it reads etcd, as it did
   * before this cache. Runs on the session's own traffic, at most once per
   * QUIET_MS.
   */
  private forgetQuiet(now: number): void {
    if (now - this.lastForget < QUIET_MS) return;
    this.lastForget = now;
    for (const [uid, { at }] of this.recent) {
      if (now - at < QUIET_MS) break;
      this.recent.delete(uid);
    }
  }
}

const QUIET_MS = 5000;

function revisionOf(pod: KubeObject): number {
  return Number(pod.metadata.resourceVersion ?? 0);
}

/** A reported pod looked up: bound to the reporting node, bound elsewhere (refused), or gone. */
export type BoundPodLookup =
  | { pod: KubeObject; refused?: undefined }
  | { pod?: undefined; refused: { boundTo: unknown } }
  | undefined;

/**
 * The pod with that uid bound to `node`: from the session's pods when held
 * there, else read from etcd. Refusals are decided on etcd's copy only: a
 * report about a pod the session does not hold is checked as before.
 */
export async function findBoundPod(
  registry: Registry,
  node: string,
  namespace: string,
  name: string,
  uid: string,
  pods?: SessionPods,
): Promise<BoundPodLookup> {
  const held = pods?.cached(namespace, name, uid);
  if (held) return { pod: held };
  return readBoundPod(registry, node, namespace, name, uid);
}

/** The pod as etcd holds it now, checked against the report. */
export async function readBoundPod(
  registry: Registry,
  node: string,
  namespace: string,
  name: string,
  uid: string,
): Promise<BoundPodLookup> {
  let pod: KubeObject;
  try {
    pod = await registry.get(PODS, namespace, name);
  } catch (err) {
    if (err instanceof ApiError && err.reason === 'NotFound') return undefined;
    throw err;
  }
  if (pod.metadata.uid !== uid || nodeNameOf(pod) !== node) {
    const spec = isRecord(pod.spec) ? pod.spec : {};
    return { refused: { boundTo: spec.nodeName } };
  }
  return { pod };
}

/**
 * Writes a status the node reported for its pod: on the session's copy first,
 * as a compare-and-swap on that copy's revision (the resourceVersion in the
 * body makes the registry's own retry fail with Conflict rather than write on
 * a version nobody checked the binding of). On a Conflict the pod is read
 * again, checked again and written again; the fifth Conflict in a row is thrown.
 * Returns the pod written ('unchanged' writes return it as it was), the
 * refusal, or undefined when the pod is gone.
 */
export async function writeBoundPodStatus(
  registry: Registry,
  node: string,
  namespace: string,
  name: string,
  uid: string,
  status: unknown,
  pods?: SessionPods,
): Promise<BoundPodLookup> {
  // The session's copy without an await: a status report is the commonest message.
  const held = pods?.cached(namespace, name, uid);
  let found = held ? { pod: held } : await readBoundPod(registry, node, namespace, name, uid);
  for (let attempt = 0; ; attempt++) {
    if (!found?.pod) return found;
    const current = found.pod;
    try {
      const written = await registry.update(
        PODS,
        namespace,
        name,
        // The status subresource takes only status from the body: the rest is not sent to be copied.
        {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name, namespace, resourceVersion: current.metadata.resourceVersion },
          status,
        },
        // The status was parsed from this report alone: the registry may keep it as it is.
        { fieldManager: 'shoal-agent', subresource: 'status', current, bodyOwned: true },
      );
      pods?.wrote(written);
      return { pod: written };
    } catch (err) {
      // Deleted since it was read (evicted, force-deleted): nothing left to report on.
      if (err instanceof ApiError && err.reason === 'NotFound') return undefined;
      // Agents do not resend a status, so a busy pod is retried a few times, each
      // on a fresh read that is checked again.
      if (!(err instanceof ApiError && err.reason === 'Conflict') || attempt >= 4) throw err;
    }
    found = await readBoundPod(registry, node, namespace, name, uid);
  }
}
