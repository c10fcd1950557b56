// Storage kinds: v1 PersistentVolume and PersistentVolumeClaim, and
// storage.k8s.io/v1 StorageClass, as Go's ValidatePersistentVolume,
// ValidatePersistentVolumeClaim(Spec) and ValidateStorageClass check them,
// narrowed to what Shoal can provide: Filesystem volumes (Block is refused
// as not supported) from `local` or `hostPath` sources on one node.

import type { FieldError } from '../status.js';
import type { KubeObject } from '../objects.js';
import { isRecord } from '../objects.js';
import {
  child,
  duplicate,
  forbidden,
  index,
  invalid,
  invalidEach,
  jsonEqual,
  key,
  notSupported,
  readBool,
  readList,
  readRecord,
  readSpec,
  readString,
  readStringMap,
  recordItems,
  required,
  type Rec,
} from './field.js';
import { validateLabelSelector } from './labels.js';
import { labelKeyErrors } from '../selectors.js';
import { dns1123SubdomainErrors } from './names.js';
import { parseQuantity, validateQuantity } from './quantity.js';
import { validateCommonMeta } from './metadata.js';

export const ACCESS_MODES = ['ReadWriteOnce', 'ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOncePod'];
export const VOLUME_MODES = ['Filesystem'];
export const RECLAIM_POLICIES = ['Delete', 'Retain'];
export const BINDING_MODES = ['Immediate', 'WaitForFirstConsumer'];
/** The volume sources a PersistentVolume may use here: a directory on one node. */
const PV_SOURCES = ['local', 'hostPath'];
/** Sources Kubernetes knows but Shoal has no driver for. */
const KNOWN_PV_SOURCES = [
  'awsElasticBlockStore',
  'azureDisk',
  'azureFile',
  'cephfs',
  'cinder',
  'csi',
  'fc',
  'flexVolume',
  'flocker',
  'gcePersistentDisk',
  'glusterfs',
  'iscsi',
  'nfs',
  'photonPersistentDisk',
  'portworxVolume',
  'quobyte',
  'rbd',
  'scaleIO',
  'storageos',
  'vsphereVolume',
];

function validateAccessModes(spec: Rec, path: string, errs: FieldError[], what: string): void {
  const p = child(path, 'accessModes');
  const modes = readList(spec, 'accessModes', path, errs) ?? [];
  if (modes.length === 0) {
    errs.push(required(p, what));
    return;
  }
  const seen = new Set<string>();
  modes.forEach((m, i) => {
    if (typeof m !== 'string' || !ACCESS_MODES.includes(m)) {
      errs.push(notSupported(index(p, i), m, ACCESS_MODES));
    } else if (seen.has(m)) {
      errs.push(duplicate(index(p, i), m));
    }
    if (typeof m === 'string') seen.add(m);
  });
  if (seen.has('ReadWriteOncePod') && modes.length > 1) {
    errs.push(forbidden(p, 'may not use ReadWriteOncePod with other access modes'));
  }
}

function validateVolumeMode(spec: Rec, path: string, errs: FieldError[]): void {
  const mode = readString(spec, 'volumeMode', path, errs);
  // Block devices need a device plugin path Shoal does not have.
  if (mode !== undefined && !VOLUME_MODES.includes(mode)) {
    errs.push(notSupported(child(path, 'volumeMode'), mode, VOLUME_MODES));
  }
}

function validateClassName(spec: Rec, path: string, errs: FieldError[]): void {
  const name = readString(spec, 'storageClassName', path, errs);
  if (name) {
    errs.push(...invalidEach(child(path, 'storageClassName'), name, dns1123SubdomainErrors(name)));
  }
}

/** A resource list that must hold `storage` (capacity or requests); returns its size in bytes. */
function validateStorageList(
  list: Rec | undefined,
  path: string,
  errs: FieldError[],
  allowOthers: boolean,
): number | undefined {
  if (list === undefined || list.storage === undefined || list.storage === null) {
    errs.push(required(key(path, 'storage')));
    return undefined;
  }
  let size: number | undefined;
  for (const [name, q] of Object.entries(list)) {
    const p = key(path, name);
    if (name !== 'storage' && !allowOthers) {
      errs.push(notSupported(path, name, ['storage']));
      continue;
    }
    const n = validateQuantity(q, p, errs);
    if (name !== 'storage' || n === undefined) continue;
    if (n <= 0) errs.push(invalid(p, String(q), 'must be greater than zero'));
    else size = n;
  }
  return size;
}

