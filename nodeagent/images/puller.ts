// Pulls an image into the agent's store: resolve the reference to a manifest
// (choosing this machine's platform from an index), fetch the config and the
// layers that are not stored yet, unpack each layer once, and record what the
// reference resolved to. The result names the layer directories that the
// runtime stacks as an overlayfs rootfs.
//
// Concurrent pulls of one reference share one promise; concurrent pulls of
// different images that share layers share each blob download and unpack
// (the store deduplicates those).

import type { Logger } from 'pino';
import { isRecord } from '../../controlplane/api/objects.js';
import { ImagePullError } from './errors.js';
import {
  formatImageReference,
  manifestReferenceOf,
  parseImageReference,
  repositoryOf,
} from './reference.js';
import {
  currentPlatform,
  formatPlatform,
  RegistryClient,
  selectPlatform,
  type Descriptor,
  type ImageManifest,
  type RegistryAuth,
} from './registry-client.js';
import { ContentStore } from './store.js';

/** The part of an image's config that decides how its containers run. */
export interface OciImageConfig {
  Entrypoint?: string[];
  Cmd?: string[];
  Env?: string[];
  WorkingDir?: string;
  User?: string;
  StopSignal?: string;
}

export interface PulledImage {
  /** The fully qualified reference: "docker.io/library/busybox:latest". */
  ref: string;
  /** Digest of what the reference resolved to (an index for multi-platform images). */
  digest: string;
  /** Digest of the config blob: the image ID, as Docker counts it. */
  configDigest: string;
  config: OciImageConfig;
  /** Unpacked layers, lowest (base) first; overlayfs' lowerdir wants them reversed. */
  layerDirs: string[];
  /** Bytes fetched from the registry for this image: config plus compressed layers. */
  size: number;
}

export interface ImagePullerOptions {
  /** The store's root directory (blobs/, layers/, images/ below it). */
  root: string;
  /** Registry hosts ("127.0.0.1:5000") reached over plain HTTP. */
  insecureRegistries?: string[];
  logger?: Logger;
  /** Layers downloaded at once per pull (Docker's default is 3). */
  maxConcurrentDownloads?: number;
}

export interface PullOptions {
  auth?: RegistryAuth;
}

/** What the store keeps per reference; PulledImage is derived from it. */
interface ImageRecord {
  ref: string;
  digest: string;
  manifestDigest: string;
  configDigest: string;
  config: OciImageConfig;
  layers: { digest: string; diffId: string; size: number }[];
  size: number;
  pulledAt: string;
}

export class ImagePuller {
  private storePromise: Promise<ContentStore> | undefined;
  private readonly pulls = new Map<string, Promise<PulledImage>>();
  /** Pulls in progress, and a garbage collection that holds new ones back (gc.ts). */
  private active = 0;
  private readonly idle: (() => void)[] = [];
  private collecting: Promise<unknown> | undefined;

  constructor(private readonly opts: ImagePullerOptions) {}

  /**
   * Resolves `ref` at its registry and makes its layers present locally.
   * Throws ImagePullError (reason ErrImagePull, or InvalidImageName for a
   * reference that cannot be parsed).
   */
  async pull(ref: string, opts: PullOptions = {}): Promise<PulledImage> {
    const canonical = formatImageReference(parseImageReference(ref));
    // Keyed by credentials too: a pull without them must not ride on one with them.
    const key = `${canonical}\u0000${opts.auth?.username ?? ''}`;
    const running = this.pulls.get(key);
    if (running) return running;
    const p = this.afterCollection(() => this.doPull(ref, opts)).finally(() =>
      this.pulls.delete(key),
    );
    this.pulls.set(key, p);
    return p;
  }

