// A few constructors for OpenAPI v3 schema objects, so the schema tables read
// like the Go types they mirror: `arr(ref(CORE + 'Container'), { mergeKey: 'name' })`.
// The output follows kube-apiserver's own documents: a `$ref` that carries a
// description is wrapped in `allOf` (OpenAPI 3.0 ignores siblings of `$ref`),
// and list semantics are the `x-kubernetes-*` extensions that kubectl's
// strategic merge patch and server-side apply clients read.

/** One schema object of an OpenAPI 3.0 document, with the Kubernetes extensions Shoal emits. */
export interface JsonSchema {
  type?: 'string' | 'integer' | 'number' | 'boolean' | 'object' | 'array';
  format?: string;
  description?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  additionalProperties?: JsonSchema | boolean;
  allOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  $ref?: string;
  enum?: string[];
  uniqueItems?: boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-group-version-kind'?: GroupVersionKind[];
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-patch-merge-key'?: string;
  'x-kubernetes-patch-strategy'?: string;
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
}

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

/** Schemas by their Kubernetes definition name, e.g. `io.k8s.api.core.v1.Pod`. */
export type SchemaTable = Record<string, JsonSchema>;

export const CORE = 'io.k8s.api.core.v1.';
export const APPS = 'io.k8s.api.apps.v1.';
export const BATCH = 'io.k8s.api.batch.v1.';
export const AUTOSCALING = 'io.k8s.api.autoscaling.v1.';
export const META = 'io.k8s.apimachinery.pkg.apis.meta.v1.';
export const QUANTITY_NAME = 'io.k8s.apimachinery.pkg.api.resource.Quantity';
export const INT_OR_STRING_NAME = 'io.k8s.apimachinery.pkg.util.intstr.IntOrString';

export const REF_PREFIX = '#/components/schemas/';

function described(s: JsonSchema, description: string | undefined): JsonSchema {
  return description ? { ...s, description } : s;
}

export const str = (description?: string): JsonSchema => described({ type: 'string' }, description);
export const int32 = (description?: string): JsonSchema =>
  described({ type: 'integer', format: 'int32' }, description);
export const int64 = (description?: string): JsonSchema =>
  described({ type: 'integer', format: 'int64' }, description);
export const double = (description?: string): JsonSchema =>
  described({ type: 'number', format: 'double' }, description);
export const bool = (description?: string): JsonSchema =>
  described({ type: 'boolean' }, description);
export const bytes = (description?: string): JsonSchema =>
  described({ type: 'string', format: 'byte' }, description);

export function enumStr(values: string[], description?: string): JsonSchema {
  return described({ type: 'string', enum: values }, description);
}

export function ref(name: string, description?: string): JsonSchema {
  const target = { $ref: REF_PREFIX + name };
  return description ? { allOf: [target], description } : target;
}

export interface ListOptions {
  listType?: 'atomic' | 'set' | 'map';
  mapKeys?: string[];
  /** Strategic merge patch: the key that identifies an item. */
  mergeKey?: string;
  /** Strategic merge patch: `merge`, `retainKeys` or `merge,retainKeys`. */
  strategy?: string;
}

export function arr(items: JsonSchema, opts: ListOptions = {}, description?: string): JsonSchema {
  const s: JsonSchema = described({ type: 'array', items }, description);
  if (opts.listType) s['x-kubernetes-list-type'] = opts.listType;
  if (opts.mapKeys) s['x-kubernetes-list-map-keys'] = opts.mapKeys;
  if (opts.mergeKey) s['x-kubernetes-patch-merge-key'] = opts.mergeKey;
  if (opts.strategy) s['x-kubernetes-patch-strategy'] = opts.strategy;
  return s;
}

export function mapOf(
  values: JsonSchema,
  description?: string,
  mapType?: 'atomic' | 'granular',
): JsonSchema {
  const s: JsonSchema = described({ type: 'object', additionalProperties: values }, description);
  if (mapType) s['x-kubernetes-map-type'] = mapType;
  return s;
}

export function obj(
  description: string,
  properties: Record<string, JsonSchema>,
  opts: { required?: string[]; mapType?: 'atomic' | 'granular' } = {},
): JsonSchema {
  const s: JsonSchema = { description, type: 'object', properties };
  if (opts.required?.length) s.required = opts.required;
  if (opts.mapType) s['x-kubernetes-map-type'] = opts.mapType;
  return s;
}

export const TIME = ref(META + 'Time');
export const MICRO_TIME = ref(META + 'MicroTime');
export const QUANTITY = ref(QUANTITY_NAME);
export const INT_OR_STRING = ref(INT_OR_STRING_NAME);
export const API_VERSION = str(
  'APIVersion defines the versioned schema of this representation of an object, e.g. `v1` or `apps/v1`.',
);
export const KIND = str('Kind is the type of object this is, in CamelCase, e.g. `Pod`.');
export const OBJECT_META = ref(
  META + 'ObjectMeta',
  "Standard object's metadata: name, namespace, labels, annotations, owners.",
);
export const LIST_META = ref(
  META + 'ListMeta',
  'Standard list metadata: resourceVersion and continue token.',
);