/** A required node affinity's terms: at least one, each with at least one requirement. */
function validateVolumeNodeAffinity(affinity: unknown, path: string, errs: FieldError[]): void {
  if (!isRecord(affinity)) {
    errs.push(invalid(path, affinity, 'must be an object'));
    return;
  }
  const req = readRecord(affinity, 'required', path, errs);
  if (!req) {
    errs.push(required(child(path, 'required')));
    return;
  }
  const termsPath = child(child(path, 'required'), 'nodeSelectorTerms');
  const terms = recordItems(
    readList(req, 'nodeSelectorTerms', child(path, 'required'), errs),
    termsPath,
    errs,
  );
  if (terms.length === 0)
    errs.push(required(termsPath, 'must have at least one node selector term'));
  for (const [term, i] of terms) {
    const tp = index(termsPath, i);
    const exprs = [
      ...recordItems(
        readList(term, 'matchExpressions', tp, errs),
        child(tp, 'matchExpressions'),
        errs,
      ),
      ...recordItems(readList(term, 'matchFields', tp, errs), child(tp, 'matchFields'), errs),
    ];
    if (exprs.length === 0) {
      errs.push(required(tp, 'must have at least one node selector requirement'));
    }
    for (const [e] of exprs) {
      if (typeof e.key !== 'string' || !e.key)
        errs.push(required(child(tp, 'matchExpressions.key')));
      const op = e.operator;
      const ops = ['In', 'NotIn', 'Exists', 'DoesNotExist', 'Gt', 'Lt'];
      if (typeof op !== 'string' || !ops.includes(op)) {
        errs.push(notSupported(child(tp, 'matchExpressions.operator'), op, ops));
      }
    }
  }
}

function validatePVSource(spec: Rec, errs: FieldError[]): void {
  const given = Object.keys(spec).filter(
    (k) => (PV_SOURCES.includes(k) || KNOWN_PV_SOURCES.includes(k)) && spec[k] != null,
  );
  if (given.length === 0) {
    errs.push(required('spec', 'must specify a volume type'));
    return;
  }
  if (given.length > 1) {
    errs.push(forbidden(`spec.${given[1]}`, 'may not specify more than 1 volume type'));
  }
  const src = given[0]!;
  if (!PV_SOURCES.includes(src)) {
    errs.push(
      forbidden(
        `spec.${src}`,
        `${src} volumes are not supported by this cluster (supported: local, hostPath)`,
      ),
    );
    return;
  }
  const body = readRecord(spec, src, 'spec', errs) ?? {};
  const path = readString(body, 'path', `spec.${src}`, errs);
  const p = `spec.${src}.path`;
  if (!path) errs.push(required(p));
  else if (!path.startsWith('/')) errs.push(invalid(p, path, 'must be an absolute path'));
  else if (path.split('/').includes('..')) errs.push(invalid(p, path, "must not contain '..'"));
  if (src === 'local' && (spec.nodeAffinity === undefined || spec.nodeAffinity === null)) {
    errs.push(required('spec.nodeAffinity', 'Local volume requires node affinity'));
  }
}

