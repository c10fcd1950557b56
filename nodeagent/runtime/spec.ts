// buildRuntimeSpec: a Kubernetes container plus its image config and the
// pod's prepared facts, turned into the config.json runc runs. Pure: the agent
// reads files (passwd, netns paths) beforehand and passes their contents in.
//
// Defaults follow what `runc spec` writes (mounts, masked and read-only
// paths) and what Docker grants (capabilities); the process follows
// Kubernetes' rules for command/args against Entrypoint/Cmd.

import { SpecError } from './errors.js';
import type {
  ContainerRunInput,
  ContainerSpec,
  EnvVar,
  ImageConfig,
  OciCapabilities,
  OciMount,
  OciNamespace,
  OciResources,
  OciRuntimeSpec,
  OciUser,
  SecurityContext,
} from './types.js';

export const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Docker's default capability set (moby oci/caps/defaults.go). */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

/** Every capability of Linux 5.9+, in number order; runc 1.1 skips ones the kernel lacks. */
export const ALL_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
];

/** What `runc spec` masks. */
export const MASKED_PATHS: readonly string[] = [
  '/proc/acpi',
  '/proc/asound',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/sys/firmware',
  '/proc/scsi',
];

/** What `runc spec` makes read-only. */
export const READONLY_PATHS: readonly string[] = [
  '/proc/bus',
  '/proc/fs',
  '/proc/irq',
  '/proc/sys',
  '/proc/sysrq-trigger',
];

export const CPU_PERIOD_US = 100_000;
// Kubelet's floor for a CFS quota (1 ms), and cgroup v1's floor for shares.
const MIN_CPU_QUOTA_US = 1_000;
const MIN_CPU_SHARES = 2;
const MAX_CPU_SHARES = 262_144;
// runc spec's value; raising a hard limit needs CAP_SYS_RESOURCE, which an
// agent may lack, so a higher one comes from the agent (rlimitNofile).
const DEFAULT_NOFILE = 1024;

export function buildRuntimeSpec(input: ContainerRunInput): OciRuntimeSpec {
  const { container, image } = input;
  const sc = container.securityContext ?? {};
  const privileged = sc.privileged === true;
  const user = resolveUser(sc, image, input.userDb);
  const env = withDefaults(
    mergeEnv(image.Env ?? [], container.env ?? []),
    input.hostname,
    user,
    input.userDb,
  );
  const ns = input.namespaces ?? {};
  const nofile = input.rlimitNofile ?? DEFAULT_NOFILE;
  const caps = privileged
    ? [...ALL_CAPABILITIES]
    : applyCapabilityChanges(DEFAULT_CAPABILITIES, sc);

  const spec: OciRuntimeSpec = {
    ociVersion: '1.0.2-dev',
    process: {
      terminal: false,
      user,
      args: processArgs(container, image),
      env,
      cwd: container.workingDir || image.WorkingDir || '/',
      capabilities: capabilitySets(caps),
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: nofile, soft: nofile }],
      // Shoal defaults to no_new_privs (setuid binaries gain nothing); an
      // explicit allowPrivilegeEscalation: true or privileged lifts it.
      noNewPrivileges: !(privileged || sc.allowPrivilegeEscalation === true),
    },
    // bundle.ts replaces the path with the overlay mount.
    root: { path: 'rootfs', readonly: sc.readOnlyRootFilesystem === true },
    mounts: [...standardMounts(privileged), ...etcMounts(input), ...volumeMounts(input)],
    annotations: {
      'io.kubernetes.pod.uid': input.podUid,
      'io.kubernetes.container.name': container.name,
      ...input.annotations,
    },
    linux: {
      namespaces: namespaces(ns),
      cgroupsPath: cgroupsPathFor(input.cgroupParent, input.podUid, container.name),
      resources: resources(container, privileged),
      maskedPaths: privileged ? [] : [...MASKED_PATHS],
      readonlyPaths: privileged ? [] : [...READONLY_PATHS],
    },
  };
  // runc refuses to set a hostname in a UTS namespace it did not create.
  if (!ns.uts) spec.hostname = input.hostname;
  return spec;
}

/**
 * Kubernetes' rule: command replaces Entrypoint (and then the image's Cmd is
 * dropped), args replace Cmd. $(VAR) references in both are expanded from the
 * container's env.
 */
export function processArgs(container: ContainerSpec, image: ImageConfig): string[] {
  const command = container.command ?? [];
  const args = container.args ?? [];
  let argv: string[];
  if (command.length > 0) argv = [...command, ...args];
  else argv = [...(image.Entrypoint ?? []), ...(args.length > 0 ? args : (image.Cmd ?? []))];
  if (argv.length === 0) {
    throw new SpecError(
      `containers[${container.name}].command`,
      'neither the container nor the image names a command',
    );
  }
  const vars = new Map((container.env ?? []).map((e) => [e.name, e.value]));
  const expanded = argv.map((a) => expandVars(a, vars));
  return expanded;
}

