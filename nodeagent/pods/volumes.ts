// A pod's volumes on the host, set up the way the kubelet's volume plugins do
// before any container starts: emptyDir (a directory, or a tmpfs for medium
// Memory), hostPath (with its type checks), and ConfigMap / Secret volumes
// written by an atomic writer, so that calling prepareVolumes again after a
// ConfigMap changed swaps the whole content in one rename. Everything lives
// under the pod's directory; cleanupVolumes unmounts and removes it.
//
// Layout under <podDir>/volumes/:
//   empty-dir/<name>/
//   configmap/<name>/{..data -> ..<ts>, ..<ts>/<files>, <key> -> ..data/<key>}
//   secret/<name>/, downward-api/<name>/, projected/<name>/ (same as configmap)

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, realpathSync, statSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { KubeObject } from '../../controlplane/api/objects.js';
import { configMapData, expand, fieldValue, resourceValue } from './env.js';
import { parseQuantity, quantityValue } from './quantity.js';
import { claimVolumePath } from '../volumes/claims.js';
import {
  podSpec,
  type Container,
  type DownwardAPIVolumeFile,
  type HostPathVolumeSource,
  type KeyToPath,
  type Volume,
  type VolumeProjection,
} from './types.js';

const run = promisify(execFile);

export interface PreparedVolume {
  hostPath: string;
  /** Volumes the kubelet always mounts read-only (ConfigMap, Secret, downward API, projected). */
  readOnly: boolean;
}

export type PreparedVolumes = Map<string, PreparedVolume>;

export interface PrepareVolumesOptions {
  pod: KubeObject;
  /** <agent data>/pods/<uid> */
  podDir: string;
  /** The pod namespace's ConfigMaps and Secrets, by name. */
  configMaps: Map<string, KubeObject>;
  secrets: Map<string, KubeObject>;
  /** Node allocatable, for downward API resource limits a container does not set. */
  nodeAllocatable?: Record<string, string | number>;
  /** The pod's PersistentVolumeClaims and the volumes bound to them, by name. */
  claims?: Map<string, KubeObject>;
  persistentVolumes?: Map<string, KubeObject>;
  /** This node, which a claim's volume must live on. */
  nodeName?: string;
}

export interface Mount {
  source: string;
  destination: string;
  readOnly: boolean;
}

// The API server defaults both volume kinds' defaultMode to 0644.
const DEFAULT_MODE = 0o644;
const DATA_DIR = '..data';
const DATA_DIR_TMP = '..data_tmp';

/**
 * Sets up every volume of the pod; safe to call again (an update rewrites
 * ConfigMap and Secret content, and nothing is mounted twice). Fails with the
 * kubelet's "MountVolume.SetUp failed" message for the first volume that
 * cannot be set up.
 */
export async function prepareVolumes(
  opts: PrepareVolumesOptions,
): Promise<{ volumes: PreparedVolumes } | { error: string }> {
  const volumes: PreparedVolumes = new Map();
  for (const volume of podSpec(opts.pod).volumes ?? []) {
    try {
      const prepared = await prepareOne(volume, opts);
      if (typeof prepared === 'string') {
        return { error: `MountVolume.SetUp failed for volume "${volume.name}" : ${prepared}` };
      }
      volumes.set(volume.name, prepared);
    } catch (err) {
      return {
        error: `MountVolume.SetUp failed for volume "${volume.name}" : ${(err as Error).message}`,
      };
    }
  }
  return { volumes };
}