export function validatePersistentVolume(obj: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  const spec = readSpec(obj, errs);
  validateAccessModes(spec, 'spec', errs, 'must specify at least 1 access mode');
  validateStorageList(readRecord(spec, 'capacity', 'spec', errs), 'spec.capacity', errs, false);
  validateVolumeMode(spec, 'spec', errs);
  validateClassName(spec, 'spec', errs);
  const policy = readString(spec, 'persistentVolumeReclaimPolicy', 'spec', errs);
  if (policy !== undefined && !RECLAIM_POLICIES.includes(policy)) {
    errs.push(notSupported('spec.persistentVolumeReclaimPolicy', policy, RECLAIM_POLICIES));
  }
  validatePVSource(spec, errs);
  if (spec.nodeAffinity !== undefined && spec.nodeAffinity !== null) {
    validateVolumeNodeAffinity(spec.nodeAffinity, 'spec.nodeAffinity', errs);
  }
  const claimRef = readRecord(spec, 'claimRef', 'spec', errs);
  if (claimRef) {
    if (typeof claimRef.name !== 'string' || !claimRef.name)
      errs.push(required('spec.claimRef.name'));
    if (typeof claimRef.namespace !== 'string' || !claimRef.namespace)
      errs.push(required('spec.claimRef.namespace'));
  }
  readList(spec, 'mountOptions', 'spec', errs);
  return errs;
}

/** A claim's spec at `path`: the checks shared by PVCs and StatefulSet volumeClaimTemplates. */
export function validateClaimSpec(spec: Rec, path: string): FieldError[] {
  const errs: FieldError[] = [];
  validateAccessModes(spec, path, errs, 'at least 1 access mode is required');
  const resources = readRecord(spec, 'resources', path, errs);
  const rp = child(path, 'resources');
  validateStorageList(
    resources ? readRecord(resources, 'requests', rp, errs) : undefined,
    child(rp, 'requests'),
    errs,
    true,
  );
  if (resources) {
    const limits = readRecord(resources, 'limits', rp, errs);
    for (const [name, q] of Object.entries(limits ?? {})) {
      validateQuantity(q, key(child(rp, 'limits'), name), errs);
    }
  }
  validateVolumeMode(spec, path, errs);
  validateClassName(spec, path, errs);
  readString(spec, 'volumeName', path, errs);
  if (spec.selector !== undefined && spec.selector !== null) {
    validateLabelSelector(spec.selector, child(path, 'selector'), errs);
  }
  if (spec.dataSource != null || spec.dataSourceRef != null) {
    errs.push(
      forbidden(
        child(path, spec.dataSource != null ? 'dataSource' : 'dataSourceRef'),
        'volume populators and snapshots are not supported by this cluster',
      ),
    );
  }
  return errs;
}

export function validatePersistentVolumeClaim(obj: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  return [...errs, ...validateClaimSpec(readSpec(obj, errs), 'spec')];
}

/** A StatefulSet's volumeClaimTemplates: each a named claim whose spec is a valid PVC spec. */
export function validateClaimTemplates(list: unknown[] | undefined, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const names = new Set<string>();
  for (const [t, i] of recordItems(list, path, errs)) {
    const p = index(path, i);
    const meta = isRecord(t.metadata) ? t.metadata : {};
    const name = meta.name;
    if (typeof name !== 'string' || !name) {
      errs.push(required(child(p, 'metadata.name')));
    } else {
      errs.push(...invalidEach(child(p, 'metadata.name'), name, dns1123SubdomainErrors(name)));
      if (names.has(name)) errs.push(duplicate(child(p, 'metadata.name'), name));
      names.add(name);
    }
    validateCommonMeta(meta, child(p, 'metadata'), errs);
    errs.push(...validateClaimSpec(isRecord(t.spec) ? t.spec : {}, child(p, 'spec')));
  }
  return errs;
}

export function validateStorageClass(obj: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  const provisioner = readString(obj, 'provisioner', '', errs);
  if (!provisioner) errs.push(required('provisioner'));
  // A qualified name, as Go checks it: an optional DNS-subdomain prefix and a name.
  else
    errs.push(
      ...invalidEach('provisioner', provisioner, labelKeyErrors(provisioner.toLowerCase())),
    );
  const policy = readString(obj, 'reclaimPolicy', '', errs);
  if (policy !== undefined && !RECLAIM_POLICIES.includes(policy)) {
    errs.push(notSupported('reclaimPolicy', policy, RECLAIM_POLICIES));
  }
  const mode = readString(obj, 'volumeBindingMode', '', errs);
  if (mode !== undefined && !BINDING_MODES.includes(mode)) {
    errs.push(notSupported('volumeBindingMode', mode, BINDING_MODES));
  }
  const params = readStringMap(obj, 'parameters', '', errs) ?? {};
  if (Object.keys(params).length > 512) {
    errs.push(
      invalid('parameters', Object.keys(params).length, 'must have at most 512 parameters'),
    );
  }
  readBool(obj, 'allowVolumeExpansion', '', errs);
  readList(obj, 'mountOptions', '', errs);
  return errs;
}

