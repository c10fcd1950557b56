// Server-side field validation (`?fieldValidation=Strict|Warn|Ignore`): finds
// the fields of a request body that its kind's published OpenAPI schema does
// not declare, the way kube-apiserver's strict JSON decoder does for built-in
// kinds. Paths, messages and Warning headers follow kube-apiserver 1.32 so
// kubectl prints what it prints against Kubernetes.
//
// kube-apiserver decodes into Go structs, which drop unknown fields whatever the
// mode; Shoal stores the JSON it was given, so Warn and Ignore must prune them
// (pruneUnknownFields) or they would be persisted and served back.
//
// Schemas are compiled once per definition into a small tree (object / map /
// array / anything) and cached, so the per-request cost is one walk over the
// body with no cloning and no string building until a field is reported.

import { isRecord } from './objects.js';
import { SCHEMAS, schemaName } from './openapi/schemas.js';
import { REF_PREFIX, type JsonSchema } from './openapi/schema-dsl.js';
import type { ResourceInfo } from './resources.js';
import { ApiError } from './status.js';

/** A compiled schema: what a value at one place in an object may contain. */
type Shape = AnyShape | ObjectShape | ArrayShape;

/** Scalars, IntOrString, Quantity, free-form objects, preserve-unknown-fields: nothing to check. */
interface AnyShape {
  t: 'any';
}

/** Declared properties; other keys go to `rest` (additionalProperties) or are unknown. */
interface ObjectShape {
  t: 'object';
  props: Map<string, Shape>;
  /** The shape of undeclared keys' values; undefined when undeclared keys are unknown fields. */
  rest: Shape | undefined;
}

interface ArrayShape {
  t: 'array';
  items: Shape;
}

const ANY: AnyShape = { t: 'any' };

/** Compiled definitions by name; an entry exists (possibly still being filled) once compilation starts, so recursive schemas terminate. */
const compiled = new Map<string, Shape>();

function compileRef(ref: string): Shape {
  const name = ref.startsWith(REF_PREFIX) ? ref.slice(REF_PREFIX.length) : ref;
  const done = compiled.get(name);
  if (done) return done;
  const schema = SCHEMAS[name];
  // A dangling $ref is a schema bug the openapi tests catch; here it must not
  // reject requests, so it checks nothing.
  if (!schema) return ANY;
  // Object definitions can refer to themselves: register a shell first and
  // fill it in place.
  if (schema.properties && !schema.$ref && !schema.allOf && !schema.oneOf) {
    const shell: ObjectShape = { t: 'object', props: new Map(), rest: undefined };
    compiled.set(name, shell);
    fillObject(shell, schema);
    return shell;
  }
  const shape = compile(schema);
  compiled.set(name, shape);
  return shape;
}

function fillObject(shape: ObjectShape, s: JsonSchema): void {
  for (const [key, prop] of Object.entries(s.properties ?? {})) shape.props.set(key, compile(prop));
  if (s['x-kubernetes-preserve-unknown-fields'] === true || s.additionalProperties === true) {
    shape.rest = ANY;
  } else if (typeof s.additionalProperties === 'object') {
    shape.rest = compile(s.additionalProperties);
  }
}

function compile(s: JsonSchema): Shape {
  // preserve-unknown-fields without properties allows anything below it; with
  // properties it still checks the declared ones (fillObject).
  if (s['x-kubernetes-preserve-unknown-fields'] === true && !s.properties) return ANY;
  if (s.$ref) return compileRef(s.$ref);
  const alternatives = [...(s.allOf ?? []), ...(s.oneOf ?? [])];
  if (alternatives.length > 0) {
    // allOf wraps a described $ref; oneOf is Quantity and IntOrString. Either
    // way a field is known when any alternative (or the schema itself) declares it.
    const own = s.properties || s.additionalProperties ? [compileOwn(s)] : [];
    return union([...own, ...alternatives.map(compile)]);
  }
  return compileOwn(s);
}

function compileOwn(s: JsonSchema): Shape {
  if (s.type === 'array') return s.items ? arrayOf(compile(s.items)) : ANY;
  if (s.properties) {
    const shape: ObjectShape = { t: 'object', props: new Map(), rest: undefined };
    fillObject(shape, s);
    return shape;
  }
  if (typeof s.additionalProperties === 'object') {
    const values = compile(s.additionalProperties);
    return values.t === 'any' ? ANY : { t: 'object', props: new Map(), rest: values };
  }
  // A free-form object (FieldsV1, Patch) or a scalar.
  return ANY;
}

