// The gateway's part in local PersistentVolumes:
// - desired pods carry their claims and the volumes bound to them
//   (podVolumes), so the agent can mount a claim as its volume's directory;
// - a node's Register.volume_dir is kept on the Node as shoal.io/volume-dir,
//   where the local provisioner finds it (withVolumeDir);
// - LocalVolumes: each connected agent is told, on connect and on every
//   change, which local volumes of its node are being deleted with
//   reclaimPolicy Delete (deletionTimestamp set, cleanup finalizer still on);
//   its VolumeReclaimed answer removes the finalizer, so the volume object
//   outlives its directory by no more than the agent's report, and a node can
//   only release the volumes that live on it.

import type { Logger } from 'pino';
import type { KubeObject } from '../api/objects.js';
import { isRecord } from '../api/objects.js';
import type { Registry } from '../api/registry/registry.js';
import { findResource } from '../api/resources.js';
import { ApiError } from '../api/status.js';
import type { WatchHandle } from '../store/types.js';
import type { ControlMessage } from '../../proto/generated/shoal/agent/v1/ControlMessage.js';
import type { LocalVolume } from '../../proto/generated/shoal/agent/v1/LocalVolume.js';
import type { VolumeReclaimed__Output } from '../../proto/generated/shoal/agent/v1/VolumeReclaimed.js';
import {
  LOCAL_CLEANUP_FINALIZER,
  VOLUME_DIR_ANNOTATION,
  claimNamesOf,
  claimVolumeName,
  volumeLocalPath,
  volumeNodeName,
} from '../controllers/volume-match.js';

const PVCS = findResource('', 'v1', 'persistentvolumeclaims')!;
const PVS = findResource('', 'v1', 'persistentvolumes')!;
const RELIST_MS = 1000;

type Send = (m: ControlMessage) => void;

/** The pod's claims and the volumes bound to them, as JSON for DesiredPod. */
export async function podVolumes(
  registry: Registry,
  pod: KubeObject,
): Promise<{ persistent_volume_claims_json: string[]; persistent_volumes_json: string[] }> {
  const claims: string[] = [];
  const volumes: string[] = [];
  for (const name of claimNamesOf(pod)) {
    let claim: KubeObject;
    try {
      claim = await registry.get(PVCS, pod.metadata.namespace, name);
    } catch (err) {
      // A missing claim is the agent's to report (the pod waits), as a kubelet does.
      if (err instanceof ApiError && err.reason === 'NotFound') continue;
      throw err;
    }
    claims.push(JSON.stringify(claim));
    const volumeName = claimVolumeName(claim);
    if (!volumeName) continue;
    try {
      volumes.push(JSON.stringify(await registry.get(PVS, undefined, volumeName)));
    } catch (err) {
      if (!(err instanceof ApiError && err.reason === 'NotFound')) throw err;
    }
  }
  return { persistent_volume_claims_json: claims, persistent_volumes_json: volumes };
}

/** The Node as registered, with the agent's volume directory recorded on it. */
export function withVolumeDir(node: KubeObject, volumeDir: string | undefined): KubeObject {
  if (!volumeDir) return node;
  return {
    ...node,
    metadata: {
      ...node.metadata,
      annotations: { ...node.metadata.annotations, [VOLUME_DIR_ANNOTATION]: volumeDir },
    },
  };
}

/** A local volume this node must remove: being deleted, reclaimPolicy Delete, finalizer on. */
export function isReclaimable(pv: KubeObject): boolean {
  const spec = isRecord(pv.spec) ? pv.spec : {};
  return (
    !!pv.metadata.deletionTimestamp &&
    (pv.metadata.finalizers ?? []).includes(LOCAL_CLEANUP_FINALIZER) &&
    spec.persistentVolumeReclaimPolicy === 'Delete' &&
    volumeLocalPath(pv) !== undefined
  );
}

export interface LocalVolumeReclaimOptions {
  registry: Registry;
  logger?: Logger;
}

/** Watches PersistentVolumes and tells each subscribed node what to remove. */
export class LocalVolumeReclaim {
  private readonly volumes = new Map<string, KubeObject>();
  private readonly subscribers = new Map<Send, string>();
  /** What each node was last sent, to send only changes. */
  private readonly lastSent = new Map<Send, string>();
  private watch: WatchHandle | undefined;
  private starting: Promise<void> | undefined;
  private stopped = false;
  private relist: NodeJS.Timeout | undefined;

