// A container's environment, resolved as the kubelet's makeEnvironmentVariables
// does: envFrom sources first (later sources win), then `env` in order, each
// `value` expanded against the variables defined so far, each `valueFrom`
// looked up. A missing ConfigMap, Secret or key that is not optional is the
// kubelet's CreateContainerConfigError, returned as its message.

import type { KubeObject } from '../../controlplane/api/objects.js';
import {
  isZero,
  parseQuantity,
  quantityMilliValue,
  quantityValue,
  type Quantity,
} from './quantity.js';
import {
  podSpec,
  type Container,
  type EnvVar,
  type ObjectFieldSelector,
  type ResourceFieldSelector,
} from './types.js';

export interface EnvContext {
  pod: KubeObject;
  /** The pod namespace's ConfigMaps and Secrets, by name. */
  configMaps: Map<string, KubeObject>;
  secrets: Map<string, KubeObject>;
  nodeName: string;
  podIP?: string;
  hostIP?: string;
  /** Node allocatable (cpu, memory, ephemeral-storage): the kubelet's stand-in for an unset limit. */
  nodeAllocatable?: Record<string, string | number>;
}

export interface ResolvedEnvVar {
  name: string;
  value: string;
}

export type EnvResult =
  | {
      env: ResolvedEnvVar[];
      /** Event-worthy notes (the kubelet's InvalidEnvironmentVariableNames warnings). */
      warnings: string[];
    }
  | { error: string };

export function resolveEnv(container: Container, ctx: EnvContext): EnvResult {
  const namespace = ctx.pod.metadata.namespace ?? 'default';
  // Insertion order is kept, so the result is stable; an override keeps the
  // variable's first position.
  const vars = new Map<string, string>();
  const warnings: string[] = [];

  for (const from of container.envFrom ?? []) {
    const isConfigMap = from.configMapRef !== undefined;
    const ref = from.configMapRef ?? from.secretRef;
    if (!ref) continue;
    const name = ref.name ?? '';
    const source = isConfigMap ? ctx.configMaps.get(name) : ctx.secrets.get(name);
    if (!source) {
      if (ref.optional) continue;
      return { error: notFound(isConfigMap ? 'configmap' : 'secret', name) };
    }
    const data = isConfigMap ? configMapData(source) : secretData(source);
    const invalid: string[] = [];
    for (const [key, value] of Object.entries(data)) {
      const varName = (from.prefix ?? '') + key;
      if (!isEnvVarName(varName)) {
        invalid.push(varName);
        continue;
      }
      vars.set(varName, value);
    }
    if (invalid.length > 0) {
      invalid.sort();
      warnings.push(
        `Keys [${invalid.join(', ')}] from the EnvFrom ${isConfigMap ? 'configMap' : 'secret'} ${namespace}/${name} were skipped since they are considered invalid environment variable names.`,
      );
    }
  }

  for (const env of container.env ?? []) {
    const resolved = resolveOne(env, container, ctx, vars, namespace);
    if (resolved === undefined) continue;
    if (typeof resolved === 'object') return resolved;
    vars.set(env.name, resolved);
  }

  return { env: [...vars].map(([name, value]) => ({ name, value })), warnings };
}

/** The value for one `env` entry; undefined when an optional source is absent. */
function resolveOne(
  env: EnvVar,
  container: Container,
  ctx: EnvContext,
  vars: Map<string, string>,
  namespace: string,
): string | undefined | { error: string } {
  if (env.value) return expand(env.value, (name) => vars.get(name));
  const from = env.valueFrom;
  if (!from) return '';
  if (from.fieldRef) return fieldValue(from.fieldRef, ctx);
  if (from.resourceFieldRef) return resourceValue(from.resourceFieldRef, container, ctx);
  if (from.configMapKeyRef) {
    const { name = '', key, optional } = from.configMapKeyRef;
    const cm = ctx.configMaps.get(name);
    if (!cm) return optional ? undefined : { error: notFound('configmap', name) };
    const data = configMapData(cm);
    if (!(key in data)) {
      return optional
        ? undefined
        : { error: `couldn't find key ${key} in ConfigMap ${namespace}/${name}` };
    }
    return data[key];
  }
  if (from.secretKeyRef) {
    const { name = '', key, optional } = from.secretKeyRef;
    const secret = ctx.secrets.get(name);
    if (!secret) return optional ? undefined : { error: notFound('secret', name) };
    const data = secretData(secret);
    if (!(key in data)) {
      return optional
        ? undefined
        : { error: `couldn't find key ${key} in Secret ${namespace}/${name}` };
    }
    return data[key];
  }
  return '';
}

function notFound(resource: 'configmap' | 'secret', name: string): string {
  return `${resource} "${name}" not found`;
}

function stringRecord(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof v !== 'object' || v === null) return out;
  for (const [k, val] of Object.entries(v)) if (typeof val === 'string') out[k] = val;
  return out;
}

/** A ConfigMap's `data` (binaryData is not offered as environment). */
export function configMapData(cm: KubeObject): Record<string, string> {
  return stringRecord(cm['data']);
}

/** A Secret's values, decoded from base64; `stringData` is honoured in case a writer left it. */
export function secretData(secret: KubeObject): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(stringRecord(secret['data'])))
    out[k] = Buffer.from(v, 'base64').toString('utf8');
  return { ...out, ...stringRecord(secret['stringData']) };
}

