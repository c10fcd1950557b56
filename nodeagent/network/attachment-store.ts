// What the agent remembers about each pod's network attachment, one JSON file
// per pod: the exact conflist and capability values it ran ADD with, and the
// result. DEL must see the same configuration ADD saw (portmap removes its
// rules only when handed the same portMappings), and the spec wants the ADD
// result as DEL's prevResult; a restarted agent has neither unless it is on
// disk. This is the agent's version of libcni's result cache.

import { mkdir, readFile, readdir, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isRecord } from '../../controlplane/api/objects.js';
import type { CniNetworkConfigList, CniResult } from './cni.js';

export interface AttachmentRecord {
  podUid: string;
  containerId: string;
  ifName: string;
  netnsPath: string;
  config: CniNetworkConfigList;
  capabilityArgs?: Record<string, unknown>;
  /** Absent until ADD succeeded: a record without one is a half-made attachment. */
  result?: CniResult;
}

const SUFFIX = '.json';

export class AttachmentStore {
  constructor(readonly dir: string) {}

  async get(podUid: string): Promise<AttachmentRecord | undefined> {
    let text: string;
    try {
      text = await readFile(this.file(podUid), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    const parsed: unknown = JSON.parse(text);
    if (
      !isRecord(parsed) ||
      parsed.podUid !== podUid ||
      typeof parsed.containerId !== 'string' ||
      typeof parsed.ifName !== 'string' ||
      typeof parsed.netnsPath !== 'string' ||
      !isRecord(parsed.config) ||
      !Array.isArray(parsed.config.plugins)
    ) {
      throw new Error(`attachment record ${this.file(podUid)} is malformed`);
    }
    return parsed as unknown as AttachmentRecord;
  }

  /** Writes the record whole or not at all (temp file, then rename). */
  async put(record: AttachmentRecord): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const target = this.file(record.podUid);
    const tmp = `${target}.tmp`;
    await writeFile(tmp, JSON.stringify(record, null, 2) + '\n', { mode: 0o600 });
    await rename(tmp, target);
  }

  async delete(podUid: string): Promise<void> {
    await unlink(this.file(podUid)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }

  async list(): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    return names.filter((n) => n.endsWith(SUFFIX)).map((n) => n.slice(0, -SUFFIX.length));
  }

  private file(podUid: string): string {
    return join(this.dir, podUid + SUFFIX);
  }
}
