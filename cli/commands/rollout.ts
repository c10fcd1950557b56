// `shoal rollout status|history|undo|restart|pause|resume`: kubectl's rollout
// commands over the Deployment (and for status/restart the DaemonSet) API. The
// Deployment controller does the rolling; these commands only read its status
// and its ReplicaSets' revision annotations, or change the spec it reconciles
// (template, paused, the restartedAt annotation).

import { InvalidArgumentError, Option, type Command } from 'commander';
import { stringify } from 'yaml';
import { isRecord } from '../../controlplane/api/objects.js';
import type { KubeClient, WatchHandle } from './client.js';
import { Discovery, objectRef, resourcePath, type ApiResource } from './discovery.js';
import { aboutObject, CliError } from './errors.js';
import {
  addConnectionFlags,
  canonicalJson,
  connect,
  parseDuration,
  parseNonNegativeInt,
  sleep,
  wireCommand,
} from './flags.js';
import type { KubeIO } from './io.js';
import { selectorString } from './wait.js';

type Obj = Record<string, unknown>;

const rec = (v: unknown): Obj => (isRecord(v) ? v : {});
const num = (v: unknown): number => (typeof v === 'number' ? v : 0);

export const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';
export const CHANGE_CAUSE_ANNOTATION = 'kubernetes.io/change-cause';
export const RESTARTED_AT_ANNOTATION = 'kubectl.kubernetes.io/restartedAt';
const POD_TEMPLATE_HASH = 'pod-template-hash';
/** Deployment annotations a rollback keeps rather than taking the ReplicaSet's (kubectl's list). */
const ANNOTATIONS_TO_SKIP = new Set([
  'kubectl.kubernetes.io/last-applied-configuration',
  REVISION_ANNOTATION,
  'deployment.kubernetes.io/revision-history',
  'deployment.kubernetes.io/desired-replicas',
  'deployment.kubernetes.io/max-replicas',
  'deprecated.deployment.rollback.to',
]);

interface ConnOptions {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
}

interface Target {
  client: KubeClient;
  resource: ApiResource;
  name: string;
  namespace: string;
  path: string;
  ref: string;
}

type Subcommand = 'status' | 'history' | 'undo' | 'restart' | 'pause' | 'resume';

/** Which kinds each subcommand supports, as in kubectl (no StatefulSets in Shoal). */
const SUPPORTED: Record<Subcommand, readonly string[]> = {
  status: ['Deployment', 'DaemonSet'],
  history: ['Deployment'],
  undo: ['Deployment'],
  restart: ['Deployment', 'DaemonSet'],
  pause: ['Deployment'],
  resume: ['Deployment'],
};

/** `deploy/web` or `deploy web` → the object, checked against what the subcommand supports. */
async function resolveTarget(
  sub: Subcommand,
  args: string[],
  o: ConnOptions,
  io: KubeIO,
): Promise<Target> {
  let type: string | undefined;
  let name: string | undefined;
  if (args.length === 1 && args[0]!.includes('/')) [type, name] = args[0]!.split('/', 2);
  else if (args.length === 2 && !args[0]!.includes('/')) [type, name] = args;
  if (!type || !name) {
    throw new CliError(`rollout ${sub}: name one object as TYPE/NAME or TYPE NAME`, 2);
  }
  const client = connect(o, io);
  const resource = await new Discovery(client).resolve(type);
  if (!SUPPORTED[sub].includes(resource.kind)) {
    throw new CliError(
      `rollout ${sub} is not supported for ${objectRef(resource, name)}: only ${SUPPORTED[sub]
        .map((k) => `${k.toLowerCase()}s`)
        .join(' and ')}`,
    );
  }
  const namespace = client.namespace;
  return {
    client,
    resource,
    name,
    namespace,
    path: resourcePath(resource, namespace, name),
    ref: objectRef(resource, name),
  };
}

async function getObject(t: Target): Promise<Obj> {
  try {
    return await t.client.request<Obj>({ path: t.path });
  } catch (err) {
    throw aboutObject(t.ref, t.name, err);
  }
}

async function patch(
  t: Target,
  body: unknown,
  type = 'application/merge-patch+json',
): Promise<Obj> {
  try {
    return await t.client.request<Obj>({
      method: 'PATCH',
      path: t.path,
      contentType: type,
      body,
      query: { fieldManager: 'shoal-rollout' },
    });
  } catch (err) {
    throw aboutObject(t.ref, t.name, err);
  }
}

/**
 * kubectl's status viewers: the line to print and whether the rollout is done.
 * Throws when a Deployment exceeded its progress deadline.
 */
