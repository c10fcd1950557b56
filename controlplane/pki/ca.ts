// The cluster's certificate authority: created at the first control-plane start,
// loaded on every later one. It signs the API server's serving certificate and,
// through signNodeCsr, the client certificates agents authenticate with.
import { X509Certificate as NodeX509Certificate, createPublicKey } from 'node:crypto';
import type { KeyObject, webcrypto } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { x509 } from './x509.js';
import { PkiError } from './errors.js';
import { readOptional, writeFileAtomic } from './files.js';
import {
  EC_SIGNING_ALGORITHM,
  generateKeyPair,
  privateKeyFromPem,
  privateKeyToPem,
} from './keys.js';
import { NODE_ORGANIZATION, isValidNodeName, nodeCommonName } from './names.js';

// The agent side builds its CSR with this; exported here too so that one import
// of the PKI gives both halves of the join.
export { createCsr } from './csr.js';
export type { NodeCsr } from './csr.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const CA_VALIDITY_DAYS = 3650;
const SERVING_VALIDITY_DAYS = 365;
const NODE_VALIDITY_DAYS = 365;
// A serving certificate with less than this left is replaced at start, so a
// control plane restarted now and then never serves an expired one.
const SERVING_RENEW_BEFORE_DAYS = 30;
// Certificates start a little in the past: hosts' clocks disagree by seconds or
// minutes, and a node certificate "not yet valid" on the server fails the join.
const CLOCK_SKEW_MS = 5 * 60 * 1000;

const CA_COMMON_NAME = 'shoal-ca';
const APISERVER_COMMON_NAME = 'shoal-apiserver';
// The names in-cluster clients use for the API, as in Kubernetes.
const KUBERNETES_SERVICE_NAMES = ['kubernetes', 'kubernetes.default', 'kubernetes.default.svc'];
const ALWAYS_SERVED_HOSTS = ['localhost', '127.0.0.1'];

const CLIENT_AUTH_OID = x509.ExtendedKeyUsage.clientAuth as string;

const FILE_MODE_SECRET = 0o600;
const FILE_MODE_PUBLIC = 0o644;

export interface ClusterPkiOptions {
  /** DNS names and IP addresses clients reach the API server by (SANs of the serving cert). */
  hosts: string[];
}

export interface ClusterPkiPaths {
  dir: string;
  caCert: string;
  caKey: string;
  servingCert: string;
  servingKey: string;
}

export type ClientCertVerdict =
  { ok: true; commonName: string; organization?: string } | { ok: false; reason: string };

export interface ClusterPki {
  paths: ClusterPkiPaths;
  caCertPem: string;
  caKeyPem: string;
  servingCertPem: string;
  servingKeyPem: string;
  /**
   * Issues a one-year client certificate for `system:node:<nodeName>` in group
   * `system:nodes` for the key in `csrPem`. Throws PkiError ('InvalidCsr',
   * 'WrongCommonName', 'InvalidNodeName') when the request is not acceptable.
   */
  signNodeCsr(csrPem: string, nodeName: string): Promise<string>;
  /**
   * Says whether a presented client certificate (PEM or DER) was issued by this CA,
   * is valid now and is meant for client authentication, and whom it names.
   */
  verifyClientCert(cert: string | Buffer): ClientCertVerdict;
}

/**
 * Loads the PKI under `<dataDir>/pki`, creating what is missing: the CA once (it is
 * never replaced, since every agent trusts it), and the serving certificate whenever
 * it is absent, does not match its key or the CA, names other hosts, or nears expiry.
 */
export async function loadOrCreateClusterPki(
  dataDir: string,
  opts: ClusterPkiOptions,
): Promise<ClusterPki> {
  const dir = join(dataDir, 'pki');
  const paths: ClusterPkiPaths = {
    dir,
    caCert: join(dir, 'ca.crt'),
    caKey: join(dir, 'ca.key'),
    servingCert: join(dir, 'apiserver.crt'),
    servingKey: join(dir, 'apiserver.key'),
  };
  const sans = servingSans(opts.hosts);
  await mkdir(dir, { recursive: true, mode: 0o700 });

  const ca = await loadOrCreateCa(paths);
  const serving = await loadOrCreateServing(paths, ca, sans);
  const caNodeCert = new NodeX509Certificate(ca.certPem);

  return {
    paths,
    caCertPem: ca.certPem,
    caKeyPem: ca.keyPem,
    servingCertPem: serving.certPem,
    servingKeyPem: serving.keyPem,
    signNodeCsr: (csrPem, nodeName) => signNodeCsr(ca, csrPem, nodeName),
    verifyClientCert: (cert) => verifyClientCert(caNodeCert, cert),
  };
}

