// The REST surface of every served resource: turns Kubernetes URLs, verbs and
// query parameters into Registry calls. Paths are parsed here rather than as
// fastify routes because the same shape repeats for every group, version,
// namespace and subresource.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isRecord, type KubeObject } from '../objects.js';
import { ApiError } from '../status.js';
import { findResource, type ResourceInfo } from '../resources.js';
import type {
  DeleteOptions,
  ListQuery,
  PatchType,
  Registry,
  WriteOptions,
} from '../registry/registry.js';
import { formatLabelSelector, fromLabelSelector } from '../selectors.js';
import { streamWatch, type WatchEncoder, type WatchMetrics } from './watch-stream.js';
import { parseIncludeObject, toTable, wantsTable } from '../table.js';
import { patchValue } from '../registry/patch-value.js';
import { warningHeader } from '../field-validation.js';

export interface ResourcePath {
  resource: ResourceInfo;
  namespace?: string;
  name?: string;
  subresource?: string;
  /** The deprecated /watch/ path prefix. */
  watchPath: boolean;
}

type Query = Record<string, string | undefined>;

const PATCH_TYPES: Record<string, PatchType> = {
  'application/json-patch+json': 'json',
  'application/merge-patch+json': 'merge',
  'application/strategic-merge-patch+json': 'strategic',
  'application/apply-patch+yaml': 'apply',
  'application/apply-patch+cbor': 'apply',
};

/**
 * Splits `/api/v1/namespaces/ns/pods/name/status` (or `/apis/apps/v1/...`) into
 * its parts; answers 404 for anything that is not a served resource.
 */
export function parseResourcePath(url: string): ResourcePath {
  const path = url.split('?')[0] ?? '';
  const segs = path
    .split('/')
    .filter((s) => s.length > 0)
    .map(decodeURIComponent);
  let group = '';
  let version: string | undefined;
  let rest: string[];
  if (segs[0] === 'api') {
    version = segs[1];
    rest = segs.slice(2);
  } else if (segs[0] === 'apis') {
    group = segs[1] ?? '';
    version = segs[2];
    rest = segs.slice(3);
  } else {
    throw notFoundPath();
  }
  let watchPath = false;
  if (rest[0] === 'watch') {
    watchPath = true;
    rest = rest.slice(1);
  }
  let namespace: string | undefined;
  // /api/v1/namespaces/{name}[/status|/finalize] is the Namespace itself.
  if (
    rest[0] === 'namespaces' &&
    rest.length >= 3 &&
    !(group === '' && (rest[2] === 'status' || rest[2] === 'finalize') && rest.length === 3)
  ) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [plural, name, subresource, ...extra] = rest;
  const resource = version && plural ? findResource(group, version, plural) : undefined;
  if (!resource || extra.length > 0) throw notFoundPath();
  if (namespace !== undefined && !resource.namespaced) throw notFoundPath();
  if (
    subresource !== undefined &&
    !(resource.subresources as string[]).includes(subresource) &&
    !(resource.kind === 'Namespace' && subresource === 'finalize')
  ) {
    throw notFoundPath();
  }
  const out: ResourcePath = { resource, watchPath };
  if (namespace !== undefined) out.namespace = namespace;
  if (name !== undefined) out.name = name;
  if (subresource !== undefined) out.subresource = subresource;
  return out;
}

function notFoundPath(): ApiError {
  return new ApiError('NotFound', 'the server could not find the requested resource', {});
}

export interface ResourceRoutesOptions {
  registry: Registry;
  /** Counts the events sent to watchers (apiserver_watch_events_total). */
  watchMetrics?: WatchMetrics;
  /** Serves pods/log; until a node agent is connected there is nothing to read. */
  podLogs?: (
    req: FastifyRequest,
    reply: FastifyReply,
    namespace: string,
    name: string,
    query: Query,
  ) => Promise<void>;
}

