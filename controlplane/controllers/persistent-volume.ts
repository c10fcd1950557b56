// The persistent-volume controller: Kubernetes' PV binder, the `local`
// provisioner and the pvc-protection controller in one reconcile per object.
//
// Claims (`claim:<ns>/<name>`):
// - deleting: the kubernetes.io/pvc-protection finalizer goes once no live pod
//   uses the claim (the registry then removes it; the volume side sees that).
// - bound (spec.volumeName): the volume's claimRef is completed if the volume
//   was pre-bound by the claim, then both statuses say Bound.
// - unbound: a static volume that fits (reserved by claimRef first, else the
//   smallest match) is bound; a WaitForFirstConsumer claim waits for the
//   scheduler's volume.kubernetes.io/selected-node and then takes a static
//   volume usable there, or, for a shoal.io/local class, gets a new volume
//   `pvc-<claim uid>`: the directory <node's volume dir>/<pv name> on that node
//   (node affinity kubernetes.io/hostname), reclaim policy from the class.
// Volumes (`volume:<name>`):
// - deleting: a provisioned volume's shoal.io/local-volume-cleanup finalizer
//   stays until the node's agent reports the directory removed (the gateway
//   clears it); with reclaimPolicy Retain, or when the node is gone, it is
//   cleared here, leaving the directory as Retain promises.
// - claimRef to a claim that is gone (by uid): Released, and with reclaimPolicy
//   Delete the volume is deleted. No claimRef: Available.
//
// Level-driven: each pass reads the caches, never changes what it read, and
// writes with the version it read as a precondition; a conflict requeues.
// Names are deterministic (pvc-<uid>), so a pass on a stale cache that
// provisions again finds the volume already there and carries on binding.

import type { Logger } from 'pino';
import { isRecord, type KubeObject } from '../api/objects.js';
import type { Registry } from '../api/registry/registry.js';
import { findResource } from '../api/resources.js';
import { LOCAL_PROVISIONER, PVC_PROTECTION_FINALIZER } from '../api/registry/storage-admission.js';
import type { Informer } from './runtime/informer.js';
import { objectKeyOf } from './runtime/informer.js';
import type { EventRecorder } from './runtime/events.js';
import { WorkQueue } from './runtime/workqueue.js';
import { Workers } from './runtime/run.js';
import type { Controller, ControllerDeps } from './types.js';
import { isApiError, isPodTerminal } from './owner-refs.js';
import {
  BIND_COMPLETED_ANNOTATION,
  BOUND_BY_CONTROLLER_ANNOTATION,
  HOSTNAME_LABEL,
  LOCAL_CLEANUP_FINALIZER,
  PROVISIONED_BY_ANNOTATION,
  SELECTED_NODE_ANNOTATION,
  VOLUME_DIR_ANNOTATION,
  claimClass,
  claimNamesOf,
  claimRefOf,
  claimVolumeName,
  findMatchingVolume,
  refersTo,
  volumeFitsNode,
  volumeNodeName,
  volumePhase,
} from './volume-match.js';

const PVCS = findResource('', 'v1', 'persistentvolumeclaims')!;
const PVS = findResource('', 'v1', 'persistentvolumes')!;
const CLASSES = findResource('storage.k8s.io', 'v1', 'storageclasses')!;
const PODS = findResource('', 'v1', 'pods')!;
const NODES = findResource('', 'v1', 'nodes')!;
const FIELD_MANAGER = 'persistent-volume-controller';

type Rec = Record<string, unknown>;
const rec = (v: unknown): Rec => (isRecord(v) ? v : {});

export interface PersistentVolumeControllerOptions {
  workers?: number;
}