const recOf = (v: unknown): Rec => (isRecord(v) ? v : {});

function storageRequest(spec: Rec): number | undefined {
  const q = recOf(recOf(spec.resources).requests).storage;
  return typeof q === 'string' || typeof q === 'number' ? parseQuantity(q) : undefined;
}

/**
 * A claim's spec is immutable once created, except that requests.storage may
 * grow, volumeName may be filled in once (binding) and an absent
 * storageClassName may be set (as Kubernetes' retroactive default class does).
 */
export function validateClaimUpdate(oldObj: KubeObject, newObj: KubeObject): FieldError[] {
  const oldSpec = recOf(oldObj.spec);
  const newSpec = recOf(newObj.spec);
  const errs: FieldError[] = [];
  const before = storageRequest(oldSpec);
  const after = storageRequest(newSpec);
  if (before !== undefined && after !== undefined && after < before) {
    errs.push(
      invalid(
        'spec.resources.requests.storage',
        recOf(recOf(newSpec.resources).requests).storage,
        'field can not be less than previous value',
      ),
    );
  }
  const munged = structuredClone(newSpec);
  munged.resources = oldSpec.resources;
  if (!oldSpec.volumeName) munged.volumeName = oldSpec.volumeName;
  if (oldSpec.storageClassName === undefined || oldSpec.storageClassName === null)
    munged.storageClassName = oldSpec.storageClassName;
  const strip = (s: Rec): Rec =>
    Object.fromEntries(Object.entries(s).filter(([, v]) => v !== undefined && v !== null));
  if (!jsonEqual(strip(munged), strip(oldSpec))) {
    errs.push(
      forbidden(
        'spec',
        'spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims',
      ),
    );
  }
  return errs;
}

/** A volume's source, mode and node affinity stay as created. */
export function validateVolumeUpdate(oldObj: KubeObject, newObj: KubeObject): FieldError[] {
  const oldSpec = recOf(oldObj.spec);
  const newSpec = recOf(newObj.spec);
  const errs: FieldError[] = [];
  for (const src of [...PV_SOURCES, ...KNOWN_PV_SOURCES]) {
    if (!jsonEqual(oldSpec[src] ?? null, newSpec[src] ?? null)) {
      errs.push(
        forbidden(
          'spec.persistentvolumesource',
          'spec.persistentvolumesource is immutable after creation',
        ),
      );
      break;
    }
  }
  if (!jsonEqual(oldSpec.volumeMode ?? null, newSpec.volumeMode ?? null))
    errs.push(invalid('spec.volumeMode', newSpec.volumeMode ?? null, 'field is immutable'));
  if (
    oldSpec.nodeAffinity != null &&
    !jsonEqual(oldSpec.nodeAffinity, newSpec.nodeAffinity ?? null)
  )
    errs.push(invalid('spec.nodeAffinity', 'object', 'field is immutable'));
  return errs;
}

export function validateStorageClassUpdate(oldObj: KubeObject, newObj: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  if (!jsonEqual(oldObj.parameters ?? {}, newObj.parameters ?? {}))
    errs.push(forbidden('parameters', 'updates to parameters are forbidden.'));
  if (oldObj.provisioner !== newObj.provisioner)
    errs.push(forbidden('provisioner', 'updates to provisioner are forbidden.'));
  if ((oldObj.reclaimPolicy ?? 'Delete') !== (newObj.reclaimPolicy ?? 'Delete'))
    errs.push(forbidden('reclaimPolicy', 'updates to reclaimPolicy are forbidden.'));
  if ((oldObj.volumeBindingMode ?? 'Immediate') !== (newObj.volumeBindingMode ?? 'Immediate'))
    errs.push(invalid('volumeBindingMode', newObj.volumeBindingMode ?? null, 'field is immutable'));
  return errs;
}
