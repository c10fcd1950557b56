// `shoal diff -f`: what `shoal apply -f` would change. Each manifest goes
// through the same server-side apply as apply (field manager "shoal"), as a
// dry run, and the result is compared with the live object as YAML, one
// unified diff per object, the way kubectl diff prints them. Exit codes are
// kubectl diff's: 0 no differences, 1 differences, 2 an error (kubectl exits
// with its error code plus one, and 2 is also our usage-error code).

import type { Command } from 'commander';
import { FILE_HEADERS_ONLY, createTwoFilesPatch } from 'diff';
import { stringify } from 'yaml';
import { isRecord } from '../../controlplane/api/objects.js';
import { FIELD_MANAGER, serverSideApply, targetNamespace } from './apply.js';
import type { KubeClient } from './client.js';
import { Discovery, objectRef, resourcePath, type ApiResource } from './discovery.js';
import { aboutObject, CliError, isNotFound, ReportedError } from './errors.js';
import { addConnectionFlags, connect, wireCommand } from './flags.js';
import type { KubeIO } from './io.js';
import { readManifests } from './manifests.js';

/** Exit code for "it failed", kept apart from 1, which means "differences found". */
export const DIFF_ERROR_EXIT = 2;

type Obj = Record<string, unknown>;

export interface DiffOptions {
  filename: string[];
  recursive?: boolean;
  forceConflicts?: boolean;
  fieldManager: string;
  kubeconfig?: string;
  context?: string;
  namespace?: string;
}

/** Differences were found: nothing more to print, exit 1. */
class DifferencesFound extends ReportedError {
  constructor() {
    super(0);
    this.message = 'differences found';
  }
}

/** Failures printed already; exit 2, not 1, so they never read as "differences". */
class DiffFailed extends ReportedError {
  override readonly exitCode = DIFF_ERROR_EXIT;
}

/** kubectl's file name for an object: [group.]version.Kind.namespace.name. */
export function diffName(r: ApiResource, namespace: string | undefined, name: string): string {
  return `${r.group ? `${r.group}.` : ''}${r.version}.${r.kind}.${namespace ?? ''}.${name}`;
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (!isRecord(v)) return v;
  return Object.fromEntries(
    Object.keys(v)
      .sort()
      .map((k) => [k, sortKeys(v[k])]),
  );
}

/** What kubectl diff leaves out of both sides: managedFields (unless asked, which we never are). */
function withoutNoise(o: Obj | undefined): Obj | undefined {
  if (!o) return undefined;
  const meta = isRecord(o.metadata) ? { ...o.metadata } : undefined;
  if (meta) delete meta.managedFields;
  return meta ? { ...o, metadata: meta } : { ...o };
}

/**
 * Secret values never reach the terminal: kubectl prints "***" for a value
 * both sides share and "*** (before)" / "*** (after)" for one that changes.
 */
export function maskSecrets(live: Obj | undefined, merged: Obj | undefined): [Obj?, Obj?] {
  const isSecret = (o: Obj | undefined): boolean => o?.kind === 'Secret';
  if (!isSecret(live) && !isSecret(merged)) return [live, merged];
  const mask = (o: Obj | undefined, other: Obj | undefined, side: string): Obj | undefined => {
    if (!o) return o;
    const out: Obj = { ...o };
    for (const field of ['data', 'stringData']) {
      const values = o[field];
      if (!isRecord(values)) continue;
      const theirs = isRecord(other?.[field]) ? (other[field] as Obj) : {};
      out[field] = Object.fromEntries(
        Object.entries(values).map(([k, v]) => [
          k,
          k in theirs && theirs[k] !== v ? `*** (${side})` : '***',
        ]),
      );
    }
    return out;
  };
  return [mask(live, merged, 'before'), mask(merged, live, 'after')];
}

function toYaml(o: Obj | undefined): string {
  // Block sequences not indented under their key, as Go's YAML (and so kubectl) writes them.
  return o ? stringify(sortKeys(o), { lineWidth: 0, indentSeq: false }) : '';
}

/** The unified diff of two objects' YAML, with kubectl's labels; '' when they are the same. */
export function objectDiff(label: string, live: Obj | undefined, merged: Obj | undefined): string {
  const [a, b] = maskSecrets(withoutNoise(live), withoutNoise(merged));
  const before = toYaml(a);
  const after = toYaml(b);
  if (before === after) return '';
  const from = `live/${label}`;
  const to = `merged/${label}`;
  const patch = createTwoFilesPatch(from, to, before, after, undefined, undefined, {
    headerOptions: FILE_HEADERS_ONLY,
  });
  return `diff -u -N ${from} ${to}\n${patch}`;
}

async function live(client: KubeClient, path: string): Promise<Obj | undefined> {
  try {
    return await client.request<Obj>({ path });
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

export async function runDiff(o: DiffOptions, io: KubeIO): Promise<void> {
  const manifests = await readManifests(o.filename, o.recursive ?? false, io, 'diff');
  const client = connect(o, io);
  const discovery = new Discovery(client);
  let failures = 0;
  let differ = false;
  for (const m of manifests) {
    let ref = `${m.kind.toLowerCase()}/${m.name}`;
    try {
      const r = await discovery.forKind(m.apiVersion, m.kind);
      ref = objectRef(r, m.name);
      const namespace = targetNamespace(m, r, client);
      const path = resourcePath(r, namespace, m.name);
      const before = await live(client, path);
      const after = await serverSideApply(client, m, path, namespace, {
        fieldManager: o.fieldManager,
        force: o.forceConflicts === true,
        dryRun: true,
      });
      const text = objectDiff(diffName(r, namespace, m.name), before, after);
      if (text) {
        differ = true;
        io.out(text);
      }
    } catch (err) {
      // Like apply: report it and go on with the other objects.
      failures++;
      io.err(`error: ${aboutObject(`${m.origin}: ${ref}`, m.name, err).message}\n`);
    }
  }
  if (failures) throw new DiffFailed(failures);
  if (differ) throw new DifferencesFound();
}

export function registerDiff(program: Command, io: KubeIO): void {
  const cmd = program
    .command('diff')
    .description('show what `apply -f` would change: live objects against a server dry run')
    .requiredOption('-f, --filename <path...>', 'file, directory or - for stdin (repeatable)')
    .option('-R, --recursive', 'descend into directories')
    // Accepted for kubectl users' muscle memory: shoal only ever applies server-side.
    .option('--server-side', 'diff against a server-side apply (the default and only mode)', true)
    .option('--force-conflicts', 'diff as if apply took over fields other managers own')
    .option('--field-manager <name>', 'the field manager apply would use', FIELD_MANAGER)
    .addHelpText(
      'after',
      `
Exit status: 0 no differences, 1 differences found, 2 an error.

Examples:
  shoal diff -f app.yaml
  shoal diff -f deploy/ -R
  cat app.yaml | shoal diff -f -
  shoal diff -f app.yaml && echo "cluster is up to date"`,
    );
  addConnectionFlags(cmd);
  wireCommand(cmd, io);
  cmd.action(async (o: DiffOptions) => {
    try {
      await runDiff(o, io);
    } catch (err) {
      if (err instanceof ReportedError) throw err;
      // Any failure (bad file, no cluster) must not exit 1, which means "differences".
      const message = err instanceof Error ? err.message : String(err);
      throw new CliError(message, DIFF_ERROR_EXIT, { cause: err });
    }
  });
}
