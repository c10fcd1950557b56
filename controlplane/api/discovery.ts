// API discovery, as kubectl and client libraries use it to learn what the
// server serves: /version, the legacy lists (/api, /api/v1, /apis,
// /apis/{group}, /apis/{group}/{version}) and aggregated discovery (the same
// answers in one response per root, when the client asks for
// apidiscovery.k8s.io/v2 in Accept), plus the OpenAPI documents. Everything is
// computed once from the RESOURCES table at registration.

import { createHash } from 'node:crypto';
import { arch, platform } from 'node:os';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { RESOURCES, apiVersionOf, groupVersions, type ResourceInfo } from './resources.js';
import { ApiError } from './status.js';
import { admitsJson, parseAccept, type MediaRange } from './openapi/accept.js';
import { registerOpenApi } from './openapi/routes.js';
import { kindOf, resourceVerbs, subresourceInfo, type Verb } from './openapi/verbs.js';

export interface DiscoveryOptions {
  /** Kubernetes-style version, `v1.32.0+shoal-0.1.0`: kubectl compares its major.minor with its own. */
  gitVersion: string;
  gitCommit?: string;
  /** RFC 3339; defaults to the Unix epoch, as Kubernetes builds without one report. */
  buildDate?: string;
}

export interface VersionInfo {
  major: string;
  minor: string;
  gitVersion: string;
  gitCommit: string;
  gitTreeState: string;
  buildDate: string;
  goVersion: string;
  compiler: string;
  platform: string;
}

export interface APIResource {
  name: string;
  singularName: string;
  namespaced: boolean;
  group?: string;
  version?: string;
  kind: string;
  verbs: Verb[];
  shortNames?: string[];
  categories?: string[];
  storageVersionHash?: string;
}

export interface APIResourceList {
  kind: 'APIResourceList';
  apiVersion: 'v1';
  groupVersion: string;
  resources: APIResource[];
}

interface GroupVersionForDiscovery {
  groupVersion: string;
  version: string;
}

export interface APIGroup {
  kind: 'APIGroup';
  apiVersion: 'v1';
  name: string;
  versions: GroupVersionForDiscovery[];
  preferredVersion: GroupVersionForDiscovery;
}

export interface APIGroupList {
  kind: 'APIGroupList';
  apiVersion: 'v1';
  groups: Omit<APIGroup, 'kind' | 'apiVersion'>[];
}

interface ResponseKind {
  group: string;
  version: string;
  kind: string;
}

interface APIResourceDiscovery {
  resource: string;
  responseKind: ResponseKind;
  scope: 'Cluster' | 'Namespaced';
  singularResource: string;
  verbs: Verb[];
  shortNames?: string[];
  categories?: string[];
  subresources?: { subresource: string; responseKind: ResponseKind; verbs: Verb[] }[];
}

export interface APIGroupDiscoveryList {
  kind: 'APIGroupDiscoveryList';
  apiVersion: 'apidiscovery.k8s.io/v2';
  metadata: Record<string, never>;
  items: {
    metadata: { name?: string; creationTimestamp: null };
    versions: { version: string; resources: APIResourceDiscovery[]; freshness: 'Current' }[];
  }[];
}

/** The media type clients ask for aggregated discovery with; the response must carry it back. */
export const AGGREGATED_DISCOVERY_TYPE =
  'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';

export function versionInfo(opts: DiscoveryOptions): VersionInfo {
  const m = /^v(\d+)\.(\d+)/.exec(opts.gitVersion);
  const goArch = arch() === 'x64' ? 'amd64' : arch();
  return {
    major: m?.[1] ?? '1',
    minor: m?.[2] ?? '32',
    gitVersion: opts.gitVersion,
    gitCommit: opts.gitCommit ?? '',
    gitTreeState: opts.gitCommit ? 'clean' : '',
    buildDate: opts.buildDate ?? '1970-01-01T00:00:00Z',
    // Shoal is not built with Go; these name the runtime that serves the API.
    goVersion: `node${process.versions.node}`,
    compiler: 'node',
    platform: `${platform()}/${goArch}`,
  };
}

/** Kubernetes' storage version hash: the first 8 bytes of sha256("group/version/Kind"), base64. */
function storageVersionHash(r: ResourceInfo): string {
  return createHash('sha256')
    .update(`${apiVersionOf(r)}/${r.kind}`)
    .digest()
    .subarray(0, 8)
    .toString('base64');
}

export function apiResourceList(group: string, version: string): APIResourceList {
  const resources: APIResource[] = [];
  for (const r of RESOURCES) {
    if (r.group !== group || r.version !== version) continue;
    const entry: APIResource = {
      name: r.plural,
      singularName: r.singular,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: resourceVerbs(r),
    };
    if (r.shortNames.length) entry.shortNames = r.shortNames;
    if (r.categories.length) entry.categories = r.categories;
    entry.storageVersionHash = storageVersionHash(r);
    resources.push(entry);
    for (const name of r.subresources) {
      const sub = subresourceInfo(r, name);
      const subEntry: APIResource = {
        name: `${r.plural}/${name}`,
        singularName: '',
        namespaced: r.namespaced,
        kind: sub.kind.kind,
        verbs: sub.verbs,
      };
      // group/version are given only when they differ from the list's own (scale is autoscaling/v1).
      if (sub.kind.group !== r.group || sub.kind.version !== r.version) {
        subEntry.group = sub.kind.group;
        subEntry.version = sub.kind.version;
      }
      resources.push(subEntry);
    }
  }
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: group ? `${group}/${version}` : version,
    resources,
  };
}

