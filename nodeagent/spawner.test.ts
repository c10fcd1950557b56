// The spawner with real processes: output, exit codes, signals, stdin larger
// than a pipe, timeouts, the fd-3 status pipe the container monitor uses, and
// many at once.

import { afterAll, describe, expect, it } from 'vitest';
import { Spawner } from './spawner.js';

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
});
