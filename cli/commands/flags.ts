// Flags and argument parsers the kube commands share, so every command spells
// them the same way and usage errors exit 2 through commander.

import { InvalidArgumentError, type Command } from 'commander';
import { KubeClient, type ConnectionFlags } from './client.js';
import type { KubeIO } from './io.js';

export function addConnectionFlags(cmd: Command): Command {
  return cmd
    .option('--kubeconfig <file>', 'kubeconfig file (default $KUBECONFIG, then ~/.kube/config)')
    .option('--context <name>', 'the kubeconfig context to use')
    .option('-n, --namespace <ns>', 'the namespace (default: the context\'s, then "default")');
}

/** Ties a command's output and errors to the injected IO, and makes usage errors throw (exit 2). */
export function wireCommand(cmd: Command, io: KubeIO): Command {
  return cmd
    .exitOverride()
    .showHelpAfterError('(add --help for usage)')
    .configureOutput({ writeOut: (t) => io.out(t), writeErr: (t) => io.err(t) });
}

export function connect(flags: ConnectionFlags, io: KubeIO): KubeClient {
  return KubeClient.connect(flags, io);
}

/** Go-style durations as kubectl takes them: 90s, 5m, 1h30m, 500ms; a bare number is seconds. */
export function parseDuration(value: string): number {
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  let rest = value;
  while (rest) {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)/.exec(rest);
    if (!m) throw new InvalidArgumentError(`"${value}" is not a duration like 30s, 5m or 1h`);
    total += Number(m[1]) * units[m[2]!]!;
    rest = rest.slice(m[0].length);
  }
  return total;
}

export function parseNonNegativeInt(value: string): number {
  if (!/^\d+$/.test(value))
    throw new InvalidArgumentError(`"${value}" is not a non-negative integer`);
  return Number(value);
}

export function oneOf<T extends string>(allowed: readonly T[]) {
  return (value: string): T => {
    if (!(allowed as readonly string[]).includes(value))
      throw new InvalidArgumentError(`must be one of ${allowed.join(', ')}; got "${value}"`);
    return value as T;
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** JSON with sorted keys, so two objects compare equal whatever order the server wrote them in. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)),
        )
      : v,
  );
}
