// The text layout of `shoal describe`, as kubectl's describers produce it:
// lines of tab-separated cells run through Go's text/tabwriter rules (a
// column is aligned over the run of consecutive lines that have a cell in
// it; padding 2), "Key:  value" pairs, multi-line label lists, RFC 1123
// times, and the Events table every describer ends with.

import { humanDuration } from '../../controlplane/api/table.js';
import { isRecord } from '../../controlplane/api/objects.js';

export type Obj = Record<string, unknown>;

/** A record field, or {} when absent, for walking optional nesting. */
export function rec(v: unknown): Obj {
  return isRecord(v) ? v : {};
}

export function arr(v: unknown): Obj[] {
  return Array.isArray(v) ? v.filter(isRecord) : [];
}

export function str(v: unknown, fallback = ''): string {
  return typeof v === 'string'
    ? v
    : typeof v === 'number' || typeof v === 'boolean'
      ? String(v)
      : fallback;
}

const PADDING = 2;

/** Go text/tabwriter's alignment (minwidth 0, padding 2, no flags) over whole lines. */
export function tabwrite(lines: string[]): string[] {
  const cells = lines.map((l) => l.split('\t'));
  const widths: number[][] = cells.map(() => []);
  const format = (from: number, to: number, col: number): void => {
    let i = from;
    while (i < to) {
      if (cells[i]!.length - 1 <= col) {
        i++;
        continue;
      }
      let j = i;
      let w = 0;
      while (j < to && cells[j]!.length - 1 > col) {
        w = Math.max(w, cells[j]![col]!.length);
        j++;
      }
      for (let k = i; k < j; k++) widths[k]![col] = w + PADDING;
      format(i, j, col + 1);
      i = j;
    }
  };
  format(0, cells.length, 0);
  return cells.map((line, li) =>
    line
      .map((cell, ci) => (ci < line.length - 1 ? cell.padEnd(widths[li]![ci] ?? 0) : cell))
      .join('')
      .trimEnd(),
  );
}

/** Collects a describer's lines; `text()` aligns them. */
export class DescribeWriter {
  private readonly lines: string[] = [];

  /** A line at an indent level (two spaces each); cells are tab-separated. */
  line(level: number, ...cells: string[]): void {
    this.lines.push('  '.repeat(level) + cells.join('\t'));
  }

  /** "Key:  value", kubectl's most common line. */
  kv(level: number, key: string, value: unknown): void {
    this.line(level, `${key}:`, str(value, '<none>'));
  }

  /** A key whose values take one line each (labels, taints, tolerations); <none> when empty. */
  list(level: number, key: string, values: string[]): void {
    if (values.length === 0) {
      this.line(level, `${key}:`, '<none>');
      return;
    }
    values.forEach((v, i) => this.line(level, i === 0 ? `${key}:` : '', v));
  }

  text(): string {
    return tabwrite(this.lines).join('\n') + '\n';
  }
}

/** Labels as kubectl lists them: key=value, sorted. */
export function labelLines(v: unknown): string[] {
  return Object.entries(rec(v))
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, val]) => `${k}=${str(val)}`);
}

/** Annotations as kubectl lists them: "key: value", sorted. */
export function annotationLines(v: unknown): string[] {
  return Object.entries(rec(v))
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, val]) => `${k}: ${str(val)}`);
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Go's time.RFC1123Z in local time, as kubectl prints timestamps: "Mon, 02 Jan 2006 15:04:05 -0700". */
export function rfc1123z(value: unknown): string {
  const t = typeof value === 'string' ? new Date(value) : undefined;
  if (!t || Number.isNaN(t.getTime())) return '<unknown>';
  const p = (n: number): string => String(n).padStart(2, '0');
  const off = -t.getTimezoneOffset();
  const zone = `${off < 0 ? '-' : '+'}${p(Math.floor(Math.abs(off) / 60))}${p(Math.abs(off) % 60)}`;
  return `${DAYS[t.getDay()]}, ${p(t.getDate())} ${MONTHS[t.getMonth()]} ${t.getFullYear()} ${p(t.getHours())}:${p(t.getMinutes())}:${p(t.getSeconds())} ${zone}`;
}

/** How long ago, as kubectl's AGE: "5s", "3m2s", "<unknown>". */
export function since(value: unknown, now = Date.now()): string {
  const t = typeof value === 'string' ? Date.parse(value) : NaN;
  return Number.isNaN(t) ? '<unknown>' : humanDuration(now - t);
}

function eventTime(e: Obj): number {
  for (const f of ['lastTimestamp', 'eventTime', 'firstTimestamp']) {
    const t = typeof e[f] === 'string' ? Date.parse(e[f]) : NaN;
    if (!Number.isNaN(t)) return t;
  }
  const meta = rec(e.metadata);
  return typeof meta.creationTimestamp === 'string' ? Date.parse(meta.creationTimestamp) : 0;
}

/** The Events table (oldest first), or "Events: <none>". */
export function describeEvents(w: DescribeWriter, events: Obj[], now = Date.now()): void {
  if (events.length === 0) {
    w.line(0, 'Events:', '<none>');
    return;
  }
  w.line(0, 'Events:');
  w.line(1, 'Type', 'Reason', 'Age', 'From', 'Message');
  w.line(1, '----', '------', '----', '----', '-------');
  for (const e of [...events].sort((a, b) => eventTime(a) - eventTime(b))) {
    const last = str(e.lastTimestamp) || str(e.eventTime) || str(rec(e.metadata).creationTimestamp);
    const count = typeof e.count === 'number' ? e.count : 1;
    const age =
      count > 1 && e.firstTimestamp
        ? `${since(last, now)} (x${count} over ${since(e.firstTimestamp, now)})`
        : since(last, now);
    const source = rec(e.source);
    const from =
      [str(source.component), str(source.host)].filter(Boolean).join(', ') ||
      str(e.reportingComponent) ||
      str(e.reportingController);
    w.line(1, str(e.type), str(e.reason), age, from, str(e.message).trim());
  }
}
