import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PkiError } from './errors.js';
import { checkBearer, loadOrCreateTokens } from './tokens.js';

let dataDir: string;

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'shoal-tokens-'));
});

afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

describe('loadOrCreateTokens', () => {
  it('creates two distinct random tokens in pki/tokens.json, mode 0600', async () => {
    const tokens = await loadOrCreateTokens(dataDir);
    expect(tokens.adminToken).toMatch(/^[0-9a-f]{64}$/);
    expect(tokens.joinToken).toMatch(/^[0-9a-f]{64}$/);
    expect(tokens.adminToken).not.toBe(tokens.joinToken);

    const path = join(dataDir, 'pki', 'tokens.json');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual(tokens);
  });

  it('returns the same tokens on every later start', async () => {
    const first = await loadOrCreateTokens(dataDir);
    expect(await loadOrCreateTokens(dataDir)).toEqual(first);
    expect(await loadOrCreateTokens(dataDir)).toEqual(first);
  });

  it('differs between clusters', async () => {
    const otherDir = await mkdtemp(join(tmpdir(), 'shoal-tokens-other-'));
    try {
      const a = await loadOrCreateTokens(dataDir);
      const b = await loadOrCreateTokens(otherDir);
      expect(b.adminToken).not.toBe(a.adminToken);
      expect(b.joinToken).not.toBe(a.joinToken);
    } finally {
      await rm(otherDir, { recursive: true, force: true });
    }
  });

  it('reports a damaged file instead of minting new tokens', async () => {
    await loadOrCreateTokens(dataDir);
    const path = join(dataDir, 'pki', 'tokens.json');
    for (const content of ['{', '{"adminToken":"x"}', '[]']) {
      await writeFile(path, content);
      const err: unknown = await loadOrCreateTokens(dataDir).catch((e: unknown) => e);
      expect(err, content).toBeInstanceOf(PkiError);
      expect((err as PkiError).type).toBe('CorruptState');
    }
  });
});

describe('checkBearer', () => {
  const token = 'a'.repeat(64);
  const cases: [string, string | undefined, string, boolean][] = [
    ['matching token', `Bearer ${token}`, token, true],
    ['scheme in any case', `bearer ${token}`, token, true],
    ['several spaces after the scheme', `BEARER   ${token}`, token, true],
    ['missing header', undefined, token, false],
    ['empty header', '', token, false],
    ['other token', `Bearer ${'b'.repeat(64)}`, token, false],
    ['prefix of the token', `Bearer ${token.slice(0, 10)}`, token, false],
    ['token with extra text', `Bearer ${token}x`, token, false],
    ['two tokens', `Bearer ${token} ${token}`, token, false],
    ['other scheme', `Basic ${token}`, token, false],
    ['no scheme', token, token, false],
    ['scheme only', 'Bearer ', token, false],
    ['empty expected token', 'Bearer ', '', false],
    ['empty expected never matches', 'Bearer x', '', false],
  ];
  it.each(cases)('%s', (_name, header, expected, want) => {
    expect(checkBearer(header, expected)).toBe(want);
  });
});
