// The pod spec, wherever it appears: a Pod's `spec` and every workload's
// `spec.template.spec`. Follows Go's ValidatePodSpec for the fields Shoal
// runs (containers, ports, env, resources, volumes, probes, scheduling).
// Fields the server defaults (restartPolicy, imagePullPolicy, protocol …)
// may be absent here: the registry fills them before it validates.

import type { FieldError } from '../status.js';
import { isRecord } from '../objects.js';
import { labelKeyErrors, labelValueErrors } from '../selectors.js';
import { validateLabels } from './labels.js';
import { validateCommonMeta } from './metadata.js';
import {
  child,
  duplicate,
  forbidden,
  index,
  invalid,
  invalidEach,
  key,
  nonNegative,
  notFound,
  notSupported,
  readBool,
  readInt,
  readList,
  readRecord,
  readString,
  readStringMap,
  recordItems,
  required,
  type Rec,
} from './field.js';
import {
  dns1123LabelErrors,
  dns1123SubdomainErrors,
  envVarNameErrors,
  inclusiveRangeError,
  ipErrors,
  portNameErrors,
  portNumErrors,
} from './names.js';
import { parseQuantity, validateQuantity } from './quantity.js';

export const RESTART_POLICIES = ['Always', 'OnFailure', 'Never'] as const;
const PULL_POLICIES = ['Always', 'IfNotPresent', 'Never'];
export const PROTOCOLS = ['SCTP', 'TCP', 'UDP'];
const DNS_POLICIES = ['ClusterFirstWithHostNet', 'ClusterFirst', 'Default', 'None'];
const TERMINATION_MESSAGE_POLICIES = ['File', 'FallbackToLogsOnError'];
const TAINT_EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];
const HTTP_SCHEMES = ['HTTP', 'HTTPS'];
const STANDARD_CONTAINER_RESOURCES = new Set(['cpu', 'memory', 'ephemeral-storage']);
/** Every volume source Kubernetes knows; a volume names exactly one. */
const VOLUME_SOURCES = [
  'hostPath',
  'emptyDir',
  'gcePersistentDisk',
  'awsElasticBlockStore',
  'gitRepo',
  'secret',
  'nfs',
  'iscsi',
  'glusterfs',
  'persistentVolumeClaim',
  'rbd',
  'flexVolume',
  'cinder',
  'cephfs',
  'flocker',
  'downwardAPI',
  'fc',
  'azureFile',
  'configMap',
  'vsphereVolume',
  'quobyte',
  'azureDisk',
  'photonPersistentDisk',
  'projected',
  'portworxVolume',
  'scaleIO',
  'storageos',
  'csi',
  'ephemeral',
  'image',
];
const MAX_UINT32 = 4294967295;

interface Context {
  volumes: Set<string>;
  hostNetwork: boolean;
  errs: FieldError[];
}

