// The control plane's side of the agent protocol (proto/shoal/agent/v1).
//
// Join: token + CSR → node certificate. Connect: the agent's one stream. The
// first message must be Register, from the node its certificate names; the
// gateway then writes the Node object, sends the full set of pods bound to
// the node, and follows the pod watch with changes. Status reports and
// termination confirmations are written through the Registry after checking
// the pod is bound to that very node, on the session's copy of the pod from
// that watch (SessionPods in node-pods.ts; etcd is read only when the copy is
// missing or stale). Logs travel back on SendLogs streams, matched to the
// LogRequest that asked for them.

import { randomUUID, timingSafeEqual, createHash } from 'node:crypto';
import { PassThrough, type Readable } from 'node:stream';
import {
  Server,
  status as GrpcStatus,
  experimental,
  type ServerDuplexStream,
  type ServerReadableStream,
  type ServerUnaryCall,
  type sendUnaryData,
  type ServerCredentials,
  type ServiceDefinition,
} from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { loadAgentProtocol } from '../../proto/load.js';
import type { AgentMessage__Output } from '../../proto/generated/shoal/agent/v1/AgentMessage.js';
import type { ControlMessage } from '../../proto/generated/shoal/agent/v1/ControlMessage.js';
import type { JoinRequest__Output } from '../../proto/generated/shoal/agent/v1/JoinRequest.js';
import type { JoinResponse } from '../../proto/generated/shoal/agent/v1/JoinResponse.js';
import type { LogChunk__Output } from '../../proto/generated/shoal/agent/v1/LogChunk.js';
import type { LogAck } from '../../proto/generated/shoal/agent/v1/LogAck.js';
import type { LogRequest } from '../../proto/generated/shoal/agent/v1/LogRequest.js';
import type { Register__Output } from '../../proto/generated/shoal/agent/v1/Register.js';
import type { DesiredPod } from '../../proto/generated/shoal/agent/v1/DesiredPod.js';
import type { ClusterPki } from '../pki/ca.js';
import { nodeNameFromCommonName } from '../pki/names.js';
import { parseJoinToken } from '../pki/join-token.js';
import type { Registry } from '../api/registry/registry.js';
import { findResource } from '../api/resources.js';
import { ApiError } from '../api/status.js';
import { isRecord, withoutManagedFields, type KubeObject } from '../api/objects.js';
import type { WatchHandle } from '../store/types.js';
import { nodeFromRegister, withHeartbeat } from './node-object.js';
import { podReferences } from './pod-references.js';
import { PodEventWriter } from './pod-events.js';
import { PodCidrAllocator } from './pod-cidrs.js';
import { NetworkState } from './network-state.js';
import { NodeHeartbeats } from './node-lease.js';
import { NodePods, SessionPods, findBoundPod, writeBoundPodStatus } from './node-pods.js';
import { MessageLanes } from './message-lanes.js';
import { SentPods } from './sent-pods.js';
import { LocalVolumeReclaim, podVolumes, withVolumeDir } from './volumes.js';
import { claimNamesOf } from '../controllers/volume-match.js';

const PODS = findResource('', 'v1', 'pods')!;
const NODES = findResource('', 'v1', 'nodes')!;
const CONFIGMAPS = findResource('', 'v1', 'configmaps')!;
const SECRETS = findResource('', 'v1', 'secrets')!;

/**
 * The node lease is renewed at most this often from heartbeats. Agents beat
 * every 10 s (the kubelet's renew interval); half of that lets every beat
 * through despite timer jitter, where 10 s would skip every other one.
 */
const HEARTBEAT_WRITE_MS = 5_000;

export interface AgentGatewayOptions {
  registry: Registry;
  pki: ClusterPki;
  joinToken: string;
  /** Nodes get /24s of this as their pod CIDRs (default 10.244.0.0/16). */
  clusterCidr?: string;
  /** Prefix length of each node's pod CIDR (default 24). */
  nodeCidrMaskSize?: number;
  clusterDomain?: string;
  logger?: Logger;
}

