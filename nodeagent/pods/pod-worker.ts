// One pod on this node, from first sight to the last file removed.
//
// sync() is level-triggered and idempotent: the pod manager calls it when the
// desired pod changes and on every tick. Each call looks at what runs (runc
// state, exit files) and takes the next step: set the pod up (network,
// volumes, /etc files), run init containers in order, then start, watch and
// restart app containers per restartPolicy with the kubelet's backoff. What
// must survive an agent restart — restart counts, the current container of
// each name, when it started, how the last one ended — is checkpointed in
// the pod's directory, so a new agent process picks the pod up where the
// old one left it, without touching its running containers.

import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { KubeObject } from '../../controlplane/api/objects.js';
import type { ImagePuller, PulledImage } from '../images/puller.js';
import { ImagePullError } from '../images/errors.js';
import { credentialsFromSecret, type DockerConfigSecret } from '../images/dockerconfigjson.js';
import { parseImageReference } from '../images/reference.js';
import type { PodNetwork } from '../network/pod-network.js';
import type { Runc } from '../runtime/runc.js';
import { buildRuntimeSpec, cgroupsPathFor } from '../runtime/spec.js';
import { mountRootfs, unmount } from '../runtime/overlay.js';
import { prepareBundle, removeBundle } from '../runtime/bundle.js';
import { removeCgroup } from '../runtime/cgroups.js';
import type { ContainerSpec, ResourceQuantities } from '../runtime/types.js';
import {
  computePodStatus,
  type ContainerRuntimeState,
  type RuntimeContainerState,
} from './status.js';
import { resolveEnv } from './env.js';
import { cleanupVolumes, mountsFor, prepareVolumes, type PreparedVolumes } from './volumes.js';
import { ProbeWorker, runProbe, type ProbeKind, type ProbeResult } from './probes.js';
import type { RestartBackoff } from './backoff.js';
import { crashLoopMessage } from './backoff.js';
import { parseQuantity, quantityMilliValue, quantityValue } from './quantity.js';
import { podSpec, type Container, type PodStatus } from './types.js';
import {
  containerFieldPath,
  kubeletEvents,
  type PodEventInput,
  type PodEventSink,
} from '../events.js';

/** What the pod manager hands every worker: the node's shared machinery. */
export interface WorkerContext {
  nodeName: string;
  hostIP: string;
  /** Where this agent keeps pods: <dataDir>/pods (paths.ts). */
  podsDir: string;
  /** Where container bundles go, on the agent's tmpfs (paths.ts). */
  bundlesDir: string;
  cgroupParent: string;
  runc: Runc;
  images: ImagePuller;
  network: () => PodNetwork | undefined;
  backoff: RestartBackoff;
  /** The cluster DNS address and domain, once the control plane has sent them. */
  clusterDns?: () => { nameserver: string; domain: string } | undefined;
  logger?: Logger;
  /** Called whenever the computed status may have changed. */
  onStatus: (worker: PodWorker) => void;
  /** Where the kubelet's events about the pod go (events.ts). */
  events?: PodEventSink;
  /** Every probe run's result, for metrics (prober_probe_total); must not throw. */
  probeResult?: (
    pod: KubeObject,
    container: string,
    kind: ProbeKind,
    result: ProbeResult['result'],
  ) => void;
}

/** How one container of the pod stands, as checkpointed. */
interface ContainerRecord {
  restartCount: number;
  /** The runc id of the current (or last) instance. */
  id?: string;
  imageID?: string;
  startedAt?: string;
  terminated?: Terminated;
  lastTerminated?: Terminated;
  /** Not checkpointed: why it is not running right now. */
  waiting?: { reason: string; message?: string };
}

interface Terminated {
  exitCode: number;
  reason: string;
  message?: string;
  startedAt?: string;
  finishedAt: string;
}

interface Checkpoint {
  pod: KubeObject;
  containers: Record<string, ContainerRecord>;
  startTime?: string;
  podIP?: string;
  netnsPath?: string;
  configMaps?: KubeObject[];
  secrets?: KubeObject[];
  pullSecrets?: KubeObject[];
  claims?: KubeObject[];
  persistentVolumes?: KubeObject[];
}

