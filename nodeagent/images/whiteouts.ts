// OCI layer whiteouts → overlayfs whiteouts, in an unpacked layer directory,
// so that layer directories stack unchanged as overlay lowerdirs:
//   <dir>/.wh.<name>      → <dir>/<name> as a character device 0/0
//   <dir>/.wh..wh..opq    → the xattr trusted.overlay.opaque="y" on <dir>
// (Any other `.wh..wh.*` entry is AUFS bookkeeping and is dropped.)
//
// Node cannot set extended attributes and the machine has no setfattr, but
// GNU tar can: the devices and the opaque markers are written as a small PAX
// archive and extracted over the layer with --xattrs. The opaque directory's
// own entry carries its current mode, owner and mtime, so nothing else about
// it changes.

import { spawn } from 'node:child_process';
import { lstat, readdir, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

const WHITEOUT_PREFIX = '.wh.';
const OPAQUE_MARKER = '.wh..wh..opq';
const AUFS_META_PREFIX = '.wh..wh.';

export interface WhiteoutCounts {
  whiteouts: number;
  opaqueDirs: number;
}

interface Entry {
  kind: 'whiteout' | 'opaque';
  /** Relative to the layer root, "." for the root itself. */
  path: string;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
}

/** Rewrites the OCI whiteout files under `dir` (an unpacked layer) in overlayfs form. */
export async function convertWhiteouts(dir: string): Promise<WhiteoutCounts> {
  // recursive readdir does not follow symlinks, so every hit lies inside `dir`.
  const names = await readdir(dir, { recursive: true });
  const entries: Entry[] = [];
  for (const rel of names) {
    const base = basename(rel);
    if (!base.startsWith(WHITEOUT_PREFIX)) continue;
    const parent = dirname(rel);
    await unlink(join(dir, rel));
    if (base === OPAQUE_MARKER) {
      const st = await lstat(join(dir, parent));
      entries.push({
        kind: 'opaque',
        path: parent,
        mode: st.mode & 0o7777,
        uid: st.uid,
        gid: st.gid,
        mtime: Math.floor(st.mtimeMs / 1000),
      });
    } else if (!base.startsWith(AUFS_META_PREFIX)) {
      const name = base.slice(WHITEOUT_PREFIX.length);
      entries.push({
        kind: 'whiteout',
        path: join(parent, name),
        mode: 0,
        uid: 0,
        gid: 0,
        mtime: 0,
      });
    }
  }
  if (entries.length > 0) await extract(dir, pax(entries));
  return {
    whiteouts: entries.filter((e) => e.kind === 'whiteout').length,
    opaqueDirs: entries.filter((e) => e.kind === 'opaque').length,
  };
}

async function extract(dir: string, archive: Buffer): Promise<void> {
  const args = ['-x', '-f', '-', '-C', dir, '--numeric-owner', '--same-owner', '-p'];
  args.push('--xattrs', '--xattrs-include=trusted.overlay.*');
  await new Promise<void>((resolve, reject) => {
    const tar = spawn('tar', args, { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    tar.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    tar.on('error', reject);
    tar.on('close', (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`tar (whiteouts) exited ${code}: ${stderr.trim()}`)),
    );
    tar.stdin.on('error', () => undefined); // a dying tar reports through 'close'
    tar.stdin.end(archive);
  });
}

/** A PAX archive holding one entry per whiteout: path, owner and xattr in extended headers. */
function pax(entries: Entry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const records: Record<string, string> = {
      path: e.path,
      uid: String(e.uid),
      gid: String(e.gid),
    };
    if (e.kind === 'opaque') records['SCHILY.xattr.trusted.overlay.opaque'] = 'y';
    const ext = Buffer.from(
      Object.entries(records)
        .map(([k, v]) => paxRecord(k, v))
        .join(''),
    );
    blocks.push(
      header({ name: 'PaxHeader', type: 'x', size: ext.length, mode: 0o644, mtime: e.mtime }),
    );
    blocks.push(ext, Buffer.alloc(padding(ext.length)));
    blocks.push(
      header({
        // The PAX path overrides this; keep the ustar field short and valid.
        name: e.path.slice(0, 99),
        type: e.kind === 'opaque' ? '5' : '3',
        size: 0,
        mode: e.mode,
        mtime: e.mtime,
      }),
    );
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

/** "<len> key=value\n", where len counts the whole record including its own digits. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  const bodyLen = Buffer.byteLength(body);
  let digits = String(bodyLen).length;
  if (String(bodyLen + digits).length > digits) digits += 1;
  return `${bodyLen + digits}${body}`;
}

function header(h: {
  name: string;
  type: string;
  size: number;
  mode: number;
  mtime: number;
}): Buffer {
  const b = Buffer.alloc(512);
  b.write(h.name, 0, 100, 'utf8');
  octal(b, h.mode, 100, 8);
  octal(b, 0, 108, 8); // uid/gid: the PAX records carry the real values
  octal(b, 0, 116, 8);
  octal(b, h.size, 124, 12);
  octal(b, h.mtime, 136, 12);
  b.write(h.type, 156, 1, 'ascii');
  b.write('ustar\u000000', 257, 8, 'binary');
  octal(b, 0, 329, 8); // devmajor
  octal(b, 0, 337, 8); // devminor
  b.fill(' ', 148, 156);
  let sum = 0;
  for (const byte of b) sum += byte;
  b.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 8, 'binary');
  return b;
}

function octal(b: Buffer, value: number, offset: number, width: number): void {
  b.write(`${value.toString(8).padStart(width - 1, '0')}\u0000`, offset, width, 'ascii');
}

function padding(n: number): number {
  return (512 - (n % 512)) % 512;
}