/**
 * Kubernetes' $(VAR) expansion: a defined name is replaced, an undefined one
 * stays as written, and $$ escapes a literal $.
 */
export function expandVars(text: string, vars: ReadonlyMap<string, string>): string {
  return text.replace(/\$\$|\$\(([^)]*)\)/g, (whole, name: string | undefined) => {
    if (whole === '$$') return '$';
    return name !== undefined && vars.has(name) ? (vars.get(name) ?? '') : whole;
  });
}

/**
 * Image Env (NAME=value strings) overlaid by the container's env: a container
 * variable replaces the image's one in place, new ones follow in order.
 */
export function mergeEnv(imageEnv: readonly string[], containerEnv: readonly EnvVar[]): string[] {
  const merged = new Map<string, string>();
  for (const entry of imageEnv) {
    const eq = entry.indexOf('=');
    if (eq <= 0) continue;
    merged.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  for (const { name, value } of containerEnv) merged.set(name, value);
  return [...merged].map(([k, v]) => `${k}=${v}`);
}

// The variables every container runtime adds when the image has none.
function withDefaults(
  env: string[],
  hostname: string,
  user: OciUser,
  userDb: ContainerRunInput['userDb'],
): string[] {
  const has = (name: string): boolean => env.some((e) => e.startsWith(`${name}=`));
  const out = [...env];
  if (!has('PATH')) out.unshift(DEFAULT_PATH);
  if (!has('HOSTNAME')) out.push(`HOSTNAME=${hostname}`);
  if (!has('HOME'))
    out.push(`HOME=${passwdEntries(userDb?.passwd).find((p) => p.uid === user.uid)?.home || '/'}`);
  return out;
}

// ---- user ----

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

function passwdEntries(passwd: string | undefined): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of (passwd ?? '').split('\n')) {
    const f = line.split(':');
    if (f.length < 7 || line.startsWith('#')) continue;
    const uid = Number(f[2]);
    const gid = Number(f[3]);
    if (!Number.isInteger(uid) || !Number.isInteger(gid)) continue;
    out.push({ name: f[0] ?? '', uid, gid, home: f[5] ?? '' });
  }
  return out;
}

function groupGid(group: string | undefined, name: string): number | undefined {
  for (const line of (group ?? '').split('\n')) {
    const f = line.split(':');
    if (f[0] === name && f.length >= 3) {
      const gid = Number(f[2]);
      if (Number.isInteger(gid)) return gid;
    }
  }
  return undefined;
}

const isNumeric = (s: string): boolean => /^\d+$/.test(s);

/**
 * runAsUser/runAsGroup win over the image's User ("uid", "uid:gid", "name",
 * "name:group"); without a group, the user's passwd entry gives it, else 0.
 */
export function resolveUser(
  sc: SecurityContext,
  image: ImageConfig,
  userDb: ContainerRunInput['userDb'],
): OciUser {
  const passwd = passwdEntries(userDb?.passwd);
  const [userPart = '', groupPart] = (image.User ?? '').split(':', 2);

  let uid: number;
  let gidFromUser: number | undefined;
  if (sc.runAsUser !== undefined) {
    uid = sc.runAsUser;
    gidFromUser = passwd.find((p) => p.uid === uid)?.gid;
  } else if (userPart === '') {
    uid = 0;
    gidFromUser = 0;
  } else if (isNumeric(userPart)) {
    uid = Number(userPart);
    gidFromUser = passwd.find((p) => p.uid === uid)?.gid;
  } else {
    const entry = passwd.find((p) => p.name === userPart);
    if (!entry)
      throw new SpecError('image.config.User', `no user "${userPart}" in the image's /etc/passwd`);
    uid = entry.uid;
    gidFromUser = entry.gid;
  }

  let gid: number;
  if (sc.runAsGroup !== undefined) gid = sc.runAsGroup;
  else if (sc.runAsUser === undefined && groupPart !== undefined && groupPart !== '') {
    if (isNumeric(groupPart)) gid = Number(groupPart);
    else {
      const g = groupGid(userDb?.group, groupPart);
      if (g === undefined)
        throw new SpecError(
          'image.config.User',
          `no group "${groupPart}" in the image's /etc/group`,
        );
      gid = g;
    }
  } else gid = gidFromUser ?? 0;
  return { uid, gid };
}

// ---- capabilities ----

const capName = (c: string): string => {
  const upper = c.toUpperCase();
  return upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
};

/** drop first (ALL empties the set), then add (ALL grants every one), as containerd does. */
export function applyCapabilityChanges(base: readonly string[], sc: SecurityContext): string[] {
  const drop = (sc.capabilities?.drop ?? []).map(capName);
  const add = (sc.capabilities?.add ?? []).map(capName);
  let caps = drop.includes('CAP_ALL') ? [] : base.filter((c) => !drop.includes(c));
  if (add.includes('CAP_ALL')) caps = [...ALL_CAPABILITIES];
  else for (const c of add) if (!caps.includes(c)) caps.push(c);
  return caps;
}

