// Namespace deletion: a namespace marked for deletion is emptied — every
// namespaced object in it deleted — and then its `kubernetes` finalizer is
// cleared, which lets the registry remove it. Level-triggered: on start and on
// every namespace change it looks at all terminating namespaces, so a restart
// half-way through simply finishes the job.

import type { Logger } from 'pino';
import { isRecord, type KubeObject } from '../api/objects.js';
import { ApiError } from '../api/status.js';
import { RESOURCES, findResource } from '../api/resources.js';
import type { Registry } from '../api/registry/registry.js';
import type { WatchHandle } from '../store/types.js';

const NAMESPACES = findResource('', 'v1', 'namespaces')!;
/** How often a namespace whose pods are still terminating is looked at again. */
const RECHECK_MS = 1000;

export class NamespaceController {
  private watch: WatchHandle | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private again = false;
  private stopped = false;

  constructor(
    private readonly registry: Registry,
    private readonly log?: Logger,
  ) {}

  async start(): Promise<void> {
    this.watch = await this.registry.watch(
      NAMESPACES,
      undefined,
      {},
      {
        onEvent: () => this.kick(),
        onError: (err) => {
          this.log?.warn({ err }, 'namespace watch ended; resyncing');
          void this.restartWatch();
        },
      },
    );
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.watch?.close();
  }

  private async restartWatch(): Promise<void> {
    if (this.stopped) return;
    await this.watch?.close().catch(() => undefined);
    await this.start().catch((err: unknown) => {
      this.log?.error({ err }, 'namespace watch failed');
      this.timer = setTimeout(() => void this.restartWatch(), RECHECK_MS);
    });
  }

  /** Runs one sync, or one more after the current if a change came in meanwhile. */
  private kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    this.syncAll()
      .then((pending) => {
        if (pending && !this.stopped) {
          if (this.timer) clearTimeout(this.timer);
          this.timer = setTimeout(() => this.kick(), RECHECK_MS);
        }
      })
      .catch((err: unknown) => this.log?.error({ err }, 'namespace sync failed'))
      .finally(() => {
        this.running = false;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  /** Returns true while some terminating namespace still has content. */
  private async syncAll(): Promise<boolean> {
    const { items } = await this.registry.list(NAMESPACES, undefined);
    let pending = false;
    for (const ns of items) {
      if (ns.metadata.deletionTimestamp && !(await this.reconcile(ns))) pending = true;
    }
    return pending;
  }

  /** Deletes what the namespace holds; clears the finalizer once it is empty. */
  async reconcile(ns: KubeObject): Promise<boolean> {
    const name = ns.metadata.name!;
    let remaining = 0;
    for (const r of RESOURCES) {
      if (!r.namespaced) continue;
      const { items } = await this.registry.list(r, name);
      remaining += items.length;
      for (const item of items) {
        if (item.metadata.deletionTimestamp && r.kind !== 'Pod') continue;
        try {
          await this.registry.delete(r, name, item.metadata.name!, {});
        } catch (err) {
          if (!(err instanceof ApiError && err.reason === 'NotFound')) throw err;
        }
      }
    }
    if (remaining > 0) return false;
    try {
      await this.registry.update(
        NAMESPACES,
        undefined,
        name,
        {
          ...ns,
          metadata: { ...ns.metadata, resourceVersion: undefined },
          spec: { ...(isRecord(ns.spec) ? ns.spec : {}), finalizers: [] },
        },
        { fieldManager: 'shoal-namespace-controller' },
      );
    } catch (err) {
      if (!(err instanceof ApiError && err.reason === 'NotFound')) throw err;
    }
    return true;
  }
}