/** The named groups (not the core group), each with its versions; the first is preferred. */
function apiGroups(): APIGroup[] {
  const groups = new Map<string, APIGroup>();
  for (const { group, version } of groupVersions()) {
    if (group === '') continue;
    const gv = { groupVersion: `${group}/${version}`, version };
    const g = groups.get(group);
    if (g) g.versions.push(gv);
    else
      groups.set(group, {
        kind: 'APIGroup',
        apiVersion: 'v1',
        name: group,
        versions: [gv],
        preferredVersion: gv,
      });
  }
  return [...groups.values()];
}

export function apiGroupList(): APIGroupList {
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: apiGroups().map(({ name, versions, preferredVersion }) => ({
      name,
      versions,
      preferredVersion,
    })),
  };
}

function resourceDiscovery(r: ResourceInfo): APIResourceDiscovery {
  const d: APIResourceDiscovery = {
    resource: r.plural,
    responseKind: kindOf(r),
    scope: r.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: r.singular,
    verbs: resourceVerbs(r),
  };
  if (r.shortNames.length) d.shortNames = r.shortNames;
  if (r.categories.length) d.categories = r.categories;
  if (r.subresources.length) {
    d.subresources = r.subresources.map((name) => {
      const sub = subresourceInfo(r, name);
      return { subresource: name, responseKind: sub.kind, verbs: sub.verbs };
    });
  }
  return d;
}

/** Aggregated discovery of the core group (`legacy`, served at /api) or of the named groups (/apis). */
export function aggregatedDiscovery(root: 'legacy' | 'groups'): APIGroupDiscoveryList {
  const items: APIGroupDiscoveryList['items'] = [];
  const groupNames = root === 'legacy' ? [''] : apiGroups().map((g) => g.name);
  for (const group of groupNames) {
    const versions = groupVersions()
      .filter((gv) => gv.group === group)
      .map(({ version }) => ({
        version,
        resources: RESOURCES.filter((r) => r.group === group && r.version === version).map(
          resourceDiscovery,
        ),
        freshness: 'Current' as const,
      }));
    items.push({
      metadata: group ? { name: group, creationTimestamp: null } : { creationTimestamp: null },
      versions,
    });
  }
  return {
    kind: 'APIGroupDiscoveryList',
    apiVersion: 'apidiscovery.k8s.io/v2',
    metadata: {},
    items,
  };
}

function wantsAggregated(r: MediaRange): boolean {
  return (
    r.type === 'application' &&
    r.subtype === 'json' &&
    r.params.g === 'apidiscovery.k8s.io' &&
    r.params.v === 'v2' &&
    r.params.as === 'APIGroupDiscoveryList'
  );
}

/**
 * Answers a discovery root in the first format the client accepts: aggregated
 * v2 or plain JSON. v2beta1 is not offered; clients that ask for it also accept
 * v2 or plain JSON.
 */
function negotiate(
  req: FastifyRequest,
  reply: FastifyReply,
  aggregated: Buffer,
  plain: () => string,
): FastifyReply {
  void reply.header('Vary', 'Accept');
  for (const range of parseAccept(req.headers.accept)) {
    // A Buffer, so that fastify sends the media type exactly as written
    // (it would otherwise re-quote the parameters and append a charset).
    if (wantsAggregated(range)) return reply.type(AGGREGATED_DISCOVERY_TYPE).send(aggregated);
    if (admitsJson(range)) return reply.type('application/json').send(plain());
  }
  const err = new ApiError(
    'NotAcceptable',
    'only the following media types are accepted: application/json, ' + AGGREGATED_DISCOVERY_TYPE,
    {},
  );
  return reply.code(err.code).type('application/json').send(JSON.stringify(err.toStatus()));
}

/** Registers /version, the discovery endpoints and the OpenAPI v3 documents on app. */
export async function registerDiscovery(
  app: FastifyInstance,
  opts: DiscoveryOptions,
): Promise<void> {
  const version = JSON.stringify(versionInfo(opts));
  app.get('/version', async (_req, reply) => reply.type('application/json').send(version));

  const legacyAggregated = Buffer.from(JSON.stringify(aggregatedDiscovery('legacy')));
  const groupsAggregated = Buffer.from(JSON.stringify(aggregatedDiscovery('groups')));
  const groupList = JSON.stringify(apiGroupList());

  app.get('/api', async (req, reply) =>
    negotiate(req, reply, legacyAggregated, () =>
      JSON.stringify({
        kind: 'APIVersions',
        versions: groupVersions()
          .filter((gv) => gv.group === '')
          .map((gv) => gv.version),
        // Clients may use this address instead of the one they dialled; the
        // one they dialled is the one known to work.
        serverAddressByClientCIDRs: [
          { clientCIDR: '0.0.0.0/0', serverAddress: req.headers.host ?? req.hostname },
        ],
      }),
    ),
  );
  app.get('/apis', async (req, reply) => negotiate(req, reply, groupsAggregated, () => groupList));

  for (const g of apiGroups()) {
    const body = JSON.stringify(g);
    app.get(`/apis/${g.name}`, async (_req, reply) => reply.type('application/json').send(body));
  }
  for (const { group, version } of groupVersions()) {
    const body = JSON.stringify(apiResourceList(group, version));
    const path = group ? `/apis/${group}/${version}` : `/api/${version}`;
    app.get(path, async (_req, reply) => reply.type('application/json').send(body));
  }

  registerOpenApi(app, { serverVersion: opts.gitVersion });
}

/** The same as registerDiscovery, as a fastify plugin: `app.register(discoveryPlugin, { gitVersion })`. */
export const discoveryPlugin: FastifyPluginAsync<DiscoveryOptions> = async (app, opts) =>
  registerDiscovery(app, opts);
