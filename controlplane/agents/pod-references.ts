// The ConfigMaps and Secrets a pod refers to, so the gateway can send them
// with the pod and the agent needs no API access of its own.

import { isRecord, type KubeObject } from '../api/objects.js';

export interface PodReferences {
  configMaps: Set<string>;
  secrets: Set<string>;
  pullSecrets: Set<string>;
}

export function podReferences(pod: KubeObject): PodReferences {
  const refs: PodReferences = { configMaps: new Set(), secrets: new Set(), pullSecrets: new Set() };
  const spec = isRecord(pod.spec) ? pod.spec : {};
  const list = (v: unknown): Record<string, unknown>[] =>
    Array.isArray(v) ? v.filter(isRecord) : [];
  const name = (v: unknown, field = 'name'): string | undefined =>
    isRecord(v) && typeof v[field] === 'string' ? v[field] : undefined;
  const add = (set: Set<string>, n: string | undefined): void => {
    if (n) set.add(n);
  };
  for (const c of [...list(spec.containers), ...list(spec.initContainers)]) {
    for (const env of list(c.env)) {
      const from = env.valueFrom;
      if (!isRecord(from)) continue;
      add(refs.configMaps, name(from.configMapKeyRef));
      add(refs.secrets, name(from.secretKeyRef));
    }
    for (const src of list(c.envFrom)) {
      add(refs.configMaps, name(src.configMapRef));
      add(refs.secrets, name(src.secretRef));
    }
  }
  for (const v of list(spec.volumes)) {
    add(refs.configMaps, name(v.configMap));
    add(refs.secrets, name(v.secret, 'secretName'));
    if (isRecord(v.projected)) {
      for (const s of list(v.projected.sources)) {
        add(refs.configMaps, name(s.configMap));
        add(refs.secrets, name(s.secret));
      }
    }
  }
  for (const s of list(spec.imagePullSecrets)) add(refs.pullSecrets, name(s));
  return refs;
}
