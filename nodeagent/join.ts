// Joining: once per agent, the join token and a CSR become a node certificate
// signed by the cluster CA, kept in the agent's data directory. The token
// carries the CA's hash, so before the secret is sent the agent checks that
// the server presents a certificate chain ending in that very CA.

import { X509Certificate, createHash } from 'node:crypto';
import { connect, type DetailedPeerCertificate } from 'node:tls';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { credentials, type ChannelCredentials } from '@grpc/grpc-js';
import { loadAgentProtocol } from '../proto/load.js';
import type { JoinResponse__Output } from '../proto/generated/shoal/agent/v1/JoinResponse.js';
import { createCsr } from '../controlplane/pki/csr.js';
import { parseJoinToken } from '../controlplane/pki/join-token.js';

/** The name every serving certificate carries, so agents need not know which address they dial. */
export const SERVER_NAME = 'kubernetes';

export interface NodeCredentials {
  certPem: string;
  keyPem: string;
  caPem: string;
}

export class JoinError extends Error {
  override readonly name = 'JoinError';
}

function paths(dataDir: string): { dir: string; cert: string; key: string; ca: string } {
  const dir = join(dataDir, 'pki');
  return { dir, cert: join(dir, 'node.crt'), key: join(dir, 'node.key'), ca: join(dir, 'ca.crt') };
}

async function readIfPresent(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

export async function loadNodeCredentials(dataDir: string): Promise<NodeCredentials | undefined> {
  const p = paths(dataDir);
  const [certPem, keyPem, caPem] = await Promise.all([
    readIfPresent(p.cert),
    readIfPresent(p.key),
    readIfPresent(p.ca),
  ]);
  return certPem && keyPem && caPem ? { certPem, keyPem, caPem } : undefined;
}

/** gRPC credentials for a server verified against the cluster CA, optionally with our node certificate. */
export function channelCredentials(
  caPem: string,
  node?: { certPem: string; keyPem: string },
): ChannelCredentials {
  return credentials.createSsl(
    Buffer.from(caPem),
    node ? Buffer.from(node.keyPem) : null,
    node ? Buffer.from(node.certPem) : null,
  );
}

export const CHANNEL_OPTIONS = {
  'grpc.ssl_target_name_override': SERVER_NAME,
  'grpc.default_authority': SERVER_NAME,
  'grpc.keepalive_time_ms': 20_000,
  'grpc.keepalive_timeout_ms': 10_000,
  'grpc.keepalive_permit_without_calls': 1,
};

/**
 * Reads the server's certificate chain without trusting it yet and returns
 * the CA certificate whose hash the token names, once it is shown to have
 * issued the server's certificate.
 */
export async function discoverCa(server: string, expectedHash: string): Promise<string> {
  const [host, portText] = splitHostPort(server);
  const chain = await new Promise<DetailedPeerCertificate>((resolve, reject) => {
    const socket = connect(
      {
        host,
        port: Number(portText),
        rejectUnauthorized: false,
        ALPNProtocols: ['h2'],
        servername: SERVER_NAME,
      },
      () => {
        const cert = socket.getPeerCertificate(true);
        socket.destroy();
        resolve(cert);
      },
    );
    socket.setTimeout(10_000, () => socket.destroy(new JoinError(`no TLS answer from ${server}`)));
    socket.on('error', (err) => reject(new JoinError(`cannot reach ${server}: ${err.message}`)));
  });
  const certs: DetailedPeerCertificate[] = [];
  for (
    let c: DetailedPeerCertificate | undefined = chain;
    c && !certs.includes(c);
    c = c.issuerCertificate
  )
    certs.push(c);
  const ca = certs.find(
    (c) => c.raw && createHash('sha256').update(c.raw).digest('hex') === expectedHash,
  );
  if (!ca)
    throw new JoinError(
      `the server at ${server} does not present the cluster CA named in the join token`,
    );
  const caCert = new X509Certificate(ca.raw);
  const leaf = new X509Certificate(chain.raw);
  if (!leaf.checkIssued(caCert) || !leaf.verify(caCert.publicKey)) {
    throw new JoinError(
      `the server at ${server} presents a certificate not issued by the cluster CA`,
    );
  }
  return caCert.toString();
}

/**
 * Returns the node's credentials, joining first when the data directory has
 * none. Nothing is written unless the join succeeds.
 */
export async function ensureNodeCredentials(opts: {
  dataDir: string;
  server: string;
  token: string;
  nodeName: string;
  caPem?: string;
}): Promise<NodeCredentials> {
  const existing = await loadNodeCredentials(opts.dataDir);
  if (existing) return existing;
  const token = parseJoinToken(opts.token);
  let caPem = opts.caPem;
  if (!caPem) {
    if (!token.caHash) {
      throw new JoinError(
        'the join token has no CA hash: use the whole token `shoal controlplane token` prints',
      );
    }
    caPem = await discoverCa(opts.server, token.caHash);
  }
  const csr = await createCsr(opts.nodeName);
  const proto = loadAgentProtocol().shoal.agent.v1;
  const client = new proto.Join(opts.server, channelCredentials(caPem), CHANNEL_OPTIONS);
  let res: JoinResponse__Output;
  try {
    res = await new Promise<JoinResponse__Output>((resolve, reject) => {
      client.Join(
        { token: opts.token, node_name: opts.nodeName, csr_pem: csr.csrPem },
        { deadline: Date.now() + 15_000 },
        (err, out) =>
          err || !out ? reject(new JoinError(err?.details || 'join failed')) : resolve(out),
      );
    });
  } finally {
    client.close();
  }
  const p = paths(opts.dataDir);
  await mkdir(p.dir, { recursive: true, mode: 0o700 });
  // Write each file beside its final name, then rename all: a crash leaves no half set.
  const files: [string, string, number][] = [
    [p.key, csr.keyPem, 0o600],
    [p.ca, res.ca_pem || caPem, 0o644],
    [p.cert, res.certificate_pem, 0o644],
  ];
  for (const [path, data, mode] of files) await writeFile(`${path}.tmp`, data, { mode });
  for (const [path] of files) await rename(`${path}.tmp`, path);
  return { certPem: res.certificate_pem, keyPem: csr.keyPem, caPem: res.ca_pem || caPem };
}

export function splitHostPort(server: string): [string, string] {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(server);
  if (!m) throw new JoinError(`--server: expected HOST:PORT, got "${server}"`);
  return [m[1]!, m[2]!];
}
