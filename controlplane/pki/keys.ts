// Key material helpers shared by the CA (control plane) and the CSR (agent) side.
// Every key is ECDSA P-256: small, fast to sign with, and accepted by Node's TLS,
// gRPC and kubectl alike.
import { webcrypto } from 'node:crypto';
import { x509 } from './x509.js';

export const EC_KEY_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' } as const;
export const EC_SIGNING_ALGORITHM = { name: 'ECDSA', hash: 'SHA-256' } as const;

/** A fresh extractable P-256 key pair (extractable so the private key can be saved). */
export async function generateKeyPair(): Promise<webcrypto.CryptoKeyPair> {
  return webcrypto.subtle.generateKey(EC_KEY_ALGORITHM, true, ['sign', 'verify']);
}

/** PKCS#8 PEM ("PRIVATE KEY"), the form Node's tls and grpc-js read directly. */
export async function privateKeyToPem(key: webcrypto.CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

/** Reads a PKCS#8 P-256 private key for signing; throws if it is anything else. */
export async function privateKeyFromPem(pem: string): Promise<webcrypto.CryptoKey> {
  const der = x509.PemConverter.decodeFirst(pem);
  return webcrypto.subtle.importKey('pkcs8', der, EC_KEY_ALGORITHM, true, ['sign']);
}
