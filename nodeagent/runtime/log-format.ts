// The container log format the monitor writes (monitor.ts): the kubelet's
// CRI format, one record per line,
//
//   <RFC 3339 time, ns> <stdout|stderr> <F|P> <content>
//
// "F" ends a line of the container's output, "P" is a piece of a longer
// one that the next records continue. Files written before the monitor
// wrote this format hold the raw output; their lines parse as records
// without a time or stream.

export interface LogRecord {
  /** The time as written ("2026-11-23T11:00:00.123456000Z"); absent for a raw line. */
  time?: string;
  /** Milliseconds since the epoch, for sinceSeconds. */
  timeMs?: number;
  stream?: 'stdout' | 'stderr';
  /** False for a "P" piece. */
  full: boolean;
  content: Buffer;
}

/** One line of the container's output: its records (all "P" but the last) joined. */
export interface LogLine {
  time?: string;
  timeMs?: number;
  stream?: 'stdout' | 'stderr';
  /** False while the line's end has not been written yet. */
  complete: boolean;
  content: Buffer;
}

const HEADER = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?Z) (stdout|stderr) ([PF]) /;

/** Parses one record (without its newline). */
export function parseRecord(line: Buffer): LogRecord {
  const head = HEADER.exec(line.subarray(0, 64).toString('latin1'));
  if (!head) return { full: true, content: line };
  const time = head[1]!;
  return {
    time,
    timeMs: Date.parse(time),
    stream: head[2] as 'stdout' | 'stderr',
    full: head[3] === 'F',
    content: line.subarray(head[0].length),
  };
}

/**
 * Splits `data` into the records of its complete lines; `rest` is the
 * unfinished last line, to be prefixed to the next read.
 */
export function parseRecords(data: Buffer): { records: LogRecord[]; rest: Buffer } {
  const records: LogRecord[] = [];
  let start = 0;
  for (let nl = data.indexOf(0x0a, start); nl >= 0; nl = data.indexOf(0x0a, start)) {
    records.push(parseRecord(data.subarray(start, nl)));
    start = nl + 1;
  }
  return { records, rest: data.subarray(start) };
}

/** Joins "P" pieces into lines; a trailing piece without its "F" is an incomplete line. */
export function joinLines(records: LogRecord[]): LogLine[] {
  const lines: LogLine[] = [];
  let open: { first: LogRecord; parts: Buffer[] } | undefined;
  for (const r of records) {
    open ??= { first: r, parts: [] };
    open.parts.push(r.content);
    if (r.full) {
      lines.push(toLine(open.first, open.parts, true));
      open = undefined;
    }
  }
  if (open) lines.push(toLine(open.first, open.parts, false));
  return lines;
}

function toLine(first: LogRecord, parts: Buffer[], complete: boolean): LogLine {
  return {
    ...(first.time !== undefined ? { time: first.time } : {}),
    ...(first.timeMs !== undefined ? { timeMs: first.timeMs } : {}),
    ...(first.stream ? { stream: first.stream } : {}),
    complete,
    content: Buffer.concat(parts),
  };
}

export interface SelectOptions {
  /** Only lines written at or after this time (ms since the epoch); raw lines have no time and are dropped. */
  sinceMs?: number;
  /** The last n lines (negative: all). */
  tailLines?: number;
}

/** The lines `kubectl logs --since/--tail` asks for, in order. */
export function selectLines(lines: LogLine[], opts: SelectOptions): LogLine[] {
  let out = lines;
  const since = opts.sinceMs;
  if (since !== undefined) out = out.filter((l) => l.timeMs !== undefined && l.timeMs >= since);
  const tail = opts.tailLines ?? -1;
  if (tail >= 0) out = tail === 0 ? [] : out.slice(-tail);
  return out;
}

/**
 * Writes records as `kubectl logs` prints them: the content, each line
 * prefixed with its time when asked (as the kubelet does for --timestamps).
 * Stateful across calls, so pieces of a line followed live get one prefix.
 */
export class LogRenderer {
  private atLineStart = true;

  constructor(private readonly timestamps: boolean) {}

  record(r: LogRecord): Buffer {
    const parts: Buffer[] = [];
    if (this.atLineStart && this.timestamps) parts.push(Buffer.from(`${r.time ?? ''} `));
    parts.push(r.content);
    if (r.full) parts.push(Buffer.from('\n'));
    this.atLineStart = r.full;
    return Buffer.concat(parts);
  }

  line(l: LogLine): Buffer {
    return this.record({
      ...(l.time !== undefined ? { time: l.time } : {}),
      full: l.complete,
      content: l.content,
    });
  }
}

/** The content of a log file as the container wrote it (tests and tools). */
export function logContent(data: Buffer, stream?: 'stdout' | 'stderr'): string {
  const { records, rest } = parseRecords(data);
  if (rest.length > 0) records.push(parseRecord(rest));
  const r = new LogRenderer(false);
  return Buffer.concat(
    records.filter((x) => !stream || x.stream === stream).map((x) => r.record(x)),
  ).toString('utf8');
}