/** A pod spec at `path` (`spec`, or `spec.template.spec`). */
export function validatePodSpec(spec: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  // Absent is empty: the server's defaulting creates the spec, and then its containers are missing.
  if (spec === undefined || spec === null) spec = {};
  if (!isRecord(spec)) return [invalid(path, spec, 'must be an object')];
  const ctx: Context = {
    volumes: validateVolumes(spec, path, errs),
    hostNetwork: spec.hostNetwork === true,
    errs,
  };

  const containers = readList(spec, 'containers', path, errs);
  if (!containers || containers.length === 0) errs.push(required(child(path, 'containers')));
  const initContainers = readList(spec, 'initContainers', path, errs);
  // Init containers and containers share one name space.
  const names = new Set<string>();
  const checkAll = (list: unknown[] | undefined, field: string, init: boolean): void => {
    const listPath = child(path, field);
    for (const [c, i] of recordItems(list, listPath, errs)) {
      const cPath = index(listPath, i);
      const name = validateContainer(c, cPath, init, ctx);
      if (name) {
        if (names.has(name)) errs.push(duplicate(child(cPath, 'name'), name));
        names.add(name);
      }
    }
  };
  checkAll(initContainers, 'initContainers', true);
  checkAll(containers, 'containers', false);

  const restartPolicy = readString(spec, 'restartPolicy', path, errs);
  if (restartPolicy === '') errs.push(required(child(path, 'restartPolicy')));
  else if (
    restartPolicy !== undefined &&
    !(RESTART_POLICIES as readonly string[]).includes(restartPolicy)
  ) {
    errs.push(notSupported(child(path, 'restartPolicy'), restartPolicy, RESTART_POLICIES));
  }
  const dnsPolicy = readString(spec, 'dnsPolicy', path, errs);
  if (dnsPolicy !== undefined && !DNS_POLICIES.includes(dnsPolicy)) {
    errs.push(notSupported(child(path, 'dnsPolicy'), dnsPolicy, DNS_POLICIES));
  }
  errs.push(
    ...validateLabels(readStringMap(spec, 'nodeSelector', path, errs), child(path, 'nodeSelector')),
  );
  for (const field of ['serviceAccountName', 'serviceAccount', 'nodeName']) {
    const v = readString(spec, field, path, errs);
    if (v) errs.push(...invalidEach(child(path, field), v, dns1123SubdomainErrors(v)));
  }
  for (const field of ['hostname', 'subdomain']) {
    const v = readString(spec, field, path, errs);
    if (v) errs.push(...invalidEach(child(path, field), v, dns1123LabelErrors(v)));
  }
  const grace = readInt(spec, 'terminationGracePeriodSeconds', path, errs);
  errs.push(...nonNegative(child(path, 'terminationGracePeriodSeconds'), grace));
  const deadline = readInt(spec, 'activeDeadlineSeconds', path, errs);
  if (deadline !== undefined && (deadline < 1 || deadline > MAX_UINT32)) {
    errs.push(
      invalid(child(path, 'activeDeadlineSeconds'), deadline, inclusiveRangeError(1, MAX_UINT32)),
    );
  }
  errs.push(
    ...validateTolerations(readList(spec, 'tolerations', path, errs), child(path, 'tolerations')),
  );
  const pullSecretsPath = child(path, 'imagePullSecrets');
  for (const [s, i] of recordItems(
    readList(spec, 'imagePullSecrets', path, errs),
    pullSecretsPath,
    errs,
  )) {
    const name = readString(s, 'name', index(pullSecretsPath, i), errs);
    if (!name) errs.push(required(child(index(pullSecretsPath, i), 'name')));
  }
  readBool(spec, 'hostNetwork', path, errs);
  return errs;
}

/** A pod template (`spec.template`): its labels and annotations, and its spec. */
export function validatePodTemplate(template: unknown, path: string): FieldError[] {
  if (template === undefined || template === null) template = {};
  if (!isRecord(template)) return [invalid(path, template, 'must be an object')];
  const errs: FieldError[] = [];
  const meta = readRecord(template, 'metadata', path, errs);
  if (meta) errs.push(...validateCommonMeta(meta, child(path, 'metadata'), errs));
  errs.push(...validatePodSpec(template.spec, child(path, 'spec')));
  return errs;
}

function validateVolumes(spec: Rec, path: string, errs: FieldError[]): Set<string> {
  const names = new Set<string>();
  const volPath = child(path, 'volumes');
  for (const [v, i] of recordItems(readList(spec, 'volumes', path, errs), volPath, errs)) {
    const vPath = index(volPath, i);
    const name = readString(v, 'name', vPath, errs);
    if (!name) errs.push(required(child(vPath, 'name')));
    else {
      errs.push(...invalidEach(child(vPath, 'name'), name, dns1123LabelErrors(name)));
      if (names.has(name)) errs.push(duplicate(child(vPath, 'name'), name));
      names.add(name);
    }
    const sources = VOLUME_SOURCES.filter((s) => v[s] !== undefined && v[s] !== null);
    if (sources.length === 0) errs.push(required(vPath, 'must specify a volume type'));
    else if (sources.length > 1)
      errs.push(
        forbidden(child(vPath, sources[1] ?? ''), 'may not specify more than 1 volume type'),
      );
    else validateVolumeSource(v, sources[0] ?? '', vPath, errs);
  }
  return names;
}

