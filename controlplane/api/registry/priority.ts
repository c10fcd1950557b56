// Kubernetes' Priority admission plugin, on pod and PriorityClass creates.
// A pod's spec.priorityClassName becomes spec.priority (and its
// preemptionPolicy); a pod without one gets the globalDefault class, or
// priority 0 when there is none. A class that does not exist, or a priority
// the user wrote that differs from the class's, is refused with Kubernetes'
// 403 Forbidden text. Only one class may be the global default.

import { isRecord, type KubeObject } from '../objects.js';
import { ApiError } from '../status.js';

/** Reads PriorityClasses (a cache may answer unless the named one is missing from it). */
export type PriorityClassLister = (name?: string) => Promise<KubeObject[]>;

function forbidden(resource: string, name: string, why: string): ApiError {
  return new ApiError('Forbidden', `${resource} "${name}" is forbidden: ${why}`, {
    name,
    group: '',
    kind: resource,
  });
}

/** The globalDefault class; with several (a race), the lowest value, as Kubernetes picks. */
export function defaultPriorityClass(classes: KubeObject[]): KubeObject | undefined {
  let best: KubeObject | undefined;
  for (const c of classes) {
    if (c.globalDefault !== true) continue;
    if (!best || Number(c.value ?? 0) < Number(best.value ?? 0)) best = c;
  }
  return best;
}

/** Sets spec.priority, spec.priorityClassName and spec.preemptionPolicy on a pod being created. */
export async function admitPodPriority(pod: KubeObject, list: PriorityClassLister): Promise<void> {
  if (!isRecord(pod.spec)) return;
  const spec = pod.spec;
  const name = pod.metadata.name ?? pod.metadata.generateName ?? '';
  const className = typeof spec.priorityClassName === 'string' ? spec.priorityClassName : '';
  const classes = await list(className || undefined);
  let cls: KubeObject | undefined;
  if (className) {
    cls = classes.find((c) => c.metadata.name === className);
    if (!cls) {
      throw forbidden('pods', name, `no PriorityClass with name ${className} was found`);
    }
  } else {
    cls = defaultPriorityClass(classes);
  }
  const priority = cls && typeof cls.value === 'number' ? cls.value : 0;
  if (typeof spec.priority === 'number' && spec.priority !== priority) {
    throw forbidden(
      'pods',
      name,
      `the integer value of priority (${spec.priority}) must not be provided in pod spec; priority admission controller computed ${priority} from the given PriorityClass name`,
    );
  }
  spec.priority = priority;
  if (cls) {
    spec.priorityClassName = cls.metadata.name;
    if (typeof cls.preemptionPolicy === 'string') spec.preemptionPolicy = cls.preemptionPolicy;
  }
  if (spec.preemptionPolicy === undefined) spec.preemptionPolicy = 'PreemptLowerPriority';
}

/** A second globalDefault class is refused. */
export async function admitPriorityClass(pc: KubeObject, list: PriorityClassLister): Promise<void> {
  if (pc.globalDefault !== true) return;
  const other = (await list()).find(
    (c) => c.globalDefault === true && c.metadata.name !== pc.metadata.name,
  );
  if (other) {
    throw forbidden(
      'priorityclasses.scheduling.k8s.io',
      pc.metadata.name ?? '',
      `PriorityClass ${other.metadata.name ?? ''} is already marked as default. Only one default can exist`,
    );
  }
}