type ConnectCall = ServerDuplexStream<AgentMessage__Output, ControlMessage>;

interface Session {
  node: string;
  call: ConnectCall;
  watch?: WatchHandle;
  lastHeartbeatWrite: number;
  /** Sends happen in watch order even though building each one reads etcd. */
  sending: Promise<void>;
  /** Sends queued on `sending` and not yet written: none, and a pod that needs no read is written at once. */
  queued: number;
  /** What the agent was last sent of each pod (sent-pods.ts): its own status reports need no echo. */
  sent: SentPods;
  /** The latest of each pod the watch delivered: reports are checked and written on it, not on a read. */
  pods: SessionPods;
  /** Ends the ClusterNetwork updates to this stream. */
  unsubscribeNetwork?: () => void;
  /** Ends the LocalVolumes updates to this stream. */
  unsubscribeVolumes?: () => void;
}

export class AgentGateway {
  private readonly server = new Server({
    'grpc.keepalive_time_ms': 20_000,
    'grpc.keepalive_timeout_ms': 10_000,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.http2.min_ping_interval_without_data_ms': 5_000,
  });
  private readonly sessions = new Map<string, Session>();
  private readonly logWaiters = new Map<string, PassThrough>();
  private readonly log: Logger | undefined;
  /** Agents' pod events, recorded as the kubelet's (pod-events.ts). */
  private readonly podEvents: PodEventWriter;
  /** Node leases and the rare Node status writes heartbeats still cause. */
  private readonly heartbeats: NodeHeartbeats;
  /** One pod watch for all sessions, dispatched by spec.nodeName. */
  private readonly nodePods: NodePods;

  private readonly podCidrs: PodCidrAllocator;
  private readonly network: NetworkState;
  /** Local volumes being deleted, for their nodes' agents to remove. */
  private readonly localVolumes: LocalVolumeReclaim;

  constructor(private readonly opts: AgentGatewayOptions) {
    this.log = opts.logger;
    this.podEvents = new PodEventWriter(opts.registry, opts.logger);
    this.podCidrs = new PodCidrAllocator({
      registry: opts.registry,
      ...(opts.clusterCidr ? { clusterCidr: opts.clusterCidr } : {}),
      ...(opts.nodeCidrMaskSize ? { nodeMaskSize: opts.nodeCidrMaskSize } : {}),
      ...(opts.logger ? { logger: opts.logger } : {}),
    });
    this.network = new NetworkState({
      registry: opts.registry,
      clusterCidr: this.podCidrs.clusterCidr,
      serviceCidr: opts.registry.services.serviceCidr,
      clusterDns: opts.registry.services.dnsAddress,
      ...(opts.clusterDomain ? { clusterDomain: opts.clusterDomain } : {}),
      ...(opts.logger ? { logger: opts.logger } : {}),
    });
    this.localVolumes = new LocalVolumeReclaim({
      registry: opts.registry,
      ...(opts.logger ? { logger: opts.logger } : {}),
    });
    this.nodePods = new NodePods(opts.registry, opts.logger);
    this.heartbeats = new NodeHeartbeats({
      registry: opts.registry,
      writeStatus: (node, now) => this.writeNodeStatus(node, now),
      ...(opts.logger ? { logger: opts.logger } : {}),
    });
    const proto = loadAgentProtocol().shoal.agent.v1;
    this.server.addService(proto.Join.service, { Join: this.join.bind(this) });
    this.server.addService(encodeNetworkOnce(proto.Agent.service), {
      Connect: this.connect.bind(this),
      SendLogs: this.receiveLogs.bind(this),
    });
  }

