// PodEvent messages from agents become v1 Events, as the kubelet's events
// do: source.component "kubelet", source.host and reportingInstance the node,
// involvedObject the pod (with the container's field path), aggregated by
// count and lastTimestamp (EventRecorder). An agent may only speak about
// pods bound to its own node, as with pod status. The pod comes from the
// agent session's copy (the gateway's pod watch) when it holds one: a started
// pod's Pulled, Created and Started each read it from etcd before.

import type { Logger } from 'pino';
import type { PodEvent__Output } from '../../proto/generated/shoal/agent/v1/PodEvent.js';
import type { Registry } from '../api/registry/registry.js';
import { EventRecorder } from '../controllers/runtime/events.js';
import { findBoundPod, type SessionPods } from './node-pods.js';

const FIELD_PATH = /^spec\.(containers|initContainers|ephemeralContainers)\{[^{}]+\}$/;

export class PodEventWriter {
  private readonly recorder: EventRecorder;

  constructor(
    private readonly registry: Registry,
    private readonly log?: Logger,
  ) {
    this.recorder = new EventRecorder(registry, 'kubelet', log);
  }

  /**
   * Records the event, or logs why not (another node's pod, a malformed event).
   * `pods`: the reporting session's copies (node-pods.ts); without one, or on a miss, etcd is read.
   */
  async record(node: string, ev: PodEvent__Output, pods?: SessionPods): Promise<void> {
    const where = { node, pod: `${ev.namespace}/${ev.name}`, reason: ev.reason };
    if (ev.type !== 'Normal' && ev.type !== 'Warning') {
      this.log?.warn(
        { ...where, type: ev.type },
        'refused a pod event: type is not Normal or Warning',
      );
      return;
    }
    if (!ev.reason || (ev.field_path && !FIELD_PATH.test(ev.field_path))) {
      this.log?.warn({ ...where, fieldPath: ev.field_path }, 'refused a malformed pod event');
      return;
    }
    // undefined: the pod went away before its last events arrived; nothing to attach them to.
    const found = await findBoundPod(this.registry, node, ev.namespace, ev.name, ev.uid, pods);
    if (found?.refused)
      this.log?.warn(
        { ...where, boundTo: found.refused.boundTo },
        'refused an event for a pod not bound to this node',
      );
    if (!found?.pod) return;
    await this.recorder.record(found.pod, ev.type, ev.reason, ev.message, {
      host: node,
      ...(ev.field_path ? { fieldPath: ev.field_path } : {}),
    });
  }
}