export async function registerResourceRoutes(
  app: FastifyInstance,
  opts: ResourceRoutesOptions,
): Promise<void> {
  const handler = async (req: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
    const path = parseResourcePath(req.url);
    const query = req.query as Query;
    return dispatch(opts, req, reply, path, query);
  };
  // Warnings collected while writing (dropped unknown fields) go out as Warning headers.
  app.addHook('onSend', async (req, reply) => {
    const warnings = (req as FastifyRequest & { shoalWarnings?: string[] }).shoalWarnings;
    if (warnings && warnings.length > 0)
      void reply.header('Warning', [...new Set(warnings)].map(warningHeader));
  });
  for (const prefix of ['/api/*', '/apis/*']) {
    app.route({ method: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'], url: prefix, handler });
  }
}

async function dispatch(
  opts: ResourceRoutesOptions,
  req: FastifyRequest,
  reply: FastifyReply,
  path: ResourcePath,
  query: Query,
): Promise<unknown> {
  const { registry } = opts;
  const r = path.resource;
  const ns = r.namespaced ? path.namespace : undefined;
  const method = req.method;
  const write = writeOptions(req, query);
  (req as FastifyRequest & { shoalWarnings?: string[] }).shoalWarnings = write.warnings;

  if (path.name === undefined) {
    // Collection.
    switch (method) {
      case 'GET':
        if (path.watchPath || isTrue(query.watch)) {
          await streamWatch(
            req,
            reply,
            registry,
            r,
            ns,
            listQuery(query),
            query,
            tableEncoder(req, r, query),
            opts.watchMetrics,
          );
          return reply;
        }
        const list = await registry.list(r, ns, listQuery(query));
        const table = wantsTable(req.headers.accept);
        if (table) {
          return toTable(r, list.items, {
            includeObject: parseIncludeObject(query.includeObject),
            listMeta: {
              resourceVersion: String(list.revision),
              ...(list.continue ? { continue: list.continue } : {}),
              ...(list.remainingItemCount !== undefined
                ? { remainingItemCount: list.remainingItemCount }
                : {}),
            },
            now: new Date(),
            version: table.version,
          });
        }
        return listResponse(r, list);
      case 'POST': {
        if (r.namespaced && ns === undefined) throw methodNotAllowed(method, r);
        const created = await registry.create(r, ns, req.body, write);
        return reply.code(201).send(created);
      }
      case 'DELETE': {
        if (r.namespaced && ns === undefined && r.kind !== 'Event') {
          // kube-apiserver allows this; keep it for parity.
        }
        const items = await registry.deleteCollection(
          r,
          ns,
          listQuery(query),
          deleteOptions(req, query),
        );
        return listResponse(r, { items, revision: 0 });
      }
      default:
        throw methodNotAllowed(method, r);
    }
  }

  const name = path.name;
  if (r.namespaced && ns === undefined) throw notFoundPath();
  switch (path.subresource) {
    case undefined:
      break;
    case 'status':
    case 'finalize':
      return statusSubresource(registry, req, reply, r, ns, name, write);
    case 'scale':
      return scaleSubresource(registry, req, r, ns!, name, write);
    case 'binding':
      if (method !== 'POST') throw methodNotAllowed(method, r);
      return reply.code(201).send(await bindPod(registry, r, ns!, name, req.body));
    case 'log':
      if (method !== 'GET') throw methodNotAllowed(method, r);
      await registry.get(r, ns, name);
      if (!opts.podLogs) {
        throw new ApiError(
          'ServiceUnavailable',
          `no node agent serves the logs of pod "${name}" yet`,
        );
      }
      await opts.podLogs(req, reply, ns!, name, query);
      return reply;
    case 'eviction':
      if (method !== 'POST') throw methodNotAllowed(method, r);
      return reply.code(201).send(await evictPod(registry, r, ns!, name, req.body, query));
    default:
      throw notFoundPath();
  }

  switch (method) {
    case 'GET':
      if (path.watchPath || isTrue(query.watch)) {
        const q = listQuery(query);
        q.fieldSelector = [`metadata.name=${name}`, q.fieldSelector].filter(Boolean).join(',');
        await streamWatch(
          req,
          reply,
          registry,
          r,
          ns,
          q,
          query,
          tableEncoder(req, r, query),
          opts.watchMetrics,
        );
        return reply;
      }
      const obj = await registry.get(r, ns, name);
      const table = wantsTable(req.headers.accept);
      if (!table) return obj;
      return toTable(r, [obj], {
        includeObject: parseIncludeObject(query.includeObject),
        listMeta: { resourceVersion: obj.metadata.resourceVersion! },
        now: new Date(),
        version: table.version,
      });
    case 'PUT':
      return registry.update(r, ns, name, req.body, write);
    case 'PATCH': {
      const { object, created } = await registry.patch(
        r,
        ns,
        name,
        patchType(req),
        req.body,
        write,
      );
      return reply.code(created ? 201 : 200).send(object);
    }
    case 'DELETE': {
      const { object } = await registry.delete(r, ns, name, deleteOptions(req, query));
      return object;
    }
    default:
      throw methodNotAllowed(method, r);
  }
}

async function statusSubresource(
  registry: Registry,
  req: FastifyRequest,
  reply: FastifyReply,
  r: ResourceInfo,
  ns: string | undefined,
  name: string,
  write: WriteOptions,
): Promise<unknown> {
  const opts: WriteOptions = { ...write, subresource: 'status' };
  switch (req.method) {
    case 'GET':
      return registry.get(r, ns, name);
    case 'PUT':
      return registry.update(r, ns, name, req.body, opts);
    case 'PATCH': {
      const { object } = await registry.patch(r, ns, name, patchType(req), req.body, opts);
      return reply.send(object);
    }
    default:
      throw methodNotAllowed(req.method, r);
  }
}

/** autoscaling/v1 Scale, the view `kubectl scale` reads and writes. */
function toScale(r: ResourceInfo, obj: KubeObject): KubeObject {
  const spec = isRecord(obj.spec) ? obj.spec : {};
  const status = isRecord(obj.status) ? obj.status : {};
  const selector = fromLabelSelector(isRecord(spec.selector) ? spec.selector : undefined);
  return {
    apiVersion: 'autoscaling/v1',
    kind: 'Scale',
    metadata: {
      name: obj.metadata.name!,
      namespace: obj.metadata.namespace!,
      uid: obj.metadata.uid!,
      resourceVersion: obj.metadata.resourceVersion!,
      creationTimestamp: obj.metadata.creationTimestamp!,
    },
    spec: { replicas: typeof spec.replicas === 'number' ? spec.replicas : 0 },
    status: {
      replicas: typeof status.replicas === 'number' ? status.replicas : 0,
      selector: selector === 'nothing' ? '' : formatLabelSelector(selector),
    },
  };
}

async function scaleSubresource(
  registry: Registry,
  req: FastifyRequest,
  r: ResourceInfo,
  ns: string,
  name: string,
  write: WriteOptions,
): Promise<unknown> {
  if (req.method === 'GET') return toScale(r, await registry.get(r, ns, name));
  if (req.method !== 'PUT' && req.method !== 'PATCH') throw methodNotAllowed(req.method, r);
  let desired: unknown = req.body;
  if (req.method === 'PATCH') {
    // Patch the Scale view, then carry its replicas over to the object.
    desired = patchValue(
      patchType(req),
      toScale(r, await registry.get(r, ns, name)),
      req.body,
      'Scale',
    );
  }
  const replicas = isRecord(desired) && isRecord(desired.spec) ? desired.spec.replicas : undefined;
  if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
    throw new ApiError(
      'Invalid',
      `Scale.autoscaling "${name}" is invalid: spec.replicas: Invalid value: ${String(replicas)}: must be greater than or equal to 0`,
      {
        name,
        group: 'autoscaling',
        kind: 'Scale',
        causes: [
          {
            reason: 'FieldValueInvalid',
            message: 'must be greater than or equal to 0',
            field: 'spec.replicas',
          },
        ],
      },
    );
  }
  const expected =
    isRecord(desired) && isRecord(desired.metadata) ? desired.metadata.resourceVersion : undefined;
  const updated = await registry.patch(
    r,
    ns,
    name,
    'merge',
    {
      metadata:
        typeof expected === 'string' && req.method === 'PUT' ? { resourceVersion: expected } : {},
      spec: { replicas },
    },
    write,
  );
  return toScale(r, updated.object);
}

/** pods/binding: assigns a node once; a pod already bound answers 409. */
async function bindPod(
  registry: Registry,
  r: ResourceInfo,
  ns: string,
  name: string,
  body: unknown,
): Promise<unknown> {
  const target = isRecord(body) && isRecord(body.target) ? body.target : undefined;
  const nodeName = target?.name;
  if (typeof nodeName !== 'string' || nodeName === '') {
    throw new ApiError('Invalid', `Binding "${name}" is invalid: target.name: Required value`, {
      name,
      kind: 'Binding',
      causes: [{ reason: 'FieldValueRequired', message: 'Required value', field: 'target.name' }],
    });
  }
  await registry.bind(r, ns, name, nodeName);
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 };
}

