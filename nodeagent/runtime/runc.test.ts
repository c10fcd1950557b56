// Real runc, real overlayfs, real cgroups (run as root). Every test gets its
// own runc --root, cgroup parent and temp dir; afterEach deletes every
// container, unmounts every rootfs and removes every cgroup it made, whether
// the test passed or not.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { prepareBundle, removeBundle } from './bundle.js';
import { CGROUP_ROOT, removeCgroup } from './cgroups.js';
import { RuncError } from './errors.js';
import { logContent } from './log-format.js';
import { isMounted, mountRootfs, unmount } from './overlay.js';
import { Runc } from './runc.js';
import { buildRuntimeSpec } from './spec.js';
import { makeBusyboxRootfs } from './test-fixtures.js';
import type { ContainerRunInput, ContainerSpec, OciRuntimeSpec } from './types.js';

const here = fileURLToPath(new URL('.', import.meta.url));

let base: string;
let lower: string;

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'shoal-runtime-'));
  lower = join(base, 'lower');
  await makeBusyboxRootfs(lower);
});

afterAll(async () => {
  if (base) await rm(base, { recursive: true, force: true });
});

interface Harness {
  dir: string;
  runc: Runc;
  cgroupParent: string;
  ids: string[];
  mounts: string[];
  cgroups: string[];
  pids: number[];
}

let h: Harness;

beforeEach(async () => {
  const dir = await mkdtemp(join(base, 't-'));
  const tag = dir.slice(-6).replace(/[^A-Za-z0-9]/g, 'x');
  h = {
    dir,
    runc: new Runc({ root: join(dir, 'runc'), stateDir: join(dir, 'monitor') }),
    cgroupParent: `/shoal-test-${process.pid}-${tag}`,
    ids: [],
    mounts: [],
    cgroups: [],
    pids: [],
  };
});

afterEach(async () => {
  const errors: unknown[] = [];
  const attempt = async (f: () => Promise<unknown>): Promise<void> => {
    try {
      await f();
    } catch (err) {
      errors.push(err);
    }
  };
  for (const pid of h.pids) await attempt(async () => process.kill(pid, 'SIGKILL'));
  for (const id of h.ids) await attempt(() => h.runc.delete(id, { force: true }));
  for (const m of h.mounts) await attempt(() => unmount(m));
  for (const c of h.cgroups) await attempt(() => removeCgroup(c));
  await attempt(() => rm(h.dir, { recursive: true, force: true }));
  // ESRCH from an already dead helper process is fine.
  const real = errors.filter((e) => (e as NodeJS.ErrnoException).code !== 'ESRCH');
  if (real.length > 0) throw new AggregateError(real, 'cleanup failed');
});

interface Prepared {
  id: string;
  bundle: string;
  spec: OciRuntimeSpec;
  stdoutPath: string;
  stderrPath: string;
}

/** Mounts a rootfs, writes a bundle for container, and registers all of it for cleanup. */
async function prepare(
  name: string,
  container: Partial<ContainerSpec>,
  extra: Partial<ContainerRunInput> = {},
): Promise<Prepared> {
  const dir = join(h.dir, name);
  const rootfs = join(dir, 'rootfs');
  await mountRootfs({
    lowerDirs: [lower],
    upperDir: join(dir, 'upper'),
    workDir: join(dir, 'work'),
    target: rootfs,
  });
  h.mounts.push(rootfs);
  const spec = buildRuntimeSpec({
    container: { name, image: 'busybox', ...container },
    image: { Cmd: ['sh'], Env: ['PATH=/bin'] },
    podUid: 'p1',
    hostname: name,
    cgroupParent: h.cgroupParent,
    ...extra,
  });
  h.cgroups.push(spec.linux.cgroupsPath);
  const bundle = await prepareBundle({ bundleDir: join(dir, 'bundle'), spec, rootfsMount: rootfs });
  h.ids.push(name);
  return {
    id: name,
    bundle,
    spec,
    stdoutPath: join(dir, 'logs', 'stdout.log'),
    stderrPath: join(dir, 'logs', 'stderr.log'),
  };
}

async function runContainer(
  name: string,
  container: Partial<ContainerSpec>,
  extra: Partial<ContainerRunInput> = {},
) {
  const p = await prepare(name, container, extra);
  await h.runc.create(p.id, p.bundle, p);
  await h.runc.start(p.id);
  return p;
}

