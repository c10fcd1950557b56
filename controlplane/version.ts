// Shoal's version, and the Kubernetes version whose API it serves (kubectl
// warns when client and server are more than one minor release apart).

import { readFileSync } from 'node:fs';

function packageVersion(): string {
  // dist/controlplane/version.js and controlplane/version.ts both sit two levels below the root.
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'shoal' && pkg.version) return pkg.version;
    } catch {
      // try the next location
    }
  }
  return '0.0.0';
}

export const SHOAL_VERSION = packageVersion();
export const KUBERNETES_VERSION = { major: '1', minor: '32', patch: '0' };
export const GIT_VERSION = `v${KUBERNETES_VERSION.major}.${KUBERNETES_VERSION.minor}.${KUBERNETES_VERSION.patch}+shoal-${SHOAL_VERSION}`;
