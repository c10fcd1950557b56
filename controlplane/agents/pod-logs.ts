// GET pods/{name}/log: finds the pod's node and relays the log bytes its
// agent streams back, as text/plain, for as long as the client listens.

import type { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Registry } from '../api/registry/registry.js';
import { findResource } from '../api/resources.js';
import { ApiError } from '../api/status.js';
import { isRecord } from '../api/objects.js';
import type { AgentGateway } from './gateway.js';

const PODS = findResource('', 'v1', 'pods')!;

function intParam(q: Record<string, string | undefined>, name: string, fallback: number): number {
  const v = q[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0)
    throw new ApiError('BadRequest', `${name}: must be a non-negative integer`);
  return n;
}

/** sinceSeconds, or sinceTime (RFC 3339) as whole seconds before now, rounded up; 0 for neither. */
function sinceSecondsParam(q: Record<string, string | undefined>): number {
  const since = intParam(q, 'sinceSeconds', 0);
  const time = q.sinceTime;
  if (time === undefined || time === '') return since;
  if (q.sinceSeconds !== undefined && q.sinceSeconds !== '')
    throw new ApiError('BadRequest', 'at most one of sinceTime or sinceSeconds may be specified');
  const ms = Date.parse(time);
  if (!/^\d{4}-\d\d-\d\dT/.test(time) || Number.isNaN(ms))
    throw new ApiError('BadRequest', `sinceTime: "${time}" is not an RFC 3339 time`);
  // A time in the future shows nothing new yet; one second is the least the agent takes.
  return Math.max(1, Math.ceil((Date.now() - ms) / 1000));
}

export function podLogsHandler(registry: Registry, gateway: AgentGateway) {
  return async (
    req: FastifyRequest,
    reply: FastifyReply,
    namespace: string,
    name: string,
    q: Record<string, string | undefined>,
  ): Promise<void> => {
    const pod = await registry.get(PODS, namespace, name);
    const spec = isRecord(pod.spec) ? pod.spec : {};
    const node = typeof spec.nodeName === 'string' ? spec.nodeName : '';
    const containers = (Array.isArray(spec.containers) ? spec.containers : []).filter(isRecord);
    const names = containers.map((c) => String(c.name));
    let container = q.container ?? '';
    if (!container) {
      if (names.length !== 1) {
        throw new ApiError(
          'BadRequest',
          `a container name must be specified for pod ${name}, choose one of: [${names.join(' ')}]`,
        );
      }
      container = names[0]!;
    }
    if (!node) throw new ApiError('BadRequest', `pod ${name} is not scheduled to a node yet`);
    const sinceSeconds = sinceSecondsParam(q);
    const stream = gateway.requestLogs(node, {
      namespace,
      pod: name,
      uid: pod.metadata.uid ?? '',
      container,
      follow: q.follow === 'true' || q.follow === '1',
      tail_lines: q.tailLines !== undefined ? intParam(q, 'tailLines', -1) : -1,
      since_seconds: sinceSeconds,
      timestamps: q.timestamps === 'true',
      previous: q.previous === 'true',
      limit_bytes: intParam(q, 'limitBytes', 0),
    });
    req.raw.on('close', () => stream.destroy());
    // An agent that cannot read the logs (no previous instance, no such
    // container) says so at once: answer that as kube-apiserver does, a 400
    // Status, rather than a 200 whose body is the error. Headers go out at the
    // first byte, or after a short wait so a quiet `-f` still starts streaming.
    const first = await firstSignal(stream, FIRST_BYTE_WAIT_MS);
    if (first instanceof Error) throw new ApiError('BadRequest', first.message);
    reply.hijack();
    reply.raw.writeHead(200, { 'Content-Type': 'text/plain', 'Transfer-Encoding': 'chunked' });
    stream.on('error', (err) => reply.raw.end(`\n${err.message}\n`));
    stream.pipe(reply.raw);
  };
}

const FIRST_BYTE_WAIT_MS = 1_000;

/** Resolves with the stream's error if it fails before data, end or the wait runs out. */
function firstSignal(stream: Readable, waitMs: number): Promise<Error | undefined> {
  return new Promise((resolve) => {
    const done = (err?: Error): void => {
      clearTimeout(timer);
      stream.off('readable', onReady);
      stream.off('error', done);
      stream.off('close', onReady);
      resolve(err);
    };
    const onReady = (): void => done();
    const timer = setTimeout(onReady, waitMs);
    // 'readable' also fires at the end of an empty stream; peeking does not consume.
    stream.once('readable', onReady);
    stream.once('error', done);
    stream.once('close', onReady);
  });
}
