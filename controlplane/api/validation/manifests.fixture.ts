// Valid manifests of every served kind, the bases the bad-manifest table
// breaks one field at a time. They are what a user of Shoal writes: a
// busybox web Deployment, its Service, a ConfigMap, a Job, a DaemonSet.

import type { KubeObject } from '../objects.js';

export interface ManifestCase {
  name: string;
  /** The resource's plural, as in the URL: `deployments`. */
  resource: string;
  obj: KubeObject;
}

const webPodSpec = (): Record<string, unknown> => ({
  containers: [
    {
      name: 'web',
      image: 'busybox:1.36',
      command: ['httpd', '-f', '-p', '8080', '-h', '/www'],
      ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
      env: [
        { name: 'GREETING', value: 'hello' },
        {
          name: 'LOG_LEVEL',
          valueFrom: { configMapKeyRef: { name: 'web-config', key: 'log.level' } },
        },
      ],
      resources: {
        requests: { cpu: '100m', memory: '64Mi' },
        limits: { cpu: '500m', memory: '128Mi' },
      },
      readinessProbe: { httpGet: { path: '/', port: 'http' }, periodSeconds: 5 },
      livenessProbe: { tcpSocket: { port: 8080 }, initialDelaySeconds: 3 },
      volumeMounts: [{ name: 'www', mountPath: '/www' }],
      imagePullPolicy: 'IfNotPresent',
    },
  ],
  volumes: [{ name: 'www', configMap: { name: 'web-config' } }],
  terminationGracePeriodSeconds: 10,
});

export const pod = (): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web-0', labels: { app: 'web', tier: 'frontend' } },
  spec: {
    ...webPodSpec(),
    nodeSelector: { 'kubernetes.io/os': 'linux' },
    tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'web', effect: 'NoSchedule' }],
    restartPolicy: 'Always',
  },
});

export const deployment = (): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', labels: { app: 'web' }, annotations: { 'example.com/owner': 'team-a' } },
  spec: {
    replicas: 3,
    selector: { matchLabels: { app: 'web' } },
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: '25%' } },
    template: { metadata: { labels: { app: 'web', tier: 'frontend' } }, spec: webPodSpec() },
  },
});

export const replicaSet = (): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'ReplicaSet',
  metadata: { name: 'web-5d4f8c7b9' },
  spec: {
    replicas: 2,
    selector: {
      matchLabels: { app: 'web' },
      matchExpressions: [{ key: 'tier', operator: 'In', values: ['frontend'] }],
    },
    template: { metadata: { labels: { app: 'web', tier: 'frontend' } }, spec: webPodSpec() },
  },
});

export const daemonSet = (): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'DaemonSet',
  metadata: { name: 'node-logger' },
  spec: {
    selector: { matchLabels: { app: 'node-logger' } },
    updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } },
    template: {
      metadata: { labels: { app: 'node-logger' } },
      spec: {
        containers: [
          {
            name: 'logger',
            image: 'busybox:1.36',
            command: ['sh', '-c', 'while true; do date; sleep 10; done'],
            resources: { limits: { memory: '32Mi' } },
          },
        ],
        tolerations: [{ operator: 'Exists', effect: 'NoSchedule' }],
      },
    },
  },
});

export const job = (): KubeObject => ({
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { name: 'pi' },
  spec: {
    completions: 3,
    parallelism: 2,
    backoffLimit: 4,
    template: {
      spec: {
        containers: [{ name: 'pi', image: 'busybox:1.36', command: ['sh', '-c', 'echo 3.14159'] }],
        restartPolicy: 'Never',
      },
    },
  },
});

export const service = (): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'web' },
  spec: {
    selector: { app: 'web' },
    ports: [
      { name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' },
      { name: 'metrics', port: 9090, targetPort: 9090 },
    ],
  },
});

export const nodePortService = (): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'web-public' },
  spec: {
    type: 'NodePort',
    selector: { app: 'web' },
    ports: [{ port: 80, targetPort: 8080, nodePort: 30080 }],
  },
});

export const headlessService = (): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'db' },
  spec: { clusterIP: 'None', selector: { app: 'db' } },
});

export const externalNameService = (): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'upstream' },
  spec: { type: 'ExternalName', externalName: 'api.example.com.' },
});

export const configMap = (): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'web-config' },
  data: { 'index.html': '<h1>hello</h1>\n', 'log.level': 'info', LOG_FORMAT: 'json' },
  binaryData: { 'logo.png': 'iVBORw0KGgo=' },
});

export const secret = (): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name: 'web-credentials' },
  type: 'Opaque',
  data: { username: 'YWRtaW4=', password: 'czNjcjN0' },
  stringData: { 'api-token': 'plain text' },
});

export const tlsSecret = (): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name: 'web-tls' },
  type: 'kubernetes.io/tls',
  data: { 'tls.crt': 'LS0tLS1CRUdJTg==', 'tls.key': 'LS0tLS1CRUdJTg==' },
});

export const endpoints = (): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Endpoints',
  metadata: { name: 'web' },
  subsets: [
    {
      addresses: [{ ip: '10.42.1.5', nodeName: 'node-a' }, { ip: '10.42.2.7' }],
      notReadyAddresses: [{ ip: '10.42.3.9' }],
      ports: [
        { name: 'http', port: 8080, protocol: 'TCP' },
        { name: 'metrics', port: 9090 },
      ],
    },
  ],
});

