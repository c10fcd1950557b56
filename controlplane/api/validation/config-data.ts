// ConfigMaps and Secrets: keys that can be file names in a volume, Secret
// values that are base64, the type-specific keys Kubernetes requires, and
// the 1 MiB limit on the whole payload.

import type { FieldError } from '../status.js';
import type { KubeObject } from '../objects.js';
import {
  invalid,
  invalidEach,
  key,
  readBool,
  readRecord,
  readString,
  required,
  tooLong,
  type Rec,
} from './field.js';
import { configMapKeyErrors } from './names.js';

export const MAX_DATA_SIZE = 1024 * 1024;

/**
 * Where a base64 text first goes wrong, as Go's StdEncoding reports it
 * ("illegal base64 data at input byte N"); undefined when it decodes. Go
 * skips CR and LF, so they are allowed anywhere.
 */
export function base64Error(text: string): number | undefined {
  const s = text.replace(/[\r\n]/g, '');
  const bad = s.search(/[^A-Za-z0-9+/=]/);
  if (bad >= 0) return bad;
  const pad = s.indexOf('=');
  if (pad >= 0 && (!/^=*$/.test(s.slice(pad)) || s.length - pad > 2)) return pad;
  if (s.length % 4 !== 0) return s.length - (s.length % 4);
  return undefined;
}

/** Decoded size of valid base64. */
function decodedSize(text: string): number {
  return Buffer.from(text.replace(/[\r\n]/g, ''), 'base64').length;
}

/** A map of string values at `obj[field]`, each key a config key; returns the entries. */
function keyedData(obj: Rec, field: string, errs: FieldError[]): [string, string][] {
  const m = readRecord(obj, field, '', errs);
  const out: [string, string][] = [];
  for (const [k, v] of Object.entries(m ?? {})) {
    const p = key(field, k);
    errs.push(...invalidEach(p, k, configMapKeyErrors(k)));
    if (typeof v !== 'string') errs.push(invalid(p, v, 'must be a string'));
    else out.push([k, v]);
  }
  return out;
}

export function validateConfigMap(obj: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  readBool(obj, 'immutable', '', errs);
  const data = keyedData(obj, 'data', errs);
  const binary = keyedData(obj, 'binaryData', errs);
  const dataKeys = new Set(data.map(([k]) => k));
  let size = 0;
  for (const [, v] of data) size += Buffer.byteLength(v);
  for (const [k, v] of binary) {
    if (dataKeys.has(k))
      errs.push(invalid(key('binaryData', k), k, 'duplicate of key present in data'));
    const at = base64Error(v);
    if (at !== undefined)
      errs.push(
        invalid(key('binaryData', k), '<binary>', `illegal base64 data at input byte ${at}`),
      );
    else size += decodedSize(v);
  }
  // Go reports the size at the whole object; `data` names where the bytes are.
  if (size > MAX_DATA_SIZE) errs.push(tooLong('data', MAX_DATA_SIZE));
  return errs;
}

/** Keys each built-in Secret type must carry. */
const REQUIRED_SECRET_KEYS: Record<string, string[]> = {
  'kubernetes.io/tls': ['tls.crt', 'tls.key'],
  'kubernetes.io/dockerconfigjson': ['.dockerconfigjson'],
  'kubernetes.io/dockercfg': ['.dockercfg'],
  'kubernetes.io/ssh-auth': ['ssh-privatekey'],
};

export function validateSecret(obj: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  readBool(obj, 'immutable', '', errs);
  const data = keyedData(obj, 'data', errs);
  // stringData is merged into data on write; its keys follow the same rule.
  const stringData = keyedData(obj, 'stringData', errs);
  let size = 0;
  for (const [k, v] of data) {
    const at = base64Error(v);
    // The value is secret: the error names only the key.
    if (at !== undefined)
      errs.push(invalid(key('data', k), k, `illegal base64 data at input byte ${at}`));
    else size += decodedSize(v);
  }
  for (const [, v] of stringData) size += Buffer.byteLength(v);
  if (size > MAX_DATA_SIZE) errs.push(tooLong('data', MAX_DATA_SIZE));

  const type = readString(obj, 'type', '', errs) ?? 'Opaque';
  const present = new Set([...data, ...stringData].map(([k]) => k));
  for (const k of REQUIRED_SECRET_KEYS[type] ?? []) {
    if (!present.has(k)) errs.push(required(key('data', k)));
  }
  if (type === 'kubernetes.io/basic-auth' && !present.has('username') && !present.has('password')) {
    errs.push(required(key('data', 'username')), required(key('data', 'password')));
  }
  if (type === 'kubernetes.io/service-account-token') {
    const annotations = obj.metadata.annotations ?? {};
    if (!annotations['kubernetes.io/service-account.name']) {
      errs.push(required(key('metadata.annotations', 'kubernetes.io/service-account.name')));
    }
  }
  return errs;
}
