// The failures the kube commands report: one line for the user, and an exit
// code scripts can rely on (1 for a failure; usage errors are commander's, 2).

import { CommanderError } from 'commander';
import { isRecord } from '../../controlplane/api/objects.js';

/** A failure already worded for the user: main prints `error: <message>` and exits 1. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode = 1,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Failures already printed, one `error:` line each, by the command: only the exit code is left. */
export class ReportedError extends CliError {
  constructor(count: number) {
    super(`${count} error${count === 1 ? '' : 's'} reported above`);
  }
}

/** A Kubernetes `Status` failure from the API server. */
export class ApiStatusError extends CliError {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly status: Record<string, unknown>,
  ) {
    super(message);
  }

  static fromResponse(code: number, body: string): ApiStatusError {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      parsed = undefined;
    }
    if (isRecord(parsed) && parsed.kind === 'Status') {
      const message = typeof parsed.message === 'string' ? parsed.message : `HTTP ${code}`;
      const reason = typeof parsed.reason === 'string' ? parsed.reason : '';
      return new ApiStatusError(code, reason, message, parsed);
    }
    const text = body.trim().split('\n')[0] ?? '';
    return new ApiStatusError(
      code,
      '',
      `the server answered HTTP ${code}${text ? `: ${text}` : ''}`,
      {},
    );
  }
}

export function isNotFound(err: unknown): boolean {
  return err instanceof ApiStatusError && err.code === 404;
}

/**
 * Prefixes the server's message with the object it is about, unless the
 * message already names it (kube-apiserver's usually do: `pods "x" not found`).
 */
export function aboutObject(ref: string, name: string, err: unknown): CliError {
  if (!(err instanceof Error)) return new CliError(`${ref}: ${String(err)}`);
  if (err.message.includes(`"${name}"`))
    return err instanceof CliError ? err : new CliError(err.message);
  if (err instanceof ApiStatusError) {
    return new ApiStatusError(err.code, err.reason, `${ref}: ${err.message}`, err.status);
  }
  return new CliError(`${ref}: ${err.message}`, 1, { cause: err });
}

/**
 * The exit code for an error thrown out of a kube command, after printing it:
 * commander's own errors (usage, --help) were printed by commander and map to
 * 0 or 2; everything else is printed as one `error: …` line and maps to 1.
 */
export function reportKubeError(err: unknown, writeErr: (text: string) => void): number {
  if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
  if (err instanceof ReportedError) return err.exitCode;
  const message = err instanceof Error ? err.message : String(err);
  writeErr(`error: ${message}\n`);
  return err instanceof CliError ? err.exitCode : 1;
}