export interface DesiredPodInput {
  pod: KubeObject;
  configMaps: KubeObject[];
  secrets: KubeObject[];
  pullSecrets: KubeObject[];
  /** The pod's PersistentVolumeClaims and the PersistentVolumes bound to them. */
  claims?: KubeObject[];
  persistentVolumes?: KubeObject[];
}

const CHECKPOINT = 'checkpoint.json';

function now(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function cpuMillis(v: unknown): number | undefined {
  const q = v === undefined ? undefined : parseQuantity(v as string | number);
  return q ? Number(quantityMilliValue(q)) : undefined;
}

function bytes(v: unknown): number | undefined {
  const q = v === undefined ? undefined : parseQuantity(v as string | number);
  return q ? Number(quantityValue(q)) : undefined;
}

function quantities(r: Record<string, unknown> | undefined): ResourceQuantities | undefined {
  if (!r) return undefined;
  const out: ResourceQuantities = {};
  const cpu = cpuMillis(r.cpu);
  const memory = bytes(r.memory);
  if (cpu !== undefined) out.cpu = cpu;
  if (memory !== undefined) out.memory = memory;
  return out;
}

export class PodWorker {
  readonly uid: string;
  readonly dir: string;
  private state: Checkpoint;
  private volumes: PreparedVolumes | undefined;
  private setUpError: string | undefined;
  private readonly probes = new Map<
    string,
    { readiness?: ProbeWorker; liveness?: ProbeWorker; startup?: ProbeWorker }
  >();
  private readonly readiness = new Map<string, boolean>();
  private readonly started = new Map<string, boolean>();
  /** When each container's last image pull failed (pulls back off like restarts). */
  private readonly pullFailedAt = new Map<string, number>();
  private syncing: Promise<void> | undefined;
  private again = false;
  private terminating: Promise<void> | undefined;
  private lastStatus: PodStatus | undefined;
  /** True once everything the pod had on this node is gone. */
  finished = false;

  private constructor(
    private readonly ctx: WorkerContext,
    state: Checkpoint,
  ) {
    this.state = state;
    this.uid = state.pod.metadata.uid!;
    this.dir = join(ctx.podsDir, this.uid);
  }

  static create(ctx: WorkerContext, input: DesiredPodInput): PodWorker {
    return new PodWorker(ctx, {
      pod: input.pod,
      containers: {},
      configMaps: input.configMaps,
      secrets: input.secrets,
      pullSecrets: input.pullSecrets,
      claims: input.claims ?? [],
      persistentVolumes: input.persistentVolumes ?? [],
    });
  }

  /** The worker of a pod this agent ran before it restarted, from its checkpoint. */
  static async restore(ctx: WorkerContext, podDir: string): Promise<PodWorker | undefined> {
    try {
      const state = JSON.parse(await readFile(join(podDir, CHECKPOINT), 'utf8')) as Checkpoint;
      return state.pod.metadata.uid ? new PodWorker(ctx, state) : undefined;
    } catch {
      return undefined;
    }
  }

  get pod(): KubeObject {
    return this.state.pod;
  }

  get podIP(): string | undefined {
    return this.state.podIP;
  }

  /**
   * A container's log files: the newest instance's (running or finished),
   * the one before it, and whether the newest is still running.
   */
  logFiles(container: string): { current?: string; previous?: string; running: boolean } {
    const rec = this.state.containers[container];
    if (!rec) return { running: false };
    const file = (attempt: number): string => join(this.dir, 'logs', container, `${attempt}.log`);
    const started = rec.id !== undefined || rec.terminated !== undefined;
    return {
      ...(started ? { current: file(rec.restartCount) } : {}),
      ...(rec.restartCount > 0 ? { previous: file(rec.restartCount - 1) } : {}),
      running: rec.id !== undefined && !rec.terminated,
    };
  }

  /** Image IDs its containers came from, and the references its spec names: image GC keeps both. */
  images(): { ids: string[]; refs: string[] } {
    const spec = podSpec(this.state.pod);
    const refs = [...(spec.initContainers ?? []), ...(spec.containers ?? [])]
      .map((c) => c.image ?? '')
      .filter((r) => r !== '');
    const ids = Object.values(this.state.containers)
      .map((r) => r.imageID)
      .filter((id): id is string => id !== undefined);
    return { ids, refs };
  }

  update(input: DesiredPodInput): void {
    this.state.pod = input.pod;
    this.state.configMaps = input.configMaps;
    this.state.secrets = input.secrets;
    this.state.pullSecrets = input.pullSecrets;
    this.state.claims = input.claims ?? [];
    this.state.persistentVolumes = input.persistentVolumes ?? [];
  }

  /** Runs one sync now, or right after the one in progress. */
  sync(): Promise<void> {
    if (this.syncing) {
      this.again = true;
      return this.syncing;
    }
    this.syncing = this.doSync()
      .catch((err: unknown) => this.ctx.logger?.error({ err, pod: this.name() }, 'pod sync failed'))
      .finally(() => {
        this.syncing = undefined;
        if (this.again) {
          this.again = false;
          void this.sync();
        }
      });
    return this.syncing;
  }

  /**
   * Stops every container (SIGTERM, then SIGKILL after the grace period) and
   * removes all the pod had on this node. Idempotent.
   */
  terminate(gracePeriodSeconds?: number): Promise<void> {
    this.terminating ??= this.doTerminate(gracePeriodSeconds).finally(() => {
      this.finished = true;
    });
    return this.terminating;
  }

  status(): PodStatus {
    const spec = podSpec(this.state.pod);
    const toRuntime = (c: Container): ContainerRuntimeState => {
      const rec = this.state.containers[c.name] ?? { restartCount: 0 };
      let state: RuntimeContainerState;
      if (rec.id && !rec.terminated && rec.startedAt)
        state = { running: { startedAt: rec.startedAt } };
      else if (rec.terminated && !rec.waiting) state = { terminated: rec.terminated };
      else
        state = {
          waiting: rec.waiting ?? {
            reason: 'ContainerCreating',
          },
        };
      const out: ContainerRuntimeState = {
        name: c.name,
        image: c.image ?? '',
        state,
        restartCount: rec.restartCount,
        ready: this.readiness.get(c.name) ?? !c.readinessProbe,
      };
      if (rec.imageID) out.imageID = rec.imageID;
      if (rec.id) out.containerID = `runc://${rec.id}`;
      if (rec.lastTerminated) out.lastState = { terminated: rec.lastTerminated };
      if (c.startupProbe) out.started = this.started.get(c.name) ?? false;
      return out;
    };
    const status = computePodStatus({
      pod: this.state.pod,
      initContainers: (spec.initContainers ?? []).map(toRuntime),
      containers: (spec.containers ?? []).map(toRuntime),
      hostIP: this.ctx.hostIP,
      now: now(),
      ...(this.state.podIP ? { podIP: this.state.podIP } : {}),
      ...(this.state.startTime ? { startTime: this.state.startTime } : {}),
      ...(this.lastStatus ? { previous: this.lastStatus } : {}),
    });
    this.lastStatus = status;
    return status;
  }

  // ---- sync ----

  private name(): string {
    return `${this.state.pod.metadata.namespace ?? ''}/${this.state.pod.metadata.name ?? ''}`;
  }

  /** Reports an event about one of the pod's containers. */
  private event(container: string, ev: PodEventInput): void {
    this.ctx.events?.(this.state.pod, {
      ...ev,
      fieldPath: containerFieldPath(this.state.pod, container),
    });
  }

  private async doSync(): Promise<void> {
    if (this.terminating) return;
    const changed = await this.syncContainers();
    await this.checkpoint();
    if (changed) this.ctx.onStatus(this);
  }

  private async setUp(): Promise<boolean> {
    if (this.volumes && this.state.podIP) return true;
    const network = this.ctx.network();
    if (!network) return false;
    this.state.startTime ??= now();
    await mkdir(this.dir, { recursive: true });
    // Independent of each other, and the CNI plugins are the slowest step of a
    // pod start: the volumes are prepared while they run.
    const [net, prepared] = await Promise.all([
      network.setUp(this.uid, { portMappings: this.portMappings() }),
      prepareVolumes({
        pod: this.state.pod,
        podDir: this.dir,
        configMaps: byName(this.state.configMaps),
        secrets: byName(this.state.secrets),
        claims: byName(this.state.claims),
        persistentVolumes: byName(this.state.persistentVolumes),
        nodeName: this.ctx.nodeName,
      }),
    ]);
    this.state.podIP = net.ip;
    this.state.netnsPath = net.netnsPath;
    if ('error' in prepared) {
      this.setUpError = prepared.error;
      return false;
    }
    this.setUpError = undefined;
    this.volumes = prepared.volumes;
    await this.writeEtcFiles();
    return true;
  }

  private portMappings(): { hostPort: number; containerPort: number; protocol: 'tcp' | 'udp' }[] {
    const out: { hostPort: number; containerPort: number; protocol: 'tcp' | 'udp' }[] = [];
    for (const c of podSpec(this.state.pod).containers ?? []) {
      for (const p of c.ports ?? []) {
        if (p.hostPort)
          out.push({
            hostPort: p.hostPort,
            containerPort: p.containerPort,
            protocol: p.protocol === 'UDP' ? 'udp' : 'tcp',
          });
      }
    }
    return out;
  }

  private async writeEtcFiles(): Promise<void> {
    const meta = this.state.pod.metadata;
    const spec = podSpec(this.state.pod);
    const hostname = spec.hostname || meta.name || 'pod';
    const etc = join(this.dir, 'etc');
    await mkdir(etc, { recursive: true });
    await writeFile(join(etc, 'hostname'), `${hostname}\n`);
    await writeFile(
      join(etc, 'hosts'),
      `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n${this.state.podIP ?? ''}\t${hostname}\n`,
    );
    // dnsPolicy ClusterFirst (the default): the cluster DNS and Kubernetes' search path.
    const dnsPolicy = (spec as { dnsPolicy?: string }).dnsPolicy;
    const dns = dnsPolicy === 'Default' ? undefined : this.ctx.clusterDns?.();
    const ns = meta.namespace ?? 'default';
    const resolv = dns
      ? `search ${ns}.svc.${dns.domain} svc.${dns.domain} ${dns.domain}\nnameserver ${dns.nameserver}\noptions ndots:5\n`
      : await readFile('/etc/resolv.conf', 'utf8').catch(() => '');
    await writeFile(join(etc, 'resolv.conf'), resolv);
  }

  /** Returns true when anything visible in the status may have changed. */
  private async syncContainers(): Promise<boolean> {
    const spec = podSpec(this.state.pod);
    const before = JSON.stringify(this.state.containers);
    if (!(await this.setUp())) {
      const reason = this.setUpError ? 'CreateContainerConfigError' : 'ContainerCreating';
      for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
        this.record(c.name).waiting = {
          reason,
          ...(this.setUpError ? { message: this.setUpError } : {}),
        };
      }
      return before !== JSON.stringify(this.state.containers);
    }
    const restartPolicy = spec.restartPolicy ?? 'Always';

    // Init containers, in order; each must succeed before the next starts.
    let initDone = true;
    for (const c of spec.initContainers ?? []) {
      await this.observe(c);
      const rec = this.record(c.name);
      if (rec.terminated?.exitCode === 0 && !rec.id) continue;
      if (rec.terminated && rec.terminated.exitCode === 0) continue;
      initDone = false;
      if (rec.id && !rec.terminated) break; // still running
      if (rec.terminated && restartPolicy === 'Never') break; // the pod has failed
      await this.startOrBackOff(c, rec.terminated !== undefined);
      break;
    }
    if (initDone) {
      for (const c of spec.containers ?? []) {
        await this.observe(c);
        const rec = this.record(c.name);
        if (rec.id && !rec.terminated) continue;
        if (rec.terminated) {
          const again =
            restartPolicy === 'Always' ||
            (restartPolicy === 'OnFailure' && rec.terminated.exitCode !== 0);
          if (!again) continue;
          await this.startOrBackOff(c, true);
        } else {
          await this.startOrBackOff(c, false);
        }
      }
    }
    // A probe's verdict changed since the last sync: report once, then forget it.
    const probed = this.probeChanged;
    this.probeChanged = false;
    return before !== JSON.stringify(this.state.containers) || probed;
  }

  private probeChanged = false;

  private record(name: string): ContainerRecord {
    return (this.state.containers[name] ??= { restartCount: 0 });
  }

  /** Notices a container that exited since the last look. */
  private async observe(c: Container): Promise<void> {
    const rec = this.record(c.name);
    if (!rec.id || rec.terminated) return;
    // Its monitor still runs: no exit yet, and no `runc state` process needed to know it.
    if (await this.ctx.runc.isMonitored(rec.id)) return;
    const exit = await this.ctx.runc.exitStatus(rec.id);
    if (!exit) {
      const st = await this.ctx.runc.state(rec.id);
      if (st) return;
      // Gone without an exit record (the machine rebooted, or someone deleted it).
      rec.terminated = {
        exitCode: 137,
        reason: 'Unknown',
        finishedAt: now(),
        ...(rec.startedAt ? { startedAt: rec.startedAt } : {}),
      };
    } else {
      rec.terminated = {
        exitCode: exit.exitCode,
        reason: exit.reason,
        finishedAt: exit.finishedAt.toISOString().replace(/\.\d{3}Z$/, 'Z'),
        ...(rec.startedAt ? { startedAt: rec.startedAt } : {}),
      };
    }
    if (rec.terminated.reason === 'OOMKilled') this.event(c.name, kubeletEvents.oomKilled(c.name));
    this.stopProbes(c.name);
    await this.removeInstance(rec.id, c.name);
    this.ctx.logger?.info(
      { pod: this.name(), container: c.name, exit: rec.terminated },
      'container exited',
    );
  }

  /** Starts a container, or waits out its crash-loop backoff. */
  private async startOrBackOff(c: Container, isRestart: boolean): Promise<void> {
    const rec = this.record(c.name);
    const key = `${this.uid}/${c.name}`;
    if (isRestart && rec.terminated) {
      const decision = this.ctx.backoff.shouldRestart(
        key,
        Date.parse(rec.terminated.finishedAt),
        Date.now(),
      );
      if (!decision.restart) {
        this.event(c.name, kubeletEvents.crashBackOff(c.name, this.state.pod));
        rec.waiting = {
          reason: 'CrashLoopBackOff',
          message: crashLoopMessage(decision.backoffMs, c.name, this.state.pod.metadata),
        };
        return;
      }
    }
    // A failed pull is retried after the kubelet's backoff (10 s doubling to 5 min).
    const pullKey = `${key}#pull`;
    const pullFailedAt = this.pullFailedAt.get(c.name);
    if (
      pullFailedAt !== undefined &&
      this.ctx.backoff.isInBackOffSince(pullKey, pullFailedAt, Date.now())
    ) {
      rec.waiting = { reason: 'ImagePullBackOff', message: rec.waiting?.message ?? '' };
      this.event(c.name, kubeletEvents.pullBackOff(c.image ?? ''));
      this.event(c.name, kubeletEvents.error('ImagePullBackOff'));
      return;
    }
    let image: PulledImage;
    try {
      image = await this.pullImage(c);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      rec.waiting = { reason: 'ErrImagePull', message };
      this.event(c.name, kubeletEvents.pullFailed(message));
      this.event(c.name, kubeletEvents.error('ErrImagePull'));
      this.pullFailedAt.set(c.name, Date.now());
      this.ctx.backoff.next(pullKey, Date.now());
      return;
    }
    this.pullFailedAt.delete(c.name);
    this.ctx.backoff.reset(pullKey);
    const env = resolveEnv(c, {
      pod: this.state.pod,
      configMaps: byName(this.state.configMaps),
      secrets: byName(this.state.secrets),
      nodeName: this.ctx.nodeName,
      hostIP: this.ctx.hostIP,
      ...(this.state.podIP ? { podIP: this.state.podIP } : {}),
    });
    if ('error' in env) {
      rec.waiting = { reason: 'CreateContainerConfigError', message: env.error };
      this.event(c.name, kubeletEvents.error(env.error));
      return;
    }
    if (isRestart) {
      if (rec.terminated) rec.lastTerminated = rec.terminated;
      rec.restartCount += 1;
    }
    const attempt = rec.restartCount;
    const id = `${this.uid}-${c.name}-${attempt}`;
    // The writable layer stays with the pod; the bundle (config.json and the
    // rootfs mount point) is runtime state, on the agent's tmpfs (paths.ts).
    const instanceDir = join(this.dir, 'containers', `${c.name}-${attempt}`);
    const bundleDir = join(this.ctx.bundlesDir, id);
    const rootfs = join(bundleDir, 'rootfs');
    try {
      // mountRootfs makes upper, work and rootfs.
      await rm(instanceDir, { recursive: true, force: true });
      await rm(bundleDir, { recursive: true, force: true });
      await mountRootfs({
        lowerDirs: image.layerDirs,
        upperDir: join(instanceDir, 'upper'),
        workDir: join(instanceDir, 'work'),
        target: rootfs,
      });
      const mounts = mountsFor(c, this.volumes ?? new Map(), env.env);
      const [hostname, userDb] = await Promise.all([
        readFile(join(this.dir, 'etc', 'hostname'), 'utf8'),
        readUserDb(rootfs),
      ]);
      const spec = buildRuntimeSpec({
        container: this.containerSpec(c, env.env),
        image: image.config,
        podUid: this.uid,
        hostname: hostname.trim(),
        cgroupParent: this.ctx.cgroupParent,
        namespaces: this.state.netnsPath ? { network: this.state.netnsPath } : {},
        mounts: mounts.map((m) => ({
          source: m.source,
          destination: m.destination,
          readOnly: m.readOnly,
        })),
        etcFiles: {
          hosts: join(this.dir, 'etc', 'hosts'),
          resolvConf: join(this.dir, 'etc', 'resolv.conf'),
          hostname: join(this.dir, 'etc', 'hostname'),
        },
        userDb,
      });
      await prepareBundle({ bundleDir, spec, rootfsMount: rootfs });
      const log = join(this.dir, 'logs', c.name, `${attempt}.log`);
      // create and start in one runc process (Runc.run): a pod start is
      // mostly process spawns, and on a busy node they queue for the CPU.
      await this.ctx.runc.run(id, bundleDir, { stdoutPath: log, stderrPath: log });
      rec.id = id;
      rec.imageID = image.configDigest;
      rec.startedAt = now();
      delete rec.terminated;
      delete rec.waiting;
      // At once, so an agent that dies now finds its running container on restart.
      await this.checkpoint();
      this.event(c.name, kubeletEvents.created(c.name));
      this.event(c.name, kubeletEvents.started(c.name));
      this.startProbes(c);
      this.ctx.logger?.info({ pod: this.name(), container: c.name, attempt }, 'container started');
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.ctx.logger?.warn({ err, pod: this.name(), container: c.name }, 'container start failed');
      await this.removeInstance(id, c.name).catch(() => undefined);
      delete rec.id;
      rec.terminated = { exitCode: 128, reason: 'StartError', message, finishedAt: now() };
      this.event(c.name, kubeletEvents.error(message));
    }
  }

  private containerSpec(c: Container, env: { name: string; value: string }[]): ContainerSpec {
    const out: ContainerSpec = { name: c.name, image: c.image ?? '', env };
    if (c.command) out.command = c.command;
    if (c.args) out.args = c.args;
    if (c.workingDir) out.workingDir = c.workingDir;
    const res = c.resources;
    if (res) {
      const limits = quantities(res.limits);
      const requests = quantities(res.requests);
      out.resources = { ...(limits ? { limits } : {}), ...(requests ? { requests } : {}) };
    }
    if (c.securityContext) out.securityContext = c.securityContext;
    return out;
  }

  private async pullImage(c: Container): Promise<PulledImage> {
    const ref = c.image ?? '';
    const policy = c.imagePullPolicy ?? 'IfNotPresent';
    if (policy !== 'Always') {
      const have = await this.ctx.images.has(ref);
      if (have) {
        this.event(c.name, kubeletEvents.alreadyPresent(ref));
        return have;
      }
      if (policy === 'Never') {
        throw new ImagePullError(
          'ErrImagePull',
          ref,
          `container image "${ref}" is not present with pull policy of Never`,
        );
      }
    }
    const host = parseImageReference(ref).domain;
    let auth: { username: string; password: string } | undefined;
    for (const s of this.state.pullSecrets ?? []) {
      auth = credentialsFromSecret(s as unknown as DockerConfigSecret, host);
      if (auth) break;
    }
    this.event(c.name, kubeletEvents.pulling(ref));
    const started = Date.now();
    const pulled = await this.ctx.images.pull(ref, auth ? { auth } : {});
    this.event(c.name, kubeletEvents.pulled(ref, Date.now() - started, pulled.size));
    return pulled;
  }

  private startProbes(c: Container): void {
    this.stopProbes(c.name);
    const exec = async (
      cmd: string[],
      timeoutMs: number,
    ): Promise<{ exitCode: number; output: string; timedOut?: boolean }> => {
      const id = this.state.containers[c.name]?.id;
      if (!id) return { exitCode: 1, output: 'container not running' };
      const r = await this.ctx.runc.exec(id, cmd, { timeoutMs });
      return { exitCode: r.exitCode, output: r.stdout + r.stderr, timedOut: r.timedOut };
    };
    const namedPort = (name: string): number | undefined =>
      c.ports?.find((p) => p.name === name)?.containerPort;
    const run = (probe: NonNullable<Container['readinessProbe']>, kind: ProbeKind) => async () => {
      const r = await runProbe(probe, { podIP: this.state.podIP ?? '127.0.0.1', exec, namedPort });
      this.ctx.probeResult?.(this.pod, c.name, kind, r.result);
      return r;
    };
    const set: { readiness?: ProbeWorker; liveness?: ProbeWorker; startup?: ProbeWorker } = {};
    const startedAt = Date.now();
    const unhealthy = (kind: 'liveness' | 'readiness' | 'startup') => (message: string) =>
      this.event(c.name, kubeletEvents.unhealthy(kind, message));
    if (c.readinessProbe) {
      this.readiness.set(c.name, false);
      set.readiness = new ProbeWorker(
        c.readinessProbe,
        'readiness',
        run(c.readinessProbe, 'readiness'),
        (ok) => {
          this.readiness.set(c.name, ok);
          this.probeChanged = true;
          void this.sync();
        },
        { startedAt, onFailure: unhealthy('readiness') },
      );
    }
    if (c.livenessProbe) {
      set.liveness = new ProbeWorker(
        c.livenessProbe,
        'liveness',
        run(c.livenessProbe, 'liveness'),
        (ok, message) => {
          if (ok) return;
          this.ctx.logger?.info(
            { pod: this.name(), container: c.name, message },
            'liveness probe failed; restarting',
          );
          this.event(
            c.name,
            kubeletEvents.killing(
              c.name,
              `Container ${c.name} failed liveness probe, will be restarted`,
            ),
          );
          const id = this.state.containers[c.name]?.id;
          if (id) void this.ctx.runc.kill(id, 'SIGKILL', true).catch(() => undefined);
        },
        { startedAt, onFailure: unhealthy('liveness') },
      );
    }
    if (c.startupProbe) {
      this.started.set(c.name, false);
      set.startup = new ProbeWorker(
        c.startupProbe,
        'startup',
        run(c.startupProbe, 'startup'),
        (ok) => {
          this.started.set(c.name, ok);
          this.probeChanged = true;
          if (ok) {
            set.liveness?.start();
            set.readiness?.start();
          } else {
            const id = this.state.containers[c.name]?.id;
            if (id) void this.ctx.runc.kill(id, 'SIGKILL', true).catch(() => undefined);
          }
          void this.sync();
        },
        { startedAt, onFailure: unhealthy('startup') },
      );
      set.startup.start();
    } else {
      set.liveness?.start();
      set.readiness?.start();
    }
    this.probes.set(c.name, set);
  }

  private stopProbes(name: string): void {
    const set = this.probes.get(name);
    set?.readiness?.stop();
    set?.liveness?.stop();
    set?.startup?.stop();
    this.probes.delete(name);
    if (this.readiness.has(name)) this.readiness.set(name, false);
  }

  /** Deletes a stopped container instance and unmounts its rootfs; keeps its log. */
  private async removeInstance(id: string, name: string): Promise<void> {
    const rec = this.state.containers[name];
    await this.ctx.runc.delete(id, { force: true });
    const attempt = rec?.restartCount ?? 0;
    const bundleDir = join(this.ctx.bundlesDir, id);
    await unmount(join(bundleDir, 'rootfs'));
    await removeBundle(bundleDir).catch(() => undefined);
    await rm(join(this.dir, 'containers', `${name}-${attempt}`), { recursive: true, force: true });
    if (rec?.id === id) delete rec.id;
  }

  private async doTerminate(gracePeriodSeconds?: number): Promise<void> {
    // Let a sync in progress finish first, so no container starts after this.
    await this.syncing;
    for (const name of this.probes.keys()) this.stopProbes(name);
    const spec = podSpec(this.state.pod);
    const grace =
      gracePeriodSeconds ??
      this.state.pod.metadata.deletionGracePeriodSeconds ??
      spec.terminationGracePeriodSeconds ??
      30;
    const running = Object.entries(this.state.containers).filter(([, r]) => r.id);
    for (const [name] of running) this.event(name, kubeletEvents.killing(name));
    for (const [, r] of running)
      await this.ctx.runc.kill(r.id!, 'SIGTERM', true).catch(() => undefined);
    const deadline = Date.now() + grace * 1000;
    for (const [, r] of running) {
      while (Date.now() < deadline) {
        const st = await this.ctx.runc.state(r.id!).catch(() => undefined);
        if (!st || st.status === 'stopped') break;
        await new Promise((res) => setTimeout(res, 100));
      }
      await this.ctx.runc.kill(r.id!, 'SIGKILL', true).catch(() => undefined);
    }
    for (const [name, r] of running) {
      const exit = await this.ctx.runc.exitStatus(r.id!).catch(() => undefined);
      if (exit)
        r.terminated = {
          exitCode: exit.exitCode,
          reason: exit.reason,
          finishedAt: now(),
          ...(r.startedAt ? { startedAt: r.startedAt } : {}),
        };
      await this.removeInstance(r.id!, name).catch((err: unknown) =>
        this.ctx.logger?.warn({ err, pod: this.name() }, 'container removal failed'),
      );
    }
    await this.ctx.network()?.tearDown(this.uid);
    await cleanupVolumes(this.dir).catch((err: unknown) =>
      this.ctx.logger?.warn({ err, pod: this.name() }, 'volume cleanup failed'),
    );
    await removeCgroup(
      cgroupsPathFor(this.ctx.cgroupParent, this.uid, 'x').replace(/\/[^/]+$/, ''),
      this.ctx.cgroupParent,
    ).catch(() => undefined);
    await rm(this.dir, { recursive: true, force: true });
    for (const name of Object.keys(this.state.containers))
      this.ctx.backoff.reset(`${this.uid}/${name}`);
    this.ctx.logger?.info({ pod: this.name() }, 'pod terminated and cleaned up');
  }

  private async checkpoint(): Promise<void> {
    if (this.terminating) return;
    const containers: Record<string, ContainerRecord> = {};
    for (const [name, { waiting: _w, ...rec }] of Object.entries(this.state.containers))
      containers[name] = rec;
    const json = JSON.stringify({ ...this.state, containers });
    // Every sync (each pod, every second) ends here; most change nothing on disk.
    if (json === this.written) return;
    await mkdir(this.dir, { recursive: true });
    const tmp = join(this.dir, `${CHECKPOINT}.tmp`);
    await writeFile(tmp, json);
    await rename(tmp, join(this.dir, CHECKPOINT));
    this.written = json;
  }

  /** The checkpoint as last written by this process. */
  private written: string | undefined;
}

function byName(objs: KubeObject[] | undefined): Map<string, KubeObject> {
  return new Map((objs ?? []).map((o) => [o.metadata.name ?? '', o]));
}

async function readUserDb(rootfs: string): Promise<{ passwd?: string; group?: string }> {
  const [passwd, group] = await Promise.all(
    ['passwd', 'group'].map((f) => readFile(join(rootfs, 'etc', f), 'utf8').catch(() => undefined)),
  );
  return { ...(passwd ? { passwd } : {}), ...(group ? { group } : {}) };
}
