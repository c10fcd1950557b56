// `shoal config view|get-contexts|current-context|use-context`: the kubeconfig
// as kubectl shows and edits it. Files are merged the way kubectl merges them
// (--kubeconfig alone, else every $KUBECONFIG file, else ~/.kube/config; the
// first file to name a cluster, user, context or current-context wins), read
// as plain YAML so fields client-node does not model survive `view`.

import { readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { isMap, LineCounter, parseDocument, stringify } from 'yaml';
import { isRecord } from '../../controlplane/api/objects.js';
import { kubeconfigPaths, type ConnectionFlags } from './client.js';
import { CliError } from './errors.js';
import { addConnectionFlags, wireCommand } from './flags.js';
import type { KubeIO } from './io.js';
import { formatTable } from './printers.js';

type Entry = Record<string, unknown> & { name: string };

/** The merged kubeconfig, plus the files it came from. */
export interface MergedConfig {
  clusters: Entry[];
  contexts: Entry[];
  users: Entry[];
  currentContext: string;
  preferences: Record<string, unknown>;
  /** The files read, in order; only those that exist. */
  files: string[];
  /** The file that set current-context, if any did. */
  currentContextFile: string | undefined;
}

async function readYamlFile(path: string): Promise<Record<string, unknown>> {
  const text = await readFile(path, 'utf8');
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: false, lineCounter });
  const first = doc.errors[0];
  if (first) {
    const pos = lineCounter.linePos(first.pos[0]);
    const message = first.message.replace(/ at line \d+, column \d+:?[\s\S]*$/, '');
    throw new CliError(`${path}:${pos.line}:${pos.col}: ${message}`);
  }
  const value: unknown = doc.toJS();
  if (value === null || value === undefined) return {};
  if (!isRecord(value)) throw new CliError(`${path}: a kubeconfig must be a mapping`);
  return value;
}

function entries(value: unknown): Entry[] {
  if (!Array.isArray(value)) return [];
  return value.filter((e): e is Entry => isRecord(e) && typeof e.name === 'string');
}

/** Reads and merges the kubeconfig files the flags and environment name. */
export async function loadMergedConfig(
  flags: ConnectionFlags,
  env: KubeIO['env'],
): Promise<MergedConfig> {
  const merged: MergedConfig = {
    clusters: [],
    contexts: [],
    users: [],
    currentContext: '',
    preferences: {},
    files: [],
    currentContextFile: undefined,
  };
  for (const path of kubeconfigPaths(flags.kubeconfig, env)) {
    if (!existsSync(path)) {
      if (flags.kubeconfig) throw new CliError(`stat ${path}: no such file or directory`);
      continue;
    }
    const raw = await readYamlFile(path);
    merged.files.push(path);
    for (const key of ['clusters', 'contexts', 'users'] as const) {
      for (const e of entries(raw[key])) {
        if (!merged[key].some((m) => m.name === e.name)) merged[key].push(e);
      }
    }
    const cc = raw['current-context'];
    if (!merged.currentContext && typeof cc === 'string' && cc) {
      merged.currentContext = cc;
      merged.currentContextFile = path;
    }
    if (!Object.keys(merged.preferences).length && isRecord(raw.preferences))
      merged.preferences = raw.preferences;
  }
  return merged;
}

function contextFields(e: Entry | undefined): { cluster: string; user: string; namespace: string } {
  const c = isRecord(e?.context) ? e.context : {};
  const s = (v: unknown): string => (typeof v === 'string' ? v : '');
  return { cluster: s(c.cluster), user: s(c.user), namespace: s(c.namespace) };
}

const DATA_OMITTED = 'DATA+OMITTED';
const REDACTED = 'REDACTED';