function validateVolumeSource(v: Rec, source: string, vPath: string, errs: FieldError[]): void {
  const srcPath = child(vPath, source);
  const src = readRecord(v, source, vPath, errs);
  if (!src) return;
  const requireString = (field: string): void => {
    if (!readString(src, field, srcPath, errs)) errs.push(required(child(srcPath, field)));
  };
  switch (source) {
    case 'hostPath':
      requireString('path');
      break;
    case 'configMap':
      requireString('name');
      break;
    case 'secret':
      requireString('secretName');
      break;
    case 'persistentVolumeClaim':
      requireString('claimName');
      break;
    case 'emptyDir':
      if (src.sizeLimit !== undefined)
        validateQuantity(src.sizeLimit, child(srcPath, 'sizeLimit'), errs);
      break;
    default:
      break;
  }
}

/** One container; returns its name so the caller can check uniqueness. */
function validateContainer(c: Rec, path: string, init: boolean, ctx: Context): string | undefined {
  const { errs } = ctx;
  const name = readString(c, 'name', path, errs);
  if (!name) errs.push(required(child(path, 'name')));
  else errs.push(...invalidEach(child(path, 'name'), name, dns1123LabelErrors(name)));

  const image = readString(c, 'image', path, errs);
  if (!image) errs.push(required(child(path, 'image')));
  else if (image.trim() !== image) {
    errs.push(invalid(child(path, 'image'), image, 'must not have leading or trailing whitespace'));
  }
  const pull = readString(c, 'imagePullPolicy', path, errs);
  if (pull === '') errs.push(required(child(path, 'imagePullPolicy')));
  else if (pull !== undefined && !PULL_POLICIES.includes(pull)) {
    errs.push(notSupported(child(path, 'imagePullPolicy'), pull, PULL_POLICIES));
  }
  const tmp = readString(c, 'terminationMessagePolicy', path, errs);
  if (tmp !== undefined && !TERMINATION_MESSAGE_POLICIES.includes(tmp)) {
    errs.push(
      notSupported(child(path, 'terminationMessagePolicy'), tmp, TERMINATION_MESSAGE_POLICIES),
    );
  }
  // Only init containers may be restartable (sidecars).
  const restartPolicy = readString(c, 'restartPolicy', path, errs);
  const sidecar = init && restartPolicy === 'Always';
  if (restartPolicy !== undefined) {
    if (!init)
      errs.push(forbidden(child(path, 'restartPolicy'), 'may not be set for non-init containers'));
    else if (restartPolicy !== 'Always')
      errs.push(notSupported(child(path, 'restartPolicy'), restartPolicy, ['Always']));
  }
  validateContainerPorts(c, path, ctx);
  validateEnv(c, path, errs);
  validateResources(c, path, errs);
  validateVolumeMounts(c, path, ctx);
  for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
    const p = readRecord(c, probe, path, errs);
    if (!p) continue;
    if (init && !sidecar) {
      errs.push(
        forbidden(
          child(path, probe),
          'may not be set for init containers without restartPolicy=Always',
        ),
      );
      continue;
    }
    validateProbe(p, child(path, probe), probe !== 'readinessProbe', errs);
  }
  const lifecycle = readRecord(c, 'lifecycle', path, errs);
  for (const hook of ['postStart', 'preStop']) {
    const h = lifecycle ? readRecord(lifecycle, hook, child(path, 'lifecycle'), errs) : undefined;
    if (h) validateHandler(h, child(child(path, 'lifecycle'), hook), errs);
  }
  return name || undefined;
}