/**
 * pods/eviction (policy/v1 Eviction), what `kubectl drain` posts: the same
 * graceful delete as DELETE of the pod, with the Eviction's deleteOptions.
 * Shoal serves no PodDisruptionBudgets, so no budget can refuse an eviction
 * (kube-apiserver would answer 429 when one would be violated).
 */
async function evictPod(
  registry: Registry,
  r: ResourceInfo,
  ns: string,
  name: string,
  body: unknown,
  query: Query,
): Promise<unknown> {
  if (!isRecord(body) || body.kind !== 'Eviction') {
    const kind = isRecord(body) ? body.kind : undefined;
    throw new ApiError(
      'BadRequest',
      `kind: expected "Eviction" in the body of pods/eviction, got ${JSON.stringify(kind ?? null)}`,
    );
  }
  if (
    body.apiVersion !== undefined &&
    body.apiVersion !== 'policy/v1' &&
    body.apiVersion !== 'policy/v1beta1'
  ) {
    throw new ApiError(
      'BadRequest',
      `apiVersion: Eviction must be policy/v1 or policy/v1beta1, got ${JSON.stringify(body.apiVersion)}`,
    );
  }
  const meta = isRecord(body.metadata) ? body.metadata : {};
  const mismatch = (field: 'name' | 'namespace', value: unknown): ApiError =>
    new ApiError(
      'Invalid',
      `Eviction.policy "${String(meta.name ?? '')}" is invalid: metadata.${field}: Invalid value: ${JSON.stringify(value ?? '')}: ${field} in URL does not match ${field} in Eviction object`,
      {
        name,
        group: 'policy',
        kind: 'Eviction',
        causes: [
          {
            reason: 'FieldValueInvalid',
            message: `${field} in URL does not match ${field} in Eviction object`,
            field: `metadata.${field}`,
          },
        ],
      },
    );
  if (meta.name !== name) throw mismatch('name', meta.name);
  if (meta.namespace !== undefined && meta.namespace !== '' && meta.namespace !== ns) {
    throw mismatch('namespace', meta.namespace);
  }
  if (
    body.deleteOptions !== undefined &&
    body.deleteOptions !== null &&
    !isRecord(body.deleteOptions)
  ) {
    throw new ApiError('BadRequest', 'deleteOptions: must be an object');
  }
  const options = deleteOptionsFrom(isRecord(body.deleteOptions) ? body.deleteOptions : {}, query);
  await registry.delete(r, ns, name, options);
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 };
}