interface LoadedCa {
  cert: x509.X509Certificate;
  certPem: string;
  key: webcrypto.CryptoKey;
  keyPem: string;
}

async function loadOrCreateCa(paths: ClusterPkiPaths): Promise<LoadedCa> {
  const certPem = await readOptional(paths.caCert);
  const keyPem = await readOptional(paths.caKey);
  if (certPem === undefined && keyPem === undefined) return createCa(paths);
  if (certPem === undefined || keyPem === undefined) {
    // Replacing half a CA would orphan every agent that trusts the other half;
    // a person has to decide (restore the missing file, or start over).
    throw new PkiError(
      'CorruptState',
      `${certPem === undefined ? paths.caCert : paths.caKey} is missing but ` +
        `${certPem === undefined ? paths.caKey : paths.caCert} exists; restore it or remove both`,
    );
  }
  try {
    const cert = new x509.X509Certificate(certPem);
    const nodeCert = new NodeX509Certificate(certPem);
    if (!nodeCert.ca) throw new Error('certificate is not a CA');
    if (!samePublicKey(nodeCert.publicKey, createPublicKey(keyPem))) {
      throw new Error('key does not match certificate');
    }
    return { cert, certPem, key: await privateKeyFromPem(keyPem), keyPem };
  } catch (err) {
    throw new PkiError(
      'CorruptState',
      `cannot load cluster CA from ${paths.dir}: ${message(err)}`,
      {
        cause: err,
      },
    );
  }
}

