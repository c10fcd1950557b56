// The controller manager's lifecycle against a real etcd: controllers start
// only once their caches have synced; stop() stops them and the informers;
// a second start() builds everything afresh; a failed start undoes itself.

import { beforeAll, describe, expect, it } from 'vitest';
import type { Registry } from '../api/registry/registry.js';
import { useHarness } from './workload-test-fixture.js';
import { findResource } from '../api/resources.js';
import type { Informer } from './runtime/informer.js';
import { ControllerManager } from './manager.js';
import type { Controller, ControllerDeps } from './types.js';

const CONFIGMAPS = findResource('', 'v1', 'configmaps')!;

const h = useHarness();
let registry: Registry;

beforeAll(() => {
  registry = h.api;
});

/** Records what it saw: the cache at start, and every add its informer delivered. */
class DummyController implements Controller {
  readonly name = 'dummy';
  readonly informer: Informer;
  syncedAtStart = false;
  namesAtStart: string[] = [];
  readonly added: string[] = [];
  running = false;

  constructor(
    deps: ControllerDeps,
    private readonly failStart = false,
  ) {
    this.informer = deps.informers.for('', 'v1', 'configmaps');
    this.informer.on({ add: (o) => this.added.push(o.metadata.name ?? '') });
  }

  async start(): Promise<void> {
    if (this.failStart) throw new Error('cannot start');
    this.syncedAtStart = this.informer.hasSynced;
    this.namesAtStart = this.informer
      .list()
      .map((o) => o.metadata.name ?? '')
      .sort();
    this.running = true;
  }

  async stop(): Promise<void> {
    this.running = false;
  }
}

async function configMap(name: string): Promise<void> {
  await registry.create(CONFIGMAPS, 'default', { metadata: { name }, data: { a: '1' } });
}

async function until(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('ControllerManager', () => {
  it('starts controllers after sync, stops them with their informers, and starts afresh', async () => {
    await configMap('before-start');
    const built: DummyController[] = [];
    const manager = new ControllerManager({
      registry,
      controllers: [
        (deps) => {
          const c = new DummyController(deps);
          built.push(c);
          return c;
        },
      ],
    });

    await manager.start();
    expect(manager.isRunning).toBe(true);
    const first = built[0]!;
    expect(first.running).toBe(true);
    expect(first.syncedAtStart).toBe(true);
    expect(first.namesAtStart).toContain('before-start');
    await manager.start(); // already running: nothing new is built
    expect(built).toHaveLength(1);

    await manager.stop();
    expect(manager.isRunning).toBe(false);
    expect(first.running).toBe(false);
    await configMap('while-stopped');

    await manager.start();
    const second = built[1]!;
    expect(second).toBeDefined();
    expect(second.running).toBe(true);
    expect(second.namesAtStart).toEqual(expect.arrayContaining(['before-start', 'while-stopped']));
    await configMap('after-restart');
    await until('the new informer to see the new object', () =>
      second.added.includes('after-restart'),
    );
    // The first term's informer stopped watching: it heard of neither later object.
    expect(first.added).not.toContain('while-stopped');
    expect(first.added).not.toContain('after-restart');
    await manager.stop();
  });

  it('a stop() issued during start() wins once start() is done', async () => {
    const built: DummyController[] = [];
    const manager = new ControllerManager({
      registry,
      controllers: [
        (deps) => {
          const c = new DummyController(deps);
          built.push(c);
          return c;
        },
      ],
    });
    const starting = manager.start();
    const stopping = manager.stop();
    await Promise.all([starting, stopping]);
    expect(manager.isRunning).toBe(false);
    expect(built[0]?.running).toBe(false);
  });

  it('a controller that fails to start undoes the whole start', async () => {
    const built: DummyController[] = [];
    const manager = new ControllerManager({
      registry,
      controllers: [
        (deps) => {
          const c = new DummyController(deps);
          built.push(c);
          return c;
        },
        (deps) => new DummyController(deps, true),
      ],
    });
    await expect(manager.start()).rejects.toThrow('cannot start');
    expect(manager.isRunning).toBe(false);
    expect(built[0]?.running).toBe(false);
    // And it can be started again later (here it fails the same way, cleanly).
    await expect(manager.start()).rejects.toThrow('cannot start');
  });
});