export function rolloutStatus(obj: Obj): { message: string; done: boolean } {
  const meta = rec(obj.metadata);
  const spec = rec(obj.spec);
  const status = rec(obj.status);
  const name = String(meta.name);
  const observed = num(meta.generation) <= num(status.observedGeneration);
  if (obj.kind === 'DaemonSet') {
    const strategy = rec(spec.updateStrategy).type;
    if (strategy !== undefined && strategy !== 'RollingUpdate') {
      throw new CliError('rollout status is only available for RollingUpdate strategy type');
    }
    if (!observed)
      return { message: 'Waiting for daemon set spec update to be observed...', done: false };
    const desired = num(status.desiredNumberScheduled);
    const updated = num(status.updatedNumberScheduled);
    const available = num(status.numberAvailable);
    if (updated < desired) {
      return {
        message: `Waiting for daemon set "${name}" rollout to finish: ${updated} out of ${desired} new pods have been updated...`,
        done: false,
      };
    }
    if (available < desired) {
      return {
        message: `Waiting for daemon set "${name}" rollout to finish: ${available} of ${desired} updated pods are available...`,
        done: false,
      };
    }
    return { message: `daemon set "${name}" successfully rolled out`, done: true };
  }
  if (!observed)
    return { message: 'Waiting for deployment spec update to be observed...', done: false };
  const conditions = Array.isArray(status.conditions) ? status.conditions.map(rec) : [];
  const progressing = conditions.find((c) => c.type === 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded') {
    throw new CliError(`deployment "${name}" exceeded its progress deadline`);
  }
  const want = typeof spec.replicas === 'number' ? spec.replicas : 1;
  const updated = num(status.updatedReplicas);
  const replicas = num(status.replicas);
  const available = num(status.availableReplicas);
  const waiting = `Waiting for deployment "${name}" rollout to finish: `;
  if (updated < want) {
    return {
      message: `${waiting}${updated} out of ${want} new replicas have been updated...`,
      done: false,
    };
  }
  if (replicas > updated) {
    return {
      message: `${waiting}${replicas - updated} old replicas are pending termination...`,
      done: false,
    };
  }
  if (available < updated) {
    return {
      message: `${waiting}${available} of ${updated} updated replicas are available...`,
      done: false,
    };
  }
  return { message: `deployment "${name}" successfully rolled out`, done: true };
}

export interface StatusOptions extends ConnOptions {
  watch: boolean;
  /** ms; 0 waits for ever. */
  timeout: number;
}

export async function runStatus(args: string[], o: StatusOptions, io: KubeIO): Promise<void> {
  const t = await resolveTarget('status', args, o, io);
  const deadline = o.timeout > 0 ? Date.now() + o.timeout : 0;
  let last = '';
  // Prints each distinct line once (a watch repeats unchanged status); true when done.
  const show = (obj: Obj): boolean => {
    const s = rolloutStatus(obj);
    if (s.message !== last) io.out(`${s.message}\n`);
    last = s.message;
    return s.done;
  };
  const listPath = t.path.slice(0, t.path.lastIndexOf('/'));
  for (;;) {
    // GET, then watch from its resourceVersion, as kubectl's UntilWithSync does;
    // a watch the server ends is started again from a fresh GET.
    const obj = await getObject(t);
    if (show(obj) || !o.watch) return;
    const outcome = await new Promise<'done' | 'ended' | 'timeout' | 'aborted' | Error>(
      (resolve) => {
        let handle: WatchHandle | undefined;
        let finished = false;
        const finish = (v: 'done' | 'ended' | 'timeout' | 'aborted' | Error): void => {
          if (finished) return;
          finished = true;
          clearTimeout(timer);
          io.signal?.removeEventListener('abort', onAbort);
          handle?.stop();
          resolve(v);
        };
        const onAbort = (): void => finish('aborted');
        const timer = deadline
          ? setTimeout(() => finish('timeout'), Math.max(0, deadline - Date.now()))
          : undefined;
        if (io.signal?.aborted) return finish('aborted');
        io.signal?.addEventListener('abort', onAbort, { once: true });
        t.client
          .watch(
            {
              path: listPath,
              query: {
                fieldSelector: `metadata.name=${t.name}`,
                resourceVersion: String(rec(obj.metadata).resourceVersion ?? ''),
              },
            },
            (ev) => {
              try {
                if (ev.type === 'DELETED') finish(new CliError(`${t.ref} was deleted`));
                else if (ev.type !== 'ERROR' && show(ev.object)) finish('done');
                else if (ev.type === 'ERROR') finish('ended');
              } catch (err) {
                finish(err instanceof Error ? err : new Error(String(err)));
              }
            },
          )
          .then((h) => {
            handle = h;
            // Finished (timeout, Ctrl-C) while the watch was being opened.
            if (finished) h.stop();
            return h.done.then(() => finish('ended'));
          })
          .catch((err: unknown) => finish(aboutObject(t.ref, t.name, err)));
      },
    );
    if (outcome === 'done') return;
    if (outcome === 'timeout') {
      throw new CliError(`timed out waiting for ${t.ref} rollout to finish: ${last}`);
    }
    if (outcome === 'aborted') throw new CliError(`interrupted waiting for ${t.ref}`);
    if (outcome instanceof Error) throw outcome;
    // 'ended': brief pause so a server that keeps closing watches is not hammered.
    await sleep(200);
  }
}

