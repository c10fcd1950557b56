// Runs kube commands in-process the way `shoal` would: a commander program
// with the commands registered, stdout and stderr captured, and the exit code
// main.ts would return (0 ok, 1 failure, 2 usage).

import { Command } from 'commander';
import { registerKubeCommands, reportKubeError, type KubeIO } from '../../cli/commands/index.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  stdin?: string;
  env?: Record<string, string | undefined>;
  signal?: AbortSignal;
  /** Receives stdout as it is written (for -w). */
  onOut?: (all: string) => void;
}

export async function runCli(args: string[], opts: RunOptions = {}): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const io: KubeIO = {
    out: (t) => {
      stdout += t;
      opts.onOut?.(stdout);
    },
    err: (t) => (stderr += t),
    readStdin: () => Promise.resolve(opts.stdin ?? ''),
    env: opts.env ?? {},
    isTTY: false,
    ...(opts.signal ? { signal: opts.signal } : {}),
  };
  const program = new Command('shoal').exitOverride();
  registerKubeCommands(program, { io });
  let code = 0;
  try {
    await program.parseAsync(['node', 'shoal', ...args]);
  } catch (err) {
    code = reportKubeError(err, (t) => io.err(t));
  }
  return { code, stdout, stderr };
}

/** Replaces the AGE column's values (e.g. "5s", "2m3s") with "<age>" so tables compare exactly. */
export function maskAge(table: string): string {
  const lines = table.split('\n');
  const header = lines[0] ?? '';
  const at = header.indexOf('AGE');
  if (at < 0) return table;
  return lines
    .map((line, i) => {
      if (i === 0 || line === '') return line;
      const m = /^\S+/.exec(line.slice(at));
      return m ? line.slice(0, at) + '<age>' + line.slice(at + m[0].length) : line;
    })
    .join('\n');
}
