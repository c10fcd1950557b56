// Builds the OpenAPI v3 document of each served group version, the way
// kube-apiserver splits them (/openapi/v3/api/v1, /openapi/v3/apis/apps/v1):
// paths for every operation of every resource and subresource, and the
// schemas those operations reach. kubectl reads two things from these
// besides the schemas: whether PATCH of a kind accepts `fieldValidation` (then
// it leaves validation to the server) and whether it accepts strategic merge
// patches (then `kubectl apply` computes them from the schemas' patch
// extensions).

import { createHash } from 'node:crypto';
import { RESOURCES, groupVersions, type ResourceInfo } from '../resources.js';
import {
  META,
  REF_PREFIX,
  ref,
  type GroupVersionKind,
  type JsonSchema,
  type SchemaTable,
} from './schema-dsl.js';
import { SCHEMAS, schemaName } from './schemas.js';
import { kindOf, resourceVerbs, subresourceInfo, type SubresourceInfo } from './verbs.js';

export interface Parameter {
  name: string;
  in: 'query' | 'path';
  description: string;
  required?: boolean;
  schema: JsonSchema;
}

interface MediaContent {
  [mediaType: string]: { schema: JsonSchema };
}

export interface Operation {
  description: string;
  operationId: string;
  tags: string[];
  parameters?: Parameter[];
  requestBody?: { required?: boolean; content: MediaContent };
  responses: Record<string, { description: string; content?: MediaContent }>;
  'x-kubernetes-action': string;
  'x-kubernetes-group-version-kind': GroupVersionKind;
}

export interface PathItem {
  parameters?: Parameter[];
  get?: Operation;
  put?: Operation;
  post?: Operation;
  patch?: Operation;
  delete?: Operation;
}

export interface OpenApiDocument {
  openapi: '3.0.0';
  info: { title: string; version: string };
  paths: Record<string, PathItem>;
  components: { schemas: SchemaTable; securitySchemes: Record<string, unknown> };
  security: Record<string, string[]>[];
}

export interface GroupVersionDocument {
  /** The key in /openapi/v3's index: `api/v1`, `apis/apps/v1`. */
  path: string;
  /** The document, serialized once; the ETag is its hash. */
  body: string;
  /** Upper-case hex SHA-512 of body, as kube-apiserver computes it. */
  hash: string;
}

const STRING: JsonSchema = { type: 'string', uniqueItems: true };
const BOOLEAN: JsonSchema = { type: 'boolean', uniqueItems: true };
const INTEGER: JsonSchema = { type: 'integer', uniqueItems: true };

const query = (name: string, description: string, schema: JsonSchema = STRING): Parameter => ({
  name,
  in: 'query',
  description,
  schema,
});

const P = {
  name: {
    name: 'name',
    in: 'path',
    required: true,
    description: 'name of the object',
    schema: STRING,
  } as Parameter,
  namespace: {
    name: 'namespace',
    in: 'path',
    required: true,
    description: 'object name and auth scope, such as for teams and projects',
    schema: STRING,
  } as Parameter,
  pretty: query('pretty', "If 'true', then the output is pretty printed."),
  dryRun: query(
    'dryRun',
    'When present, indicates that modifications should not be persisted. The only valid value is All.',
  ),
  fieldManager: query(
    'fieldManager',
    'A name associated with the actor or entity that is making these changes.',
  ),
  fieldValidation: query(
    'fieldValidation',
    'How the server treats unknown and duplicate fields in the body: Ignore, Warn (the default) or Strict (reject them).',
  ),
  force: query(
    'force',
    'Force is going to "force" Apply requests: re-acquire conflicting fields owned by other managers. Only for apply patches.',
    BOOLEAN,
  ),
  gracePeriodSeconds: query(
    'gracePeriodSeconds',
    'The duration in seconds before the object should be deleted; zero means delete immediately.',
    INTEGER,
  ),
  orphanDependents: query('orphanDependents', 'Deprecated: use propagationPolicy.', BOOLEAN),
  propagationPolicy: query(
    'propagationPolicy',
    'Whether and how garbage collection is performed: Orphan, Background or Foreground.',
  ),
  allowWatchBookmarks: query(
    'allowWatchBookmarks',
    'Request watch events with type BOOKMARK.',
    BOOLEAN,
  ),
  continue: query(
    'continue',
    'The continue token of a previous limited list, to read the next page.',
  ),
  fieldSelector: query(
    'fieldSelector',
    'A selector to restrict the list of returned objects by their fields.',
  ),
  labelSelector: query(
    'labelSelector',
    'A selector to restrict the list of returned objects by their labels.',
  ),
  limit: query(
    'limit',
    'The maximum number of items to return; a continue token is returned when more remain.',
    INTEGER,
  ),
  resourceVersion: query(
    'resourceVersion',
    'Constrains which resource versions the request may be served from.',
  ),
  resourceVersionMatch: query(
    'resourceVersionMatch',
    'How resourceVersion is applied to list calls: Exact or NotOlderThan.',
  ),
  sendInitialEvents: query(
    'sendInitialEvents',
    'Start a watch with synthetic ADDED events for the current state.',
    BOOLEAN,
  ),
  timeoutSeconds: query('timeoutSeconds', 'Timeout for the list/watch call.', INTEGER),
  watch: query(
    'watch',
    'Watch for changes to the described resources and return them as a stream of events.',
    BOOLEAN,
  ),
  container: query(
    'container',
    'The container for which to stream logs. Defaults to the only container.',
  ),
  follow: query('follow', 'Follow the log stream of the pod.', BOOLEAN),
  limitBytes: query(
    'limitBytes',
    'The number of bytes to read from the server before terminating the log output.',
    INTEGER,
  ),
  previous: query('previous', 'Return the logs of the previous, terminated container.', BOOLEAN),
  sinceSeconds: query(
    'sinceSeconds',
    'A relative time in seconds before now from which to show logs.',
    INTEGER,
  ),
  tailLines: query('tailLines', 'The number of lines from the end of the logs to show.', INTEGER),
  timestamps: query(
    'timestamps',
    'Prefix every line of log output with an RFC 3339 timestamp.',
    BOOLEAN,
  ),
} as const;

