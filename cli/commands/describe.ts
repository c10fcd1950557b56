// `shoal describe TYPE [NAME…] | TYPE/NAME…`: one object at a time in the
// layout kubectl's describers use, ending with the Events about it. Kinds
// resolve through discovery like `get`; a name that matches no object is
// taken as a prefix, as kubectl does, before it is reported missing.

import type { Command } from 'commander';
import type { KubeClient } from './client.js';
import { Discovery, resourcePath, type ApiResource } from './discovery.js';
import { CliError, isNotFound, ReportedError } from './errors.js';
import { addConnectionFlags, connect, wireCommand } from './flags.js';
import type { KubeIO } from './io.js';
import { describeNode, describePod } from './describe-pods.js';
import { DescribeWriter, rec, str, type Obj } from './describe-writer.js';
import {
  describeDaemonSet,
  describeDeployment,
  describeGeneric,
  describeJob,
  describeNamespace,
  describeReplicaSet,
  describeService,
  type DescribeContext,
} from './describe-workloads.js';

export interface DescribeOptions {
  selector?: string;
  allNamespaces?: boolean;
  kubeconfig?: string;
  context?: string;
  namespace?: string;
}

interface Target {
  resource: ApiResource;
  names: string[];
}

/** The API reads describers make, with the events of a namespace listed once per command. */
class ApiDescribeContext implements DescribeContext {
  private readonly eventLists = new Map<string, Promise<Obj[]>>();

  constructor(private readonly client: KubeClient) {}

