// The spawner with real processes: output, exit codes, signals, stdin larger
// than a pipe, timeouts, the fd-3 status pipe the container monitor uses,
// many at once, and the mount/umount/netns built-ins on real mounts.

import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { Spawner } from './spawner.js';
import { isMounted } from './runtime/overlay.js';

const run = promisify(execFile);

describe('Spawner', () => {
  const spawner = new Spawner();
  afterAll(() => spawner.close());

  it('returns stdout, stderr and the exit code; passes stdin and the environment', async () => {
    const r = await spawner.run({
      file: 'sh',
      args: ['-c', 'echo "out $GREETING"; echo err >&2; cat; exit 3'],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', GREETING: 'hello there' },
      stdin: 'from stdin\n',
    });
    expect(r).toMatchObject({
      exitCode: 3,
      signal: null,
      stdout: 'out hello there\nfrom stdin\n',
      stderr: 'err\n',
      timedOut: false,
    });
    expect(r.pid).toBeGreaterThan(0);
  });

  it('adds extraEnv to the environment it inherited', async () => {
    const r = await spawner.run({
      file: 'sh',
      args: ['-c', 'echo "$EXTRA|$PATH"'],
      extraEnv: { EXTRA: 'added' },
    });
    expect(r.stdout).toBe(`added|${process.env.PATH ?? ''}\n`);
  });

  it('reports a command that cannot be run as exit 127 with the reason', async () => {
    const r = await spawner.run({ file: '/no/such/command', args: [] });
    expect(r.exitCode).toBe(127);
    expect(r.stderr).toMatch(/No such file or directory/);
  });

  it('kills on timeout, and reports the signal', async () => {
    const r = await spawner.run({ file: 'sleep', args: ['10'], timeoutMs: 100 });
    expect(r).toMatchObject({ exitCode: null, signal: 'SIGKILL', timedOut: true });
  });

  it('moves stdin bigger than a pipe while the child writes as much back', async () => {
    const big = 'x'.repeat(300_000);
    const r = await spawner.run({ file: 'cat', args: [], stdin: big });
    expect(r.stdout).toBe(big);
  });

  it('answers a noWait child with its fd 3 line while it runs on', async () => {
    const r = await spawner.run({
      file: 'sh',
      args: ['-c', 'echo created $$ >&3; exec 3>&-; sleep 0.3'],
      fd3: true,
      noWait: true,
      quiet: true,
      ownGroup: true,
    });
    expect(r.fd3).toBe(`created ${r.pid}\n`);
    expect(r.exitCode).toBeNull();
    // Still running: the answer did not wait for it.
    expect(() => process.kill(r.pid, 0)).not.toThrow();
  });

  it('keeps concurrent children apart', async () => {
    const rs = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        i % 2 === 0
          ? spawner.run({
              file: 'sh',
              args: ['-c', `echo ${i} >&3; exec 3>&-; sleep 0.1`],
              fd3: true,
              noWait: true,
              quiet: true,
            })
          : spawner.run({ file: 'sh', args: ['-c', `echo ${i}; exit ${i}`] }),
      ),
    );
    rs.forEach((r, i) => {
      if (i % 2 === 0) expect(r.fd3).toBe(`${i}\n`);
      else expect(r).toMatchObject({ stdout: `${i}\n`, exitCode: i });
    });
  });

  describe('built-ins', () => {
    let dir: string;
    afterAll(async () => {
      // Whatever a failed test left mounted goes first, deepest first.
      for (const m of ['ns', 'tmp'].map((f) => join(dir, f)))
        await run('umount', ['-l', m]).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    });

    it('mounts and unmounts, and says why a mount failed', async () => {
      dir = await mkdtemp(join(tmpdir(), 'shoal-spawner-'));
      const target = join(dir, 'tmp');
      await run('mkdir', [target]);
      const ok = await spawner.builtin('mount', ['t', target, 'tmpfs', '0', 'size=1m']);
      expect(ok).toMatchObject({ exitCode: 0, stderr: '' });
      expect(await isMounted(target)).toBe(true);
      await writeFile(join(target, 'f'), 'x');
      expect((await spawner.builtin('umount', [target, '0'])).exitCode).toBe(0);
      expect(await isMounted(target)).toBe(false);
      const bad = await spawner.builtin('mount', ['t', join(dir, 'missing'), 'tmpfs', '0', '']);
      expect(bad.exitCode).toBe(1);
      expect(bad.stderr).toMatch(/^mount .*missing: No such file or directory/);
    });

    it('makes a network namespace with only lo, and up', async () => {
      const ns = join(dir, 'ns');
      await writeFile(ns, '');
      expect(await spawner.builtin('netns', [ns])).toMatchObject({ exitCode: 0, stderr: '' });
      const { stdout } = await run('nsenter', [`--net=${ns}`, 'ip', '-o', 'link']);
      const links = stdout.trim().split('\n');
      expect(links).toHaveLength(1);
      expect(links[0]).toMatch(/^1: lo: <LOOPBACK,UP,LOWER_UP>/);
      // The namespace is held by the mount alone: the child that made it is gone.
      expect(await readFile('/proc/self/mountinfo', 'utf8')).toContain(ns);
      expect((await spawner.builtin('umount', [ns, '2'])).exitCode).toBe(0);
    });
  });
});
