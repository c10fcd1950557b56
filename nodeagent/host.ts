// What the agent tells the control plane about its host: capacity,
// addresses and versions, read from the machine (and the network namespace
// the agent runs in).

import { cpus, totalmem, networkInterfaces, release, arch, hostname } from 'node:os';
import { readFile } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { NodeInfo } from '../proto/generated/shoal/agent/v1/NodeInfo.js';
import { GIT_VERSION } from '../controlplane/version.js';

const run = promisify(execFile);

export const MAX_PODS = 110;

/** The first non-loopback IPv4 address of this network namespace. */
export function primaryIPv4(): string | undefined {
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return undefined;
}

export function capacity(): { cpuMillis: number; memoryBytes: number; pods: number } {
  return { cpuMillis: cpus().length * 1000, memoryBytes: totalmem(), pods: MAX_PODS };
}

const GOARCH: Partial<Record<string, string>> = {
  x64: 'amd64',
  arm64: 'arm64',
  arm: 'arm',
  ia32: '386',
};

export function goArch(): string {
  return GOARCH[arch()] ?? arch();
}

export async function nodeInfo(): Promise<NodeInfo> {
  const read = (p: string): Promise<string> =>
    readFile(p, 'utf8').then(
      (s) => s.trim(),
      () => '',
    );
  const osRelease = await read('/etc/os-release');
  const pretty = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(osRelease)?.[1] ?? 'Linux';
  const runc = await run('runc', ['--version']).then(
    (r) => /runc version (\S+)/.exec(r.stdout)?.[1] ?? 'unknown',
    () => 'unknown',
  );
  return {
    os: 'linux',
    architecture: goArch(),
    kernel_version: release(),
    os_image: pretty,
    container_runtime_version: `runc://${runc}`,
    kubelet_version: GIT_VERSION,
    machine_id: await read('/etc/machine-id'),
    boot_id: await read('/proc/sys/kernel/random/boot_id'),
  };
}

export function defaultNodeName(): string {
  return hostname().toLowerCase();
}