  async get(path: string): Promise<Obj | undefined> {
    try {
      return await this.client.request<Obj>({ path });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async list(path: string, query?: Record<string, string | undefined>): Promise<Obj[]> {
    const l = await this.client.request<{ items?: Obj[] }>({ path, ...(query ? { query } : {}) });
    return l.items ?? [];
  }

  async events(obj: Obj, kind: string): Promise<Obj[]> {
    const meta = rec(obj.metadata);
    const name = str(meta.name);
    const namespace = str(meta.namespace);
    // Cluster-scoped objects' events live in any namespace ("default" for Nodes).
    const path = namespace
      ? `/api/v1/namespaces/${encodeURIComponent(namespace)}/events`
      : '/api/v1/events';
    const key = `${path}|${kind}`;
    let all = this.eventLists.get(key);
    if (!all) {
      all = this.list(path, { fieldSelector: `involvedObject.kind=${kind}` }).catch(
        (err: unknown) => {
          // Events are an aid: an object is still described when they cannot be read.
          if (isNotFound(err)) return [];
          throw err;
        },
      );
      this.eventLists.set(key, all);
    }
    const uid = str(meta.uid);
    return (await all).filter((e) => {
      const io = rec(e.involvedObject);
      if (io.uid && uid) return io.uid === uid;
      return io.kind === kind && io.name === name && str(io.namespace) === namespace;
    });
  }
}

/** Describes one object, by kind. */
export async function describeObject(
  ctx: DescribeContext,
  r: ApiResource,
  obj: Obj,
): Promise<string> {
  const key = `${r.group}/${r.kind}`;
  switch (key) {
    case '/Pod': {
      const w = new DescribeWriter();
      describePod(w, obj, await ctx.events(obj, 'Pod'));
      return w.text();
    }
    case '/Node': {
      const name = str(rec(obj.metadata).name);
      const pods = await ctx.list('/api/v1/pods', { fieldSelector: `spec.nodeName=${name}` });
      const w = new DescribeWriter();
      describeNode(w, obj, pods, await ctx.events(obj, 'Node'));
      return w.text();
    }
    case 'apps/Deployment':
      return describeDeployment(ctx, obj);
    case 'apps/ReplicaSet':
      return describeReplicaSet(ctx, obj);
    case 'apps/DaemonSet':
      return describeDaemonSet(ctx, obj);
    case 'batch/Job':
      return describeJob(ctx, obj);
    case '/Service':
      return describeService(ctx, obj);
    case '/Namespace':
      return describeNamespace(ctx, obj);
    default:
      return describeGeneric(ctx, obj, r.kind, r.namespaced);
  }
}

async function parseDescribeTargets(discovery: Discovery, args: string[]): Promise<Target[]> {
  const [first, ...rest] = args;
  if (first === undefined) throw new CliError('you must specify the type of resource to describe');
  if (first.includes('/')) {
    const out: Target[] = [];
    for (const a of args) {
      const [type, name] = a.split('/', 2);
      if (!type || !name) throw new CliError(`"${a}" is not TYPE/NAME (e.g. pod/web-1)`);
      const resource = await discovery.resolve(type);
      const prev = out.find((t) => t.resource === resource);
      if (prev) prev.names.push(name);
      else out.push({ resource, names: [name] });
    }
    return out;
  }
  const out: Target[] = [];
  for (const t of first.split(',').filter(Boolean))
    out.push({ resource: await discovery.resolve(t), names: rest });
  return out;
}

export async function runDescribe(args: string[], o: DescribeOptions, io: KubeIO): Promise<void> {
  const client = connect(o, io);
  const discovery = new Discovery(client);
  const targets = await parseDescribeTargets(discovery, args);
  const ctx = new ApiDescribeContext(client);
  let printed = 0;
  let failures = 0;
  const print = (text: string): void => {
    // kubectl's separator between describes: a blank line after each one.
    io.out(printed > 0 ? `\n\n${text}` : text);
    printed++;
  };
  for (const { resource, names } of targets) {
    const ns = resource.namespaced && !o.allNamespaces ? client.namespace : undefined;
    const objects: Obj[] = [];
    if (names.length === 0) {
      objects.push(...(await ctx.list(resourcePath(resource, ns), { labelSelector: o.selector })));
      if (objects.length === 0) {
        io.err(
          ns !== undefined ? `No resources found in ${ns} namespace.\n` : 'No resources found\n',
        );
      }
    }
    for (const name of names) {
      try {
        let missing: unknown;
        try {
          objects.push(await client.request<Obj>({ path: resourcePath(resource, ns, name) }));
          continue;
        } catch (err) {
          if (!isNotFound(err)) throw err;
          missing = err;
        }
        // kubectl describes every object whose name starts with the one given.
        const all = await ctx.list(resourcePath(resource, ns), { labelSelector: o.selector });
        const prefixed = all.filter((obj) => str(rec(obj.metadata).name).startsWith(name));
        // None: the server's own message, e.g. `pods "web" not found`.
        if (!prefixed.length) throw missing;
        objects.push(...prefixed);
      } catch (err) {
        failures++;
        io.err(`error: ${err instanceof Error ? err.message : String(err)}\n`);
      }
    }
    for (const obj of objects) {
      print(await describeObject(ctx, resource, obj));
    }
  }
  if (failures) throw new ReportedError(failures);
}

export function registerDescribe(program: Command, io: KubeIO): void {
  const cmd = program
    .command('describe')
    .description('show the details of objects, with their events')
    .argument('<type>', 'kind, plural or short name (po, deploy, svc, no …), or TYPE/NAME')
    .argument('[names...]', 'object names or name prefixes; all objects when none')
    .option('-l, --selector <selector>', 'label selector, e.g. app=web')
    .option('-A, --all-namespaces', 'look in every namespace')
    .addHelpText(
      'after',
      `
Examples:
  shoal describe pod web-7d9f8-abcde
  shoal describe pods -l app=web
  shoal describe node host-1
  shoal describe deploy/web svc/web
  shoal describe pods -A`,
    );
  addConnectionFlags(cmd);
  wireCommand(cmd, io);
  cmd.action(async (type: string, names: string[], o: DescribeOptions) =>
    runDescribe([type, ...names], o, io),
  );
}
