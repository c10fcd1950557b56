// compose inputs → the Kubernetes objects and warnings they become, and the
// errors (with file:line:column) that invalid files get. Files sit in a temp
// project directory "shop", so the default project name is "shop".

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { convertCompose, isComposeFile, type ComposeResult, type KubeObject } from './convert.js';

let root: string;
let dir: string;
let F: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'shoal-compose-unit-'));
  dir = join(root, 'shop');
  mkdirSync(dir);
  F = relative(process.cwd(), join(dir, 'compose.yaml'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

function convert(
  text: string,
  opts: {
    env?: Record<string, string>;
    files?: Record<string, string>;
    projectName?: string;
    namespace?: string;
  } = {},
): ComposeResult {
  rmSync(join(dir, '.env'), { force: true });
  for (const [name, content] of Object.entries(opts.files ?? {}))
    writeFileSync(join(dir, name), content);
  writeFileSync(join(dir, 'compose.yaml'), text);
  return convertCompose(text, F, {
    env: opts.env ?? {},
    ...(opts.projectName ? { projectName: opts.projectName } : {}),
    ...(opts.namespace ? { namespace: opts.namespace } : {}),
  });
}

function get(r: ComposeResult, kind: string, name: string): KubeObject {
  const o = r.objects.find((x) => x.object.kind === kind && x.object.metadata.name === name);
  if (!o)
    throw new Error(
      `no ${kind}/${name} in ${r.objects.map((x) => `${x.object.kind}/${x.object.metadata.name}`).join(', ')}`,
    );
  return o.object;
}

type Pod = {
  initContainers?: Record<string, unknown>[];
  containers: Record<string, unknown>[];
  volumes?: Record<string, unknown>[];
  [k: string]: unknown;
};
function podOf(o: KubeObject): Pod {
  const spec = o.spec as { template?: { spec: Pod } } & Pod;
  return spec.template ? spec.template.spec : spec;
}
const main = (o: KubeObject): Record<string, unknown> => podOf(o).containers[0]!;

const refs = (r: ComposeResult): string[] =>
  r.objects.map((o) => `${o.object.kind}/${o.object.metadata.name}`);

describe('projects and services', () => {
  it('makes a Namespace, then a Deployment per service, with the compose labels', () => {
    const r = convert('services:\n  web:\n    image: nginx\n');
    expect(r.project).toBe('shop');
    expect(refs(r)).toEqual(['Namespace/shop', 'Deployment/web']);
    expect(r.warnings).toEqual([]);
    const d = get(r, 'Deployment', 'web');
    const labels = {
      'app.kubernetes.io/name': 'web',
      'app.kubernetes.io/part-of': 'shop',
      'io.shoal.compose.project': 'shop',
      'io.shoal.compose.service': 'web',
    };
    expect(d).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'shop', labels },
      spec: {
        replicas: 1,
        selector: {
          matchLabels: { 'io.shoal.compose.project': 'shop', 'io.shoal.compose.service': 'web' },
        },
        template: { metadata: { labels }, spec: { containers: [{ name: 'web', image: 'nginx' }] } },
      },
    });
    expect(r.objects[1]!.origin).toBe(`${F}:2:3`);
  });

  it('takes the project from -p, then COMPOSE_PROJECT_NAME, then name:, normalised to a DNS label', () => {
    const text = 'name: My_Store\nservices:\n  web:\n    image: nginx\n';
    expect(convert(text).project).toBe('my-store');
    expect(convert(text, { env: { COMPOSE_PROJECT_NAME: 'envname' } }).project).toBe('envname');
    expect(convert(text, { projectName: 'Flag.Name' }).project).toBe('flag-name');
  });

  it('puts everything into -n NS, without a Namespace, keeping the project label', () => {
    const r = convert('services:\n  web:\n    image: nginx\n', { namespace: 'team' });
    expect(refs(r)).toEqual(['Deployment/web']);
    expect(get(r, 'Deployment', 'web').metadata).toMatchObject({
      namespace: 'team',
      labels: { 'io.shoal.compose.project': 'shop' },
    });
  });

  it('renames services that are not DNS labels, with a warning', () => {
    const r = convert('services:\n  my_db:\n    image: postgres\n');
    expect(refs(r)).toEqual(['Namespace/shop', 'Deployment/my-db']);
    expect(r.warnings).toEqual([
      `${F}:2: services.my_db: named "my-db" in Kubernetes (a DNS label); other services reach it as my-db`,
    ]);
  });

  it('maps image, entrypoint → command, command → args, working_dir, tty, pull_policy, hostname, stop_grace_period', () => {
    const r = convert(`services:
  app:
    image: busybox
    entrypoint: ["/bin/sh", "-c"]
    command: echo "hello world"
    working_dir: /srv
    tty: true
    stdin_open: true
    pull_policy: always
    hostname: app-host
    stop_grace_period: 1m30s
    extra_hosts: ["db.local:10.0.0.5", "cache.local=10.0.0.5"]
`);
    const d = get(r, 'Deployment', 'app');
    expect(main(d)).toEqual({
      name: 'app',
      image: 'busybox',
      command: ['/bin/sh', '-c'],
      args: ['echo', 'hello world'],
      workingDir: '/srv',
      tty: true,
      stdin: true,
      imagePullPolicy: 'Always',
    });
    expect(podOf(d)).toMatchObject({
      hostname: 'app-host',
      terminationGracePeriodSeconds: 90,
      hostAliases: [{ ip: '10.0.0.5', hostnames: ['db.local', 'cache.local'] }],
    });
  });

  it('reads environment (list and map), env_file (relative to the file) and interpolates ${VAR} from env and .env', () => {
    const r = convert(
      `services:
  app:
    image: "busybox:\${TAG:-1.36}"
    env_file: [app.env]
    environment:
      - FROM_LIST=\${GREETING}
      - PASSTHROUGH
      - UNSET_PASSTHROUGH
  other:
    image: busybox
    env_file: [{path: missing.env, required: false}]
    environment:
      NUM: 5
      BOOL: true
      FROM_DOTENV: \${DOTENV_ONLY}
`,
      {
        env: { GREETING: 'hi', PASSTHROUGH: 'p' },
        files: {
          'app.env': '# comment\nSHARED=from-file\nFROM_LIST=overridden\n',
          '.env': 'DOTENV_ONLY=d\nGREETING=ignored\n',
        },
      },
    );
    expect(main(get(r, 'Deployment', 'app'))).toMatchObject({
      image: 'busybox:1.36',
      env: [
        { name: 'SHARED', value: 'from-file' },
        { name: 'FROM_LIST', value: 'hi' },
        { name: 'PASSTHROUGH', value: 'p' },
      ],
    });
    expect(main(get(r, 'Deployment', 'other')).env).toEqual([
      { name: 'NUM', value: '5' },
      { name: 'BOOL', value: 'true' },
      { name: 'FROM_DOTENV', value: 'd' },
    ]);
  });

  it('maps labels to labels (annotations when invalid) and deploy.labels to the workload', () => {
    const r = convert(`services:
  web:
    image: nginx
    labels:
      tier: front
      com.example.description: "Accounting web app"
    deploy:
      labels: {release: stable}
`);
    const d = get(r, 'Deployment', 'web');
    expect(d.metadata.labels).toMatchObject({ tier: 'front', release: 'stable' });
    expect((d.spec as { template: { metadata: unknown } }).template.metadata).toMatchObject({
      labels: { tier: 'front' },
      annotations: { 'com.example.description': 'Accounting web app' },
    });
    expect(r.warnings).toEqual([
      `${F}:6: services.web.labels.com.example.description: not a valid Kubernetes label: kept as an annotation`,
    ]);
  });

  it('maps user, read_only, privileged, cap_add and cap_drop to the securityContext', () => {
    const r = convert(`services:
  app:
    image: busybox
    user: "1000:2000"
    read_only: true
    cap_add: [NET_ADMIN, CAP_SYS_TIME]
    cap_drop: [ALL]
  named:
    image: busybox
    user: nobody
`);
    expect(main(get(r, 'Deployment', 'app')).securityContext).toEqual({
      runAsUser: 1000,
      runAsGroup: 2000,
      readOnlyRootFilesystem: true,
      capabilities: { add: ['NET_ADMIN', 'SYS_TIME'], drop: ['ALL'] },
    });
    expect(r.warnings).toEqual([
      `${F}:10: services.named.user: "nobody" not supported: Kubernetes needs a numeric uid[:gid]`,
    ]);
  });

  it('maps deploy.replicas, resources and placement constraints', () => {
    const r = convert(`services:
  app:
    image: busybox
    deploy:
      replicas: 3
      resources:
        limits: {cpus: "0.5", memory: 512M}
        reservations: {cpus: "0.25", memory: 128m}
      placement:
        constraints:
          - node.labels.disk == ssd
          - node.hostname != host-2
          - node.platform.arch == amd64
          - node.role == manager
`);
    const d = get(r, 'Deployment', 'app');
    expect((d.spec as { replicas: number }).replicas).toBe(3);
    expect(main(d).resources).toEqual({
      limits: { cpu: '500m', memory: '512Mi' },
      requests: { cpu: '250m', memory: '128Mi' },
    });
    expect(podOf(d).nodeSelector).toEqual({ disk: 'ssd', 'kubernetes.io/arch': 'amd64' });
    expect(podOf(d).affinity).toEqual({
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [
            {
              matchExpressions: [
                { key: 'kubernetes.io/hostname', operator: 'NotIn', values: ['host-2'] },
              ],
            },
          ],
        },
      },
    });
    expect(r.warnings).toEqual([
      `${F}:14: services.app.deploy.placement.constraints[3]: "node.role" not supported (node.labels.*, node.hostname, node.platform.os/arch)`,
    ]);
  });

  it('makes a DaemonSet of deploy.mode global, and bare Pods of restart "no" / on-failure (as Kompose does)', () => {
    const r = convert(`services:
  agent:
    image: busybox
    deploy: {mode: global}
  once:
    image: busybox
    restart: "no"
  retry:
    image: busybox
    restart: on-failure:3
  always:
    image: busybox
    restart: unless-stopped
`);
    expect(refs(r)).toEqual([
      'Namespace/shop',
      'DaemonSet/agent',
      'Pod/once',
      'Pod/retry',
      'Deployment/always',
    ]);
    expect(get(r, 'Pod', 'once').spec).toMatchObject({ restartPolicy: 'Never' });
    expect(get(r, 'Pod', 'retry').spec).toMatchObject({ restartPolicy: 'OnFailure' });
    expect(get(r, 'Pod', 'once').metadata.labels).toMatchObject({
      'io.shoal.compose.service': 'once',
    });
    expect(r.warnings).toEqual([
      `${F}:10: services.retry.restart: the retry limit 3 is ignored: the pod restarts on failure until it succeeds`,
    ]);
  });
});

