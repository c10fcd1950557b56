// `shoal apply -f`: server-side apply of every manifest, in an order that
// creates Namespaces, ConfigMaps and Secrets before what uses them; one result
// line per object; optional pruning of labelled objects the files no longer
// hold, and --wait for workloads to become ready.

import { Option, type Command } from 'commander';
import type { KubeClient } from './client.js';
import { Discovery, objectRef, resourcePath, type ApiResource } from './discovery.js';
import { aboutObject, CliError, isNotFound, ReportedError } from './errors.js';
import {
  addConnectionFlags,
  canonicalJson,
  connect,
  oneOf,
  parseDuration,
  wireCommand,
} from './flags.js';
import type { KubeIO } from './io.js';
import { PROJECT_LABEL } from '../compose/index.js';
import { orderForApply, readManifests, type Manifest } from './manifests.js';
import { isWaitable, waitReady, type WaitTarget } from './wait.js';

export const FIELD_MANAGER = 'shoal';

/** The kinds cli/compose makes; --prune of a compose project looks at all of them. */
const COMPOSE_KINDS = [
  ['v1', 'Service'],
  ['v1', 'ConfigMap'],
  ['v1', 'Secret'],
  ['v1', 'Pod'],
  ['apps/v1', 'Deployment'],
  ['apps/v1', 'StatefulSet'],
  ['apps/v1', 'DaemonSet'],
] as const;

type Obj = Record<string, unknown> & { metadata?: Record<string, unknown> };

export interface ApplyOptions {
  filename: string[];
  recursive?: boolean;
  serverSide?: boolean;
  forceConflicts?: boolean;
  dryRun?: 'none' | 'server' | 'client';
  prune?: boolean;
  selector?: string;
  /** -p: the compose project name, for compose files. */
  projectName?: string;
  wait?: boolean;
  timeout: number;
  fieldManager: string;
  kubeconfig?: string;
  context?: string;
  namespace?: string;
}

interface Applied {
  resource: ApiResource;
  namespace: string | undefined;
  name: string;
}

/** Where a manifest goes: its own namespace, else -n, else the context's; none for cluster-scoped kinds. */
export function targetNamespace(
  m: Manifest,
  r: ApiResource,
  client: KubeClient,
): string | undefined {
  if (!r.namespaced) return undefined;
  if (m.namespace && client.explicitNamespace && m.namespace !== client.namespace) {
    throw new CliError(
      `the namespace from the provided object "${m.namespace}" does not match the namespace "${client.namespace}". You must pass '--namespace=${m.namespace}' to perform this operation.`,
    );
  }
  return m.namespace ?? client.namespace;
}

/** The object minus what every write changes, to tell "unchanged" from "configured" on a dry run. */
function comparable(o: Obj | undefined): string {
  if (!o) return '';
  const { resourceVersion: _rv, managedFields: _mf, generation: _g, ...meta } = o.metadata ?? {};
  return canonicalJson({ ...o, metadata: meta });
}

