// Answers a LogRequest: reads the container's log file (the current instance,
// or the previous one), applies tailLines/limitBytes, sends it on a SendLogs
// stream, and with follow keeps sending what the container appends until it
// stops or the caller goes away. Container output is kept raw (the container
// process writes the file itself), so timestamps and sinceSeconds cannot be
// honoured line by line; they are reported as unsupported.

import { open, stat } from 'node:fs/promises';
import type { ClientWritableStream } from '@grpc/grpc-js';
import type { LogRequest__Output } from '../proto/generated/shoal/agent/v1/LogRequest.js';
import type { LogChunk } from '../proto/generated/shoal/agent/v1/LogChunk.js';
import type { PodManager } from './pods/pod-manager.js';

const FOLLOW_POLL_MS = 200;
const CHUNK = 64 * 1024;

function tail(text: Buffer, lines: number): Buffer {
  if (lines < 0) return text;
  let end = text.length;
  if (end > 0 && text[end - 1] === 0x0a) end--;
  let count = 0;
  for (let i = end - 1; i >= 0; i--) {
    if (text[i] === 0x0a && ++count === lines) return text.subarray(i + 1);
  }
  return lines === 0 ? Buffer.alloc(0) : text;
}

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
    let out = tail(all, Number(req.tail_lines));
    const limit = Number(req.limit_bytes);
    if (limit > 0 && out.length > limit) out = out.subarray(0, limit);
    // The first message names the request even when the log is empty.
    stream.write({ request_id: id, data: Buffer.alloc(0) });
    for (let i = 0; i < out.length; i += CHUNK)
      stream.write({ request_id: id, data: out.subarray(i, i + CHUNK) });
    let offset = size;
    while (req.follow && !closed && !req.previous) {
      await new Promise((r) => setTimeout(r, FOLLOW_POLL_MS));
      const now = (await stat(file)).size;
      if (now > offset) {
        const buf = Buffer.alloc(now - offset);
        await handle.read(buf, 0, buf.length, offset);
        offset = now;
        stream.write({ request_id: id, data: buf });
      }
      // The container stopped (or was replaced): its log is complete.
      const latest = worker.logFiles(req.container);
      if (!latest.running || latest.current !== file) break;
    }
  } finally {
    await handle.close();
    if (!closed) stream.end();
  }
}