const LIST_PARAMS = [
  P.allowWatchBookmarks,
  P.continue,
  P.fieldSelector,
  P.labelSelector,
  P.limit,
  P.resourceVersion,
  P.resourceVersionMatch,
  P.sendInitialEvents,
  P.timeoutSeconds,
  P.watch,
];
const WRITE_PARAMS = [P.dryRun, P.fieldManager, P.fieldValidation];
const DELETE_PARAMS = [P.dryRun, P.gracePeriodSeconds, P.orphanDependents, P.propagationPolicy];

const json = (schema: JsonSchema): MediaContent => ({ 'application/json': { schema } });
const ok = (schema: JsonSchema) => ({ description: 'OK', content: json(schema) });
const UNAUTHORIZED = { description: 'Unauthorized' };

const PATCH_BODY = {
  required: true,
  content: {
    'application/apply-patch+yaml': { schema: ref(META + 'Patch') },
    'application/json-patch+json': { schema: ref(META + 'Patch') },
    'application/merge-patch+json': { schema: ref(META + 'Patch') },
    'application/strategic-merge-patch+json': { schema: ref(META + 'Patch') },
  },
};

/** `Core`, `Apps`, `Storage` (for storage.k8s.io): how kube-apiserver names groups in operation ids. */
function groupPascal(group: string): string {
  const first = group === '' ? 'core' : (group.split('.')[0] ?? group);
  return first.charAt(0).toUpperCase() + first.slice(1);
}

function gvTag(group: string, version: string): string {
  return `${group === '' ? 'core' : (group.split('.')[0] ?? group)}_${version}`;
}

function gvPrefix(group: string, version: string): string {
  return group === '' ? `/api/${version}` : `/apis/${group}/${version}`;
}

