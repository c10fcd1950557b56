import { X509Certificate as NodeX509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { createServer, request } from 'node:https';
import type { Server, ServerOptions } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { x509 } from './x509.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCsr, loadOrCreateClusterPki } from './ca.js';
import type { ClusterPki } from './ca.js';
import { PkiError } from './errors.js';
import { EC_SIGNING_ALGORITHM, generateKeyPair, privateKeyFromPem } from './keys.js';

const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';

let dataDir: string;
const servers: Server[] = [];

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'shoal-pki-'));
});

afterEach(async () => {
  await Promise.all(
    servers.splice(0).map(
      (s) =>
        new Promise<void>((resolve) => {
          s.closeAllConnections();
          s.close(() => resolve());
        }),
    ),
  );
  await rm(dataDir, { recursive: true, force: true });
});

async function mode(path: string): Promise<number> {
  return (await stat(path)).mode & 0o777;
}

async function expectPkiError(promise: Promise<unknown>, type: PkiError['type']): Promise<void> {
  const err: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PkiError);
  expect((err as PkiError).type).toBe(type);
}

// Starts an HTTPS server on 127.0.0.1 (free port) answering every request with
// the client certificate's CN, if any.
async function listenHttps(options: ServerOptions): Promise<number> {
  const server = createServer(options, (req, res) => {
    const peer = (req.socket as TLSSocket).getPeerCertificate();
    res.end(`hello ${peer.subject?.CN ?? 'anonymous'}`);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

function get(
  port: number,
  options: { ca?: string; cert?: string; key?: string; servername?: string },
): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/', method: 'GET', agent: false, ...options },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve(body));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('loadOrCreateClusterPki', () => {
  it('creates the CA and serving certificate on first start, keys mode 0600', async () => {
    const pki = await loadOrCreateClusterPki(dataDir, { hosts: [] });
    const dir = join(dataDir, 'pki');
    expect(pki.paths.dir).toBe(dir);
    expect(await mode(dir)).toBe(0o700);
    expect(await mode(join(dir, 'ca.key'))).toBe(0o600);
    expect(await mode(join(dir, 'apiserver.key'))).toBe(0o600);
    expect(await readFile(join(dir, 'ca.crt'), 'utf8')).toBe(pki.caCertPem);
    expect(await readFile(join(dir, 'ca.key'), 'utf8')).toBe(pki.caKeyPem);
    expect(await readFile(join(dir, 'apiserver.crt'), 'utf8')).toBe(pki.servingCertPem);
    expect(await readFile(join(dir, 'apiserver.key'), 'utf8')).toBe(pki.servingKeyPem);

    const ca = new NodeX509Certificate(pki.caCertPem);
    expect(ca.ca).toBe(true);
    const years = (Date.parse(ca.validTo) - Date.now()) / (365 * 24 * 3600 * 1000);
    expect(years).toBeGreaterThan(9.9);
  });

  it('reloads the same CA and serving certificate on a later start', async () => {
    const first = await loadOrCreateClusterPki(dataDir, { hosts: ['cp1.example', '10.0.0.5'] });
    // Same hosts in another order, with a duplicate: nothing to reissue.
    const second = await loadOrCreateClusterPki(dataDir, {
      hosts: ['10.0.0.5', 'CP1.example', 'localhost'],
    });
    expect(second.caCertPem).toBe(first.caCertPem);
    expect(second.caKeyPem).toBe(first.caKeyPem);
    expect(second.servingCertPem).toBe(first.servingCertPem);
    expect(second.servingKeyPem).toBe(first.servingKeyPem);
  });

  it('issues a serving certificate that verifies against the CA with the expected SANs', async () => {
    const pki = await loadOrCreateClusterPki(dataDir, { hosts: ['cp1.example', '10.0.0.5'] });
    const ca = new NodeX509Certificate(pki.caCertPem);
    const serving = new NodeX509Certificate(pki.servingCertPem);
    expect(serving.checkIssued(ca)).toBe(true);
    expect(serving.verify(ca.publicKey)).toBe(true);
    expect(serving.ca).toBe(false);
    expect(serving.keyUsage).toEqual([SERVER_AUTH]);
    for (const host of [
      'localhost',
      'cp1.example',
      'kubernetes',
      'kubernetes.default',
      'kubernetes.default.svc',
    ]) {
      expect(serving.checkHost(host), host).toBe(host);
    }
    expect(serving.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(serving.checkIP('10.0.0.5')).toBe('10.0.0.5');
    expect(serving.checkHost('other.example')).toBeUndefined();
    const days = (Date.parse(serving.validTo) - Date.now()) / (24 * 3600 * 1000);
    expect(days).toBeGreaterThan(360);
    expect(days).toBeLessThan(2 * 366);
  });

  it('reissues the serving certificate, keeping the CA, when hosts change', async () => {
    const first = await loadOrCreateClusterPki(dataDir, { hosts: ['cp1.example'] });
    const second = await loadOrCreateClusterPki(dataDir, { hosts: ['cp1.example', '10.0.0.7'] });
    expect(second.caCertPem).toBe(first.caCertPem);
    expect(second.servingCertPem).not.toBe(first.servingCertPem);
    expect(second.servingKeyPem).not.toBe(first.servingKeyPem);
    expect(new NodeX509Certificate(second.servingCertPem).checkIP('10.0.0.7')).toBe('10.0.0.7');
    expect(await readFile(second.paths.servingCert, 'utf8')).toBe(second.servingCertPem);
    expect(await mode(second.paths.servingKey)).toBe(0o600);
  });

  it('refuses to replace half a CA', async () => {
    const pki = await loadOrCreateClusterPki(dataDir, { hosts: [] });
    await rm(pki.paths.caCert);
    await expectPkiError(loadOrCreateClusterPki(dataDir, { hosts: [] }), 'CorruptState');
  });

  it('refuses a host that is neither a DNS name nor an IP', async () => {
    await expectPkiError(
      loadOrCreateClusterPki(dataDir, { hosts: ['https://cp1:6443'] }),
      'InvalidHost',
    );
  });
});

describe('serving certificate over TLS', () => {
  it('is accepted by a client trusting ca.crt and refused by one that does not', async () => {
    const pki = await loadOrCreateClusterPki(dataDir, { hosts: [] });
    const port = await listenHttps({ cert: pki.servingCertPem, key: pki.servingKeyPem });
    const caFile = await readFile(pki.paths.caCert, 'utf8');

    expect(await get(port, { ca: caFile })).toBe('hello anonymous');
    expect(await get(port, { ca: caFile, servername: 'localhost' })).toBe('hello anonymous');
    expect(await get(port, { ca: caFile, servername: 'kubernetes.default.svc' })).toBe(
      'hello anonymous',
    );
    await expect(get(port, {})).rejects.toThrow();
    await expect(get(port, { ca: caFile, servername: 'other.example' })).rejects.toThrow(
      /altnames/i,
    );
  });

  it('authenticates an agent by its node certificate (mutual TLS)', async () => {
    const pki = await loadOrCreateClusterPki(dataDir, { hosts: [] });
    const port = await listenHttps({
      cert: pki.servingCertPem,
      key: pki.servingKeyPem,
      ca: pki.caCertPem,
      requestCert: true,
      rejectUnauthorized: true,
    });
    const { csrPem, keyPem } = await createCsr('node-1');
    const cert = await pki.signNodeCsr(csrPem, 'node-1');
    expect(await get(port, { ca: pki.caCertPem, cert, key: keyPem })).toBe(
      'hello system:node:node-1',
    );
    // Without a client certificate the handshake fails.
    await expect(get(port, { ca: pki.caCertPem })).rejects.toThrow();
  });
});

describe('signNodeCsr and verifyClientCert', () => {
  let pki: ClusterPki;
  beforeEach(async () => {
    pki = await loadOrCreateClusterPki(dataDir, { hosts: [] });
  });

  it('round-trips a node certificate, as PEM and as DER', async () => {
    const { csrPem } = await createCsr('node-1.example');
    const certPem = await pki.signNodeCsr(csrPem, 'node-1.example');

    const cert = new NodeX509Certificate(certPem);
    const ca = new NodeX509Certificate(pki.caCertPem);
    expect(cert.verify(ca.publicKey)).toBe(true);
    expect(cert.ca).toBe(false);
    expect(cert.keyUsage).toEqual([CLIENT_AUTH]);
    const days = (Date.parse(cert.validTo) - Date.now()) / (24 * 3600 * 1000);
    expect(days).toBeGreaterThan(360);
    expect(days).toBeLessThan(366);

    const expected = {
      ok: true,
      commonName: 'system:node:node-1.example',
      organization: 'system:nodes',
    };
    expect(pki.verifyClientCert(certPem)).toEqual(expected);
    expect(pki.verifyClientCert(cert.raw)).toEqual(expected);
  });

  it('certifies only the public key of the CSR, with the subject it sets itself', async () => {
    const { csrPem, keyPem } = await createCsr('node-1');
    const cert = new x509.X509Certificate(await pki.signNodeCsr(csrPem, 'node-1'));
    const csr = new x509.Pkcs10CertificateRequest(csrPem);
    expect(Buffer.from(cert.publicKey.rawData)).toEqual(Buffer.from(csr.publicKey.rawData));
    expect(cert.subjectName.getField('CN')).toEqual(['system:node:node-1']);
    expect(cert.subjectName.getField('O')).toEqual(['system:nodes']);
    expect(keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
  });

  it('refuses a certificate issued by another CA', async () => {
    const otherDir = await mkdtemp(join(tmpdir(), 'shoal-pki-other-'));
    try {
      const other = await loadOrCreateClusterPki(otherDir, { hosts: [] });
      const { csrPem } = await createCsr('node-1');
      const foreign = await other.signNodeCsr(csrPem, 'node-1');
      expect(other.verifyClientCert(foreign).ok).toBe(true);
      expect(pki.verifyClientCert(foreign)).toEqual({
        ok: false,
        reason: 'certificate is not issued by the cluster CA',
      });
    } finally {
      await rm(otherDir, { recursive: true, force: true });
    }
  });

  it('refuses certificates of the cluster that are not client certificates', () => {
    expect(pki.verifyClientCert(pki.servingCertPem)).toEqual({
      ok: false,
      reason: 'certificate is not for client authentication',
    });
    expect(pki.verifyClientCert(pki.caCertPem).ok).toBe(false);
    expect(pki.verifyClientCert('not a certificate')).toEqual({
      ok: false,
      reason: 'certificate cannot be parsed',
    });
  });

  it('refuses an expired client certificate', async () => {
    const caCert = new x509.X509Certificate(pki.caCertPem);
    const { csrPem } = await createCsr('node-1');
    const expired = await x509.X509CertificateGenerator.create({
      subject: 'CN=system:node:node-1',
      issuer: caCert.subjectName,
      publicKey: new x509.Pkcs10CertificateRequest(csrPem).publicKey,
      signingKey: await privateKeyFromPem(pki.caKeyPem),
      signingAlgorithm: EC_SIGNING_ALGORITHM,
      notBefore: new Date(Date.now() - 48 * 3600 * 1000),
      notAfter: new Date(Date.now() - 24 * 3600 * 1000),
      extensions: [new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth])],
    });
    expect(pki.verifyClientCert(expired.toString('pem'))).toEqual({
      ok: false,
      reason: 'certificate has expired',
    });
  });

  it('refuses a CSR whose CN is not system:node:<nodeName>', async () => {
    const { csrPem } = await createCsr('node-2');
    await expectPkiError(pki.signNodeCsr(csrPem, 'node-1'), 'WrongCommonName');

    const admin = await x509.Pkcs10CertificateRequestGenerator.create({
      name: 'CN=system:admin, O=system:masters',
      keys: await generateKeyPair(),
      signingAlgorithm: EC_SIGNING_ALGORITHM,
    });
    await expectPkiError(pki.signNodeCsr(admin.toString('pem'), 'node-1'), 'WrongCommonName');
  });

  it('refuses a CSR whose signature does not verify, or that is not a CSR', async () => {
    const { csrPem } = await createCsr('node-1');
    const der = Buffer.from(x509.PemConverter.decodeFirst(csrPem));
    // The ECDSA signature's last byte is the end of the DER: change s, keep the form.
    der[der.length - 1] = (der[der.length - 1] ?? 0) ^ 0x01;
    const tampered = x509.PemConverter.encode(der, 'CERTIFICATE REQUEST');
    await expectPkiError(pki.signNodeCsr(tampered, 'node-1'), 'InvalidCsr');
    await expectPkiError(pki.signNodeCsr('garbage', 'node-1'), 'InvalidCsr');
  });

  it('refuses a node name that is not a DNS subdomain', async () => {
    const { csrPem } = await createCsr('node-1');
    await expectPkiError(pki.signNodeCsr(csrPem, 'Node_1'), 'InvalidNodeName');
    await expectPkiError(createCsr('a,O=system:masters'), 'InvalidNodeName');
  });
});
