// The runtime side of the Container Network Interface (CNI spec 1.0.0): run a
// plugin binary with the CNI_* environment and its network configuration on
// stdin, read its result or error from stdout, and execute a configuration
// list (conflist) as the spec orders it — ADD and CHECK front to back, each
// plugin after the first handed the previous one's result as `prevResult`;
// DEL back to front, every plugin handed the result of the last ADD. Errors
// stop a list (the spec says the runtime MUST stop); cleaning up after a
// failed ADD is the caller's decision.

import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { isRecord } from '../../controlplane/api/objects.js';
import { sharedSpawner } from '../spawner.js';

export const CNI_VERSION = '1.0.0';

export type CniCommand = 'ADD' | 'DEL' | 'CHECK' | 'VERSION';

/** One plugin's entry in a conflist; plugin-specific keys ride along. */
export interface CniPluginConfig {
  type: string;
  /** Capabilities the plugin takes from the runtime in `runtimeConfig` (e.g. portMappings). */
  capabilities?: Record<string, boolean>;
  [key: string]: unknown;
}

export interface CniNetworkConfigList {
  cniVersion: string;
  name: string;
  disableCheck?: boolean;
  plugins: CniPluginConfig[];
}

export interface CniInterface {
  name: string;
  mac?: string;
  sandbox?: string;
}

export interface CniIpConfig {
  /** CIDR notation, e.g. 10.244.1.2/24. */
  address: string;
  gateway?: string;
  /** Index into the result's interfaces. */
  interface?: number;
}

export interface CniRoute {
  dst: string;
  gw?: string;
}

export interface CniDns {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

export interface CniResult {
  cniVersion: string;
  interfaces?: CniInterface[];
  ips?: CniIpConfig[];
  routes?: CniRoute[];
  dns?: CniDns;
}

/** What the runtime says about one attachment: the same for every plugin of a list. */
export interface CniAttachment {
  containerId: string;
  /** Path of the container's network namespace; may be absent for DEL when it is gone. */
  netnsPath?: string;
  ifName: string;
  /** Values for plugins' declared capabilities, passed as `runtimeConfig`. */
  capabilityArgs?: Record<string, unknown>;
}

/** The spec's well-known error codes (0-99 are reserved; plugins use 100+). */
export const CNI_ERROR_CODES = {
  incompatibleVersion: 1,
  unsupportedField: 2,
  unknownContainer: 3,
  invalidEnvironment: 4,
  ioFailure: 5,
  decodeFailure: 6,
  invalidNetworkConfig: 7,
  tryAgainLater: 11,
  /** Ours, not the spec's: the plugin gave no CNI error (not found, crashed, timed out, bad output). */
  noAnswer: -1,
} as const;

export interface CniErrorOptions {
  details?: string;
  plugin?: string;
  command?: CniCommand;
  cause?: unknown;
}

/** A plugin's error as the spec defines it ({ code, msg, details }), or a failure to run one. */
export class CniError extends Error {
  override readonly name = 'CniError';
  readonly details: string | undefined;
  readonly plugin: string | undefined;
  readonly command: CniCommand | undefined;

  constructor(
    readonly code: number,
    readonly msg: string,
    options: CniErrorOptions = {},
  ) {
    const where = options.plugin ? `${options.plugin} ${options.command ?? ''}`.trim() + ': ' : '';
    const tail = options.details ? ` (${options.details})` : '';
    super(
      `${where}${msg}${tail}`,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.details = options.details;
    this.plugin = options.plugin;
    this.command = options.command;
  }

  /** True for code 11: the spec's "try again later". */
  get retryable(): boolean {
    return this.code === CNI_ERROR_CODES.tryAgainLater;
  }
}

export interface CniExecOptions {
  /** Directories searched for plugin binaries, in order; also passed as CNI_PATH. */
  binDirs: string[];
  /**
   * Run plugins inside this network namespace (via `nsenter --net=`). Unset, they
   * run in the caller's own, which is the normal case for an agent started there.
   */
  hostNetnsPath?: string;
  /** A plugin still running after this is killed. Default 60 s. */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 60_000;

export class CniExec {
  private readonly binDirs: string[];
  private readonly hostNetnsPath: string | undefined;
  private readonly timeoutMs: number;

