// PreBind for volumes, as kube-scheduler's VolumeBinding.PreBind: each
// unbound WaitForFirstConsumer claim of the pod gets the chosen node in
// volume.kubernetes.io/selected-node, and the bind waits until the
// persistent-volume controller has provisioned and bound it. So a pod reaches
// its agent only with Bound claims, and a failed provisioning leaves the pod
// unbound (the annotation is withdrawn, so the next attempt may choose again).

import type { KubeObject } from '../api/objects.js';
import { findResource } from '../api/resources.js';
import type { Registry } from '../api/registry/registry.js';
import { ApiError } from '../api/status.js';
import { SELECTED_NODE_ANNOTATION, claimPhase } from '../controllers/volume-match.js';
import { claimsToProvision } from './stages/volume-binding.js';
import type { VolumeCatalog } from './types.js';

const PVCS = findResource('', 'v1', 'persistentvolumeclaims')!;
const FIELD_MANAGER = 'shoal-scheduler';
/** kube-scheduler's bindTimeoutSeconds default. */
export const PREBIND_TIMEOUT_MS = 600_000;
const POLL_MS = 100;

export class VolumeBindingTimeout extends Error {
  override readonly name = 'VolumeBindingTimeout';
}

async function annotate(registry: Registry, claim: KubeObject, node: string | null): Promise<void> {
  await registry.patch(
    PVCS,
    claim.metadata.namespace,
    claim.metadata.name ?? '',
    'merge',
    { metadata: { annotations: { [SELECTED_NODE_ANNOTATION]: node } } },
    { fieldManager: FIELD_MANAGER },
  );
}

/** Annotates the pod's claims for `node` and resolves once they are all Bound. */
export async function preBindVolumes(
  registry: Registry,
  pod: KubeObject,
  node: string,
  catalog: VolumeCatalog,
  stopped: () => boolean,
  timeoutMs = PREBIND_TIMEOUT_MS,
): Promise<void> {
  const claims = claimsToProvision(pod, catalog);
  if (claims.length === 0) return;
  for (const c of claims) {
    if (c.metadata.annotations?.[SELECTED_NODE_ANNOTATION] !== node)
      await annotate(registry, c, node);
  }
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pending = claims.filter((c) => {
      const now = catalog.claim(c.metadata.namespace ?? '', c.metadata.name ?? '');
      return !now || claimPhase(now) !== 'Bound';
    });
    if (pending.length === 0) return;
    // Stopping (leadership lost): the claims stay annotated; the next leader finds them so.
    if (stopped()) throw new VolumeBindingTimeout('scheduler stopped while binding volumes');
    if (Date.now() > deadline) {
      for (const c of pending) {
        await annotate(registry, c, null).catch((err: unknown) => {
          if (!(err instanceof ApiError && err.reason === 'NotFound')) throw err;
        });
      }
      throw new VolumeBindingTimeout(
        `binding volumes: claims ${pending.map((c) => c.metadata.name).join(', ')} were not bound in time`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