describe('ports', () => {
  it('makes a ClusterIP Service of target ports and expose; hostPorts for published ports outside the NodePort range', () => {
    const r = convert(`services:
  web:
    image: nginx
    ports:
      - "8080:80"
      - "443"
      - "127.0.0.1:5353:53/udp"
    expose: ["9000"]
`);
    expect(refs(r)).toEqual(['Namespace/shop', 'Service/web', 'Deployment/web']);
    expect(get(r, 'Service', 'web').spec).toEqual({
      type: 'ClusterIP',
      selector: { 'io.shoal.compose.project': 'shop', 'io.shoal.compose.service': 'web' },
      ports: [
        { name: 'tcp-80', port: 80, targetPort: 80, protocol: 'TCP' },
        { name: 'tcp-443', port: 443, targetPort: 443, protocol: 'TCP' },
        { name: 'udp-53', port: 53, targetPort: 53, protocol: 'UDP' },
        { name: 'tcp-9000', port: 9000, targetPort: 9000, protocol: 'TCP' },
      ],
    });
    expect(main(get(r, 'Deployment', 'web')).ports).toEqual([
      { containerPort: 80, protocol: 'TCP', hostPort: 8080 },
      { containerPort: 443, protocol: 'TCP' },
      { containerPort: 53, protocol: 'UDP', hostPort: 5353, hostIP: '127.0.0.1' },
      { containerPort: 9000, protocol: 'TCP' },
    ]);
    expect(r.warnings).toEqual([
      `${F}:5: services.web.ports[0]: published port 8080 is outside the NodePort range 30000-32767: it becomes a hostPort, open only on the nodes that run a web pod (one such pod per node); publish it in that range for a NodePort open on every node`,
      `${F}:7: services.web.ports[2]: published port 5353 is outside the NodePort range 30000-32767: it becomes a hostPort, open only on the nodes that run a web pod (one such pod per node); publish it in that range for a NodePort open on every node`,
    ]);
  });

  it('makes a NodePort Service of a published port in 30000-32767 (long syntax too)', () => {
    const r = convert(`services:
  web:
    image: nginx
    ports:
      - target: 80
        published: "30080"
        name: http
      - 30443:443
`);
    expect(get(r, 'Service', 'web').spec).toMatchObject({
      type: 'NodePort',
      ports: [
        { name: 'http', port: 80, targetPort: 80, protocol: 'TCP', nodePort: 30080 },
        { name: 'tcp-443', port: 443, targetPort: 443, protocol: 'TCP', nodePort: 30443 },
      ],
    });
    expect(main(get(r, 'Deployment', 'web')).ports).toEqual([
      { containerPort: 80, protocol: 'TCP' },
      { containerPort: 443, protocol: 'TCP' },
    ]);
    expect(r.warnings).toEqual([]);
  });
});

