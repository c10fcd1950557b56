// Where the repository is, whether a test runs from source (test/…) or a
// benchmark runs compiled (dist/test/…): the nearest folder above with package.json.

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('no package.json above test/support');
    dir = up;
  }
  return dir;
}

/** The built `shoal` entry point that tests start as real processes. */
export const SHOAL_CLI = join(repoRoot(), 'dist', 'cli', 'main.js');
