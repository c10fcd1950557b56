// Reclaiming local volumes: the control plane sends LocalVolumes, the
// volumes of this node whose PersistentVolume is being deleted with
// reclaimPolicy Delete; each directory is removed (rm -rf) and answered with
// VolumeReclaimed, after which the control plane lets the object go. Only a
// path strictly inside this agent's volume directory is ever removed — a
// path elsewhere (a static volume an administrator pointed at /srv, a
// crafted message) is refused and reported as an error, never touched.
// Removal is idempotent, so a list sent again after a reconnect is harmless.

import { realpath, rm } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import type { Logger } from 'pino';
import type { LocalVolumes__Output } from '../../proto/generated/shoal/agent/v1/LocalVolumes.js';
import type { VolumeReclaimed } from '../../proto/generated/shoal/agent/v1/VolumeReclaimed.js';

export interface LocalVolumeCleanerOptions {
  /** The agent's --volume-dir. */
  volumeDir: string;
  /** Sends the answer to the control plane; false when disconnected (it will resend the list). */
  send: (msg: VolumeReclaimed) => boolean;
  logger?: Logger;
}

/** Why `path` must not be removed, or undefined when it lies strictly inside `volumeDir`. */
export function refusal(volumeDir: string, path: string): string | undefined {
  if (!isAbsolute(path)) return `refusing to remove ${JSON.stringify(path)}: not an absolute path`;
  const root = resolve(volumeDir);
  const target = resolve(path);
  const rel = relative(root, target);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel) || rel.split(sep).includes('..'))
    return `refusing to remove ${JSON.stringify(path)}: not inside the volume directory ${root}`;
  return undefined;
}

export class LocalVolumeCleaner {
  /** Names being removed now, so a list repeated meanwhile does not start a second rm. */
  private readonly busy = new Set<string>();

  constructor(private readonly opts: LocalVolumeCleanerOptions) {}

  /** Handles one LocalVolumes message: removes each listed directory and answers for each. */
  onLocalVolumes(msg: LocalVolumes__Output): Promise<void> {
    return Promise.all(
      msg.reclaim.map(async ({ name, path }) => {
        if (this.busy.has(name)) return;
        this.busy.add(name);
        try {
          const error = await this.remove(path);
          if (error) this.opts.logger?.warn({ volume: name, path, error }, 'volume not reclaimed');
          else this.opts.logger?.info({ volume: name, path }, 'local volume removed');
          this.opts.send({ name, error: error ?? '' });
        } finally {
          this.busy.delete(name);
        }
      }),
    ).then(() => undefined);
  }

  private async remove(path: string): Promise<string | undefined> {
    const refused = refusal(this.opts.volumeDir, path);
    if (refused) return refused;
    // A symlinked parent must not lead outside: judge the real location too.
    const realRoot = await realpath(this.opts.volumeDir).catch(() => resolve(this.opts.volumeDir));
    const realParent = await realpath(dirname(resolve(path))).catch(() => undefined);
    if (realParent !== undefined) {
      const again = refusal(realRoot, `${realParent}${sep}x`);
      if (again)
        return `refusing to remove ${JSON.stringify(path)}: it resolves outside the volume directory`;
    }
    try {
      await rm(path, { recursive: true, force: true });
      return undefined;
    } catch (err) {
      return err instanceof Error ? err.message : String(err);
    }
  }
}
