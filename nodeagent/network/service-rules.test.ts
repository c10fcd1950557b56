// The iptables-restore text for Services, as a specification: which chains
// exist, how traffic is shared among endpoints, and what is deleted.

import { describe, expect, it } from 'vitest';
import {
  endpointChain,
  renderRemoval,
  renderRules,
  serviceChain,
  servicePortsOf,
  shareProbability,
  shoalChainsIn,
  type ServicePort,
} from './service-rules.js';

const CLUSTER = '10.244.0.0/16';

function sp(over: Partial<ServicePort> = {}): ServicePort {
  return {
    namespace: 'default',
    name: 'web',
    portName: '',
    protocol: 'tcp',
    clusterIP: '10.96.0.20',
    port: 80,
    endpoints: [
      { ip: '10.244.1.2', port: 8080 },
      { ip: '10.244.2.2', port: 8080 },
      { ip: '10.244.2.3', port: 8080 },
    ],
    ...over,
  };
}

function lines(text: string): string[] {
  return text.split('\n');
}

describe('renderRules', () => {
  const svc = serviceChain(sp());

  it.each([
    { n: 1, probs: [] },
    { n: 2, probs: ['0.5000000000'] },
    { n: 3, probs: ['0.3333333333', '0.5000000000'] },
    { n: 4, probs: ['0.2500000000', '0.3333333333', '0.5000000000'] },
  ])('shares $n endpoints evenly: probabilities $probs, the last unconditional', ({ n, probs }) => {
    const eps = Array.from({ length: n }, (_, i) => ({ ip: `10.244.1.${i + 2}`, port: 8080 }));
    const text = renderRules({ services: [sp({ endpoints: eps })], clusterCidr: CLUSTER }).text;
    const jumps = lines(text).filter((l) => l.startsWith(`-A ${svc} `) && l.includes('SHOAL-SEP-'));
    expect(jumps).toHaveLength(n);
    expect(jumps.slice(0, -1).map((l) => /--probability (\S+)/.exec(l)?.[1])).toEqual(probs);
    expect(jumps.at(-1)).not.toContain('statistic');
  });

  it('DNATs each endpoint chain to its address and marks hairpin traffic', () => {
    const text = renderRules({ services: [sp()], clusterCidr: CLUSTER }).text;
    const sep = endpointChain(svc, { ip: '10.244.2.2', port: 8080 });
    expect(text).toContain(`-A ${sep} -s 10.244.2.2/32 -j SHOAL-MARK-MASQ`);
    expect(text).toContain(`-A ${sep} -p tcp -m tcp -j DNAT --to-destination 10.244.2.2:8080`);
    expect(text).toContain(
      `-A SHOAL-SERVICES -d 10.96.0.20/32 -p tcp -m tcp --dport 80 -m comment --comment "default/web" -j ${svc}`,
    );
    expect(text).toContain(
      `-A ${svc} ! -s ${CLUSTER} -d 10.96.0.20/32 -p tcp -m tcp --dport 80 -j SHOAL-MARK-MASQ`,
    );
  });

  it('rejects in the filter table, and makes no nat chain, for a Service without ready endpoints', () => {
    const r = renderRules({
      services: [sp({ endpoints: [], nodePort: 30080 })],
      clusterCidr: CLUSTER,
    });
    expect(r.chains.size).toBe(0);
    const filter = r.text.slice(r.text.indexOf('*filter'));
    expect(filter).toContain('-d 10.96.0.20/32 -p tcp -m tcp --dport 80');
    expect(filter).toContain('--dport 30080');
    expect(filter).toContain('-j REJECT');
  });

  it('sends node ports through the masquerade mark to the service chain', () => {
    const text = renderRules({ services: [sp({ nodePort: 30080 })], clusterCidr: CLUSTER }).text;
    expect(text).toContain(
      '-A SHOAL-NODEPORTS -p tcp -m tcp --dport 30080 -m comment --comment "default/web" -j SHOAL-MARK-MASQ',
    );
    expect(text).toContain(
      `-A SHOAL-NODEPORTS -p tcp -m tcp --dport 30080 -m comment --comment "default/web" -j ${svc}`,
    );
    const services = lines(text).filter((l) => l.startsWith('-A SHOAL-SERVICES '));
    expect(services.at(-1)).toContain('-j SHOAL-NODEPORTS');
  });

  it('checks recent matches first for ClientIP affinity', () => {
    const text = renderRules({
      services: [sp({ affinitySeconds: 600 })],
      clusterCidr: CLUSTER,
    }).text;
    const rules = lines(text).filter((l) => l.startsWith(`-A ${svc} `));
    expect(rules[1]).toContain('--rcheck --seconds 600 --reap');
    expect(text).toMatch(
      /-m recent --name SHOAL-SEP-\w+ --mask 255.255.255.255 --rsource --set -m tcp -j DNAT/,
    );
  });

  it('exempts pod-to-pod traffic from NAT and masquerades pods leaving the cluster', () => {
    const text = renderRules({ services: [], clusterCidr: CLUSTER, podCidr: '10.244.3.0/24' }).text;
    const post = lines(text).filter((l) => l.startsWith('-A SHOAL-POSTROUTING'));
    expect(post[0]).toContain('--mark 0x4000/0x4000');
    expect(post[1]).toContain(`-s ${CLUSTER} -d ${CLUSTER}`);
    expect(post[1]).toContain('-j ACCEPT');
    expect(post[2]).toContain(`-s 10.244.3.0/24 ! -d ${CLUSTER}`);
    expect(post[2]).toContain('-j MASQUERADE');
  });

  it('redirects the cluster DNS address to the local DNS server', () => {
    const text = renderRules({
      services: [],
      clusterCidr: CLUSTER,
      dns: { ip: '10.96.0.10', port: 10053 },
    }).text;
    expect(text).toContain(
      '-A SHOAL-SERVICES -d 10.96.0.10/32 -p udp -m comment --comment "cluster DNS" -m udp --dport 53 -j REDIRECT --to-ports 10053',
    );
    expect(text).toContain(
      '-p tcp -m comment --comment "cluster DNS" -m tcp --dport 53 -j REDIRECT --to-ports 10053',
    );
  });

  it('declares and deletes stale chains, and only those', () => {
    const live = renderRules({ services: [sp()], clusterCidr: CLUSTER });
    const stale = ['SHOAL-SVC-0000000000000000', 'SHOAL-SEP-0000000000000000'];
    const text = renderRules({
      services: [sp()],
      clusterCidr: CLUSTER,
      existingChains: [...live.chains, ...stale, 'SHOAL-SERVICES'],
    }).text;
    for (const c of stale) {
      expect(text).toContain(`:${c} - [0:0]`);
      expect(text).toContain(`-X ${c}`);
    }
    expect(lines(text).filter((l) => l.startsWith('-X '))).toHaveLength(2);
  });

  it('is deterministic: the same input gives the same text, whatever the order', () => {
    const a = sp({ name: 'a' });
    const b = sp({ name: 'b', endpoints: [...sp().endpoints].reverse() });
    const one = renderRules({ services: [a, b], clusterCidr: CLUSTER }).text;
    const two = renderRules({ services: [b, a], clusterCidr: CLUSTER }).text;
    expect(one).toBe(two);
  });
});

