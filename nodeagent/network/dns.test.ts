// The cluster DNS server's answers (pure), then one real UDP and TCP query
// against a server on a loopback port.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import dnsPacket from 'dns-packet';
import type { KubeObject } from '../../controlplane/api/objects.js';
import { answer, ClusterDns, dnsRecordsOf } from './dns.js';

const services: KubeObject[] = [
  { metadata: { namespace: 'default', name: 'web' }, spec: { clusterIP: '10.96.0.20' } },
  { metadata: { namespace: 'db', name: 'pg' }, spec: { clusterIP: 'None' } },
  {
    metadata: { namespace: 'default', name: 'ext' },
    spec: { type: 'ExternalName', externalName: 'example.com' },
  },
];
const endpoints: KubeObject[] = [
  {
    metadata: { namespace: 'db', name: 'pg' },
    subsets: [
      {
        addresses: [{ ip: '10.244.2.5', hostname: 'pg-0' }, { ip: '10.244.1.4' }],
        notReadyAddresses: [{ ip: '10.244.1.9' }],
      },
    ],
  },
];
const records = dnsRecordsOf(services, endpoints, 'cluster.local');

function ask(name: string, type: 'A' | 'AAAA' = 'A'): dnsPacket.Packet & { rcode?: string } {
  const reply = answer(
    { id: 7, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name, class: 'IN' }] },
    records,
    'cluster.local',
  );
  return dnsPacket.decode(dnsPacket.encode(reply));
}

const ips = (p: dnsPacket.Packet): unknown[] =>
  (p.answers ?? []).map((a) => ('data' in a ? a.data : undefined));

describe('answer', () => {
  it.each([
    ['web.default.svc.cluster.local', 'NOERROR', ['10.96.0.20']],
    ['WEB.default.svc.cluster.local.', 'NOERROR', ['10.96.0.20']],
    ['pg.db.svc.cluster.local', 'NOERROR', ['10.244.1.4', '10.244.2.5']],
    ['pg-0.pg.db.svc.cluster.local', 'NOERROR', ['10.244.2.5']],
    ['nope.default.svc.cluster.local', 'NXDOMAIN', []],
    ['web.default.svc.cluster.local.default.svc.cluster.local', 'NXDOMAIN', []],
    ['default.svc.cluster.local', 'NOERROR', []],
    ['ext.default.svc.cluster.local', 'NXDOMAIN', []],
    ['example.com', 'REFUSED', []],
  ])('%s → %s %j', (name, rcode, want) => {
    const reply = ask(name);
    expect(reply.rcode).toBe(rcode);
    expect(ips(reply)).toEqual(want);
    expect(reply.id).toBe(7);
  });

  it('answers AAAA for a known name with no records (NODATA), not NXDOMAIN', () => {
    const reply = ask('web.default.svc.cluster.local', 'AAAA');
    expect(reply.rcode).toBe('NOERROR');
    expect(reply.answers ?? []).toEqual([]);
  });
});

describe('ClusterDns over UDP and TCP', () => {
  // A random high port on loopback: the agent's REDIRECT target is a fixed port, tests need a free one.
  const port = 20000 + Math.floor(Math.random() * 20000);
  const dns = new ClusterDns({ host: '127.0.0.1', port });
  beforeAll(async () => {
    dns.update(services, endpoints);
    await dns.start();
  });
  afterAll(() => dns.stop());

  it('answers a UDP query', async () => {
    const sock = createSocket('udp4');
    const reply = await new Promise<dnsPacket.Packet>((resolve) => {
      sock.on('message', (m) => resolve(dnsPacket.decode(m)));
      sock.send(
        dnsPacket.encode({
          id: 1,
          type: 'query',
          questions: [{ type: 'A', name: 'web.default.svc.cluster.local' }],
        }),
        port,
        '127.0.0.1',
      );
    });
    sock.close();
    expect(ips(reply)).toEqual(['10.96.0.20']);
  });

  it('answers a TCP query', async () => {
    const query = dnsPacket.encode({
      id: 2,
      type: 'query',
      questions: [{ type: 'A', name: 'pg.db.svc.cluster.local' }],
    });
    const head = Buffer.alloc(2);
    head.writeUInt16BE(query.length);
    const reply = await new Promise<dnsPacket.Packet>((resolve, reject) => {
      const s = connect(port, '127.0.0.1', () => s.write(Buffer.concat([head, query])));
      let buf = Buffer.alloc(0);
      s.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          s.end();
          resolve(dnsPacket.decode(buf.subarray(2)));
        }
      });
      s.on('error', reject);
    });
    expect(ips(reply)).toEqual(['10.244.1.4', '10.244.2.5']);
  });
});
