// An object's JSON as the API serves it, made from the bytes etcd holds
// (which lack resourceVersion: see etcd-store.ts) without parsing them, so
// the HTTP watch sends an event's object without serializing it again, and
// once however many watchers it has, as kube-apiserver's watch cache
// serializes each event once.

const METADATA = Buffer.from('"metadata":{');
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const CLOSE_BRACE = 0x7d;

/**
 * The stored JSON with `"resourceVersion":"<revision>"` first in its
 * top-level metadata, as pieces to write one after another (nothing is
 * copied); undefined when it has no top-level metadata object (nothing the
 * store writes).
 */
export function withResourceVersion(stored: Buffer, revision: number): Buffer[] | undefined {
  const at = topLevelMetadata(stored);
  if (at < 0) return undefined;
  const field = `"resourceVersion":"${revision}"${stored[at] === CLOSE_BRACE ? '' : ','}`;
  return [stored.subarray(0, at), Buffer.from(field), stored.subarray(at)];
}

/** The index just inside the top-level `"metadata":{`, or -1. */
function topLevelMetadata(json: Buffer): number {
  // JSON.stringify writes every quote inside a string as \", so a match is a
  // key; it may be a nested object's metadata (a template's), hence the depth.
  for (let i = json.indexOf(METADATA); i >= 0; i = json.indexOf(METADATA, i + 1)) {
    if (depthAt(json, i) === 1) return i + METADATA.length;
  }
  return -1;
}

/** How many objects and arrays are open at `end` (-1 inside a string). */
function depthAt(json: Buffer, end: number): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < end; i++) {
    const c = json[i];
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === 0x7b || c === 0x5b) depth++;
    else if (c === CLOSE_BRACE || c === 0x5d) depth--;
  }
  return inString ? -1 : depth;
}