function arrayOf(items: Shape): Shape {
  return items.t === 'any' ? ANY : { t: 'array', items };
}

/** The shape that accepts what any of `shapes` accepts. */
function union(shapes: Shape[]): Shape {
  const objects = shapes.filter((s): s is ObjectShape => s.t === 'object');
  const arrays = shapes.filter((s): s is ArrayShape => s.t === 'array');
  // A scalar alternative (IntOrString's integer) does not open up an object
  // alternative: scalars have no fields to check.
  if (objects.length === 0 && arrays.length === 0) return ANY;
  if (objects.length === 1 && arrays.length === 0) return objects[0]!;
  if (arrays.length === 1 && objects.length === 0) return arrays[0]!;
  if (objects.length > 0 && arrays.length > 0) return ANY;
  if (arrays.length > 0) return arrayOf(union(arrays.map((a) => a.items)));
  const props = new Map<string, Shape>();
  const rests: Shape[] = [];
  for (const o of objects) {
    for (const [k, v] of o.props) {
      const prev = props.get(k);
      props.set(k, prev ? union([prev, v]) : v);
    }
    if (o.rest) rests.push(o.rest);
  }
  return { t: 'object', props, rest: rests.length > 0 ? union(rests) : undefined };
}

/** Compiled root shapes by kind, resolved from the RESOURCES row's group/version/kind. */
const kindShapes = new Map<ResourceInfo, Shape>();

function shapeOfKind(resource: ResourceInfo): Shape {
  let shape = kindShapes.get(resource);
  if (!shape) {
    shape = compileRef(schemaName(resource));
    kindShapes.set(resource, shape);
  }
  return shape;
}

const MAX_REPORTED = 100;

/** Walks `value` against `shape`, reporting (and, when pruning, deleting) unknown fields. */
class Walker {
  readonly found: string[] = [];
  /** Path segments to the current value: `spec`, `.containers`, `[0]`. */
  private readonly path: string[] = [];

  constructor(private readonly prune: boolean) {}

  walk(shape: Shape, value: unknown): void {
    if (shape.t === 'array') {
      if (!Array.isArray(value)) return;
      for (let i = 0; i < value.length; i++) {
        this.path.push(`[${i}]`);
        this.walk(shape.items, value[i]);
        this.path.pop();
      }
      return;
    }
    if (shape.t !== 'object' || !isRecord(value)) return;
    let unknown: string[] | undefined;
    for (const key in value) {
      const child = shape.props.get(key) ?? shape.rest;
      if (!child) {
        // kube's strict decoder keeps at most 100 errors.
        if (this.found.length < MAX_REPORTED) this.found.push(this.pathTo(key));
        (unknown ??= []).push(key);
        continue;
      }
      if (child.t === 'any') continue;
      this.path.push(this.path.length === 0 ? key : `.${key}`);
      this.walk(child, value[key]);
      this.path.pop();
    }
    if (this.prune && unknown) for (const key of unknown) delete value[key];
  }

  /** Kubernetes' strict decoder joins field names with dots and indexes with brackets: `spec.containers[0].imagee`. */
  private pathTo(key: string): string {
    return this.path.length === 0 ? key : `${this.path.join('')}.${key}`;
  }
}

/**
 * The paths of the fields of `obj` that the kind's schema does not declare, in
 * the order they appear, formatted as kube-apiserver's strict decoding errors
 * name them (`spec.containers[0].imagee`, `metadata.labelz`). Values of the
 * wrong type are not this function's concern: validation reports them.
 */
export function unknownFields(resource: ResourceInfo, obj: unknown): string[] {
  const w = new Walker(false);
  w.walk(shapeOfKind(resource), obj);
  return w.found;
}

/**
 * Deletes the undeclared fields of `obj` in place and returns their paths, as
 * kube-apiserver's decoding drops them under `fieldValidation=Warn|Ignore`.
 */
export function pruneUnknownFields(resource: ResourceInfo, obj: unknown): string[] {
  const w = new Walker(true);
  w.walk(shapeOfKind(resource), obj);
  return w.found;
}

/**
 * unknownFields against a named definition rather than a served kind, for
 * bodies that are not the resource itself: `io.k8s.api.autoscaling.v1.Scale`
 * (the scale subresource), `io.k8s.api.core.v1.Binding`.
 */
export function unknownFieldsOf(definition: string, obj: unknown): string[] {
  const w = new Walker(false);
  w.walk(compileRef(definition), obj);
  return w.found;
}

