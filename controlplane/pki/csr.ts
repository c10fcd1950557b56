// The agent side of joining: a fresh key and a certificate signing request for
// system:node:<nodeName>. The private key never leaves the agent's host.
import { x509 } from './x509.js';
import { EC_SIGNING_ALGORITHM, generateKeyPair, privateKeyToPem } from './keys.js';
import { PkiError } from './errors.js';
import { NODE_ORGANIZATION, isValidNodeName, nodeCommonName } from './names.js';

export interface NodeCsr {
  /** PKCS#10 request, PEM ("CERTIFICATE REQUEST"), to send to the control plane. */
  csrPem: string;
  /** The matching PKCS#8 private key, PEM; keep it 0600 on the agent's host. */
  keyPem: string;
}

/** Creates a P-256 key and a CSR with CN `system:node:<nodeName>`, O `system:nodes`. */
export async function createCsr(nodeName: string): Promise<NodeCsr> {
  if (!isValidNodeName(nodeName)) {
    throw new PkiError('InvalidNodeName', `invalid node name ${JSON.stringify(nodeName)}`);
  }
  const keys = await generateKeyPair();
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    // JSON form, not a "CN=…" string, so no part of the name is parsed as syntax.
    name: [{ CN: [nodeCommonName(nodeName)] }, { O: [NODE_ORGANIZATION] }],
    keys,
    signingAlgorithm: EC_SIGNING_ALGORITHM,
  });
  return { csrPem: csr.toString('pem'), keyPem: await privateKeyToPem(keys.privateKey) };
}
