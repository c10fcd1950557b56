// prom-client's default Node.js metrics (process_cpu_seconds_total,
// nodejs_heap_size_used_bytes, event loop lag, GC, …), collected once per
// process: they describe the process, not a component, and each
// collectDefaultMetrics call installs its own event-loop and GC observers
// that are never removed, so tests starting many control planes in one
// process would pile them up. Every component's /metrics appends this text.

import { Registry, collectDefaultMetrics } from 'prom-client';

let processRegistry: Registry | undefined;

/** The process metrics' exposition text (started on first use). */
export function processMetricsText(): Promise<string> {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry.metrics();
}

/** A component's own registry followed by the process metrics, as one exposition. */
export async function exposition(own: Registry): Promise<string> {
  const [mine, proc] = await Promise.all([own.metrics(), processMetricsText()]);
  return `${mine.endsWith('\n') || mine === '' ? mine : `${mine}\n`}${proc}`;
}