function validateContainerPorts(c: Rec, path: string, ctx: Context): void {
  const { errs } = ctx;
  const portsPath = child(path, 'ports');
  const names = new Set<string>();
  for (const [p, i] of recordItems(readList(c, 'ports', path, errs), portsPath, errs)) {
    const pPath = index(portsPath, i);
    const name = readString(p, 'name', pPath, errs);
    if (name) {
      const msgs = portNameErrors(name);
      errs.push(...invalidEach(child(pPath, 'name'), name, msgs));
      if (msgs.length === 0 && names.has(name)) errs.push(duplicate(child(pPath, 'name'), name));
      names.add(name);
    }
    const containerPort = readInt(p, 'containerPort', pPath, errs);
    if (!containerPort) {
      if (p.containerPort === undefined || p.containerPort === 0)
        errs.push(required(child(pPath, 'containerPort')));
    } else
      errs.push(
        ...invalidEach(child(pPath, 'containerPort'), containerPort, portNumErrors(containerPort)),
      );
    const hostPort = readInt(p, 'hostPort', pPath, errs);
    if (hostPort) {
      errs.push(...invalidEach(child(pPath, 'hostPort'), hostPort, portNumErrors(hostPort)));
      if (ctx.hostNetwork && containerPort && hostPort !== containerPort) {
        errs.push(
          invalid(
            child(pPath, 'hostPort'),
            hostPort,
            'must match `containerPort` when `hostNetwork` is true',
          ),
        );
      }
    }
    const protocol = readString(p, 'protocol', pPath, errs);
    if (protocol === '') errs.push(required(child(pPath, 'protocol')));
    else if (protocol !== undefined && !PROTOCOLS.includes(protocol)) {
      errs.push(notSupported(child(pPath, 'protocol'), protocol, PROTOCOLS));
    }
    const hostIP = readString(p, 'hostIP', pPath, errs);
    if (hostIP) errs.push(...invalidEach(child(pPath, 'hostIP'), hostIP, ipErrors(hostIP)));
  }
}

const VALUE_FROM_SOURCES = ['fieldRef', 'resourceFieldRef', 'configMapKeyRef', 'secretKeyRef'];

function validateEnv(c: Rec, path: string, errs: FieldError[]): void {
  const envPath = child(path, 'env');
  for (const [e, i] of recordItems(readList(c, 'env', path, errs), envPath, errs)) {
    const ePath = index(envPath, i);
    const name = readString(e, 'name', ePath, errs);
    if (!name) errs.push(required(child(ePath, 'name')));
    else errs.push(...invalidEach(child(ePath, 'name'), name, envVarNameErrors(name)));
    const value = readString(e, 'value', ePath, errs);
    const from = readRecord(e, 'valueFrom', ePath, errs);
    if (!from) continue;
    const fromPath = child(ePath, 'valueFrom');
    const sources = VALUE_FROM_SOURCES.filter((s) => from[s] !== undefined && from[s] !== null);
    if (value) errs.push(invalid(fromPath, '', 'may not be specified when `value` is not empty'));
    if (sources.length === 0) {
      errs.push(
        invalid(
          fromPath,
          '',
          'must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`',
        ),
      );
    } else if (sources.length > 1) {
      errs.push(invalid(fromPath, '', 'may not have more than one field specified at a time'));
    } else {
      const source = sources[0] ?? '';
      const ref = readRecord(from, source, fromPath, errs);
      const refPath = child(fromPath, source);
      if (!ref) continue;
      const needed =
        source === 'fieldRef'
          ? ['fieldPath']
          : source === 'resourceFieldRef'
            ? ['resource']
            : ['key'];
      for (const f of needed)
        if (!readString(ref, f, refPath, errs)) errs.push(required(child(refPath, f)));
    }
  }
  const envFromPath = child(path, 'envFrom');
  for (const [e, i] of recordItems(readList(c, 'envFrom', path, errs), envFromPath, errs)) {
    const ePath = index(envFromPath, i);
    const prefix = readString(e, 'prefix', ePath, errs);
    if (prefix) errs.push(...invalidEach(child(ePath, 'prefix'), prefix, envVarNameErrors(prefix)));
    const refs = ['configMapRef', 'secretRef'].filter((s) => isRecord(e[s]));
    if (refs.length !== 1) {
      errs.push(invalid(ePath, '', 'may not have more than one field specified at a time'));
      continue;
    }
    const refName = refs[0] ?? '';
    const ref = e[refName] as Rec;
    if (!readString(ref, 'name', child(ePath, refName), errs))
      errs.push(required(child(child(ePath, refName), 'name')));
  }
}

