// A compose file → Kubernetes objects, on the client. The rules (also in
// cli/README.md):
// - the project (-p, $COMPOSE_PROJECT_NAME, `name:`, else the directory) is a
//   Namespace, unless -n NS puts everything into NS;
// - a service is a Deployment; a StatefulSet when it mounts a named volume and
//   has more than one replica (each replica gets its own claim); a DaemonSet
//   for deploy.mode global; a bare Pod for restart "no" / on-failure, as
//   Kompose does;
// - ports/expose make a Service named like the service, so `http://web:80`
//   works through cluster DNS as it does on a compose network; a published
//   port in 30000–32767 makes it a NodePort, any other published port is a
//   hostPort on the container (with a warning: it is open only where a pod runs);
// - a named volume is a PersistentVolumeClaim (ReadWriteOnce, size from the
//   `shoal.io/size` driver_opt, default 1Gi, the default StorageClass); binds
//   are hostPaths (warned); tmpfs is an emptyDir in memory;
// - configs/secrets are ConfigMaps/Secrets mounted file by file;
// - a healthcheck is a readiness and a liveness exec probe; depends_on with
//   condition service_healthy is an init container, in the dependent's own
//   image, polling the dependency's Service port with `nc` (then `wget`).
// What is not supported is one warning per key; invalid input is an error
// with file:line:column.

import { readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { isRecord } from '../../controlplane/api/objects.js';
import { CliError } from '../commands/errors.js';
import { parseDotEnv, InterpolationError, type Env } from './interpolate.js';
import { ComposeSource, pathText, type Path } from './source.js';
import {
  bytesQuantity,
  cpuQuantity,
  parseByteValue,
  parseComposeDuration,
  parseExpose,
  parseShortPort,
  portNumber,
  portRange,
  protocolOf,
  shellSplit,
  wholeSeconds,
  type PortSpec,
} from './values.js';

export const PROJECT_LABEL = 'io.shoal.compose.project';
export const SERVICE_LABEL = 'io.shoal.compose.service';
export const SIZE_OPTION = 'shoal.io/size';
export const DEFAULT_VOLUME_SIZE = '1Gi';
const NODEPORT_MIN = 30000;
const NODEPORT_MAX = 32767;

export type KubeObject = Record<string, unknown> & {
  apiVersion: string;
  kind: string;
  metadata: Record<string, unknown> & { name: string };
};

export interface ComposeObject {
  object: KubeObject;
  /** "file:line:column" of what it came from (the service, volume, config …). */
  origin: string;
}

export interface ComposeOptions {
  /** -p / --project-name. */
  projectName?: string;
  /** -n: put every object into this namespace (with the project label) instead of a project Namespace. */
  namespace?: string;
  /** The process environment (takes precedence over `.env`). */
  env: Env;
}

export interface ComposeResult {
  project: string;
  /** Where the namespaced objects go. */
  namespace: string;
  objects: ComposeObject[];
  /** One line per unsupported or meaning-changing key: "file:line: path: message". */
  warnings: string[];
}

type Json = Record<string, unknown>;

const TOP_LEVEL: Record<string, true | string> = {
  version: 'obsolete, ignored',
  name: true,
  services: true,
  volumes: true,
  configs: true,
  secrets: true,
  networks: 'ignored: all services share the cluster pod network and reach each other by name',
  include: 'not supported (merge the included files into one)',
  models: 'not supported',
};

const UNSUPPORTED = 'not supported';
const SERVICE_KEYS: Record<string, true | string> = {
  image: true,
  command: true,
  entrypoint: true,
  environment: true,
  env_file: true,
  ports: true,
  expose: true,
  volumes: true,
  tmpfs: true,
  configs: true,
  secrets: true,
  healthcheck: true,
  restart: true,
  depends_on: true,
  deploy: true,
  labels: true,
  annotations: true,
  hostname: true,
  working_dir: true,
  user: true,
  read_only: true,
  cap_add: true,
  cap_drop: true,
  privileged: true,
  stop_grace_period: true,
  tty: true,
  stdin_open: true,
  extra_hosts: true,
  pull_policy: true,
  cpus: true,
  mem_limit: true,
  mem_reservation: true,
  scale: true,
  profiles: true,
  network_mode: true,
  ipc: true,
  pid: true,
  networks: 'ignored: all services share the cluster pod network and reach each other by name',
  build: 'not supported (Shoal pulls images; build and push it first)',
  develop: 'not supported (no file watching)',
  extends: 'not supported (copy the keys into the service)',
  links: 'not needed: services reach each other by name through cluster DNS',
  external_links: 'not needed: services reach each other by name through cluster DNS',
  container_name: 'ignored: Kubernetes names pods itself',
  logging: 'not supported (the agent keeps container logs)',
  dns: 'not supported (pods use the cluster DNS)',
  dns_opt: 'not supported (pods use the cluster DNS)',
  dns_search: 'not supported (pods use the cluster DNS)',
  domainname: UNSUPPORTED,
  ulimits: UNSUPPORTED,
  sysctls: UNSUPPORTED,
  security_opt: UNSUPPORTED,
  shm_size: UNSUPPORTED,
  devices: UNSUPPORTED,
  device_cgroup_rules: UNSUPPORTED,
  gpus: UNSUPPORTED,
  group_add: UNSUPPORTED,
  init: UNSUPPORTED,
  isolation: UNSUPPORTED,
  mac_address: UNSUPPORTED,
  oom_kill_disable: UNSUPPORTED,
  oom_score_adj: UNSUPPORTED,
  pids_limit: UNSUPPORTED,
  platform:
    'not supported (pin the architecture with deploy.placement.constraints node.platform.arch)',
  runtime: UNSUPPORTED,
  stop_signal: 'not supported (pods stop with SIGTERM)',
  storage_opt: UNSUPPORTED,
  userns_mode: UNSUPPORTED,
  uts: UNSUPPORTED,
  volumes_from: 'not supported (mount the same named volume)',
  cgroup: UNSUPPORTED,
  cgroup_parent: UNSUPPORTED,
  cpu_count: UNSUPPORTED,
  cpu_percent: UNSUPPORTED,
  cpu_period: UNSUPPORTED,
  cpu_quota: UNSUPPORTED,
  cpu_rt_period: UNSUPPORTED,
  cpu_rt_runtime: UNSUPPORTED,
  cpu_shares: UNSUPPORTED,
  cpuset: UNSUPPORTED,
  credential_spec: UNSUPPORTED,
  blkio_config: UNSUPPORTED,
  mem_swappiness: UNSUPPORTED,
  memswap_limit: UNSUPPORTED,
  attach: UNSUPPORTED,
  label_file: UNSUPPORTED,
  post_start: UNSUPPORTED,
  pre_stop: UNSUPPORTED,
  provider: UNSUPPORTED,
  use_api_socket: UNSUPPORTED,
  models: UNSUPPORTED,
};

/** A DNS-1123 label from a compose name: lowercase, `_`/`.` → `-`, at most 63 characters. */
export function dnsLabel(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/, '');
}

interface VolumeDef {
  claim: string;
  size: string;
  external: boolean;
  labels: Record<string, string>;
  origin: string;
}

interface FileDef {
  /** The ConfigMap/Secret name. */
  object: string;
  /** The key holding the content. */
  key: string;
  external: boolean;
  data?: Buffer;
  origin: string;
}

/** Everything one conversion needs and collects. */
class Converter {
  readonly warnings: string[] = [];
  private readonly warned = new Set<string>();
  readonly objects: ComposeObject[] = [];
  private readonly volumes = new Map<string, VolumeDef>();
  private readonly configs = new Map<string, FileDef>();
  private readonly secrets = new Map<string, FileDef>();
  private readonly claimsUsed = new Set<string>();
  project = '';
  namespace = '';