async function createCa(paths: ClusterPkiPaths): Promise<LoadedCa> {
  const keys = await generateKeyPair();
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: [{ CN: [CA_COMMON_NAME] }],
    keys,
    signingAlgorithm: EC_SIGNING_ALGORITHM,
    notBefore: new Date(now - CLOCK_SKEW_MS),
    notAfter: new Date(now + CA_VALIDITY_DAYS * DAY_MS),
    extensions: [
      // pathLength 0: this CA signs leaves only, never another CA.
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const certPem = cert.toString('pem');
  const keyPem = await privateKeyToPem(keys.privateKey);
  // Key first: a crash between the two writes leaves a key without a certificate,
  // which loadOrCreateCa reports rather than silently minting a second CA.
  await writeFileAtomic(paths.caKey, keyPem, FILE_MODE_SECRET);
  await writeFileAtomic(paths.caCert, certPem, FILE_MODE_PUBLIC);
  return { cert, certPem, key: keys.privateKey, keyPem };
}

interface Serving {
  certPem: string;
  keyPem: string;
}

async function loadOrCreateServing(
  paths: ClusterPkiPaths,
  ca: LoadedCa,
  sans: x509.JsonGeneralNames,
): Promise<Serving> {
  const certPem = await readOptional(paths.servingCert);
  const keyPem = await readOptional(paths.servingKey);
  if (
    certPem !== undefined &&
    keyPem !== undefined &&
    servingIsCurrent(certPem, keyPem, ca, sans)
  ) {
    return { certPem, keyPem };
  }
  return createServing(paths, ca, sans);
}

// Whether a stored serving certificate can go on being used; any doubt (parse
// failure included) means "issue a new one", which costs nothing but a restart.
function servingIsCurrent(
  certPem: string,
  keyPem: string,
  ca: LoadedCa,
  sans: x509.JsonGeneralNames,
): boolean {
  try {
    const nodeCert = new NodeX509Certificate(certPem);
    const caNodeCert = new NodeX509Certificate(ca.certPem);
    if (!nodeCert.checkIssued(caNodeCert) || !nodeCert.verify(caNodeCert.publicKey)) return false;
    if (!samePublicKey(nodeCert.publicKey, createPublicKey(keyPem))) return false;
    const renewAt = Date.parse(nodeCert.validTo) - SERVING_RENEW_BEFORE_DAYS * DAY_MS;
    if (!(Date.now() < renewAt)) return false;
    const san = new x509.X509Certificate(certPem).getExtension(
      x509.SubjectAlternativeNameExtension,
    );
    return san !== null && sameNames(san.names.toJSON(), sans);
  } catch {
    return false;
  }
}

async function createServing(
  paths: ClusterPkiPaths,
  ca: LoadedCa,
  sans: x509.JsonGeneralNames,
): Promise<Serving> {
  const keys = await generateKeyPair();
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.create({
    subject: [{ CN: [APISERVER_COMMON_NAME] }],
    issuer: ca.cert.subjectName,
    publicKey: keys.publicKey,
    signingKey: ca.key,
    signingAlgorithm: EC_SIGNING_ALGORITHM,
    notBefore: new Date(now - CLOCK_SKEW_MS),
    notAfter: new Date(now + SERVING_VALIDITY_DAYS * DAY_MS),
    extensions: [
      ...(await leafExtensions(keys.publicKey, ca, x509.ExtendedKeyUsage.serverAuth)),
      new x509.SubjectAlternativeNameExtension(sans, false),
    ],
  });
  const serving = { certPem: cert.toString('pem'), keyPem: await privateKeyToPem(keys.privateKey) };
  await writeFileAtomic(paths.servingKey, serving.keyPem, FILE_MODE_SECRET);
  await writeFileAtomic(paths.servingCert, serving.certPem, FILE_MODE_PUBLIC);
  return serving;
}

async function signNodeCsr(ca: LoadedCa, csrPem: string, nodeName: string): Promise<string> {
  if (!isValidNodeName(nodeName)) {
    throw new PkiError('InvalidNodeName', `invalid node name ${JSON.stringify(nodeName)}`);
  }
  let csr: x509.Pkcs10CertificateRequest;
  let signatureOk: boolean;
  try {
    csr = new x509.Pkcs10CertificateRequest(csrPem);
    signatureOk = await csr.verify();
  } catch (err) {
    throw new PkiError('InvalidCsr', `cannot read certificate signing request: ${message(err)}`, {
      cause: err,
    });
  }
  // The signature proves the requester holds the private key it asks us to certify.
  if (!signatureOk) {
    throw new PkiError('InvalidCsr', 'certificate signing request signature does not verify');
  }
  const expected = nodeCommonName(nodeName);
  const commonNames = csr.subjectName.getField('CN');
  if (commonNames.length !== 1 || commonNames[0] !== expected) {
    throw new PkiError(
      'WrongCommonName',
      `certificate signing request is for ${JSON.stringify(commonNames.join(','))}, ` +
        `expected ${JSON.stringify(expected)}`,
    );
  }
  const keyProblem = weakKeyReason(csr.publicKey);
  if (keyProblem !== undefined) throw new PkiError('InvalidCsr', keyProblem);

  const now = Date.now();
  // Only the public key is taken from the request; subject, lifetime and usages
  // are ours, so a CSR cannot ask for serverAuth, a CA bit or another group.
  const cert = await x509.X509CertificateGenerator.create({
    subject: [{ CN: [expected] }, { O: [NODE_ORGANIZATION] }],
    issuer: ca.cert.subjectName,
    publicKey: csr.publicKey,
    signingKey: ca.key,
    signingAlgorithm: EC_SIGNING_ALGORITHM,
    notBefore: new Date(now - CLOCK_SKEW_MS),
    notAfter: new Date(now + NODE_VALIDITY_DAYS * DAY_MS),
    extensions: await leafExtensions(csr.publicKey, ca, x509.ExtendedKeyUsage.clientAuth),
  });
  return cert.toString('pem');
}

function verifyClientCert(ca: NodeX509Certificate, raw: string | Buffer): ClientCertVerdict {
  let cert: NodeX509Certificate;
  try {
    cert = new NodeX509Certificate(raw);
  } catch {
    return { ok: false, reason: 'certificate cannot be parsed' };
  }
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) {
    return { ok: false, reason: 'certificate is not issued by the cluster CA' };
  }
  const now = Date.now();
  if (now < Date.parse(cert.validFrom))
    return { ok: false, reason: 'certificate is not yet valid' };
  if (!(now <= Date.parse(cert.validTo))) return { ok: false, reason: 'certificate has expired' };
  if (cert.ca) return { ok: false, reason: 'a CA certificate cannot authenticate a client' };
  // Node's `keyUsage` lists the extended key usages; the serving certificate,
  // for one, lacks clientAuth and must not pass as a client.
  if (!(cert.keyUsage ?? []).includes(CLIENT_AUTH_OID)) {
    return { ok: false, reason: 'certificate is not for client authentication' };
  }
  const subject = new x509.X509Certificate(cert.raw).subjectName;
  const commonName = subject.getField('CN')[0];
  if (commonName === undefined || commonName === '') {
    return { ok: false, reason: 'certificate has no common name' };
  }
  const organization = subject.getField('O')[0];
  return organization === undefined
    ? { ok: true, commonName }
    : { ok: true, commonName, organization };
}

