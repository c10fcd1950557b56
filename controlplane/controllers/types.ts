// The contract between the controller manager and each controller.

import type { Logger } from 'pino';
import type { Registry } from '../api/registry/registry.js';
import type { InformerFactory } from './runtime/factory.js';
import type { EventRecorder } from './runtime/events.js';

export interface ControllerDeps {
  /** In-process API: the same semantics (validation, defaults, conflicts) as HTTP clients get. */
  registry: Registry;
  /** Shared caches; ask for them in the constructor, read them after start(). */
  informers: InformerFactory;
  events: EventRecorder;
  logger?: Logger;
}

export interface Controller {
  readonly name: string;
  /** Called after every informer has synced; runs until stop(). */
  start(): Promise<void>;
  stop(): Promise<void>;
}
