// Raw gRPC clients of the agent protocol for tests that play the agent's part
// by hand (or a misbehaving agent): one Join call, one Agent.Connect stream
// whose messages and final status the test can inspect.

import {
  credentials,
  Metadata,
  status as GrpcStatus,
  type ChannelCredentials,
  type ClientDuplexStream,
  type StatusObject,
} from '@grpc/grpc-js';
import { loadAgentProtocol } from '../../proto/load.js';
import type { AgentClient } from '../../proto/generated/shoal/agent/v1/Agent.js';
import type { AgentMessage } from '../../proto/generated/shoal/agent/v1/AgentMessage.js';
import type { ControlMessage__Output } from '../../proto/generated/shoal/agent/v1/ControlMessage.js';
import type { JoinRequest } from '../../proto/generated/shoal/agent/v1/JoinRequest.js';
import type { JoinResponse__Output } from '../../proto/generated/shoal/agent/v1/JoinResponse.js';
import type { LogAck__Output } from '../../proto/generated/shoal/agent/v1/LogAck.js';
import type { LogChunk } from '../../proto/generated/shoal/agent/v1/LogChunk.js';
import type { Register } from '../../proto/generated/shoal/agent/v1/Register.js';
import { CHANNEL_OPTIONS } from '../../nodeagent/join.js';

/** TLS to the gateway trusting `caPem`, presenting a client certificate when one is given. */
export function tlsCredentials(
  caPem: string,
  client?: { certPem: string; keyPem: string },
): ChannelCredentials {
  return credentials.createSsl(
    Buffer.from(caPem),
    client ? Buffer.from(client.keyPem) : null,
    client ? Buffer.from(client.certPem) : null,
  );
}

/** What a unary call ended with: the response, or the status it failed with. */
export type UnaryOutcome<T> = { ok: true; value: T } | { ok: false; status: StatusObject };

/** One Join call, as it travels; never throws for a gRPC error status. */
export async function rawJoin(
  server: string,
  creds: ChannelCredentials,
  req: JoinRequest,
): Promise<UnaryOutcome<JoinResponse__Output>> {
  const proto = loadAgentProtocol().shoal.agent.v1;
  const client = new proto.Join(server, creds, CHANNEL_OPTIONS);
  try {
    return await new Promise((resolve) => {
      client.Join(req, { deadline: Date.now() + 15_000 }, (err, out) => {
        if (err) resolve({ ok: false, status: err });
        else if (!out)
          resolve({
            ok: false,
            status: { code: GrpcStatus.UNKNOWN, details: 'no response', metadata: new Metadata() },
          });
        else resolve({ ok: true, value: out });
      });
    });
  } finally {
    client.close();
  }
}

/** One SendLogs stream carrying `chunks`; never throws for a gRPC error status. */
export async function rawSendLogs(
  server: string,
  creds: ChannelCredentials,
  chunks: LogChunk[],
): Promise<UnaryOutcome<LogAck__Output>> {
  const proto = loadAgentProtocol().shoal.agent.v1;
  const client: AgentClient = new proto.Agent(server, creds, CHANNEL_OPTIONS);
  try {
    return await new Promise((resolve) => {
      const call = client.SendLogs({ deadline: Date.now() + 15_000 }, (err, out) => {
        if (err) resolve({ ok: false, status: err });
        else resolve({ ok: true, value: out ?? {} });
      });
      call.on('error', () => undefined);
      for (const c of chunks) call.write(c);
      call.end();
    });
  } finally {
    client.close();
  }
}

export interface RawAgentStream {
  stream: ClientDuplexStream<AgentMessage, ControlMessage__Output>;
  /** Every message the control plane sent on this stream, in order. */
  received: ControlMessage__Output[];
  /** The status the stream ended with (OK included), once it ends. */
  ended: Promise<StatusObject>;
  send(msg: AgentMessage): void;
  /** The first message of that kind (already received or yet to come), or a timeout error. */
  next(
    kind: NonNullable<ControlMessage__Output['msg']>,
    timeoutMs?: number,
  ): Promise<ControlMessage__Output>;
  close(): void;
}

/** Opens Agent.Connect; nothing is sent until the caller sends (usually a Register). */
export function openAgentStream(server: string, creds: ChannelCredentials): RawAgentStream {
  const proto = loadAgentProtocol().shoal.agent.v1;
  const client: AgentClient = new proto.Agent(server, creds, CHANNEL_OPTIONS);
  const stream = client.Connect();
  const received: ControlMessage__Output[] = [];
  const waiters: (() => void)[] = [];
  stream.on('data', (msg: ControlMessage__Output) => {
    received.push(msg);
    for (const w of waiters.splice(0)) w();
  });
  // A non-OK status is also emitted as 'error'; 'status' carries it either way.
  stream.on('error', () => undefined);
  const ended = new Promise<StatusObject>((resolve) => stream.on('status', resolve));
  let closed = false;
  return {
    stream,
    received,
    ended,
    send: (msg) => {
      stream.write(msg);
    },
    next: (kind, timeoutMs = 15_000) =>
      new Promise((resolve, reject) => {
        const check = (): boolean => {
          const found = received.find((m) => m.msg === kind);
          if (found) {
            clearTimeout(timer);
            resolve(found);
          }
          return found !== undefined;
        };
        const timer = setTimeout(
          () => reject(new Error(`no "${kind}" message within ${timeoutMs} ms`)),
          timeoutMs,
        );
        if (check()) return;
        const wait = (): void => {
          if (!check()) waiters.push(wait);
        };
        waiters.push(wait);
        void ended.then(() => {
          if (!check()) {
            clearTimeout(timer);
            reject(new Error(`the stream ended before a "${kind}" message`));
          }
        });
      }),
    close: () => {
      if (closed) return;
      closed = true;
      stream.cancel();
      client.close();
    },
  };
}

/** A plausible Register for `nodeName` (what an agent sends, minus real host facts). */
export function registration(nodeName: string): Register {
  const resources = { cpu_millis: 2000, memory_bytes: 2 ** 31, pods: 110 };
  return {
    node_name: nodeName,
    labels: { 'kubernetes.io/hostname': nodeName, 'kubernetes.io/os': 'linux' },
    capacity: resources,
    allocatable: resources,
    addresses: [{ type: 'InternalIP', address: '127.0.0.1' }],
    node_info: { os: 'linux', architecture: 'amd64', container_runtime_version: 'runc://test' },
    pods: [],
  };
}