describe('volumes', () => {
  it('makes a claim of a named volume (1Gi, or shoal.io/size), a Recreate Deployment, hostPaths of binds, emptyDirs of tmpfs', () => {
    const r = convert(`services:
  db:
    image: postgres
    volumes:
      - data:/var/lib/db
      - ./conf:/etc/db:ro
      - type: tmpfs
        target: /scratch
        tmpfs: {size: 64m}
      - /anon
      - type: volume
        source: logs
        target: /logs
        read_only: true
    tmpfs: /run
volumes:
  data:
  logs:
    driver_opts: {shoal.io/size: 5Gi, type: nfs}
`);
    expect(refs(r)).toEqual([
      'Namespace/shop',
      'PersistentVolumeClaim/data',
      'PersistentVolumeClaim/logs',
      'Deployment/db',
    ]);
    expect(get(r, 'PersistentVolumeClaim', 'data').spec).toEqual({
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: '1Gi' } },
    });
    expect(get(r, 'PersistentVolumeClaim', 'logs').spec).toMatchObject({
      resources: { requests: { storage: '5Gi' } },
    });
    const d = get(r, 'Deployment', 'db');
    expect(d.spec).toMatchObject({ strategy: { type: 'Recreate' } });
    expect(podOf(d).volumes).toEqual([
      { name: 'tmpfs-0', emptyDir: { medium: 'Memory' } },
      { name: 'data', persistentVolumeClaim: { claimName: 'data' } },
      { name: 'bind-0', hostPath: { path: join(dir, 'conf') } },
      { name: 'tmpfs-1', emptyDir: { medium: 'Memory', sizeLimit: '64Mi' } },
      { name: 'anon-0', emptyDir: {} },
      { name: 'logs', persistentVolumeClaim: { claimName: 'logs' } },
    ]);
    expect(main(d).volumeMounts).toEqual([
      { name: 'tmpfs-0', mountPath: '/run' },
      { name: 'data', mountPath: '/var/lib/db' },
      { name: 'bind-0', mountPath: '/etc/db', readOnly: true },
      { name: 'tmpfs-1', mountPath: '/scratch' },
      { name: 'anon-0', mountPath: '/anon' },
      { name: 'logs', mountPath: '/logs', readOnly: true },
    ]);
    expect(r.warnings).toEqual([
      `${F}:19: volumes.logs.driver_opts.type: ignored (only shoal.io/size is read)`,
      `${F}:6: services.db.volumes[1]: bind mount of ${join(dir, 'conf')} becomes a hostPath: the path must exist on whichever node runs the pod`,
    ]);
  });

  it('makes a StatefulSet with a claim per replica when a service with a named volume has replicas > 1', () => {
    const r = convert(`services:
  db:
    image: busybox
    deploy: {replicas: 3}
    volumes: ["data:/data"]
volumes:
  data:
`);
    expect(refs(r)).toEqual(['Namespace/shop', 'StatefulSet/db']);
    const s = get(r, 'StatefulSet', 'db');
    expect(s.spec).toMatchObject({
      replicas: 3,
      serviceName: 'db',
      volumeClaimTemplates: [
        {
          metadata: { name: 'data' },
          spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
        },
      ],
    });
    expect(podOf(s).volumes).toBeUndefined();
    expect(main(s).volumeMounts).toEqual([{ name: 'data', mountPath: '/data' }]);
    expect(r.warnings).toEqual([
      `${F}:5: services.db.volumes[0]: volume "data" with 3 replicas: each replica gets its own claim (data-db-0, …) in a StatefulSet; they do not share it as on one Docker host`,
    ]);
  });

  it('does not create external volumes', () => {
    const r = convert(
      'services:\n  a:\n    image: x\n    volumes: ["old:/d"]\nvolumes:\n  old: {external: true, name: legacy}\n',
    );
    expect(refs(r)).toEqual(['Namespace/shop', 'Deployment/a']);
    expect(podOf(get(r, 'Deployment', 'a')).volumes).toEqual([
      { name: 'legacy', persistentVolumeClaim: { claimName: 'legacy' } },
    ]);
  });
});

