// Compose files through the CLI against a real control plane: `compose
// convert` output, `apply -f compose.yaml` creating the project Namespace and
// its objects, re-applying (unchanged / configured), --prune removing a
// service dropped from the file, -n/-p, and a bad file changing nothing.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { startTestControlplane, type TestControlplane } from '../support/controlplane.js';
import { KubeClient } from '../../cli/commands/client.js';
import { runCli } from './harness.js';

let cp: TestControlplane;
let root: string;
let dir: string;
let client: KubeClient;
let k: string[];

beforeAll(async () => {
  cp = await startTestControlplane();
  root = await mkdtemp(join(tmpdir(), 'shoal-cli-compose-'));
  // The directory name is the default project name, as in compose.
  dir = join(root, 'shop');
  await mkdir(dir);
  k = ['--kubeconfig', cp.kubeconfigPath];
  client = KubeClient.connect(
    { kubeconfig: cp.kubeconfigPath },
    {
      out: () => undefined,
      err: () => undefined,
      readStdin: () => Promise.resolve(''),
      env: {},
      isTTY: false,
    },
  );
});
afterAll(async () => {
  await cp?.stop();
  if (root) await rm(root, { recursive: true, force: true });
});

const composeFile = (opts: { replicas?: number; withDb?: boolean } = {}): string => `# a shop
services:
  web:
    image: registry.local/busybox
    command: httpd -f -p 80 -h /www
    ports: ["30080:80"]
    configs:
      - source: page
        target: /www/index.html
    deploy:
      replicas: ${opts.replicas ?? 2}
    build: .
${
  opts.withDb === false
    ? ''
    : `    depends_on:
      db: {condition: service_healthy}
  db:
    image: registry.local/busybox
    command: ["sh", "-c", "while true; do date >> /data/log; sleep 5; done"]
    expose: ["7000"]
    volumes: ["data:/data"]
    healthcheck:
      test: ["CMD-SHELL", "test -s /data/log"]
      interval: 5s
`
}configs:
  page:
    content: "<h1>\${TITLE:-shop}</h1>"
volumes:
  data:
    driver_opts: {shoal.io/size: 64Mi}
`;

