// The workload kinds that own a pod template: Deployment, ReplicaSet,
// DaemonSet (apps/v1) and Job (batch/v1). Each checks its selector against
// its template's labels and the template as a pod spec under
// `spec.template.spec`, as Go's apps and batch validation do.

import type { FieldError } from '../status.js';
import type { KubeObject } from '../objects.js';
import { isRecord } from '../objects.js';
import {
  child,
  formatStringMap,
  forbidden,
  invalid,
  invalidEach,
  nonNegative,
  notSupported,
  readBool,
  readInt,
  readList,
  readRecord,
  readSpec,
  readString,
  Rendered,
  required,
  type Rec,
} from './field.js';
import {
  formatSelector,
  isEmptySelector,
  selectorMatches,
  validateLabelSelector,
  type Selector,
} from './labels.js';
import { dns1123LabelErrors, percentErrors } from './names.js';
import { validatePodTemplate } from './pod-spec.js';
import { validateClaimTemplates } from './storage.js';

function templateOf(spec: Rec, errs: FieldError[]): Rec {
  return readRecord(spec, 'template', 'spec', errs) ?? {};
}

function templateLabels(template: Rec): Record<string, string> | undefined {
  const meta = isRecord(template.metadata) ? template.metadata : {};
  const labels = meta.labels;
  if (!isRecord(labels)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) if (typeof v === 'string') out[k] = v;
  return out;
}

/** The template's restartPolicy, which the server defaults to Always when absent. */
function templateRestartPolicy(template: Rec): string {
  const spec = isRecord(template.spec) ? template.spec : {};
  return typeof spec.restartPolicy === 'string' ? spec.restartPolicy : 'Always';
}

function mismatch(labels: Record<string, string> | undefined): FieldError {
  return invalid(
    'spec.template.metadata.labels',
    new Rendered(formatStringMap(labels)),
    '`selector` does not match template `labels`',
  );
}

/**
 * Selector and template of a controller that keeps pods by selector. An
 * absent selector is required and matches nothing; an empty one is
 * rejected; otherwise the template's labels must match it.
 */
function validateSelectorAndTemplate(
  spec: Rec,
  template: Rec,
  emptyWord: string,
  errs: FieldError[],
): void {
  const selErrs: FieldError[] = [];
  const selector = validateLabelSelector(spec.selector, 'spec.selector', selErrs);
  errs.push(...selErrs);
  const labels = templateLabels(template);
  if (selector === undefined) {
    errs.push(required('spec.selector'));
    errs.push(mismatch(labels));
  } else if (selErrs.length > 0) {
    errs.push(
      invalid('spec.selector', new Rendered(formatSelector(selector)), 'invalid label selector'),
    );
  } else if (isEmptySelector(selector)) {
    errs.push(
      invalid(
        'spec.selector',
        new Rendered(formatSelector(selector)),
        `empty selector is invalid for ${emptyWord}`,
      ),
    );
  } else if (!selectorMatches(selector, labels)) {
    errs.push(mismatch(labels));
  }
  errs.push(...validatePodTemplate(template, 'spec.template'));
}

/** Pods of controllers that keep them running restart Always and have no deadline. */
function validateLongRunningTemplate(template: Rec, owner: string, errs: FieldError[]): void {
  const restartPolicy = templateRestartPolicy(template);
  if (restartPolicy !== 'Always') {
    errs.push(notSupported('spec.template.spec.restartPolicy', restartPolicy, ['Always']));
  }
  const podSpec = isRecord(template.spec) ? template.spec : {};
  if (podSpec.activeDeadlineSeconds !== undefined && podSpec.activeDeadlineSeconds !== null) {
    errs.push(
      invalid(
        'spec.template.spec.activeDeadlineSeconds',
        podSpec.activeDeadlineSeconds,
        `activeDeadlineSeconds in ${owner} is not Supported`,
      ),
    );
  }
}

