// Image garbage collection, as the kubelet's image GC manager does it: when
// the filesystem holding the image store is fuller than the high threshold
// (--image-gc-high-threshold, default 85%), remove images no pod on this
// node uses, least recently used first, until the usage would be below the
// low threshold (--image-gc-low-threshold, 80%). An image is removed with
// everything only it referenced: its records, blobs and unpacked layers;
// layers and blobs no image references at all (left by an interrupted
// pull, or by a tag that moved) go on every run.
//
// planImageGc is the decision, a pure function; ImageGc gathers its input
// from disk, runs it every few minutes (and on demand), and deletes while
// the puller holds new pulls back (ImagePuller.exclusive), so nothing a pull
// is writing or about to reuse disappears under it.

import { lstat, readdir, readFile, rm, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { ImagePuller } from './puller.js';
import { formatImageReference, parseImageReference } from './reference.js';

// ---- the decision ----

export interface GcImage {
  /** The image ID (its config digest); records naming the same ID are one image. */
  id: string;
  /** When a container last used it, or it was pulled (ms since the epoch). */
  lastUsed: number;
  inUse: boolean;
  /** Keys of the blobs and layers it references ("blob:sha256:…", "layer:sha256:…"). */
  content: string[];
}

export interface GcInput {
  capacityBytes: number;
  availableBytes: number;
  highThresholdPercent: number;
  lowThresholdPercent: number;
  images: GcImage[];
  /** Bytes each content key takes on disk; unknown keys count 0. */
  contentBytes: ReadonlyMap<string, number>;
}

export interface GcPlan {
  usagePercent: number;
  /** What the low threshold asks to free (0 when under the high threshold). */
  bytesToFree: number;
  /** Image IDs to remove, in order. */
  remove: string[];
  /** Bytes those removals free: content no remaining image references. */
  freedBytes: number;
}

/**
 * Which images to remove. Nothing when usage is below the high threshold
 * (100 turns GC off); otherwise unused images, least recently used first
 * (then by ID, for a stable order), until the freed bytes reach what brings
 * usage down to the low threshold. Content shared with an image that stays
 * frees nothing.
 */
export function planImageGc(input: GcInput): GcPlan {
  const cap = input.capacityBytes;
  const usagePercent = cap > 0 ? ((cap - input.availableBytes) / cap) * 100 : 0;
  const none = { usagePercent, bytesToFree: 0, remove: [], freedBytes: 0 };
  if (cap <= 0 || input.highThresholdPercent >= 100 || usagePercent < input.highThresholdPercent)
    return none;
  const bytesToFree = Math.max(
    0,
    (cap * (100 - input.lowThresholdPercent)) / 100 - input.availableBytes,
  );
  const refs = new Map<string, number>();
  for (const img of input.images)
    for (const c of new Set(img.content)) refs.set(c, (refs.get(c) ?? 0) + 1);
  const candidates = input.images
    .filter((i) => !i.inUse)
    .sort((a, b) => a.lastUsed - b.lastUsed || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const remove: string[] = [];
  let freedBytes = 0;
  for (const img of candidates) {
    if (freedBytes >= bytesToFree) break;
    remove.push(img.id);
    for (const c of new Set(img.content)) {
      const n = (refs.get(c) ?? 0) - 1;
      refs.set(c, n);
      if (n === 0) freedBytes += input.contentBytes.get(c) ?? 0;
    }
  }
  return { usagePercent, bytesToFree, remove, freedBytes };
}

// ---- the collector ----

/** The fields of an image record (puller.ts) that GC reads. */
interface StoredImage {
  ref: string;
  digest: string;
  manifestDigest: string;
  configDigest: string;
  layers: { digest: string; diffId: string }[];
  pulledAt: string;
}

export interface ImagesInUse {
  /** Image IDs (config digests) of containers that exist on the node. */
  ids: Iterable<string>;
  /** Image references pods on the node name (they may start containers from them at any time). */
  refs: Iterable<string>;
}

export interface ImageGcOptions {
  /** The image store's root (the puller's root). */
  root: string;
  puller: ImagePuller;
  inUse: () => ImagesInUse;
  highThresholdPercent?: number;
  lowThresholdPercent?: number;
  /** Default 5 minutes, as the kubelet. */
  intervalMs?: number;
  /** The filesystem's size and free bytes; statfs of the root by default. */
  usage?: (root: string) => Promise<{ capacityBytes: number; availableBytes: number }>;
  now?: () => number;
  logger?: Logger;
}

export interface GcResult extends GcPlan {
  /** Image records deleted (references and digests). */
  removedRecords: string[];
  removedBlobs: number;
  removedLayers: number;
}

/** Checks the thresholds as the kubelet's flags are checked; returns a message or undefined. */
export function validateGcThresholds(high: number, low: number): string | undefined {
  for (const [flag, v] of [
    ['--image-gc-high-threshold', high],
    ['--image-gc-low-threshold', low],
  ] as const) {
    if (!Number.isInteger(v) || v < 0 || v > 100)
      return `${flag}: must be a whole percentage from 0 to 100, got ${v}`;
  }
  if (low > high)
    return `--image-gc-low-threshold (${low}) must not be greater than --image-gc-high-threshold (${high})`;
  return undefined;
}

export class ImageGc {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<GcResult> | undefined;
  /** Last time each image ID was seen in use, kept across runs (the kubelet keeps it in memory too). */
  private readonly lastUsed = new Map<string, number>();
  readonly high: number;
  readonly low: number;

  constructor(private readonly opts: ImageGcOptions) {
    this.high = opts.highThresholdPercent ?? 85;
    this.low = opts.lowThresholdPercent ?? 80;
    const invalid = validateGcThresholds(this.high, this.low);
    if (invalid) throw new Error(invalid);
  }

  start(): void {
    this.timer = setInterval(
      () => {
        this.run().catch((err: unknown) => this.opts.logger?.warn({ err }, 'image GC failed'));
      },
      this.opts.intervalMs ?? 5 * 60_000,
    );
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** One collection now (or the one in progress). */
  run(): Promise<GcResult> {
    this.running ??= this.opts.puller
      .exclusive(() => this.collect())
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  private async collect(): Promise<GcResult> {
    const now = (this.opts.now ?? Date.now)();
    const root = this.opts.root;
    const records = await readRecords(join(root, 'images'));
    const inUse = this.opts.inUse();
    const usedIds = new Set(inUse.ids);
    const usedRefs = new Set<string>();
    for (const r of inUse.refs) {
      try {
        usedRefs.add(formatImageReference(parseImageReference(r)));
      } catch {
        // An unparsable reference names no stored image.
      }
    }
    for (const { name, record } of records)
      if (usedRefs.has(name) || usedRefs.has(record.ref)) usedIds.add(record.configDigest);

    const byId = new Map<string, { names: string[]; content: Set<string>; pulledAt: number }>();
    for (const { name, record } of records) {
      const e = byId.get(record.configDigest) ?? {
        names: [],
        content: new Set<string>(),
        pulledAt: 0,
      };
      e.names.push(name);
      for (const c of contentOf(record)) e.content.add(c);
      e.pulledAt = Math.max(e.pulledAt, Date.parse(record.pulledAt) || 0);
      byId.set(record.configDigest, e);
    }
    for (const id of usedIds) if (byId.has(id)) this.lastUsed.set(id, now);
    const images: GcImage[] = [...byId].map(([id, e]) => ({
      id,
      lastUsed: Math.max(this.lastUsed.get(id) ?? 0, e.pulledAt),
      inUse: usedIds.has(id),
      content: [...e.content],
    }));

    const usage = await (this.opts.usage ?? statfsUsage)(root);
    const rough = planImageGc({
      ...usage,
      highThresholdPercent: this.high,
      lowThresholdPercent: this.low,
      images,
      contentBytes: new Map(),
    });
    // Sizes are measured only when something has to go (walking layers is not free).
    let plan = rough;
    if (rough.bytesToFree > 0) {
      const contentBytes = new Map<string, number>();
      for (const img of images)
        for (const c of img.content)
          if (!contentBytes.has(c)) contentBytes.set(c, await diskBytes(contentPath(root, c)));
      plan = planImageGc({
        ...usage,
        highThresholdPercent: this.high,
        lowThresholdPercent: this.low,
        images,
        contentBytes,
      });
    }

    const removedRecords: string[] = [];
    for (const id of plan.remove) {
      for (const name of byId.get(id)?.names ?? []) {
        await rm(join(root, 'images', `${encodeURIComponent(name)}.json`), { force: true });
        removedRecords.push(name);
      }
      this.lastUsed.delete(id);
    }
    // Whatever the remaining records do not reference goes, removed images' or not.
    const kept = new Set<string>();
    const removed = new Set(plan.remove);
    for (const [id, e] of byId) if (!removed.has(id)) for (const c of e.content) kept.add(c);
    const removedBlobs = await sweep(join(root, 'blobs', 'sha256'), 'blob', kept);
    const removedLayers = await sweep(join(root, 'layers', 'sha256'), 'layer', kept);
    const result = { ...plan, removedRecords, removedBlobs, removedLayers };
    if (plan.remove.length > 0 || removedBlobs + removedLayers > 0)
      this.opts.logger?.info(
        {
          usagePercent: Math.round(plan.usagePercent),
          images: plan.remove,
          freedBytes: plan.freedBytes,
          removedBlobs,
          removedLayers,
        },
        'image garbage collected',
      );
    return result;
  }
}

function contentOf(r: StoredImage): string[] {
  return [
    `blob:${r.digest}`,
    `blob:${r.manifestDigest}`,
    `blob:${r.configDigest}`,
    ...r.layers.flatMap((l) => [`blob:${l.digest}`, `layer:${l.diffId}`]),
  ];
}

function contentPath(root: string, key: string): string {
  const [kind, digest = ''] = key.split(/:(.*)/s);
  const hex = digest.replace(/^sha256:/, '');
  return join(root, kind === 'layer' ? 'layers' : 'blobs', 'sha256', hex);
}

async function readRecords(dir: string): Promise<{ name: string; record: StoredImage }[]> {
  const out: { name: string; record: StoredImage }[] = [];
  for (const f of await readdir(dir).catch(() => [] as string[])) {
    if (!f.endsWith('.json')) continue;
    try {
      const record = JSON.parse(await readFile(join(dir, f), 'utf8')) as StoredImage;
      if (typeof record.configDigest === 'string' && Array.isArray(record.layers))
        out.push({ name: decodeURIComponent(f.slice(0, -'.json'.length)), record });
    } catch {
      // A record being replaced right now (write + rename) or damaged: skip it this round.
    }
  }
  return out;
}

/** Removes entries of dir (blob files or layer trees) whose key is not kept; returns how many. */
async function sweep(dir: string, kind: 'blob' | 'layer', kept: Set<string>): Promise<number> {
  let n = 0;
  for (const hex of await readdir(dir).catch(() => [] as string[])) {
    if (kept.has(`${kind}:sha256:${hex}`)) continue;
    await rm(join(dir, hex), { recursive: true, force: true });
    n++;
  }
  return n;
}

/** Bytes a file or tree takes on disk (allocated blocks, hard links counted once per walk). */
async function diskBytes(path: string): Promise<number> {
  let total = 0;
  const seen = new Set<string>();
  const walk = async (p: string): Promise<void> => {
    const st = await lstat(p).catch(() => undefined);
    if (!st) return;
    const key = `${st.dev}:${st.ino}`;
    if (seen.has(key)) return;
    seen.add(key);
    total += st.blocks * 512;
    if (st.isDirectory())
      for (const e of await readdir(p).catch(() => [] as string[])) await walk(join(p, e));
  };
  await walk(path);
  return total;
}

async function statfsUsage(
  root: string,
): Promise<{ capacityBytes: number; availableBytes: number }> {
  const s = await statfs(root);
  return { capacityBytes: s.blocks * s.bsize, availableBytes: s.bavail * s.bsize };
}
