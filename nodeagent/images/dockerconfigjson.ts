// Registry credentials from a pod's imagePullSecrets: a Secret of type
// kubernetes.io/dockerconfigjson whose data[".dockerconfigjson"] is
// {"auths": {"<registry>": {"auth": base64("user:pass")} | {"username", "password"}}}.
// Keys are matched the way kubelet's credential provider does: a scheme and a
// path are ignored, and Docker Hub answers to any of its historic names.

import { isRecord } from '../../controlplane/api/objects.js';
import type { RegistryAuth } from './registry-client.js';

export const DOCKER_CONFIG_JSON_TYPE = 'kubernetes.io/dockerconfigjson';
export const DOCKER_CONFIG_JSON_KEY = '.dockerconfigjson';

const DOCKER_HUB_NAMES = new Set([
  'docker.io',
  'index.docker.io',
  'registry-1.docker.io',
  'registry.hub.docker.com',
]);

/** The Secret fields this reads; a KubeObject for a Secret fits. */
export interface DockerConfigSecret {
  type?: unknown;
  data?: unknown;
  stringData?: unknown;
}

/**
 * Credentials for `registryHost` ("127.0.0.1:5000", "docker.io") from one
 * dockerconfigjson Secret, or undefined if it has none for that host or is
 * not such a Secret. data values are base64 as the API serves them.
 */
export function credentialsFromSecret(
  secret: DockerConfigSecret,
  registryHost: string,
): RegistryAuth | undefined {
  if (secret.type !== DOCKER_CONFIG_JSON_TYPE) return undefined;
  let text: string | undefined;
  if (isRecord(secret.data) && typeof secret.data[DOCKER_CONFIG_JSON_KEY] === 'string') {
    text = Buffer.from(secret.data[DOCKER_CONFIG_JSON_KEY], 'base64').toString('utf8');
  } else if (
    isRecord(secret.stringData) &&
    typeof secret.stringData[DOCKER_CONFIG_JSON_KEY] === 'string'
  ) {
    text = secret.stringData[DOCKER_CONFIG_JSON_KEY];
  }
  return text === undefined ? undefined : credentialsFromDockerConfig(text, registryHost);
}

/** The same lookup on the JSON text of a .dockerconfigjson (or ~/.docker/config.json). */
export function credentialsFromDockerConfig(
  json: string,
  registryHost: string,
): RegistryAuth | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return undefined;
  }
  if (!isRecord(parsed) || !isRecord(parsed.auths)) return undefined;
  const want = normalizeHost(registryHost);
  for (const [key, entry] of Object.entries(parsed.auths)) {
    if (normalizeHost(key) !== want || !isRecord(entry)) continue;
    const creds = entryCredentials(entry);
    if (creds) return creds;
  }
  return undefined;
}

/** "auth" wins over username/password when both are present, as in kubelet. */
function entryCredentials(entry: Record<string, unknown>): RegistryAuth | undefined {
  if (typeof entry.auth === 'string' && entry.auth !== '') {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0) return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
    return undefined;
  }
  if (
    typeof entry.username === 'string' &&
    entry.username !== '' &&
    typeof entry.password === 'string'
  ) {
    return { username: entry.username, password: entry.password };
  }
  return undefined;
}

/** "https://index.docker.io/v1/" → "docker.io"; "http://reg:5000/v2/" → "reg:5000". */
function normalizeHost(key: string): string {
  const host = (key.replace(/^[a-z]+:\/\//i, '').split('/')[0] ?? '').toLowerCase();
  return DOCKER_HUB_NAMES.has(host) ? 'docker.io' : host;
}