/** An IntOrString that is a count or a percentage; returns its number for the zero checks. */
function intOrPercent(
  spec: Rec,
  field: string,
  path: string,
  errs: FieldError[],
): number | undefined {
  const v = spec[field];
  const p = child(path, field);
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') {
    const msgs = percentErrors(v);
    errs.push(...invalidEach(p, v, msgs));
    if (msgs.length > 0) return 0;
    const n = Number(v.slice(0, -1));
    if (n > 100) errs.push(invalid(p, v, 'must not be greater than 100%'));
    return n;
  }
  if (typeof v === 'number' && Number.isInteger(v)) {
    errs.push(...nonNegative(p, v));
    return v;
  }
  errs.push(invalid(p, v, 'must be an integer or percentage'));
  return 0;
}

function validateReplicaCounts(spec: Rec, errs: FieldError[]): number {
  const minReady = readInt(spec, 'minReadySeconds', 'spec', errs);
  for (const field of ['replicas', 'minReadySeconds', 'revisionHistoryLimit']) {
    errs.push(
      ...nonNegative(
        child('spec', field),
        field === 'minReadySeconds' ? minReady : readInt(spec, field, 'spec', errs),
      ),
    );
  }
  return minReady ?? 0;
}

export function validateDeployment(obj: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  const spec = readSpec(obj, errs);
  const template = templateOf(spec, errs);
  const minReady = validateReplicaCounts(spec, errs);
  const deadline = readInt(spec, 'progressDeadlineSeconds', 'spec', errs);
  if (deadline !== undefined) {
    errs.push(...nonNegative('spec.progressDeadlineSeconds', deadline));
    if (deadline <= minReady)
      errs.push(
        invalid('spec.progressDeadlineSeconds', deadline, 'must be greater than minReadySeconds'),
      );
  }
  readBool(spec, 'paused', 'spec', errs);
  validateSelectorAndTemplate(spec, template, 'deployment', errs);
  validateLongRunningTemplate(template, 'ReplicaSet', errs);

  const strategy = readRecord(spec, 'strategy', 'spec', errs);
  const type = strategy
    ? (readString(strategy, 'type', 'spec.strategy', errs) ?? 'RollingUpdate')
    : 'RollingUpdate';
  const rollingUpdate = strategy
    ? readRecord(strategy, 'rollingUpdate', 'spec.strategy', errs)
    : undefined;
  if (type === 'Recreate') {
    if (rollingUpdate)
      errs.push(
        forbidden(
          'spec.strategy.rollingUpdate',
          "may not be specified when strategy `type` is 'Recreate'",
        ),
      );
  } else if (type === 'RollingUpdate') {
    if (rollingUpdate) {
      const path = 'spec.strategy.rollingUpdate';
      const unavailable = intOrPercent(rollingUpdate, 'maxUnavailable', path, errs);
      const surge = intOrPercent(rollingUpdate, 'maxSurge', path, errs);
      // Absent values default to 25%, so only explicit zeros count.
      if (unavailable === 0 && surge === 0) {
        errs.push(
          invalid(
            child(path, 'maxUnavailable'),
            rollingUpdate.maxUnavailable,
            'may not be 0 when `maxSurge` is 0',
          ),
        );
      }
    }
  } else {
    errs.push(
      notSupported(
        'spec.strategy',
        new Rendered(`apps.DeploymentStrategy{Type:${JSON.stringify(type)}}`),
        ['Recreate', 'RollingUpdate'],
      ),
    );
  }
  return errs;
}

export function validateReplicaSet(obj: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  const spec = readSpec(obj, errs);
  const template = templateOf(spec, errs);
  validateReplicaCounts(spec, errs);
  // Go's ReplicaSet validation says "deployment" here too.
  validateSelectorAndTemplate(spec, template, 'deployment', errs);
  validateLongRunningTemplate(template, 'ReplicaSet', errs);
  return errs;
}