describe('shareProbability', () => {
  it('gives the i-th of n a 1/(n-i) chance', () => {
    expect(shareProbability(0, 4)).toBe('0.2500000000');
    expect(shareProbability(2, 4)).toBe('0.5000000000');
  });
});

describe('servicePortsOf', () => {
  const service = {
    metadata: { namespace: 'default', name: 'web' },
    spec: {
      clusterIP: '10.96.0.20',
      type: 'NodePort',
      sessionAffinity: 'ClientIP',
      ports: [
        { name: 'http', port: 80, protocol: 'TCP', nodePort: 30080 },
        { name: 'dns', port: 53, protocol: 'UDP' },
      ],
    },
  };
  const endpoints = {
    metadata: { namespace: 'default', name: 'web' },
    subsets: [
      {
        addresses: [{ ip: '10.244.1.2' }],
        notReadyAddresses: [{ ip: '10.244.1.9' }],
        ports: [
          { name: 'http', port: 8080, protocol: 'TCP' },
          { name: 'dns', port: 5353, protocol: 'UDP' },
        ],
      },
    ],
  };

  it('pairs each Service port with the ready addresses of the same-named Endpoints port', () => {
    const ports = servicePortsOf([service], [endpoints]);
    expect(ports).toEqual([
      expect.objectContaining({
        portName: 'http',
        protocol: 'tcp',
        nodePort: 30080,
        affinitySeconds: 10800,
        endpoints: [{ ip: '10.244.1.2', port: 8080 }],
      }),
      expect.objectContaining({
        portName: 'dns',
        protocol: 'udp',
        endpoints: [{ ip: '10.244.1.2', port: 5353 }],
      }),
    ]);
  });

  it.each([
    ['headless', { clusterIP: 'None' }],
    ['ExternalName', { type: 'ExternalName', externalName: 'example.com' }],
    ['not yet allocated', { clusterIP: '' }],
  ])('skips a %s Service', (_name, spec) => {
    expect(
      servicePortsOf([{ ...service, spec: { ...service.spec, ...spec } }], [endpoints]),
    ).toEqual([]);
  });
});

describe('shoalChainsIn and renderRemoval', () => {
  it('finds Shoal chains per table and deletes exactly those', () => {
    const save = [
      '*filter',
      ':INPUT ACCEPT [0:0]',
      ':SHOAL-SERVICES - [0:0]',
      'COMMIT',
      '*nat',
      ':CNI-abc - [0:0]',
      ':SHOAL-SVC-AAAA - [0:0]',
      'COMMIT',
    ].join('\n');
    const chains = shoalChainsIn(save);
    expect(chains).toEqual({ nat: ['SHOAL-SVC-AAAA'], filter: ['SHOAL-SERVICES'] });
    expect(renderRemoval(chains)).toBe(
      '*nat\n:SHOAL-SVC-AAAA - [0:0]\n-X SHOAL-SVC-AAAA\nCOMMIT\n*filter\n:SHOAL-SERVICES - [0:0]\n-X SHOAL-SERVICES\nCOMMIT\n',
    );
  });
});
