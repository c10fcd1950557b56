// The agent's end of Agent.Connect: dial, register, heartbeat, and hand what
// the control plane sends to the agent. When the stream breaks it redials
// with capped exponential backoff and registers again; since every register
// is answered with the full desired set, nothing the stream missed matters.

import { type ClientDuplexStream, type ClientWritableStream } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { loadAgentProtocol } from '../proto/load.js';
import type { AgentClient } from '../proto/generated/shoal/agent/v1/Agent.js';
import type { AgentMessage } from '../proto/generated/shoal/agent/v1/AgentMessage.js';
import type { ControlMessage__Output } from '../proto/generated/shoal/agent/v1/ControlMessage.js';
import type { DesiredPod__Output } from '../proto/generated/shoal/agent/v1/DesiredPod.js';
import type { LogChunk } from '../proto/generated/shoal/agent/v1/LogChunk.js';
import type { LogAck__Output } from '../proto/generated/shoal/agent/v1/LogAck.js';
import type { LogRequest__Output } from '../proto/generated/shoal/agent/v1/LogRequest.js';
import type { Register } from '../proto/generated/shoal/agent/v1/Register.js';
import type { RegisterAck__Output } from '../proto/generated/shoal/agent/v1/RegisterAck.js';
import type { NodeConfig__Output } from '../proto/generated/shoal/agent/v1/NodeConfig.js';
import type { ClusterNetwork__Output } from '../proto/generated/shoal/agent/v1/ClusterNetwork.js';
import type { LocalVolumes__Output } from '../proto/generated/shoal/agent/v1/LocalVolumes.js';
import { CHANNEL_OPTIONS, channelCredentials, type NodeCredentials } from './join.js';

export interface ConnectionHandlers {
  /** What to register with: called on every (re)connect, so it reports the pods running now. */
  registration(): Promise<Register>;
  onRegistered(ack: RegisterAck__Output): void;
  /** The complete set of pods for this node; anything else must stop. */
  onDesired(pods: DesiredPod__Output[]): void;
  onUpsert(pod: DesiredPod__Output): void;
  onDelete(pod: DesiredPod__Output): void;
  onLogRequest(req: LogRequest__Output): void;
  /** Cluster DNS settings; sent before the pods on every register. */
  onNodeConfig?(cfg: NodeConfig__Output): void;
  /** The whole cluster network (nodes, Services, Endpoints): on register and after changes. */
  onNetwork?(net: ClusterNetwork__Output): void;
  /** Local volumes of this node to remove: on register and after changes. */
  onLocalVolumes?(volumes: LocalVolumes__Output): void;
}

export interface ConnectionOptions {
  server: string;
  credentials: NodeCredentials;
  handlers: ConnectionHandlers;
  heartbeatMs?: number;
  logger?: Logger;
}

const BACKOFF_MIN_MS = 200;
const BACKOFF_MAX_MS = 10_000;

export class AgentConnection {
  private readonly client: AgentClient;
  private stream: ClientDuplexStream<AgentMessage, ControlMessage__Output> | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private retry: NodeJS.Timeout | undefined;
  private backoff = BACKOFF_MIN_MS;
  private stopped = false;
  private registered = false;

  constructor(private readonly opts: ConnectionOptions) {
    const proto = loadAgentProtocol().shoal.agent.v1;
    this.client = new proto.Agent(
      opts.server,
      channelCredentials(opts.credentials.caPem, opts.credentials),
      CHANNEL_OPTIONS,
    );
  }

  get connected(): boolean {
    return this.registered;
  }

  start(): void {
    this.dial();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.stream?.cancel();
    this.client.close();
  }

  /** Sends if connected; otherwise drops it: the agent resends every status after it registers. */
  send(msg: AgentMessage): boolean {
    if (!this.stream || !this.registered) return false;
    this.stream.write(msg);
    return true;
  }

  openLogStream(): ClientWritableStream<LogChunk> {
    return this.client.SendLogs((err: unknown, _ack?: LogAck__Output) => {
      if (err) this.opts.logger?.debug({ err }, 'log stream ended');
    });
  }

  private dial(): void {
    if (this.stopped) return;
    const stream = this.client.Connect();
    this.stream = stream;
    this.registered = false;
    let ended = false;
    const onEnd = (reason: unknown): void => {
      if (ended) return;
      ended = true;
      if (this.heartbeat) clearInterval(this.heartbeat);
      this.registered = false;
      if (this.stream === stream) this.stream = undefined;
      if (this.stopped) return;
      this.opts.logger?.warn(
        { reason: String(reason), retryMs: this.backoff },
        'disconnected from the control plane',
      );
      this.retry = setTimeout(() => this.dial(), this.backoff);
      this.backoff = Math.min(this.backoff * 2, BACKOFF_MAX_MS);
    };
    stream.on('data', (msg: ControlMessage__Output) => this.onMessage(msg));
    stream.on('error', (err: Error) => onEnd(err.message));
    stream.on('end', () => onEnd('stream ended'));
    this.opts.handlers.registration().then(
      (register) => {
        if (!ended) stream.write({ register });
      },
      (err: unknown) => {
        this.opts.logger?.error({ err }, 'cannot build registration');
        stream.cancel();
      },
    );
  }

  private onMessage(msg: ControlMessage__Output): void {
    const h = this.opts.handlers;
    switch (msg.msg) {
      case 'registered':
        this.registered = true;
        this.backoff = BACKOFF_MIN_MS;
        if (this.heartbeat) clearInterval(this.heartbeat);
        this.heartbeat = setInterval(() => {
          this.stream?.write({ heartbeat: { unix_millis: String(Date.now()) } });
        }, this.opts.heartbeatMs ?? 5000);
        h.onRegistered(msg.registered!);
        break;
      case 'desired':
        h.onDesired(msg.desired!.pods);
        break;
      case 'change':
        if (msg.change!.type === 'DELETE') h.onDelete(msg.change!.pod!);
        else h.onUpsert(msg.change!.pod!);
        break;
      case 'log_request':
        h.onLogRequest(msg.log_request!);
        break;
      case 'node_config':
        h.onNodeConfig?.(msg.node_config!);
        break;
      case 'network':
        h.onNetwork?.(msg.network!);
        break;
      case 'local_volumes':
        h.onLocalVolumes?.(msg.local_volumes!);
        break;
      default:
        break;
    }
  }
}
