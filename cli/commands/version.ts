// `shoal version`: the client's version and, unless --client, the server's
// `/version` document, as kubectl prints them. An unreachable server still
// gets the client line first, then one error line and exit 1, like kubectl.

import { Option, type Command } from 'commander';
import { arch, platform } from 'node:os';
import { stringify } from 'yaml';
import { GIT_VERSION, KUBERNETES_VERSION, SHOAL_VERSION } from '../../controlplane/version.js';
import type { ConnectionFlags } from './client.js';
import { CliError } from './errors.js';
import { addConnectionFlags, connect, wireCommand } from './flags.js';
import type { KubeIO } from './io.js';

/** The fields of a Kubernetes version.Info this command reads or prints. */
export interface VersionInfo {
  major?: string;
  minor?: string;
  gitVersion?: string;
  platform?: string;
  [field: string]: unknown;
}

export interface VersionOptions extends ConnectionFlags {
  client?: boolean;
  output?: 'json' | 'yaml';
}

/** The client's version.Info: Shoal is a Node program, so goVersion names the runtime. */
export function clientVersion(): VersionInfo {
  const goArch = arch() === 'x64' ? 'amd64' : arch();
  return {
    major: KUBERNETES_VERSION.major,
    minor: KUBERNETES_VERSION.minor,
    gitVersion: GIT_VERSION,
    shoalVersion: SHOAL_VERSION,
    goVersion: `node${process.versions.node}`,
    compiler: 'node',
    platform: `${platform()}/${goArch}`,
  };
}

function line(label: string, v: VersionInfo): string {
  return `${label} Version: ${v.gitVersion ?? 'unknown'}${v.platform ? ` (${v.platform})` : ''}\n`;
}

export async function runVersion(o: VersionOptions, io: KubeIO): Promise<void> {
  const client = clientVersion();
  let server: VersionInfo | undefined;
  let failure: unknown;
  if (!o.client) {
    try {
      const kube = connect(o, io);
      server = await kube.request<VersionInfo>({ path: '/version' });
    } catch (err) {
      failure = err;
    }
  }
  const doc = { clientVersion: client, ...(server ? { serverVersion: server } : {}) };
  if (o.output === 'json') io.out(JSON.stringify(doc, null, 2) + '\n');
  else if (o.output === 'yaml') io.out(stringify(doc, { lineWidth: 0 }));
  else io.out(line('Client', client) + (server ? line('Server', server) : ''));
  // Thrown after the client part is out, so scripts still get it on stdout.
  if (failure !== undefined)
    throw failure instanceof Error ? failure : new CliError(String(failure));
}

export function registerVersion(program: Command, io: KubeIO): void {
  const cmd = program
    .command('version')
    .description("print the client's version and the API server's")
    .option('--client', 'only the client version; no server is contacted')
    .addOption(new Option('-o, --output <format>', 'yaml or json').choices(['json', 'yaml']))
    .addHelpText(
      'after',
      `
Examples:
  shoal version
  shoal version --client
  shoal version -o json --context prod`,
    );
  addConnectionFlags(cmd);
  wireCommand(cmd, io);
  cmd.action(async (o: VersionOptions) => runVersion(o, io));
}