/** The PersistentVolume the local provisioner makes for `claim` on `node`. */
export function provisionedVolume(
  claim: KubeObject,
  sc: KubeObject,
  node: string,
  volumeDir: string,
): KubeObject {
  const name = `pvc-${claim.metadata.uid ?? ''}`;
  const spec = rec(claim.spec);
  const storage = rec(rec(spec.resources).requests).storage;
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: {
      name,
      annotations: { [PROVISIONED_BY_ANNOTATION]: LOCAL_PROVISIONER },
      finalizers: [LOCAL_CLEANUP_FINALIZER],
    },
    spec: {
      capacity: { storage },
      accessModes: spec.accessModes,
      persistentVolumeReclaimPolicy:
        typeof sc.reclaimPolicy === 'string' ? sc.reclaimPolicy : 'Delete',
      storageClassName: sc.metadata.name,
      volumeMode: spec.volumeMode ?? 'Filesystem',
      local: { path: `${volumeDir.replace(/\/+$/, '')}/${name}` },
      nodeAffinity: {
        required: {
          nodeSelectorTerms: [
            { matchExpressions: [{ key: HOSTNAME_LABEL, operator: 'In', values: [node] }] },
          ],
        },
      },
      claimRef: claimRefTo(claim),
    },
  };
}

function claimRefTo(claim: KubeObject): Rec {
  return {
    kind: 'PersistentVolumeClaim',
    apiVersion: 'v1',
    namespace: claim.metadata.namespace,
    name: claim.metadata.name,
    uid: claim.metadata.uid,
  };
}

export class PersistentVolumeController implements Controller {
  readonly name = 'persistent-volume';
  private readonly registry: Registry;
  private readonly events: EventRecorder;
  private readonly log: Logger | undefined;
  private readonly claims: Informer;
  private readonly volumes: Informer;
  private readonly classes: Informer;
  private readonly pods: Informer;
  private readonly nodes: Informer;
  private readonly queue = new WorkQueue('persistent-volume');
  private readonly workers = new Workers(this.queue, this);

  constructor(
    deps: ControllerDeps,
    private readonly opts: PersistentVolumeControllerOptions = {},
  ) {
    this.registry = deps.registry;
    this.events = deps.events;
    this.log = deps.logger;
    this.claims = deps.informers.forResource(PVCS);
    this.volumes = deps.informers.forResource(PVS);
    this.classes = deps.informers.forResource(CLASSES);
    this.pods = deps.informers.forResource(PODS);
    this.nodes = deps.informers.forResource(NODES);

    this.claims.on({
      add: (c) => this.claimChanged(c),
      update: (_o, c) => this.claimChanged(c),
      delete: (c) => this.claimChanged(c),
    });
    this.volumes.on({
      add: (v) => this.volumeChanged(v),
      update: (_o, v) => this.volumeChanged(v),
      delete: (v) => this.volumeChanged(v),
    });
    this.classes.on({ add: () => this.enqueueUnbound() });
    this.pods.on({
      // Only a pod going away (or finishing) can release a claim being deleted.
      update: (_o, p) => {
        if (isPodTerminal(p) || p.metadata.deletionTimestamp) this.podClaims(p);
      },
      delete: (p) => this.podClaims(p),
    });
    this.nodes.on({
      // A node that just reported its volume directory can take the claims waiting for it.
      add: () => this.enqueueUnbound(),
      update: (o, n) => {
        if (
          o.metadata.annotations?.[VOLUME_DIR_ANNOTATION] !==
          n.metadata.annotations?.[VOLUME_DIR_ANNOTATION]
        )
          this.enqueueUnbound();
      },
      delete: () => {
        for (const v of this.volumes.list((pv) => !!pv.metadata.deletionTimestamp))
          this.queue.add(`volume:${objectKeyOf(v)}`);
      },
    });
  }

  async start(): Promise<void> {
    for (const c of this.claims.list()) this.queue.add(`claim:${objectKeyOf(c)}`);
    for (const v of this.volumes.list()) this.queue.add(`volume:${objectKeyOf(v)}`);
    this.workers.start({ workers: this.opts.workers ?? 2, logger: this.log });
  }

  async stop(): Promise<void> {
    await this.workers.stop();
  }

  private claimChanged(c: KubeObject): void {
    this.queue.add(`claim:${objectKeyOf(c)}`);
    const volume = claimVolumeName(c);
    if (volume) this.queue.add(`volume:${volume}`);
    // A claim gone: the volumes that referred to it are released.
    for (const v of this.volumes.list((pv) => {
      const ref = claimRefOf(pv);
      return ref?.namespace === c.metadata.namespace && ref?.name === c.metadata.name;
    }))
      this.queue.add(`volume:${objectKeyOf(v)}`);
  }

