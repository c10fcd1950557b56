// Every schema Shoal publishes, by Kubernetes definition name, with the
// x-kubernetes-group-version-kind tags kubectl uses to find a kind's schema
// (explain, client-side apply). Tags come from the RESOURCES table, so a kind
// added there is tagged here too; a kind without a hand-written schema gets an
// open placeholder so the server still works, and the tests fail until one is
// written.

import { RESOURCES, groupVersions } from '../resources.js';
import { APPS_SCHEMAS } from './apps-schemas.js';
import { AUTOSCALING_SCHEMAS } from './autoscaling-schemas.js';
import { BATCH_SCHEMAS } from './batch-schemas.js';
import { CORE_POD_SCHEMAS } from './core-pod-schemas.js';
import { CORE_SCHEMAS } from './core-schemas.js';
import { COORDINATION_SCHEDULING_SCHEMAS } from './coordination-scheduling-schemas.js';
import { META_SCHEMAS } from './meta-schemas.js';
import { STORAGE_SCHEMAS } from './storage-schemas.js';
import {
  API_VERSION,
  KIND,
  LIST_META,
  META,
  OBJECT_META,
  arr,
  ref,
  type GroupVersionKind,
  type JsonSchema,
  type SchemaTable,
} from './schema-dsl.js';

/** `io.k8s.api.core.v1.` for the core group, `io.k8s.api.storage.v1.` for storage.k8s.io. */
export function schemaPackage(group: string, version: string): string {
  const pkg = group === '' ? 'core' : (group.split('.')[0] ?? group);
  return `io.k8s.api.${pkg}.${version}.`;
}

export function schemaName(gvk: GroupVersionKind): string {
  if (gvk.group === '' && (gvk.kind === 'Status' || gvk.kind === 'DeleteOptions'))
    return META + gvk.kind;
  return schemaPackage(gvk.group, gvk.version) + gvk.kind;
}

/** Schema names that are placeholders, not real schemas (see the file comment). */
export const PLACEHOLDER_SCHEMAS = new Set<string>();

function tag(table: SchemaTable, name: string, gvk: GroupVersionKind): void {
  let s = table[name];
  if (!s) {
    PLACEHOLDER_SCHEMAS.add(name);
    s = gvk.kind.endsWith('List')
      ? {
          type: 'object',
          properties: {
            apiVersion: API_VERSION,
            kind: KIND,
            metadata: LIST_META,
            items: arr(ref(name.slice(0, -'List'.length))),
          },
        }
      : {
          type: 'object',
          properties: { apiVersion: API_VERSION, kind: KIND, metadata: OBJECT_META },
          'x-kubernetes-preserve-unknown-fields': true,
        };
  }
  const tags = s['x-kubernetes-group-version-kind'] ?? [];
  if (
    !tags.some((t) => t.group === gvk.group && t.version === gvk.version && t.kind === gvk.kind)
  ) {
    s = { ...s, 'x-kubernetes-group-version-kind': [...tags, gvk] };
  }
  table[name] = s;
}

function buildSchemas(): Readonly<SchemaTable> {
  const table: SchemaTable = {
    ...META_SCHEMAS,
    ...CORE_POD_SCHEMAS,
    ...CORE_SCHEMAS,
    ...APPS_SCHEMAS,
    ...BATCH_SCHEMAS,
    ...AUTOSCALING_SCHEMAS,
    ...STORAGE_SCHEMAS,
    ...COORDINATION_SCHEDULING_SCHEMAS,
  };
  for (const r of RESOURCES) {
    for (const kind of [r.kind, `${r.kind}List`]) {
      const gvk = { group: r.group, version: r.version, kind };
      tag(table, schemaName(gvk), gvk);
    }
  }
  tag(table, META + 'Status', { group: '', version: 'v1', kind: 'Status' });
  tag(table, 'io.k8s.api.core.v1.Binding', { group: '', version: 'v1', kind: 'Binding' });
  tag(table, 'io.k8s.api.policy.v1.Eviction', { group: 'policy', version: 'v1', kind: 'Eviction' });
  tag(table, 'io.k8s.api.autoscaling.v1.Scale', {
    group: 'autoscaling',
    version: 'v1',
    kind: 'Scale',
  });
  // DeleteOptions is accepted in every group's delete requests, so it carries each group's GVK.
  for (const gv of groupVersions()) {
    tag(table, META + 'DeleteOptions', {
      group: gv.group,
      version: gv.version,
      kind: 'DeleteOptions',
    });
  }
  return table;
}

export const SCHEMAS: Readonly<SchemaTable> = buildSchemas();

export function schemaFor(name: string): JsonSchema | undefined {
  return SCHEMAS[name];
}
