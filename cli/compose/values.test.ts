// The scalar formats of Compose and the interpolation rules, as tables.

import { describe, expect, it } from 'vitest';
import { interpolate, parseDotEnv } from './interpolate.js';
import {
  bytesQuantity,
  cpuQuantity,
  parseByteValue,
  parseComposeDuration,
  parseExpose,
  parseShortPort,
  shellSplit,
} from './values.js';

describe('interpolate', () => {
  const env = { A: 'a', EMPTY: '', N: '5' };
  it.each([
    ['$A', 'a'],
    ['${A}', 'a'],
    ['x${A}y', 'xay'],
    ['${UNSET}', ''],
    ['${UNSET:-def}', 'def'],
    ['${EMPTY:-def}', 'def'],
    ['${EMPTY-def}', ''],
    ['${UNSET-def}', 'def'],
    ['${A:+alt}', 'alt'],
    ['${EMPTY:+alt}', ''],
    ['${EMPTY+alt}', 'alt'],
    ['${UNSET:-${A}-${N}}', 'a-5'],
    ['$$A', '$A'],
    ['cost 5$', 'cost 5$'],
  ])('%s → %s', (text, want) => expect(interpolate(text, env)).toBe(want));

  it.each([
    ['${UNSET?needs a value}', 'required variable UNSET is missing a value: needs a value'],
    ['${EMPTY:?}', 'required variable EMPTY is missing a value'],
    ['${A', 'invalid interpolation format in "${A"'],
    ['${A!x}', 'invalid interpolation format in "${A!x}"'],
  ])('%s fails: %s', (text, message) => expect(() => interpolate(text, env)).toThrow(message));
});

describe('parseDotEnv', () => {
  it('reads KEY=VAL lines, comments, export, quotes and inline comments', () => {
    const text = [
      '# a comment',
      'A=1',
      'export B = two words ',
      "C='lit $x # not a comment'",
      'D="line\\nbreak"',
      'E=value # comment',
      'F',
      '',
    ].join('\n');
    expect(parseDotEnv(text).map(({ key, value }) => [key, value])).toEqual([
      ['A', '1'],
      ['B', 'two words'],
      ['C', 'lit $x # not a comment'],
      ['D', 'line\nbreak'],
      ['E', 'value'],
      ['F', ''],
    ]);
  });
  it('names the bad line', () => {
    expect(() => parseDotEnv('A=1\n=oops\n')).toThrow('line 2: "=oops" is not KEY=VALUE');
  });
});

describe('Compose scalars', () => {
  it.each([
    ['1m30s', 90],
    ['10s', 10],
    ['500ms', 0.5],
    ['2h', 7200],
    ['1.5s', 1.5],
    [12, 12],
    ['10', undefined],
    ['soon', undefined],
  ])('duration %s → %s', (text, want) => expect(parseComposeDuration(text)).toBe(want));

  it.each([
    ['512m', 512 * 1024 ** 2, '512Mi'],
    ['1g', 1024 ** 3, '1Gi'],
    ['1.5g', 1.5 * 1024 ** 3, '1536Mi'],
    ['100kb', 102400, '100Ki'],
    [1000, 1000, '1000'],
  ])('bytes %s → %s → %s', (text, bytes, quantity) => {
    expect(parseByteValue(text)).toBe(bytes);
    expect(bytesQuantity(bytes)).toBe(quantity);
  });
  it('refuses unknown byte units', () => expect(parseByteValue('5 parsecs')).toBeUndefined());

  it.each([
    ['0.5', '500m'],
    [2, '2'],
    ['1.25', '1250m'],
    ['-1', undefined],
    ['lots', undefined],
  ])('cpus %s → %s', (v, want) => expect(cpuQuantity(v)).toBe(want));

  it.each([
    ['httpd -f -p 80', ['httpd', '-f', '-p', '80']],
    ['sh -c "echo hi; exit 3"', ['sh', '-c', 'echo hi; exit 3']],
    ["echo 'a b' c\\ d", ['echo', 'a b', 'c d']],
    ['echo ""', ['echo', '']],
  ])('shellSplit %s', (text, want) => expect(shellSplit(text)).toEqual(want));
  it('shellSplit refuses an unclosed quote', () => expect(shellSplit('echo "x')).toBeUndefined());
});

describe('ports', () => {
  it.each([
    ['80', [{ target: 80, protocol: 'TCP' }]],
    [80, [{ target: 80, protocol: 'TCP' }]],
    ['8080:80', [{ target: 80, published: 8080, protocol: 'TCP' }]],
    [
      '127.0.0.1:8080:80/udp',
      [{ target: 80, published: 8080, hostIp: '127.0.0.1', protocol: 'UDP' }],
    ],
    ['127.0.0.1::80', [{ target: 80, hostIp: '127.0.0.1', protocol: 'TCP' }]],
    ['[::1]:6001:6001', [{ target: 6001, published: 6001, hostIp: '::1', protocol: 'TCP' }]],
    [
      '9090-9091:8080-8081',
      [
        { target: 8080, published: 9090, protocol: 'TCP' },
        { target: 8081, published: 9091, protocol: 'TCP' },
      ],
    ],
    [
      '3000-3001',
      [
        { target: 3000, protocol: 'TCP' },
        { target: 3001, protocol: 'TCP' },
      ],
    ],
  ])('short syntax %s', (text, want) => expect(parseShortPort(text)).toEqual(want));

  it.each([
    ['80:http', 'the container port must be a port number or range'],
    ['70000', 'the container port must be a port number or range'],
    ['8080:80/icmp', 'unknown protocol "icmp" (tcp, udp or sctp)'],
    ['abc:80', 'the published port must be a port number or range'],
    ['1-3:1-2', 'the published and container port ranges differ in length'],
  ])('short syntax %s is refused: %s', (text, reason) => expect(parseShortPort(text)).toBe(reason));

  it('reads expose entries', () => {
    expect(parseExpose('3000/udp')).toEqual([{ target: 3000, protocol: 'UDP' }]);
    expect(parseExpose('x')).toBe('expected a port number or range');
  });
});