  /**
   * Runs fn (image GC) once no pull is in progress, and holds pulls that
   * start meanwhile until it is done: a pull's layers are unpacked before its
   * record is written, and GC would take them for litter.
   */
  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    while (this.collecting) await this.collecting.catch(() => undefined);
    const run = (async () => {
      while (this.active > 0) await new Promise<void>((r) => this.idle.push(r));
      return fn();
    })();
    this.collecting = run;
    try {
      return await run;
    } finally {
      if (this.collecting === run) this.collecting = undefined;
    }
  }

  private async afterCollection<T>(fn: () => Promise<T>): Promise<T> {
    while (this.collecting) await this.collecting.catch(() => undefined);
    this.active++;
    try {
      return await fn();
    } finally {
      if (--this.active === 0) for (const wake of this.idle.splice(0)) wake();
    }
  }

  /** The image `ref` last resolved to, if it was pulled and its layers are all present. */
  async has(ref: string): Promise<PulledImage | undefined> {
    const canonical = formatImageReference(parseImageReference(ref));
    const store = await this.store();
    const record = await store.readImage<ImageRecord>(canonical);
    if (!record) return undefined;
    for (const layer of record.layers) {
      if (!(await store.hasLayer(layer.diffId))) return undefined;
    }
    return toPulled(store, record);
  }

  private async doPull(ref: string, opts: PullOptions): Promise<PulledImage> {
    const started = Date.now();
    const image = parseImageReference(ref);
    const canonical = formatImageReference(image);
    const log = this.opts.logger?.child({ image: canonical });
    try {
      const store = await this.store();
      const client = new RegistryClient(image, ref, {
        insecureRegistries: this.opts.insecureRegistries,
        auth: opts.auth,
        userAgent: 'shoal-agent',
      });
      const fail = (message: string): ImagePullError =>
        new ImagePullError('ErrImagePull', ref, `failed to pull image "${ref}": ${message}`);

      const top = await client.getManifest(manifestReferenceOf(image));
      await store.putBlob(top.digest, top.body);
      let manifest: ImageManifest;
      let manifestDigest = top.digest;
      if (top.parsed.kind === 'index') {
        const platform = currentPlatform();
        const chosen = selectPlatform(top.parsed.index, platform);
        if (!chosen) {
          throw fail(
            `no matching manifest for ${formatPlatform(platform)} in the manifest list entries`,
          );
        }
        const inner = await client.getManifest(chosen.digest);
        if (inner.parsed.kind !== 'manifest')
          throw fail(`manifest ${chosen.digest} is an index, not an image`);
        await store.putBlob(inner.digest, inner.body);
        manifest = inner.parsed.manifest;
        manifestDigest = inner.digest;
      } else {
        manifest = top.parsed.manifest;
      }

      const fetchBlob = (d: Descriptor): Promise<void> =>
        store.ensureBlob(d.digest, d.size, async () => {
          log?.debug({ digest: d.digest, size: d.size }, 'fetching blob');
          return (await client.getBlob(d.digest)).body;
        });

      await fetchBlob(manifest.config);
      const { config, diffIds, os } = parseConfig(await store.readBlob(manifest.config.digest));
      if (os !== undefined && os !== 'linux') throw fail(`image is for ${os}, not linux`);
      if (diffIds.length !== manifest.layers.length) {
        throw fail(`config lists ${diffIds.length} diff IDs for ${manifest.layers.length} layers`);
      }

      const layers = manifest.layers.map((d, i) => ({
        digest: d.digest,
        diffId: diffIds[i] ?? '',
        size: d.size,
      }));
      await mapLimit(manifest.layers, this.opts.maxConcurrentDownloads ?? 3, async (d, i) => {
        const diffId = diffIds[i] ?? '';
        // An unpacked layer needs no blob: another image brought the same content.
        if (await store.hasLayer(diffId)) return;
        await fetchBlob(d);
        await store.ensureLayer(diffId, d.digest);
      });

      const record: ImageRecord = {
        ref: canonical,
        digest: top.digest,
        manifestDigest,
        configDigest: manifest.config.digest,
        config,
        layers,
        size: manifest.config.size + layers.reduce((n, l) => n + l.size, 0),
        pulledAt: new Date().toISOString(),
      };
      await store.writeImage(canonical, record);
      // Also findable by digest, so has("repo@sha256:…") knows a tag's pull.
      const byDigest = `${repositoryOf(image)}@${top.digest}`;
      if (byDigest !== canonical) await store.writeImage(byDigest, { ...record, ref: byDigest });
      log?.info(
        { digest: top.digest, size: record.size, ms: Date.now() - started },
        'image pulled',
      );
      return toPulled(store, record);
    } catch (err) {
      log?.warn({ err }, 'image pull failed');
      if (err instanceof ImagePullError) throw err;
      const message = err instanceof Error ? err.message : String(err);
      throw new ImagePullError('ErrImagePull', ref, `failed to pull image "${ref}": ${message}`, {
        cause: err,
      });
    }
  }

  private async store(): Promise<ContentStore> {
    this.storePromise ??= ContentStore.open(this.opts.root).catch((err: unknown) => {
      this.storePromise = undefined; // let a later call try again
      throw err;
    });
    return this.storePromise;
  }
}

function toPulled(store: ContentStore, r: ImageRecord): PulledImage {
  return {
    ref: r.ref,
    digest: r.digest,
    configDigest: r.configDigest,
    config: r.config,
    layerDirs: r.layers.map((l) => store.layerPath(l.diffId)),
    size: r.size,
  };
}

/** Reads the fields of an OCI image config that running a container needs. */
function parseConfig(blob: Buffer): {
  config: OciImageConfig;
  diffIds: string[];
  os: string | undefined;
} {
  const json: unknown = JSON.parse(blob.toString('utf8'));
  if (!isRecord(json)) throw new Error('image config is not a JSON object');
  const c = isRecord(json.config) ? json.config : {};
  const config: OciImageConfig = {};
  const strings = (v: unknown): string[] | undefined =>
    Array.isArray(v) && v.every((s) => typeof s === 'string') ? v : undefined;
  const string = (v: unknown): string | undefined =>
    typeof v === 'string' && v !== '' ? v : undefined;
  const entrypoint = strings(c.Entrypoint);
  if (entrypoint) config.Entrypoint = entrypoint;
  const cmd = strings(c.Cmd);
  if (cmd) config.Cmd = cmd;
  const env = strings(c.Env);
  if (env) config.Env = env;
  const workingDir = string(c.WorkingDir);
  if (workingDir) config.WorkingDir = workingDir;
  const user = string(c.User);
  if (user) config.User = user;
  const stopSignal = string(c.StopSignal);
  if (stopSignal) config.StopSignal = stopSignal;

  const rootfs = isRecord(json.rootfs) ? json.rootfs : {};
  const diffIds = strings(rootfs.diff_ids);
  if (!diffIds || !diffIds.every((d) => /^sha256:[a-f0-9]{64}$/.test(d))) {
    throw new Error('image config has no valid rootfs.diff_ids');
  }
  return { config, diffIds, os: string(json.os) };
}

/** Runs `fn` over `items`, at most `limit` at a time; rejects with the first failure. */
async function mapLimit<T>(
  items: T[],
  limit: number,
  fn: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker));
}
