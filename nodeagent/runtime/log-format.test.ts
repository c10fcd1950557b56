import { describe, expect, it } from 'vitest';
import {
  joinLines,
  logContent,
  LogRenderer,
  parseRecords,
  selectLines,
  type LogLine,
} from './log-format.js';

const T1 = '2026-11-23T11:00:00.100000000Z';
const T2 = '2026-11-23T11:00:05.200000000Z';
const T3 = '2026-11-23T11:00:09.300000000Z';

function file(...lines: string[]): Buffer {
  return Buffer.from(lines.map((l) => `${l}\n`).join(''));
}

function render(lines: LogLine[], timestamps: boolean): string {
  const r = new LogRenderer(timestamps);
  return Buffer.concat(lines.map((l) => r.line(l))).toString();
}

describe('CRI log format', () => {
  const data = file(
    `${T1} stdout F one`,
    `${T2} stderr P tw`,
    `${T2} stderr F o`,
    `${T3} stdout F three`,
  );

  it('parses records and joins P pieces into lines', () => {
    const { records, rest } = parseRecords(Buffer.concat([data, Buffer.from(`${T3} stdout F`)]));
    expect(records).toHaveLength(4);
    expect(rest.toString()).toBe(`${T3} stdout F`);
    const lines = joinLines(records);
    expect(lines.map((l) => [l.time, l.stream, l.content.toString(), l.complete])).toEqual([
      [T1, 'stdout', 'one', true],
      [T2, 'stderr', 'two', true],
      [T3, 'stdout', 'three', true],
    ]);
  });

  it.each([
    { what: 'everything', opts: {}, timestamps: false, out: 'one\ntwo\nthree\n' },
    {
      what: 'with timestamps',
      opts: {},
      timestamps: true,
      out: `${T1} one\n${T2} two\n${T3} three\n`,
    },
    { what: 'tail 2', opts: { tailLines: 2 }, timestamps: false, out: 'two\nthree\n' },
    { what: 'tail 0', opts: { tailLines: 0 }, timestamps: false, out: '' },
    {
      what: 'since 11:00:05',
      opts: { sinceMs: Date.parse('2026-11-23T11:00:05Z') },
      timestamps: false,
      out: 'two\nthree\n',
    },
    {
      what: 'since and tail',
      opts: { sinceMs: Date.parse('2026-11-23T11:00:05Z'), tailLines: 1 },
      timestamps: false,
      out: 'three\n',
    },
  ])('selects $what', ({ opts, timestamps, out }) => {
    const lines = joinLines(parseRecords(data).records);
    expect(render(selectLines(lines, opts), timestamps)).toBe(out);
  });

  it('an unfinished line has no newline, and its continuation no second timestamp', () => {
    const r = new LogRenderer(true);
    const first = joinLines(parseRecords(file(`${T1} stdout P hal`)).records);
    expect(first[0]?.complete).toBe(false);
    expect(r.line(first[0]!).toString()).toBe(`${T1} hal`);
    const more = parseRecords(file(`${T2} stdout F f`)).records[0]!;
    expect(r.record(more).toString()).toBe('f\n');
  });

  it('reads files from before the format as raw lines without times', () => {
    const raw = Buffer.from('plain old\nlines\n');
    const lines = joinLines(parseRecords(raw).records);
    expect(render(lines, false)).toBe('plain old\nlines\n');
    expect(selectLines(lines, { sinceMs: 0 })).toEqual([]);
    expect(logContent(raw)).toBe('plain old\nlines\n');
  });

  it('logContent gives the content of one stream', () => {
    expect(logContent(data, 'stderr')).toBe('two\n');
    expect(logContent(data)).toBe('one\ntwo\nthree\n');
  });
});