  constructor(opts: CniExecOptions) {
    if (opts.binDirs.length === 0)
      throw new Error('CniExec: binDirs must name at least one directory');
    this.binDirs = opts.binDirs;
    this.hostNetnsPath = opts.hostNetnsPath;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /** Runs ADD through the list; resolves to the last plugin's result. */
  async addList(list: CniNetworkConfigList, att: CniAttachment): Promise<CniResult> {
    let prev: CniResult | undefined;
    for (const plugin of list.plugins) {
      const out = await this.invoke('ADD', pluginConfig(list, plugin, att, prev), att);
      prev = parseResult(out, plugin.type);
    }
    if (prev === undefined) throw new Error(`CNI network ${list.name} has no plugins`);
    return prev;
  }

  /**
   * Runs DEL through the list in reverse. `prevResult` is the result of the
   * attachment's ADD when the caller kept it (the spec lets it be omitted).
   */
  async delList(
    list: CniNetworkConfigList,
    att: CniAttachment,
    prevResult?: CniResult,
  ): Promise<void> {
    for (const plugin of [...list.plugins].reverse()) {
      await this.invoke('DEL', pluginConfig(list, plugin, att, prevResult), att);
    }
  }

  /** Runs CHECK through the list; resolves when every plugin agrees the attachment is intact. */
  async checkList(
    list: CniNetworkConfigList,
    att: CniAttachment,
    prevResult: CniResult,
  ): Promise<void> {
    if (list.disableCheck) return;
    for (const plugin of list.plugins) {
      await this.invoke('CHECK', pluginConfig(list, plugin, att, prevResult), att);
    }
  }

  /** Asks a plugin which spec versions it supports. */
  async version(type: string): Promise<{ cniVersion: string; supportedVersions: string[] }> {
    const out = await this.invoke('VERSION', { cniVersion: CNI_VERSION, type }, undefined);
    if (
      !isRecord(out) ||
      typeof out.cniVersion !== 'string' ||
      !Array.isArray(out.supportedVersions) ||
      !out.supportedVersions.every((v) => typeof v === 'string')
    ) {
      throw new CniError(CNI_ERROR_CODES.noAnswer, 'VERSION answer is not a version object', {
        plugin: type,
        command: 'VERSION',
      });
    }
    return { cniVersion: out.cniVersion, supportedVersions: out.supportedVersions };
  }

  /**
   * Runs one plugin once. Resolves to its parsed stdout (undefined when it
   * printed nothing, as DEL and CHECK do); rejects with a CniError.
   */
  async invoke(
    command: CniCommand,
    config: Record<string, unknown> & { type: string },
    att: CniAttachment | undefined,
  ): Promise<unknown> {
    const type = config.type;
    const binary = await this.find(type, command);
    // Added to the agent's environment (PATH is kept: plugins run iptables
    // and friends by name).
    const env: Record<string, string> = {
      CNI_COMMAND: command,
      CNI_PATH: this.binDirs.join(':'),
    };
    if (att) {
      env.CNI_CONTAINERID = att.containerId;
      env.CNI_IFNAME = att.ifName;
      if (att.netnsPath !== undefined) env.CNI_NETNS = att.netnsPath;
    }
    const [file, args] =
      this.hostNetnsPath === undefined
        ? [binary, []]
        : ['nsenter', [`--net=${this.hostNetnsPath}`, '--', binary]];
    const run = await runWithStdin(file, args, env, JSON.stringify(config), this.timeoutMs);
    const fail = (msg: string, details?: string, cause?: unknown): CniError =>
      new CniError(CNI_ERROR_CODES.noAnswer, msg, { plugin: type, command, details, cause });

    if (run.error) throw fail(`could not run ${binary}`, undefined, run.error);
    if (run.timedOut)
      throw fail(`killed after ${this.timeoutMs} ms`, run.stderr.trim() || undefined);
    const stdout = run.stdout.trim();
    let parsed: unknown;
    if (stdout !== '') {
      try {
        parsed = JSON.parse(stdout);
      } catch (err) {
        if (run.exitCode === 0) throw fail('printed output that is not JSON', stdout, err);
        parsed = undefined;
      }
    }
    if (run.exitCode !== 0) {
      if (isRecord(parsed) && typeof parsed.code === 'number' && typeof parsed.msg === 'string') {
        throw new CniError(parsed.code, parsed.msg, {
          plugin: type,
          command,
          details:
            typeof parsed.details === 'string' && parsed.details !== ''
              ? parsed.details
              : undefined,
        });
      }
      const why =
        run.exitCode === null ? `killed by ${run.signal ?? 'a signal'}` : `exited ${run.exitCode}`;
      throw fail(`${why} without a CNI error`, run.stderr.trim() || stdout || undefined);
    }
    return parsed;
  }

  private async find(type: string, command: CniCommand): Promise<string> {
    // The type names a file in binDirs; a path in it would escape them.
    if (type === '' || type.includes('/')) {
      throw new CniError(
        CNI_ERROR_CODES.invalidNetworkConfig,
        `invalid plugin type ${JSON.stringify(type)}`,
        {
          command,
        },
      );
    }
    for (const dir of this.binDirs) {
      const candidate = join(dir, type);
      try {
        await access(candidate, constants.X_OK);
        return candidate;
      } catch {
        // not in this directory
      }
    }
    throw new CniError(CNI_ERROR_CODES.noAnswer, `plugin not found in ${this.binDirs.join(':')}`, {
      plugin: type,
      command,
    });
  }
}

/**
 * The JSON one plugin of a list sees: its own entry with the list's name and
 * cniVersion, the capability values it declared, and prevResult when there is one.
 */
export function pluginConfig(
  list: CniNetworkConfigList,
  plugin: CniPluginConfig,
  att: CniAttachment,
  prevResult: CniResult | undefined,
): Record<string, unknown> & { type: string } {
  const config: Record<string, unknown> & { type: string } = {
    ...plugin,
    name: list.name,
    cniVersion: list.cniVersion,
  };
  const runtimeConfig: Record<string, unknown> = {};
  for (const [cap, enabled] of Object.entries(plugin.capabilities ?? {})) {
    const value = att.capabilityArgs?.[cap];
    if (enabled && value !== undefined) runtimeConfig[cap] = value;
  }
  if (Object.keys(runtimeConfig).length > 0) config.runtimeConfig = runtimeConfig;
  if (prevResult !== undefined) config.prevResult = prevResult;
  return config;
}

/** Checks the shape of an ADD result enough that callers may trust its fields. */
export function parseResult(out: unknown, plugin: string): CniResult {
  const bad = (why: string): CniError =>
    new CniError(CNI_ERROR_CODES.decodeFailure, `ADD result ${why}`, { plugin, command: 'ADD' });
  if (!isRecord(out)) throw bad('is not a JSON object');
  if (typeof out.cniVersion !== 'string') throw bad('has no cniVersion');
  const ips = out.ips;
  if (ips !== undefined) {
    if (!Array.isArray(ips)) throw bad('ips is not a list');
    for (const ip of ips) {
      if (!isRecord(ip) || typeof ip.address !== 'string')
        throw bad('has an ip without an address');
      if (ip.gateway !== undefined && typeof ip.gateway !== 'string')
        throw bad('has a bad gateway');
      if (ip.interface !== undefined && typeof ip.interface !== 'number')
        throw bad('has a bad interface index');
    }
  }
  const ifaces = out.interfaces;
  if (ifaces !== undefined) {
    if (!Array.isArray(ifaces) || !ifaces.every((i) => isRecord(i) && typeof i.name === 'string')) {
      throw bad('has a malformed interfaces list');
    }
  }
  if (out.routes !== undefined && !Array.isArray(out.routes)) throw bad('routes is not a list');
  if (out.dns !== undefined && !isRecord(out.dns)) throw bad('dns is not an object');
  return out as unknown as CniResult;
}

interface RunOutcome {
  stdout: string;
  stderr: string;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  error?: Error;
}

// Through the spawner (../spawner.ts): plugins are the most frequent
// processes of a pod start, and a fork of the spawner costs a fraction of
// one of the agent.
async function runWithStdin(
  file: string,
  args: string[],
  extraEnv: Record<string, string>,
  stdin: string,
  timeoutMs: number,
): Promise<RunOutcome> {
  try {
    const r = await sharedSpawner().run({ file, args, extraEnv, stdin, timeoutMs });
    return {
      stdout: r.stdout,
      stderr: r.stderr,
      exitCode: r.exitCode,
      signal: r.signal,
      timedOut: r.timedOut,
    };
  } catch (err) {
    return {
      stdout: '',
      stderr: '',
      exitCode: null,
      signal: null,
      timedOut: false,
      error: err instanceof Error ? err : new Error(String(err)),
    };
  }
}
