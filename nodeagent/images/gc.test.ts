// Image GC: the decision table-driven, then one real collection of an image
// pulled from a real registry into a real store.

import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRegistry, type TestRegistry } from '../../test/support/registry.js';
import { ImageGc, planImageGc, validateGcThresholds, type GcImage } from './gc.js';
import { ImagePuller } from './puller.js';

const GB = 1_000_000_000;

function img(id: string, lastUsed: number, content: string[], inUse = false): GcImage {
  return { id, lastUsed, inUse, content };
}

// a: 3 GB of its own; b: 2 GB own + 1 GB shared with c; c in use; d: 1 GB own, newest.
const images = [
  img('a', 100, ['layer:a']),
  img('b', 50, ['layer:b', 'layer:shared']),
  img('c', 10, ['layer:c', 'layer:shared'], true),
  img('d', 300, ['layer:d']),
];
const contentBytes = new Map([
  ['layer:a', 3 * GB],
  ['layer:b', 2 * GB],
  ['layer:shared', 1 * GB],
  ['layer:c', 1 * GB],
  ['layer:d', 1 * GB],
]);

describe('planImageGc', () => {
  it.each([
    {
      what: 'below the high threshold: nothing',
      avail: 20,
      high: 85,
      low: 80,
      remove: [],
      freed: 0,
    },
    { what: 'high 100 turns GC off', avail: 0, high: 100, low: 80, remove: [], freed: 0 },
    {
      what: 'at 90%, down to 85%: the least recently used unused image (b) frees its own 2 GB',
      avail: 4,
      high: 85,
      low: 85,
      remove: ['b'],
      freed: 2 * GB,
    },
    {
      what: 'at 90%, down to 80%: b, then a',
      avail: 4,
      high: 85,
      low: 80,
      remove: ['b', 'a'],
      freed: 5 * GB,
    },
    {
      what: 'thresholds 0/0: every unused image, never the one in use',
      avail: 30,
      high: 0,
      low: 0,
      remove: ['b', 'a', 'd'],
      freed: 6 * GB,
    },
  ])('$what', ({ avail, high, low, remove, freed }) => {
    const plan = planImageGc({
      capacityBytes: 40 * GB,
      availableBytes: avail * GB,
      highThresholdPercent: high,
      lowThresholdPercent: low,
      images,
      contentBytes,
    });
    expect(plan.remove).toEqual(remove);
    expect(plan.freedBytes).toBe(freed);
  });

  it('content shared with an image that stays frees nothing', () => {
    const plan = planImageGc({
      capacityBytes: 100 * GB,
      availableBytes: 0,
      highThresholdPercent: 0,
      lowThresholdPercent: 0,
      images: [img('x', 1, ['layer:s']), img('y', 2, ['layer:s'], true)],
      contentBytes: new Map([['layer:s', GB]]),
    });
    expect(plan).toMatchObject({ remove: ['x'], freedBytes: 0 });
  });

  it.each([
    [85, 80, undefined],
    [0, 0, undefined],
    [80, 85, /must not be greater/],
    [101, 80, /0 to 100/],
    [85, -1, /0 to 100/],
  ])('thresholds high %d low %d', (high, low, error) => {
    const msg = validateGcThresholds(high, low);
    if (error) expect(msg).toMatch(error);
    else expect(msg).toBeUndefined();
  });
});

describe('ImageGc on a real store', () => {
  let registry: TestRegistry;
  let root: string;

  beforeAll(async () => {
    registry = await startRegistry();
    await registry.pushBusybox();
    root = await mkdtemp(join(tmpdir(), 'shoal-gc-'));
  }, 120_000);
  afterAll(async () => {
    await registry?.stop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('keeps an image in use, then removes it with its blobs and layers once unused', async () => {
    const puller = new ImagePuller({ root, insecureRegistries: [registry.host] });
    const ref = `${registry.host}/busybox:latest`;
    const pulled = await puller.pull(ref);
    // Litter an interrupted pull could leave: no record references it.
    const orphan = join(root, 'blobs', 'sha256', 'f'.repeat(64));
    await writeFile(orphan, 'x');
    await mkdir(join(root, 'layers', 'sha256', 'e'.repeat(64)));
    const inUse = { ids: [] as string[], refs: [ref] };
    const gc = new ImageGc({
      root,
      puller,
      inUse: () => inUse,
      highThresholdPercent: 0,
      lowThresholdPercent: 0,
    });

    const kept = await gc.run();
    expect(kept.remove).toEqual([]);
    expect(kept.removedBlobs).toBe(1);
    expect(kept.removedLayers).toBe(1);
    expect(await puller.has(ref)).toBeDefined();
    expect((await readdir(join(root, 'layers', 'sha256'))).length).toBe(pulled.layerDirs.length);

    inUse.refs = [];
    const collected = await gc.run();
    expect(collected.remove).toEqual([pulled.configDigest]);
    expect(collected.freedBytes).toBeGreaterThan(0);
    expect(collected.removedRecords.sort()).toEqual(
      [ref, `${registry.host}/busybox@${pulled.digest}`].sort(),
    );
    expect(await puller.has(ref)).toBeUndefined();
    expect(await readdir(join(root, 'images'))).toEqual([]);
    expect(await readdir(join(root, 'blobs', 'sha256'))).toEqual([]);
    expect(await readdir(join(root, 'layers', 'sha256'))).toEqual([]);

    // The store still works: the next pull brings it all back.
    expect((await puller.pull(ref)).configDigest).toBe(pulled.configDigest);
  }, 120_000);

  it('waits for a pull in progress before collecting', async () => {
    const puller = new ImagePuller({ root, insecureRegistries: [registry.host] });
    const ref = `${registry.host}/busybox:gc-race`;
    await registry.pushBusybox('gc-race');
    const gc = new ImageGc({
      root,
      puller,
      inUse: () => ({ ids: [], refs: [] }),
      highThresholdPercent: 0,
      lowThresholdPercent: 0,
    });
    await gc.run();
    const pulling = puller.pull(ref);
    const collecting = gc.run();
    const pulled = await pulling;
    await collecting;
    // The collection saw the finished pull's record and removed the image whole, or
    // ran before it: either way no half-present image is left behind.
    const has = await puller.has(ref);
    if (has) expect(has.configDigest).toBe(pulled.configDigest);
    else expect(await readdir(join(root, 'layers', 'sha256'))).toEqual([]);
  }, 120_000);
});