  /** Binds host:port (port 0 picks one) and returns the port. */
  async listen(address: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.bindAsync(address, this.credentials(), (err, port) =>
        err ? reject(err) : resolve(port),
      );
    });
  }

  async stop(): Promise<void> {
    for (const s of this.sessions.values()) await s.watch?.close();
    this.sessions.clear();
    await this.network.stop();
    await this.localVolumes.stop();
    await this.podCidrs.stop();
    await this.heartbeats.stop();
    await this.nodePods.stop();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, 2000);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Names of the nodes whose agents are connected to this replica now. */
  connectedNodes(): string[] {
    return [...this.sessions.keys()];
  }

  /**
   * Asks the node's agent for a container's log and returns the stream of its
   * bytes. Ends when the agent sends EOF (or, with follow, when the caller
   * destroys the stream).
   */
  requestLogs(node: string, req: Omit<LogRequest, 'request_id'>): Readable {
    const session = this.sessions.get(node);
    if (!session) {
      throw new ApiError('ServiceUnavailable', `the agent of node "${node}" is not connected`);
    }
    const id = randomUUID();
    const out = new PassThrough();
    this.logWaiters.set(id, out);
    out.on('close', () => this.logWaiters.delete(id));
    session.call.write({ log_request: { ...req, request_id: id } });
    return out;
  }

  // ---- Join ----

  private join(
    call: ServerUnaryCall<JoinRequest__Output, JoinResponse>,
    done: sendUnaryData<JoinResponse>,
  ): void {
    const { token, node_name: node, csr_pem: csr } = call.request;
    if (!sameSecret(parseJoinToken(token).secret, this.opts.joinToken)) {
      this.log?.warn({ node }, 'join refused: wrong token');
      done({
        code: GrpcStatus.UNAUTHENTICATED,
        details: 'join refused: the join token is not valid',
      });
      return;
    }
    this.opts.pki.signNodeCsr(csr, node).then(
      (certificate_pem) => {
        this.log?.info({ node }, 'node joined');
        done(null, { certificate_pem, ca_pem: this.opts.pki.caCertPem });
      },
      (err: unknown) =>
        done({
          code: GrpcStatus.INVALID_ARGUMENT,
          details: `join refused: ${(err as Error).message}`,
        }),
    );
  }

  // ---- Connect ----

  private connect(call: ConnectCall): void {
    const node = this.peerNode(call);
    if (!node) {
      // emit('error') sends the status to the client; destroy() would leave it hanging.
      call.emit(
        'error',
        Object.assign(new Error('a node certificate from Join is required'), {
          code: GrpcStatus.UNAUTHENTICATED,
        }),
      );
      return;
    }
    let session: Session | undefined;
    // One pod's messages in the order sent, different pods' at once
    // (message-lanes.ts); a pod's events in a lane of their own, so its
    // status does not wait for them.
    const lanes = new MessageLanes((err: unknown) =>
      this.log?.error({ err, node }, 'agent message failed'),
    );
    call.on('data', (msg: AgentMessage__Output) => {
      // A heartbeat orders with nothing, and behind a busy node's queued
      // status reports it arrived late enough for the node lifecycle
      // controller to call a live node dead (1,000 hollow nodes under load).
      if (msg.msg === 'heartbeat' && session) {
        this.heartbeat(session).catch((err: unknown) =>
          this.log?.error({ err, node }, 'agent heartbeat failed'),
        );
        return;
      }
      lanes.push(laneOf(msg), async () => {
        const s = await this.onMessage(node, call, msg, session);
        if (s) session = s;
      });
    });
    const end = (): void => {
      if (session && this.sessions.get(node) === session) {
        this.sessions.delete(node);
        this.heartbeats.forget(node);
      }
      session?.unsubscribeNetwork?.();
      session?.unsubscribeVolumes?.();
      void session?.watch?.close();
      session?.pods.clear();
      session?.sent.clear();
      call.end();
    };
    call.on('end', end);
    call.on('error', end);
    call.on('cancelled', end);
  }

  private async onMessage(
    node: string,
    call: ConnectCall,
    msg: AgentMessage__Output,
    session: Session | undefined,
  ): Promise<Session | undefined> {
    switch (msg.msg) {
      case 'register':
        return this.register(node, call, msg.register!);
      case 'heartbeat':
        if (session) await this.heartbeat(session);
        return undefined;
      case 'pod_status': {
        const { namespace, name, uid, status_json } = msg.pod_status!;
        await this.writePodStatus(node, namespace, name, uid, status_json, session?.pods);
        return undefined;
      }
      case 'event':
        await this.podEvents.record(node, msg.event!, session?.pods);
        return undefined;
      case 'volume_reclaimed':
        await this.localVolumes.reclaimed(node, msg.volume_reclaimed!);
        return undefined;
      case 'pod_terminated': {
        const { namespace, name, uid } = msg.pod_terminated!;
        await this.confirmTermination(node, namespace, name, uid, session?.pods);
        return undefined;
      }
      default:
        return undefined;
    }
  }

  private async register(
    node: string,
    call: ConnectCall,
    reg: Register__Output,
  ): Promise<Session | undefined> {
    if (reg.node_name !== node) {
      this.log?.warn(
        { node, claimed: reg.node_name },
        'register refused: node name differs from certificate',
      );
      call.emit(
        'error',
        Object.assign(new Error(`this certificate is for node "${node}", not "${reg.node_name}"`), {
          code: GrpcStatus.PERMISSION_DENIED,
        }),
      );
      return undefined;
    }
    const desired = withVolumeDir(nodeFromRegister(reg, new Date()), reg.volume_dir);
    let existing: KubeObject | undefined;
    try {
      existing = await this.opts.registry.get(NODES, undefined, node);
    } catch (err) {
      if (!(err instanceof ApiError && err.reason === 'NotFound')) throw err;
    }
    let nodeObj: KubeObject;
    if (!existing) {
      const podCIDR = await this.podCidrs.allocate(node);
      const withCidr = {
        ...desired,
        spec: {
          ...(isRecord(desired.spec) ? desired.spec : {}),
          ...(podCIDR ? { podCIDR, podCIDRs: [podCIDR] } : {}),
        },
      };
      try {
        nodeObj = await this.opts.registry.create(NODES, undefined, withCidr, {
          fieldManager: 'shoal-agent',
        });
      } catch (err) {
        if (podCIDR) await this.podCidrs.release(podCIDR, node);
        throw err;
      }
    } else {
      // Labels and taints the agent owns are merged; those set by users stay.
      const spec = isRecord(existing.spec) ? existing.spec : {};
      const merged: KubeObject = {
        ...existing,
        metadata: {
          ...existing.metadata,
          labels: { ...existing.metadata.labels, ...desired.metadata.labels },
          annotations: { ...existing.metadata.annotations, ...desired.metadata.annotations },
        },
        spec: {
          ...spec,
          ...(isRecord(desired.spec) && desired.spec.taints ? { taints: desired.spec.taints } : {}),
        },
      };
      await this.opts.registry.update(NODES, undefined, node, merged, {
        fieldManager: 'shoal-agent',
      });
      nodeObj = await this.opts.registry.update(
        NODES,
        undefined,
        node,
        {
          ...existing,
          metadata: { ...existing.metadata, resourceVersion: undefined },
          status: desired.status,
        },
        { fieldManager: 'shoal-agent', subresource: 'status' },
      );
    }
    const previous = this.sessions.get(node);
    if (previous && previous.call !== call) {
      // A reconnect replaced an old stream: only one stream per node receives pods.
      previous.unsubscribeNetwork?.();
      previous.unsubscribeVolumes?.();
      await previous.watch?.close();
      // No longer kept current: its stream's last reports read etcd instead.
      previous.pods.clear();
      previous.sent.clear();
      previous.call.end();
    }
    const session: Session = {
      node,
      call,
      lastHeartbeatWrite: Date.now(),
      sending: Promise.resolve(),
      queued: 0,
      sent: new SentPods(),
      pods: new SessionPods(node),
    };
    this.sessions.set(node, session);
    await this.heartbeats.registered(nodeObj);
    const nodeSpec = isRecord(nodeObj.spec) ? nodeObj.spec : {};
    call.write({
      registered: {
        node_name: node,
        pod_cidr: typeof nodeSpec.podCIDR === 'string' ? nodeSpec.podCIDR : '',
      },
    });
    // Before the pods, so the agent knows the cluster DNS address when it sets them up.
    session.unsubscribeNetwork = await this.network.subscribe((m) => call.write(m));
    session.unsubscribeVolumes = await this.localVolumes.subscribe(node, (m) => call.write(m));
    session.watch = await this.streamPods(session);
    this.log?.info({ node, running: reg.pods.length }, 'agent registered');
    return session;
  }

  /** Sends the full desired set, then every change to pods bound to the node, from one revision on. */
  private async streamPods(session: Session): Promise<WatchHandle> {
    const opened = await this.nodePods.open(session.node, {
      onEvent: (ev) => {
        // Before the no-echo check below: status-only changes must reach the cache too.
        session.pods.observe(ev);
        const deleted = ev.type === 'DELETED';
        if (deleted) session.sent.forget(ev.object.metadata.uid ?? '');
        // Most pod writes are the agent's own status reports: nothing for it to act on.
        else if (!session.sent.changed(ev.object)) return;
        const type = deleted ? 'DELETE' : 'UPSERT';
        const failed = (err: unknown): void => {
          this.log?.error(
            { err, node: session.node },
            'sending a pod change failed; closing the stream',
          );
          session.call.end();
        };
        // Nothing queued and nothing to read: written now, in watch order all
        // the same, without the queue's promises (most pods refer to nothing).
        if (session.queued === 0) {
          try {
            const pod = deleted ? bare(ev.object) : this.desiredNow(ev.object);
            if (pod) {
              session.call.write({ change: { type, pod } });
              return;
            }
          } catch (err) {
            failed(err);
            return;
          }
        }
        session.queued++;
        session.sending = session.sending
          .then(async () => {
            try {
              const pod = deleted ? bare(ev.object) : await this.desiredPod(ev.object);
              session.call.write({ change: { type, pod } });
            } finally {
              session.queued--;
            }
          })
          .catch(failed);
      },
      onError: (err) => {
        // The agent reconnects and gets a fresh full set: level-triggered.
        this.log?.warn({ err, node: session.node }, 'pod watch ended; closing the agent stream');
        session.call.end();
      },
    });
    try {
      const pods = await Promise.all(
        opened.items.map(async (p) => this.desiredNow(p) ?? this.desiredPod(p)),
      );
      session.sent.listed(opened.items);
      session.pods.listed(opened.items);
      session.call.write({ desired: { pods, resource_version: String(opened.revision) } });
    } catch (err) {
      await opened.handle.close();
      throw err;
    }
    opened.start();
    return opened.handle;
  }

  /**
   * The pod as sent when it refers to no ConfigMap, Secret or claim, built
   * without a read or a promise; undefined when something must be read (desiredPod).
   */
  private desiredNow(pod: KubeObject): DesiredPod | undefined {
    const refs = podReferences(pod);
    if (refs.configMaps.size + refs.secrets.size + refs.pullSecrets.size > 0) return undefined;
    if (claimNamesOf(pod).length > 0) return undefined;
    const desired = bare(pod);
    desired.config_maps_json = [];
    desired.secrets_json = [];
    desired.pull_secrets_json = [];
    desired.persistent_volume_claims_json = [];
    desired.persistent_volumes_json = [];
    return desired;
  }

  /** The pod with the ConfigMaps and Secrets it refers to, as they are now. */
  private async desiredPod(pod: KubeObject): Promise<DesiredPod> {
    const refs = podReferences(pod);
    const ns = pod.metadata.namespace;
    const read = async (r: typeof CONFIGMAPS, names: Set<string>): Promise<string[]> => {
      const out: string[] = [];
      for (const name of names) {
        try {
          out.push(JSON.stringify(await this.opts.registry.get(r, ns, name)));
        } catch (err) {
          // A missing one is the agent's to report (CreateContainerConfigError), as a kubelet does.
          if (!(err instanceof ApiError && err.reason === 'NotFound')) throw err;
        }
      }
      return out;
    };
    return {
      ...bare(pod),
      config_maps_json: await read(CONFIGMAPS, refs.configMaps),
      secrets_json: await read(SECRETS, refs.secrets),
      pull_secrets_json: await read(SECRETS, refs.pullSecrets),
      ...(await podVolumes(this.opts.registry, pod)),
    };
  }

  private async heartbeat(session: Session): Promise<void> {
    const now = Date.now();
    if (now - session.lastHeartbeatWrite < HEARTBEAT_WRITE_MS) return;
    session.lastHeartbeatWrite = now;
    await this.heartbeats.beat(session.node);
  }

  /** Node status with a renewed Ready condition: on changes and every report period only. */
  private async writeNodeStatus(name: string, now: Date): Promise<void> {
    const node = await this.opts.registry.get(NODES, undefined, name);
    await this.opts.registry.update(NODES, undefined, name, withHeartbeat(node, now), {
      fieldManager: 'shoal-agent',
      subresource: 'status',
    });
  }

  /**
   * The pod must exist with that uid and be bound to this node; anything else
   * is refused and logged. The session's copy from the pod watch when it has
   * one (no etcd read), else etcd's.
   */
  private async boundPod(
    node: string,
    namespace: string,
    name: string,
    uid: string,
    pods: SessionPods | undefined,
  ): Promise<KubeObject | undefined> {
    const found = await findBoundPod(this.opts.registry, node, namespace, name, uid, pods);
    if (found?.refused) this.refused(node, namespace, name, found.refused.boundTo);
    return found?.pod;
  }

  private refused(node: string, namespace: string, name: string, boundTo: unknown): void {
    this.log?.warn(
      { node, pod: `${namespace}/${name}`, boundTo },
      'refused a report for a pod not bound to this node',
    );
  }

  private async writePodStatus(
    node: string,
    namespace: string,
    name: string,
    uid: string,
    statusJson: string,
    pods: SessionPods | undefined,
  ): Promise<void> {
    let status: unknown;
    try {
      status = JSON.parse(statusJson);
    } catch {
      this.log?.warn({ node, pod: name }, 'refused malformed pod status');
      return;
    }
    // Checked and written on the session's copy of the pod (a compare-and-swap
    // on its revision); a stale copy is reread, rechecked and written once more.
    const done = await writeBoundPodStatus(
      this.opts.registry,
      node,
      namespace,
      name,
      uid,
      status,
      pods,
    );
    if (done?.refused) this.refused(node, namespace, name, done.refused.boundTo);
  }

  private async confirmTermination(
    node: string,
    namespace: string,
    name: string,
    uid: string,
    pods: SessionPods | undefined,
  ): Promise<void> {
    const pod = await this.boundPod(node, namespace, name, uid, pods);
    if (!pod) return;
    try {
      // The uid precondition is checked on the object the delete reads: a
      // stale copy above can let no other pod of that name go.
      await this.opts.registry.delete(PODS, namespace, name, {
        gracePeriodSeconds: 0,
        preconditions: { uid },
      });
    } catch (err) {
      if (err instanceof ApiError && err.reason === 'NotFound') return;
      // The uid precondition failed: the name now holds another pod (ours went
      // while the session's copy said otherwise), which this node may not end.
      if (err instanceof ApiError && err.reason === 'Conflict') {
        this.refused(node, namespace, name, undefined);
        return;
      }
      throw err;
    }
  }

  // ---- Logs ----

  private receiveLogs(
    call: ServerReadableStream<LogChunk__Output, LogAck>,
    done: sendUnaryData<LogAck>,
  ): void {
    if (!this.peerNode(call)) {
      done({ code: GrpcStatus.UNAUTHENTICATED, details: 'a node certificate is required' });
      return;
    }
    let out: PassThrough | undefined;
    call.on('data', (chunk: LogChunk__Output) => {
      out ??= this.logWaiters.get(chunk.request_id);
      if (!out) {
        done({ code: GrpcStatus.NOT_FOUND, details: 'no such log request' });
        return;
      }
      if (chunk.error) out.destroy(new ApiError('BadRequest', chunk.error));
      else if (chunk.data.length > 0) out.write(chunk.data);
    });
    const finish = (): void => {
      out?.end();
      done(null, {});
    };
    call.on('end', finish);
    call.on('error', () => out?.end());
  }

  // ---- TLS ----

  /**
   * TLS that asks for, but does not demand, a client certificate: Join must
   * work without one. Connect and SendLogs then insist on a certificate the
   * TLS layer verified against the cluster CA (peerNode).
   */
  private credentials(): ServerCredentials {
    const pki = this.opts.pki;
    const identity = {
      // The chain includes the CA, so a joining agent can match it against its token's hash.
      certificate: Buffer.from(pki.servingCertPem.trimEnd() + '\n' + pki.caCertPem),
      privateKey: Buffer.from(pki.servingKeyPem),
    };
    const ca = { caCertificate: Buffer.from(pki.caCertPem) };
    // grpc-js registers its server as a watcher only after adding these
    // listeners, so an answer given synchronously would be lost.
    const provider: experimental.CertificateProvider = {
      addCaCertificateListener: (l) => setImmediate(() => l(ca)),
      removeCaCertificateListener: () => undefined,
      addIdentityCertificateListener: (l) => setImmediate(() => l(identity)),
      removeIdentityCertificateListener: () => undefined,
    };
    return experimental.createCertificateProviderServerCredentials(provider, provider, false);
  }

  private peerNode(call: {
    getAuthContext(): { sslPeerCertificate?: { raw?: Buffer } } | null;
  }): string | undefined {
    const raw = call.getAuthContext()?.sslPeerCertificate?.raw;
    if (!raw) return undefined;
    const verdict = this.opts.pki.verifyClientCert(raw);
    if (!verdict.ok) return undefined;
    return nodeNameFromCommonName(verdict.commonName);
  }
}

