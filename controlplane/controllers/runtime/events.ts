// Writes v1 Events about objects, as client-go's recorder does: an event
// repeated for the same object, reason and message is one Event whose count
// and lastTimestamp grow, so a crash loop does not flood etcd. Recording is
// best effort: a failure is logged, never thrown at the caller.
//
// Each source (this recorder, and the node for agents' events) may write 25
// events about one object, then one every 5 minutes; the rest are dropped,
// as client-go's EventSourceObjectSpamFilter does. A ReplicaSet creating 900
// pods records 25 SuccessfulCreate events, not 900 — which were a fifth of
// the control plane's writes while pods were created and bound.

import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { KubeObject } from '../../api/objects.js';
import { ApiError } from '../../api/status.js';
import { findResource } from '../../api/resources.js';
import type { Registry } from '../../api/registry/registry.js';
import { TokenBucket } from './token-bucket.js';

const EVENTS = findResource('', 'v1', 'events')!;

export type EventType = 'Normal' | 'Warning';

export interface RecordOptions {
  /** involvedObject.fieldPath, e.g. spec.containers{web}. */
  fieldPath?: string;
  /** source.host and reportingInstance: the node a kubelet-style reporter runs on. */
  host?: string;
}

// Each attempt either writes or saw someone else's write; a handful is plenty.
const MAX_ATTEMPTS = 10;
/**
 * Fire-and-forget events wait here and a few writers drain them, so a burst
 * (a Scheduled event per bound pod) never competes with the work it reports
 * on; beyond this many waiting the newest are dropped, as client-go's
 * broadcaster drops when its 1,000-event channel is full.
 */
const MAX_QUEUED = 1000;
const WRITERS = 4;
/** client-go's defaultSpamBurst and defaultSpamQPS (one per 5 minutes), per source and object. */
const SPAM_BURST = 25;
const SPAM_RATE = 1 / 300;
/** Objects whose spam buckets are kept, least recently used dropped first (client-go's LRU size). */
const SPAM_KEYS = 4096;

interface QueuedEvent {
  obj: KubeObject;
  type: EventType;
  reason: string;
  message: string;
}

export class EventRecorder {
  private readonly queued: QueuedEvent[] = [];
  private writers = 0;
  private dropped = 0;
  /** Insertion order is use order: a bucket used again moves to the end. */
  private readonly spam = new Map<string, TokenBucket>();

  constructor(
    private readonly registry: Registry,
    private readonly component: string,
    private readonly log?: Logger,
  ) {}

  /** Fire and forget: queued, written by a few writers, dropped when too many wait. */
  event(obj: KubeObject, type: EventType, reason: string, message: string): void {
    if (this.isSpam(obj, undefined)) return;
    if (this.queued.length >= MAX_QUEUED) {
      if (this.dropped++ % 1000 === 0)
        this.log?.warn({ reason, dropped: this.dropped }, 'event queue full; dropping events');
      return;
    }
    this.queued.push({ obj, type, reason, message });
    if (this.writers < WRITERS) {
      this.writers++;
      void this.drain();
    }
  }

  private async drain(): Promise<void> {
    for (let e = this.queued.shift(); e; e = this.queued.shift()) {
      try {
        await this.write(e.obj, e.type, e.reason, e.message, {});
      } catch (err) {
        this.log?.debug({ err, reason: e.reason }, 'recording an event failed');
      }
    }
    this.writers--;
  }

  /** Writes the event now, unless its source has sent too many about the object. */
  async record(
    obj: KubeObject,
    type: EventType,
    reason: string,
    message: string,
    opts: RecordOptions = {},
  ): Promise<void> {
    if (this.isSpam(obj, opts.host)) return;
    await this.write(obj, type, reason, message, opts);
  }

  /** Takes a token from the bucket of (source, object); none left means drop the event. */
  private isSpam(obj: KubeObject, host: string | undefined): boolean {
    const m = obj.metadata;
    const key = `${host ?? ''}\0${obj.apiVersion ?? ''}\0${obj.kind ?? ''}\0${m.namespace ?? ''}\0${m.name ?? ''}\0${m.uid ?? ''}`;
    let bucket = this.spam.get(key);
    if (bucket) {
      this.spam.delete(key);
    } else {
      bucket = new TokenBucket(SPAM_RATE, SPAM_BURST);
      if (this.spam.size >= SPAM_KEYS) this.spam.delete(this.spam.keys().next().value!);
    }
    this.spam.set(key, bucket);
    return bucket.take(Date.now()) > 0;
  }

  private async write(
    obj: KubeObject,
    type: EventType,
    reason: string,
    message: string,
    opts: RecordOptions,
  ): Promise<void> {
    const m = obj.metadata;
    // Events about cluster-scoped objects live in "default", as Kubernetes keeps them.
    const namespace = m.namespace ?? 'default';
    // Field path and host join the key only when given, so names of existing events stay.
    const extra =
      opts.fieldPath || opts.host ? `\0${opts.fieldPath ?? ''}\0${opts.host ?? ''}` : '';
    const hash = createHash('sha256')
      .update(`${m.uid ?? m.name}\0${type}\0${reason}\0${message}${extra}`)
      .digest('hex')
      .slice(0, 16);
    const name = `${m.name ?? 'object'}.${hash}`;
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    // A burst of the same event races itself: a create that finds the event
    // made meanwhile, or a count patch that lost to another, goes round again.
    // Most events are new: try the create first and read only when it exists.
    let exists = false;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      let current: KubeObject | undefined;
      if (exists) {
        try {
          current = await this.registry.get(EVENTS, namespace, name);
        } catch (err) {
          if (!(err instanceof ApiError && err.reason === 'NotFound')) throw err;
        }
      }
      try {
        if (current) {
          await this.registry.patch(
            EVENTS,
            namespace,
            name,
            'merge',
            {
              metadata: { resourceVersion: current.metadata.resourceVersion },
              count: (Number(current.count) || 1) + 1,
              lastTimestamp: now,
            },
            { fieldManager: this.component },
          );
        } else {
          await this.registry.create(
            EVENTS,
            namespace,
            {
              apiVersion: 'v1',
              kind: 'Event',
              metadata: { name, namespace },
              involvedObject: {
                apiVersion: obj.apiVersion,
                kind: obj.kind,
                name: m.name,
                namespace: m.namespace,
                uid: m.uid,
                resourceVersion: m.resourceVersion,
                ...(opts.fieldPath ? { fieldPath: opts.fieldPath } : {}),
              },
              reason,
              message,
              type,
              count: 1,
              firstTimestamp: now,
              lastTimestamp: now,
              source: { component: this.component, ...(opts.host ? { host: opts.host } : {}) },
              reportingComponent: this.component,
              reportingInstance: opts.host ?? this.component,
            },
            // Built for this create alone: no copy needed.
            { fieldManager: this.component, bodyOwned: true },
          );
        }
        return;
      } catch (err) {
        const raced =
          err instanceof ApiError &&
          (err.reason === 'AlreadyExists' ||
            err.reason === 'Conflict' ||
            err.reason === 'NotFound');
        if (!raced) throw err;
        exists = err.reason !== 'NotFound';
      }
    }
    throw new ApiError('Conflict', `event ${namespace}/${name}: too many concurrent updates`);
  }
}