  constructor(
    readonly src: ComposeSource,
    readonly dir: string,
    readonly env: Env,
  ) {}

  fail(path: Path, message: string, which: 'value' | 'key' = 'value'): never {
    const where = pathText(path);
    throw new CliError(`${this.src.at(path, which)}: ${where ? `${where}: ` : ''}${message}`);
  }

  warn(path: Path, message: string): void {
    const key = pathText(path);
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.warnings.push(`${this.src.lineOf(path)}: ${key}: ${message}`);
  }

  // ── typed reads ───────────────────────────────────────────────────────

  map(v: unknown, path: Path): Json {
    if (v === null || v === undefined) return {};
    if (!isRecord(v)) this.fail(path, `must be a mapping, not ${describe(v)}`);
    return v;
  }

  str(v: unknown, path: Path): string {
    if (typeof v === 'string') return v;
    if (typeof v === 'number') return String(v);
    this.fail(path, `must be a string, not ${describe(v)}`);
  }

  list(v: unknown, path: Path): unknown[] {
    if (!Array.isArray(v)) this.fail(path, `must be a list, not ${describe(v)}`);
    return v;
  }

  strList(v: unknown, path: Path): string[] {
    if (typeof v === 'string') return [v];
    return this.list(v, path).map((x, i) => this.str(x, [...path, i]));
  }

  bool(v: unknown, path: Path): boolean {
    if (typeof v === 'boolean') return v;
    if (v === 'true' || v === 'false') return v === 'true';
    this.fail(path, `must be true or false, not ${describe(v)}`);
  }

