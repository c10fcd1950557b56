// `shoal get`: kinds resolved through discovery, human output from the
// server's Table (the same columns kubectl prints), machine output as
// yaml/json/name/jsonpath, and -w streaming rows from a watch.

import { Option, type Command } from 'commander';
import { isRecord } from '../../controlplane/api/objects.js';
import type { KubeClient } from './client.js';
import { Discovery, objectRef, resourcePath, type ApiResource } from './discovery.js';
import { CliError, ReportedError } from './errors.js';
import { addConnectionFlags, connect, wireCommand } from './flags.js';
import type { KubeIO } from './io.js';
import {
  alignLine,
  columnWidths,
  formatObjects,
  formatTable,
  parseOutput,
  tableCells,
  type OutputFormat,
  type ServerTable,
  type TableLayout,
} from './printers.js';

export const TABLE_ACCEPT = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json';

export interface GetOptions {
  output?: string;
  selector?: string;
  fieldSelector?: string;
  allNamespaces?: boolean;
  watch?: boolean;
  showLabels?: boolean;
  kubeconfig?: string;
  context?: string;
  namespace?: string;
}

interface Request {
  resource: ApiResource;
  names: string[];
}

/** `deploy web api`, `deploy,svc`, `deploy/web svc/api` → what to fetch. */
export async function parseTargets(discovery: Discovery, args: string[]): Promise<Request[]> {
  const [first, ...rest] = args;
  if (first === undefined) throw new CliError('you must specify the type of resource to get');
  if (first.includes('/')) {
    const out: Request[] = [];
    for (const a of args) {
      const [type, name] = a.split('/', 2);
      if (!type || !name)
        throw new CliError(
          `there is no need to specify a resource type as a separate argument when passing arguments in resource/name form (got "${a}")`,
        );
      const resource = await discovery.resolve(type);
      const prev = out.find((r) => r.resource === resource);
      if (prev) prev.names.push(name);
      else out.push({ resource, names: [name] });
    }
    return out;
  }
  const types = first.split(',').filter(Boolean);
  const out: Request[] = [];
  for (const t of types) {
    const category = await discovery.resolve(t).then(
      () => undefined,
      () => discovery.category(t),
    );
    if (category) for (const resource of category) out.push({ resource, names: rest });
    else out.push({ resource: await discovery.resolve(t), names: rest });
  }
  return out;
}

function layoutFor(o: GetOptions, format: OutputFormat, prefix?: string): TableLayout {
  return {
    wide: format.kind === 'table' && format.wide,
    allNamespaces: o.allNamespaces === true,
    showLabels: o.showLabels === true,
    ...(prefix ? { prefix } : {}),
  };
}

function namespaceOf(r: ApiResource, client: KubeClient, o: GetOptions): string | undefined {
  return r.namespaced && !o.allNamespaces ? client.namespace : undefined;
}

export async function runGet(args: string[], o: GetOptions, io: KubeIO): Promise<void> {
  const format = parseOutput(o.output);
  if (!format) {
    throw new CliError(
      `unable to match a printer suitable for the output format "${o.output}", allowed formats are: json,jsonpath,name,wide,yaml`,
    );
  }
  const client = connect(o, io);
  const discovery = new Discovery(client);
  const requests = await parseTargets(discovery, args);
  if (o.watch && requests.length !== 1)
    throw new CliError('you may only specify a single resource type with --watch');
  const query = { labelSelector: o.selector, fieldSelector: o.fieldSelector };
  let failures = 0;
  const fail = (err: unknown): void => {
    failures++;
    io.err(`error: ${err instanceof Error ? err.message : String(err)}\n`);
  };

  if (format.kind !== 'table') {
    const items: { resource: ApiResource; object: Record<string, unknown> }[] = [];
    for (const { resource, names } of requests) {
      const ns = namespaceOf(resource, client, o);
      if (names.length === 0) {
        const list = await client.request<{ items?: Record<string, unknown>[] }>({
          path: resourcePath(resource, ns),
          query,
        });
        for (const object of list.items ?? []) items.push({ resource, object });
      }
      for (const name of names) {
        try {
          items.push({
            resource,
            object: await client.request({ path: resourcePath(resource, ns, name) }),
          });
        } catch (err) {
          fail(err);
        }
      }
    }
    const single = requests.length === 1 && requests[0]!.names.length === 1;
    if (items.length || !o.watch) io.out(formatObjects(format, items, single));
    if (o.watch) await watchObjects(client, requests[0]!, o, format, io);
    if (failures) throw new ReportedError(failures);
    return;
  }

  let printed = 0;
  let lastTable: { widths: number[]; rv?: string } | undefined;
  for (const { resource, names } of requests) {
    const ns = namespaceOf(resource, client, o);
    const tables: ServerTable[] = [];
    if (names.length === 0) {
      tables.push(
        await client.request<ServerTable>({
          path: resourcePath(resource, ns),
          accept: TABLE_ACCEPT,
          query: { ...query, includeObject: 'Metadata' },
        }),
      );
    }
    for (const name of names) {
      try {
        tables.push(
          await client.request<ServerTable>({
            path: resourcePath(resource, ns, name),
            accept: TABLE_ACCEPT,
            query: { includeObject: 'Metadata' },
          }),
        );
      } catch (err) {
        fail(err);
      }
    }
    const columns = tables.find((t) => t.columnDefinitions?.length)?.columnDefinitions ?? [];
    const rows = tables.flatMap((t) => t.rows ?? []);
    if (rows.length === 0) continue;
    const prefix = requests.length > 1 ? objectRef(resource, '').slice(0, -1) : undefined;
    const cells = tableCells(columns, rows, layoutFor(o, format, prefix));
    if (printed > 0) io.out('\n');
    io.out(formatTable(cells.header, cells.rows));
    printed++;
    lastTable = {
      widths: columnWidths([cells.header, ...cells.rows]),
      rv: tables[0]?.metadata?.resourceVersion,
    };
  }
  if (printed === 0 && failures === 0 && !o.watch) {
    const r = requests[0]!;
    io.err(
      r.resource.namespaced && !o.allNamespaces
        ? `No resources found in ${client.namespace} namespace.\n`
        : 'No resources found\n',
    );
  }
  if (o.watch) await watchTable(client, requests[0]!, o, format, lastTable, io);
  if (failures) throw new ReportedError(failures);
}

