import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { RESOURCES, apiVersionOf, groupVersions } from '../resources.js';
import {
  buildDocument,
  buildDocuments,
  documentPath,
  refsIn,
  type OpenApiDocument,
  type PathItem,
} from './document.js';
import {
  CORE,
  INT_OR_STRING_NAME,
  QUANTITY_NAME,
  REF_PREFIX,
  type JsonSchema,
} from './schema-dsl.js';
import { PLACEHOLDER_SCHEMAS, SCHEMAS, schemaName } from './schemas.js';

const VERSION = 'v1.32.0+shoal-test';
const docs = buildDocuments(VERSION);
const parsed = new Map(docs.map((d) => [d.path, JSON.parse(d.body) as OpenApiDocument]));

function docOf(group: string, version: string): OpenApiDocument {
  const d = parsed.get(documentPath(group, version));
  if (!d) throw new Error(`no document for ${group}/${version}`);
  return d;
}

function operations(item: PathItem) {
  return (['get', 'put', 'post', 'patch', 'delete'] as const).flatMap((m) =>
    item[m] ? [[m, item[m]] as const] : [],
  );
}

/** Follows allOf-wrapped and plain $refs, as kubectl does. */
function resolve(doc: OpenApiDocument, s: JsonSchema | undefined): JsonSchema | undefined {
  const target = s?.allOf?.[0]?.$ref ?? s?.$ref;
  return target ? doc.components.schemas[target.slice(REF_PREFIX.length)] : s;
}

function field(doc: OpenApiDocument, schema: string, path: string): JsonSchema | undefined {
  let s: JsonSchema | undefined = doc.components.schemas[schema];
  let last: JsonSchema | undefined;
  for (const part of path.split('.')) {
    s = resolve(doc, s);
    if (s?.type === 'array') s = resolve(doc, s.items);
    last = s?.properties?.[part];
    s = last;
  }
  return last;
}