  int(v: unknown, path: Path, min = 0): number {
    const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < min)
      this.fail(
        path,
        `must be a whole number${min > 0 ? ` of at least ${min}` : ''}, not ${describe(v)}`,
      );
    return n;
  }

  seconds(v: unknown, path: Path): number {
    const s = parseComposeDuration(v);
    if (s === undefined)
      this.fail(path, `${describe(v)} is not a duration like 30s, 1m30s or 500ms`);
    return s;
  }

  /** Errors on unknown keys, warns once on known but unsupported ones; `x-` keys are extensions, ignored. */
  keys(m: Json, path: Path, known: Record<string, true | string>): void {
    for (const k of Object.keys(m)) {
      if (k.startsWith('x-')) continue;
      const rule = known[k];
      if (rule === undefined)
        this.fail([...path, k], `unknown key (not in the Compose Specification)`, 'key');
      if (typeof rule === 'string') this.warn([...path, k], rule);
    }
  }

  /** `KEY=VAL` list or mapping → pairs; a bare KEY (or null value) takes its value from the environment. */
  keyValues(v: unknown, path: Path, fromEnv: boolean): [string, string][] {
    const out: [string, string][] = [];
    if (Array.isArray(v)) {
      v.forEach((item, i) => {
        const s = this.str(item, [...path, i]);
        const eq = s.indexOf('=');
        if (eq > 0) out.push([s.slice(0, eq), s.slice(eq + 1)]);
        else if (fromEnv && this.env[s] !== undefined) out.push([s, this.env[s]]);
        else if (!fromEnv) out.push([s, '']);
      });
      return out;
    }
    for (const [k, val] of Object.entries(this.map(v, path))) {
      if (val === null || val === undefined) {
        if (fromEnv && this.env[k] !== undefined) out.push([k, this.env[k]]);
        else if (!fromEnv) out.push([k, '']);
      } else if (['string', 'number', 'boolean'].includes(typeof val)) out.push([k, String(val)]);
      else this.fail([...path, k], `must be a string, number or boolean, not ${describe(val)}`);
    }
    return out;
  }

  readLocal(file: string, path: Path): Buffer {
    const full = resolve(this.dir, file);
    try {
      return readFileSync(full);
    } catch (err) {
      this.fail(path, `cannot read ${full}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
  }

  labelsFor(service?: string): Record<string, string> {
    return {
      ...(service ? { 'app.kubernetes.io/name': service } : {}),
      'app.kubernetes.io/part-of': this.project,
      [PROJECT_LABEL]: this.project,
      ...(service ? { [SERVICE_LABEL]: service } : {}),
    };
  }

  meta(name: string, labels: Record<string, string>, namespaced = true): Json & { name: string } {
    return { name, ...(namespaced ? { namespace: this.namespace } : {}), labels };
  }

  push(object: KubeObject, path: Path): void {
    this.objects.push({ object, origin: this.src.at(path, 'key') });
  }

  // ── the file ──────────────────────────────────────────────────────────

  run(opts: ComposeOptions, file: string): void {
    const top = this.map(this.src.value(), []);
    this.keys(top, [], TOP_LEVEL);
    if (top.services === undefined)
      this.fail([], 'no services: a compose file needs a services mapping');
    const services = this.map(top.services, ['services']);
    if (Object.keys(services).length === 0) this.fail(['services'], 'no services defined');

    const named =
      opts.projectName ??
      this.env.COMPOSE_PROJECT_NAME ??
      (top.name !== undefined ? this.str(top.name, ['name']) : undefined) ??
      basename(resolve(dirname(file)));
    this.project = dnsLabel(named);
    if (!this.project)
      this.fail(
        top.name !== undefined ? ['name'] : [],
        `"${named}" cannot be a project name (a DNS label)`,
      );
    this.namespace = opts.namespace ?? this.project;
    if (!opts.namespace) {
      this.push(
        {
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: this.meta(this.project, this.labelsFor(), false),
        },
        top.name !== undefined ? ['name'] : [],
      );
    }

    this.readVolumes(top.volumes);
    this.readFiles('configs', top.configs, this.configs);
    this.readFiles('secrets', top.secrets, this.secrets);

    const active = this.activeServices(services);
    this.checkDependencies(services, active);
    const converted: { objects: KubeObject[]; path: Path }[] = [];
    for (const name of active) {
      converted.push({ objects: this.service(name, services, active), path: ['services', name] });
    }
    this.emitFiles();
    this.emitClaims();
    for (const c of converted) for (const o of c.objects) this.push(o, c.path);
  }

  /** Services without `profiles`, plus those in an active profile ($COMPOSE_PROFILES), as compose starts them. */
  private activeServices(services: Json): string[] {
    const profiles = new Set((this.env.COMPOSE_PROFILES ?? '').split(',').filter(Boolean));
    const names: string[] = [];
    const seen = new Map<string, string>();
    for (const [name, raw] of Object.entries(services)) {
      if (name.startsWith('x-')) continue;
      const s = this.map(raw, ['services', name]);
      if (s.profiles !== undefined) {
        const own = this.strList(s.profiles, ['services', name, 'profiles']);
        if (!own.some((p) => profiles.has(p) || profiles.has('*'))) {
          this.warn(
            ['services', name, 'profiles'],
            `left out: none of its profiles (${own.join(', ')}) is in COMPOSE_PROFILES`,
          );
          continue;
        }
      }
      const k8sName = dnsLabel(name);
      if (!k8sName || !/^[a-z]/.test(k8sName))
        this.fail(
          ['services', name],
          `"${name}" cannot be made a Kubernetes name (a DNS label starting with a letter)`,
          'key',
        );
      const clash = seen.get(k8sName);
      if (clash)
        this.fail(
          ['services', name],
          `becomes "${k8sName}" in Kubernetes, as "${clash}" does`,
          'key',
        );
      seen.set(k8sName, name);
      if (k8sName !== name)
        this.warn(
          ['services', name],
          `named "${k8sName}" in Kubernetes (a DNS label); other services reach it as ${k8sName}`,
        );
      names.push(name);
    }
    return names;
  }

  private dependencies(s: Json, name: string): { dep: string; condition: string; path: Path }[] {
    const path: Path = ['services', name, 'depends_on'];
    if (s.depends_on === undefined) return [];
    if (Array.isArray(s.depends_on))
      return s.depends_on.map((d, i) => ({
        dep: this.str(d, [...path, i]),
        condition: 'service_started',
        path: [...path, i],
      }));
    return Object.entries(this.map(s.depends_on, path)).map(([dep, raw]) => {
      const p = [...path, dep];
      const long = this.map(raw, p);
      this.keys(long, p, { condition: true, required: true, restart: true });
      const condition =
        long.condition === undefined
          ? 'service_started'
          : this.str(long.condition, [...p, 'condition']);
      if (
        !['service_started', 'service_healthy', 'service_completed_successfully'].includes(
          condition,
        )
      )
        this.fail(
          [...p, 'condition'],
          `"${condition}" is not service_started, service_healthy or service_completed_successfully`,
        );
      if (long.restart !== undefined && this.bool(long.restart, [...p, 'restart']))
        this.warn(
          [...p, 'restart'],
          'not supported (a dependency restarting does not restart this service)',
        );
      return { dep, condition, path: p };
    });
  }

  /** depends_on must name services of the file and must not loop. */
  private checkDependencies(services: Json, active: string[]): void {
    const graph = new Map<string, string[]>();
    for (const name of Object.keys(services)) {
      if (name.startsWith('x-')) continue;
      const deps = this.dependencies(this.map(services[name], ['services', name]), name);
      for (const d of deps)
        if (!(d.dep in services))
          this.fail(d.path, `depends on "${d.dep}", which is not a service of this file`);
        else if (active.includes(name) && !active.includes(d.dep))
          this.fail(d.path, `depends on "${d.dep}", which its profiles leave out`);
      graph.set(
        name,
        deps.map((d) => d.dep),
      );
    }
    const state = new Map<string, 'visiting' | 'done'>();
    const visit = (n: string, trail: string[]): void => {
      if (state.get(n) === 'done') return;
      if (state.get(n) === 'visiting') {
        const cycle = [...trail.slice(trail.indexOf(n)), n];
        this.fail(['services', n, 'depends_on'], `dependency cycle: ${cycle.join(' → ')}`);
      }
      state.set(n, 'visiting');
      for (const d of graph.get(n) ?? []) visit(d, [...trail, n]);
      state.set(n, 'done');
    };
    for (const n of graph.keys()) visit(n, []);
  }

  // ── top-level volumes, configs, secrets ──────────────────────────────

  private readVolumes(raw: unknown): void {
    for (const [name, v] of Object.entries(this.map(raw, ['volumes']))) {
      if (name.startsWith('x-')) continue;
      const path: Path = ['volumes', name];
      const def = this.map(v, path);
      this.keys(def, path, {
        driver: true,
        driver_opts: true,
        external: true,
        labels: true,
        name: true,
      });
      const external = def.external !== undefined && this.bool(def.external, [...path, 'external']);
      const claim = dnsLabel(def.name !== undefined ? this.str(def.name, [...path, 'name']) : name);
      if (!claim) this.fail(path, `"${name}" cannot be a claim name`, 'key');
      if (def.driver !== undefined && this.str(def.driver, [...path, 'driver']) !== 'local')
        this.warn([...path, 'driver'], `ignored: volumes are claims on the default StorageClass`);
      let size = DEFAULT_VOLUME_SIZE;
      const opts = this.map(def.driver_opts, [...path, 'driver_opts']);
      for (const [k, val] of Object.entries(opts)) {
        if (k === SIZE_OPTION) size = this.size(val, [...path, 'driver_opts', k]);
        else this.warn([...path, 'driver_opts', k], `ignored (only ${SIZE_OPTION} is read)`);
      }
      this.volumes.set(name, {
        claim,
        size,
        external,
        labels: Object.fromEntries(this.keyValues(def.labels ?? {}, [...path, 'labels'], false)),
        origin: this.src.at(path, 'key'),
      });
    }
  }

  private size(v: unknown, path: Path): string {
    const s = this.str(v, path).trim();
    if (/^\d+(\.\d+)?(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)?$/.test(s)) return s;
    const bytes = parseByteValue(s);
    if (bytes === undefined || bytes === 0)
      this.fail(path, `"${s}" is not a size like 5Gi or 500m`);
    return bytesQuantity(bytes);
  }

  private readFiles(kind: 'configs' | 'secrets', raw: unknown, into: Map<string, FileDef>): void {
    for (const [name, v] of Object.entries(this.map(raw, [kind]))) {
      if (name.startsWith('x-')) continue;
      const path: Path = [kind, name];
      const def = this.map(v, path);
      this.keys(def, path, {
        file: true,
        content: kind === 'configs' ? true : 'not supported for secrets (use file or environment)',
        environment: true,
        external: true,
        name: true,
        labels: true,
        driver: UNSUPPORTED,
        driver_opts: UNSUPPORTED,
        template_driver: UNSUPPORTED,
      });
      const object = dnsLabel(
        def.name !== undefined ? this.str(def.name, [...path, 'name']) : name,
      );
      const key = name.replace(/[^-._a-zA-Z0-9]/g, '_');
      const external = def.external !== undefined && this.bool(def.external, [...path, 'external']);
      let data: Buffer | undefined;
      if (!external) {
        const sources = ['file', 'content', 'environment'].filter((k) => def[k] !== undefined);
        if (sources.length !== 1)
          this.fail(
            path,
            `needs exactly one of file, ${kind === 'configs' ? 'content, ' : ''}environment or external`,
            'key',
          );
        if (def.file !== undefined)
          data = this.readLocal(this.str(def.file, [...path, 'file']), [...path, 'file']);
        else if (def.content !== undefined && kind === 'configs')
          data = Buffer.from(this.str(def.content, [...path, 'content']));
        else if (def.environment !== undefined) {
          const variable = this.str(def.environment, [...path, 'environment']);
          const value = this.env[variable];
          if (value === undefined)
            this.fail([...path, 'environment'], `the variable ${variable} is not set`);
          data = Buffer.from(value);
        }
      }
      into.set(name, {
        object,
        key,
        external,
        ...(data ? { data } : {}),
        origin: this.src.at(path, 'key'),
      });
    }
  }

  private emitFiles(): void {
    for (const [kind, defs] of [
      ['ConfigMap', this.configs],
      ['Secret', this.secrets],
    ] as const) {
      for (const def of defs.values()) {
        if (def.external || !def.data) continue;
        const text = def.data.toString('utf8');
        const binary = kind === 'Secret' || !Buffer.from(text, 'utf8').equals(def.data);
        this.objects.push({
          object: {
            apiVersion: 'v1',
            kind,
            metadata: this.meta(def.object, this.labelsFor()),
            ...(kind === 'Secret' ? { type: 'Opaque' } : {}),
            ...(binary
              ? {
                  [kind === 'Secret' ? 'data' : 'binaryData']: {
                    [def.key]: def.data.toString('base64'),
                  },
                }
              : { data: { [def.key]: text } }),
          },
          origin: def.origin,
        });
      }
    }
  }

  private emitClaims(): void {
    for (const [name, def] of this.volumes) {
      if (def.external || !this.claimsUsed.has(name)) continue;
      this.objects.push({
        object: {
          apiVersion: 'v1',
          kind: 'PersistentVolumeClaim',
          metadata: this.meta(def.claim, { ...def.labels, ...this.labelsFor() }),
          spec: claimSpec(def.size),
        },
        origin: def.origin,
      });
    }
  }

  // ── one service ───────────────────────────────────────────────────────

  private service(name: string, services: Json, active: string[]): KubeObject[] {
    const path: Path = ['services', name];
    const s = this.map(services[name], path);
    this.keys(s, path, SERVICE_KEYS);
    const k8sName = dnsLabel(name);
    if (s.image === undefined)
      this.fail(
        path,
        s.build !== undefined
          ? 'has build but no image: Shoal pulls images, so set image (and push it)'
          : 'has no image',
        'key',
      );
    const image = this.str(s.image, [...path, 'image']);
    const deploy = this.map(s.deploy, [...path, 'deploy']);
    this.keys(deploy, [...path, 'deploy'], {
      mode: true,
      replicas: true,
      labels: true,
      resources: true,
      placement: true,
      restart_policy: 'not supported (use the service restart key)',
      update_config: 'not supported (Deployments roll one pod at a time)',
      rollback_config: UNSUPPORTED,
      endpoint_mode: 'ignored: Services always have a virtual IP',
    });

    const container: Json = { name: k8sName, image };
    const podSpec: Json = {};
    const volumes: Json[] = [];
    const mounts: Json[] = [];

    if (s.entrypoint !== undefined)
      container.command = this.command(s.entrypoint, [...path, 'entrypoint']);
    if (s.command !== undefined) container.args = this.command(s.command, [...path, 'command']);
    const env = this.environment(s, path);
    if (env.length) container.env = env;
    if (s.working_dir !== undefined)
      container.workingDir = this.str(s.working_dir, [...path, 'working_dir']);
    if (s.tty !== undefined) container.tty = this.bool(s.tty, [...path, 'tty']);
    if (s.stdin_open !== undefined)
      container.stdin = this.bool(s.stdin_open, [...path, 'stdin_open']);
    if (s.pull_policy !== undefined) {
      const p = this.str(s.pull_policy, [...path, 'pull_policy']);
      const policy = {
        always: 'Always',
        never: 'Never',
        missing: 'IfNotPresent',
        if_not_present: 'IfNotPresent',
      }[p];
      if (policy) container.imagePullPolicy = policy;
      else this.warn([...path, 'pull_policy'], `"${p}" not supported (always, never, missing)`);
    }

    const security = this.securityContext(s, path);
    if (Object.keys(security).length) container.securityContext = security;
    const resources = this.resources(s, deploy, path);
    if (resources) container.resources = resources;
    this.healthcheck(s, path, container);

    // Ports: container ports, and the Service's.
    const { containerPorts, servicePorts, nodePort } = this.ports(s, path, k8sName);
    if (containerPorts.length) container.ports = containerPorts;

    // Volumes, tmpfs, configs, secrets.
    const claims = this.volumeMounts(s, path, volumes, mounts);
    this.fileMounts('configs', s, path, volumes, mounts);
    this.fileMounts('secrets', s, path, volumes, mounts);
    if (mounts.length) container.volumeMounts = mounts;

    // Restart policy → the kind of workload.
    const restart =
      s.restart === undefined
        ? undefined
        : s.restart === false
          ? 'no'
          : this.str(s.restart, [...path, 'restart']);
    const onFailure = /^on-failure(?::(\d+))?$/.exec(restart ?? '');
    if (
      restart !== undefined &&
      !['no', 'always', 'unless-stopped'].includes(restart) &&
      !onFailure
    )
      this.fail(
        [...path, 'restart'],
        `"${restart}" is not no, always, on-failure[:N] or unless-stopped`,
      );
    if (onFailure?.[1])
      this.warn(
        [...path, 'restart'],
        `the retry limit ${onFailure[1]} is ignored: the pod restarts on failure until it succeeds`,
      );
    const mode =
      deploy.mode === undefined ? 'replicated' : this.str(deploy.mode, [...path, 'deploy', 'mode']);
    if (mode !== 'replicated' && mode !== 'global')
      this.fail([...path, 'deploy', 'mode'], `"${mode}" is not replicated or global`);
    let replicas = 1;
    if (deploy.replicas !== undefined)
      replicas = this.int(deploy.replicas, [...path, 'deploy', 'replicas']);
    else if (s.scale !== undefined) replicas = this.int(s.scale, [...path, 'scale']);

    // Pod-level settings.
    if (s.hostname !== undefined) {
      const h = this.str(s.hostname, [...path, 'hostname']);
      if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(h))
        this.fail(
          [...path, 'hostname'],
          `"${h}" is not a DNS label (lowercase letters, digits and -)`,
        );
      podSpec.hostname = h;
    }
    if (s.stop_grace_period !== undefined)
      podSpec.terminationGracePeriodSeconds = Math.ceil(
        this.seconds(s.stop_grace_period, [...path, 'stop_grace_period']),
      );
    if (s.extra_hosts !== undefined)
      podSpec.hostAliases = this.hostAliases(s.extra_hosts, [...path, 'extra_hosts']);
    if (s.network_mode !== undefined) {
      const nm = this.str(s.network_mode, [...path, 'network_mode']);
      if (nm === 'host') podSpec.hostNetwork = true;
      else
        this.warn(
          [...path, 'network_mode'],
          `"${nm}" not supported (pods have their own network; "host" is)`,
        );
    }
    for (const [key, field] of [
      ['ipc', 'hostIPC'],
      ['pid', 'hostPID'],
    ] as const) {
      if (s[key] === undefined) continue;
      const v = this.str(s[key], [...path, key]);
      if (v === 'host') podSpec[field] = true;
      else this.warn([...path, key], `"${v}" not supported (only "host")`);
    }
    this.placement(deploy, path, podSpec);
    const inits = this.waits(s, name, services, active, image);
    if (inits.length) podSpec.initContainers = inits;
    podSpec.containers = [container];
    if (volumes.length) podSpec.volumes = volumes;

    // Labels: compose labels go on every object of the service when they are
    // valid Kubernetes labels, else become annotations.
    const userLabels: Record<string, string> = {};
    const annotations: Record<string, string> = {};
    for (const [k, v] of this.keyValues(s.labels ?? {}, [...path, 'labels'], false)) {
      if (isLabelKey(k) && isLabelValue(v)) userLabels[k] = v;
      else {
        annotations[k] = v;
        this.warn([...path, 'labels', k], 'not a valid Kubernetes label: kept as an annotation');
      }
    }
    for (const [k, v] of this.keyValues(s.annotations ?? {}, [...path, 'annotations'], false))
      annotations[k] = v;
    const deployLabels = Object.fromEntries(
      this.keyValues(deploy.labels ?? {}, [...path, 'deploy', 'labels'], false).filter(([k, v]) => {
        if (isLabelKey(k) && isLabelValue(v)) return true;
        this.warn([...path, 'deploy', 'labels', k], 'not a valid Kubernetes label: left out');
        return false;
      }),
    );
    const base = this.labelsFor(k8sName);
    const selector = { [PROJECT_LABEL]: this.project, [SERVICE_LABEL]: k8sName };
    const podMeta: Json = {
      labels: { ...userLabels, ...base },
      ...(Object.keys(annotations).length ? { annotations } : {}),
    };
    const objMeta = this.meta(k8sName, { ...userLabels, ...deployLabels, ...base });

    const out: KubeObject[] = [];
    if (servicePorts.length) {
      out.push({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: this.meta(k8sName, { ...userLabels, ...base }),
        spec: { type: nodePort ? 'NodePort' : 'ClusterIP', selector, ports: servicePorts },
      });
    }

    const bare = restart === 'no' || onFailure !== null;
    if (mode === 'global') {
      if (bare)
        this.warn(
          [...path, 'restart'],
          'ignored: a global service is a DaemonSet, whose pods always restart',
        );
      if (deploy.replicas !== undefined)
        this.warn(
          [...path, 'deploy', 'replicas'],
          'ignored: a global service runs one pod per node',
        );
      out.push({
        apiVersion: 'apps/v1',
        kind: 'DaemonSet',
        metadata: objMeta,
        spec: {
          selector: { matchLabels: selector },
          template: { metadata: podMeta, spec: podSpec },
        },
      });
    } else if (bare) {
      if (replicas !== 1)
        this.warn(
          [...path, deploy.replicas !== undefined ? 'deploy' : 'scale'],
          `ignored: restart "${restart}" makes a single Pod (as Kompose does)`,
        );
      out.push({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { ...objMeta, ...podMeta, labels: { ...deployLabels, ...userLabels, ...base } },
        spec: { ...podSpec, restartPolicy: restart === 'no' ? 'Never' : 'OnFailure' },
      });
    } else if (claims.length && replicas > 1) {
      // Replicas cannot share a ReadWriteOnce claim across hosts: each gets its own.
      for (const c of claims) {
        this.warn(
          c.path,
          `volume "${c.volume}" with ${replicas} replicas: each replica gets its own claim (${c.claim}-${k8sName}-0, …) in a StatefulSet; they do not share it as on one Docker host`,
        );
      }
      const templates = claims.map((c) => ({
        metadata: { name: c.claim, labels: this.labelsFor(k8sName) },
        spec: claimSpec(c.size),
      }));
      // The pod volumes of the claims come from the templates, by name.
      podSpec.volumes = volumes.filter((v) => !claims.some((c) => c.claim === v.name));
      if ((podSpec.volumes as Json[]).length === 0) delete podSpec.volumes;
      out.push({
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        metadata: objMeta,
        spec: {
          replicas,
          serviceName: k8sName,
          selector: { matchLabels: selector },
          template: { metadata: podMeta, spec: podSpec },
          volumeClaimTemplates: templates,
        },
      });
    } else {
      for (const c of claims) this.claimsUsed.add(c.volume);
      out.push({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: objMeta,
        spec: {
          replicas,
          selector: { matchLabels: selector },
          // A ReadWriteOnce claim is released before the next pod takes it.
          ...(claims.length ? { strategy: { type: 'Recreate' } } : {}),
          template: { metadata: podMeta, spec: podSpec },
        },
      });
    }
    if (bare || mode === 'global') for (const c of claims) this.claimsUsed.add(c.volume);
    return out;
  }

  private command(v: unknown, path: Path): string[] {
    if (typeof v === 'string') {
      const words = shellSplit(v);
      if (!words) this.fail(path, 'has an unclosed quote');
      return words;
    }
    return this.list(v, path).map((x, i) => this.str(x, [...path, i]));
  }

  /** env_file entries (in order), then environment over them. */
  private environment(s: Json, path: Path): Json[] {
    const merged = new Map<string, string>();
    if (s.env_file !== undefined) {
      const entries =
        typeof s.env_file === 'string'
          ? [s.env_file]
          : this.list(s.env_file, [...path, 'env_file']);
      entries.forEach((e, i) => {
        const p = [...path, 'env_file', i];
        let file: string;
        let required = true;
        if (isRecord(e)) {
          this.keys(e, p, { path: true, required: true, format: true });
          file = this.str(e.path, [...p, 'path']);
          if (e.required !== undefined) required = this.bool(e.required, [...p, 'required']);
        } else file = this.str(e, typeof s.env_file === 'string' ? [...path, 'env_file'] : p);
        const full = resolve(this.dir, file);
        let text: string;
        try {
          text = readFileSync(full, 'utf8');
        } catch (err) {
          if (!required) return;
          this.fail(
            typeof s.env_file === 'string' ? [...path, 'env_file'] : p,
            `cannot read ${full}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
          );
        }
        try {
          for (const { key, value } of parseDotEnv(text)) merged.set(key, value);
        } catch (err) {
          if (err instanceof InterpolationError)
            throw new CliError(`${full}:${err.message.replace(/^line /, '')}`);
          throw err;
        }
      });
    }
    if (s.environment !== undefined)
      for (const [k, v] of this.keyValues(s.environment, [...path, 'environment'], true))
        merged.set(k, v);
    return [...merged].map(([name, value]) => ({ name, value }));
  }

  private securityContext(s: Json, path: Path): Json {
    const sc: Json = {};
    if (s.user !== undefined) {
      const u = this.str(s.user, [...path, 'user']);
      const m = /^(\d+)(?::(\d+))?$/.exec(u);
      if (m) {
        sc.runAsUser = Number(m[1]);
        if (m[2] !== undefined) sc.runAsGroup = Number(m[2]);
      } else
        this.warn([...path, 'user'], `"${u}" not supported: Kubernetes needs a numeric uid[:gid]`);
    }
    if (s.read_only !== undefined)
      sc.readOnlyRootFilesystem = this.bool(s.read_only, [...path, 'read_only']);
    if (s.privileged !== undefined)
      sc.privileged = this.bool(s.privileged, [...path, 'privileged']);
    const caps: Json = {};
    for (const [key, field] of [
      ['cap_add', 'add'],
      ['cap_drop', 'drop'],
    ] as const) {
      if (s[key] === undefined) continue;
      caps[field] = this.strList(s[key], [...path, key]).map((c) =>
        c.toUpperCase().replace(/^CAP_/, ''),
      );
    }
    if (Object.keys(caps).length) sc.capabilities = caps;
    return sc;
  }

  private resources(s: Json, deploy: Json, path: Path): Json | undefined {
    const out: Record<'limits' | 'requests', Record<string, string>> = { limits: {}, requests: {} };
    const res = this.map(deploy.resources, [...path, 'deploy', 'resources']);
    this.keys(res, [...path, 'deploy', 'resources'], { limits: true, reservations: true });
    for (const [key, into] of [
      ['limits', out.limits],
      ['reservations', out.requests],
    ] as const) {
      const p = [...path, 'deploy', 'resources', key];
      const r = this.map(res[key], p);
      this.keys(r, p, {
        cpus: true,
        memory: true,
        pids: UNSUPPORTED,
        devices: 'not supported (no device plugins)',
        generic_resources: UNSUPPORTED,
      });
      if (r.cpus !== undefined) into.cpu = this.cpu(r.cpus, [...p, 'cpus']);
      if (r.memory !== undefined) into.memory = this.memory(r.memory, [...p, 'memory']);
    }
    if (s.cpus !== undefined) out.limits.cpu ??= this.cpu(s.cpus, [...path, 'cpus']);
    if (s.mem_limit !== undefined)
      out.limits.memory ??= this.memory(s.mem_limit, [...path, 'mem_limit']);
    if (s.mem_reservation !== undefined)
      out.requests.memory ??= this.memory(s.mem_reservation, [...path, 'mem_reservation']);
    const r: Json = {};
    if (Object.keys(out.limits).length) r.limits = out.limits;
    if (Object.keys(out.requests).length) r.requests = out.requests;
    return Object.keys(r).length ? r : undefined;
  }

  private cpu(v: unknown, path: Path): string {
    const q = cpuQuantity(v);
    if (!q) this.fail(path, `${describe(v)} is not a number of CPUs like 0.5 or 2`);
    return q;
  }

  private memory(v: unknown, path: Path): string {
    const b = parseByteValue(v);
    if (b === undefined || b === 0) this.fail(path, `${describe(v)} is not a size like 512m or 1g`);
    return bytesQuantity(b);
  }

  private healthcheck(s: Json, path: Path, container: Json): void {
    if (s.healthcheck === undefined) return;
    const p = [...path, 'healthcheck'];
    const h = this.map(s.healthcheck, p);
    this.keys(h, p, {
      test: true,
      interval: true,
      timeout: true,
      retries: true,
      start_period: true,
      disable: true,
      start_interval: 'ignored: probes run at interval from the start',
    });
    if (h.disable !== undefined && this.bool(h.disable, [...p, 'disable'])) return;
    if (h.test === undefined) {
      this.warn(p, 'ignored: no test (Shoal does not read the image HEALTHCHECK)');
      return;
    }
    let command: string[];
    if (typeof h.test === 'string') command = ['/bin/sh', '-c', h.test];
    else {
      const t = this.list(h.test, [...p, 'test']).map((x, i) => this.str(x, [...p, 'test', i]));
      if (t[0] === 'NONE') return;
      if (t[0] === 'CMD' && t.length > 1) command = t.slice(1);
      else if (t[0] === 'CMD-SHELL' && t.length === 2) command = ['/bin/sh', '-c', t[1]!];
      else
        this.fail(
          [...p, 'test'],
          'must be ["CMD", args…], ["CMD-SHELL", "command"], ["NONE"] or a string',
        );
    }
    const probe: Json = {
      exec: { command },
      periodSeconds: wholeSeconds(
        h.interval === undefined ? 30 : this.seconds(h.interval, [...p, 'interval']),
      ),
      timeoutSeconds: wholeSeconds(
        h.timeout === undefined ? 30 : this.seconds(h.timeout, [...p, 'timeout']),
      ),
      failureThreshold: h.retries === undefined ? 3 : this.int(h.retries, [...p, 'retries'], 1),
    };
    if (h.start_period !== undefined) {
      const sp = Math.ceil(this.seconds(h.start_period, [...p, 'start_period']));
      if (sp > 0) probe.initialDelaySeconds = sp;
    }
    container.readinessProbe = probe;
    container.livenessProbe = structuredClone(probe);
  }

  private ports(
    s: Json,
    path: Path,
    service: string,
  ): { containerPorts: Json[]; servicePorts: Json[]; nodePort: boolean } {
    const specs: { spec: PortSpec; path: Path }[] = [];
    if (s.ports !== undefined) {
      this.list(s.ports, [...path, 'ports']).forEach((raw, i) => {
        const p = [...path, 'ports', i];
        if (isRecord(raw)) {
          this.keys(raw, p, {
            target: true,
            published: true,
            host_ip: true,
            protocol: true,
            name: true,
            mode: true,
            app_protocol: true,
          });
          const target = portNumber(String(raw.target ?? ''));
          if (target === undefined)
            this.fail([...p, 'target'], `${describe(raw.target)} is not a port number`);
          const protocol = protocolOf(
            raw.protocol === undefined ? undefined : this.str(raw.protocol, [...p, 'protocol']),
          );
          if (!protocol) this.fail([...p, 'protocol'], 'must be tcp, udp or sctp');
          let published: number | undefined;
          if (raw.published !== undefined) {
            const range = portRange(this.str(raw.published, [...p, 'published']));
            if (!range)
              this.fail([...p, 'published'], `${describe(raw.published)} is not a port number`);
            if (range.length > 1)
              this.warn([...p, 'published'], `a range: only its first port ${range[0]} is used`);
            published = range[0];
          }
          const name = raw.name === undefined ? undefined : this.str(raw.name, [...p, 'name']);
          if (name !== undefined && !/^[a-z0-9]([-a-z0-9]{0,13}[a-z0-9])?$/.test(name))
            this.fail(
              [...p, 'name'],
              `"${name}" is not a port name (at most 15 lowercase letters, digits and -)`,
            );
          if (
            raw.mode !== undefined &&
            this.str(raw.mode, [...p, 'mode']) === 'host' &&
            published !== undefined &&
            published >= NODEPORT_MIN &&
            published <= NODEPORT_MAX
          )
            this.warn(
              [...p, 'mode'],
              'ignored: a published port in the NodePort range is open on every node',
            );
          specs.push({
            spec: {
              target,
              protocol,
              ...(published !== undefined ? { published } : {}),
              ...(raw.host_ip !== undefined
                ? { hostIp: this.str(raw.host_ip, [...p, 'host_ip']) }
                : {}),
              ...(name ? { name } : {}),
            },
            path: p,
          });
          return;
        }
        if (typeof raw !== 'string' && typeof raw !== 'number')
          this.fail(p, `must be a port string like "8080:80" or a mapping, not ${describe(raw)}`);
        const parsed = parseShortPort(raw);
        if (typeof parsed === 'string') this.fail(p, `"${raw}" is not a port: ${parsed}`);
        for (const spec of parsed) specs.push({ spec, path: p });
      });
    }
    if (s.expose !== undefined) {
      this.list(s.expose, [...path, 'expose']).forEach((raw, i) => {
        const p = [...path, 'expose', i];
        if (typeof raw !== 'string' && typeof raw !== 'number')
          this.fail(p, `must be a port, not ${describe(raw)}`);
        const parsed = parseExpose(raw);
        if (typeof parsed === 'string') this.fail(p, `"${raw}" is not a port: ${parsed}`);
        for (const spec of parsed) specs.push({ spec, path: p });
      });
    }
    const containerPorts = new Map<string, Json>();
    const servicePorts = new Map<string, Json>();
    let nodePort = false;
    for (const { spec, path: p } of specs) {
      const id = `${spec.target}/${spec.protocol}`;
      const portName = spec.name ?? `${spec.protocol.toLowerCase()}-${spec.target}`;
      const cp = containerPorts.get(id) ?? { containerPort: spec.target, protocol: spec.protocol };
      const sp = servicePorts.get(id) ?? {
        name: portName,
        port: spec.target,
        targetPort: spec.target,
        protocol: spec.protocol,
      };
      if (spec.published !== undefined) {
        if (spec.published >= NODEPORT_MIN && spec.published <= NODEPORT_MAX) {
          if (sp.nodePort !== undefined && sp.nodePort !== spec.published)
            this.warn(
              p,
              `port ${spec.target} is already published as NodePort ${String(sp.nodePort)}: ${spec.published} ignored`,
            );
          else sp.nodePort = spec.published;
          nodePort = true;
          if (spec.hostIp)
            this.warn(
              p,
              `host IP ${spec.hostIp} ignored: a NodePort listens on every node address`,
            );
        } else {
          this.warn(
            p,
            `published port ${spec.published} is outside the NodePort range ${NODEPORT_MIN}-${NODEPORT_MAX}: it becomes a hostPort, open only on the nodes that run a ${service} pod (one such pod per node); publish it in that range for a NodePort open on every node`,
          );
          if (cp.hostPort !== undefined && cp.hostPort !== spec.published)
            this.warn(
              p,
              `port ${spec.target} is already published on host port ${String(cp.hostPort)}: ${spec.published} ignored`,
            );
          else {
            cp.hostPort = spec.published;
            if (spec.hostIp) cp.hostIP = spec.hostIp;
          }
        }
      }
      containerPorts.set(id, cp);
      servicePorts.set(id, sp);
    }
    return {
      containerPorts: [...containerPorts.values()],
      servicePorts: [...servicePorts.values()],
      nodePort,
    };
  }

  /** Named volumes, binds, anonymous volumes and tmpfs; returns the claims the service mounts. */
  private volumeMounts(
    s: Json,
    path: Path,
    volumes: Json[],
    mounts: Json[],
  ): { volume: string; claim: string; size: string; path: Path }[] {
    const claims: { volume: string; claim: string; size: string; path: Path }[] = [];
    const addVolume = (v: Json): void => {
      if (!volumes.some((x) => x.name === v.name)) volumes.push(v);
    };
    let anon = 0;
    let binds = 0;
    let tmpfs = 0;
    const tmpfsMount = (target: string, sizeBytes: number | undefined, p: Path): void => {
      const name = `tmpfs-${tmpfs++}`;
      addVolume({
        name,
        emptyDir: {
          medium: 'Memory',
          ...(sizeBytes ? { sizeLimit: bytesQuantity(sizeBytes) } : {}),
        },
      });
      mounts.push({ name, mountPath: this.absolute(target, p) });
    };
    if (s.tmpfs !== undefined)
      this.strList(s.tmpfs, [...path, 'tmpfs']).forEach((t, i) =>
        tmpfsMount(
          t.split(':')[0]!,
          undefined,
          typeof s.tmpfs === 'string' ? [...path, 'tmpfs'] : [...path, 'tmpfs', i],
        ),
      );
    if (s.volumes === undefined) return claims;
    this.list(s.volumes, [...path, 'volumes']).forEach((raw, i) => {
      const p = [...path, 'volumes', i];
      let type: string;
      let source: string | undefined;
      let target: string;
      let readOnly = false;
      let tmpfsSize: number | undefined;
      if (isRecord(raw)) {
        this.keys(raw, p, {
          type: true,
          source: true,
          target: true,
          read_only: true,
          bind: true,
          volume: true,
          tmpfs: true,
          consistency: 'ignored',
          image: UNSUPPORTED,
        });
        type = raw.type === undefined ? 'volume' : this.str(raw.type, [...p, 'type']);
        source = raw.source === undefined ? undefined : this.str(raw.source, [...p, 'source']);
        if (raw.target === undefined) this.fail(p, 'has no target');
        target = this.str(raw.target, [...p, 'target']);
        if (raw.read_only !== undefined) readOnly = this.bool(raw.read_only, [...p, 'read_only']);
        if (raw.tmpfs !== undefined) {
          const t = this.map(raw.tmpfs, [...p, 'tmpfs']);
          this.keys(t, [...p, 'tmpfs'], { size: true, mode: UNSUPPORTED });
          if (t.size !== undefined) {
            tmpfsSize = parseByteValue(t.size);
            if (tmpfsSize === undefined)
              this.fail([...p, 'tmpfs', 'size'], `${describe(t.size)} is not a size`);
          }
        }
        for (const sub of ['bind', 'volume'] as const)
          if (raw[sub] !== undefined)
            this.warn([...p, sub], 'ignored (no options of that kind apply to pods)');
      } else {
        const text = this.str(raw, p);
        const parts = text.split(':');
        if (parts.length > 3 || parts.some((x) => x === ''))
          this.fail(p, `"${text}" is not SOURCE:TARGET[:MODE] or TARGET`);
        if (parts.length === 1) {
          target = parts[0]!;
          type = 'volume';
        } else {
          source = parts[0]!;
          target = parts[1]!;
          type = /^[./~]/.test(source) ? 'bind' : 'volume';
          const modes = (parts[2] ?? '').split(',').filter(Boolean);
          for (const m of modes) {
            if (m === 'ro') readOnly = true;
            else if (!['rw', 'z', 'Z', 'cached', 'delegated', 'consistent', 'nocopy'].includes(m))
              this.fail(p, `"${m}" is not a volume mode (ro, rw, …)`);
          }
        }
      }
      const mountPath = this.absolute(target, p);
      if (type === 'tmpfs') {
        tmpfsMount(mountPath, tmpfsSize, p);
        return;
      }
      if (type === 'bind') {
        if (!source) this.fail(p, 'a bind mount needs a source');
        const home = this.env.HOME ?? '/root';
        const hostPath = source.startsWith('~')
          ? join(home, source.slice(1))
          : resolve(this.dir, source);
        this.warn(
          p,
          `bind mount of ${hostPath} becomes a hostPath: the path must exist on whichever node runs the pod`,
        );
        const name = `bind-${binds++}`;
        addVolume({ name, hostPath: { path: hostPath } });
        mounts.push({ name, mountPath, ...(readOnly ? { readOnly: true } : {}) });
        return;
      }
      if (type !== 'volume')
        this.fail([...p, 'type'], `"${type}" volumes are not supported (volume, bind, tmpfs)`);
      if (!source) {
        // An anonymous volume lives as long as the container: an emptyDir.
        const name = `anon-${anon++}`;
        addVolume({ name, emptyDir: {} });
        mounts.push({ name, mountPath, ...(readOnly ? { readOnly: true } : {}) });
        return;
      }
      const def = this.volumes.get(source);
      if (!def) this.fail(p, `uses volume "${source}", which the top-level volumes do not declare`);
      addVolume({ name: def.claim, persistentVolumeClaim: { claimName: def.claim } });
      mounts.push({ name: def.claim, mountPath, ...(readOnly ? { readOnly: true } : {}) });
      if (!claims.some((c) => c.volume === source) && !def.external)
        claims.push({ volume: source, claim: def.claim, size: def.size, path: p });
      else if (def.external) this.claimsUsed.add(source);
    });
    return claims;
  }

  private absolute(target: string, path: Path): string {
    if (!target.startsWith('/')) this.fail(path, `"${target}" is not an absolute container path`);
    return target;
  }

  private fileMounts(
    kind: 'configs' | 'secrets',
    s: Json,
    path: Path,
    volumes: Json[],
    mounts: Json[],
  ): void {
    if (s[kind] === undefined) return;
    const defs = kind === 'configs' ? this.configs : this.secrets;
    this.list(s[kind], [...path, kind]).forEach((raw, i) => {
      const p = [...path, kind, i];
      let source: string;
      let target: string | undefined;
      let mode: number | undefined;
      if (isRecord(raw)) {
        this.keys(raw, p, {
          source: true,
          target: true,
          mode: true,
          uid: 'ignored: files are owned by root',
          gid: 'ignored: files are owned by root',
        });
        source = this.str(raw.source, [...p, 'source']);
        if (raw.target !== undefined) target = this.str(raw.target, [...p, 'target']);
        if (raw.mode !== undefined) mode = this.mode(raw.mode, [...p, 'mode']);
      } else source = this.str(raw, p);
      const def = defs.get(source);
      if (!def)
        this.fail(
          p,
          `uses ${kind.slice(0, -1)} "${source}", which the top-level ${kind} do not declare`,
        );
      const dirFor = kind === 'secrets' ? '/run/secrets/' : '/';
      const mountPath = !target
        ? `${dirFor}${source}`
        : target.startsWith('/')
          ? target
          : `${dirFor}${target}`;
      const name = `${kind === 'configs' ? 'config' : 'secret'}-${def.object}`
        .slice(0, 63)
        .replace(/-+$/, '');
      const item = { key: def.key, path: def.key, ...(mode !== undefined ? { mode } : {}) };
      const existing = volumes.find((v) => v.name === name);
      if (!existing)
        volumes.push(
          kind === 'configs'
            ? { name, configMap: { name: def.object, items: [item] } }
            : { name, secret: { secretName: def.object, items: [item] } },
        );
      mounts.push({ name, mountPath, subPath: def.key, readOnly: true });
    });
  }

  /** A file mode: 0440 and "0440" are octal, as Compose reads them; 288 is decimal. */
  private mode(v: unknown, path: Path): number {
    const text = this.src.sourceText(path) ?? String(v);
    let n: number;
    if (/^0o?[0-7]+$/.test(text)) n = parseInt(text.replace(/^0o?/, '') || '0', 8);
    else if (typeof v === 'number') n = v;
    else n = NaN;
    if (!Number.isInteger(n) || n < 0 || n > 0o777)
      this.fail(path, `${describe(v)} is not a file mode like 0440`);
    return n;
  }

  private hostAliases(v: unknown, path: Path): Json[] {
    const byIp = new Map<string, string[]>();
    const add = (host: string, ip: string, p: Path): void => {
      if (!/^[0-9a-fA-F.:]+$/.test(ip)) this.fail(p, `"${ip}" is not an IP address`);
      byIp.set(ip, [...(byIp.get(ip) ?? []), host]);
    };
    if (Array.isArray(v))
      v.forEach((e, i) => {
        const t = this.str(e, [...path, i]);
        const m = /^([^:=]+)[:=](.+)$/.exec(t);
        if (!m) this.fail([...path, i], `"${t}" is not HOST:IP`);
        add(m[1]!, m[2]!.replace(/^\[|\]$/g, ''), [...path, i]);
      });
    else
      for (const [host, ip] of Object.entries(this.map(v, path)))
        for (const one of Array.isArray(ip) ? ip : [ip])
          add(host, this.str(one, [...path, host]), [...path, host]);
    return [...byIp].map(([ip, hostnames]) => ({ ip, hostnames }));
  }

  /** deploy.placement.constraints → nodeSelector (==) and node affinity (!=). */
  private placement(deploy: Json, path: Path, podSpec: Json): void {
    const p = [...path, 'deploy', 'placement'];
    const placement = this.map(deploy.placement, p);
    this.keys(placement, p, {
      constraints: true,
      preferences: "not supported (spread is the scheduler's default)",
      max_replicas_per_node: UNSUPPORTED,
    });
    if (placement.constraints === undefined) return;
    const selector: Record<string, string> = {};
    const expressions: Json[] = [];
    this.strList(placement.constraints, [...p, 'constraints']).forEach((c, i) => {
      const cp = [...p, 'constraints', i];
      const m = /^\s*([\w.\-/]+)\s*(==|!=)\s*(\S+)\s*$/.exec(c);
      if (!m) this.fail(cp, `"${c}" is not "ATTRIBUTE == VALUE" or "ATTRIBUTE != VALUE"`);
      const [, attr, op, value] = m as unknown as [string, string, string, string];
      let key: string | undefined;
      if (attr.startsWith('node.labels.')) key = attr.slice('node.labels.'.length);
      else if (attr === 'node.hostname') key = 'kubernetes.io/hostname';
      else if (attr === 'node.platform.os') key = 'kubernetes.io/os';
      else if (attr === 'node.platform.arch') key = 'kubernetes.io/arch';
      if (!key) {
        this.warn(
          cp,
          `"${attr}" not supported (node.labels.*, node.hostname, node.platform.os/arch)`,
        );
        return;
      }
      if (op === '==') selector[key] = value;
      else expressions.push({ key, operator: 'NotIn', values: [value] });
    });
    if (Object.keys(selector).length) podSpec.nodeSelector = selector;
    if (expressions.length)
      podSpec.affinity = {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [{ matchExpressions: expressions }],
          },
        },
      };
  }

  /** depends_on service_healthy → an init container polling the dependency's Service until it answers. */
  private waits(s: Json, name: string, services: Json, active: string[], image: string): Json[] {
    const out: Json[] = [];
    for (const d of this.dependencies(s, name)) {
      if (d.condition === 'service_started') continue; // pods start together; nothing to wait for
      if (d.condition === 'service_completed_successfully') {
        this.warn(
          d.path,
          'condition service_completed_successfully not supported: started without waiting',
        );
        continue;
      }
      const dep = this.map(services[d.dep], ['services', d.dep]);
      const port = this.firstPort(dep, ['services', d.dep]);
      if (port === undefined || !active.includes(d.dep)) {
        this.warn(
          d.path,
          `condition service_healthy needs ports or expose on ${d.dep} to wait on: started without waiting`,
        );
        continue;
      }
      const host = dnsLabel(d.dep);
      // busybox's nc has no -z: connecting with stdin at EOF exits 0 once the port answers.
      const probe = `nc -w 2 ${host} ${port} </dev/null || wget -q -T 2 -O /dev/null http://${host}:${port}/`;
      out.push({
        name: `wait-for-${host}`.slice(0, 63),
        image,
        command: [
          'sh',
          '-c',
          `until (${probe}) >/dev/null 2>&1; do echo waiting for ${host}:${port}; sleep 2; done`,
        ],
      });
    }
    return out;
  }

  /** The first TCP port a service's Service would have (from ports, then expose), without warnings. */
  private firstPort(s: Json, _path: Path): number | undefined {
    for (const raw of [
      ...(Array.isArray(s.ports) ? s.ports : []),
      ...(Array.isArray(s.expose) ? s.expose : []),
    ]) {
      if (isRecord(raw)) {
        const t = portNumber(String(raw.target ?? ''));
        if (t !== undefined && (raw.protocol === undefined || raw.protocol === 'tcp')) return t;
        continue;
      }
      if (typeof raw !== 'string' && typeof raw !== 'number') continue;
      const parsed = parseShortPort(raw);
      if (typeof parsed !== 'string' && parsed[0]?.protocol === 'TCP') return parsed[0].target;
    }
    return undefined;
  }
}