async function eventually<T>(
  f: () => Promise<T | undefined>,
  what: string,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe('overlay and bundle', () => {
  it('mounts lower layers top-first, isolates writes, unmounts idempotently', async () => {
    const l1 = join(h.dir, 'l1');
    const l2 = join(h.dir, 'l2');
    await mkdir(l1);
    await mkdir(l2);
    await writeFile(join(l1, 'f'), 'base');
    await writeFile(join(l2, 'f'), 'top');
    await writeFile(join(l1, 'only-base'), 'b');
    const target = join(h.dir, 'merged');
    await mountRootfs({
      lowerDirs: [l1, l2],
      upperDir: join(h.dir, 'up'),
      workDir: join(h.dir, 'wk'),
      target,
    });
    h.mounts.push(target);
    expect(await isMounted(target)).toBe(true);
    expect(await readFile(join(target, 'f'), 'utf8')).toBe('top');
    expect(await readFile(join(target, 'only-base'), 'utf8')).toBe('b');
    await writeFile(join(target, 'new'), 'n');
    expect(await readFile(join(h.dir, 'up', 'new'), 'utf8')).toBe('n');
    await expect(stat(join(l2, 'new'))).rejects.toThrow();

    // A bundle whose rootfs is still mounted inside it must not be removed.
    const bundleDir = join(h.dir, 'bundle-with-mount');
    await mkdir(join(bundleDir, 'rootfs'), { recursive: true });
    await mountRootfs({
      lowerDirs: [l1],
      upperDir: join(h.dir, 'up2'),
      workDir: join(h.dir, 'wk2'),
      target: join(bundleDir, 'rootfs'),
    });
    h.mounts.push(join(bundleDir, 'rootfs'));
    await expect(removeBundle(bundleDir)).rejects.toThrow(/still has mounts/);
    await unmount(join(bundleDir, 'rootfs'));
    await removeBundle(bundleDir);
    await expect(stat(bundleDir)).rejects.toThrow();

    await unmount(target);
    expect(await isMounted(target)).toBe(false);
    await unmount(target);
  });
});

describe('Runc', () => {
  it('echo hello: stdout goes to the log file, exit code 0', async () => {
    const p = await runContainer('hello', { command: ['sh', '-c', 'echo hello; echo oops >&2'] });
    const exit = await h.runc.waitExit(p.id);
    expect(exit).toMatchObject({ exitCode: 0, reason: 'Completed' });
    expect(logContent(await readFile(p.stdoutPath))).toBe('hello\n');
    expect(logContent(await readFile(p.stderrPath))).toBe('oops\n');
    expect((await h.runc.state(p.id))?.status).toBe('stopped');
  });

  it('the log is in the CRI format: time, stream, F for a line, P for an unfinished one', async () => {
    const p = await runContainer('cri', {
      command: ['sh', '-c', 'echo one; printf two >&2'],
    });
    await h.runc.waitExit(p.id);
    const lines = (await readFile(p.stdoutPath, 'utf8')).split('\n').filter(Boolean);
    const ts = '\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{9}Z';
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^${ts} stdout F one$`));
    const err = (await readFile(p.stderrPath, 'utf8')).trimEnd();
    expect(err).toMatch(new RegExp(`^${ts} stderr P two$`));
  });

  it('reports exit code 3', async () => {
    const p = await runContainer('three', { command: ['sh', '-c', 'exit 3'] });
    expect(await h.runc.waitExit(p.id)).toMatchObject({ exitCode: 3, reason: 'Error' });
  });

  it('created, running, SIGTERM, stopped, deleted', async () => {
    // As PID 1, sh only hears SIGTERM through a trap.
    const p = await prepare('sleeper', {
      command: ['sh', '-c', 'trap "exit 143" TERM; sleep 1000 & wait'],
    });
    await h.runc.create(p.id, p.bundle, p);
    expect((await h.runc.state(p.id))?.status).toBe('created');
    await h.runc.start(p.id);
    const st = await h.runc.state(p.id);
    expect(st?.status).toBe('running');
    expect(st?.pid).toBeGreaterThan(0);
    expect(st?.annotations?.['io.kubernetes.container.name']).toBe('sleeper');
    expect((await h.runc.list()).map((s) => s.id)).toEqual(['sleeper']);
    expect(await h.runc.exitStatus(p.id)).toBeUndefined();

    await sleep(200); // let sh install its trap
    await h.runc.kill(p.id, 'SIGTERM');
    expect(await h.runc.waitExit(p.id)).toMatchObject({ exitCode: 143, reason: 'Error' });
    expect((await h.runc.state(p.id))?.status).toBe('stopped');
    await h.runc.delete(p.id);
    expect(await h.runc.state(p.id)).toBeUndefined();
    expect(await h.runc.list()).toEqual([]);
    await h.runc.delete(p.id); // unknown ids are fine
  });

  it('run() creates and starts in one runc process, under the same monitor', async () => {
    const p = await prepare('oneshot', { command: ['sh', '-c', 'echo ran; sleep 0.2; exit 4'] });
    await h.runc.run(p.id, p.bundle, p);
    expect((await h.runc.state(p.id))?.status).toBe('running');
    expect(await h.runc.isMonitored(p.id)).toBe(true);
    expect(await h.runc.waitExit(p.id)).toMatchObject({ exitCode: 4, reason: 'Error' });
    expect(logContent(await readFile(p.stdoutPath))).toBe('ran\n');

    const bad = await prepare('badrun', { command: ['/no/such/binary'] });
    const err = await h.runc.run(bad.id, bad.bundle, bad).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RuncError);
    expect((err as RuncError).operation).toBe('run');
    expect((err as RuncError).message).toMatch(/no such file or directory/);
    expect(await h.runc.state(bad.id)).toBeUndefined();
  });

  it('SIGKILL of a plain sleep reports 137 and the signal', async () => {
    const p = await runContainer('killed', { command: ['sleep', '1000'] });
    expect((await h.runc.state(p.id))?.status).toBe('running');
    await h.runc.kill(p.id, 'SIGKILL');
    expect(await h.runc.waitExit(p.id)).toMatchObject({
      exitCode: 137,
      signal: 'SIGKILL',
      reason: 'Error',
    });
  });

  it('applies cpu and memory limits to the cgroup', async () => {
    const p = await runContainer('limited', {
      command: ['sleep', '1000'],
      resources: { limits: { cpu: 500, memory: 64 * 2 ** 20 }, requests: { cpu: 250 } },
    });
    const cg = p.spec.linux.cgroupsPath;
    const read = async (ctrl: string, file: string) =>
      (await readFile(join(CGROUP_ROOT, ctrl, cg, file), 'utf8')).trim();
    expect(await read('cpu', 'cpu.cfs_quota_us')).toBe('50000');
    expect(await read('cpu', 'cpu.cfs_period_us')).toBe('100000');
    expect(await read('cpu', 'cpu.shares')).toBe('256');
    expect(await read('memory', 'memory.limit_in_bytes')).toBe(String(64 * 2 ** 20));
    // The container sees its own limit through its read-only cgroup mount.
    const r = await h.runc.exec(p.id, ['cat', '/sys/fs/cgroup/memory/memory.limit_in_bytes'], {
      timeoutMs: 10_000,
    });
    expect(r.stdout.trim()).toBe(String(64 * 2 ** 20));
  });

  it('reports an OOM kill as OOMKilled', async () => {
    const p = await runContainer('oom', {
      command: ['tail', '/dev/zero'],
      resources: { limits: { memory: 8 * 2 ** 20 } },
    });
    expect(await h.runc.waitExit(p.id)).toMatchObject({ exitCode: 137, reason: 'OOMKilled' });
  });

  it('exec sees the bind-mounted /etc/hostname and reports exit codes', async () => {
    const hostnameFile = join(h.dir, 'hostname');
    await writeFile(hostnameFile, 'pod-exec\n');
    const p = await runContainer(
      'exec',
      { command: ['sleep', '1000'] },
      { etcFiles: { hostname: hostnameFile } },
    );
    const r = await h.runc.exec(p.id, ['cat', '/etc/hostname'], { timeoutMs: 10_000 });
    expect(r).toEqual({ exitCode: 0, stdout: 'pod-exec\n', stderr: '', timedOut: false });
    expect((await h.runc.exec(p.id, ['hostname'], { timeoutMs: 10_000 })).stdout).toBe('exec\n');
    expect((await h.runc.exec(p.id, ['sh', '-c', 'exit 4'], { timeoutMs: 10_000 })).exitCode).toBe(
      4,
    );
    const slow = await h.runc.exec(p.id, ['sleep', '1000'], { timeoutMs: 300 });
    expect(slow.timedOut).toBe(true);
    expect(slow.exitCode).not.toBe(0);
  });

  it('readOnlyRootFilesystem: writing to / fails', async () => {
    const p = await runContainer('readonly', {
      command: ['sh', '-c', 'touch /x || exit 7'],
      securityContext: { readOnlyRootFilesystem: true },
    });
    expect(await h.runc.waitExit(p.id)).toMatchObject({ exitCode: 7 });
    expect(logContent(await readFile(p.stderrPath))).toMatch(/Read-only file system/);
  });

  it('runs as the given user', async () => {
    const p = await runContainer('user', {
      command: ['sh', '-c', 'id -u; id -g'],
      securityContext: { runAsUser: 65534, runAsGroup: 65534 },
    });
    await h.runc.waitExit(p.id);
    expect(logContent(await readFile(p.stdoutPath))).toBe('65534\n65534\n');
  });

  it('create failures are RuncErrors with runc’s message', async () => {
    const p = await prepare('broken', { command: ['/no/such/binary'] });
    const err = await h.runc.create(p.id, p.bundle, p).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RuncError);
    expect((err as RuncError).operation).toBe('create');
    expect((err as RuncError).message).toMatch(/no such file or directory/);
    expect(await h.runc.state(p.id)).toBeUndefined();

    const missing = await h.runc
      .create('nobundle', join(h.dir, 'no-bundle'), p)
      .catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(RuncError);
    expect((missing as RuncError).message).toMatch(/no-bundle: no such file/);
  });

  it('the container outlives the process that created it', async () => {
    // Compile this folder (and the spawner it uses) for a plain node child
    // (Node 20 cannot load .ts), laid out as in the source tree.
    const top = join(h.dir, 'js-agent');
    const js = join(top, 'runtime');
    await mkdir(js, { recursive: true });
    await writeFile(join(top, 'package.json'), '{"type":"module"}');
    const sources = (await readdir(here))
      .filter((n) => n.endsWith('.ts') && !n.endsWith('.test.ts'))
      .map((n) => ({ from: join(here, n), to: join(js, n) }));
    sources.push({ from: join(here, '..', 'spawner.ts'), to: join(top, 'spawner.ts') });
    for (const { from, to } of sources) {
      const out = ts.transpileModule(await readFile(from, 'utf8'), {
        compilerOptions: {
          module: ts.ModuleKind.ESNext,
          target: ts.ScriptTarget.ES2022,
          verbatimModuleSyntax: true,
        },
      });
      await writeFile(to.replace(/\.ts$/, '.js'), out.outputText);
    }
    await writeFile(
      join(js, 'creator.js'),
      `import { Runc } from './runc.js';
const [root, stateDir, id, bundle, stdoutPath, stderrPath] = process.argv.slice(2);
const runc = new Runc({ root, stateDir });
await runc.create(id, bundle, { stdoutPath, stderrPath });
await runc.start(id);
process.stdout.write('ready\\n');
setInterval(() => {}, 60_000);
`,
    );
    const p = await prepare('orphan', {
      command: ['sh', '-c', 'while true; do echo tick; sleep 0.1; done'],
    });
    const creator: ChildProcess = spawn(
      process.execPath,
      [
        join(js, 'creator.js'),
        h.runc.root,
        h.runc.stateDir,
        p.id,
        p.bundle,
        p.stdoutPath,
        p.stderrPath,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    if (creator.pid !== undefined) h.pids.push(creator.pid);
    await new Promise<void>((res, rej) => {
      creator.stdout?.on('data', (d: Buffer) => d.toString().includes('ready') && res());
      creator.once('exit', (code) => rej(new Error(`creator exited ${code}`)));
    });
    const exited = new Promise((res) => creator.once('exit', res));
    creator.kill('SIGKILL');
    await exited;

    expect((await h.runc.state(p.id))?.status).toBe('running');
    const before = (await stat(p.stdoutPath)).size;
    await eventually(
      async () => ((await stat(p.stdoutPath)).size > before + 20 ? true : undefined),
      'more log lines',
    );
    expect((await h.runc.state(p.id))?.status).toBe('running');

    expect(await h.runc.isMonitored(p.id)).toBe(true);

    // The monitor it left behind still records the exit.
    await h.runc.kill(p.id, 'SIGKILL');
    expect(await h.runc.waitExit(p.id)).toMatchObject({ exitCode: 137 });
    await eventually(
      async () => ((await h.runc.isMonitored(p.id)) ? undefined : true),
      'the monitor to exit',
    );
  });
});
