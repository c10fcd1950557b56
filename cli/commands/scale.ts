// `shoal scale`: sets spec.replicas through the scale subresource, as kubectl does.

import type { Command } from 'commander';
import { Discovery, objectRef, resourcePath } from './discovery.js';
import { aboutObject, ReportedError } from './errors.js';
import { addConnectionFlags, connect, parseNonNegativeInt, wireCommand } from './flags.js';
import { parseTargets } from './get.js';
import type { KubeIO } from './io.js';

export interface ScaleOptions {
  replicas: number;
  kubeconfig?: string;
  context?: string;
  namespace?: string;
}

export async function runScale(args: string[], o: ScaleOptions, io: KubeIO): Promise<void> {
  const client = connect(o, io);
  const discovery = new Discovery(client);
  let failures = 0;
  for (const { resource, names } of await parseTargets(discovery, args)) {
    for (const name of names) {
      try {
        await client.request({
          method: 'PATCH',
          path: `${resourcePath(resource, resource.namespaced ? client.namespace : undefined, name)}/scale`,
          contentType: 'application/merge-patch+json',
          body: { spec: { replicas: o.replicas } },
        });
        io.out(`${objectRef(resource, name)} scaled\n`);
      } catch (err) {
        failures++;
        io.err(`error: ${aboutObject(objectRef(resource, name), name, err).message}\n`);
      }
    }
  }
  if (failures) throw new ReportedError(failures);
}

export function registerScale(program: Command, io: KubeIO): void {
  const cmd = program
    .command('scale')
    .description('set the number of replicas of a Deployment or ReplicaSet')
    .argument('<args...>', 'TYPE/NAME…, or TYPE NAME…')
    .requiredOption('--replicas <n>', 'the new number of replicas', parseNonNegativeInt)
    .addHelpText(
      'after',
      '\nExamples:\n  shoal scale deploy/web --replicas 5\n  shoal scale deployment web api --replicas 0',
    );
  addConnectionFlags(cmd);
  wireCommand(cmd, io);
  cmd.action(async (args: string[], o: ScaleOptions) => {
    if (args.length === 1 && !args[0]!.includes('/')) {
      cmd.error(`error: name the ${args[0]} to scale: TYPE NAME or TYPE/NAME`, {
        exitCode: 2,
        code: 'shoal.usage',
      });
    }
    await runScale(args, o, io);
  });
}
