// The runtime and the image puller with their calls timed: subclasses that
// wrap the public operations, so runc.ts and puller.ts stay free of metrics
// and the pod worker uses them unchanged (it holds a Runc, an ImagePuller).

import { performance } from 'node:perf_hooks';
import {
  Runc,
  type CreateOptions,
  type ExecOptions,
  type ExecResult,
  type RuncOptions,
} from '../runtime/runc.js';
import {
  ImagePuller,
  type ImagePullerOptions,
  type PullOptions,
  type PulledImage,
} from '../images/puller.js';
import type { AgentMetrics } from './agent-metrics.js';

export class InstrumentedRunc extends Runc {
  constructor(
    opts: RuncOptions,
    private readonly metrics: AgentMetrics,
  ) {
    super(opts);
  }

  override create(id: string, bundleDir: string, opts: CreateOptions): Promise<void> {
    return this.metrics.runtimeOperation('create', () => super.create(id, bundleDir, opts));
  }

  override run(id: string, bundleDir: string, opts: CreateOptions): Promise<void> {
    return this.metrics.runtimeOperation('run', () => super.run(id, bundleDir, opts));
  }

  override start(id: string): Promise<void> {
    return this.metrics.runtimeOperation('start', () => super.start(id));
  }

  override kill(id: string, signal?: NodeJS.Signals | number, all?: boolean): Promise<void> {
    return this.metrics.runtimeOperation('kill', () => super.kill(id, signal, all));
  }

  override delete(id: string, opts?: { force?: boolean }): Promise<void> {
    return this.metrics.runtimeOperation('delete', () => super.delete(id, opts));
  }

  /** A non-zero exit is the process's answer (a failed exec probe), not a runtime error. */
  override exec(id: string, args: string[], opts: ExecOptions): Promise<ExecResult> {
    return this.metrics.runtimeOperation('exec', () => super.exec(id, args, opts));
  }
}

export class InstrumentedImagePuller extends ImagePuller {
  constructor(
    opts: ImagePullerOptions,
    private readonly metrics: AgentMetrics,
  ) {
    super(opts);
  }

  override async pull(ref: string, opts?: PullOptions): Promise<PulledImage> {
    const started = performance.now();
    try {
      const image = await super.pull(ref, opts);
      this.metrics.imagePull((performance.now() - started) / 1000, image.size);
      return image;
    } catch (err) {
      this.metrics.imagePull((performance.now() - started) / 1000, undefined);
      throw err;
    }
  }
}