/** The Deployment's ReplicaSets (those it controls), oldest revision first. */
async function ownedReplicaSets(t: Target, deployment: Obj): Promise<Obj[]> {
  const uid = rec(deployment.metadata).uid;
  const labelSelector = selectorString(rec(deployment.spec).selector);
  const list = await t.client.request<{ items?: Obj[] }>({
    path: `/apis/apps/v1/namespaces/${encodeURIComponent(t.namespace)}/replicasets`,
    ...(labelSelector ? { query: { labelSelector } } : {}),
  });
  return (list.items ?? [])
    .filter((rs) => {
      const owners = rec(rs.metadata).ownerReferences;
      return (
        Array.isArray(owners) &&
        owners.map(rec).some((ref) => ref.controller === true && ref.uid === uid)
      );
    })
    .sort((a, b) => revisionOf(a) - revisionOf(b));
}

export function revisionOf(obj: Obj): number {
  const v = rec(rec(obj.metadata).annotations)[REVISION_ANNOTATION];
  const n = typeof v === 'string' ? Number(v) : NaN;
  return Number.isInteger(n) ? n : 0;
}

function withoutHash(template: unknown): Obj {
  const copy = structuredClone(rec(template));
  const meta = rec(copy.metadata);
  const labels = rec(meta.labels);
  delete labels[POD_TEMPLATE_HASH];
  if (isRecord(meta.labels)) meta.labels = labels;
  return copy;
}

export interface HistoryOptions extends ConnOptions {
  revision?: number;
  output?: string;
}

export async function runHistory(args: string[], o: HistoryOptions, io: KubeIO): Promise<void> {
  const t = await resolveTarget('history', args, o, io);
  const deployment = await getObject(t);
  const replicaSets = (await ownedReplicaSets(t, deployment)).filter((rs) => revisionOf(rs) > 0);
  if (o.revision !== undefined && o.revision > 0) {
    const rs = replicaSets.find((r) => revisionOf(r) === o.revision);
    if (!rs) throw new CliError(`unable to find the specified revision ${o.revision} for ${t.ref}`);
    const template = rec(rec(rs.spec).template);
    if (o.output === 'yaml' || o.output === 'json') {
      const obj = { apiVersion: 'v1', kind: 'PodTemplateSpec', ...template };
      io.out(o.output === 'json' ? `${JSON.stringify(obj, null, 4)}\n` : stringify(obj));
      return;
    }
    io.out(`${t.ref} with revision #${o.revision}\n${describePodTemplate(template)}`);
    return;
  }
  if (o.output) throw new CliError('--output is only supported with --revision', 2);
  io.out(`${t.ref} \n`);
  const rows = replicaSets.map((rs) => {
    const cause = rec(rec(rs.metadata).annotations)[CHANGE_CAUSE_ANNOTATION];
    return [String(revisionOf(rs)), typeof cause === 'string' && cause ? cause : '<none>'];
  });
  // kubectl's tabwriter pads with two spaces here, not get's three.
  const width = Math.max('REVISION'.length, ...rows.map((r) => r[0]!.length)) + 2;
  const lines = [['REVISION', 'CHANGE-CAUSE'], ...rows].map(
    ([rev, cause]) => rev!.padEnd(width) + cause!,
  );
  io.out(`${lines.join('\n')}\n\n`);
}

