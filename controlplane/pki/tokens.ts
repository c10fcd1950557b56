// The cluster's two shared secrets: the admin bearer token (written into the admin
// kubeconfig) and the join token agents present once to get a node certificate.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { isRecord } from '../api/objects.js';
import { PkiError } from './errors.js';
import { readOptional, writeFileAtomic } from './files.js';

export interface ClusterTokens {
  adminToken: string;
  joinToken: string;
}

// 32 random bytes, hex: 256 bits, and safe to paste into a shell or a flag value
// (base64url could start with "-" and read as an option).
function newToken(): string {
  return randomBytes(32).toString('hex');
}

/**
 * Reads `<dataDir>/pki/tokens.json`, creating it (mode 0600) with fresh tokens on
 * first start. Tokens never change afterwards: agents and kubeconfigs hold them.
 */
export async function loadOrCreateTokens(dataDir: string): Promise<ClusterTokens> {
  const dir = join(dataDir, 'pki');
  const path = join(dir, 'tokens.json');
  const text = await readOptional(path);
  if (text !== undefined) return parseTokens(path, text);

  await mkdir(dir, { recursive: true, mode: 0o700 });
  const tokens: ClusterTokens = { adminToken: newToken(), joinToken: newToken() };
  await writeFileAtomic(path, JSON.stringify(tokens, null, 2) + '\n', 0o600);
  return tokens;
}

// A damaged file is an error, not a reason to mint new tokens: silently rotating
// them would lock out every agent and kubeconfig without saying why.
function parseTokens(path: string, text: string): ClusterTokens {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new PkiError('CorruptState', `${path} is not valid JSON`, { cause: err });
  }
  if (
    !isRecord(value) ||
    typeof value['adminToken'] !== 'string' ||
    value['adminToken'] === '' ||
    typeof value['joinToken'] !== 'string' ||
    value['joinToken'] === ''
  ) {
    throw new PkiError('CorruptState', `${path} must hold non-empty adminToken and joinToken`);
  }
  return { adminToken: value['adminToken'], joinToken: value['joinToken'] };
}

/**
 * True when an Authorization header is `Bearer <expected>`. The comparison takes
 * the same time wherever the tokens differ; an empty expected token matches nothing.
 */
export function checkBearer(header: string | undefined, expected: string): boolean {
  if (header === undefined || expected === '') return false;
  // RFC 7235: the scheme is case-insensitive; one or more spaces follow it.
  const match = /^bearer +(\S+) *$/i.exec(header);
  const presented = match?.[1];
  if (presented === undefined) return false;
  // timingSafeEqual needs equal lengths; comparing digests keeps the length of
  // the expected token from leaking through an early return.
  return timingSafeEqual(sha256(presented), sha256(expected));
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