  private volumeChanged(v: KubeObject): void {
    this.queue.add(`volume:${objectKeyOf(v)}`);
    const ref = claimRefOf(v);
    if (ref) this.queue.add(`claim:${ref.namespace}/${ref.name}`);
    else this.enqueueUnbound();
  }

  private podClaims(pod: KubeObject): void {
    for (const name of claimNamesOf(pod)) this.queue.add(`claim:${pod.metadata.namespace}/${name}`);
  }

  private enqueueUnbound(): void {
    for (const c of this.claims.list((c) => !claimVolumeName(c)))
      this.queue.add(`claim:${objectKeyOf(c)}`);
  }

  async reconcile(key: string): Promise<void> {
    if (key.startsWith('claim:')) return this.reconcileClaim(key.slice('claim:'.length));
    if (key.startsWith('volume:')) return this.reconcileVolume(key.slice('volume:'.length));
  }

  // --- claims ---------------------------------------------------------------------

  private async reconcileClaim(key: string): Promise<void> {
    const claim = this.claims.get(key);
    if (!claim) return;
    if (claim.metadata.deletionTimestamp) return this.releaseProtection(claim);
    const volumeName = claimVolumeName(claim);
    if (volumeName) return this.syncBoundClaim(claim, volumeName);

    const cls = claimClass(claim);
    const sc = cls ? this.classes.get(cls) : undefined;
    const delayed = sc?.volumeBindingMode === 'WaitForFirstConsumer';
    const selected = claim.metadata.annotations?.[SELECTED_NODE_ANNOTATION];
    if (delayed && !selected) {
      // A pre-bound volume is taken at once even so, as Kubernetes does.
      const reserved = this.volumes.list((pv) => refersTo(claimRefOf(pv), claim))[0];
      if (reserved) await this.bind(claim, reserved);
      return;
    }
    const node = selected ? this.nodes.get(selected) : undefined;
    const fits = (pv: KubeObject): boolean =>
      !selected || (node !== undefined && volumeFitsNode(pv, nodeIdentity(node)));
    const match = findMatchingVolume(claim, this.volumes.list(), fits);
    if (match) {
      await this.bind(claim, match);
      return;
    }
    if (!sc) {
      if (cls)
        this.warn(claim, 'ProvisioningFailed', `storageclass.storage.k8s.io "${cls}" not found`);
      else
        this.events.event(
          claim,
          'Normal',
          'FailedBinding',
          'no persistent volumes available for this claim and no storage class is set',
        );
      return;
    }
    if (sc.provisioner !== LOCAL_PROVISIONER) {
      this.events.event(
        claim,
        'Normal',
        'ExternalProvisioning',
        `Waiting for a volume to be created either by the external provisioner '${String(sc.provisioner)}' or manually by the system administrator.`,
      );
      return;
    }
    if (!selected) {
      this.warn(
        claim,
        'ProvisioningFailed',
        `storage class "${cls}" provisions node-local volumes and needs volumeBindingMode WaitForFirstConsumer`,
      );
      return;
    }
    await this.provision(claim, sc, selected, node);
  }

  private async provision(
    claim: KubeObject,
    sc: KubeObject,
    nodeName: string,
    node: KubeObject | undefined,
  ): Promise<void> {
    const dir = node?.metadata.annotations?.[VOLUME_DIR_ANNOTATION];
    if (!node || !dir) {
      this.warn(
        claim,
        'ProvisioningFailed',
        node
          ? `node "${nodeName}" has not reported a local volume directory`
          : `node "${nodeName}" not found`,
      );
      return;
    }
    const desired = provisionedVolume(claim, sc, nodeName, dir);
    const name = desired.metadata.name!;
    let pv = this.volumes.get(name);
    if (!pv) {
      try {
        pv = await this.registry.create(PVS, undefined, desired, { fieldManager: FIELD_MANAGER });
        this.events.event(
          claim,
          'Normal',
          'ProvisioningSucceeded',
          `Successfully provisioned volume ${name} on node ${nodeName}`,
        );
      } catch (err) {
        if (!isApiError(err, 'AlreadyExists')) throw err;
        pv = await this.registry.get(PVS, undefined, name);
      }
    }
    await this.bind(claim, pv);
  }