async function file(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

async function exists(path: string): Promise<boolean> {
  return client.request({ path }).then(
    () => true,
    () => false,
  );
}

describe('compose convert', () => {
  it('prints the Kubernetes YAML it would apply, and warnings on stderr', async () => {
    const f = await file('compose.yaml', composeFile());
    const r = await runCli(['compose', 'convert', '-f', f], { env: { TITLE: 'Hello' } });
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(
      `warning: ${f}:12: services.web.build: not supported (Shoal pulls images; build and push it first)\n`,
    );
    const objects = parseAllDocuments(r.stdout).map(
      (d) => d.toJS() as { kind: string; metadata: { name: string; namespace?: string } },
    );
    expect(
      objects.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`),
    ).toEqual([
      'Namespace//shop',
      'ConfigMap/shop/page',
      'PersistentVolumeClaim/shop/data',
      'Service/shop/web',
      'Deployment/shop/web',
      'Service/shop/db',
      'Deployment/shop/db',
    ]);
    expect(objects[1]).toMatchObject({ data: { page: '<h1>Hello</h1>' } });
    expect(objects[3]).toMatchObject({
      spec: { type: 'NodePort', ports: [{ port: 80, nodePort: 30080 }] },
    });
  });

  it('prints a List with -o json, and honours -p and -n', async () => {
    const f = await file('compose.yaml', composeFile());
    const r = await runCli([
      'compose',
      'convert',
      '-f',
      f,
      '-o',
      'json',
      '-p',
      'Store',
      '-n',
      'team',
    ]);
    expect(r.code).toBe(0);
    const list = JSON.parse(r.stdout) as {
      kind: string;
      items: { kind: string; metadata: { namespace: string; labels: Record<string, string> } }[];
    };
    expect(list.kind).toBe('List');
    expect(list.items.map((i) => i.kind)).not.toContain('Namespace');
    expect(list.items.every((i) => i.metadata.namespace === 'team')).toBe(true);
    expect(list.items[0]!.metadata.labels['io.shoal.compose.project']).toBe('store');
  });

  it('fails with file:line:column on an invalid file', async () => {
    const f = await file('bad.yaml', 'services:\n  web:\n    image: a\n    ports: ["80:http"]\n');
    const r = await runCli(['compose', 'convert', '-f', f]);
    expect(r).toEqual({
      code: 1,
      stdout: '',
      stderr: `error: ${f}:4:13: services.web.ports[0]: "80:http" is not a port: the container port must be a port number or range\n`,
    });
  });
});

describe('apply -f compose.yaml', () => {
  it('creates the namespace and objects, then reports unchanged, then configured', async () => {
    const f = await file('compose.yaml', composeFile());
    const first = await runCli(['apply', '-f', f, ...k]);
    expect(first).toEqual({
      code: 0,
      stdout: [
        'namespace/shop created',
        'configmap/page created',
        'persistentvolumeclaim/data created',
        'service/web created',
        'deployment.apps/web created',
        'service/db created',
        'deployment.apps/db created',
        '',
      ].join('\n'),
      stderr: `warning: ${f}:12: services.web.build: not supported (Shoal pulls images; build and push it first)\n`,
    });
    const web = await client.request<{
      metadata: { labels: Record<string, string> };
      spec: { replicas: number; template: { spec: { initContainers: { name: string }[] } } };
    }>({ path: '/apis/apps/v1/namespaces/shop/deployments/web' });
    expect(web.metadata.labels).toMatchObject({
      'app.kubernetes.io/name': 'web',
      'app.kubernetes.io/part-of': 'shop',
      'io.shoal.compose.project': 'shop',
      'io.shoal.compose.service': 'web',
    });
    expect(web.spec.replicas).toBe(2);
    expect(web.spec.template.spec.initContainers.map((c) => c.name)).toEqual(['wait-for-db']);

    const again = await runCli(['apply', '-f', f, ...k]);
    expect(again.code).toBe(0);
    expect(
      again.stdout
        .split('\n')
        .filter(Boolean)
        .every((l) => l.endsWith(' unchanged')),
    ).toBe(true);

    await writeFile(f, composeFile({ replicas: 3 }));
    const changed = await runCli(['apply', '-f', f, ...k]);
    expect(changed.stdout).toContain('deployment.apps/web configured\n');
    expect(changed.stdout).toContain('deployment.apps/db unchanged\n');
    const after = await client.request<{ spec: { replicas: number } }>({
      path: '/apis/apps/v1/namespaces/shop/deployments/web',
    });
    expect(after.spec.replicas).toBe(3);
  });

  it('prunes the objects of a service dropped from the file (by the project label), keeping its volume', async () => {
    const f = await file('compose.yaml', composeFile({ replicas: 3, withDb: false }));
    const r = await runCli(['apply', '-f', f, '--prune', ...k]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        'namespace/shop unchanged',
        'configmap/page unchanged',
        'service/web unchanged',
        // Its wait-for-db init container went with db.
        'deployment.apps/web configured',
        'service/db pruned',
        'deployment.apps/db pruned',
        '',
      ].join('\n'),
    );
    expect(await exists('/apis/apps/v1/namespaces/shop/deployments/db')).toBe(false);
    expect(await exists('/api/v1/namespaces/shop/services/db')).toBe(false);
    expect(await exists('/apis/apps/v1/namespaces/shop/deployments/web')).toBe(true);
    // Data outlives the service, as `docker compose down` keeps volumes.
    expect(await exists('/api/v1/namespaces/shop/persistentvolumeclaims/data')).toBe(true);
  });

  it('applies into -n NS with -p NAME, and detects a compose file by its shape', async () => {
    await runCli(['apply', '-f', '-', ...k], {
      stdin: 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team\n',
    });
    const f = await file(
      'stack.yml',
      'services:\n  api:\n    image: busybox\n    expose: ["8080"]\n',
    );
    const r = await runCli(['apply', '-f', f, '-n', 'team', '-p', 'billing', ...k]);
    expect(r).toEqual({
      code: 0,
      stdout: 'service/api created\ndeployment.apps/api created\n',
      stderr: '',
    });
    const svc = await client.request<{ metadata: { labels: Record<string, string> } }>({
      path: '/api/v1/namespaces/team/services/api',
    });
    expect(svc.metadata.labels['io.shoal.compose.project']).toBe('billing');
  });

  it('refuses an invalid file with file:line:column and creates nothing', async () => {
    const f = await file(
      'compose.yaml',
      'name: broken\nservices:\n  a:\n    image: x\n    depends_on: [b]\n  b:\n    image: x\n    depends_on: [a]\n',
    );
    const r = await runCli(['apply', '-f', f, ...k]);
    expect(r).toEqual({
      code: 1,
      stdout: '',
      stderr: `error: ${f}:5:17: services.a.depends_on: dependency cycle: a → b → a\n`,
    });
    expect(await exists('/api/v1/namespaces/broken')).toBe(false);
  });
});