function claimSpec(size: string): Json {
  return { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: size } } };
}

function describe(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return typeof v === 'string' ? `"${v}"` : String(v);
}

function isLabelKey(k: string): boolean {
  const [prefix, name] = k.includes('/') ? k.split('/', 2) : [undefined, k];
  if (prefix !== undefined && !/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(prefix)) return false;
  return /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/.test(name ?? '');
}

function isLabelValue(v: string): boolean {
  return v === '' || /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/.test(v);
}

/** The `.env` beside the compose file, under the process environment (which wins, as in Compose). */
function projectEnv(dir: string, env: Env): Env {
  let text: string;
  try {
    text = readFileSync(join(dir, '.env'), 'utf8');
  } catch {
    return env;
  }
  const out: Record<string, string | undefined> = {};
  try {
    for (const { key, value } of parseDotEnv(text)) out[key] = value;
  } catch (err) {
    if (err instanceof InterpolationError)
      throw new CliError(`${join(dir, '.env')}:${err.message.replace(/^line /, '')}`);
    throw err;
  }
  return { ...out, ...env };
}

/**
 * Converts one compose file's text into the objects `shoal apply` would
 * apply, in apply order (Namespace, ConfigMaps/Secrets, claims, then per
 * service its Service and workload). `file` names the file in messages and
 * anchors relative paths (env_file, config files, binds, `.env`); `file` "-"
 * (stdin) anchors them at the working directory. Throws CliError with
 * file:line:column on invalid input.
 */