async function prepareOne(
  volume: Volume,
  opts: PrepareVolumesOptions,
): Promise<PreparedVolume | string> {
  const base = path.join(opts.podDir, 'volumes');
  if (volume.emptyDir) {
    const dir = path.join(base, 'empty-dir', volume.name);
    await fs.mkdir(dir, { recursive: true });
    if (volume.emptyDir.medium === 'Memory' && !(await mountPointsUnder(dir)).includes(dir)) {
      const options = ['mode=0777'];
      if (volume.emptyDir.sizeLimit !== undefined) {
        const q = parseQuantity(volume.emptyDir.sizeLimit);
        if (!q) return `invalid sizeLimit ${String(volume.emptyDir.sizeLimit)}`;
        options.push(`size=${quantityValue(q)}`);
      }
      await run('mount', ['-t', 'tmpfs', '-o', options.join(','), 'tmpfs', dir]);
    }
    // emptyDir is world-writable so that containers running as any user can use it.
    await fs.chmod(dir, 0o777);
    return { hostPath: dir, readOnly: false };
  }
  if (volume.hostPath) {
    const problem = await checkHostPath(volume.hostPath);
    if (problem) return problem;
    return { hostPath: volume.hostPath.path, readOnly: false };
  }
  if (volume.configMap) {
    const src = volume.configMap;
    const data = configMapBytes(opts, src.name ?? '', src.optional ?? false);
    if (typeof data === 'string') return data;
    const payload = makePayload(
      src.items,
      data,
      src.defaultMode ?? DEFAULT_MODE,
      src.optional ?? false,
      CM_MISSING_KEY,
    );
    if (typeof payload === 'string') return payload;
    const dir = path.join(base, 'configmap', volume.name);
    await writeAtomically(dir, payload);
    return { hostPath: dir, readOnly: true };
  }
  if (volume.secret) {
    const src = volume.secret;
    const data = secretBytes(opts, src.secretName ?? '', src.optional ?? false);
    if (typeof data === 'string') return data;
    const payload = makePayload(
      src.items,
      data,
      src.defaultMode ?? DEFAULT_MODE,
      src.optional ?? false,
      SECRET_MISSING_KEY,
    );
    if (typeof payload === 'string') return payload;
    const dir = path.join(base, 'secret', volume.name);
    await writeAtomically(dir, payload);
    return { hostPath: dir, readOnly: true };
  }
  if (volume.downwardAPI) {
    const payload = downwardPayload(
      volume.downwardAPI.items,
      volume.downwardAPI.defaultMode ?? DEFAULT_MODE,
      opts,
    );
    if (typeof payload === 'string') return payload;
    const dir = path.join(base, 'downward-api', volume.name);
    await writeAtomically(dir, payload);
    return { hostPath: dir, readOnly: true };
  }
  if (volume.projected) {
    const payload = projectedPayload(
      volume.projected.sources ?? [],
      volume.projected.defaultMode ?? DEFAULT_MODE,
      opts,
    );
    if (typeof payload === 'string') return payload;
    const dir = path.join(base, 'projected', volume.name);
    await writeAtomically(dir, payload);
    return { hostPath: dir, readOnly: true };
  }
  if (volume.persistentVolumeClaim) {
    return claimVolumePath({
      claimName: volume.persistentVolumeClaim.claimName,
      readOnly: volume.persistentVolumeClaim.readOnly ?? false,
      pod: opts.pod,
      claims: opts.claims ?? new Map(),
      volumes: opts.persistentVolumes ?? new Map(),
      nodeName: opts.nodeName ?? '',
    });
  }
  const kind = Object.keys(volume).find((k) => k !== 'name') ?? 'unknown';
  return `${kind} volumes are not supported`;
}

function base64Record(v: unknown): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  if (typeof v !== 'object' || v === null) return out;
  for (const [k, val] of Object.entries(v))
    if (typeof val === 'string') out[k] = Buffer.from(val, 'base64');
  return out;
}

const CM_MISSING_KEY = 'configmap references non-existent config key';
const SECRET_MISSING_KEY = 'references non-existent secret key';

// A ConfigMap's data and binaryData as bytes; an absent optional one is empty.
function configMapBytes(
  opts: PrepareVolumesOptions,
  name: string,
  optional: boolean,
): Record<string, Buffer> | string {
  const cm = opts.configMaps.get(name);
  if (!cm) return optional ? {} : `configmap "${name}" not found`;
  const data: Record<string, Buffer> = {};
  for (const [k, v] of Object.entries(configMapData(cm))) data[k] = Buffer.from(v, 'utf8');
  for (const [k, v] of Object.entries(base64Record(cm['binaryData']))) data[k] = v;
  return data;
}