  constructor(private readonly opts: LocalVolumeReclaimOptions) {}

  /** Sends `node` its list now and on every change until the returned function is called. */
  async subscribe(node: string, send: Send): Promise<() => void> {
    await this.start();
    this.subscribers.set(send, node);
    this.sendTo(send, node, true);
    return () => {
      this.subscribers.delete(send);
      this.lastSent.delete(send);
    };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.relist) clearTimeout(this.relist);
    await this.watch?.close();
    this.subscribers.clear();
  }

  /** The volumes of `node` the agent must remove now. */
  reclaimFor(node: string): LocalVolume[] {
    return [...this.volumes.values()]
      .filter((pv) => isReclaimable(pv) && volumeNodeName(pv) === node)
      .map((pv) => ({ name: pv.metadata.name ?? '', path: volumeLocalPath(pv) ?? '' }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * The agent of `node` removed (or failed to remove) a volume's directory.
   * Only a volume of that node, being reclaimed, loses its finalizer.
   */
  async reclaimed(node: string, msg: VolumeReclaimed__Output): Promise<void> {
    // The volume may change under us (its status, another finalizer): re-read and try again.
    for (let attempt = 0; ; attempt++) {
      let pv: KubeObject;
      try {
        pv = await this.opts.registry.get(PVS, undefined, msg.name);
      } catch (err) {
        if (err instanceof ApiError && err.reason === 'NotFound') return;
        throw err;
      }
      if (volumeNodeName(pv) !== node) {
        this.opts.logger?.warn(
          { node, volume: msg.name, on: volumeNodeName(pv) },
          "refused a node's reclaim of a volume on another node",
        );
        return;
      }
      if (!isReclaimable(pv)) return;
      if (msg.error) {
        this.opts.logger?.warn(
          { node, volume: msg.name, error: msg.error },
          'volume reclaim failed',
        );
        return;
      }
      try {
        await this.opts.registry.patch(
          PVS,
          undefined,
          msg.name,
          'json',
          [
            { op: 'test', path: '/metadata/resourceVersion', value: pv.metadata.resourceVersion },
            {
              op: 'replace',
              path: '/metadata/finalizers',
              value: (pv.metadata.finalizers ?? []).filter((f) => f !== LOCAL_CLEANUP_FINALIZER),
            },
          ],
          { fieldManager: 'shoal-agent' },
        );
        this.opts.logger?.info({ node, volume: msg.name }, 'local volume reclaimed');
        return;
      } catch (err) {
        if (err instanceof ApiError && err.reason === 'NotFound') return;
        if (attempt >= 10) throw err;
      }
    }
  }

  private async start(): Promise<void> {
    this.starting ??= this.listAndWatch();
    return this.starting;
  }

  private async listAndWatch(): Promise<void> {
    const { items, revision } = await this.opts.registry.list(PVS, undefined);
    this.volumes.clear();
    for (const pv of items) this.volumes.set(pv.metadata.name ?? '', pv);
    this.watch = await this.opts.registry.watch(
      PVS,
      undefined,
      { resourceVersion: String(revision) },
      {
        onEvent: (ev) => {
          const name = ev.object.metadata.name ?? '';
          if (ev.type === 'DELETED') this.volumes.delete(name);
          else this.volumes.set(name, ev.object);
          this.broadcast();
        },
        onError: (err) => {
          this.opts.logger?.warn({ err }, 'volume watch ended; relisting');
          this.scheduleRelist();
        },
      },
    );
    this.broadcast();
  }

  private scheduleRelist(): void {
    if (this.stopped) return;
    void this.watch?.close().catch(() => undefined);
    this.relist = setTimeout(() => {
      this.listAndWatch().catch((err: unknown) => {
        this.opts.logger?.error({ err }, 'volume relist failed');
        this.scheduleRelist();
      });
    }, RELIST_MS);
  }

  private broadcast(): void {
    for (const [send, node] of this.subscribers) this.sendTo(send, node, false);
  }

  private sendTo(send: Send, node: string, always: boolean): void {
    const reclaim = this.reclaimFor(node);
    const text = JSON.stringify(reclaim);
    if (!always && this.lastSent.get(send) === text) return;
    this.lastSent.set(send, text);
    send({ local_volumes: { reclaim } });
  }
}