describe('configs and secrets', () => {
  it('makes ConfigMaps and Secrets of file, content and environment, mounted file by file', () => {
    const r = convert(
      `services:
  web:
    image: nginx
    configs:
      - page
      - source: conf
        target: /etc/nginx/nginx.conf
        mode: 0440
    secrets:
      - token
      - source: token
        target: app-token
        uid: "100"
configs:
  page:
    content: "hello \${WHO}"
  conf:
    file: ./nginx.conf
secrets:
  token:
    environment: TOKEN
`,
      { env: { WHO: 'there', TOKEN: 's3cret' }, files: { 'nginx.conf': 'events {}\n' } },
    );
    expect(refs(r)).toEqual([
      'Namespace/shop',
      'ConfigMap/page',
      'ConfigMap/conf',
      'Secret/token',
      'Deployment/web',
    ]);
    expect(get(r, 'ConfigMap', 'page').data).toEqual({ page: 'hello there' });
    expect(get(r, 'ConfigMap', 'conf').data).toEqual({ conf: 'events {}\n' });
    expect(get(r, 'Secret', 'token')).toMatchObject({
      type: 'Opaque',
      data: { token: Buffer.from('s3cret').toString('base64') },
    });
    const d = get(r, 'Deployment', 'web');
    expect(podOf(d).volumes).toEqual([
      { name: 'config-page', configMap: { name: 'page', items: [{ key: 'page', path: 'page' }] } },
      {
        name: 'config-conf',
        configMap: { name: 'conf', items: [{ key: 'conf', path: 'conf', mode: 0o440 }] },
      },
      {
        name: 'secret-token',
        secret: { secretName: 'token', items: [{ key: 'token', path: 'token' }] },
      },
    ]);
    expect(main(d).volumeMounts).toEqual([
      { name: 'config-page', mountPath: '/page', subPath: 'page', readOnly: true },
      { name: 'config-conf', mountPath: '/etc/nginx/nginx.conf', subPath: 'conf', readOnly: true },
      { name: 'secret-token', mountPath: '/run/secrets/token', subPath: 'token', readOnly: true },
      {
        name: 'secret-token',
        mountPath: '/run/secrets/app-token',
        subPath: 'token',
        readOnly: true,
      },
    ]);
    expect(r.warnings).toEqual([
      `${F}:13: services.web.secrets[1].uid: ignored: files are owned by root`,
    ]);
  });
});

