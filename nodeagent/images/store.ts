// The agent's image store: content-addressed blobs, unpacked layers and one
// record per pulled image, under one root directory:
//
//   blobs/sha256/<hex>          manifests, configs, compressed layers
//   layers/sha256/<diff-id hex>/ a layer's tree, whiteouts in overlayfs form
//   images/<encoded ref>.json   what a reference resolved to when last pulled
//   tmp/                        work in progress; renamed into place when whole
//
// Nothing becomes visible under blobs/ or layers/ until it is complete and
// verified: blobs are hashed while they stream to a temp file, layers are
// hashed (diff ID) while they stream into tar, and only then renamed. So a
// crash leaves only litter in tmp/, which open() clears. Concurrent requests
// for the same blob or layer share one in-flight promise.

import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { convertWhiteouts } from './whiteouts.js';

const DIGEST_RE = /^sha256:([a-f0-9]{64})$/;
const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);

/** Content did not match its digest or size; never retried from the same bytes. */
export class ContentVerificationError extends Error {
  override readonly name = 'ContentVerificationError';
}

/** Source of a blob's bytes, opened only if the store does not have it yet. */
export type BlobSource = () => Promise<AsyncIterable<Uint8Array> | Iterable<Uint8Array>>;

export class ContentStore {
  private readonly blobsInFlight = new Map<string, Promise<void>>();
  private readonly layersInFlight = new Map<string, Promise<string>>();

  private constructor(readonly root: string) {}

  /** Opens (creating) the store at `root` and clears work left by a crash. */
  static async open(root: string): Promise<ContentStore> {
    await rm(join(root, 'tmp'), { recursive: true, force: true });
    for (const d of ['blobs/sha256', 'layers/sha256', 'images', 'tmp']) {
      await mkdir(join(root, d), { recursive: true });
    }
    return new ContentStore(root);
  }

  blobPath(digest: string): string {
    return join(this.root, 'blobs', 'sha256', hexOf(digest));
  }

  /** The directory a layer unpacks to, named by its diff ID (the digest of the uncompressed tar). */
  layerPath(diffId: string): string {
    return join(this.root, 'layers', 'sha256', hexOf(diffId));
  }

  async hasBlob(digest: string): Promise<boolean> {
    return exists(this.blobPath(digest));
  }

  async readBlob(digest: string): Promise<Buffer> {
    return readFile(this.blobPath(digest));
  }

  /**
   * Makes sure the blob `digest` of `size` bytes is stored: streams it from
   * `source` when absent, verifying size and sha256 on the way.
   */
  async ensureBlob(digest: string, size: number, source: BlobSource): Promise<void> {
    const running = this.blobsInFlight.get(digest);
    if (running) return running;
    // Registered before the first await, so a second caller finds it.
    const p = (async () => {
      if (!(await this.hasBlob(digest))) await this.writeBlob(digest, size, source);
    })().finally(() => this.blobsInFlight.delete(digest));
    this.blobsInFlight.set(digest, p);
    return p;
  }

  /** Stores bytes already in memory (a manifest), verified like any blob. */
  async putBlob(digest: string, data: Buffer): Promise<void> {
    await this.ensureBlob(digest, data.length, async () => [data]);
  }