/** An event about a Node: such events live in the "default" namespace. */
export const event = (): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Event',
  metadata: { name: 'node-a.17f3a2b4c5d6e7f8' },
  involvedObject: { kind: 'Node', name: 'node-a', uid: 'node-a' },
  reason: 'NodeReady',
  message: 'Node node-a status is now: NodeReady',
  type: 'Normal',
  source: { component: 'shoal-node-controller' },
  count: 1,
});

export const node = (): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Node',
  metadata: {
    name: 'node-a',
    labels: { 'kubernetes.io/hostname': 'node-a', 'kubernetes.io/os': 'linux' },
  },
  spec: {
    podCIDR: '10.42.1.0/24',
    podCIDRs: ['10.42.1.0/24'],
    taints: [{ key: 'dedicated', value: 'web', effect: 'NoSchedule' }],
  },
  status: {
    capacity: { cpu: '2', memory: '4030724Ki', pods: '110' },
    allocatable: { cpu: '1900m', memory: '3.5Gi', pods: 110 },
  },
});

export const namespace = (): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name: 'team-a', labels: { team: 'a' } },
  spec: { finalizers: ['kubernetes'] },
});

export const lease = (): KubeObject => ({
  apiVersion: 'coordination.k8s.io/v1',
  kind: 'Lease',
  metadata: { name: 'node-1' },
  spec: {
    holderIdentity: 'node-1',
    leaseDurationSeconds: 40,
    renewTime: '2025-03-01T12:00:00.000000Z',
  },
});

export const priorityClass = (): KubeObject => ({
  apiVersion: 'scheduling.k8s.io/v1',
  kind: 'PriorityClass',
  metadata: { name: 'high' },
  value: 1000,
  globalDefault: false,
  description: 'Pods that should go first.',
});

export const persistentVolume = (): KubeObject => ({
  apiVersion: 'v1',
  kind: 'PersistentVolume',
  metadata: { name: 'pv-data' },
  spec: {
    capacity: { storage: '5Gi' },
    accessModes: ['ReadWriteOnce'],
    persistentVolumeReclaimPolicy: 'Retain',
    storageClassName: 'manual',
    local: { path: '/srv/volumes/data' },
    nodeAffinity: {
      required: {
        nodeSelectorTerms: [
          { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['n1'] }] },
        ],
      },
    },
  },
});

export const persistentVolumeClaim = (): KubeObject => ({
  apiVersion: 'v1',
  kind: 'PersistentVolumeClaim',
  metadata: { name: 'data' },
  spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
});

export const storageClass = (): KubeObject => ({
  apiVersion: 'storage.k8s.io/v1',
  kind: 'StorageClass',
  metadata: { name: 'fast' },
  provisioner: 'shoal.io/local',
  reclaimPolicy: 'Retain',
  volumeBindingMode: 'WaitForFirstConsumer',
});

export const statefulSet = (): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'StatefulSet',
  metadata: { name: 'db' },
  spec: {
    serviceName: 'db',
    replicas: 2,
    selector: { matchLabels: { app: 'db' } },
    template: {
      metadata: { labels: { app: 'db' } },
      spec: {
        containers: [
          {
            name: 'db',
            image: 'busybox:1.36',
            volumeMounts: [{ name: 'data', mountPath: '/data' }],
          },
        ],
      },
    },
    volumeClaimTemplates: [
      {
        metadata: { name: 'data' },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
      },
    ],
  },
});

/** One valid manifest per served kind (several for Service and Secret). */
export const VALID_MANIFESTS: ManifestCase[] = [
  { name: 'pod', resource: 'pods', obj: pod() },
  { name: 'deployment', resource: 'deployments', obj: deployment() },
  { name: 'replicaset', resource: 'replicasets', obj: replicaSet() },
  { name: 'daemonset', resource: 'daemonsets', obj: daemonSet() },
  { name: 'job', resource: 'jobs', obj: job() },
  { name: 'service', resource: 'services', obj: service() },
  { name: 'nodeport service', resource: 'services', obj: nodePortService() },
  { name: 'headless service', resource: 'services', obj: headlessService() },
  { name: 'externalname service', resource: 'services', obj: externalNameService() },
  { name: 'configmap', resource: 'configmaps', obj: configMap() },
  { name: 'secret', resource: 'secrets', obj: secret() },
  { name: 'tls secret', resource: 'secrets', obj: tlsSecret() },
  { name: 'endpoints', resource: 'endpoints', obj: endpoints() },
  { name: 'event', resource: 'events', obj: event() },
  { name: 'node', resource: 'nodes', obj: node() },
  { name: 'namespace', resource: 'namespaces', obj: namespace() },
  { name: 'lease', resource: 'leases', obj: lease() },
  { name: 'priorityclass', resource: 'priorityclasses', obj: priorityClass() },
  { name: 'persistentvolume', resource: 'persistentvolumes', obj: persistentVolume() },
  {
    name: 'persistentvolumeclaim',
    resource: 'persistentvolumeclaims',
    obj: persistentVolumeClaim(),
  },
  { name: 'storageclass', resource: 'storageclasses', obj: storageClass() },
  { name: 'statefulset', resource: 'statefulsets', obj: statefulSet() },
];