// validation.IsEnvVarName: a C-ish identifier that may also hold '-' and '.',
// and is not '.', '..' or anything starting with '..'.
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;
export function isEnvVarName(name: string): boolean {
  return ENV_NAME.test(name) && !name.startsWith('..') && name !== '.';
}

/**
 * Kubernetes' `$(VAR)` expansion (third_party/forked/golang/expansion):
 * `$$` is a literal `$`, an unknown or unterminated reference stays as written.
 */
export function expand(input: string, lookup: (name: string) => string | undefined): string {
  let out = '';
  let checkpoint = 0;
  for (let cursor = 0; cursor < input.length; cursor++) {
    if (input[cursor] !== '$' || cursor + 1 >= input.length) continue;
    out += input.slice(checkpoint, cursor);
    const next = input[cursor + 1];
    let advance = 1;
    if (next === '$') {
      out += '$';
    } else if (next === '(') {
      const close = input.indexOf(')', cursor + 2);
      if (close < 0) {
        out += '$(';
      } else {
        const name = input.slice(cursor + 2, close);
        out += lookup(name) ?? `$(${name})`;
        advance = close - cursor;
      }
    } else {
      out += '$' + next;
    }
    cursor += advance;
    checkpoint = cursor + 1;
  }
  return out + input.slice(checkpoint);
}

/** The downward API's pod fields (podFieldSelectorRuntimeValue + ExtractFieldPathAsString). */
export function fieldValue(
  ref: ObjectFieldSelector,
  ctx: Pick<EnvContext, 'pod' | 'nodeName' | 'podIP' | 'hostIP'>,
): string {
  const { pod } = ctx;
  const spec = podSpec(pod);
  const path = ref.fieldPath;
  const sub = /^(metadata\.labels|metadata\.annotations)\['(.*)'\]$/.exec(path);
  if (sub) {
    const map = sub[1] === 'metadata.labels' ? pod.metadata.labels : pod.metadata.annotations;
    return map?.[sub[2] ?? ''] ?? '';
  }
  switch (path) {
    case 'metadata.name':
      return pod.metadata.name ?? '';
    case 'metadata.namespace':
      return pod.metadata.namespace ?? '';
    case 'metadata.uid':
      return pod.metadata.uid ?? '';
    case 'metadata.labels':
      return formatMap(pod.metadata.labels);
    case 'metadata.annotations':
      return formatMap(pod.metadata.annotations);
    case 'spec.nodeName':
      return spec.nodeName ?? ctx.nodeName;
    case 'spec.serviceAccountName':
      return spec.serviceAccountName ?? '';
    case 'status.podIP':
    case 'status.podIPs':
      return (spec.hostNetwork ? ctx.hostIP : ctx.podIP) ?? '';
    case 'status.hostIP':
    case 'status.hostIPs':
      return ctx.hostIP ?? '';
    default:
      return '';
  }
}

// fieldpath.FormatMap: sorted `key="value"` lines.
function formatMap(m: Record<string, string> | undefined): string {
  return Object.keys(m ?? {})
    .sort()
    .map((k) => `${k}=${JSON.stringify(m?.[k] ?? '')}`)
    .join('\n');
}

/**
 * resource.ExtractContainerResourceValue after defaultPodLimitsForDownwardAPI:
 * an unset limit reads as node allocatable; the value is divided by the
 * divisor (default 1) and rounded up; CPU is compared in millicores.
 */
export function resourceValue(
  ref: ResourceFieldSelector,
  container: Container,
  ctx: Pick<EnvContext, 'pod' | 'nodeAllocatable'>,
): string | { error: string } {
  const target = ref.containerName
    ? [...(podSpec(ctx.pod).containers ?? []), ...(podSpec(ctx.pod).initContainers ?? [])].find(
        (c) => c.name === ref.containerName,
      )
    : container;
  if (!target) return { error: `container ${ref.containerName} not found` };
  const parsedDivisor = ref.divisor === undefined ? undefined : parseQuantity(ref.divisor);
  const divisor: Quantity =
    parsedDivisor && !isZero(parsedDivisor) ? parsedDivisor : { num: 1n, den: 1n };
  const [kind, resource] = ref.resource.split('.', 2) as [string, string | undefined];
  if ((kind !== 'limits' && kind !== 'requests') || !resource) {
    return { error: `unsupported container resource : ${ref.resource}` };
  }
  let raw = target.resources?.[kind]?.[resource];
  if (raw === undefined && kind === 'limits') raw = ctx.nodeAllocatable?.[resource];
  const q = (raw === undefined ? undefined : parseQuantity(raw)) ?? { num: 0n, den: 1n };
  if (resource === 'cpu') return ceilRatio(quantityMilliValue(q), quantityMilliValue(divisor));
  if (
    resource === 'memory' ||
    resource === 'ephemeral-storage' ||
    resource.startsWith('hugepages-')
  ) {
    return ceilRatio(quantityValue(q), quantityValue(divisor));
  }
  return { error: `unsupported container resource : ${ref.resource}` };
}

function ceilRatio(a: bigint, b: bigint): string {
  if (b === 0n) return '0';
  const q = a / b;
  return String(a % b !== 0n && a > 0n ? q + 1n : q);
}