/** The paths and operations of one resource, with its subresources. */
function resourcePaths(r: ResourceInfo): Record<string, PathItem> {
  const paths: Record<string, PathItem> = {};
  const gvk = kindOf(r);
  const objSchema = ref(schemaName(gvk));
  const listSchema = ref(schemaName({ ...gvk, kind: `${r.kind}List` }));
  const statusSchema = ref(META + 'Status');
  const verbs = resourceVerbs(r);
  const idBase = `${groupPascal(r.group)}${r.version.charAt(0).toUpperCase()}${r.version.slice(1)}`;
  const scope = r.namespaced ? 'Namespaced' : '';
  const tags = [gvTag(r.group, r.version)];
  const op = (
    verb: string,
    action: string,
    suffix: string,
    description: string,
    kind: GroupVersionKind,
    rest: Pick<Operation, 'parameters' | 'requestBody' | 'responses'>,
  ): Operation => ({
    description,
    operationId: `${verb}${idBase}${suffix}`,
    tags,
    ...rest,
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': kind,
  });

  const prefix = gvPrefix(r.group, r.version);
  const collection = r.namespaced
    ? `${prefix}/namespaces/{namespace}/${r.plural}`
    : `${prefix}/${r.plural}`;
  const scopeParams = r.namespaced ? [P.namespace, P.pretty] : [P.pretty];
  const item = `${collection}/{name}`;

  const coll: PathItem = { parameters: scopeParams };
  coll.get = op(
    'list',
    'list',
    `${scope}${r.kind}`,
    `list or watch objects of kind ${r.kind}`,
    gvk,
    {
      parameters: LIST_PARAMS,
      responses: {
        '200': {
          description: 'OK',
          content: {
            'application/json': { schema: listSchema },
            'application/json;stream=watch': { schema: listSchema },
          },
        },
        '401': UNAUTHORIZED,
      },
    },
  );
  coll.post = op(
    'create',
    'post',
    `${scope}${r.kind}`,
    `create ${article(r.kind)} ${r.kind}`,
    gvk,
    {
      parameters: WRITE_PARAMS,
      requestBody: { required: true, content: { '*/*': { schema: objSchema } } },
      responses: {
        '200': ok(objSchema),
        '201': { ...ok(objSchema), description: 'Created' },
        '202': { ...ok(objSchema), description: 'Accepted' },
        '401': UNAUTHORIZED,
      },
    },
  );
  if (verbs.includes('deletecollection')) {
    coll.delete = op(
      'delete',
      'deletecollection',
      `Collection${scope}${r.kind}`,
      `delete collection of ${r.kind}`,
      gvk,
      {
        parameters: [
          ...LIST_PARAMS.filter((p) => p.name !== 'watch' && p.name !== 'allowWatchBookmarks'),
          ...DELETE_PARAMS,
        ],
        requestBody: { content: { '*/*': { schema: ref(META + 'DeleteOptions') } } },
        responses: { '200': ok(statusSchema), '401': UNAUTHORIZED },
      },
    );
  }
  paths[collection] = coll;

  paths[item] = {
    parameters: [P.name, ...scopeParams],
    get: op('read', 'get', `${scope}${r.kind}`, `read the specified ${r.kind}`, gvk, {
      responses: { '200': ok(objSchema), '401': UNAUTHORIZED },
    }),
    put: op('replace', 'put', `${scope}${r.kind}`, `replace the specified ${r.kind}`, gvk, {
      parameters: WRITE_PARAMS,
      requestBody: { required: true, content: { '*/*': { schema: objSchema } } },
      responses: {
        '200': ok(objSchema),
        '201': { ...ok(objSchema), description: 'Created' },
        '401': UNAUTHORIZED,
      },
    }),
    patch: op(
      'patch',
      'patch',
      `${scope}${r.kind}`,
      `partially update the specified ${r.kind}`,
      gvk,
      {
        parameters: [...WRITE_PARAMS, P.force],
        requestBody: PATCH_BODY,
        responses: {
          '200': ok(objSchema),
          '201': { ...ok(objSchema), description: 'Created' },
          '401': UNAUTHORIZED,
        },
      },
    ),
    delete: op(
      'delete',
      'delete',
      `${scope}${r.kind}`,
      `delete ${article(r.kind)} ${r.kind}`,
      gvk,
      {
        parameters: DELETE_PARAMS,
        requestBody: { content: { '*/*': { schema: ref(META + 'DeleteOptions') } } },
        responses: {
          '200': ok(objSchema),
          '202': { ...ok(objSchema), description: 'Accepted' },
          '401': UNAUTHORIZED,
        },
      },
    ),
  };

  if (r.namespaced) {
    paths[`${prefix}/${r.plural}`] = {
      parameters: [P.pretty],
      get: op(
        'list',
        'list',
        `${r.kind}ForAllNamespaces`,
        `list or watch objects of kind ${r.kind} in all namespaces`,
        gvk,
        {
          parameters: LIST_PARAMS,
          responses: coll.get.responses,
        },
      ),
    };
  }

  for (const name of r.subresources) {
    const sub = subresourceInfo(r, name);
    paths[`${item}/${name}`] = {
      parameters: [P.name, ...scopeParams],
      ...subresourceOps(r, sub, op, scope),
    };
  }
  return paths;
}

type OpFactory = (
  verb: string,
  action: string,
  suffix: string,
  description: string,
  kind: GroupVersionKind,
  rest: Pick<Operation, 'parameters' | 'requestBody' | 'responses'>,
) => Operation;

