// GET pods/{name}/log: finds the pod's node and relays the log bytes its
// agent streams back, as text/plain, for as long as the client listens.

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
    const stream = gateway.requestLogs(node, {
      namespace,
      pod: name,
      uid: pod.metadata.uid ?? '',
      container,
      follow: q.follow === 'true' || q.follow === '1',
      tail_lines: q.tailLines !== undefined ? intParam(q, 'tailLines', -1) : -1,
      since_seconds: intParam(q, 'sinceSeconds', 0),
      timestamps: q.timestamps === 'true',
      previous: q.previous === 'true',
      limit_bytes: intParam(q, 'limitBytes', 0),
    });
    req.raw.on('close', () => stream.destroy());
    reply.hijack();
    reply.raw.writeHead(200, { 'Content-Type': 'text/plain', 'Transfer-Encoding': 'chunked' });
    stream.on('error', (err) => reply.raw.end(`\n${err.message}\n`));
    stream.pipe(reply.raw);
  };
}
