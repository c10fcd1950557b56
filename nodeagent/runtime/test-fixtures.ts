// Test fixtures for the runtime layer: a one-layer busybox root filesystem
// made from Debian's busybox-static, so these tests need no image puller.

import { execFile } from 'node:child_process';
import { copyFile, mkdir, realpath, symlink, writeFile, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Fills dir with /bin/busybox, a symlink per applet, and minimal /etc files. */
export async function makeBusyboxRootfs(dir: string): Promise<void> {
  const busybox = await realpath('/bin/busybox');
  for (const d of ['bin', 'etc', 'proc', 'sys', 'dev', 'tmp', 'root'])
    await mkdir(join(dir, d), { recursive: true });
  await chmod(join(dir, 'tmp'), 0o1777);
  await copyFile(busybox, join(dir, 'bin', 'busybox'));
  await chmod(join(dir, 'bin', 'busybox'), 0o755);
  const { stdout } = await run(busybox, ['--list']);
  // Relative links, so they resolve inside the container whatever the host's layout.
  for (const applet of stdout.split('\n').filter((a) => a && a !== 'busybox')) {
    await symlink('busybox', join(dir, 'bin', applet));
  }
  await writeFile(
    join(dir, 'etc', 'passwd'),
    'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n',
  );
  await writeFile(join(dir, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\n');
}
