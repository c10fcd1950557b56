// Writes v1 Events about objects, as client-go's recorder does: an event
// repeated for the same object, reason and message is one Event whose count
// and lastTimestamp grow, so a crash loop does not flood etcd. Recording is
// best effort: a failure is logged, never thrown at the caller.

import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { KubeObject } from '../../api/objects.js';
import { ApiError } from '../../api/status.js';
import { findResource } from '../../api/resources.js';
import type { Registry } from '../../api/registry/registry.js';

const EVENTS = findResource('', 'v1', 'events')!;

export type EventType = 'Normal' | 'Warning';

export class EventRecorder {
  constructor(
    private readonly registry: Registry,
    private readonly component: string,
    private readonly log?: Logger,
  ) {}

  /** Fire and forget. */
  event(obj: KubeObject, type: EventType, reason: string, message: string): void {
    this.record(obj, type, reason, message).catch((err: unknown) =>
      this.log?.debug({ err, reason }, 'recording an event failed'),
    );
  }

  async record(obj: KubeObject, type: EventType, reason: string, message: string): Promise<void> {
    const m = obj.metadata;
    // Events about cluster-scoped objects live in "default", as Kubernetes keeps them.
    const namespace = m.namespace ?? 'default';
    const hash = createHash('sha256')
      .update(`${m.uid ?? m.name}\0${type}\0${reason}\0${message}`)
      .digest('hex')
      .slice(0, 16);
    const name = `${m.name ?? 'object'}.${hash}`;
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    try {
      const current = await this.registry.get(EVENTS, namespace, name);
      // One more of the same: a conflict with a racing recorder loses this count, no more.
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
      return;
    } catch (err) {
      if (!(err instanceof ApiError && err.reason === 'NotFound')) throw err;
    }
    await this.registry
      .create(
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
          },
          reason,
          message,
          type,
          count: 1,
          firstTimestamp: now,
          lastTimestamp: now,
          source: { component: this.component },
          reportingComponent: this.component,
          reportingInstance: this.component,
        },
        { fieldManager: this.component },
      )
      .catch((err: unknown) => {
        // Created by a racing recorder: count this one into it next time.
        if (!(err instanceof ApiError && err.reason === 'AlreadyExists')) throw err;
      });
  }
}
