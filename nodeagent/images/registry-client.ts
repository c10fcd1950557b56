// The OCI distribution API, read side: manifests (OCI and Docker schema 2,
// single-platform and indexes) and blobs of one repository, with anonymous,
// bearer-token and basic auth. HTTPS unless the registry host is listed as
// insecure. Every failure is an ImagePullError carrying the registry's own
// code and message, rendered the way Docker renders them ("manifest unknown:
// manifest unknown", "unauthorized: authentication required").
//
// One client serves one pull: it caches the Authorization it earned for the
// repository, so a token is asked for once per pull, not once per blob.

import { createHash } from 'node:crypto';
import { isRecord } from '../../controlplane/api/objects.js';
import { ImagePullError } from './errors.js';
import { DEFAULT_DOMAIN, type ImageReference } from './reference.js';

export const MediaType = {
  OciIndex: 'application/vnd.oci.image.index.v1+json',
  OciManifest: 'application/vnd.oci.image.manifest.v1+json',
  DockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  DockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
} as const;

const MANIFEST_ACCEPT = [
  MediaType.OciIndex,
  MediaType.OciManifest,
  MediaType.DockerManifestList,
  MediaType.DockerManifest,
].join(', ');

/** Manifests are small; anything bigger is refused before it is buffered (containerd's limit). */
const MANIFEST_SIZE_MAX = 4 * 1024 * 1024;
const DOCKER_HUB_ENDPOINT = 'registry-1.docker.io';

export interface RegistryAuth {
  username: string;
  password: string;
}

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
}

export interface ImageManifest {
  mediaType: string;
  config: Descriptor;
  layers: Descriptor[];
}

export interface ImageIndex {
  mediaType: string;
  manifests: Descriptor[];
}

export type Manifest =
  { kind: 'manifest'; manifest: ImageManifest } | { kind: 'index'; index: ImageIndex };

export interface FetchedManifest {
  /** sha256 of the bytes the registry sent: the manifest's identity. */
  digest: string;
  body: Buffer;
  parsed: Manifest;
}

export interface RegistryClientOptions {
  /** Hosts ("127.0.0.1:5000") spoken to over plain HTTP; all others use HTTPS. */
  insecureRegistries?: readonly string[];
  auth?: RegistryAuth;
  userAgent?: string;
}

export class RegistryClient {
  private readonly base: string;
  private authorization: string | undefined;

  /** `ref` is the reference as the user wrote it, for error messages only. */
  constructor(
    private readonly image: ImageReference,
    private readonly ref: string,
    private readonly opts: RegistryClientOptions = {},
  ) {
    const insecure = opts.insecureRegistries?.includes(image.domain) ?? false;
    const host = image.domain === DEFAULT_DOMAIN ? DOCKER_HUB_ENDPOINT : image.domain;
    this.base = `${insecure ? 'http' : 'https'}://${host}/v2/${image.path}`;
  }

  /** GETs a manifest by tag or digest and checks its digest (against `reference` if that is one). */
  async getManifest(reference: string): Promise<FetchedManifest> {
    const what = `manifest ${reference}`;
    const res = await this.request(
      `${this.base}/manifests/${reference}`,
      { accept: MANIFEST_ACCEPT },
      what,
    );
    const declared = Number(res.headers.get('content-length') ?? '0');
    if (declared > MANIFEST_SIZE_MAX) {
      await res.body?.cancel();
      throw this.fail(`${what} is ${declared} bytes, larger than the ${MANIFEST_SIZE_MAX} allowed`);
    }
    const body = Buffer.from(await res.arrayBuffer());
    if (body.length > MANIFEST_SIZE_MAX)
      throw this.fail(`${what} is larger than ${MANIFEST_SIZE_MAX} bytes`);
    const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
    if (reference.startsWith('sha256:') && reference !== digest) {
      throw this.fail(`${what}: content has digest ${digest}`);
    }
    // A registry that names a different digest than the bytes it sent is
    // corrupt or lying; only sha256 headers can be compared.
    const named = res.headers.get('docker-content-digest');
    if (named?.startsWith('sha256:') && named !== digest) {
      throw this.fail(`${what}: registry says ${named}, content has digest ${digest}`);
    }
    const contentType = res.headers.get('content-type')?.split(';')[0]?.trim();
    return { digest, body, parsed: this.parseManifest(body, contentType, what) };
  }

  /** Opens a blob; the caller streams the body and verifies it against `digest`. */
  async getBlob(
    digest: string,
  ): Promise<{ body: AsyncIterable<Uint8Array>; size: number | undefined }> {
    const res = await this.request(`${this.base}/blobs/${digest}`, {}, `blob ${digest}`);
    if (!res.body) throw this.fail(`blob ${digest}: empty response`);
    const length = res.headers.get('content-length');
    return { body: res.body, size: length === null ? undefined : Number(length) };
  }