async function leafExtensions(
  publicKey: x509.PublicKeyType,
  ca: LoadedCa,
  usage: x509.ExtendedKeyUsage,
): Promise<x509.Extension[]> {
  return [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([usage], false),
    await x509.SubjectKeyIdentifierExtension.create(publicKey),
    await x509.AuthorityKeyIdentifierExtension.create(ca.cert.publicKey),
  ];
}

// The serving certificate's names: the operator's hosts, loopback (the local CLI
// and health checks), and the in-cluster service names. Sorted and de-duplicated
// so that the same set always yields the same certificate extension.
function servingSans(hosts: string[]): x509.JsonGeneralNames {
  const dns = new Set<string>(KUBERNETES_SERVICE_NAMES);
  const ips = new Set<string>();
  for (const raw of [...ALWAYS_SERVED_HOSTS, ...hosts]) {
    const host = raw.trim().toLowerCase();
    if (isIP(host) !== 0) ips.add(host);
    else if (isDnsName(host)) dns.add(host);
    else
      throw new PkiError('InvalidHost', `invalid host name or IP address ${JSON.stringify(raw)}`);
  }
  return [
    ...[...dns].sort().map((value) => ({ type: 'dns' as const, value })),
    ...[...ips].sort().map((value) => ({ type: 'ip' as const, value })),
  ];
}

// RFC 1123 host names, with one leading "*." label for wildcard certificates.
const DNS_NAME =
  /^(\*\.)?[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/;

function isDnsName(host: string): boolean {
  return host.length <= 253 && DNS_NAME.test(host);
}

function sameNames(a: x509.JsonGeneralNames, b: x509.JsonGeneralNames): boolean {
  // Compare through the library's own encoding of `b` so that IP spellings
  // ("::1" and "0::1") compare by value, as they are stored.
  const key = (n: x509.JsonGeneralName): string => `${n.type}:${n.value}`;
  const left = new Set(a.map(key));
  const right = new Set(new x509.GeneralNames(b).toJSON().map(key));
  return left.size === right.size && [...left].every((k) => right.has(k));
}

// Minimum strengths for keys we certify; the agent's own createCsr makes P-256.
function weakKeyReason(publicKey: x509.PublicKey): string | undefined {
  const key = createPublicKey({
    key: Buffer.from(publicKey.rawData),
    format: 'der',
    type: 'spki',
  });
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'ec':
      return details.namedCurve === 'prime256v1' || details.namedCurve === 'secp384r1'
        ? undefined
        : `unsupported elliptic curve ${details.namedCurve ?? 'unknown'}`;
    case 'rsa':
      return (details.modulusLength ?? 0) >= 2048 ? undefined : 'RSA key shorter than 2048 bits';
    case 'ed25519':
      return undefined;
    default:
      return `unsupported key type ${key.asymmetricKeyType ?? 'unknown'}`;
  }
}

function samePublicKey(a: KeyObject, b: KeyObject): boolean {
  return a
    .export({ type: 'spki', format: 'der' })
    .equals(b.export({ type: 'spki', format: 'der' }));
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
