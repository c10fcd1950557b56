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
import { findResource } from '../api/resources.js';
import { ApiError } from '../api/status.js';
import { isRecord, type KubeObject } from '../api/objects.js';
import { EventRecorder } from '../controllers/runtime/events.js';

const PODS = findResource('', 'v1', 'pods')!;
const FIELD_PATH = /^spec\.(containers|initContainers|ephemeralContainers)\{[^{}]+\}$/;

/**
 * The pod with this namespace, name and uid if the caller holds it bound to
 * the reporting node (SessionPods.cached); undefined sends the check to etcd.
 * The object is shared: it is only read.
 */
export type HeldPod = (namespace: string, name: string, uid: string) => KubeObject | undefined;

export class PodEventWriter {
  private readonly recorder: EventRecorder;

  constructor(
    private readonly registry: Registry,
    private readonly log?: Logger,
  ) {
    this.recorder = new EventRecorder(registry, 'kubelet', log);
  }

  /** Records the event, or logs why not (another node's pod, a malformed event). */
  async record(node: string, ev: PodEvent__Output, held?: HeldPod): Promise<void> {
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
    const pod = held?.(ev.namespace, ev.name, ev.uid) ?? (await this.boundPod(node, ev));
    if (!pod) return;
    await this.recorder.record(pod, ev.type, ev.reason, ev.message, {
      host: node,
      ...(ev.field_path ? { fieldPath: ev.field_path } : {}),
    });
  }

  private async boundPod(node: string, ev: PodEvent__Output): Promise<KubeObject | undefined> {
    let pod: KubeObject;
    try {
      pod = await this.registry.get(PODS, ev.namespace, ev.name);
    } catch (err) {
      // The pod went away before its last events arrived: nothing to attach them to.
      if (err instanceof ApiError && err.reason === 'NotFound') return undefined;
      throw err;
    }
    const spec = isRecord(pod.spec) ? pod.spec : {};
    if (pod.metadata.uid !== ev.uid || spec.nodeName !== node) {
      this.log?.warn(
        { node, pod: `${ev.namespace}/${ev.name}`, boundTo: spec.nodeName },
        'refused an event for a pod not bound to this node',
      );
      return undefined;
    }
    return pod;
  }
}
