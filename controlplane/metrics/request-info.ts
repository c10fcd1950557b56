// What one API request is, for metrics: Kubernetes' verb (list and watch are
// GETs on a collection, deletecollection a DELETE on one), the API group and
// resource, and whether it is long-running (a watch, a log follow) or
// read-only. Labels come only from the finite set of served resources, so a
// client probing random paths cannot grow the series count: anything else is
// resource "" (a non-resource URL, as /healthz or /version in Kubernetes).

import { findResource } from '../api/resources.js';

export type RequestVerb =
  | 'get'
  | 'list'
  | 'watch'
  | 'create'
  | 'update'
  | 'patch'
  | 'delete'
  | 'deletecollection'
  | 'connect'
  | 'unknown';

export interface RequestInfo {
  verb: RequestVerb;
  /** "" for the core group and for non-resource URLs. */
  group: string;
  /** The resource's plural, or "" when the path names no served resource. */
  resource: string;
  subresource: string;
  /** Watches and followed logs: their duration is the client's choice, not a latency. */
  longRunning: boolean;
  readOnly: boolean;
}

const NON_RESOURCE: Record<string, RequestVerb> = {
  GET: 'get',
  HEAD: 'get',
  POST: 'create',
  PUT: 'update',
  PATCH: 'patch',
  DELETE: 'delete',
};

function isTrueParam(query: string, name: string): boolean {
  if (query === '') return false;
  for (const part of query.split('&')) {
    const eq = part.indexOf('=');
    const k = eq < 0 ? part : part.slice(0, eq);
    if (k !== name) continue;
    const v = eq < 0 ? '' : part.slice(eq + 1);
    return v === 'true' || v === '1';
  }
  return false;
}

/** Classifies a request by method and URL (path and query) alone; never throws. */
export function requestInfo(method: string, url: string): RequestInfo {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const query = q < 0 ? '' : url.slice(q + 1);
  const readOnly = method === 'GET' || method === 'HEAD' || method === 'OPTIONS';
  const out: RequestInfo = {
    verb: NON_RESOURCE[method] ?? 'unknown',
    group: '',
    resource: '',
    subresource: '',
    longRunning: false,
    readOnly,
  };
  const segs = path.split('/');
  // segs[0] is "" (the leading slash).
  let i: number;
  let group = '';
  let version: string | undefined;
  if (segs[1] === 'api') {
    version = segs[2];
    i = 3;
  } else if (segs[1] === 'apis') {
    group = segs[2] ?? '';
    version = segs[3];
    i = 4;
  } else {
    return out;
  }
  if (!version) return out;
  let watchPath = false;
  if (segs[i] === 'watch') {
    watchPath = true;
    i++;
  }
  let rest = segs.slice(i).filter((s) => s !== '');
  if (
    rest[0] === 'namespaces' &&
    rest.length >= 3 &&
    !(group === '' && rest.length === 3 && (rest[2] === 'status' || rest[2] === 'finalize'))
  ) {
    rest = rest.slice(2);
  }
  const [plural, name, sub] = rest;
  const resource = plural ? findResource(group, version, plural) : undefined;
  if (!resource) return out;
  out.group = group;
  out.resource = resource.plural;
  if (sub !== undefined && (resource.subresources as string[]).includes(sub)) out.subresource = sub;
  else if (sub === 'finalize') out.subresource = sub;
  const collection = name === undefined;
  switch (method) {
    case 'GET':
    case 'HEAD':
      if (watchPath || isTrueParam(query, 'watch')) {
        out.verb = 'watch';
        out.longRunning = true;
      } else if (collection) {
        out.verb = 'list';
      } else {
        out.verb = 'get';
        // kubectl logs -f and exec-style streams stay open as long as the client wants.
        if (out.subresource === 'log' && isTrueParam(query, 'follow')) out.longRunning = true;
      }
      break;
    case 'POST':
      out.verb = out.subresource === 'exec' || out.subresource === 'attach' ? 'connect' : 'create';
      break;
    case 'PUT':
      out.verb = 'update';
      break;
    case 'PATCH':
      out.verb = 'patch';
      break;
    case 'DELETE':
      out.verb = collection ? 'deletecollection' : 'delete';
      break;
  }
  return out;
}

/** Kubernetes' type label of etcd_request_duration_seconds: the resource plural from a registry key. */
export function storageTypeOfKey(key: string): string {
  // Keys are /registry/<plural>/…; anything else (the leader key, a revision probe) is "".
  if (!key.startsWith('/registry/')) return '';
  const end = key.indexOf('/', 10);
  return end < 0 ? key.slice(10) : key.slice(10, end);
}