export function convertCompose(text: string, file: string, opts: ComposeOptions): ComposeResult {
  const dir = file === '-' || file === 'STDIN' ? process.cwd() : dirname(resolve(file));
  const env = projectEnv(dir, opts.env);
  const source = new ComposeSource(file, text, env);
  const c = new Converter(source, dir, env);
  c.run(opts, file === '-' || file === 'STDIN' ? join(dir, 'compose.yaml') : file);
  return {
    project: c.project,
    namespace: c.namespace,
    objects: order(c.objects),
    warnings: c.warnings,
  };
}

function order(objects: ComposeObject[]): ComposeObject[] {
  const rank = (k: string): number =>
    k === 'Namespace'
      ? 0
      : k === 'ConfigMap' || k === 'Secret'
        ? 1
        : k === 'PersistentVolumeClaim'
          ? 2
          : 3;
  return objects
    .map((o, i) => ({ o, i }))
    .sort((a, b) => rank(a.o.object.kind) - rank(b.o.object.kind) || a.i - b.i)
    .map(({ o }) => o);
}

const COMPOSE_NAMES = new Set([
  'compose.yaml',
  'compose.yml',
  'docker-compose.yaml',
  'docker-compose.yml',
]);

/**
 * Whether a -f file is a compose file: by its name (compose.yaml,
 * docker-compose.yml …) or, for any other YAML, by a top-level `services:`
 * mapping with neither apiVersion nor kind (a cheap look at the text, so a
 * Kubernetes manifest is never parsed twice).
 */
export function isComposeFile(path: string, text: string): boolean {
  if (COMPOSE_NAMES.has(basename(path).toLowerCase())) return true;
  if (!/^services:[ \t]*(#.*)?$/m.test(text) && !/^services:[ \t]*\{/m.test(text)) return false;
  return !/^(apiVersion|kind):/m.test(text);
}