function capabilitySets(caps: string[]): OciCapabilities {
  // Like Docker: no ambient or inheritable capabilities, so a non-root
  // process holds none after execve unless its file capabilities grant them.
  return {
    bounding: [...caps],
    effective: [...caps],
    permitted: [...caps],
    inheritable: [],
    ambient: [],
  };
}

// ---- cgroups and resources ----

/** `<parent>/pod<uid>/<container>`: runc's cgroupfs driver creates it under every controller. */
export function cgroupsPathFor(parent: string, podUid: string, containerName: string): string {
  if (!parent.startsWith('/'))
    throw new SpecError('cgroupParent', `must be an absolute cgroup path, got "${parent}"`);
  const trimmed = parent.replace(/\/+$/, '');
  return `${trimmed}/pod${podUid}/${containerName}`;
}

/** Millicores → cgroup v1 cpu.shares, as kubelet computes them. */
export function milliCpuToShares(milliCpu: number): number {
  if (milliCpu <= 0) return MIN_CPU_SHARES;
  const shares = Math.floor((milliCpu * 1024) / 1000);
  return Math.min(MAX_CPU_SHARES, Math.max(MIN_CPU_SHARES, shares));
}

/** Millicores → CFS quota in µs for the 100 ms period. */
export function milliCpuToQuota(milliCpu: number): number {
  return Math.max(MIN_CPU_QUOTA_US, Math.floor((milliCpu * CPU_PERIOD_US) / 1000));
}

function resources(container: ContainerSpec, privileged: boolean): OciResources {
  const limits = container.resources?.limits ?? {};
  const requests = container.resources?.requests ?? {};
  const out: OciResources = {
    devices: privileged ? [{ allow: true, access: 'rwm' }] : [{ allow: false, access: 'rwm' }],
  };
  // Kubernetes defaults a missing request to the limit; no request at all
  // is BestEffort, which gets the minimum shares.
  const cpuRequest = requests.cpu ?? limits.cpu ?? 0;
  out.cpu = { shares: milliCpuToShares(cpuRequest) };
  if (limits.cpu !== undefined && limits.cpu > 0) {
    out.cpu.quota = milliCpuToQuota(limits.cpu);
    out.cpu.period = CPU_PERIOD_US;
  }
  if (limits.memory !== undefined && limits.memory > 0) {
    // swap == limit: the container may not swap past its limit (cgroup v1
    // memory.memsw.limit_in_bytes).
    out.memory = { limit: limits.memory, swap: limits.memory };
  }
  return out;
}

// ---- namespaces and mounts ----

function namespaces(ns: NonNullable<ContainerRunInput['namespaces']>): OciNamespace[] {
  const join = (type: OciNamespace['type'], path: string | undefined): OciNamespace =>
    path ? { type, path } : { type };
  return [
    { type: 'pid' },
    join('network', ns.network),
    join('ipc', ns.ipc),
    join('uts', ns.uts),
    { type: 'mount' },
  ];
}

function standardMounts(privileged: boolean): OciMount[] {
  const sysOpts = ['nosuid', 'noexec', 'nodev', privileged ? 'rw' : 'ro'];
  return [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    {
      destination: '/dev',
      type: 'tmpfs',
      source: 'tmpfs',
      options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'],
    },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    },
    {
      destination: '/dev/shm',
      type: 'tmpfs',
      source: 'shm',
      options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'],
    },
    {
      destination: '/dev/mqueue',
      type: 'mqueue',
      source: 'mqueue',
      options: ['nosuid', 'noexec', 'nodev'],
    },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: sysOpts },
    {
      destination: '/sys/fs/cgroup',
      type: 'cgroup',
      source: 'cgroup',
      options: [...sysOpts, 'relatime'],
    },
  ];
}

function bind(source: string, destination: string, readOnly: boolean): OciMount {
  return {
    destination,
    type: 'bind',
    source,
    options: ['rbind', 'rprivate', ...(readOnly ? ['ro'] : [])],
  };
}

function etcMounts(input: ContainerRunInput): OciMount[] {
  const files = input.etcFiles ?? {};
  const out: OciMount[] = [];
  if (files.hosts) out.push(bind(files.hosts, '/etc/hosts', false));
  if (files.resolvConf) out.push(bind(files.resolvConf, '/etc/resolv.conf', false));
  if (files.hostname) out.push(bind(files.hostname, '/etc/hostname', false));
  return out;
}

function volumeMounts(input: ContainerRunInput): OciMount[] {
  return (input.mounts ?? []).map((m, i) => {
    if (!m.destination.startsWith('/')) {
      throw new SpecError(
        `volumeMounts[${i}].mountPath`,
        `must be an absolute path, got "${m.destination}"`,
      );
    }
    return bind(m.source, m.destination, m.readOnly === true);
  });
}
