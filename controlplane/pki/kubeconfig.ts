// The admin kubeconfig: what kubectl, @kubernetes/client-node and the shoal CLI
// read to reach the API server with the cluster CA and the admin token.
import { mkdir, realpath } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parse, stringify } from 'yaml';
import { isRecord } from '../api/objects.js';
import { PkiError } from './errors.js';
import { isErrnoException, readOptional, writeFileAtomic } from './files.js';

export interface AdminKubeconfigOptions {
  /** The API server URL, e.g. https://127.0.0.1:6443. */
  server: string;
  /** The cluster CA certificate clients verify the server with. */
  caCertPem: string;
  /** The admin bearer token. */
  token: string;
  /** Default "shoal". */
  clusterName?: string;
  /** Default "shoal". */
  contextName?: string;
  /** Default "shoal-admin". */
  userName?: string;
}

const LISTS = ['clusters', 'users', 'contexts'] as const;

/**
 * The kubeconfig YAML for the admin: one cluster, user and context, the context
 * made current. Given the text of an existing kubeconfig, the result is that file
 * with same-named entries replaced and every other entry and field kept (comments
 * are not kept: the file is rewritten from its data, as kubectl does).
 */
export function kubeconfigYaml(opts: AdminKubeconfigOptions, existingYaml?: string): string {
  const clusterName = opts.clusterName ?? 'shoal';
  const contextName = opts.contextName ?? 'shoal';
  const userName = opts.userName ?? 'shoal-admin';
  const ours = {
    clusters: {
      name: clusterName,
      cluster: {
        server: opts.server,
        'certificate-authority-data': Buffer.from(opts.caCertPem, 'utf8').toString('base64'),
      },
    },
    users: { name: userName, user: { token: opts.token } },
    contexts: { name: contextName, context: { cluster: clusterName, user: userName } },
  };

  const config = parseExisting(existingYaml);
  config['apiVersion'] ??= 'v1';
  config['kind'] ??= 'Config';
  for (const list of LISTS) {
    const entries = config[list] ?? [];
    if (!Array.isArray(entries)) {
      throw new PkiError('CorruptState', `kubeconfig field "${list}" is not a list`);
    }
    const name = ours[list].name;
    config[list] = [
      ...entries.filter((entry) => !(isRecord(entry) && entry['name'] === name)),
      ours[list],
    ];
  }
  config['current-context'] = contextName;
  return stringify(config);
}

function parseExisting(existingYaml: string | undefined): Record<string, unknown> {
  if (existingYaml === undefined) return {};
  let value: unknown;
  try {
    value = parse(existingYaml);
  } catch (err) {
    throw new PkiError('CorruptState', 'existing kubeconfig is not valid YAML', { cause: err });
  }
  // An empty file parses to null (kubectl treats it as an empty config too).
  if (value === null || value === undefined) return {};
  if (!isRecord(value)) throw new PkiError('CorruptState', 'existing kubeconfig is not a mapping');
  return value;
}

/**
 * Writes the admin kubeconfig to `path` (mode 0600), merging into the kubeconfig
 * already there, if any, so that it can target ~/.kube/config. The write is atomic:
 * a failure leaves the previous file whole. A symlinked path updates its target.
 */
export async function writeAdminKubeconfig(
  path: string,
  opts: AdminKubeconfigOptions,
): Promise<void> {
  const target = await resolveExisting(path);
  const existing = await readOptional(target);
  const text = kubeconfigYaml(opts, existing);
  await mkdir(dirname(target), { recursive: true, mode: 0o700 });
  await writeFileAtomic(target, text, 0o600);
}

// Renaming over a symlink would replace the link itself (say, a ~/.kube/config
// kept in a dotfiles repository); write to what it points at instead.
async function resolveExisting(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch (err) {
    if (isErrnoException(err) && err.code === 'ENOENT') return path;
    throw err;
  }
}