  private parseManifest(body: Buffer, contentType: string | undefined, what: string): Manifest {
    let json: unknown;
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch (err) {
      throw this.fail(`${what} is not JSON`, { cause: err });
    }
    if (!isRecord(json)) throw this.fail(`${what} is not a JSON object`);
    if (json.schemaVersion !== 2) {
      throw this.fail(
        `${what}: schema version ${String(json.schemaVersion)} is not supported (only schema 2 / OCI)`,
      );
    }
    // The body's mediaType is authoritative when present; the header may be generic.
    const mediaType = typeof json.mediaType === 'string' ? json.mediaType : contentType;
    const isIndex =
      mediaType === MediaType.OciIndex ||
      mediaType === MediaType.DockerManifestList ||
      (mediaType !== MediaType.OciManifest &&
        mediaType !== MediaType.DockerManifest &&
        Array.isArray(json.manifests));
    if (isIndex) {
      if (!Array.isArray(json.manifests)) throw this.fail(`${what}: index without manifests`);
      const manifests = json.manifests.map((d, i) => this.descriptor(d, `${what} manifests[${i}]`));
      return { kind: 'index', index: { mediaType: mediaType ?? MediaType.OciIndex, manifests } };
    }
    if (!Array.isArray(json.layers)) throw this.fail(`${what}: manifest without layers`);
    return {
      kind: 'manifest',
      manifest: {
        mediaType: mediaType ?? MediaType.OciManifest,
        config: this.descriptor(json.config, `${what} config`),
        layers: json.layers.map((d, i) => this.descriptor(d, `${what} layers[${i}]`)),
      },
    };
  }

  private descriptor(v: unknown, what: string): Descriptor {
    if (!isRecord(v)) throw this.fail(`${what}: not a descriptor`);
    const { mediaType, digest, size, platform } = v;
    if (typeof mediaType !== 'string') throw this.fail(`${what}: mediaType missing`);
    // Digests become file names in the store: accept only the one form we verify.
    if (typeof digest !== 'string' || !/^sha256:[a-f0-9]{64}$/.test(digest)) {
      throw this.fail(`${what}: unsupported digest ${String(digest)}`);
    }
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0)
      throw this.fail(`${what}: bad size`);
    const d: Descriptor = { mediaType, digest, size };
    if (
      isRecord(platform) &&
      typeof platform.os === 'string' &&
      typeof platform.architecture === 'string'
    ) {
      d.platform = { os: platform.os, architecture: platform.architecture };
      if (typeof platform.variant === 'string') d.platform.variant = platform.variant;
    }
    return d;
  }

  /** One GET, answering a 401 challenge once (bearer token or basic) and mapping errors. */
  private async request(
    url: string,
    headers: Record<string, string>,
    what: string,
  ): Promise<Response> {
    let res = await this.send(url, headers, what);
    if (res.status === 401) {
      const challenge = parseChallenge(res.headers.get('www-authenticate'));
      const canAnswer =
        challenge?.scheme === 'bearer' || (challenge?.scheme === 'basic' && this.opts.auth);
      if (challenge && canAnswer) {
        await res.body?.cancel();
        this.authorization = await this.answer(challenge);
        res = await this.send(url, headers, what);
      }
    }
    if (!res.ok) throw await this.registryError(res, what);
    return res;
  }

  private async send(
    url: string,
    headers: Record<string, string>,
    what: string,
  ): Promise<Response> {
    const all: Record<string, string> = { ...headers };
    if (this.opts.userAgent) all['user-agent'] = this.opts.userAgent;
    if (this.authorization) all.authorization = this.authorization;
    try {
      // fetch follows redirects (blob stores) and drops Authorization across origins.
      return await fetch(url, { headers: all });
    } catch (err) {
      throw this.fail(`${what}: ${errorText(err)}`, { cause: err });
    }
  }

  private async answer(challenge: Challenge): Promise<string> {
    const basic = this.opts.auth
      ? `Basic ${Buffer.from(`${this.opts.auth.username}:${this.opts.auth.password}`).toString('base64')}`
      : undefined;
    if (challenge.scheme === 'basic' && basic) return basic;

    const realm = challenge.params.realm;
    if (!realm || !/^https?:\/\//.test(realm))
      throw this.fail(`bearer challenge without a usable realm`);
    const url = new URL(realm);
    if (challenge.params.service) url.searchParams.set('service', challenge.params.service);
    url.searchParams.set('scope', challenge.params.scope ?? `repository:${this.image.path}:pull`);
    let res: Response;
    try {
      res = await fetch(url, { headers: basic ? { authorization: basic } : {} });
    } catch (err) {
      throw this.fail(`token request to ${url.origin}: ${errorText(err)}`, { cause: err });
    }
    if (!res.ok) throw await this.registryError(res, `token from ${url.origin}`);
    const body: unknown = await res.json().catch(() => undefined);
    const token = isRecord(body) ? (body.token ?? body.access_token) : undefined;
    if (typeof token !== 'string' || token === '')
      throw this.fail(`token response from ${url.origin} has no token`);
    return `Bearer ${token}`;
  }

  /** The registry's error body ({"errors":[{code,message}]}) as Docker prints it. */
  private async registryError(res: Response, what: string): Promise<ImagePullError> {
    const text = await res.text().catch(() => '');
    let code: string | undefined;
    const parts: string[] = [];
    try {
      const body: unknown = JSON.parse(text);
      if (isRecord(body) && Array.isArray(body.errors)) {
        for (const e of body.errors) {
          if (!isRecord(e)) continue;
          if (typeof e.code === 'string') code ??= e.code;
          const label =
            typeof e.code === 'string' ? e.code.toLowerCase().replace(/_/g, ' ') : 'error';
          parts.push(typeof e.message === 'string' && e.message ? `${label}: ${e.message}` : label);
        }
      }
    } catch {
      // Not the registry's JSON (a proxy's HTML page, say): fall back to the status.
    }
    if (parts.length === 0) {
      if (res.status === 401) parts.push('unauthorized: authentication required');
      else if (res.status === 404) parts.push('not found');
      else parts.push(`HTTP ${res.status} ${res.statusText}`.trim());
    }
    return this.fail(`${what}: ${parts.join('; ')}`, { status: res.status, code });
  }

  private fail(
    message: string,
    opts: { cause?: unknown; status?: number; code?: string } = {},
  ): ImagePullError {
    return new ImagePullError(
      'ErrImagePull',
      this.ref,
      `failed to pull image "${this.ref}": ${message}`,
      opts,
    );
  }
}

