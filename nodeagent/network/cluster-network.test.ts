import { describe, expect, it } from 'vitest';
import type { ClusterNetwork__Output } from '../../proto/generated/shoal/agent/v1/ClusterNetwork.js';
import { mergeNetwork } from './cluster-network.js';

const obj = (ns: string, name: string, v: number): string =>
  JSON.stringify({ metadata: { namespace: ns, name }, v });

const message = (m: Partial<ClusterNetwork__Output>): ClusterNetwork__Output => ({
  nodes: [],
  services_json: [],
  endpoints_json: [],
  cluster_cidr: '10.244.0.0/16',
  service_cidr: '10.96.0.0/12',
  delta: false,
  removed_nodes: [],
  removed_services: [],
  removed_endpoints: [],
  ...m,
});

describe('mergeNetwork', () => {
  const whole = message({
    nodes: [
      { name: 'a', pod_cidr: '10.244.0.0/24', internal_ip: '10.0.0.1' },
      { name: 'b', pod_cidr: '10.244.1.0/24', internal_ip: '10.0.0.2' },
    ],
    services_json: [obj('default', 'web', 1), obj('kube-system', 'dns', 1)],
    endpoints_json: [obj('default', 'web', 1)],
  });

  it('upserts by name, removes by name, and keeps what the delta does not mention', () => {
    const merged = mergeNetwork(
      whole,
      message({
        delta: true,
        nodes: [
          { name: 'b', pod_cidr: '10.244.9.0/24', internal_ip: '10.0.0.2' },
          { name: 'c', pod_cidr: '10.244.2.0/24', internal_ip: '10.0.0.3' },
        ],
        removed_nodes: ['a'],
        services_json: [obj('default', 'web', 2)],
        removed_services: ['kube-system/dns'],
        removed_endpoints: ['default/web'],
      }),
    );
    expect(merged.delta).toBe(false);
    expect(merged.nodes.map((n) => [n.name, n.pod_cidr])).toEqual([
      ['b', '10.244.9.0/24'],
      ['c', '10.244.2.0/24'],
    ]);
    expect(merged.services_json).toEqual([obj('default', 'web', 2)]);
    expect(merged.endpoints_json).toEqual([]);
  });

  it('starts from nothing when no whole message came first', () => {
    const merged = mergeNetwork(
      undefined,
      message({ delta: true, endpoints_json: [obj('default', 'web', 1)], removed_nodes: ['x'] }),
    );
    expect(merged.nodes).toEqual([]);
    expect(merged.endpoints_json).toEqual([obj('default', 'web', 1)]);
  });
});
