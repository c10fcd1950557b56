// `?watch=true`: a chunked HTTP response of newline-delimited JSON events, the
// framing kubectl and client-node read. The stream ends at timeoutSeconds,
// when the client goes away, or after an ERROR event (410 Expired makes the
// client relist).

import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../status.js';
import type { ResourceInfo } from '../resources.js';
import type { KubeObject } from '../objects.js';
import type { ListQuery, Registry, WatchEvent } from '../registry/registry.js';
import type { WatchHandle } from '../../store/types.js';

export interface WatchMetrics {
  onEvent?(r: ResourceInfo): void;
  /** A watch opened; onClose follows once for each. */
  onOpen?(r: ResourceInfo): void;
  onClose?(r: ResourceInfo): void;
}

/** How an event's object goes on the wire: as is, or (for kubectl get -w) as a Table row. */
export type WatchEncoder = (object: KubeObject) => unknown;

/** An event line around its object's JSON: what JSON.stringify({ type, object }) writes. */
const EVENT_START: Record<WatchEvent['type'], Buffer> = {
  ADDED: Buffer.from('{"type":"ADDED","object":'),
  MODIFIED: Buffer.from('{"type":"MODIFIED","object":'),
  DELETED: Buffer.from('{"type":"DELETED","object":'),
};
const EVENT_END = Buffer.from('}\n');
/** Each event's line, made once for all the watchers it goes to (the store shares events). */
const eventLines = new WeakMap<WatchEvent, Buffer>();

export async function streamWatch(
  req: FastifyRequest,
  reply: FastifyReply,
  registry: Registry,
  r: ResourceInfo,
  namespace: string | undefined,
  q: ListQuery,
  query: Record<string, string | undefined>,
  /** Undefined: the object as it is. */
  encode: WatchEncoder | undefined,
  metrics: WatchMetrics = {},
): Promise<void> {
  const timeout = query.timeoutSeconds !== undefined ? Number(query.timeoutSeconds) : 0;
  if (!Number.isFinite(timeout) || timeout < 0) {
    throw new ApiError('BadRequest', `invalid timeoutSeconds: ${query.timeoutSeconds}`);
  }
  const raw = reply.raw;
  // Events before the stream is open (the initial ADDED set) are buffered.
  const pending: (string | Buffer)[] = [];
  let open = false;
  let closed = false;
  const write = (line: string | Buffer): void => {
    if (closed) return;
    if (!open) pending.push(line);
    else raw.write(line);
  };
  const send = (ev: WatchEvent): void => {
    metrics.onEvent?.(r);
    if (!encode && ev.json) {
      let line = eventLines.get(ev);
      if (!line) {
        line = Buffer.concat([EVENT_START[ev.type], ...ev.json(), EVENT_END]);
        eventLines.set(ev, line);
      }
      write(line);
      return;
    }
    const object = encode ? encode(ev.object) : ev.object;
    write(JSON.stringify({ type: ev.type, object }) + '\n');
  };
  let timer: NodeJS.Timeout | undefined;
  // Set once the watch is open; finish() may run before that.
  let handle: WatchHandle | undefined;
  const release = (): void => {
    if (!handle) return;
    metrics.onClose?.(r);
    void handle.close().catch(() => undefined);
    handle = undefined;
  };
  const finish = (): void => {
    if (closed) return;
    closed = true;
    if (timer) clearTimeout(timer);
    if (open && !raw.writableEnded) raw.end();
    release();
  };

  // Listened for before the watch starts: its initial list can take a while,
  // and a client that leaves meanwhile must not leave the watch open.
  let left = false;
  const leave = (): void => {
    left = true;
    finish();
  };
  req.raw.on('close', leave);
  raw.on('error', leave);

  handle = await registry.watch(r, namespace, q, {
    onEvent: send,
    onError: (err) => {
      write(JSON.stringify({ type: 'ERROR', object: err.toStatus() }) + '\n');
      finish();
    },
  });
  metrics.onOpen?.(r);
  reply.hijack();
  // It failed as it started, or its client left.
  if (closed) release();
  if (left) return;
  raw.writeHead(200, {
    'Content-Type': 'application/json',
    'Cache-Control': 'no-cache, private',
    'Transfer-Encoding': 'chunked',
  });
  open = true;
  for (const line of pending) raw.write(line);
  pending.length = 0;
  if (closed) {
    // The watch failed as it started (e.g. 410 Expired): the ERROR event is the whole answer.
    raw.end();
    return;
  }
  // Send headers now so clients see the watch established even if idle.
  raw.flushHeaders();
  if (timeout > 0) timer = setTimeout(finish, timeout * 1000);
}
