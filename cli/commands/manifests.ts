// Reading manifests for `-f`: files, directories (-R to descend) and stdin;
// multi-document YAML and JSON (a JSON file is a YAML document too), `List`
// kinds flattened. Every object remembers where it came from, so errors read
// `file:line:column: message`.

import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { LineCounter, parseAllDocuments } from 'yaml';
import { isRecord } from '../../controlplane/api/objects.js';
import { isComposeFile, readCompose, type ComposeReadOptions } from '../compose/index.js';
import { CliError } from './errors.js';
import type { KubeIO } from './io.js';

export interface Manifest {
  apiVersion: string;
  kind: string;
  name: string;
  /** The namespace the manifest names, if it does. */
  namespace: string | undefined;
  object: Record<string, unknown> & { metadata: Record<string, unknown> };
  /** "file:line:column" of the document (or List item) it came from. */
  origin: string;
  /** The compose project it was translated from, when -f named a compose file. */
  composeProject?: string;
}

const MANIFEST_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

/** The files a -f argument names: a file as is; a directory's manifests (recursively with -R). */
async function expand(path: string, recursive: boolean, top = true): Promise<string[]> {
  let st;
  try {
    st = await stat(path);
  } catch {
    throw new CliError(`the path "${path}" does not exist`);
  }
  if (!st.isDirectory()) return [path];
  if (!top && !recursive) return [];
  const entries = (await readdir(path, { withFileTypes: true })).sort((a, b) =>
    a.name.localeCompare(b.name),
  );
  const out: string[] = [];
  for (const e of entries) {
    const p = join(path, e.name);
    if (e.isDirectory()) out.push(...(await expand(p, recursive, false)));
    else if (MANIFEST_EXTENSIONS.has(extname(e.name).toLowerCase())) out.push(p);
  }
  return out;
}

/** Parses one file's text into manifests; `source` names it in errors. */
export function parseManifests(text: string, source: string): Manifest[] {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false });
  if (!Array.isArray(docs)) return []; // an empty stream
  const out: Manifest[] = [];
  for (const doc of docs) {
    const first = doc.errors[0];
    if (first) {
      const pos = lineCounter.linePos(first.pos[0]);
      const message = first.message.replace(/ at line \d+, column \d+:?[\s\S]*$/, '');
      throw new CliError(`${source}:${pos.line}:${pos.col}: ${message}`);
    }
    const start = doc.contents?.range?.[0] ?? 0;
    const pos = lineCounter.linePos(start);
    const origin = `${source}:${pos.line}:${pos.col}`;
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    if (
      isRecord(value) &&
      typeof value.kind === 'string' &&
      value.kind.endsWith('List') &&
      Array.isArray(value.items)
    ) {
      value.items.forEach((item: unknown, i) =>
        out.push(toManifest(item, `${origin} (item ${i})`)),
      );
    } else {
      out.push(toManifest(value, origin));
    }
  }
  return out;
}

function toManifest(value: unknown, origin: string): Manifest {
  if (!isRecord(value)) throw new CliError(`${origin}: a manifest must be a mapping (an object)`);
  const { apiVersion, kind, metadata } = value;
  if (typeof apiVersion !== 'string' || !apiVersion)
    throw new CliError(`${origin}: apiVersion not set`);
  if (typeof kind !== 'string' || !kind) throw new CliError(`${origin}: kind not set`);
  if (!isRecord(metadata) || typeof metadata.name !== 'string' || !metadata.name) {
    throw new CliError(`${origin}: ${kind}: metadata.name not set`);
  }
  const namespace =
    typeof metadata.namespace === 'string' && metadata.namespace ? metadata.namespace : undefined;
  return {
    apiVersion,
    kind,
    name: metadata.name,
    namespace,
    object: { ...value, metadata },
    origin,
  };
}

/** A file's manifests: a compose file (cli/compose) translated, else its YAML/JSON documents. */
function parseAny(
  text: string,
  source: string,
  io: KubeIO,
  compose: ComposeReadOptions,
): Manifest[] {
  if (!isComposeFile(source, text)) return parseManifests(text, source);
  return readCompose(text, source, io, compose).map((c) => ({
    ...toManifest(c.object, c.origin),
    composeProject: c.project,
  }));
}

/** Every manifest the -f arguments name, in file order; compose files are translated. */
export async function readManifests(
  files: string[],
  recursive: boolean,
  io: KubeIO,
  verb = 'apply',
  compose: ComposeReadOptions = {},
): Promise<Manifest[]> {
  const out: Manifest[] = [];
  for (const f of files) {
    if (f === '-') {
      out.push(...parseAny(await io.readStdin(), 'STDIN', io, compose));
      continue;
    }
    for (const path of await expand(f, recursive)) {
      out.push(...parseAny(await readFile(path, 'utf8'), path, io, compose));
    }
  }
  if (out.length === 0) throw new CliError(`no objects passed to ${verb}`);
  return out;
}

/** Namespaces first, then ConfigMaps and Secrets, then what may use them; stable otherwise. */
export function orderForApply<T extends { kind: string }>(items: T[]): T[] {
  const rank = (kind: string): number =>
    kind === 'Namespace' ? 0 : kind === 'ConfigMap' || kind === 'Secret' ? 1 : 2;
  return items
    .map((m, i) => ({ m, i }))
    .sort((a, b) => rank(a.m.kind) - rank(b.m.kind) || a.i - b.i)
    .map(({ m }) => m);
}