export function validateDaemonSet(obj: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  const spec = readSpec(obj, errs);
  const template = templateOf(spec, errs);
  for (const field of ['minReadySeconds', 'revisionHistoryLimit']) {
    errs.push(...nonNegative(child('spec', field), readInt(spec, field, 'spec', errs)));
  }
  validateSelectorAndTemplate(spec, template, 'daemonset', errs);
  validateLongRunningTemplate(template, 'DaemonSet', errs);

  const strategy = readRecord(spec, 'updateStrategy', 'spec', errs);
  const type = strategy
    ? (readString(strategy, 'type', 'spec.updateStrategy', errs) ?? 'RollingUpdate')
    : 'RollingUpdate';
  if (type === 'RollingUpdate') {
    const ru = strategy
      ? readRecord(strategy, 'rollingUpdate', 'spec.updateStrategy', errs)
      : undefined;
    if (ru) {
      const path = 'spec.updateStrategy.rollingUpdate';
      // Absent values default to maxUnavailable 1, maxSurge 0.
      const unavailable = intOrPercent(ru, 'maxUnavailable', path, errs) ?? 1;
      const surge = intOrPercent(ru, 'maxSurge', path, errs) ?? 0;
      if (unavailable !== 0 && surge !== 0) {
        errs.push(
          invalid(
            child(path, 'maxSurge'),
            ru.maxSurge,
            'may not be set when maxUnavailable is non-zero',
          ),
        );
      } else if (unavailable === 0 && surge === 0) {
        errs.push(required(child(path, 'maxUnavailable'), 'cannot be 0 when maxSurge is 0'));
      }
    }
  } else if (type !== 'OnDelete') {
    errs.push(
      notSupported(
        'spec.updateStrategy',
        new Rendered(`apps.DaemonSetUpdateStrategy{Type:${JSON.stringify(type)}}`),
        ['RollingUpdate', 'OnDelete'],
      ),
    );
  }
  return errs;
}

const JOB_RESTART_POLICIES = ['OnFailure', 'Never'];

export function validateJob(obj: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  const spec = readSpec(obj, errs);
  const template = templateOf(spec, errs);
  for (const field of [
    'parallelism',
    'completions',
    'activeDeadlineSeconds',
    'backoffLimit',
    'ttlSecondsAfterFinished',
  ]) {
    errs.push(...nonNegative(child('spec', field), readInt(spec, field, 'spec', errs)));
  }
  const mode = readString(spec, 'completionMode', 'spec', errs);
  if (mode !== undefined && mode !== 'NonIndexed' && mode !== 'Indexed') {
    errs.push(notSupported('spec.completionMode', mode, ['NonIndexed', 'Indexed']));
  }
  if (mode === 'Indexed' && (spec.completions === undefined || spec.completions === null)) {
    errs.push(required('spec.completions', 'when completion mode is Indexed'));
  }
  readBool(spec, 'suspend', 'spec', errs);
  readBool(spec, 'manualSelector', 'spec', errs);
  // Shoal does not generate Job selectors, so one is optional; when given
  // it must select the job's own pods.
  const selErrs: FieldError[] = [];
  const selector: Selector | undefined = validateLabelSelector(
    spec.selector,
    'spec.selector',
    selErrs,
  );
  errs.push(...selErrs);
  if (selector && selErrs.length === 0 && !selectorMatches(selector, templateLabels(template))) {
    errs.push(mismatch(templateLabels(template)));
  }
  errs.push(...validatePodTemplate(template, 'spec.template'));
  const restartPolicy = templateRestartPolicy(template);
  if (!JOB_RESTART_POLICIES.includes(restartPolicy)) {
    errs.push(
      notSupported('spec.template.spec.restartPolicy', restartPolicy, JOB_RESTART_POLICIES),
    );
  }
  return errs;
}