  /** Binds both ways: the volume's claimRef and status, then the claim's volumeName and status. */
  private async bind(claim: KubeObject, pv: KubeObject): Promise<void> {
    const name = pv.metadata.name ?? '';
    let volume = pv;
    if (!refersTo(claimRefOf(pv), claim) || !claimRefOf(pv)?.uid) {
      volume = await this.registry.update(
        PVS,
        undefined,
        name,
        {
          ...pv,
          metadata: {
            ...pv.metadata,
            annotations: { ...pv.metadata.annotations, [BOUND_BY_CONTROLLER_ANNOTATION]: 'yes' },
          },
          spec: { ...rec(pv.spec), claimRef: claimRefTo(claim) },
        },
        { fieldManager: FIELD_MANAGER },
      );
    }
    volume = await this.setVolumePhase(volume, 'Bound');
    const annotations: Record<string, string> = {
      ...claim.metadata.annotations,
      [BIND_COMPLETED_ANNOTATION]: 'yes',
    };
    if (!claimVolumeName(claim)) annotations[BOUND_BY_CONTROLLER_ANNOTATION] = 'yes';
    let current = claim;
    if (
      claimVolumeName(claim) !== name ||
      claim.metadata.annotations?.[BIND_COMPLETED_ANNOTATION] !== 'yes'
    ) {
      current = await this.registry.update(
        PVCS,
        claim.metadata.namespace,
        claim.metadata.name ?? '',
        {
          ...claim,
          metadata: { ...claim.metadata, annotations },
          spec: { ...rec(claim.spec), volumeName: name },
        },
        { fieldManager: FIELD_MANAGER },
      );
    }
    await this.setClaimBound(current, volume);
  }

  private async syncBoundClaim(claim: KubeObject, volumeName: string): Promise<void> {
    const pv = this.volumes.get(volumeName);
    if (!pv) {
      // Bound before and the volume is gone: Lost, as Kubernetes says.
      if (rec(claim.status).phase === 'Bound') {
        await this.writeClaimStatus(claim, { ...rec(claim.status), phase: 'Lost' });
        this.warn(
          claim,
          'ClaimLost',
          'Bound claim has lost its PersistentVolume. Data on the volume is lost!',
        );
      }
      return;
    }
    const ref = claimRefOf(pv);
    if (!ref || refersTo(ref, claim)) {
      await this.bind(claim, pv);
      return;
    }
    this.warn(claim, 'FailedBinding', `volume "${volumeName}" already bound to a different claim.`);
  }

  private async setClaimBound(claim: KubeObject, pv: KubeObject): Promise<void> {
    const pvSpec = rec(pv.spec);
    const status = {
      ...rec(claim.status),
      phase: 'Bound',
      accessModes: pvSpec.accessModes,
      capacity: pvSpec.capacity,
    };
    if (JSON.stringify(status) === JSON.stringify(rec(claim.status))) return;
    await this.writeClaimStatus(claim, status);
  }

  private async writeClaimStatus(claim: KubeObject, status: Rec): Promise<void> {
    await this.registry.update(
      PVCS,
      claim.metadata.namespace,
      claim.metadata.name ?? '',
      { ...claim, status },
      { subresource: 'status', fieldManager: FIELD_MANAGER },
    );
  }

  /** pvc-protection: a claim being deleted keeps its finalizer while a live pod uses it. */
  private async releaseProtection(claim: KubeObject): Promise<void> {
    const finalizers = claim.metadata.finalizers ?? [];
    if (!finalizers.includes(PVC_PROTECTION_FINALIZER)) return;
    const inUse = this.pods.list(
      (p) =>
        p.metadata.namespace === claim.metadata.namespace &&
        !isPodTerminal(p) &&
        claimNamesOf(p).includes(claim.metadata.name ?? ''),
    );
    if (inUse.length > 0) return;
    await this.removeFinalizer(PVCS, claim, PVC_PROTECTION_FINALIZER);
  }

