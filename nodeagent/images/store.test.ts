// The store on synthetic layers built here with tar: digests are checked,
// and OCI whiteouts become overlayfs whiteouts that a real overlay mount of
// the two layer directories honours.

import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmod,
  chown,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ContentStore, ContentVerificationError } from './store.js';

const run = promisify(execFile);

let work: string;
beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'shoal-store-'));
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

const LONG_NAMES = Array.from({ length: 20 }, (_, i) => 'n'.repeat(84 + i));

const digestOf = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** Writes `files` (path → content; a trailing '/' makes a directory) and tars them. */
async function makeTar(
  name: string,
  files: Record<string, string>,
  prepare?: (dir: string) => Promise<void>,
): Promise<Buffer> {
  const dir = join(work, 'src', name);
  await mkdir(dir, { recursive: true });
  for (const [path, content] of Object.entries(files)) {
    if (path.endsWith('/')) await mkdir(join(dir, path), { recursive: true });
    else {
      await mkdir(join(dir, path, '..'), { recursive: true });
      await writeFile(join(dir, path), content);
    }
  }
  await prepare?.(dir);
  const out = join(work, `${name}.tar`);
  await run('tar', ['-C', dir, '--numeric-owner', '-cf', out, '.']);
  return readFile(out);
}

/** Stores `tar` gzip'd as a blob and unpacks it; returns the layer directory. */
async function addLayer(store: ContentStore, tar: Buffer): Promise<string> {
  const blob = gzipSync(tar);
  await store.putBlob(digestOf(blob), blob);
  return store.ensureLayer(digestOf(tar), digestOf(blob));
}

describe('ContentStore', () => {
  it('refuses a blob whose bytes do not hash to its digest', async () => {
    const store = await ContentStore.open(join(work, 'store'));
    const data = Buffer.from('hello');
    const wrong = digestOf(Buffer.from('other'));
    await expect(store.putBlob(wrong, data)).rejects.toBeInstanceOf(ContentVerificationError);
    expect(await store.hasBlob(wrong)).toBe(false);
    await expect(store.ensureBlob(digestOf(data), 4, async () => [data])).rejects.toThrow(
      /more than the 4 bytes/,
    );
    await expect(store.ensureBlob(digestOf(data), 9, async () => [data])).rejects.toThrow(
      /got 5 bytes, expected 9/,
    );
    expect(await readdir(join(work, 'store', 'tmp'))).toEqual([]);
  });

  it('refuses a layer whose uncompressed content is not its diff ID', async () => {
    const store = await ContentStore.open(join(work, 'store'));
    const tar = await makeTar('l', { 'a.txt': 'a' });
    const blob = gzipSync(tar);
    await store.putBlob(digestOf(blob), blob);
    const wrongDiffId = digestOf(Buffer.from('not the tar'));
    await expect(store.ensureLayer(wrongDiffId, digestOf(blob))).rejects.toThrow(
      /uncompressed content has digest/,
    );
    expect(await store.hasLayer(wrongDiffId)).toBe(false);
    expect(await readdir(join(work, 'store', 'tmp'))).toEqual([]);
  });

  it('unpacks an uncompressed layer too, and each layer once', async () => {
    const store = await ContentStore.open(join(work, 'store'));
    const tar = await makeTar('plain', { 'etc/motd': 'hi\n' });
    await store.putBlob(digestOf(tar), tar);
    const [a, b] = await Promise.all([
      store.ensureLayer(digestOf(tar), digestOf(tar)),
      store.ensureLayer(digestOf(tar), digestOf(tar)),
    ]);
    expect(a).toBe(b);
    expect(await readFile(join(a, 'etc', 'motd'), 'utf8')).toBe('hi\n');
  });

  it('turns OCI whiteouts into overlayfs whiteouts that an overlay mount honours', async () => {
    const store = await ContentStore.open(join(work, 'store'));
    const lower = await addLayer(
      store,
      await makeTar('lower', {
        'etc/keep': 'keep',
        'etc/gone': 'gone',
        'data/old1': 'old',
        'data/sub/old2': 'old',
        'empty/': '',
        ...Object.fromEntries(LONG_NAMES.map((n) => [`long/${n}`, 'x'])),
        'long/stays': 'x',
      }),
    );
    const upper = await addLayer(
      store,
      await makeTar(
        'upper',
        {
          'etc/.wh.gone': '',
          'data/.wh..wh..opq': '',
          'data/new': 'new',
          'added/.wh..wh..opq': '',
          // Names around 100 bytes: the PAX path record crosses a digit boundary.
          ...Object.fromEntries(LONG_NAMES.map((n) => [`long/.wh.${n}`, ''])),
        },
        async (dir) => {
          await chmod(join(dir, 'data'), 0o750);
          await chown(join(dir, 'data'), 1234, 5678);
        },
      ),
    );

    // The upper layer's own files: whiteout markers gone, a 0/0 device instead.
    expect((await readdir(join(upper, 'etc'))).sort()).toEqual(['gone']);
    const device = await lstat(join(upper, 'etc', 'gone'));
    expect(device.isCharacterDevice()).toBe(true);
    expect(device.rdev).toBe(0);
    expect((await readdir(join(upper, 'data'))).sort()).toEqual(['new']);
    // The opaque directory keeps its mode and owner.
    const data = await stat(join(upper, 'data'));
    expect([data.mode & 0o7777, data.uid, data.gid]).toEqual([0o750, 1234, 5678]);
    for (const n of LONG_NAMES)
      expect((await lstat(join(upper, 'long', n))).isCharacterDevice()).toBe(true);

    // Stacked as lowerdirs (highest first), as the runtime will.
    const mnt = join(work, 'mnt');
    await mkdir(mnt);
    await run('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${upper}:${lower}`, mnt]);
    try {
      expect((await readdir(join(mnt, 'etc'))).sort()).toEqual(['keep']);
      expect((await readdir(join(mnt, 'data'))).sort()).toEqual(['new']);
      expect(await readFile(join(mnt, 'data', 'new'), 'utf8')).toBe('new');
      expect((await readdir(mnt)).sort()).toEqual(['added', 'data', 'empty', 'etc', 'long']);
      expect(await readdir(join(mnt, 'long'))).toEqual(['stays']);
    } finally {
      await run('umount', [mnt]);
    }
  });
});
