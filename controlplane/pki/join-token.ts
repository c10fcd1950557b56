// The join token agents are given: `K10<sha256 of the CA certificate>::<secret>`,
// the k3s format. The hash lets an agent that has never seen the cluster CA
// check that the server it dials is the right one before it sends the secret.

import { createHash, X509Certificate } from 'node:crypto';

const PREFIX = 'K10';

export function caHash(caCertPem: string): string {
  return createHash('sha256').update(new X509Certificate(caCertPem).raw).digest('hex');
}

export function formatJoinToken(caCertPem: string, secret: string): string {
  return `${PREFIX}${caHash(caCertPem)}::${secret}`;
}

export interface ParsedJoinToken {
  caHash?: string;
  secret: string;
}

/** Accepts the full token or the bare secret (then the CA must come from elsewhere). */
export function parseJoinToken(token: string): ParsedJoinToken {
  const m = /^K10([0-9a-f]{64})::(.+)$/.exec(token.trim());
  if (m) return { caHash: m[1]!, secret: m[2]! };
  return { secret: token.trim() };
}
