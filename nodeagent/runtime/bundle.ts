// An OCI bundle: a directory holding config.json, whose root.path points at
// the container's mounted overlay (which need not live inside the bundle).

import { mkdir, rm, writeFile, rename } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { mountPoints } from './overlay.js';
import type { OciRuntimeSpec } from './types.js';

export interface BundleOptions {
  bundleDir: string;
  spec: OciRuntimeSpec;
  /** The mounted rootfs (overlay target). */
  rootfsMount: string;
}

/** Writes bundleDir/config.json with root.path set to the rootfs mount; returns the bundle's absolute path. */
export async function prepareBundle(opts: BundleOptions): Promise<string> {
  const dir = resolve(opts.bundleDir);
  await mkdir(dir, { recursive: true });
  const spec: OciRuntimeSpec = {
    ...opts.spec,
    root: { ...opts.spec.root, path: resolve(opts.rootfsMount) },
  };
  // Written aside and renamed, so runc never reads half a file.
  const tmp = join(dir, 'config.json.tmp');
  await writeFile(tmp, JSON.stringify(spec, null, 2));
  await rename(tmp, join(dir, 'config.json'));
  return dir;
}

/**
 * Removes the bundle directory. Refuses while anything below it is still
 * mounted: a recursive delete would otherwise reach into the container's
 * filesystem (or the image layers under it).
 */
export async function removeBundle(bundleDir: string): Promise<void> {
  const dir = resolve(bundleDir);
  const busy = (await mountPoints()).filter((m) => m === dir || m.startsWith(dir + sep));
  if (busy.length > 0) throw new Error(`bundle ${dir} still has mounts: ${busy.join(', ')}`);
  await rm(dir, { recursive: true, force: true });
}