// A Secret's data, decoded; `stringData` is honoured in case a writer left it.
function secretBytes(
  opts: PrepareVolumesOptions,
  name: string,
  optional: boolean,
): Record<string, Buffer> | string {
  const secret = opts.secrets.get(name);
  if (!secret) return optional ? {} : `secret "${name}" not found`;
  const data = base64Record(secret['data']);
  const stringData = secret['stringData'];
  if (typeof stringData === 'object' && stringData !== null) {
    for (const [k, v] of Object.entries(stringData))
      if (typeof v === 'string') data[k] = Buffer.from(v, 'utf8');
  }
  return data;
}

// The downward API volume plugin's CollectData: one file per item.
function downwardPayload(
  items: DownwardAPIVolumeFile[] | undefined,
  defaultMode: number,
  opts: PrepareVolumesOptions,
): Map<string, FileProjection> | string {
  const payload = new Map<string, FileProjection>();
  const errors: string[] = [];
  for (const item of items ?? []) {
    const mode = item.mode ?? defaultMode;
    if (item.fieldRef) {
      payload.set(item.path, {
        data: Buffer.from(fieldValue(item.fieldRef, { pod: opts.pod, nodeName: '' })),
        mode,
      });
    } else if (item.resourceFieldRef) {
      const container = podSpec(opts.pod).containers?.find(
        (c) => c.name === item.resourceFieldRef?.containerName,
      );
      const value = container
        ? resourceValue(item.resourceFieldRef, container, {
            pod: opts.pod,
            nodeAllocatable: opts.nodeAllocatable,
          })
        : { error: `container ${item.resourceFieldRef.containerName ?? ''} not found` };
      if (typeof value === 'string') payload.set(item.path, { data: Buffer.from(value), mode });
      else errors.push(value.error);
    }
  }
  return errors.length > 0 ? errors.join(', ') : payload;
}

// The projected volume plugin: sources merged into one payload, in order.
function projectedPayload(
  sources: VolumeProjection[],
  defaultMode: number,
  opts: PrepareVolumesOptions,
): Map<string, FileProjection> | string {
  const payload = new Map<string, FileProjection>();
  for (const source of sources) {
    let part: Map<string, FileProjection> | string;
    if (source.configMap) {
      const { name = '', items, optional = false } = source.configMap;
      const data = configMapBytes(opts, name, optional);
      part =
        typeof data === 'string'
          ? data
          : makePayload(items, data, defaultMode, optional, CM_MISSING_KEY);
    } else if (source.secret) {
      const { name = '', items, optional = false } = source.secret;
      const data = secretBytes(opts, name, optional);
      part =
        typeof data === 'string'
          ? data
          : makePayload(items, data, defaultMode, optional, SECRET_MISSING_KEY);
    } else if (source.downwardAPI) {
      part = downwardPayload(source.downwardAPI.items, defaultMode, opts);
    } else {
      const kind = Object.keys(source)[0] ?? 'unknown';
      // Shoal issues no service account tokens (yet); a pod that needs one cannot start.
      return `${kind} projections are not supported`;
    }
    if (typeof part === 'string') return part;
    for (const [p, f] of part) payload.set(p, f);
  }
  return payload;
}

interface FileProjection {
  data: Buffer;
  mode: number;
}

// The kubelet's MakePayload for configMap and secret volumes: every key, or
// only the listed items at their paths.
function makePayload(
  items: KeyToPath[] | undefined,
  data: Record<string, Buffer>,
  defaultMode: number,
  optional: boolean,
  missingKey: string,
): Map<string, FileProjection> | string {
  const payload = new Map<string, FileProjection>();
  if (!items || items.length === 0) {
    for (const [key, value] of Object.entries(data))
      payload.set(key, { data: value, mode: defaultMode });
    return payload;
  }
  for (const item of items) {
    const value = data[item.key];
    if (value === undefined) {
      if (optional) continue;
      return `${missingKey}: ${item.key}`;
    }
    payload.set(item.path, { data: value, mode: item.mode ?? defaultMode });
  }
  return payload;
}

