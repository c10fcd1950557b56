// Leader election against a real etcd: one leader among two; resigning hands
// over at once; a leader killed with SIGKILL (a child process) is replaced
// after its lease runs out; a leader cut off from etcd steps down before
// anyone else can be elected.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startEtcd, type TestEtcd } from '../../test/support/etcd.js';
import { LeaderElector } from './election.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '../..');
const TTL = 3;

let etcd: TestEtcd;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  etcd = await startEtcd();
});

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

afterAll(async () => {
  await etcd?.stop();
});

/** Every elector of a test records here, so a second concurrent leader shows up as a violation. */
class Observer {
  readonly active = new Set<string>();
  readonly log: string[] = [];
  violations = 0;

  elector(name: string, identity: string, endpoints = etcd.endpoints): LeaderElector {
    const e = new LeaderElector({
      endpoints,
      name,
      identity,
      ttlSeconds: TTL,
      onStartedLeading: async () => {
        this.active.add(identity);
        if (this.active.size > 1) this.violations++;
        this.log.push(`start ${identity}`);
      },
      onStoppedLeading: async () => {
        this.active.delete(identity);
        this.log.push(`stop ${identity}`);
      },
    });
    cleanups.push(() => e.stop());
    return e;
  }
}

async function until(what: string, check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('LeaderElector', () => {
  it('elects exactly one of two and hands over at once when the leader resigns', async () => {
    const o = new Observer();
    const a = o.elector('one-of-two', 'a');
    const b = o.elector('one-of-two', 'b');
    a.start();
    b.start();
    await until('a leader', () => a.isLeader || b.isLeader);
    const [leader, follower] = a.isLeader ? [a, b] : [b, a];
    const [leaderId, followerId] = a.isLeader ? ['a', 'b'] : ['b', 'a'];
    expect(follower.isLeader).toBe(false);
    expect(leader.leaderElectionMasterStatus).toBe(1);
    expect(follower.leaderElectionMasterStatus).toBe(0);
    await until('the follower to see the leader', () => follower.leader === leaderId);

    await leader.stop();
    expect(leader.isLeader).toBe(false);
    await until('the follower to take over', () => follower.isLeader);
    expect(o.violations).toBe(0);
    expect(o.log).toEqual([`start ${leaderId}`, `stop ${leaderId}`, `start ${followerId}`]);
  });

  it('a leader killed with SIGKILL is replaced once its lease expires', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'shoal-elector-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    // The elector as plain JS next to a node_modules link, so a bare `node` can run it.
    const source = await readFile(join(HERE, 'election.ts'), 'utf8');
    const js = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    }).outputText;
    await writeFile(join(dir, 'election.js'), js);
    await writeFile(join(dir, 'package.json'), '{"type":"module"}');
    await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    await writeFile(
      join(dir, 'child.js'),
      `import { LeaderElector } from './election.js';
const [endpoints, ttl] = process.argv.slice(2);
const e = new LeaderElector({
  endpoints: endpoints.split(','), name: 'kill-9', identity: 'child', ttlSeconds: Number(ttl),
  onStartedLeading: async () => { process.stdout.write('LEADING\\n'); },
  onStoppedLeading: async () => { process.stdout.write('STOPPED\\n'); },
});
e.start();
`,
    );
    const child: ChildProcess = spawn(
      process.execPath,
      [join(dir, 'child.js'), etcd.endpoints.join(','), String(TTL)],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    cleanups.push(async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    });
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    await until('the child to lead', () => out.includes('LEADING'));

    const o = new Observer();
    const survivor = o.elector('kill-9', 'survivor');
    survivor.start();
    await until('the survivor to see the child lead', () => survivor.leader === 'child');
    expect(survivor.isLeader).toBe(false);

    child.kill('SIGKILL');
    await exited;
    await until('the survivor to take over', () => survivor.isLeader, (TTL + 10) * 1000);
    expect(out).not.toContain('STOPPED');
  });

  it('a leader cut off from etcd steps down before another is elected', async () => {
    // A TCP proxy between one elector and etcd, which the test cuts.
    const target = new URL(etcd.endpoints[0]!);
    const sockets = new Set<Socket>();
    let cut = false;
    const proxy: Server = createServer((client) => {
      if (cut) return client.destroy();
      const upstream = connect(Number(target.port), target.hostname);
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
        s.on('error', () => s.destroy());
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    cleanups.push(async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => proxy.close(() => r()));
    });
    const address = proxy.address();
    if (!address || typeof address === 'string') throw new Error('proxy has no port');

    const o = new Observer();
    const isolated = o.elector('partition', 'isolated', [`http://127.0.0.1:${address.port}`]);
    isolated.start();
    await until('the proxied elector to lead', () => isolated.isLeader);
    const other = o.elector('partition', 'other');
    other.start();
    await until('the other to see the leader', () => other.leader === 'isolated');

    cut = true;
    for (const s of sockets) s.destroy();
    await until('the other to take over', () => other.isLeader, (TTL + 10) * 1000);
    expect(isolated.isLeader).toBe(false);
    expect(o.violations).toBe(0);
    expect(o.log).toEqual(['start isolated', 'stop isolated', 'start other']);
  });

  it('refuses a TTL etcd cannot hold', () => {
    const base = {
      endpoints: ['http://127.0.0.1:1'],
      name: 'x',
      identity: 'y',
      onStartedLeading: async () => undefined,
      onStoppedLeading: async () => undefined,
    };
    expect(() => new LeaderElector({ ...base, ttlSeconds: 1 })).toThrow(RangeError);
    expect(() => new LeaderElector({ ...base, ttlSeconds: 2.5 })).toThrow(RangeError);
  });
});
