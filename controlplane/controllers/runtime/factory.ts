// One informer per resource, shared by every controller that reads it (as
// client-go's SharedInformerFactory): one list+watch per kind however many
// controllers care. Controllers ask for informers, then the manager starts
// them all and waits for their caches before controllers run.

import type { Logger } from 'pino';
import type { Registry } from '../../api/registry/registry.js';
import { findResource, type ResourceInfo } from '../../api/resources.js';
import { Informer } from './informer.js';

export class InformerFactory {
  private readonly informers = new Map<string, Informer>();

  constructor(
    private readonly registry: Registry,
    private readonly log?: Logger,
  ) {}

  for(group: string, version: string, plural: string): Informer {
    const r = findResource(group, version, plural);
    if (!r) throw new Error(`no served resource ${group}/${version}/${plural}`);
    return this.forResource(r);
  }

  forResource(r: ResourceInfo): Informer {
    const key = `${r.group}/${r.version}/${r.plural}`;
    let inf = this.informers.get(key);
    if (!inf) {
      inf = new Informer(this.registry, r, {}, this.log);
      this.informers.set(key, inf);
    }
    return inf;
  }

  async start(): Promise<void> {
    const pending = [...this.informers.values()].filter((i) => !i.hasSynced);
    await Promise.all(pending.map((i) => i.start()));
  }

  async stop(): Promise<void> {
    await Promise.all([...this.informers.values()].map((i) => i.stop()));
  }
}
