// The runtime layer's failures, one class per kind, so the agent can tell a
// bad pod spec (report it on the pod, do not retry) from a runc failure (an
// event, then retry with backoff).

/** A runc invocation failed; `stderr` holds what runc said. */
export class RuncError extends Error {
  override readonly name = 'RuncError';
  readonly operation: string;
  readonly containerId: string | undefined;
  readonly stderr: string;
  readonly exitCode: number | null;

  constructor(
    operation: string,
    containerId: string | undefined,
    stderr: string,
    exitCode: number | null,
    options?: { cause?: unknown },
  ) {
    const detail = lastRuncMessage(stderr) || `exit code ${exitCode}`;
    super(`runc ${operation}${containerId ? ` ${containerId}` : ''}: ${detail}`, options);
    this.operation = operation;
    this.containerId = containerId;
    this.stderr = stderr;
    this.exitCode = exitCode;
  }

  /** runc answers this way for an id it does not know. */
  get notFound(): boolean {
    return /container does not exist|container .* does not exist/.test(this.stderr);
  }
}

/** The container cannot be described as a runtime spec (no command, unknown user, …). */
export class SpecError extends Error {
  override readonly name = 'SpecError';
  readonly field: string;

  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.field = field;
  }
}

// runc prints logrus lines (`time=… level=error msg="…"`) or plain text; the
// last msg is the one that says what went wrong.
function lastRuncMessage(stderr: string): string {
  const lines = stderr.trim().split('\n').filter(Boolean);
  const last = lines[lines.length - 1] ?? '';
  const m = /msg="((?:[^"\\]|\\.)*)"/.exec(last);
  if (m?.[1] !== undefined) return m[1].replace(/\\"/g, '"');
  const json = tryJsonMsg(last);
  return json ?? last;
}

function tryJsonMsg(line: string): string | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const parsed: unknown = JSON.parse(line);
    if (
      typeof parsed === 'object' &&
      parsed !== null &&
      'msg' in parsed &&
      typeof parsed.msg === 'string'
    ) {
      return parsed.msg;
    }
  } catch {
    // not JSON after all: the caller shows the raw line
  }
  return undefined;
}