function subresourceOps(
  r: ResourceInfo,
  sub: SubresourceInfo,
  op: OpFactory,
  scope: string,
): PathItem {
  const schema = ref(schemaName(sub.kind));
  const Sub = sub.name.charAt(0).toUpperCase() + sub.name.slice(1);
  const suffix = `${scope}${r.kind}${Sub}`;
  const what = `${sub.name} of the specified ${r.kind}`;
  const item: PathItem = {};
  if (sub.name === 'log') {
    item.get = op('read', 'get', suffix, `read log of the specified ${r.kind}`, sub.kind, {
      parameters: [
        P.container,
        P.follow,
        P.limitBytes,
        P.previous,
        P.sinceSeconds,
        P.tailLines,
        P.timestamps,
      ],
      responses: {
        '200': { description: 'OK', content: { 'text/plain': { schema: { type: 'string' } } } },
        '401': UNAUTHORIZED,
      },
    });
    return item;
  }
  if (sub.verbs.includes('create')) {
    item.post = op('create', 'post', suffix, `create ${what}`, sub.kind, {
      parameters: WRITE_PARAMS,
      requestBody: { required: true, content: { '*/*': { schema } } },
      responses: {
        '200': ok(schema),
        '201': { ...ok(schema), description: 'Created' },
        '401': UNAUTHORIZED,
      },
    });
  }
  if (sub.verbs.includes('get')) {
    item.get = op('read', 'get', suffix, `read ${what}`, sub.kind, {
      responses: { '200': ok(schema), '401': UNAUTHORIZED },
    });
  }
  if (sub.verbs.includes('update')) {
    item.put = op('replace', 'put', suffix, `replace ${what}`, sub.kind, {
      parameters: WRITE_PARAMS,
      requestBody: { required: true, content: { '*/*': { schema } } },
      responses: {
        '200': ok(schema),
        '201': { ...ok(schema), description: 'Created' },
        '401': UNAUTHORIZED,
      },
    });
  }
  if (sub.verbs.includes('patch')) {
    item.patch = op('patch', 'patch', suffix, `partially update ${what}`, sub.kind, {
      parameters: [...WRITE_PARAMS, P.force],
      requestBody: PATCH_BODY,
      responses: {
        '200': ok(schema),
        '201': { ...ok(schema), description: 'Created' },
        '401': UNAUTHORIZED,
      },
    });
  }
  return item;
}

function article(kind: string): string {
  return /^[AEIOU]/.test(kind) ? 'an' : 'a';
}

/** Every `$ref` target name in a JSON value. */
export function refsIn(value: unknown, into = new Set<string>()): Set<string> {
  if (Array.isArray(value)) {
    for (const v of value) refsIn(v, into);
  } else if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) {
      if (k === '$ref' && typeof v === 'string' && v.startsWith(REF_PREFIX))
        into.add(v.slice(REF_PREFIX.length));
      else refsIn(v, into);
    }
  }
  return into;
}

/** The schemas reachable from the paths, as kube-apiserver includes only what a document uses. */
function reachableSchemas(paths: Record<string, PathItem>): SchemaTable {
  const out: SchemaTable = {};
  const queue = [...refsIn(paths)];
  for (let name = queue.pop(); name !== undefined; name = queue.pop()) {
    if (out[name]) continue;
    const s = SCHEMAS[name];
    if (!s) throw new Error(`OpenAPI: schema ${name} is referred to but not defined`);
    out[name] = s;
    for (const next of refsIn(s)) if (!out[next]) queue.push(next);
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}

/** The document of one group version. */
export function buildDocument(
  group: string,
  version: string,
  serverVersion: string,
): OpenApiDocument {
  const paths: Record<string, PathItem> = {};
  for (const r of RESOURCES) {
    if (r.group === group && r.version === version) Object.assign(paths, resourcePaths(r));
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: serverVersion },
    paths,
    components: {
      schemas: reachableSchemas(paths),
      securitySchemes: {
        BearerToken: {
          type: 'apiKey',
          description: 'Bearer Token authentication',
          name: 'authorization',
          in: 'header',
        },
      },
    },
    security: [{ BearerToken: [] }],
  };
}

export function documentPath(group: string, version: string): string {
  return group === '' ? `api/${version}` : `apis/${group}/${version}`;
}

/** All group versions' documents, serialized and hashed. */
export function buildDocuments(serverVersion: string): GroupVersionDocument[] {
  return groupVersions().map(({ group, version }) => {
    const body = JSON.stringify(buildDocument(group, version, serverVersion));
    return { path: documentPath(group, version), body, hash: hashOf(body) };
  });
}

export function hashOf(body: string): string {
  return createHash('sha512').update(body).digest('hex').toUpperCase();
}