/**
 * The pod as a DesiredPod (status included) without what it refers to.
 * managedFields stay behind: they are the API server's bookkeeping, nothing
 * on a node reads them, and they were half of a running pod's JSON.
 */
function bare(pod: KubeObject): DesiredPod {
  return {
    namespace: pod.metadata.namespace ?? '',
    name: pod.metadata.name ?? '',
    uid: pod.metadata.uid ?? '',
    resource_version: pod.metadata.resourceVersion ?? '',
    pod_json: JSON.stringify(withoutManagedFields(pod)),
  };
}

function sameSecret(a: string, b: string): boolean {
  const h = (s: string): Buffer => createHash('sha256').update(s).digest();
  return b !== '' && timingSafeEqual(h(a), h(b));
}

/**
 * The Agent service with a Connect serializer that encodes each cluster
 * network message once, however many streams it is written to: NetworkState
 * hands the same object to every agent. Only those messages are cached (by
 * object identity), since they are never changed after being built; every
 * other message is encoded per write as before.
 */
function encodeNetworkOnce(service: ServiceDefinition): ServiceDefinition {
  const connect = service['Connect'];
  if (!connect) return service;
  const serialize = connect.responseSerialize as (m: ControlMessage) => Buffer;
  const encoded = new WeakMap<ControlMessage, Buffer>();
  const responseSerialize = (m: ControlMessage): Buffer => {
    if (!m.network) return serialize(m);
    let bytes = encoded.get(m);
    if (!bytes) {
      bytes = serialize(m);
      encoded.set(m, bytes);
    }
    return bytes;
  };
  return { ...service, Connect: { ...connect, responseSerialize } };
}

/** The lane of a message (message-lanes.ts): its pod's, its pod's events', or none. */
function laneOf(msg: AgentMessage__Output): string | undefined {
  switch (msg.msg) {
    case 'pod_status':
      return `pod/${msg.pod_status!.uid}`;
    case 'pod_terminated':
      return `pod/${msg.pod_terminated!.uid}`;
    case 'event':
      return `events/${msg.event!.uid}`;
    default:
      return undefined;
  }
}
