// EtcdSupervisor against Debian's real etcd: start, supervision after a crash,
// restart on the same data, orphan reaping, and failures that leave nothing running.

import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EtcdError } from './errors.js';
import { isHealthy } from './health.js';
import { EtcdSupervisor, LOG_FILE, MEMBER_FILE, type EtcdSupervisorOptions } from './supervisor.js';

let dir: string;
const supervisors: EtcdSupervisor[] = [];
const servers: Server[] = [];

function supervisor(opts: Partial<EtcdSupervisorOptions> = {}): EtcdSupervisor {
  const s = new EtcdSupervisor({ dataDir: dir, stopGraceMs: 5_000, ...opts });
  supervisors.push(s);
  return s;
}

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function put(endpoints: string[], key: string, value: string): Promise<void> {
  const client = new Etcd3({ hosts: endpoints });
  try {
    await client.put(key).value(value);
  } finally {
    client.close();
  }
}

async function get(endpoints: string[], key: string): Promise<string | null> {
  const client = new Etcd3({ hosts: endpoints });
  try {
    return await client.get(key).string();
  } finally {
    client.close();
  }
}

async function occupy(port: number): Promise<void> {
  // Leftover gRPC channels of closed etcd3 clients may still dial the old
  // port; a connection held open would keep server.close() waiting.
  const server = createServer((socket) => socket.destroy());
  servers.push(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port }, () => resolve());
  });
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shoal-etcd-sup-'));
});

afterEach(async () => {
  for (const s of supervisors.splice(0)) await s.stop();
  for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

describe('EtcdSupervisor', () => {
  it('starts a healthy etcd on loopback that stores data, logging to etcd.log', async () => {
    const s = supervisor();
    const { endpoints } = await s.start();

    expect(endpoints).toHaveLength(1);
    expect(endpoints[0]).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await isHealthy(endpoints[0]!)).toBe(true);
    expect(s.pid).toBeGreaterThan(0);
    await put(endpoints, '/t/a', 'one');
    expect(await get(endpoints, '/t/a')).toBe('one');

    expect((await stat(join(dir, 'etcd', 'member'))).isDirectory()).toBe(true);
    expect((await stat(join(dir, 'etcd'))).mode & 0o777).toBe(0o700);
    expect(await readFile(join(dir, LOG_FILE), 'utf8')).toContain('serving client traffic');
    const member = JSON.parse(await readFile(join(dir, MEMBER_FILE), 'utf8'));
    expect(endpoints[0]).toBe(`http://127.0.0.1:${member.clientPort}`);
    // A second start while running is the same etcd.
    expect(await s.start()).toEqual({ endpoints });
  });

  it('restarts etcd after kill -9, on the same endpoint and with the data intact', async () => {
    const s = supervisor();
    const { endpoints } = await s.start();
    await put(endpoints, '/t/crash', 'kept');
    const first = s.pid!;

    process.kill(first, 'SIGKILL');

    await expect.poll(() => s.pid !== undefined && s.pid !== first, { timeout: 30_000 }).toBe(true);
    expect(running(first)).toBe(false);
    expect(await isHealthy(endpoints[0]!)).toBe(true);
    expect(await get(endpoints, '/t/crash')).toBe('kept');
    expect(s.endpoints).toEqual(endpoints);
  });

  it('stop() leaves no process, and a new start on the same dir keeps data and ports', async () => {
    const s = supervisor();
    const { endpoints } = await s.start();
    await put(endpoints, '/t/persist', 'yes');
    const pid = s.pid!;

    await s.stop();
    expect(running(pid)).toBe(false);
    expect(s.pid).toBeUndefined();
    expect(await isHealthy(endpoints[0]!)).toBe(false);
    await s.stop(); // idempotent

    const again = supervisor();
    expect(await again.start()).toEqual({ endpoints });
    expect(await get(endpoints, '/t/persist')).toBe('yes');
  });

  it('chooses new ports when the saved ones are taken, keeping the data', async () => {
    const s = supervisor();
    const { endpoints } = await s.start();
    await put(endpoints, '/t/moved', 'still');
    await s.stop();
    const member = JSON.parse(await readFile(join(dir, MEMBER_FILE), 'utf8'));
    await occupy(member.clientPort);

    const again = supervisor();
    const moved = await again.start();

    expect(moved.endpoints).not.toEqual(endpoints);
    expect(await get(moved.endpoints, '/t/moved')).toBe('still');
    const saved = JSON.parse(await readFile(join(dir, MEMBER_FILE), 'utf8'));
    expect(moved.endpoints[0]).toBe(`http://127.0.0.1:${saved.clientPort}`);
    expect(saved.name).toBe(member.name);
  });

  it('fails with AddressInUse, leaving nothing running, when a port given in the options is taken', async () => {
    const s = supervisor();
    const { endpoints } = await s.start();
    const port = Number(new URL(endpoints[0]!).port);
    await s.stop();
    await occupy(port);

    const fixed = supervisor({ clientPort: port });
    const err = await fixed.start().catch((e: unknown) => e);

    expect(err).toBeInstanceOf(EtcdError);
    expect((err as EtcdError).type).toBe('AddressInUse');
    expect(fixed.pid).toBeUndefined();
  });

  it('stops an orphaned etcd left running on its data directory before starting', async () => {
    const s = supervisor();
    const { endpoints } = await s.start();
    await put(endpoints, '/t/orphan', 'reaped');
    await s.stop();
    const member = JSON.parse(await readFile(join(dir, MEMBER_FILE), 'utf8'));
    // What a control plane killed with SIGKILL leaves behind: etcd still running.
    const orphan = spawn(
      'etcd',
      [
        `--name=${member.name}`,
        `--data-dir=${join(dir, 'etcd')}`,
        `--listen-client-urls=${endpoints[0]}`,
        `--advertise-client-urls=${endpoints[0]}`,
        `--listen-peer-urls=http://127.0.0.1:${member.peerPort}`,
      ],
      { stdio: 'ignore' },
    );
    const orphanExit = new Promise((resolve) => orphan.once('exit', resolve));
    try {
      await expect.poll(() => isHealthy(endpoints[0]!), { timeout: 30_000 }).toBe(true);

      const again = supervisor();
      expect(await again.start()).toEqual({ endpoints });

      await orphanExit;
      expect(again.pid).not.toBe(orphan.pid);
      expect(await get(endpoints, '/t/orphan')).toBe('reaped');
    } finally {
      orphan.kill('SIGKILL');
    }
  });

  it('fails with SpawnFailed for a missing binary and Exited, with the log, for a bad flag', async () => {
    const missing = supervisor({ etcdBinary: join(dir, 'no-such-etcd') });
    const spawnErr = await missing.start().catch((e: unknown) => e);
    expect(spawnErr).toBeInstanceOf(EtcdError);
    expect((spawnErr as EtcdError).type).toBe('SpawnFailed');

    const bad = supervisor({ extraArgs: ['--no-such-flag'] });
    const exitErr = await bad.start().catch((e: unknown) => e);
    expect(exitErr).toBeInstanceOf(EtcdError);
    expect((exitErr as EtcdError).type).toBe('Exited');
    expect((exitErr as Error).message).toContain('no-such-flag');
    expect(bad.pid).toBeUndefined();
  });
});