// AtomicWriter.Write: the payload goes into a fresh hidden timestamped
// directory, `..data` is flipped to it with a rename (so a reader sees the
// old set or the new set, never a mix), top-level names are symlinks through
// `..data`, and what the new payload no longer has is removed.
async function writeAtomically(dir: string, payload: Map<string, FileProjection>): Promise<void> {
  for (const p of payload.keys()) {
    const parts = p.split('/');
    if (p === '' || path.isAbsolute(p) || parts.includes('..') || p.startsWith('..')) {
      throw new Error(`invalid path in payload: ${p}`);
    }
  }
  await fs.mkdir(dir, { recursive: true });
  const dataLink = path.join(dir, DATA_DIR);
  const oldTsName = await fs.readlink(dataLink).catch(() => undefined);
  if (oldTsName !== undefined && (await sameContent(path.join(dir, oldTsName), payload))) return;

  const stamp = new Date()
    .toISOString()
    .replace(/[-:]/g, '_')
    .replace('T', '_')
    .replace(/\.(\d+)Z$/, '.$1');
  const tsName = `..${stamp}${randomBytes(4).readUInt32BE(0)}`;
  const tsDir = path.join(dir, tsName);
  await fs.mkdir(tsDir, { mode: 0o755 });
  for (const [rel, file] of payload) {
    const target = path.join(tsDir, rel);
    await fs.mkdir(path.dirname(target), { recursive: true, mode: 0o755 });
    await fs.writeFile(target, file.data, { mode: file.mode });
    await fs.chmod(target, file.mode);
  }

  const tmpLink = path.join(dir, DATA_DIR_TMP);
  await fs.rm(tmpLink, { force: true });
  await fs.symlink(tsName, tmpLink);
  await fs.rename(tmpLink, dataLink);

  const visible = new Set([...payload.keys()].map((p) => p.split('/')[0] ?? p));
  for (const name of visible) {
    const link = path.join(dir, name);
    const exists = await fs.lstat(link).then(
      () => true,
      () => false,
    );
    if (!exists) await fs.symlink(path.join(DATA_DIR, name), link);
  }
  for (const entry of await fs.readdir(dir)) {
    if (entry.startsWith('..') || visible.has(entry)) continue;
    await fs.rm(path.join(dir, entry), { recursive: true, force: true });
  }
  if (oldTsName !== undefined && oldTsName !== tsName && oldTsName.startsWith('..')) {
    await fs.rm(path.join(dir, oldTsName), { recursive: true, force: true });
  }
}

async function sameContent(tsDir: string, payload: Map<string, FileProjection>): Promise<boolean> {
  const existing = await listFiles(tsDir).catch(() => undefined);
  if (!existing || existing.length !== payload.size) return false;
  for (const [rel, file] of payload) {
    const full = path.join(tsDir, rel);
    const st = await fs.stat(full).catch(() => undefined);
    if (!st || (st.mode & 0o7777) !== file.mode) return false;
    if (!(await fs.readFile(full)).equals(file.data)) return false;
  }
  return true;
}

async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...(await listFiles(path.join(dir, entry.name), rel)));
    else out.push(rel);
  }
  return out;
}