/** The template as the set's pods get it: plus one volume per volumeClaimTemplate. */
function withClaimVolumes(template: Rec, spec: Rec): Rec {
  const claims = Array.isArray(spec.volumeClaimTemplates) ? spec.volumeClaimTemplates : [];
  const names = claims
    .map((t) => (isRecord(t) && isRecord(t.metadata) ? t.metadata.name : undefined))
    .filter((n): n is string => typeof n === 'string' && n !== '');
  if (names.length === 0 || !isRecord(template.spec)) return template;
  const podSpec = template.spec;
  const volumes = Array.isArray(podSpec.volumes) ? podSpec.volumes : [];
  const have = new Set(volumes.map((v) => (isRecord(v) ? v.name : undefined)));
  const added = names
    .filter((n) => !have.has(n))
    .map((n) => ({ name: n, persistentVolumeClaim: { claimName: n } }));
  return { ...template, spec: { ...podSpec, volumes: [...volumes, ...added] } };
}

const STS_POLICIES = ['OrderedReady', 'Parallel'];
const STS_RETENTION = ['Retain', 'Delete'];

export function validateStatefulSet(obj: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  const spec = readSpec(obj, errs);
  const template = templateOf(spec, errs);
  validateReplicaCounts(spec, errs);
  const serviceName = readString(spec, 'serviceName', 'spec', errs);
  // The pods' subdomain: <pod>.<serviceName>.<ns>.svc names them in DNS.
  if (serviceName) {
    errs.push(...invalidEach('spec.serviceName', serviceName, dns1123LabelErrors(serviceName)));
  }
  const policy = readString(spec, 'podManagementPolicy', 'spec', errs);
  if (policy !== undefined && !STS_POLICIES.includes(policy)) {
    errs.push(notSupported('spec.podManagementPolicy', policy, STS_POLICIES));
  }
  // Containers may mount the claim templates by name: the pods get those volumes.
  validateSelectorAndTemplate(spec, withClaimVolumes(template, spec), 'statefulset', errs);
  validateLongRunningTemplate(template, 'StatefulSet', errs);

  const strategy = readRecord(spec, 'updateStrategy', 'spec', errs);
  const type = strategy
    ? (readString(strategy, 'type', 'spec.updateStrategy', errs) ?? 'RollingUpdate')
    : 'RollingUpdate';
  const ru = strategy
    ? readRecord(strategy, 'rollingUpdate', 'spec.updateStrategy', errs)
    : undefined;
  if (type === 'RollingUpdate') {
    if (ru) {
      const path = 'spec.updateStrategy.rollingUpdate';
      errs.push(...nonNegative(child(path, 'partition'), readInt(ru, 'partition', path, errs)));
      const unavailable = intOrPercent(ru, 'maxUnavailable', path, errs);
      if (unavailable === 0) {
        errs.push(
          invalid(child(path, 'maxUnavailable'), ru.maxUnavailable, 'must be greater than 0'),
        );
      }
    }
  } else if (type === 'OnDelete') {
    if (ru) {
      errs.push(
        invalid(
          'spec.updateStrategy.rollingUpdate',
          new Rendered('object'),
          "only allowed for updateStrategy 'RollingUpdate'",
        ),
      );
    }
  } else {
    errs.push(notSupported('spec.updateStrategy.type', type, ['RollingUpdate', 'OnDelete']));
  }

  const retention = readRecord(spec, 'persistentVolumeClaimRetentionPolicy', 'spec', errs);
  if (retention) {
    const path = 'spec.persistentVolumeClaimRetentionPolicy';
    for (const field of ['whenDeleted', 'whenScaled']) {
      const v = readString(retention, field, path, errs);
      if (v !== undefined && !STS_RETENTION.includes(v)) {
        errs.push(notSupported(child(path, field), v, STS_RETENTION));
      }
    }
  }
  errs.push(
    ...validateClaimTemplates(
      readList(spec, 'volumeClaimTemplates', 'spec', errs),
      'spec.volumeClaimTemplates',
    ),
  );
  return errs;
}