/** What `kubectl config view` hides without --raw: certificate data, keys, tokens, passwords. */
function redact(config: MergedConfig): MergedConfig {
  const mask = (entry: Entry, section: string, fields: Record<string, string>): Entry => {
    const inner = entry[section];
    if (!isRecord(inner)) return entry;
    const out: Record<string, unknown> = { ...inner };
    for (const [field, text] of Object.entries(fields)) {
      if (typeof out[field] === 'string' && out[field]) out[field] = text;
    }
    return { ...entry, [section]: out };
  };
  return {
    ...config,
    clusters: config.clusters.map((c) =>
      mask(c, 'cluster', { 'certificate-authority-data': DATA_OMITTED }),
    ),
    users: config.users.map((u) =>
      mask(u, 'user', {
        'client-certificate-data': DATA_OMITTED,
        'client-key-data': DATA_OMITTED,
        token: REDACTED,
        password: REDACTED,
      }),
    ),
  };
}

/** Only the current context, its cluster and its user (kubectl's --minify). */
function minify(config: MergedConfig): MergedConfig {
  if (!config.currentContext) throw new CliError('current-context must exist in order to minify');
  const ctx = config.contexts.find((c) => c.name === config.currentContext);
  if (!ctx) throw new CliError(`cannot locate context ${config.currentContext}`);
  const { cluster, user } = contextFields(ctx);
  return {
    ...config,
    contexts: [ctx],
    clusters: config.clusters.filter((c) => c.name === cluster),
    users: config.users.filter((u) => u.name === user),
  };
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (!isRecord(v)) return v;
  const keys = Object.keys(v).sort((a, b) =>
    a === 'apiVersion' ? -1 : b === 'apiVersion' ? 1 : a.localeCompare(b),
  );
  return Object.fromEntries(keys.map((k) => [k, sortKeys(v[k])]));
}

export interface ConfigViewOptions extends ConnectionFlags {
  minify?: boolean;
  raw?: boolean;
  output?: 'yaml' | 'json';
}

async function withContextFlag(flags: ConnectionFlags, env: KubeIO['env']): Promise<MergedConfig> {
  const config = await loadMergedConfig(flags, env);
  if (flags.context) {
    if (!config.contexts.some((c) => c.name === flags.context))
      throw new CliError(`context "${flags.context}" does not exist`);
    config.currentContext = flags.context;
  }
  return config;
}

export async function runConfigView(o: ConfigViewOptions, io: KubeIO): Promise<void> {
  let config = await withContextFlag(o, io.env);
  if (o.minify) config = minify(config);
  if (!o.raw) config = redact(config);
  // kubectl's field order: apiVersion, then the rest alphabetically, at every level.
  const doc = sortKeys({
    apiVersion: 'v1',
    clusters: config.clusters,
    contexts: config.contexts,
    'current-context': config.currentContext,
    kind: 'Config',
    preferences: config.preferences,
    users: config.users,
  }) as Record<string, unknown>;
  io.out(
    o.output === 'json'
      ? JSON.stringify(doc, null, 4) + '\n'
      : stringify(doc, { indentSeq: false }),
  );
}

export async function runGetContexts(
  names: string[],
  o: ConnectionFlags & { output?: 'name'; headers: boolean },
  io: KubeIO,
): Promise<void> {
  const config = await withContextFlag(o, io.env);
  const all = [...config.contexts].sort((a, b) => a.name.localeCompare(b.name));
  for (const n of names) {
    if (!all.some((c) => c.name === n)) throw new CliError(`context ${n} not found`);
  }
  const shown = names.length ? all.filter((c) => names.includes(c.name)) : all;
  if (o.output === 'name') {
    io.out(shown.map((c) => `${c.name}\n`).join(''));
    return;
  }
  const rows = shown.map((c) => {
    const f = contextFields(c);
    return [c.name === config.currentContext ? '*' : '', c.name, f.cluster, f.user, f.namespace];
  });
  const header = ['CURRENT', 'NAME', 'CLUSTER', 'AUTHINFO', 'NAMESPACE'];
  const text = formatTable(header, rows);
  io.out(o.headers ? text : text.split('\n').slice(1).join('\n'));
}

export async function runCurrentContext(o: ConnectionFlags, io: KubeIO): Promise<void> {
  const config = await withContextFlag(o, io.env);
  if (!config.currentContext) throw new CliError('current-context is not set');
  io.out(`${config.currentContext}\n`);
}

