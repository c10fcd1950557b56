// The cluster's image registry: Debian's docker-registry (distribution 2.8)
// on <bridge ip>:5000 without auth or TLS (the agents are started with
// --insecure-registry for it), storing below the state directory, preloaded
// with the busybox image that deploy/busybox-image.sh builds.

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { ClusterLayout } from './layout.js';

const run = promisify(execFile);

export function registryConfigPath(layout: ClusterLayout): string {
  return join(layout.registryDir, 'config.yml');
}

export async function writeRegistryConfig(layout: ClusterLayout): Promise<string> {
  const path = registryConfigPath(layout);
  await mkdir(join(layout.registryDir, 'data'), { recursive: true, mode: 0o700 });
  await writeFile(
    path,
    `version: 0.1
log:
  level: info
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: ${join(layout.registryDir, 'data')}
  delete:
    enabled: true
http:
  addr: ${layout.registryAddress}
`,
    { mode: 0o600 },
  );
  return path;
}

/** True once the registry answers /v2/. */
export async function registryAnswers(address: string): Promise<boolean> {
  try {
    const res = await fetch(`http://${address}/v2/`, { signal: AbortSignal.timeout(2000) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

async function hasManifest(address: string, repo: string, tag: string): Promise<boolean> {
  const res = await fetch(`http://${address}/v2/${repo}/manifests/${tag}`, {
    method: 'HEAD',
    headers: {
      accept:
        'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json',
    },
    signal: AbortSignal.timeout(5000),
  });
  return res.status === 200;
}

/**
 * The directory holding deploy/busybox-image.sh: found by walking up from this
 * module, which runs from cli/cluster/ (tests) or dist/cli/cluster/ (the
 * built CLI); both sit inside the checkout that install.sh builds in place.
 */
export function findRepoFile(relative: string): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, relative);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find ${relative} above ${import.meta.url}`);
    dir = parent;
  }
}

/**
 * Builds the busybox OCI layout (cached in the state directory) and pushes it
 * as busybox:latest unless the registry already has that tag. Returns true
 * when it pushed.
 */
export async function preloadBusybox(layout: ClusterLayout): Promise<boolean> {
  if (await hasManifest(layout.registryAddress, 'busybox', 'latest')) return false;
  await run(findRepoFile('deploy/busybox-image.sh'), [layout.imageLayoutDir]);
  await run('skopeo', [
    'copy',
    '--quiet',
    '--dest-tls-verify=false',
    `oci:${layout.imageLayoutDir}:latest`,
    `docker://${layout.registryAddress}/busybox:latest`,
  ]);
  return true;
}