describe('healthchecks and depends_on', () => {
  it('turns a healthcheck into readiness and liveness exec probes', () => {
    const r = convert(`services:
  a:
    image: busybox
    healthcheck:
      test: ["CMD", "test", "-f", "/ok"]
      interval: 1m30s
      timeout: 500ms
      retries: 5
      start_period: 40s
  b:
    image: busybox
    healthcheck:
      test: wget -q -O- localhost
  c:
    image: busybox
    healthcheck:
      test: ["NONE"]
`);
    const probe = {
      exec: { command: ['test', '-f', '/ok'] },
      periodSeconds: 90,
      timeoutSeconds: 1,
      failureThreshold: 5,
      initialDelaySeconds: 40,
    };
    expect(main(get(r, 'Deployment', 'a'))).toMatchObject({
      readinessProbe: probe,
      livenessProbe: probe,
    });
    expect(main(get(r, 'Deployment', 'b')).readinessProbe).toEqual({
      exec: { command: ['/bin/sh', '-c', 'wget -q -O- localhost'] },
      periodSeconds: 30,
      timeoutSeconds: 30,
      failureThreshold: 3,
    });
    expect(main(get(r, 'Deployment', 'c')).readinessProbe).toBeUndefined();
  });

  it("waits for a service_healthy dependency with an init container in the dependent's image", () => {
    const r = convert(`services:
  web:
    image: registry.local/busybox
    depends_on:
      db: {condition: service_healthy}
      cache: {condition: service_started}
      migrate: {condition: service_completed_successfully}
      quiet: {condition: service_healthy}
  db:
    image: postgres
    expose: ["5432"]
  cache:
    image: redis
  migrate:
    image: busybox
    restart: "no"
  quiet:
    image: busybox
`);
    expect(podOf(get(r, 'Deployment', 'web')).initContainers).toEqual([
      {
        name: 'wait-for-db',
        image: 'registry.local/busybox',
        command: [
          'sh',
          '-c',
          'until (nc -w 2 db 5432 </dev/null || wget -q -T 2 -O /dev/null http://db:5432/) >/dev/null 2>&1; do echo waiting for db:5432; sleep 2; done',
        ],
      },
    ]);
    expect(r.warnings).toEqual([
      `${F}:7: services.web.depends_on.migrate: condition service_completed_successfully not supported: started without waiting`,
      `${F}:8: services.web.depends_on.quiet: condition service_healthy needs ports or expose on quiet to wait on: started without waiting`,
    ]);
  });
});