/** Picks the image manifest for this machine (linux and Node's architecture) from an index. */
export function selectPlatform(
  index: ImageIndex,
  platform: Platform = currentPlatform(),
): Descriptor | undefined {
  const candidates = index.manifests.filter(
    (d) =>
      d.platform?.os === platform.os &&
      d.platform.architecture === platform.architecture &&
      (d.mediaType === MediaType.OciManifest || d.mediaType === MediaType.DockerManifest),
  );
  if (platform.variant === undefined) return candidates[0];
  // Prefer the exact variant (arm64/v8, arm/v7), then one that names none.
  return (
    candidates.find((d) => d.platform?.variant === platform.variant) ??
    candidates.find((d) => d.platform?.variant === undefined)
  );
}

/** Node's process.arch in OCI's (GOARCH) words. */
export function currentPlatform(): Platform {
  const arch: Record<string, Platform> = {
    x64: { os: 'linux', architecture: 'amd64' },
    arm64: { os: 'linux', architecture: 'arm64', variant: 'v8' },
    arm: { os: 'linux', architecture: 'arm', variant: 'v7' },
    ia32: { os: 'linux', architecture: '386' },
    ppc64: { os: 'linux', architecture: 'ppc64le' },
    s390x: { os: 'linux', architecture: 's390x' },
    riscv64: { os: 'linux', architecture: 'riscv64' },
  };
  return arch[process.arch] ?? { os: 'linux', architecture: process.arch };
}

export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

interface Challenge {
  scheme: string;
  params: Record<string, string | undefined>;
}

/** Parses the first challenge of a WWW-Authenticate header: `Bearer realm="…",service="…",scope="…"`. */
export function parseChallenge(header: string | null): Challenge | undefined {
  if (!header) return undefined;
  const m = /^\s*([A-Za-z]+)\s*(.*)$/.exec(header);
  if (!m?.[1]) return undefined;
  const params: Record<string, string> = {};
  const re = /([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?\s*/gy;
  const rest = m[2] ?? '';
  let p: RegExpExecArray | null;
  while ((p = re.exec(rest)) !== null && p[0] !== '') {
    const key = p[1]?.toLowerCase();
    if (key) params[key] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : (p[3] ?? '');
  }
  return { scheme: m[1].toLowerCase(), params };
}

function errorText(err: unknown): string {
  if (err instanceof Error) {
    // undici hides the socket error (ECONNREFUSED, certificate) in `cause`.
    const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
    return `${err.message}${cause}`;
  }
  return String(err);
}
