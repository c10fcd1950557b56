// Image references as Docker reads them (github.com/distribution/reference:
// ParseNormalizedNamed + TagNameOnly): "busybox" is
// docker.io/library/busybox:latest, a first component with a dot, a colon or
// the name "localhost" is a registry host, a digest pins the content.

import { ImagePullError } from './errors.js';

export interface ImageReference {
  /** The registry host as written, with port: "docker.io", "127.0.0.1:5000". */
  domain: string;
  /** The repository inside the registry: "library/busybox". */
  path: string;
  /** Absent only when a digest is given without a tag. */
  tag: string | undefined;
  /** "sha256:<64 hex>" when the reference pins a manifest. */
  digest: string | undefined;
}

export const DEFAULT_DOMAIN = 'docker.io';
const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
const OFFICIAL_REPO_PREFIX = 'library/';
const NAME_TOTAL_LENGTH_MAX = 255;

// The grammar's pieces, from distribution/reference/regexp.go.
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN_RE = new RegExp(
  `^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?$`,
);
const PATH_COMPONENT_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG_RE = /^[\w][\w.-]{0,127}$/;
const DIGEST_RE = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;
const SHA256_RE = /^sha256:[a-f0-9]{64}$/;

/** Parses `ref` with Docker's defaulting; throws ImagePullError(InvalidImageName). */
export function parseImageReference(ref: string): ImageReference {
  const invalid = (why: string): ImagePullError =>
    new ImagePullError('InvalidImageName', ref, `invalid image reference "${ref}": ${why}`);
  if (ref === '') throw invalid('empty');
  if (ref !== ref.trim()) throw invalid('leading or trailing space');

  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST_RE.test(digest)) throw invalid('invalid digest format');
    // Only sha256 is verifiable here; reject others now rather than after a download.
    if (!SHA256_RE.test(digest))
      throw invalid('unsupported digest algorithm (only lowercase sha256)');
  }

  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG_RE.test(tag)) throw invalid('invalid tag format');
  }

  if (rest.length > NAME_TOTAL_LENGTH_MAX)
    throw invalid(`repository name longer than ${NAME_TOTAL_LENGTH_MAX}`);
  let { domain, path } = splitDomain(rest);
  if (domain === LEGACY_DEFAULT_DOMAIN) domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !path.includes('/')) path = OFFICIAL_REPO_PREFIX + path;

  if (!DOMAIN_RE.test(domain)) throw invalid('invalid registry host');
  for (const component of path.split('/')) {
    if (PATH_COMPONENT_RE.test(component)) continue;
    if (PATH_COMPONENT_RE.test(component.toLowerCase()))
      throw invalid('repository name must be lowercase');
    throw invalid('invalid reference format');
  }

  if (tag === undefined && digest === undefined) tag = 'latest';
  return { domain, path, tag, digest };
}

/** Docker's splitDockerDomain: is the first component a host or a repository? */
function splitDomain(name: string): { domain: string; path: string } {
  const slash = name.indexOf('/');
  if (slash < 0) return { domain: DEFAULT_DOMAIN, path: name };
  const first = name.slice(0, slash);
  const isHost =
    first.includes('.') ||
    first.includes(':') ||
    first === 'localhost' ||
    first !== first.toLowerCase();
  return isHost
    ? { domain: first, path: name.slice(slash + 1) }
    : { domain: DEFAULT_DOMAIN, path: name };
}

/** "docker.io/library/busybox": the repository, without tag or digest. */
export function repositoryOf(ref: ImageReference): string {
  return `${ref.domain}/${ref.path}`;
}

/** The fully qualified form: "docker.io/library/busybox:latest", "h:5000/x@sha256:…". */
export function formatImageReference(ref: ImageReference): string {
  let s = repositoryOf(ref);
  if (ref.tag !== undefined) s += `:${ref.tag}`;
  if (ref.digest !== undefined) s += `@${ref.digest}`;
  return s;
}

/** What to ask the registry's manifest endpoint for: the digest wins over a tag. */
export function manifestReferenceOf(ref: ImageReference): string {
  return ref.digest ?? ref.tag ?? 'latest';
}
