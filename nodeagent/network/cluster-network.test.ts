import { describe, expect, it } from 'vitest';
import type { ClusterNetwork__Output } from '../../proto/generated/shoal/agent/v1/ClusterNetwork.js';
import { NetworkView } from './cluster-network.js';

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

const json = (m: Map<string, unknown>): string[] => [...m.values()].map((o) => JSON.stringify(o));

describe('NetworkView', () => {
  const whole = message({
    nodes: [
      { name: 'a', pod_cidr: '10.244.0.0/24', internal_ip: '10.0.0.1' },
      { name: 'b', pod_cidr: '10.244.1.0/24', internal_ip: '10.0.0.2' },
    ],
    services_json: [obj('default', 'web', 1), obj('kube-system', 'dns', 1)],
    endpoints_json: [obj('default', 'web', 1)],
  });

  it('upserts by name, removes by name, and keeps what the delta does not mention', () => {
    const view = new NetworkView();
    view.apply(whole);
    view.apply(
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
    expect([...view.nodes.values()].map((n) => [n.name, n.pod_cidr])).toEqual([
      ['b', '10.244.9.0/24'],
      ['c', '10.244.2.0/24'],
    ]);
    expect(json(view.services)).toEqual([obj('default', 'web', 2)]);
    expect(json(view.endpoints)).toEqual([]);
  });

  it('starts from nothing when no whole message came first, and a whole message replaces all', () => {
    const view = new NetworkView();
    view.apply(
      message({ delta: true, endpoints_json: [obj('default', 'web', 1)], removed_nodes: ['x'] }),
    );
    expect([...view.nodes.values()]).toEqual([]);
    expect(json(view.endpoints)).toEqual([obj('default', 'web', 1)]);
    view.apply(whole);
    expect([...view.nodes.keys()]).toEqual(['a', 'b']);
    expect(json(view.services)).toEqual([obj('default', 'web', 1), obj('kube-system', 'dns', 1)]);
  });
});