describe('warnings: one line per unsupported key, x- extensions silent', () => {
  it('warns about build, networks, logging …, and says nothing about x- keys', () => {
    const r = convert(`version: "3.9"
x-common: &common
  image: busybox
services:
  web:
    <<: *common
    build: .
    networks: [front]
    logging: {driver: json-file}
    x-note: ignored
    container_name: web1
networks:
  front:
`);
    expect(main(get(r, 'Deployment', 'web')).image).toBe('busybox');
    expect(r.warnings).toEqual([
      `${F}:1: version: obsolete, ignored`,
      `${F}:12: networks: ignored: all services share the cluster pod network and reach each other by name`,
      `${F}:7: services.web.build: not supported (Shoal pulls images; build and push it first)`,
      `${F}:8: services.web.networks: ignored: all services share the cluster pod network and reach each other by name`,
      `${F}:9: services.web.logging: not supported (the agent keeps container logs)`,
      `${F}:11: services.web.container_name: ignored: Kubernetes names pods itself`,
    ]);
  });

  it('leaves out services whose profiles are not active', () => {
    const text = 'services:\n  web:\n    image: a\n  debug:\n    image: b\n    profiles: [dev]\n';
    expect(refs(convert(text))).toEqual(['Namespace/shop', 'Deployment/web']);
    expect(refs(convert(text, { env: { COMPOSE_PROFILES: 'dev' } }))).toEqual([
      'Namespace/shop',
      'Deployment/web',
      'Deployment/debug',
    ]);
  });
});