/**
 * Sets current-context in the file it belongs to: --kubeconfig; else the
 * file that already sets it; else the first file read. Only that one key of
 * the file changes; comments and the rest are kept as written.
 */
export async function runUseContext(name: string, o: ConnectionFlags, io: KubeIO): Promise<void> {
  const config = await loadMergedConfig(o, io.env);
  if (!config.contexts.some((c) => c.name === name))
    throw new CliError(`no context exists with the name: "${name}"`);
  const target = o.kubeconfig ?? config.currentContextFile ?? config.files[0];
  if (!target) throw new CliError('no kubeconfig file to write');
  const text = await readFile(target, 'utf8');
  await writeFile(target, withCurrentContext(text, name, target));
  io.out(`Switched to context "${name}".\n`);
}

/**
 * The file's text with current-context set: the one top-level line replaced
 * (or added), so comments and formatting stay as the user wrote them; a
 * flow-style (JSON) file is rewritten through the YAML document model.
 */
export function withCurrentContext(text: string, name: string, source: string): string {
  const value = stringify(name).trimEnd();
  const line = /^current-context:.*$/m;
  if (line.test(text)) return text.replace(line, `current-context: ${value}`);
  const doc = parseDocument(text);
  if (doc.contents !== null && !isMap(doc.contents))
    throw new CliError(`${source}: a kubeconfig must be a mapping`);
  if (isMap(doc.contents) && doc.contents.flow) {
    doc.set('current-context', name);
    return doc.toString();
  }
  return `${text}${text === '' || text.endsWith('\n') ? '' : '\n'}current-context: ${value}\n`;
}

export function registerConfig(program: Command, io: KubeIO): void {
  const config = program
    .command('config')
    .description('show and edit kubeconfig files (contexts, clusters, users)')
    .addHelpText(
      'after',
      `
Examples:
  shoal config view --minify
  shoal config get-contexts
  shoal config use-context prod`,
    );
  wireCommand(config, io);

  const view = config
    .command('view')
    .description('print the merged kubeconfig, secrets redacted unless --raw')
    .option('--minify', 'only the current context, its cluster and its user')
    .option('--raw', 'show certificate data, keys and tokens')
    .addOption(
      new Option('-o, --output <format>', 'yaml (default) or json').choices(['yaml', 'json']),
    )
    .addHelpText(
      'after',
      `
Examples:
  shoal config view
  shoal config view --minify --raw > cluster.kubeconfig
  KUBECONFIG=a:b shoal config view`,
    );
  addConnectionFlags(view);
  wireCommand(view, io);
  view.action(async (o: ConfigViewOptions) => runConfigView(o, io));

  const getContexts = config
    .command('get-contexts')
    .description('list the contexts; * marks the current one')
    .argument('[names...]', 'only these contexts')
    .addOption(new Option('-o, --output <format>', 'name: only the names').choices(['name']))
    .option('--no-headers', 'leave out the header line')
    .addHelpText(
      'after',
      `
Examples:
  shoal config get-contexts
  shoal config get-contexts -o name`,
    );
  addConnectionFlags(getContexts);
  wireCommand(getContexts, io);
  getContexts.action(
    async (names: string[], o: ConnectionFlags & { output?: 'name'; headers: boolean }) =>
      runGetContexts(names, o, io),
  );

  const current = config
    .command('current-context')
    .description('print the current context')
    .addHelpText('after', '\nExample:\n  shoal config current-context');
  addConnectionFlags(current);
  wireCommand(current, io);
  current.action(async (o: ConnectionFlags) => runCurrentContext(o, io));

  const use = config
    .command('use-context')
    .description('set the current context in the kubeconfig file')
    .argument('<name>', 'the context')
    .addHelpText(
      'after',
      `
Examples:
  shoal config use-context prod
  shoal config use-context dev --kubeconfig ~/.kube/dev.yaml`,
    );
  addConnectionFlags(use);
  wireCommand(use, io);
  use.action(async (name: string, o: ConnectionFlags) => runUseContext(name, o, io));
}
