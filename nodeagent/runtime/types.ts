// The shapes the runtime layer works with: the subset of a Kubernetes v1
// Container it turns into a process, the OCI image config it starts from, the
// pod-level facts the agent has prepared (network namespace, volume dirs,
// /etc files, cgroup parent), and the subset of the OCI runtime spec runc
// reads. Quantities arrive already parsed (millicores, bytes) and env vars
// already resolved: reading ConfigMaps and Secrets is the agent's job.

export interface EnvVar {
  name: string;
  value: string;
}

export interface Capabilities {
  /** Kubernetes spelling, e.g. "NET_ADMIN"; a "CAP_" prefix is accepted too. */
  add?: string[];
  /** "ALL" drops every capability before `add` is applied. */
  drop?: string[];
}

export interface SecurityContext {
  runAsUser?: number;
  runAsGroup?: number;
  readOnlyRootFilesystem?: boolean;
  privileged?: boolean;
  /** Only an explicit true lifts no_new_privs (see spec.ts). */
  allowPrivilegeEscalation?: boolean;
  capabilities?: Capabilities;
}

export interface ResourceQuantities {
  /** Millicores. */
  cpu?: number;
  /** Bytes. */
  memory?: number;
}

export interface ResourceRequirements {
  limits?: ResourceQuantities;
  requests?: ResourceQuantities;
}

export interface ContainerSpec {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  workingDir?: string;
  resources?: ResourceRequirements;
  securityContext?: SecurityContext;
}

/** The `config` object of an OCI image config (Docker's capitalised names). */
export interface ImageConfig {
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Env?: string[] | null;
  WorkingDir?: string;
  User?: string;
}

export interface VolumeMount {
  /** A directory or file on the host the agent prepared. */
  source: string;
  destination: string;
  readOnly?: boolean;
}

export interface ContainerRunInput {
  container: ContainerSpec;
  image: ImageConfig;
  podUid: string;
  hostname: string;
  /** Absolute cgroup path every pod of this agent lives under, e.g. "/shoal-node1". */
  cgroupParent: string;
  /** Namespaces to join (paths such as /var/run/netns/x or /proc/PID/ns/net); a missing one is created new. */
  namespaces?: { network?: string; ipc?: string; uts?: string };
  mounts?: VolumeMount[];
  /** Host files bind-mounted over /etc/hosts, /etc/resolv.conf and /etc/hostname. */
  etcFiles?: { hosts?: string; resolvConf?: string; hostname?: string };
  /** Contents of the image's /etc/passwd and /etc/group, for user names in image User. */
  userDb?: { passwd?: string; group?: string };
  annotations?: Record<string, string>;
  /** RLIMIT_NOFILE (soft = hard) for the process; default 1024. At most the agent's own hard limit. */
  rlimitNofile?: number;
}

// ---- OCI runtime spec (the part Shoal writes) ----

export interface OciUser {
  uid: number;
  gid: number;
  additionalGids?: number[];
}

export interface OciCapabilities {
  bounding: string[];
  effective: string[];
  permitted: string[];
  inheritable: string[];
  ambient: string[];
}

export interface OciRlimit {
  type: string;
  hard: number;
  soft: number;
}

export interface OciProcess {
  terminal: boolean;
  user: OciUser;
  args: string[];
  env: string[];
  cwd: string;
  capabilities: OciCapabilities;
  rlimits: OciRlimit[];
  noNewPrivileges: boolean;
}

export interface OciMount {
  destination: string;
  type: string;
  source: string;
  options?: string[];
}

export interface OciNamespace {
  type: 'pid' | 'network' | 'ipc' | 'uts' | 'mount' | 'cgroup' | 'user';
  path?: string;
}

export interface OciDeviceRule {
  allow: boolean;
  access: string;
  type?: string;
  major?: number;
  minor?: number;
}

export interface OciResources {
  devices: OciDeviceRule[];
  cpu?: { shares?: number; quota?: number; period?: number };
  memory?: { limit?: number; swap?: number };
}

export interface OciLinux {
  namespaces: OciNamespace[];
  cgroupsPath: string;
  resources: OciResources;
  maskedPaths: string[];
  readonlyPaths: string[];
}

export interface OciRuntimeSpec {
  ociVersion: string;
  process: OciProcess;
  root: { path: string; readonly: boolean };
  hostname?: string;
  mounts: OciMount[];
  annotations?: Record<string, string>;
  linux: OciLinux;
}

// ---- runc ----

export type RuncStatus = 'creating' | 'created' | 'running' | 'paused' | 'stopped';

/** What `runc state` and `runc list --format json` print for one container. */
export interface RuncState {
  id: string;
  /** 0 once stopped. */
  pid: number;
  status: RuncStatus;
  bundle: string;
  rootfs: string;
  created: string;
  annotations?: Record<string, string>;
}

/** Kubernetes' terminated-state reasons, plus Unknown when no exit status was recorded. */
export type ExitReason = 'Completed' | 'Error' | 'OOMKilled' | 'Unknown';

export interface ContainerExit {
  /** Exit status, or 128 + signal number when a signal ended the process (as a shell reports it). */
  exitCode: number;
  /** Name of the signal that ended the process, e.g. "SIGKILL". */
  signal?: string;
  reason: ExitReason;
  finishedAt: Date;
}
