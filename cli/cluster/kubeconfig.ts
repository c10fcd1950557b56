// The cluster's context in the user's kubeconfig: written (and made current)
// by `up` with the control plane's merge writer, taken out again by `down`,
// which leaves every other cluster, user and context as it found them and
// switches back to the context that was current before.

import { access, rm, rmdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse, stringify } from 'yaml';
import * as k8s from '@kubernetes/client-node';
import { isRecord } from '../../controlplane/api/objects.js';
import { writeAdminKubeconfig } from '../../controlplane/pki/kubeconfig.js';
import { readOptional, writeFileAtomic } from '../../controlplane/pki/files.js';
import type { ClusterLayout } from './layout.js';
import type { KubeconfigRecord } from './state.js';

/** The file kubectl reads first: $KUBECONFIG's first entry, else ~/.kube/config. */
export function userKubeconfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const first = (env.KUBECONFIG ?? '').split(':').find(Boolean);
  return first ?? join(homedir(), '.kube', 'config');
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

function currentContext(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const value: unknown = parse(text);
  const ctx = isRecord(value) ? value['current-context'] : undefined;
  return typeof ctx === 'string' && ctx !== '' ? ctx : undefined;
}

/**
 * Writes the cluster's cluster/user/context into `path` from the control
 * plane's admin kubeconfig and makes it current. `previous` is what an earlier
 * `up` recorded; the returned record keeps its facts about the file as it was
 * before the first `up`.
 */
export async function installContext(
  layout: ClusterLayout,
  path: string,
  previous: KubeconfigRecord | undefined,
): Promise<KubeconfigRecord> {
  const record: KubeconfigRecord =
    previous?.path === path
      ? previous
      : {
          path,
          createdDir: !(await exists(dirname(path))),
          createdFile: !(await exists(path)),
        };
  if (previous?.path !== path) {
    const before = currentContext(await readOptional(path));
    if (before !== undefined && before !== layout.contextName) record.previousContext = before;
  }
  const admin = new k8s.KubeConfig();
  admin.loadFromFile(layout.adminKubeconfig);
  const cluster = admin.getCurrentCluster();
  const user = admin.getCurrentUser();
  if (!cluster?.caData || !user?.token) {
    throw new Error(`${layout.adminKubeconfig} has no CA or token`);
  }
  await writeAdminKubeconfig(path, {
    server: layout.apiUrl,
    caCertPem: Buffer.from(cluster.caData, 'base64').toString('utf8'),
    token: user.token,
    clusterName: layout.contextName,
    contextName: layout.contextName,
    userName: layout.userName,
  });
  return record;
}

/**
 * Removes the cluster's entries from the kubeconfig `up` wrote. When our
 * context was current, the one current before `up` is restored (if it still
 * exists). A file (and ~/.kube) that `up` created is removed once nothing else
 * is in it.
 */
export async function removeContext(
  layout: ClusterLayout,
  record: KubeconfigRecord,
): Promise<void> {
  const text = await readOptional(record.path);
  if (text === undefined) return;
  const value: unknown = parse(text);
  if (!isRecord(value)) return;
  const ours: Record<string, string> = {
    clusters: layout.contextName,
    contexts: layout.contextName,
    users: layout.userName,
  };
  let left = 0;
  for (const [list, name] of Object.entries(ours)) {
    const entries = value[list];
    if (!Array.isArray(entries)) continue;
    const kept = entries.filter((e) => !(isRecord(e) && e['name'] === name));
    value[list] = kept;
    left += kept.length;
  }
  if (value['current-context'] === layout.contextName) {
    const contexts = Array.isArray(value['contexts']) ? value['contexts'] : [];
    const restore = record.previousContext;
    if (restore !== undefined && contexts.some((c) => isRecord(c) && c['name'] === restore)) {
      value['current-context'] = restore;
    } else {
      delete value['current-context'];
    }
  }
  if (record.createdFile && left === 0) {
    await rm(record.path, { force: true });
    if (record.createdDir) await rmdir(dirname(record.path)).catch(() => undefined);
    return;
  }
  await writeFileAtomic(record.path, stringify(value), 0o600);
}