// Native resources may be overcommitted (request < limit); extended ones
// (`example.com/gpu`) and hugepages may not.
const isNative = (name: string): boolean =>
  !name.includes('/') || name.startsWith('kubernetes.io/');
const overcommitAllowed = (name: string): boolean =>
  isNative(name) && !name.startsWith('hugepages-');

function validateResourceName(name: string, path: string, errs: FieldError[]): boolean {
  const before = errs.length;
  errs.push(...invalidEach(path, name, labelKeyErrors(name)));
  if (!name.includes('/')) {
    if (!STANDARD_CONTAINER_RESOURCES.has(name) && !name.startsWith('hugepages-')) {
      errs.push(invalid(path, name, 'must be a standard resource for containers'));
    }
  }
  return errs.length === before;
}

function validateResources(c: Rec, path: string, errs: FieldError[]): void {
  const resPath = child(path, 'resources');
  const res = readRecord(c, 'resources', path, errs);
  if (!res) return;
  const read = (field: 'limits' | 'requests'): Map<string, number> => {
    const out = new Map<string, number>();
    const m = readRecord(res, field, resPath, errs);
    for (const [name, q] of Object.entries(m ?? {})) {
      const p = key(child(resPath, field), name);
      if (!validateResourceName(name, p, errs)) continue;
      const n = validateQuantity(q, p, errs);
      if (n === undefined) continue;
      if (!overcommitAllowed(name) && !Number.isInteger(n))
        errs.push(invalid(p, String(q), 'must be an integer'));
      out.set(name, n);
    }
    return out;
  };
  const limits = read('limits');
  const requests = read('requests');
  const raw = (field: 'limits' | 'requests', name: string): string => {
    const m = res[field];
    return isRecord(m) ? String(m[name]) : '';
  };
  for (const [name, request] of requests) {
    const reqPath = key(child(resPath, 'requests'), name);
    const limit = limits.get(name);
    if (limit === undefined) {
      if (!overcommitAllowed(name)) {
        errs.push(
          required(
            key(child(resPath, 'limits'), name),
            'Limit must be set for non overcommitable resources',
          ),
        );
      }
      continue;
    }
    if (!overcommitAllowed(name) && request !== limit) {
      errs.push(
        invalid(
          reqPath,
          raw('requests', name),
          `must be equal to ${name} limit of ${raw('limits', name)}`,
        ),
      );
    } else if (request > limit) {
      errs.push(
        invalid(
          reqPath,
          raw('requests', name),
          `must be less than or equal to ${name} limit of ${raw('limits', name)}`,
        ),
      );
    }
  }
}

function validateVolumeMounts(c: Rec, path: string, ctx: Context): void {
  const { errs } = ctx;
  const mountsPath = child(path, 'volumeMounts');
  const mountPoints = new Set<string>();
  for (const [m, i] of recordItems(readList(c, 'volumeMounts', path, errs), mountsPath, errs)) {
    const mPath = index(mountsPath, i);
    const name = readString(m, 'name', mPath, errs);
    if (!name) errs.push(required(child(mPath, 'name')));
    if (!ctx.volumes.has(name ?? '')) errs.push(notFound(child(mPath, 'name'), name ?? ''));
    const mountPath = readString(m, 'mountPath', mPath, errs);
    if (!mountPath) errs.push(required(child(mPath, 'mountPath')));
    else if (mountPoints.has(mountPath))
      errs.push(invalid(child(mPath, 'mountPath'), mountPath, 'must be unique'));
    if (mountPath) mountPoints.add(mountPath);
  }
}

