import { describe, expect, it } from 'vitest';
import { parseDuration } from './index.js';
import { clusterLayout, processNames, validateClusterName } from './layout.js';
import { parseSubnet24 } from './network.js';
import { table } from './status.js';

describe('cluster layout', () => {
  it('derives every name and path from the name, state dir and subnet', () => {
    const l = clusterLayout('dev', '/var/lib/shoal/clusters/dev', '10.213.0', 2);
    expect(l.bridge).toBe('shoal-dev');
    expect(l.apiUrl).toBe('https://10.213.0.1:6443');
    expect(l.agentAddress).toBe('10.213.0.1:6444');
    expect(l.busyboxImage).toBe('10.213.0.1:5000/busybox:latest');
    expect(l.hosts).toEqual([
      {
        name: 'shoal-dev-1',
        veth: 'sh-dev-1',
        address: '10.213.0.10',
        dataDir: '/var/lib/shoal/clusters/dev/agents/shoal-dev-1',
        runcRoot: '/var/lib/shoal/clusters/dev/agents/shoal-dev-1/run/runc',
        cgroupParent: 'shoal-shoal-dev-1',
      },
      expect.objectContaining({ name: 'shoal-dev-2', address: '10.213.0.11' }),
    ]);
    expect(processNames(l)).toEqual([
      'agent-shoal-dev-1',
      'agent-shoal-dev-2',
      'registry',
      'controlplane',
    ]);
  });

  it('keeps interface names within 15 characters for the longest name and node count', () => {
    const l = clusterLayout('abcdefghi', '/s', '10.0.0', 99);
    for (const n of [l.bridge, ...l.hosts.map((h) => h.veth)])
      expect(n.length).toBeLessThanOrEqual(15);
  });

  it.each([
    ['dev', true],
    ['t1a2b', true],
    ['abcdefghi', true],
    ['abcdefghij', false],
    ['Dev', false],
    ['1dev', false],
    ['de-v', false],
    ['', false],
  ])('name %j valid: %s', (name, ok) => {
    expect(validateClusterName(name) === undefined).toBe(ok);
  });

  it.each([
    ['10.213.0.0/24', '10.213.0'],
    ['192.168.7.0/24', '192.168.7'],
    ['10.213.0.1/24', undefined],
    ['10.213.0.0/16', undefined],
    ['10.256.0.0/24', undefined],
  ])('subnet %s → %s', (cidr, prefix) => {
    expect(parseSubnet24(cidr)).toBe(prefix);
  });

  it('parses durations in seconds or minutes', () => {
    expect(parseDuration('90')).toBe(90_000);
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('3m')).toBe(180_000);
    expect(() => parseDuration('3h')).toThrow(/duration/);
  });

  it('prints tables as kubectl does', () => {
    expect(
      table(
        ['NAME', 'STATUS'],
        [
          ['shoal-dev-1', 'Ready'],
          ['x', 'NotReady'],
        ],
      ),
    ).toBe('NAME          STATUS\nshoal-dev-1   Ready\nx             NotReady');
  });
});