/** `strict decoding error: unknown field "a", unknown field "b"` (runtime.strictDecodingError). */
export function strictDecodingMessage(paths: string[]): string {
  return `strict decoding error: ${paths.map(unknownFieldText).join(', ')}`;
}

function unknownFieldText(path: string): string {
  return `unknown field ${goQuote(path)}`;
}

/** The body of a request that created or replaced the object, as kube-apiserver's decode error names it. */
export interface DecodedBody {
  /** The type the body is decoded into: the URL's resource, or `{ kind: 'Scale', version: 'v1' }`. */
  resource: Pick<ResourceInfo, 'kind' | 'version'>;
  /** The request body, for its own apiVersion and kind. */
  body: unknown;
}

/**
 * The 400 BadRequest that `fieldValidation=Strict` answers when `paths` is not
 * empty. Given the decoded body (create and update), the message carries the
 * prefix kube-apiserver's transformDecodeError adds:
 * `Pod in version "v1" cannot be handled as a Pod: strict decoding error: unknown field "spec.foo"`.
 */
export function fieldValidationError(paths: string[], decoded?: DecodedBody): ApiError {
  const message = strictDecodingMessage(paths);
  if (!decoded) return new ApiError('BadRequest', message);
  const r = decoded.resource;
  const body = isRecord(decoded.body) ? decoded.body : {};
  // The body's own kind and version, defaulted from the URL as the decoder does.
  const kind = typeof body.kind === 'string' && body.kind ? body.kind : r.kind;
  const apiVersion = typeof body.apiVersion === 'string' ? body.apiVersion : '';
  const version = apiVersion ? apiVersion.slice(apiVersion.lastIndexOf('/') + 1) : r.version;
  return new ApiError(
    'BadRequest',
    `${kind} in version ${goQuote(version)} cannot be handled as a ${r.kind}: ${message}`,
  );
}

/**
 * The 422 Invalid kube-apiserver answers when a JSON, merge or strategic merge
 * patch under `fieldValidation=Strict` yields unknown fields: the error names
 * the field `patch`, with the patched object (JSON and merge patches) or the
 * patch itself printed Go-style (strategic merge patches, `map[spec:map[…]]`)
 * as the invalid value, as patch.go does.
 */
export function patchFieldValidationError(
  paths: string[],
  type: 'json' | 'merge' | 'strategic',
  patch: unknown,
  patched: unknown,
): ApiError {
  const value = type === 'strategic' ? goValue(patch) : (JSON.stringify(patched) ?? 'null');
  const body = `Invalid value: ${goQuote(value)}: ${strictDecodingMessage(paths)}`;
  return new ApiError('Invalid', ` "" is invalid: patch: ${body}`, {
    name: '',
    group: '',
    kind: '',
    causes: [{ reason: 'FieldValueInvalid', message: body, field: 'patch' }],
  });
}

/** Go's `%+v` of a value decoded from JSON into `map[string]any`: maps print with sorted keys. */
function goValue(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (Array.isArray(v)) return `[${v.map(goValue).join(' ')}]`;
  if (isRecord(v)) {
    const keys = Object.keys(v).sort();
    return `map[${keys.map((k) => `${k}:${goValue(v[k])}`).join(' ')}]`;
  }
  return String(v);
}

/** The warning texts for `fieldValidation=Warn`, one per field: `unknown field "spec.foo"`. */
export function fieldValidationWarnings(paths: string[]): string[] {
  // kube-apiserver's warning recorder drops repeated texts.
  return [...new Set(paths.map(unknownFieldText))];
}

/**
 * One `Warning` header value as kube-apiserver writes it (RFC 7234 warn-code
 * 299, no agent): `299 - "unknown field \"spec.foo\""`. Only `"` and `\` are
 * escaped, as k8s.io/apimachinery/pkg/util/net.NewWarningHeader does.
 */
export function warningHeader(text: string): string {
  return `299 - "${text.replace(/["\\]/g, '\\$&')}"`;
}

const GO_ESCAPES: Record<string, string> = {
  '\x07': '\\a',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\v': '\\v',
  '"': '\\"',
  '\\': '\\\\',
};

/**
 * Go's strconv.Quote (and %q), which kube-apiserver's messages use: `"` and `\`
 * and ASCII control characters are escaped; other characters are kept as is.
 */
function goQuote(s: string): string {
  const body = s.replace(/[\x00-\x1f\x7f"\\]/g, (c) => {
    return GO_ESCAPES[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
  });
  return `"${body}"`;
}