function validateProbe(p: Rec, path: string, mustSucceedOnce: boolean, errs: FieldError[]): void {
  validateHandler(p, path, errs);
  for (const field of [
    'initialDelaySeconds',
    'timeoutSeconds',
    'periodSeconds',
    'successThreshold',
    'failureThreshold',
  ]) {
    errs.push(...nonNegative(child(path, field), readInt(p, field, path, errs)));
  }
  // Liveness and startup probes end at the first success.
  const success = readInt(p, 'successThreshold', path, []);
  if (mustSucceedOnce && success !== undefined && success !== 1) {
    errs.push(invalid(child(path, 'successThreshold'), success, 'must be 1'));
  }
  const grace = readInt(p, 'terminationGracePeriodSeconds', path, errs);
  if (grace !== undefined && grace <= 0) {
    errs.push(
      invalid(child(path, 'terminationGracePeriodSeconds'), grace, 'must be greater than 0'),
    );
  }
}

const HANDLERS = ['exec', 'httpGet', 'tcpSocket', 'grpc', 'sleep'];

/** Probes and lifecycle hooks name exactly one action. */
function validateHandler(h: Rec, path: string, errs: FieldError[]): void {
  const present = HANDLERS.filter((k) => h[k] !== undefined && h[k] !== null);
  if (present.length === 0) {
    errs.push(required(path, 'must specify a handler type'));
    return;
  }
  for (const extra of present.slice(1))
    errs.push(forbidden(child(path, extra), 'may not specify more than 1 handler type'));
  const kind = present[0] ?? '';
  const hPath = child(path, kind);
  const action = readRecord(h, kind, path, errs);
  if (!action) return;
  switch (kind) {
    case 'exec': {
      const command = readList(action, 'command', hPath, errs);
      if (!command || command.length === 0) errs.push(required(child(hPath, 'command')));
      break;
    }
    case 'httpGet': {
      if (readString(action, 'path', hPath, errs) === '') errs.push(required(child(hPath, 'path')));
      validatePortNumOrName(action.port, child(hPath, 'port'), errs);
      const scheme = readString(action, 'scheme', hPath, errs);
      if (scheme !== undefined && !HTTP_SCHEMES.includes(scheme)) {
        errs.push(notSupported(child(hPath, 'scheme'), scheme, HTTP_SCHEMES));
      }
      break;
    }
    case 'tcpSocket':
      validatePortNumOrName(action.port, child(hPath, 'port'), errs);
      break;
    case 'grpc': {
      const port = readInt(action, 'port', hPath, errs) ?? 0;
      errs.push(...invalidEach(child(hPath, 'port'), port, portNumErrors(port)));
      break;
    }
    case 'sleep':
      errs.push(...nonNegative(child(hPath, 'seconds'), readInt(action, 'seconds', hPath, errs)));
      break;
    default:
      break;
  }
}

/** An IntOrString port: a number 1–65535 or an IANA service name (Go's ValidatePortNumOrName). */
export function validatePortNumOrName(port: unknown, path: string, errs: FieldError[]): void {
  if (typeof port === 'string') errs.push(...invalidEach(path, port, portNameErrors(port)));
  else if (typeof port === 'number' && Number.isInteger(port))
    errs.push(...invalidEach(path, port, portNumErrors(port)));
  else if (port === undefined || port === null)
    errs.push(...invalidEach(path, 0, portNumErrors(0)));
  else errs.push(invalid(path, port, 'must be an integer or a string'));
}