/** A pod template the way `kubectl rollout history --revision` describes it. */
export function describePodTemplate(template: Obj): string {
  const meta = rec(template.metadata);
  const spec = rec(template.spec);
  const lines: string[] = ['Pod Template:'];
  const map = (label: string, m: Obj, indent: string): void => {
    const entries = Object.entries(m).sort(([a], [b]) => a.localeCompare(b));
    if (!entries.length) {
      lines.push(`${indent}${label}:\t<none>`);
      return;
    }
    entries.forEach(([k, v], i) =>
      lines.push(`${i === 0 ? `${indent}${label}:\t` : `${indent}\t`}${k}=${String(v)}`),
    );
  };
  map('Labels', rec(meta.labels), '  ');
  map('Annotations', rec(meta.annotations), '  ');
  const containers = (group: string, list: unknown): void => {
    const items = Array.isArray(list) ? list.map(rec) : [];
    if (!items.length) return;
    lines.push(`  ${group}:`);
    for (const c of items) {
      lines.push(`   ${String(c.name)}:`);
      lines.push(`    Image:\t${String(c.image ?? '')}`);
      const ports = Array.isArray(c.ports) ? c.ports.map(rec) : [];
      lines.push(
        `    Port:\t${ports.length ? ports.map((p) => `${String(p.containerPort)}/${String(p.protocol ?? 'TCP')}`).join(', ') : '<none>'}`,
      );
      if (Array.isArray(c.command) && c.command.length) {
        lines.push('    Command:', ...c.command.map((x) => `      ${String(x)}`));
      }
      if (Array.isArray(c.args) && c.args.length) {
        lines.push('    Args:', ...c.args.map((x) => `      ${String(x)}`));
      }
      const env = Array.isArray(c.env) ? c.env.map(rec) : [];
      if (!env.length) lines.push('    Environment:\t<none>');
      else {
        lines.push('    Environment:');
        for (const e of env) {
          const value = typeof e.value === 'string' ? e.value : '<set from a source>';
          lines.push(`      ${String(e.name)}:\t${value}`);
        }
      }
      const mounts = Array.isArray(c.volumeMounts) ? c.volumeMounts.map(rec) : [];
      if (!mounts.length) lines.push('    Mounts:\t<none>');
      else {
        lines.push('    Mounts:');
        for (const m of mounts)
          lines.push(
            `      ${String(m.mountPath)} from ${String(m.name)} (${m.readOnly === true ? 'ro' : 'rw'})`,
          );
      }
    }
  };
  containers('Init Containers', spec.initContainers);
  containers('Containers', spec.containers);
  const volumes = Array.isArray(spec.volumes) ? spec.volumes.map(rec) : [];
  if (!volumes.length) lines.push('  Volumes:\t<none>');
  else {
    lines.push('  Volumes:');
    for (const v of volumes) {
      const type = Object.keys(v).find((key) => key !== 'name') ?? 'unknown';
      lines.push(`   ${String(v.name)}:`, `    Type:\t${type}`);
    }
  }
  return `${lines.join('\n')}\n\n`;
}

export interface UndoOptions extends ConnOptions {
  toRevision: number;
}

export async function runUndo(args: string[], o: UndoOptions, io: KubeIO): Promise<void> {
  const t = await resolveTarget('undo', args, o, io);
  const deployment = await getObject(t);
  if (rec(deployment.spec).paused === true) {
    throw new CliError(
      `you cannot rollback a paused deployment; resume it first with 'shoal rollout resume ${t.ref}' and try again`,
    );
  }
  const replicaSets = (await ownedReplicaSets(t, deployment)).filter((rs) => revisionOf(rs) > 0);
  let rs: Obj | undefined;
  if (o.toRevision === 0) {
    // The previous revision: the second highest.
    if (replicaSets.length < 2) throw new CliError(`no rollout history found for ${t.ref}`);
    rs = replicaSets[replicaSets.length - 2];
  } else {
    rs = replicaSets.find((r) => revisionOf(r) === o.toRevision);
    if (!rs) throw new CliError(`unable to find specified revision ${o.toRevision} in history`);
  }
  const template = withoutHash(rec(rs!.spec).template);
  if (canonicalJson(template) === canonicalJson(withoutHash(rec(deployment.spec).template))) {
    io.out(
      `${t.ref} skipped rollback (current template already matches revision ${revisionOf(rs!)})\n`,
    );
    return;
  }
  // The Deployment keeps its own bookkeeping annotations and takes the rest
  // (change-cause …) from the ReplicaSet, as kubectl's rollbacker does.
  const annotations: Record<string, string> = {};
  const own = rec(rec(deployment.metadata).annotations);
  for (const [k, v] of Object.entries(own))
    if (ANNOTATIONS_TO_SKIP.has(k)) annotations[k] = String(v);
  for (const [k, v] of Object.entries(rec(rec(rs!.metadata).annotations)))
    if (!ANNOTATIONS_TO_SKIP.has(k)) annotations[k] = String(v);
  await patch(
    t,
    [
      { op: 'replace', path: '/spec/template', value: template },
      { op: 'add', path: '/metadata/annotations', value: annotations },
    ],
    'application/json-patch+json',
  );
  io.out(`${t.ref} rolled back\n`);
}

