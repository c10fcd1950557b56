// Reclaiming local volumes: only paths strictly inside the volume directory
// are ever removed; everything else is refused and reported.

import { mkdtemp, mkdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VolumeReclaimed } from '../../proto/generated/shoal/agent/v1/VolumeReclaimed.js';
import { LocalVolumeCleaner, refusal } from './local.js';

describe('refusal', () => {
  it.each<[string, string, boolean]>([
    ['a volume directory', '/var/lib/shoal/volumes/pvc-1', false],
    ['a nested path', '/var/lib/shoal/volumes/a/b', false],
    ['the volume directory itself', '/var/lib/shoal/volumes', true],
    ['the volume directory with a slash', '/var/lib/shoal/volumes/', true],
    ['a sibling with the same prefix', '/var/lib/shoal/volumes-old/x', true],
    ['an escape through ..', '/var/lib/shoal/volumes/../pods', true],
    ['a relative path', 'volumes/pvc-1', true],
    ['the root', '/', true],
  ])('%s', (_n, path, refused) => {
    expect(refusal('/var/lib/shoal/volumes', path) !== undefined).toBe(refused);
  });
});

describe('LocalVolumeCleaner', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shoal-volumes-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('removes listed directories inside the volume dir and refuses the rest', async () => {
    const volumes = join(dir, 'volumes');
    const outside = join(dir, 'outside');
    await mkdir(join(volumes, 'pvc-a', 'sub'), { recursive: true });
    await writeFile(join(volumes, 'pvc-a', 'sub', 'file'), 'data');
    await mkdir(outside, { recursive: true });
    await writeFile(join(outside, 'keep'), 'x');
    // A symlinked directory inside that leads out must not let rm reach outside.
    await symlink(outside, join(volumes, 'link'));
    const sent: VolumeReclaimed[] = [];
    const cleaner = new LocalVolumeCleaner({
      volumeDir: volumes,
      send: (m) => {
        sent.push(m);
        return true;
      },
    });
    await cleaner.onLocalVolumes({
      reclaim: [
        { name: 'pvc-a', path: join(volumes, 'pvc-a') },
        { name: 'pvc-gone', path: join(volumes, 'pvc-gone') },
        { name: 'evil', path: outside },
        { name: 'via-link', path: join(volumes, 'link', 'keep') },
      ],
    });
    const byName = new Map(sent.map((m) => [m.name, m.error]));
    expect(byName.get('pvc-a')).toBe('');
    expect(byName.get('pvc-gone')).toBe('');
    expect(byName.get('evil')).toMatch(/not inside the volume directory/);
    expect(byName.get('via-link')).toMatch(/resolves outside the volume directory/);
    await expect(stat(join(volumes, 'pvc-a'))).rejects.toThrow();
    expect((await stat(join(outside, 'keep'))).isFile()).toBe(true);
  });
});
