// `shoal label` and `shoal annotate`: KEY=VALUE sets, KEY- removes, and an
// existing key changes only with --overwrite, as in kubectl. One merge patch
// per object, so the change is atomic and needs no read-modify-write loop
// except for the --overwrite check.

import type { Command } from 'commander';
import { isRecord } from '../../controlplane/api/objects.js';
import { Discovery, objectRef, resourcePath } from './discovery.js';
import { aboutObject, CliError, ReportedError } from './errors.js';
import { addConnectionFlags, connect, wireCommand } from './flags.js';
import { parseTargets } from './get.js';
import type { KubeIO } from './io.js';

export interface MetadataOptions {
  overwrite?: boolean;
  kubeconfig?: string;
  context?: string;
  namespace?: string;
}

type Field = 'labels' | 'annotations';

/** Splits `TYPE NAME… k=v k-` (or `TYPE/NAME… k=v`) into targets and changes. */
export function splitChanges(args: string[]): {
  targets: string[];
  changes: Record<string, string | null>;
} {
  const changes: Record<string, string | null> = {};
  const targets: string[] = [];
  for (const a of args) {
    const eq = a.indexOf('=');
    if (eq > 0) changes[a.slice(0, eq)] = a.slice(eq + 1);
    else if (a.endsWith('-') && a.length > 1 && targets.length > 0) changes[a.slice(0, -1)] = null;
    else targets.push(a);
  }
  return { targets, changes };
}

async function runMetadata(
  field: Field,
  args: string[],
  o: MetadataOptions,
  io: KubeIO,
): Promise<void> {
  const { targets, changes } = splitChanges(args);
  const client = connect(o, io);
  const discovery = new Discovery(client);
  const verb = field === 'labels' ? 'labeled' : 'annotated';
  let failures = 0;
  for (const { resource, names } of await parseTargets(discovery, targets)) {
    for (const name of names) {
      const ref = objectRef(resource, name);
      try {
        const path = resourcePath(
          resource,
          resource.namespaced ? client.namespace : undefined,
          name,
        );
        const current = await client.request<{ metadata?: Record<string, unknown> }>({ path });
        const existing = isRecord(current.metadata?.[field]) ? current.metadata[field] : {};
        if (!o.overwrite) {
          for (const [key, value] of Object.entries(changes)) {
            if (value !== null && key in existing && existing[key] !== value) {
              throw new CliError(
                `'${key}' already has a value (${String(existing[key])}), and --overwrite is false`,
              );
            }
          }
        }
        await client.request({
          method: 'PATCH',
          path,
          contentType: 'application/merge-patch+json',
          // The resourceVersion makes the write fail rather than race a concurrent change.
          body: {
            metadata: { [field]: changes, resourceVersion: current.metadata?.resourceVersion },
          },
        });
        io.out(`${ref} ${verb}\n`);
      } catch (err) {
        failures++;
        io.err(`error: ${aboutObject(ref, name, err).message}\n`);
      }
    }
  }
  if (failures) throw new ReportedError(failures);
}

function register(program: Command, io: KubeIO, field: Field): void {
  const singular = field === 'labels' ? 'label' : 'annotation';
  const cmd = program
    .command(field === 'labels' ? 'label' : 'annotate')
    .description(`set or remove ${field} on objects`)
    .argument('<args...>', `TYPE NAME… KEY=VALUE… KEY-…`)
    .option('--overwrite', `allow changing an existing ${singular}`)
    .addHelpText(
      'after',
      `\nExamples:\n  shoal ${cmd_(field)} deploy web tier=frontend\n  shoal ${cmd_(field)} deploy/web tier=backend --overwrite\n  shoal ${cmd_(field)} deploy web tier-`,
    );
  addConnectionFlags(cmd);
  wireCommand(cmd, io);
  cmd.action(async (args: string[], o: MetadataOptions) => {
    const { targets, changes } = splitChanges(args);
    if (
      targets.length === 0 ||
      Object.keys(changes).length === 0 ||
      (targets.length === 1 && !targets[0]!.includes('/'))
    ) {
      cmd.error(`error: give TYPE NAME (or TYPE/NAME) and at least one KEY=VALUE or KEY-`, {
        exitCode: 2,
        code: 'shoal.usage',
      });
    }
    await runMetadata(field, args, o, io);
  });
}

const cmd_ = (field: Field): string => (field === 'labels' ? 'label' : 'annotate');

export function registerLabel(program: Command, io: KubeIO): void {
  register(program, io, 'labels');
}

export function registerAnnotate(program: Command, io: KubeIO): void {
  register(program, io, 'annotations');
}