/**
 * kubectl get -w asks for Tables: each event carries a one-row Table, with
 * column definitions only in the first, as kube-apiserver sends them.
 */
function tableEncoder(
  req: FastifyRequest,
  r: ResourceInfo,
  query: Query,
): WatchEncoder | undefined {
  const table = wantsTable(req.headers.accept);
  if (!table) return undefined;
  const includeObject = parseIncludeObject(query.includeObject);
  let first = true;
  return (object) => {
    const row = toTable(r, [object], {
      includeObject,
      listMeta: { resourceVersion: object.metadata.resourceVersion! },
      now: new Date(),
      version: table.version,
      noHeaders: !first,
    });
    first = false;
    return row;
  };
}

function listResponse(
  r: ResourceInfo,
  res: { items: KubeObject[]; revision: number; continue?: string; remainingItemCount?: number },
): unknown {
  const metadata: Record<string, unknown> = { resourceVersion: String(res.revision) };
  if (res.continue) metadata.continue = res.continue;
  if (res.remainingItemCount !== undefined) metadata.remainingItemCount = res.remainingItemCount;
  return {
    kind: `${r.kind}List`,
    apiVersion: r.group ? `${r.group}/${r.version}` : r.version,
    metadata,
    items: res.items,
  };
}

function listQuery(q: Query): ListQuery {
  const out: ListQuery = {};
  if (q.labelSelector) out.labelSelector = q.labelSelector;
  if (q.fieldSelector) out.fieldSelector = q.fieldSelector;
  if (q.limit !== undefined && q.limit !== '') {
    const limit = Number(q.limit);
    if (!Number.isInteger(limit) || limit < 0)
      throw new ApiError('BadRequest', `invalid limit: ${q.limit}`);
    if (limit > 0) out.limit = limit;
  }
  if (q.continue) out.continue = q.continue;
  if (q.resourceVersion) out.resourceVersion = q.resourceVersion;
  return out;
}