describe('OpenAPI v3 documents', () => {
  it('has one document per served group version', () => {
    expect(docs.map((d) => d.path).sort()).toEqual(
      groupVersions()
        .map((gv) => documentPath(gv.group, gv.version))
        .sort(),
    );
  });

  it('is valid JSON whose hash is the upper-case SHA-512 of the body', () => {
    for (const d of docs) {
      expect(d.hash).toBe(createHash('sha512').update(d.body).digest('hex').toUpperCase());
      expect(parsed.get(d.path)?.openapi).toBe('3.0.0');
    }
    // Deterministic, so ETags survive restarts and replicas agree.
    expect(buildDocuments(VERSION).map((d) => d.hash)).toEqual(docs.map((d) => d.hash));
  });

  it('resolves every $ref inside the same document', () => {
    for (const [path, doc] of parsed) {
      for (const name of refsIn(doc)) {
        expect(doc.components.schemas[name], `${path}: dangling $ref ${name}`).toBeDefined();
      }
    }
  });

  it('resolves every $ref of the whole schema table', () => {
    for (const name of refsIn(SCHEMAS)) expect(SCHEMAS[name], name).toBeDefined();
  });

  it.each(RESOURCES.map((r) => [`${r.kind} (${apiVersionOf(r)})`, r] as const))(
    '%s has a real schema and list schema tagged with its group-version-kind',
    (_n, r) => {
      const doc = docOf(r.group, r.version);
      for (const kind of [r.kind, `${r.kind}List`]) {
        const gvk = { group: r.group, version: r.version, kind };
        const name = schemaName(gvk);
        expect(PLACEHOLDER_SCHEMAS.has(name), `${name} is only a placeholder`).toBe(false);
        expect(doc.components.schemas[name]?.['x-kubernetes-group-version-kind']).toContainEqual(
          gvk,
        );
      }
      expect(
        doc.components.schemas[schemaName({ group: r.group, version: r.version, kind: r.kind })]
          ?.properties,
      ).toHaveProperty('metadata');
    },
  );

  it.each(RESOURCES.map((r) => [`${r.plural}.${apiVersionOf(r)}`, r] as const))(
    '%s has the paths kubectl explain searches, with the kind on the operations',
    (_n, r) => {
      const doc = docOf(r.group, r.version);
      const prefix = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
      const coll = r.namespaced
        ? `${prefix}/namespaces/{namespace}/${r.plural}`
        : `${prefix}/${r.plural}`;
      const gvk = { group: r.group, version: r.version, kind: r.kind };
      expect(doc.paths[coll]?.get?.['x-kubernetes-group-version-kind']).toEqual(gvk);
      expect(doc.paths[coll]?.get?.['x-kubernetes-action']).toBe('list');
      expect(doc.paths[coll]?.post?.['x-kubernetes-action']).toBe('post');
      expect(doc.paths[`${coll}/{name}`]?.get?.['x-kubernetes-action']).toBe('get');
      for (const sub of r.subresources)
        expect(doc.paths[`${coll}/{name}/${sub}`], sub).toBeDefined();
    },
  );

  it('declares fieldValidation, dryRun, fieldManager and force on every PATCH, and strategic merge patches', () => {
    // kubectl leaves validation to the server when the PATCH of a kind takes
    // fieldValidation, and computes strategic merge patches when it accepts them.
    let patches = 0;
    for (const doc of parsed.values()) {
      for (const item of Object.values(doc.paths)) {
        for (const [method, op] of operations(item)) {
          expect(op['x-kubernetes-group-version-kind']).toBeDefined();
          expect(op.operationId).toMatch(/^[a-z]+[A-Z]/);
          if (method !== 'patch') continue;
          patches++;
          const names = (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name);
          expect(names).toEqual(
            expect.arrayContaining(['fieldValidation', 'dryRun', 'fieldManager', 'force']),
          );
          expect(Object.keys(op.requestBody?.content ?? {})).toEqual(
            expect.arrayContaining([
              'application/strategic-merge-patch+json',
              'application/merge-patch+json',
              'application/json-patch+json',
              'application/apply-patch+yaml',
            ]),
          );
        }
      }
    }
    expect(patches).toBeGreaterThanOrEqual(RESOURCES.length);
  });

  it('gives operation ids as kube-apiserver names them', () => {
    const core = docOf('', 'v1');
    expect(core.paths['/api/v1/namespaces/{namespace}/pods/{name}']?.patch?.operationId).toBe(
      'patchCoreV1NamespacedPod',
    );
    expect(core.paths['/api/v1/pods']?.get?.operationId).toBe('listCoreV1PodForAllNamespaces');
    expect(core.paths['/api/v1/nodes/{name}/status']?.get?.operationId).toBe(
      'readCoreV1NodeStatus',
    );
    expect(
      core.paths['/api/v1/namespaces/{namespace}/pods/{name}/binding']?.post?.[
        'x-kubernetes-group-version-kind'
      ],
    ).toEqual({ group: '', version: 'v1', kind: 'Binding' });
    expect(core.paths['/api/v1/namespaces']?.delete).toBeUndefined();
    const apps = docOf('apps', 'v1');
    const scale = apps.paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale'];
    expect(scale?.patch?.operationId).toBe('patchAppsV1NamespacedDeploymentScale');
    expect(scale?.get?.['x-kubernetes-group-version-kind']).toEqual({
      group: 'autoscaling',
      version: 'v1',
      kind: 'Scale',
    });
    expect(apps.components.schemas['io.k8s.api.autoscaling.v1.Scale']).toBeDefined();
  });

  it('carries the list and patch extensions of Kubernetes 1.32 on the lists clients merge', () => {
    const core = docOf('', 'v1');
    const pod = CORE + 'Pod';
    const cases: [string, Partial<JsonSchema>][] = [
      [
        'spec.containers',
        {
          'x-kubernetes-patch-merge-key': 'name',
          'x-kubernetes-patch-strategy': 'merge',
          'x-kubernetes-list-type': 'map',
          'x-kubernetes-list-map-keys': ['name'],
        },
      ],
      [
        'spec.volumes',
        {
          'x-kubernetes-patch-merge-key': 'name',
          'x-kubernetes-patch-strategy': 'merge,retainKeys',
        },
      ],
      ['spec.tolerations', { 'x-kubernetes-list-type': 'atomic' }],
      [
        'spec.containers.env',
        { 'x-kubernetes-patch-merge-key': 'name', 'x-kubernetes-patch-strategy': 'merge' },
      ],
      [
        'spec.containers.ports',
        {
          'x-kubernetes-patch-merge-key': 'containerPort',
          'x-kubernetes-list-map-keys': ['containerPort', 'protocol'],
        },
      ],
      [
        'spec.containers.volumeMounts',
        { 'x-kubernetes-patch-merge-key': 'mountPath', 'x-kubernetes-patch-strategy': 'merge' },
      ],
      ['status.conditions', { 'x-kubernetes-patch-merge-key': 'type' }],
      [
        'metadata.finalizers',
        { 'x-kubernetes-list-type': 'set', 'x-kubernetes-patch-strategy': 'merge' },
      ],
      [
        'metadata.ownerReferences',
        { 'x-kubernetes-patch-merge-key': 'uid', 'x-kubernetes-list-map-keys': ['uid'] },
      ],
    ];
    for (const [path, ext] of cases) expect(field(core, pod, path), path).toMatchObject(ext);
    expect(field(core, CORE + 'Service', 'spec.ports')).toMatchObject({
      'x-kubernetes-patch-merge-key': 'port',
      'x-kubernetes-list-map-keys': ['port', 'protocol'],
    });
    expect(field(core, pod, 'spec.containers.imagePullPolicy')?.enum).toEqual([
      'Always',
      'Never',
      'IfNotPresent',
    ]);
    expect(core.components.schemas[CORE + 'Container']?.required).toEqual(['name']);
    expect(
      core.components.schemas['io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector']?.[
        'x-kubernetes-map-type'
      ],
    ).toBe('atomic');
  });

  it('publishes Quantity and IntOrString as Kubernetes does in v3', () => {
    const core = docOf('', 'v1');
    expect(core.components.schemas[QUANTITY_NAME]?.oneOf).toEqual([
      { type: 'string' },
      { type: 'number' },
    ]);
    expect(core.components.schemas[INT_OR_STRING_NAME]).toMatchObject({
      format: 'int-or-string',
      oneOf: [{ type: 'integer' }, { type: 'string' }],
    });
    expect(
      field(core, CORE + 'Pod', 'spec.containers.resources.limits')?.additionalProperties,
    ).toEqual({ $ref: REF_PREFIX + QUANTITY_NAME });
  });

  it('describes the fields kubectl explain shows', () => {
    const core = buildDocument('', 'v1', VERSION);
    const container = core.components.schemas[CORE + 'Container'];
    for (const f of [
      'name',
      'image',
      'command',
      'args',
      'env',
      'ports',
      'resources',
      'volumeMounts',
      'livenessProbe',
      'readinessProbe',
      'securityContext',
    ]) {
      const p = container?.properties?.[f];
      expect(p?.description, f).toBeTruthy();
    }
    expect(field(core, CORE + 'Probe', 'httpGet.port')?.allOf?.[0]?.$ref).toBe(
      REF_PREFIX + INT_OR_STRING_NAME,
    );
  });
});
