// `shoal compose convert`: prints the Kubernetes objects a compose file
// becomes (what `shoal apply -f compose.yaml` would apply), without a cluster.

import { readFile } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import { stringify } from 'yaml';
import { readCompose } from '../compose/index.js';
import { CliError } from './errors.js';
import { oneOf, wireCommand } from './flags.js';
import type { KubeIO } from './io.js';

export interface ComposeConvertOptions {
  filename: string;
  output: 'yaml' | 'json';
  projectName?: string;
  namespace?: string;
}

const DEFAULT_FILES = ['compose.yaml', 'compose.yml', 'docker-compose.yaml', 'docker-compose.yml'];

async function readSource(
  file: string | undefined,
  io: KubeIO,
): Promise<{ text: string; source: string }> {
  if (file === '-') return { text: await io.readStdin(), source: 'STDIN' };
  // Like `docker compose`: without -f, the first compose file in the working directory.
  for (const candidate of file ? [file] : DEFAULT_FILES) {
    try {
      return { text: await readFile(candidate, 'utf8'), source: candidate };
    } catch (err) {
      if (file) throw new CliError(`the path "${file}" does not exist`, 1, { cause: err });
    }
  }
  throw new CliError(`no compose file: none of ${DEFAULT_FILES.join(', ')} here; pass -f FILE`);
}

export async function runComposeConvert(
  o: Partial<ComposeConvertOptions>,
  io: KubeIO,
): Promise<void> {
  const { text, source } = await readSource(o.filename, io);
  const objects = readCompose(text, source, io, {
    ...(o.projectName ? { projectName: o.projectName } : {}),
    ...(o.namespace ? { namespace: o.namespace } : {}),
  }).map((c) => c.object);
  if (o.output === 'json') {
    io.out(`${JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }, null, 2)}\n`);
    return;
  }
  io.out(
    objects
      .map((obj) => stringify(obj, { lineWidth: 0, aliasDuplicateObjects: false }))
      .join('---\n'),
  );
}

export function registerCompose(program: Command, io: KubeIO): void {
  const compose = program
    .command('compose')
    .description('Docker Compose files: `shoal apply -f compose.yaml` applies one');
  wireCommand(compose, io);
  const convert = compose
    .command('convert')
    .description('print the Kubernetes objects a compose file becomes')
    .option('-f, --filename <file>', 'the compose file, or - for stdin (default: ./compose.yaml …)')
    .option('-p, --project-name <name>', 'the project name (default: name:, else the directory)')
    .option('-n, --namespace <ns>', 'put the objects into NS instead of a project Namespace')
    .addOption(
      new Option('-o, --output <format>', 'yaml or json')
        .argParser(oneOf(['yaml', 'json'] as const))
        .default('yaml'),
    )
    .addHelpText(
      'after',
      `
Examples:
  shoal compose convert -f compose.yaml
  shoal compose convert -f compose.yaml -p shop -o json
  shoal apply -f compose.yaml --prune      # apply it; prune what the file no longer holds`,
    );
  wireCommand(convert, io);
  convert.action(async (o: ComposeConvertOptions) => runComposeConvert(o, io));
}