function writeOptions(req: FastifyRequest, q: Query): WriteOptions {
  const out: WriteOptions = {};
  if (q.dryRun !== undefined) {
    if (q.dryRun !== 'All')
      throw new ApiError('BadRequest', `Invalid dry run value: "${q.dryRun}"`);
    out.dryRun = true;
  }
  // Apply patches must name their manager (Kubernetes answers 400 otherwise);
  // other writes are attributed to the client's user agent.
  const isApply = (req.headers['content-type'] ?? '').startsWith('application/apply-patch');
  const manager =
    q.fieldManager ?? (isApply ? undefined : defaultManager(req.headers['user-agent']));
  if (manager) out.fieldManager = manager;
  const fv = q.fieldValidation ?? '';
  if (fv !== '' && fv !== 'Strict' && fv !== 'Warn' && fv !== 'Ignore') {
    throw new ApiError(
      'Invalid',
      `fieldValidation: Unsupported value: "${fv}": supported values: "", "Ignore", "Strict", "Warn"`,
    );
  }
  // Kubernetes' default is Warn: unknown fields are dropped, and the client told.
  out.fieldValidation = fv === '' ? 'Warn' : fv;
  out.warnings = [];
  if (isTrue(q.force)) out.force = true;
  // The body was parsed for this request alone: the registry may keep it rather than copy it.
  out.bodyOwned = true;
  return out;
}

/** Kubernetes names a non-apply writer after its user agent ("kubectl-edit/v1.32 …" → "kubectl-edit"). */
function defaultManager(userAgent: string | undefined): string {
  const name = (userAgent ?? 'unknown').split('/')[0]?.trim();
  return (name || 'unknown').slice(0, 128);
}

function deleteOptions(req: FastifyRequest, q: Query): DeleteOptions {
  return deleteOptionsFrom(isRecord(req.body) ? req.body : {}, q);
}

/** DeleteOptions from a request body (a DELETE's, or an Eviction's deleteOptions) and the query. */
function deleteOptionsFrom(body: Record<string, unknown>, q: Query): DeleteOptions {
  const out: DeleteOptions = {};
  const grace = q.gracePeriodSeconds ?? body.gracePeriodSeconds;
  if (grace !== undefined && grace !== null) {
    const n = Number(grace);
    if (!Number.isInteger(n))
      throw new ApiError('BadRequest', `invalid gracePeriodSeconds: ${String(grace)}`);
    out.gracePeriodSeconds = n;
  }
  const propagation = q.propagationPolicy ?? body.propagationPolicy;
  if (propagation !== undefined && propagation !== null) {
    if (propagation !== 'Background' && propagation !== 'Foreground' && propagation !== 'Orphan') {
      throw new ApiError('BadRequest', `invalid propagationPolicy: ${String(propagation)}`);
    }
    out.propagationPolicy = propagation;
  } else if (body.orphanDependents === true || q.orphanDependents === 'true') {
    out.propagationPolicy = 'Orphan';
  }
  if (isRecord(body.preconditions)) {
    const p = body.preconditions;
    out.preconditions = {
      ...(typeof p.uid === 'string' ? { uid: p.uid } : {}),
      ...(typeof p.resourceVersion === 'string' ? { resourceVersion: p.resourceVersion } : {}),
    };
  }
  const dryRun = q.dryRun ?? (Array.isArray(body.dryRun) ? body.dryRun[0] : undefined);
  if (dryRun === 'All') out.dryRun = true;
  return out;
}

function patchType(req: FastifyRequest): PatchType {
  const ct = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  const t = PATCH_TYPES[ct];
  if (!t) {
    throw new ApiError(
      'UnsupportedMediaType',
      `the body of the request was in an unknown format - accepted media types include: ${Object.keys(PATCH_TYPES).join(', ')}`,
    );
  }
  return t;
}

function methodNotAllowed(method: string, r: ResourceInfo): ApiError {
  return new ApiError(
    'MethodNotAllowed',
    `the server does not allow this method on the requested resource`,
    { kind: r.plural, group: r.group },
    { cause: method },
  );
}

function isTrue(v: string | undefined): boolean {
  return v === 'true' || v === '1';
}
