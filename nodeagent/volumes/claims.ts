// A pod's persistentVolumeClaim volume on this node: the claim must be Bound,
// and its PersistentVolume must be a directory (local or hostPath) that lives
// here; the directory is then bind-mounted into the containers like a
// hostPath. A provisioned directory is created on first use, world-writable as
// the local-path provisioner makes it, or group-owned by the pod's fsGroup.
// Anything else is refused with a message the pod's Waiting state shows, and
// the pod worker tries again on its next pass (the claim may bind meanwhile).

import { chmod, chown, mkdir, stat } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { isRecord, type KubeObject } from '../../controlplane/api/objects.js';

type Rec = Record<string, unknown>;
const rec = (v: unknown): Rec => (isRecord(v) ? v : {});

export interface ClaimVolumeInput {
  claimName: string;
  readOnly: boolean;
  pod: KubeObject;
  /** The pod's claims and the volumes bound to them, by name, as the control plane sent them. */
  claims: ReadonlyMap<string, KubeObject>;
  volumes: ReadonlyMap<string, KubeObject>;
  nodeName: string;
}

/** The node a volume is pinned to by kubernetes.io/hostname (or metadata.name) In [one node]. */
function volumeNode(pv: KubeObject): string | undefined {
  const terms = rec(rec(rec(pv.spec).nodeAffinity).required).nodeSelectorTerms;
  for (const t of Array.isArray(terms) ? terms : []) {
    for (const field of ['matchExpressions', 'matchFields']) {
      const list = rec(t)[field];
      for (const r of Array.isArray(list) ? list.map(rec) : []) {
        const key = field === 'matchFields' ? 'metadata.name' : 'kubernetes.io/hostname';
        if (
          r.key === key &&
          r.operator === 'In' &&
          Array.isArray(r.values) &&
          r.values.length === 1
        )
          return String(r.values[0]);
      }
    }
  }
  return undefined;
}

/**
 * Where the claim's data is on this host, or why the pod must wait. Creates
 * the directory of a local volume that does not exist yet.
 */
export async function claimVolumePath(
  input: ClaimVolumeInput,
): Promise<{ hostPath: string; readOnly: boolean } | string> {
  const claim = input.claims.get(input.claimName);
  if (!claim) return `persistentvolumeclaim "${input.claimName}" not found`;
  const volumeName = rec(claim.spec).volumeName;
  if (rec(claim.status).phase !== 'Bound' || typeof volumeName !== 'string' || !volumeName)
    return `persistentvolumeclaim "${input.claimName}" is not bound yet`;
  const pv = input.volumes.get(volumeName);
  if (!pv) return `persistentvolume "${volumeName}" not found`;
  const node = volumeNode(pv);
  if (node !== undefined && node !== input.nodeName)
    return `persistentvolume "${volumeName}" is on node "${node}", not on this node "${input.nodeName}"`;
  const spec = rec(pv.spec);
  const local = rec(spec.local).path;
  const hostPath = rec(spec.hostPath).path;
  const dir =
    typeof local === 'string' ? local : typeof hostPath === 'string' ? hostPath : undefined;
  if (!dir) return `persistentvolume "${volumeName}" is not a local or hostPath volume`;
  if (!isAbsolute(dir)) return `persistentvolume "${volumeName}" has a relative path "${dir}"`;
  const existed = await stat(dir).then(
    (s) => (s.isDirectory() ? true : `persistentvolume "${volumeName}": ${dir} is not a directory`),
    () => false,
  );
  if (typeof existed === 'string') return existed;
  if (!existed) {
    await mkdir(dir, { recursive: true });
    const fsGroup = rec(rec(input.pod.spec).securityContext).fsGroup;
    if (typeof fsGroup === 'number') {
      // Group-owned and setgid, as the kubelet prepares volumes for an fsGroup.
      await chown(dir, 0, fsGroup);
      await chmod(dir, 0o2775);
    } else {
      await chmod(dir, 0o777);
    }
  }
  const modes = Array.isArray(spec.accessModes) ? spec.accessModes : [];
  const readOnlyVolume = modes.length > 0 && modes.every((m) => m === 'ReadOnlyMany');
  return { hostPath: dir, readOnly: input.readOnly || readOnlyVolume };
}
