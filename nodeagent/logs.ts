// Answers a LogRequest: reads the container's log file (the current instance,
// or the previous one), in the CRI format the container's monitor writes
// (runtime/log-format.ts), applies sinceSeconds, tailLines, timestamps and
// limitBytes as the kubelet does, sends it on a SendLogs stream, and with
// follow keeps sending what the container appends until it stops or the
// caller goes away. Files in the old raw format read as lines without times.

import { open, stat } from 'node:fs/promises';
import type { ClientWritableStream } from '@grpc/grpc-js';
import type { LogRequest__Output } from '../proto/generated/shoal/agent/v1/LogRequest.js';
import type { LogChunk } from '../proto/generated/shoal/agent/v1/LogChunk.js';
import type { PodManager } from './pods/pod-manager.js';
import { joinLines, LogRenderer, parseRecords, selectLines } from './runtime/log-format.js';

const FOLLOW_POLL_MS = 200;
const CHUNK = 64 * 1024;

export async function serveLogs(
  req: LogRequest__Output,
  pods: PodManager,
  openStream: () => ClientWritableStream<LogChunk>,
): Promise<void> {
  const stream = openStream();
  const id = req.request_id;
  let closed = false;
  stream.on('error', () => (closed = true));
  const fail = (error: string): void => {
    stream.write({ request_id: id, error });
    stream.end();
  };
  const worker = pods.worker(req.namespace, req.pod, req.uid || undefined);
  if (!worker) return fail(`pod "${req.pod}" is not running on this node`);
  const files = worker.logFiles(req.container);
  const file = req.previous ? files.previous : (files.current ?? files.previous);
  if (!file) {
    return fail(
      req.previous
        ? `previous terminated container "${req.container}" in pod "${req.pod}" not found`
        : `container "${req.container}" in pod "${req.pod}" is waiting to start`,
    );
  }
  let handle;
  try {
    handle = await open(file, 'r');
  } catch {
    return fail(`container "${req.container}" in pod "${req.pod}" has no log yet`);
  }
  try {
    const size = (await handle.stat()).size;
    const all = Buffer.alloc(size);
    await handle.read(all, 0, size, 0);
    const since = Number(req.since_seconds);
    const sinceMs = since > 0 ? Date.now() - since * 1000 : undefined;
    const { records, rest } = parseRecords(all);
    const lines = selectLines(joinLines(records), {
      ...(sinceMs !== undefined ? { sinceMs } : {}),
      tailLines: Number(req.tail_lines),
    });
    const render = new LogRenderer(req.timestamps);
    const limit = Number(req.limit_bytes);
    let budget = limit > 0 ? limit : Infinity;
    const send = (data: Buffer): void => {
      const part = data.length > budget ? data.subarray(0, budget) : data;
      budget -= part.length;
      for (let i = 0; i < part.length; i += CHUNK)
        stream.write({ request_id: id, data: part.subarray(i, i + CHUNK) });
    };
    // The first message names the request even when the log is empty.
    stream.write({ request_id: id, data: Buffer.alloc(0) });
    send(Buffer.concat(lines.map((l) => render.line(l))));
    // An unfinished record (a write in progress) is read again with the rest.
    let offset = size - rest.length;
    while (req.follow && !closed && !req.previous && budget > 0) {
      await new Promise((r) => setTimeout(r, FOLLOW_POLL_MS));
      // Checked before reading: the monitor has written the last line by the
      // time the container counts as stopped (it drains before its exit file).
      const latest = worker.logFiles(req.container);
      const done = !latest.running || latest.current !== file;
      const now = (await stat(file)).size;
      if (now > offset) {
        const buf = Buffer.alloc(now - offset);
        await handle.read(buf, 0, buf.length, offset);
        const parsed = parseRecords(buf);
        offset = now - parsed.rest.length;
        send(Buffer.concat(parsed.records.map((r) => render.record(r))));
      }
      // The container stopped (or was replaced): its log is complete.
      if (done) break;
    }
  } finally {
    await handle.close();
    if (!closed) stream.end();
  }
}
