// `shoal delete`: by manifest (-f), by name, by label selector or --all; the
// cascade policy chosen by the user; optionally waiting until the objects are
// gone (finalizers and foreground deletion can hold them for a while).

import { Option, type Command } from 'commander';
import type { KubeClient } from './client.js';
import { Discovery, resourcePath, type ApiResource } from './discovery.js';
import { aboutObject, CliError, isNotFound, ReportedError } from './errors.js';
import { addConnectionFlags, connect, oneOf, parseDuration, sleep, wireCommand } from './flags.js';
import type { KubeIO } from './io.js';
import { readManifests } from './manifests.js';
import { parseTargets } from './get.js';
import { targetNamespace } from './apply.js';

export interface DeleteOptions {
  filename?: string[];
  recursive?: boolean;
  selector?: string;
  all?: boolean;
  cascade: 'background' | 'foreground' | 'orphan';
  wait?: boolean;
  timeout: number;
  ignoreNotFound?: boolean;
  kubeconfig?: string;
  context?: string;
  namespace?: string;
}

interface Target {
  resource: ApiResource;
  namespace: string | undefined;
  name: string;
  origin?: string;
}

/** kubectl's `deployment.apps "web"`. */
export function quotedRef(r: ApiResource, name: string): string {
  return `${r.kind.toLowerCase()}${r.group ? `.${r.group}` : ''} "${name}"`;
}

const POLICY = { background: 'Background', foreground: 'Foreground', orphan: 'Orphan' } as const;

async function targetsFrom(
  args: string[],
  o: DeleteOptions,
  client: KubeClient,
  discovery: Discovery,
  io: KubeIO,
): Promise<Target[]> {
  if (o.filename?.length) {
    const out: Target[] = [];
    for (const m of await readManifests(o.filename, o.recursive ?? false, io, 'delete')) {
      const resource = await discovery.forKind(m.apiVersion, m.kind);
      out.push({
        resource,
        namespace: targetNamespace(m, resource, client),
        name: m.name,
        origin: m.origin,
      });
    }
    return out;
  }
  const out: Target[] = [];
  for (const { resource, names } of await parseTargets(discovery, args)) {
    const namespace = resource.namespaced ? client.namespace : undefined;
    if (names.length) {
      for (const name of names) out.push({ resource, namespace, name });
      continue;
    }
    const list = await client.request<{ items?: { metadata?: { name?: string } }[] }>({
      path: resourcePath(resource, namespace),
      query: { labelSelector: o.selector },
    });
    for (const item of list.items ?? [])
      out.push({ resource, namespace, name: String(item.metadata?.name) });
  }
  return out;
}

async function waitGone(
  client: KubeClient,
  t: Target,
  uid: string | undefined,
  deadline: number,
): Promise<void> {
  for (;;) {
    try {
      const obj = await client.request<{ metadata?: { uid?: string } }>({
        path: resourcePath(t.resource, t.namespace, t.name),
      });
      if (uid && obj.metadata?.uid !== uid) return; // deleted and made again
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
    const left = deadline - Date.now();
    if (left <= 0)
      throw new CliError(`timed out waiting for ${quotedRef(t.resource, t.name)} to be deleted`);
    await sleep(Math.min(500, left));
  }
}

export async function runDelete(args: string[], o: DeleteOptions, io: KubeIO): Promise<void> {
  const client = connect(o, io);
  const discovery = new Discovery(client);
  const targets = await targetsFrom(args, o, client, discovery, io);
  if (targets.length === 0 && (o.selector || o.all)) {
    io.err(`No resources found\n`);
    return;
  }
  const deadline = Date.now() + o.timeout;
  let failures = 0;
  for (const t of targets) {
    try {
      const res = await client.request<{ metadata?: { uid?: string } }>({
        method: 'DELETE',
        path: resourcePath(t.resource, t.namespace, t.name),
        body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: POLICY[o.cascade] },
      });
      // Like kubectl: "deleted" once the server accepted it; --wait then waits for it to go.
      io.out(`${quotedRef(t.resource, t.name)} deleted\n`);
      if (o.wait) await waitGone(client, t, res.metadata?.uid, deadline);
    } catch (err) {
      if (o.ignoreNotFound && isNotFound(err)) continue;
      failures++;
      const ref = `${t.origin ? `${t.origin}: ` : ''}${quotedRef(t.resource, t.name)}`;
      io.err(`error: ${aboutObject(ref, t.name, err).message}\n`);
    }
  }
  if (failures) throw new ReportedError(failures);
}

export function registerDelete(program: Command, io: KubeIO): void {
  const cmd = program
    .command('delete')
    .description('delete objects by file, name, label selector or --all')
    .argument('[args...]', 'TYPE NAME…, TYPE/NAME…, or TYPE with -l/--all')
    .option('-f, --filename <path...>', 'the objects named in these manifests')
    .option('-R, --recursive', 'descend into directories')
    .option('-l, --selector <selector>', 'delete the objects of TYPE matching this selector')
    .option('--all', 'delete every object of TYPE in the namespace')
    .addOption(
      new Option(
        '--cascade <policy>',
        'what happens to dependents: background, foreground or orphan',
      )
        .argParser(oneOf(['background', 'foreground', 'orphan'] as const))
        .default('background'),
    )
    .option('--wait', 'return only once the objects are gone')
    .option('--timeout <duration>', 'how long --wait waits', parseDuration, 5 * 60_000)
    .option('--ignore-not-found', 'treat "not found" as deleted')
    .addHelpText(
      'after',
      `
Examples:
  shoal delete -f app.yaml
  shoal delete deploy web
  shoal delete pod -l app=web
  shoal delete cm --all
  shoal delete deploy web --cascade=orphan --wait`,
    );
  addConnectionFlags(cmd);
  wireCommand(cmd, io);
  cmd.action(async (args: string[], o: DeleteOptions) => {
    const usage = (m: string): never =>
      cmd.error(`error: ${m}`, { exitCode: 2, code: 'shoal.usage' });
    if (o.filename?.length) {
      if (args.length) usage('give either -f or TYPE NAME, not both');
    } else if (args.length === 0) {
      usage('say what to delete: -f FILE, TYPE NAME, TYPE -l SELECTOR or TYPE --all');
    } else if (args.length === 1 && !args[0]!.includes('/') && !o.selector && !o.all) {
      usage(`name the ${args[0]} to delete, or select them with -l or --all`);
    } else if ((o.selector || o.all) && args.length > 1) {
      usage('-l and --all take a TYPE, not names');
    }
    await runDelete(args, o, io);
  });
}