  private async writeBlob(digest: string, size: number, source: BlobSource): Promise<void> {
    const tmp = this.tmpPath(`blob-${hexOf(digest)}`);
    const hash = createHash('sha256');
    let written = 0;
    const fh = await open(tmp, 'wx', 0o644);
    try {
      try {
        for await (const chunk of await source()) {
          written += chunk.length;
          // Stop a registry that sends more than the manifest promised.
          if (written > size)
            throw new ContentVerificationError(
              `blob ${digest}: more than the ${size} bytes expected`,
            );
          hash.update(chunk);
          await fh.write(chunk);
        }
        if (written !== size) {
          throw new ContentVerificationError(
            `blob ${digest}: got ${written} bytes, expected ${size}`,
          );
        }
        const actual = `sha256:${hash.digest('hex')}`;
        if (actual !== digest)
          throw new ContentVerificationError(`blob ${digest}: content has digest ${actual}`);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, this.blobPath(digest));
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  /**
   * Unpacks the stored blob `blobDigest` (tar, gzip'd or not) into the layer
   * directory for `diffId`, once, and returns that directory. The uncompressed
   * stream must hash to `diffId`.
   */
  async ensureLayer(diffId: string, blobDigest: string): Promise<string> {
    const running = this.layersInFlight.get(diffId);
    if (running) return running;
    const p = (async () => {
      const dir = this.layerPath(diffId);
      return (await exists(dir)) ? dir : this.unpackLayer(diffId, blobDigest, dir);
    })().finally(() => this.layersInFlight.delete(diffId));
    this.layersInFlight.set(diffId, p);
    return p;
  }

  async hasLayer(diffId: string): Promise<boolean> {
    return exists(this.layerPath(diffId));
  }

  private async unpackLayer(diffId: string, blobDigest: string, dir: string): Promise<string> {
    const tmp = this.tmpPath(`layer-${hexOf(diffId)}`);
    await mkdir(tmp, { mode: 0o755 });
    try {
      const actual = await untar(this.blobPath(blobDigest), tmp);
      if (actual !== diffId) {
        throw new ContentVerificationError(
          `layer ${blobDigest}: uncompressed content has digest ${actual}, not ${diffId}`,
        );
      }
      await convertWhiteouts(tmp);
      await rename(tmp, dir);
      return dir;
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      throw err;
    }
  }

  /** The record of what `name` (an image reference) resolved to; undefined if never pulled. */
  async readImage<T>(name: string): Promise<T | undefined> {
    try {
      return JSON.parse(await readFile(this.imagePath(name), 'utf8')) as T;
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return undefined;
      throw err;
    }
  }

  async writeImage(name: string, record: unknown): Promise<void> {
    const tmp = this.tmpPath('image');
    await writeFile(tmp, JSON.stringify(record, null, 2) + '\n', { mode: 0o644 });
    await rename(tmp, this.imagePath(name));
  }

  private imagePath(name: string): string {
    // encodeURIComponent leaves no '/' and keeps names readable in `ls`.
    return join(this.root, 'images', `${encodeURIComponent(name)}.json`);
  }

  private tmpPath(prefix: string): string {
    return join(this.root, 'tmp', `${prefix}-${randomBytes(6).toString('hex')}`);
  }
}

/**
 * Streams `blob` through gunzip (when it starts with gzip's magic) and a
 * sha256 into `tar -x` in `dir`; resolves to the diff ID it hashed.
 * GNU tar as root keeps owners and modes, refuses `..` members and defers
 * symlinks that point outside, so a layer cannot write outside `dir`.
 */
async function untar(blob: string, dir: string): Promise<string> {
  const magic = await firstBytes(blob, 4);
  if (magic.equals(ZSTD_MAGIC)) throw new Error('zstd-compressed layers are not supported yet');
  const gzip = magic[0] === 0x1f && magic[1] === 0x8b;
  const hash = createHash('sha256');
  const hasher = new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
      hash.update(chunk);
      cb(null, chunk);
    },
  });
  const args = ['-x', '-f', '-', '-C', dir, '--numeric-owner', '--same-owner', '-p'];
  // File capabilities (ping's cap_net_raw) travel as xattrs; nothing else
  // does, so a layer cannot plant overlay.* attributes of its own.
  args.push('--xattrs', '--xattrs-include=security.capability');
  const tar = spawn('tar', args, { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  tar.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-2000)));
  const exited = new Promise<number | null>((resolve, reject) => {
    tar.on('error', reject);
    tar.on('close', resolve);
  });
  const stages = [
    createReadStream(blob),
    ...(gzip ? [createGunzip()] : []),
    hasher,
    tar.stdin,
  ] as const;
  const piped = pipeline(stages).then(
    () => undefined,
    (err: unknown) => (err instanceof Error ? err : new Error(String(err))),
  );
  const [pipeErr, code] = await Promise.all([piped, exited]);
  if (code !== 0) throw new Error(`tar exited ${code}: ${stderr.trim()}`);
  if (pipeErr) {
    // tar stops reading at the archive's end marker; bytes after it never
    // reached the hasher, so hash the whole content in a second pass.
    const closedEarly =
      /premature close|EPIPE/i.test(pipeErr.message) ||
      (pipeErr as NodeJS.ErrnoException).code === 'EPIPE';
    if (!closedEarly) throw pipeErr;
    const full = createHash('sha256');
    const content = gzip ? createReadStream(blob).pipe(createGunzip()) : createReadStream(blob);
    for await (const chunk of content) full.update(chunk as Buffer);
    return `sha256:${full.digest('hex')}`;
  }
  return `sha256:${hash.digest('hex')}`;
}

async function firstBytes(path: string, n: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(n);
    const { bytesRead } = await fh.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

function hexOf(digest: string): string {
  const m = DIGEST_RE.exec(digest);
  if (!m?.[1]) throw new ContentVerificationError(`unsupported digest ${digest}`);
  return m[1];
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return false;
    throw err;
  }
}

function isErrno(err: unknown, code: string): boolean {
  return err instanceof Error && (err as NodeJS.ErrnoException).code === code;
}