  private async removeFinalizer(r: typeof PVCS, obj: KubeObject, finalizer: string): Promise<void> {
    try {
      await this.registry.patch(
        r,
        obj.metadata.namespace,
        obj.metadata.name ?? '',
        'json',
        [
          { op: 'test', path: '/metadata/resourceVersion', value: obj.metadata.resourceVersion },
          {
            op: 'replace',
            path: '/metadata/finalizers',
            value: (obj.metadata.finalizers ?? []).filter((f) => f !== finalizer),
          },
        ],
        { fieldManager: FIELD_MANAGER },
      );
    } catch (err) {
      if (!isApiError(err, 'NotFound')) throw err;
    }
  }

  // --- volumes --------------------------------------------------------------------

  private async reconcileVolume(name: string): Promise<void> {
    const pv = this.volumes.get(name);
    if (!pv) return;
    const spec = rec(pv.spec);
    const policy = spec.persistentVolumeReclaimPolicy === 'Delete' ? 'Delete' : 'Retain';
    if (pv.metadata.deletionTimestamp) {
      if (!(pv.metadata.finalizers ?? []).includes(LOCAL_CLEANUP_FINALIZER)) return;
      // Retain keeps the data; a node that is gone cannot remove it.
      const node = volumeNodeName(pv);
      if (policy === 'Retain' || !node || !this.nodes.get(node))
        await this.removeFinalizer(PVS, pv, LOCAL_CLEANUP_FINALIZER);
      return;
    }
    const ref = claimRefOf(pv);
    if (!ref) {
      if (volumePhase(pv) !== 'Available') await this.setVolumePhase(pv, 'Available');
      return;
    }
    const claim = this.claims.get(`${ref.namespace}/${ref.name}`);
    const claimGone = !claim || (ref.uid !== '' && claim.metadata.uid !== ref.uid);
    if (!claimGone) {
      if (claim && claimVolumeName(claim) === name) {
        if (volumePhase(pv) !== 'Bound') await this.setVolumePhase(pv, 'Bound');
      } else if (volumePhase(pv) !== 'Available' && volumePhase(pv) !== 'Bound') {
        // Reserved by claimRef for a claim that has not taken it yet.
        await this.setVolumePhase(pv, 'Available');
      }
      return;
    }
    if (ref.uid === '') {
      // Reserved for a claim not created yet: stays available for it.
      if (volumePhase(pv) !== 'Available') await this.setVolumePhase(pv, 'Available');
      return;
    }
    // The claim is gone: a live read guards against a cache that has not seen it yet.
    try {
      const live = await this.registry.get(PVCS, ref.namespace, ref.name);
      if (live.metadata.uid === ref.uid) return;
    } catch (err) {
      if (!isApiError(err, 'NotFound')) throw err;
    }
    let released = pv;
    if (volumePhase(pv) !== 'Released') released = await this.setVolumePhase(pv, 'Released');
    if (policy === 'Delete') {
      try {
        await this.registry.delete(PVS, undefined, name, {
          preconditions: { uid: released.metadata.uid ?? '' },
        });
        this.events.event(
          pv,
          'Normal',
          'VolumeDelete',
          `Deleting volume ${name}: its claim is gone`,
        );
      } catch (err) {
        if (!isApiError(err, 'NotFound')) throw err;
      }
    }
  }

  private async setVolumePhase(pv: KubeObject, phase: string): Promise<KubeObject> {
    if (volumePhase(pv) === phase) return pv;
    return this.registry.update(
      PVS,
      undefined,
      pv.metadata.name ?? '',
      {
        ...pv,
        status: {
          ...rec(pv.status),
          phase,
          lastPhaseTransitionTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
        },
      },
      { subresource: 'status', fieldManager: FIELD_MANAGER },
    );
  }

  private warn(obj: KubeObject, reason: string, message: string): void {
    this.events.event(obj, 'Warning', reason, message);
  }
}

function nodeIdentity(node: KubeObject): { name: string; labels: Record<string, string> } {
  return { name: node.metadata.name ?? '', labels: node.metadata.labels ?? {} };
}