export async function runRestart(args: string[], o: ConnOptions, io: KubeIO): Promise<void> {
  const t = await resolveTarget('restart', args, o, io);
  const obj = await getObject(t);
  if (rec(obj.spec).paused === true) {
    throw new CliError(`can't restart paused ${t.ref} (run rollout resume first)`);
  }
  const restartedAt = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  await patch(t, {
    spec: { template: { metadata: { annotations: { [RESTARTED_AT_ANNOTATION]: restartedAt } } } },
  });
  io.out(`${t.ref} restarted\n`);
}

async function setPaused(
  sub: 'pause' | 'resume',
  args: string[],
  o: ConnOptions,
  io: KubeIO,
): Promise<void> {
  const t = await resolveTarget(sub, args, o, io);
  const paused = rec((await getObject(t)).spec).paused === true;
  const want = sub === 'pause';
  if (paused === want) {
    throw new CliError(
      `${t.resource.name} "${t.name}" ${want ? 'is already paused' : 'is not paused'}`,
    );
  }
  // kubectl drops the field when resuming (omitempty); null removes it.
  await patch(t, { spec: { paused: want ? true : null } });
  io.out(`${t.ref} ${want ? 'paused' : 'resumed'}\n`);
}

function parseBool(value: string): boolean {
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new InvalidArgumentError(`expected true or false, got "${value}"`);
}

export function registerRollout(program: Command, io: KubeIO): void {
  const rollout = program
    .command('rollout')
    .description('follow, inspect and change the rollout of a Deployment (or DaemonSet)')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  shoal rollout status deploy/web\n' +
        '  shoal rollout history deploy/web\n' +
        '  shoal rollout undo deploy/web --to-revision 2\n' +
        '  shoal rollout restart deploy/web',
    );
  wireCommand(rollout, io);

  const sub = (name: Subcommand, description: string, examples: string[]): Command => {
    const cmd = rollout
      .command(name)
      .description(description)
      .argument('<args...>', 'TYPE/NAME or TYPE NAME')
      .addHelpText('after', `\nExamples:\n${examples.map((e) => `  ${e}`).join('\n')}`);
    addConnectionFlags(cmd);
    wireCommand(cmd, io);
    return cmd;
  };

  const status = sub('status', 'wait until a rollout finishes, printing its progress', [
    'shoal rollout status deploy/web',
    'shoal rollout status deploy/web --timeout 2m',
    'shoal rollout status ds/agent --watch=false',
  ])
    .addOption(
      new Option('--watch [bool]', 'keep watching until the rollout finishes')
        .default(true)
        .argParser(parseBool),
    )
    .option('--no-watch', 'print the current status once')
    .option('--timeout <duration>', 'give up after this long (0: wait for ever)', parseDuration, 0);
  status.action((args: string[], o: StatusOptions) => runStatus(args, o, io));

  const history = sub('history', "list a Deployment's revisions, or show one", [
    'shoal rollout history deploy/web',
    'shoal rollout history deploy/web --revision 2',
    'shoal rollout history deploy/web --revision 2 -o yaml',
  ])
    .option('--revision <n>', 'show the pod template of this revision', parseNonNegativeInt)
    .option('-o, --output <format>', 'yaml or json (with --revision)');
  history.action((args: string[], o: HistoryOptions) => {
    if (o.output !== undefined && o.output !== 'yaml' && o.output !== 'json') {
      history.error(`error: --output must be yaml or json, got "${o.output}"`, {
        exitCode: 2,
        code: 'shoal.usage',
      });
    }
    return runHistory(args, o, io);
  });

  const undo = sub('undo', 'roll a Deployment back to an earlier revision', [
    'shoal rollout undo deploy/web',
    'shoal rollout undo deploy/web --to-revision 1',
  ]).option(
    '--to-revision <n>',
    'the revision to roll back to (0: the previous one)',
    parseNonNegativeInt,
    0,
  );
  undo.action((args: string[], o: UndoOptions) => runUndo(args, o, io));

  sub('restart', 'replace every pod by changing the template (restartedAt annotation)', [
    'shoal rollout restart deploy/web',
    'shoal rollout restart ds/agent',
  ]).action((args: string[], o: ConnOptions) => runRestart(args, o, io));
  sub('pause', 'stop a Deployment from rolling out template changes', [
    'shoal rollout pause deploy/web',
  ]).action((args: string[], o: ConnOptions) => setPaused('pause', args, o, io));
  sub('resume', 'let a paused Deployment roll out again', [
    'shoal rollout resume deploy/web',
  ]).action((args: string[], o: ConnOptions) => setPaused('resume', args, o, io));
}