async function getOrUndefined(client: KubeClient, path: string): Promise<Obj | undefined> {
  try {
    return await client.request<Obj>({ path });
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** One manifest's server-side apply PATCH (also `shoal diff`'s dry run); the server's result. */
export async function serverSideApply(
  client: KubeClient,
  m: Manifest,
  path: string,
  namespace: string | undefined,
  o: { fieldManager: string; force: boolean; dryRun: boolean },
): Promise<Obj> {
  const body = {
    ...m.object,
    metadata: { ...m.object.metadata, ...(namespace !== undefined ? { namespace } : {}) },
  };
  return client.request<Obj>({
    method: 'PATCH',
    path,
    body,
    contentType: 'application/apply-patch+yaml',
    query: {
      fieldManager: o.fieldManager,
      force: o.force ? true : undefined,
      dryRun: o.dryRun ? 'All' : undefined,
      fieldValidation: 'Strict',
    },
  });
}

async function applyOne(
  client: KubeClient,
  m: Manifest,
  r: ApiResource,
  namespace: string | undefined,
  o: ApplyOptions,
): Promise<string> {
  const path = resourcePath(r, namespace, m.name);
  const before = await getOrUndefined(client, path);
  const dry =
    o.dryRun === 'server' ? ' (server dry run)' : o.dryRun === 'client' ? ' (dry run)' : '';
  if (o.dryRun === 'client') return before ? 'configured' + dry : 'created' + dry;
  const after = await serverSideApply(client, m, path, namespace, {
    fieldManager: o.fieldManager,
    force: o.forceConflicts === true,
    dryRun: o.dryRun === 'server',
  });
  if (!before) return 'created' + dry;
  // An unchanged resourceVersion settles it; a changed one may only mean the
  // server rewrote managedFields (it does on the first apply over an object
  // it created itself), which is no change to the user. A dry run never
  // changes the resourceVersion, so there the content decides alone.
  const same =
    (o.dryRun !== 'server' &&
      before.metadata?.resourceVersion === after.metadata?.resourceVersion) ||
    comparable(before) === comparable(after);
  return (same ? 'unchanged' : 'configured') + dry;
}

/** Deletes objects of the applied kinds, in the applied namespaces, that match -l and were not applied. */
async function prune(
  client: KubeClient,
  applied: Applied[],
  o: ApplyOptions,
  io: KubeIO,
  compose?: { scopes: { resource: ApiResource; namespace: string | undefined }[] },
): Promise<void> {
  const keep = new Set(
    applied.map(
      (a) => `${a.resource.apiVersion}/${a.resource.kind}/${a.namespace ?? ''}/${a.name}`,
    ),
  );
  const scopes = new Map<string, { resource: ApiResource; namespace: string | undefined }>();
  for (const a of [...applied, ...(compose?.scopes ?? [])]) {
    scopes.set(`${a.resource.apiVersion}/${a.resource.kind}/${a.namespace ?? ''}`, a);
  }
  for (const { resource, namespace } of scopes.values()) {
    // A compose project keeps its volumes' data, as `docker compose down` does without -v.
    if (compose && resource.kind === 'PersistentVolumeClaim') continue;
    const list = await client.request<{ items?: Obj[] }>({
      path: resourcePath(resource, namespace),
      query: { labelSelector: o.selector },
    });
    for (const item of list.items ?? []) {
      const name = String(item.metadata?.name ?? '');
      if (keep.has(`${resource.apiVersion}/${resource.kind}/${namespace ?? ''}/${name}`)) continue;
      // What a controller made (a ReplicaSet, a Job's pod) is its owner's to remove.
      const owners = item.metadata?.ownerReferences;
      if (Array.isArray(owners) && owners.some((ref: { controller?: boolean }) => ref.controller))
        continue;
      if (o.dryRun !== 'client') {
        await client.request({
          method: 'DELETE',
          path: resourcePath(resource, namespace, name),
          query: {
            propagationPolicy: 'Background',
            dryRun: o.dryRun === 'server' ? 'All' : undefined,
          },
        });
      }
      const dry =
        o.dryRun === 'server' ? ' (server dry run)' : o.dryRun === 'client' ? ' (dry run)' : '';
      io.out(`${objectRef(resource, name)} pruned${dry}\n`);
    }
  }
}

export async function runApply(o: ApplyOptions, io: KubeIO): Promise<void> {
  if (o.serverSide === false) {
    // Client-side apply (last-applied annotation, three-way merge) is not implemented:
    // server-side apply gives the same result without the annotation.
    throw new CliError('--server-side=false is not supported: shoal applies server-side');
  }
  const manifests = orderForApply(
    await readManifests(o.filename, o.recursive ?? false, io, 'apply', {
      ...(o.projectName ? { projectName: o.projectName } : {}),
      ...(o.namespace ? { namespace: o.namespace } : {}),
    }),
  );
  // A compose project prunes by its project label unless -l says otherwise.
  const projects = new Set(manifests.map((m) => m.composeProject));
  const project = projects.size === 1 ? [...projects][0] : undefined;
  if (o.prune && !o.selector && project) o = { ...o, selector: `${PROJECT_LABEL}=${project}` };
  if (o.prune && !o.selector)
    throw new CliError('--prune needs a label selector: add -l KEY=VALUE', 2);
  const client = connect(o, io);
  const discovery = new Discovery(client);
  const applied: Applied[] = [];
  let failures = 0;
  for (const m of manifests) {
    let ref = `${m.kind.toLowerCase()}/${m.name}`;
    try {
      const r = await discovery.forKind(m.apiVersion, m.kind);
      ref = objectRef(r, m.name);
      const namespace = targetNamespace(m, r, client);
      const result = await applyOne(client, m, r, namespace, o);
      applied.push({ resource: r, namespace, name: m.name });
      io.out(`${ref} ${result}\n`);
    } catch (err) {
      // Like kubectl: report and go on with the other objects, fail at the end.
      failures++;
      io.err(`error: ${aboutObject(`${m.origin}: ${ref}`, m.name, err).message}\n`);
    }
  }
  if (o.prune && failures === 0) {
    // A service dropped from a compose file may leave the last object of a kind.
    const compose = project
      ? {
          scopes: await composeScopes(
            discovery,
            applied,
            o.selector === `${PROJECT_LABEL}=${project}`,
          ),
        }
      : undefined;
    await prune(client, applied, o, io, compose);
  }
  if (failures) throw new ReportedError(failures);
  if (o.wait && o.dryRun === 'none') await waitAll(client, discovery, applied, o.timeout, io);
}

/** Every kind a compose file becomes, in the namespaces applied to (with the project's own selector only). */
async function composeScopes(
  discovery: Discovery,
  applied: Applied[],
  ownSelector: boolean,
): Promise<{ resource: ApiResource; namespace: string | undefined }[]> {
  if (!ownSelector) return [];
  const namespaces = new Set(applied.filter((a) => a.resource.namespaced).map((a) => a.namespace));
  const out: { resource: ApiResource; namespace: string | undefined }[] = [];
  for (const [apiVersion, kind] of COMPOSE_KINDS) {
    const resource = await discovery.forKind(apiVersion, kind).catch(() => undefined);
    if (resource) for (const namespace of namespaces) out.push({ resource, namespace });
  }
  return out;
}

async function waitAll(
  client: KubeClient,
  discovery: Discovery,
  applied: Applied[],
  timeoutMs: number,
  io: KubeIO,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const pods = await discovery.forKind('v1', 'Pod').catch(() => undefined);
  const targets: WaitTarget[] = applied.filter((a) => isWaitable(a.resource.kind));
  let open = false;
  const progress = (ref: string, message: string): void => {
    // On a terminal, one live line rewritten in place; in a log, one line per change.
    if (io.isTTY) {
      io.out(`\r\x1b[2K${ref}: ${message}`);
      open = true;
    } else io.out(`${ref}: ${message}\n`);
  };
  const endLine = (): void => {
    if (open) io.out('\n');
    open = false;
  };
  for (const t of targets) {
    try {
      const done = await waitReady(client, t, pods, deadline, progress);
      endLine();
      io.out(`${done}\n`);
    } catch (err) {
      endLine();
      throw err;
    }
  }
}

export function registerApply(program: Command, io: KubeIO): void {
  const cmd = program
    .command('apply')
    .description('create or update objects from manifests (server-side apply)')
    .requiredOption('-f, --filename <path...>', 'file, directory or - for stdin (repeatable)')
    .option('-R, --recursive', 'descend into directories')
    .option('--server-side', 'apply on the server (the default and only mode)', true)
    .option('--force-conflicts', 'take over fields other managers own')
    .addOption(
      new Option('--dry-run [mode]', 'server: let the server check it; client: only read the files')
        .argParser(oneOf(['none', 'server', 'client'] as const))
        .preset('client')
        .default('none'),
    )
    .option('--prune', 'delete objects matching -l that the files no longer hold')
    .option('-l, --selector <selector>', 'label selector for --prune (a compose project: its own)')
    .option(
      '-p, --project-name <name>',
      'compose files: the project name (default: name:, else the directory)',
    )
    .option(
      '--field-manager <name>',
      'the field manager recorded for applied fields',
      FIELD_MANAGER,
    )
    .option('--wait', 'follow each Deployment, DaemonSet and Job until it is ready')
    .option(
      '--timeout <duration>',
      'how long --wait waits (e.g. 90s, 5m)',
      parseDuration,
      5 * 60_000,
    )
    .addHelpText(
      'after',
      `
Examples:
  shoal apply -f app.yaml
  shoal apply -f deploy/ -R --wait --timeout 2m
  cat app.yaml | shoal apply -f -
  shoal apply -f app/ --prune -l app=web
  shoal apply -f app.yaml --dry-run=server`,
    );
  addConnectionFlags(cmd);
  wireCommand(cmd, io);
  cmd.action(async (o: ApplyOptions) => {
    // --prune without -l is checked once the files are read: a compose file brings its own selector.
    await runApply(o, io);
  });
}