/** Tolerations: operator and effect values, and the key/value rules between them. */
export function validateTolerations(list: unknown[] | undefined, path: string): FieldError[] {
  const errs: FieldError[] = [];
  for (const [t, i] of recordItems(list, path, errs)) {
    const tPath = index(path, i);
    const k = readString(t, 'key', tPath, errs) ?? '';
    if (k) errs.push(...invalidEach(child(tPath, 'key'), k, labelKeyErrors(k)));
    const operator = readString(t, 'operator', tPath, errs) ?? '';
    const value = readString(t, 'value', tPath, errs) ?? '';
    if (!k && operator !== 'Exists') {
      errs.push(
        invalid(
          child(tPath, 'operator'),
          operator,
          'operator must be Exists when `key` is empty, which means "match all values and all keys"',
        ),
      );
    }
    switch (operator) {
      case '':
      case 'Equal': {
        const msgs = labelValueErrors(value);
        if (msgs.length > 0) errs.push(invalid(child(tPath, 'operator'), value, msgs.join(';')));
        break;
      }
      case 'Exists':
        if (value)
          errs.push(
            invalid(
              child(tPath, 'operator'),
              value,
              "value must be empty when `operator` is 'Exists'",
            ),
          );
        break;
      default:
        errs.push(notSupported(child(tPath, 'operator'), operator, ['Equal', 'Exists']));
    }
    const effect = readString(t, 'effect', tPath, errs) ?? '';
    if (effect && !TAINT_EFFECTS.includes(effect))
      errs.push(notSupported(child(tPath, 'effect'), effect, TAINT_EFFECTS));
    const seconds = readInt(t, 'tolerationSeconds', tPath, errs);
    if (seconds !== undefined && effect !== 'NoExecute') {
      errs.push(
        invalid(
          child(tPath, 'effect'),
          effect,
          "effect must be 'NoExecute' when `tolerationSeconds` is set",
        ),
      );
    }
  }
  return errs;
}

/** A taint list (a Node's spec.taints): key and effect required, unique by key and effect. */
export function validateTaints(list: unknown[] | undefined, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const seen = new Set<string>();
  for (const [t, i] of recordItems(list, path, errs)) {
    const tPath = index(path, i);
    const k = readString(t, 'key', tPath, errs) ?? '';
    errs.push(...invalidEach(child(tPath, 'key'), k, labelKeyErrors(k)));
    const value = readString(t, 'value', tPath, errs) ?? '';
    errs.push(...invalidEach(child(tPath, 'value'), value, labelValueErrors(value)));
    const effect = readString(t, 'effect', tPath, errs) ?? '';
    if (!effect) errs.push(required(child(tPath, 'effect')));
    else if (!TAINT_EFFECTS.includes(effect))
      errs.push(notSupported(child(tPath, 'effect'), effect, TAINT_EFFECTS));
    const id = `${k}\u0000${effect}`;
    if (seen.has(id)) {
      errs.push({
        field: tPath,
        type: 'FieldValueDuplicate',
        detail: `Duplicate value: ${JSON.stringify({ key: k, effect })}: taints must be unique by key and effect pair`,
      });
    }
    seen.add(id);
  }
  return errs;
}

/** Parsed quantities of a resource list such as a Node's status.capacity. */
export function validateResourceList(list: unknown, path: string, errs: FieldError[]): void {
  if (list === undefined || list === null) return;
  if (!isRecord(list)) {
    errs.push(invalid(path, list, 'must be an object'));
    return;
  }
  for (const [name, q] of Object.entries(list)) {
    const p = key(path, name);
    errs.push(...invalidEach(p, name, labelKeyErrors(name)));
    if (typeof q !== 'string' && typeof q !== 'number')
      errs.push(invalid(p, q, 'must be a quantity'));
    else if (parseQuantity(q) === undefined || (parseQuantity(q) ?? 0) < 0)
      validateQuantity(q, p, errs);
  }
}