describe('invalid files: one error with file:line:column', () => {
  it.each([
    [
      'services:\n  web:\n    image: a\nvolumz: {}\n',
      '4:1: volumz: unknown key (not in the Compose Specification)',
    ],
    ['services:\n  web:\n    command: x\n', '2:3: services.web: has no image'],
    [
      'services:\n  web:\n    build: .\n',
      '2:3: services.web: has build but no image: Shoal pulls images, so set image (and push it)',
    ],
    [
      'services:\n  web:\n    image: a\n    ports: ["80:http"]\n',
      '4:13: services.web.ports[0]: "80:http" is not a port: the container port must be a port number or range',
    ],
    [
      'services:\n  web:\n    image: a\n    depends_on: [db]\n',
      '4:18: services.web.depends_on[0]: depends on "db", which is not a service of this file',
    ],
    [
      'services:\n  a:\n    image: x\n    depends_on: [b]\n  b:\n    image: x\n    depends_on: [a]\n',
      '4:17: services.a.depends_on: dependency cycle: a → b → a',
    ],
    [
      'services:\n  web:\n    image: a\n    ports: "80"\n',
      '4:12: services.web.ports: must be a list, not "80"',
    ],
    [
      'services:\n  web:\n    image: [a]\n',
      '3:12: services.web.image: must be a string, not a list',
    ],
    [
      'services:\n  web:\n    image: a\n    deploy: {replicas: many}\n',
      '4:24: services.web.deploy.replicas: must be a whole number, not "many"',
    ],
    [
      'services:\n  web:\n    image: a\n    volumes: ["data:/d"]\n',
      '4:15: services.web.volumes[0]: uses volume "data", which the top-level volumes do not declare',
    ],
    [
      'services:\n  web:\n    image: a\n    volumes: ["./x:rel"]\n',
      '4:15: services.web.volumes[0]: "rel" is not an absolute container path',
    ],
    [
      'services:\n  web:\n    image: a\n    healthcheck: {test: [CMD], interval: 5x}\n',
      '4:25: services.web.healthcheck.test: must be ["CMD", args…], ["CMD-SHELL", "command"], ["NONE"] or a string',
    ],
    [
      'services:\n  web:\n    image: a\n    restart: sometimes\n',
      '4:14: services.web.restart: "sometimes" is not no, always, on-failure[:N] or unless-stopped',
    ],
    [
      'services:\n  web:\n    image: a\n    stop_grace_period: soon\n',
      '4:24: services.web.stop_grace_period: "soon" is not a duration like 30s, 1m30s or 500ms',
    ],
    [
      'services:\n  web:\n    image: a\n    imagee: b\n',
      '4:5: services.web.imagee: unknown key (not in the Compose Specification)',
    ],
    [
      'services:\n  web:\n    image: ${TAG?set TAG}\n',
      '3:12: required variable TAG is missing a value: set TAG',
    ],
    ['services:\n  web:\n    image: a\n   bad: indent\n', '4:1: '],
    [
      'services:\n  web:\n    image: a\n    env_file: nope.env\n',
      `4:15: services.web.env_file: cannot read ${'DIR'}/nope.env: ENOENT`,
    ],
    [
      'name: "!!!"\nservices:\n  web:\n    image: a\n',
      '1:7: name: "!!!" cannot be a project name (a DNS label)',
    ],
    ['services: {}\n', '1:11: services: no services defined'],
  ])('%j → %s', (text, message) => {
    let error: unknown;
    try {
      convert(text);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(Error);
    const want = `${F}:${message.replace('DIR', dir)}`;
    expect((error as Error).message.slice(0, want.length)).toBe(want);
  });
});

describe('isComposeFile', () => {
  it.each([
    ['compose.yaml', 'anything', true],
    ['x/docker-compose.yml', '', true],
    ['app.yaml', 'services:\n  web:\n    image: a\n', true],
    ['app.yaml', 'apiVersion: v1\nkind: List\nservices:\n', false],
    ['app.yaml', 'apiVersion: v1\nkind: ConfigMap\n', false],
  ])('%s %j → %s', (path, text, want) => expect(isComposeFile(path, text)).toBe(want));
});