/** Resolves when the watch ends: the server closed it, or the IO's signal aborted it. */
async function untilDone(handle: { done: Promise<void>; stop(): void }, io: KubeIO): Promise<void> {
  const signal = io.signal;
  if (signal) {
    if (signal.aborted) handle.stop();
    else signal.addEventListener('abort', () => handle.stop(), { once: true });
  }
  await handle.done;
}

function watchQuery(
  req: Request,
  o: GetOptions,
  rv: string | undefined,
): Record<string, string | undefined> {
  const fieldSelector =
    req.names.length === 1
      ? [`metadata.name=${req.names[0]}`, o.fieldSelector].filter(Boolean).join(',')
      : o.fieldSelector;
  return {
    labelSelector: o.selector,
    fieldSelector,
    resourceVersion: rv,
    allowWatchBookmarks: 'false',
  };
}

async function watchTable(
  client: KubeClient,
  req: Request,
  o: GetOptions,
  format: OutputFormat,
  first: { widths: number[]; rv?: string } | undefined,
  io: KubeIO,
): Promise<void> {
  const ns = namespaceOf(req.resource, client, o);
  let rv = first?.rv;
  if (!first) {
    // Nothing printed yet: learn the revision to start from without printing it twice.
    const list = await client.request<ServerTable>({
      path: resourcePath(req.resource, ns),
      accept: TABLE_ACCEPT,
      query: { limit: 1 },
    });
    rv = list.metadata?.resourceVersion;
  }
  let columns: ServerTable['columnDefinitions'];
  let widths = first?.widths;
  const handle = await client.watch(
    {
      path: resourcePath(req.resource, ns),
      accept: TABLE_ACCEPT,
      query: { ...watchQuery(req, o, rv), includeObject: 'Metadata' },
    },
    (ev) => {
      if (ev.type === 'ERROR' || ev.type === 'BOOKMARK') return;
      const table = ev.object as unknown as ServerTable;
      if (table.columnDefinitions?.length) columns = table.columnDefinitions;
      if (!columns) return;
      const cells = tableCells(columns, table.rows ?? [], layoutFor(o, format));
      if (!widths) {
        widths = columnWidths([cells.header, ...cells.rows]);
        io.out(alignLine(cells.header, widths) + '\n');
      }
      for (const row of cells.rows) io.out(alignLine(row, widths) + '\n');
    },
  );
  await untilDone(handle, io);
}

async function watchObjects(
  client: KubeClient,
  req: Request,
  o: GetOptions,
  format: Exclude<OutputFormat, { kind: 'table' }>,
  io: KubeIO,
): Promise<void> {
  const ns = namespaceOf(req.resource, client, o);
  const list = await client.request<{ metadata?: { resourceVersion?: string } }>({
    path: resourcePath(req.resource, ns),
    query: { limit: 1 },
  });
  const handle = await client.watch(
    {
      path: resourcePath(req.resource, ns),
      query: watchQuery(req, o, list.metadata?.resourceVersion),
    },
    (ev) => {
      if (ev.type === 'ERROR' || ev.type === 'BOOKMARK' || !isRecord(ev.object)) return;
      const text = formatObjects(format, [{ resource: req.resource, object: ev.object }], true);
      io.out(format.kind === 'yaml' ? `---\n${text}` : text);
    },
  );
  await untilDone(handle, io);
}

export function registerGet(program: Command, io: KubeIO): void {
  const cmd = program
    .command('get')
    .description('list objects, or show some by name')
    .argument(
      '<type>',
      'kind, plural or short name (po, deploy, svc …); several with commas, or TYPE/NAME',
    )
    .argument('[names...]', 'object names')
    .addOption(new Option('-o, --output <format>', 'wide, yaml, json, name or jsonpath=TEMPLATE'))
    .option('-l, --selector <selector>', 'label selector, e.g. app=web,tier!=db')
    .option('--field-selector <selector>', 'field selector, e.g. status.phase=Running')
    .option('-A, --all-namespaces', 'list across all namespaces')
    .option('-w, --watch', 'after listing, print changes as they happen')
    .option('--show-labels', 'add a LABELS column')
    .addHelpText(
      'after',
      `
Examples:
  shoal get pods -o wide
  shoal get deploy web -o yaml
  shoal get po -A -l app=web
  shoal get deploy,svc
  shoal get pods -w
  shoal get deploy web -o jsonpath='{.status.availableReplicas}'`,
    );
  addConnectionFlags(cmd);
  wireCommand(cmd, io);
  cmd.action(async (type: string, names: string[], o: GetOptions) => {
    if (parseOutput(o.output) === undefined) {
      cmd.error(
        `error: unknown output format "${o.output}": use wide, yaml, json, name or jsonpath=TEMPLATE`,
        { exitCode: 2, code: 'shoal.usage' },
      );
    }
    await runGet([type, ...names], o, io);
  });
}