// The kubelet's hostPath type checker, with its messages.
async function checkHostPath(src: HostPathVolumeSource): Promise<string | undefined> {
  const p = src.path;
  const st = await fs.stat(p).catch(() => undefined);
  switch (src.type ?? '') {
    case '':
      return undefined;
    case 'DirectoryOrCreate':
      if (!st) {
        await fs.mkdir(p, { recursive: true, mode: 0o755 });
        return undefined;
      }
      return st.isDirectory() ? undefined : `hostPath type check failed: ${p} is not a directory`;
    case 'Directory':
      return st?.isDirectory() ? undefined : `hostPath type check failed: ${p} is not a directory`;
    case 'FileOrCreate':
      if (!st) {
        // Like the kubelet, the parent directory is not created.
        const fh = await fs.open(p, 'a', 0o644);
        await fh.close();
        return undefined;
      }
      return st.isFile() ? undefined : `hostPath type check failed: ${p} is not a file`;
    case 'File':
      return st?.isFile() ? undefined : `hostPath type check failed: ${p} is not a file`;
    case 'Socket':
      return st?.isSocket() ? undefined : `hostPath type check failed: ${p} is not a socket file`;
    case 'CharDevice':
      return st?.isCharacterDevice()
        ? undefined
        : `hostPath type check failed: ${p} is not a character device`;
    case 'BlockDevice':
      return st?.isBlockDevice()
        ? undefined
        : `hostPath type check failed: ${p} is not a block device`;
    default:
      return `${String(src.type)} is an invalid volume type`;
  }
}

/**
 * The bind mounts for one container's volumeMounts. A subPath (or a
 * subPathExpr expanded against the container's environment) is created if
 * missing, with the volume's mode, as the kubelet does, and must resolve
 * inside its volume so that a symlink a container left in a shared volume
 * cannot expose the host. Throws with a kubelet-like message otherwise.
 */
export function mountsFor(
  container: Container,
  volumes: PreparedVolumes,
  env: { name: string; value: string }[] = [],
): Mount[] {
  const envMap = new Map(env.map((e) => [e.name, e.value]));
  return (container.volumeMounts ?? []).map((m) => {
    const volume = volumes.get(m.name);
    if (!volume)
      throw new Error(`cannot find volume "${m.name}" to mount into container "${container.name}"`);
    const readOnly = m.readOnly === true || volume.readOnly;
    const subPath = m.subPathExpr ? expand(m.subPathExpr, (n) => envMap.get(n)) : (m.subPath ?? '');
    if (!subPath) return { source: volume.hostPath, destination: m.mountPath, readOnly };
    if (path.isAbsolute(subPath))
      throw new Error(`error SubPath \`${subPath}\` must not be an absolute path`);
    if (subPath.split('/').includes('..')) {
      throw new Error(`unable to provision SubPath \`${subPath}\`: must not contain '..'`);
    }
    const joined = path.join(volume.hostPath, subPath);
    if (!existsSync(joined)) {
      const mode = statSync(volume.hostPath).mode & 0o7777;
      try {
        mkdirSync(joined, { recursive: true, mode });
      } catch {
        throw new Error(
          `failed to create subPath directory for volumeMount "${m.name}" of container "${container.name}"`,
        );
      }
    }
    const root = realpathSync(volume.hostPath);
    const resolved = realpathSync(joined);
    if (resolved !== root && !resolved.startsWith(root + path.sep)) {
      throw new Error(`subpath "${subPath}" of volume "${m.name}" resolves outside the volume`);
    }
    return { source: resolved, destination: m.mountPath, readOnly };
  });
}

// Mount points at or below dir, deepest first, from the agent's own mount
// namespace. /proc/self/mountinfo escapes space, tab, newline and backslash
// as octal.
async function mountPointsUnder(dir: string): Promise<string[]> {
  const text = await fs.readFile('/proc/self/mountinfo', 'utf8');
  const root = path.resolve(dir);
  const points = text
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((p): p is string => p !== undefined)
    .map((p) =>
      p.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8))),
    )
    .filter((p) => p === root || p.startsWith(root + '/'));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

/**
 * Unmounts whatever is mounted under the pod directory (memory-backed
 * emptyDirs) and removes the directory. It refuses to delete anything while a
 * mount remains, so a failed unmount never deletes through into a mount.
 */
export async function cleanupVolumes(podDir: string): Promise<void> {
  const abs = path.resolve(podDir);
  for (const point of await mountPointsUnder(abs)) {
    await run('umount', [point]);
  }
  const left = await mountPointsUnder(abs);
  if (left.length > 0) throw new Error(`still mounted under ${abs}: ${left.join(', ')}`);
  await fs.rm(abs, { recursive: true, force: true });
}
