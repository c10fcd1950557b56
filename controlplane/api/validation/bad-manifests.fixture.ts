// Manifests that the API must reject with 422 Invalid, each with the exact
// set of field paths its errors name. Every one is a valid manifest from
// manifests.fixture.ts with one thing broken, so only the listed fields
// fail — with or without the server's defaulting applied first. The API
// integration tests replay this table over HTTP.

import type { KubeObject } from '../objects.js';
import {
  configMap,
  daemonSet,
  deployment,
  endpoints,
  event,
  job,
  lease,
  namespace,
  node,
  nodePortService,
  pod,
  persistentVolume,
  persistentVolumeClaim,
  priorityClass,
  replicaSet,
  secret,
  service,
  statefulSet,
  storageClass,
  tlsSecret,
  type ManifestCase,
} from './manifests.fixture.js';

export interface BadManifest extends ManifestCase {
  /** The field paths of the expected errors, sorted, each once. */
  fields: string[];
}

type Rec = Record<string, unknown>;

/** The record at a path of keys and indexes inside obj, for editing a fresh copy. */
function at(obj: Rec, ...path: (string | number)[]): Rec {
  let cur: unknown = obj;
  for (const p of path) cur = (cur as Record<string | number, unknown>)[p];
  return cur as Rec;
}

function broken(make: () => KubeObject, edit: (o: Rec) => void): KubeObject {
  const obj = make();
  edit(obj);
  return obj;
}

const podC0 = (o: Rec): Rec => at(o, 'spec', 'containers', 0);
const tplSpec = (o: Rec): Rec => at(o, 'spec', 'template', 'spec');
const tplC0 = (o: Rec): Rec => at(o, 'spec', 'template', 'spec', 'containers', 0);
const meta = (o: Rec): Rec => at(o, 'metadata');
const spec = (o: Rec): Rec => at(o, 'spec');

const bad = (name: string, resource: string, obj: KubeObject, fields: string[]): BadManifest => ({
  name,
  resource,
  obj,
  fields: [...new Set(fields)].sort(),
});

export const BAD_MANIFESTS: BadManifest[] = [
  // ---- metadata ----
  bad(
    'pod name not a DNS subdomain',
    'pods',
    broken(pod, (o) => (meta(o).name = 'Foo_Bar')),
    ['metadata.name'],
  ),
  bad(
    'deployment without name or generateName',
    'deployments',
    broken(deployment, (o) => delete meta(o).name),
    ['metadata.name'],
  ),
  bad(
    'configmap name over 253 characters',
    'configmaps',
    broken(configMap, (o) => (meta(o).name = 'a'.repeat(254))),
    ['metadata.name'],
  ),
  bad(
    'namespace name with a dot',
    'namespaces',
    broken(namespace, (o) => (meta(o).name = 'team.a')),
    ['metadata.name'],
  ),
  bad(
    'service name starting with a digit',
    'services',
    broken(service, (o) => (meta(o).name = '1web')),
    ['metadata.name'],
  ),
  bad(
    'label key with spaces',
    'pods',
    broken(pod, (o) => (meta(o).labels = { 'bad key!': 'x' })),
    ['metadata.labels'],
  ),
  bad(
    'label value over 63 characters',
    'deployments',
    broken(deployment, (o) => (meta(o).labels = { app: 'v'.repeat(64) })),
    ['metadata.labels'],
  ),
  bad(
    'annotation key with a bad prefix',
    'services',
    broken(service, (o) => (meta(o).annotations = { '-x/y': 'z' })),
    ['metadata.annotations'],
  ),
  bad(
    'unqualified custom finalizer',
    'configmaps',
    broken(configMap, (o) => (meta(o).finalizers = ['my-finalizer'])),
    ['metadata.finalizers'],
  ),
  bad(
    'owner reference without uid',
    'pods',
    broken(
      pod,
      (o) =>
        (meta(o).ownerReferences = [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-1' }]),
    ),
    ['metadata.ownerReferences.uid'],
  ),

  // ---- pods ----
  bad(
    'pod without containers',
    'pods',
    broken(pod, (o) => (spec(o).containers = [])),
    ['spec.containers'],
  ),
  bad(
    'container without image',
    'pods',
    broken(pod, (o) => delete podC0(o).image),
    ['spec.containers[0].image'],
  ),
  bad(
    'duplicate container names',
    'pods',
    broken(pod, (o) =>
      (spec(o).containers as unknown[]).push({ name: 'web', image: 'busybox:1.36' }),
    ),
    ['spec.containers[1].name'],
  ),
  bad(
    'container name with capitals',
    'pods',
    broken(pod, (o) => (podC0(o).name = 'Web')),
    ['spec.containers[0].name'],
  ),
  bad(
    'containerPort out of range',
    'pods',
    broken(pod, (o) => (at(podC0(o), 'ports', 0).containerPort = 70000)),
    ['spec.containers[0].ports[0].containerPort'],
  ),
  bad(
    'unsupported port protocol',
    'pods',
    broken(pod, (o) => (at(podC0(o), 'ports', 0).protocol = 'HTTP')),
    ['spec.containers[0].ports[0].protocol'],
  ),
  bad(
    'second container port without containerPort',
    'pods',
    broken(pod, (o) =>
      (spec(o).containers as unknown[]).push({
        name: 'sidecar',
        image: 'busybox:1.36',
        ports: [{ name: 'admin' }],
      }),
    ),
    ['spec.containers[1].ports[0].containerPort'],
  ),
  bad(
    'port name with underscore',
    'pods',
    broken(pod, (o) => (at(podC0(o), 'ports', 0).name = 'http_alt')),
    ['spec.containers[0].ports[0].name'],
  ),
  bad(
    'env name starting with a digit',
    'pods',
    broken(pod, (o) => (at(podC0(o), 'env', 0).name = '1GREETING')),
    ['spec.containers[0].env[0].name'],
  ),
  bad(
    'memory limit not a quantity',
    'pods',
    broken(pod, (o) => (at(podC0(o), 'resources', 'limits').memory = 'lots')),
    ['spec.containers[0].resources.limits[memory]'],
  ),
  bad(
    'cpu request above limit',
    'pods',
    broken(pod, (o) => (at(podC0(o), 'resources', 'requests').cpu = '2')),
    ['spec.containers[0].resources.requests[cpu]'],
  ),
  bad(
    'unknown unqualified resource',
    'pods',
    broken(pod, (o) => (at(podC0(o), 'resources', 'limits').gpu = '1')),
    ['spec.containers[0].resources.limits[gpu]'],
  ),
  bad(
    'unsupported restartPolicy',
    'pods',
    broken(pod, (o) => (spec(o).restartPolicy = 'Sometimes')),
    ['spec.restartPolicy'],
  ),
  bad(
    'unsupported imagePullPolicy',
    'pods',
    broken(pod, (o) => (podC0(o).imagePullPolicy = 'Sometimes')),
    ['spec.containers[0].imagePullPolicy'],
  ),
  bad(
    'duplicate volume names',
    'pods',
    broken(pod, (o) => (spec(o).volumes as unknown[]).push({ name: 'www', emptyDir: {} })),
    ['spec.volumes[1].name'],
  ),
  bad(
    'volumeMount of a missing volume',
    'pods',
    broken(pod, (o) => (at(podC0(o), 'volumeMounts', 0).name = 'data')),
    ['spec.containers[0].volumeMounts[0].name'],
  ),
  bad(
    'volume without a source',
    'pods',
    broken(pod, (o) => (spec(o).volumes = [{ name: 'www' }])),
    ['spec.volumes[0]'],
  ),
  bad(
    'liveness probe without a handler',
    'pods',
    broken(pod, (o) => (podC0(o).livenessProbe = { initialDelaySeconds: 5 })),
    ['spec.containers[0].livenessProbe'],
  ),
  bad(
    'readiness probe on port 0',
    'pods',
    broken(pod, (o) => (at(podC0(o), 'readinessProbe', 'httpGet').port = 0)),
    ['spec.containers[0].readinessProbe.httpGet.port'],
  ),
  bad(
    'nodeSelector with a bad key',
    'pods',
    broken(pod, (o) => (spec(o).nodeSelector = { 'disk type': 'ssd' })),
    ['spec.nodeSelector'],
  ),
  bad(
    'toleration with unknown operator',
    'pods',
    broken(pod, (o) => (at(spec(o), 'tolerations', 0).operator = 'Maybe')),
    ['spec.tolerations[0].operator'],
  ),
  bad(
    'toleration with unknown effect',
    'pods',
    broken(pod, (o) => (at(spec(o), 'tolerations', 0).effect = 'NoRun')),
    ['spec.tolerations[0].effect'],
  ),
  bad(
    'negative terminationGracePeriodSeconds',
    'pods',
    broken(pod, (o) => (spec(o).terminationGracePeriodSeconds = -5)),
    ['spec.terminationGracePeriodSeconds'],
  ),

  // ---- deployments, replicasets, daemonsets ----
  bad(
    'deployment selector not matching template labels',
    'deployments',
    broken(deployment, (o) => (at(spec(o), 'selector').matchLabels = { app: 'api' })),
    ['spec.template.metadata.labels'],
  ),
  bad(
    'deployment without selector',
    'deployments',
    broken(deployment, (o) => delete spec(o).selector),
    ['spec.selector', 'spec.template.metadata.labels'],
  ),
  bad(
    'negative replicas',
    'deployments',
    broken(deployment, (o) => (spec(o).replicas = -1)),
    ['spec.replicas'],
  ),
  bad(
    'unknown deployment strategy',
    'deployments',
    broken(deployment, (o) => (spec(o).strategy = { type: 'BlueGreen' })),
    ['spec.strategy'],
  ),
  bad(
    'deployment template restartPolicy Never',
    'deployments',
    broken(deployment, (o) => (tplSpec(o).restartPolicy = 'Never')),
    ['spec.template.spec.restartPolicy'],
  ),
  bad(
    'deployment container without image',
    'deployments',
    broken(deployment, (o) => (tplC0(o).image = '')),
    ['spec.template.spec.containers[0].image'],
  ),
  bad(
    'maxUnavailable and maxSurge both 0',
    'deployments',
    broken(
      deployment,
      (o) => (at(spec(o), 'strategy').rollingUpdate = { maxUnavailable: 0, maxSurge: 0 }),
    ),
    ['spec.strategy.rollingUpdate.maxUnavailable'],
  ),
  bad(
    'replicaset selector with unknown operator',
    'replicasets',
    broken(replicaSet, (o) => (at(spec(o), 'selector', 'matchExpressions', 0).operator = 'Like')),
    ['spec.selector', 'spec.selector.matchExpressions[0].operator'],
  ),
  bad(
    'replicaset with empty selector',
    'replicasets',
    broken(replicaSet, (o) => (spec(o).selector = {})),
    ['spec.selector'],
  ),
  bad(
    'daemonset template restartPolicy OnFailure',
    'daemonsets',
    broken(daemonSet, (o) => (tplSpec(o).restartPolicy = 'OnFailure')),
    ['spec.template.spec.restartPolicy'],
  ),
  bad(
    'unknown daemonset update strategy',
    'daemonsets',
    broken(daemonSet, (o) => (spec(o).updateStrategy = { type: 'Sometimes' })),
    ['spec.updateStrategy'],
  ),
  bad(
    'daemonset selector not matching template labels',
    'daemonsets',
    broken(daemonSet, (o) => (at(spec(o), 'template', 'metadata').labels = { app: 'other' })),
    ['spec.template.metadata.labels'],
  ),

  // ---- jobs ----
  bad(
    'job template restartPolicy Always',
    'jobs',
    broken(job, (o) => (tplSpec(o).restartPolicy = 'Always')),
    ['spec.template.spec.restartPolicy'],
  ),
  bad(
    'job template without restartPolicy',
    'jobs',
    broken(job, (o) => delete tplSpec(o).restartPolicy),
    ['spec.template.spec.restartPolicy'],
  ),
  bad(
    'negative backoffLimit',
    'jobs',
    broken(job, (o) => (spec(o).backoffLimit = -1)),
    ['spec.backoffLimit'],
  ),
  bad(
    'negative parallelism',
    'jobs',
    broken(job, (o) => (spec(o).parallelism = -2)),
    ['spec.parallelism'],
  ),
  bad(
    'negative completions',
    'jobs',
    broken(job, (o) => (spec(o).completions = -1)),
    ['spec.completions'],
  ),

  // ---- services ----
  bad(
    'ClusterIP service without ports',
    'services',
    broken(service, (o) => delete spec(o).ports),
    ['spec.ports'],
  ),
  bad(
    'service port 0',
    'services',
    broken(service, (o) => (at(spec(o), 'ports', 0).port = 0)),
    ['spec.ports[0].port'],
  ),
  bad(
    'service port above 65535',
    'services',
    broken(service, (o) => (at(spec(o), 'ports', 1).port = 70000)),
    ['spec.ports[1].port'],
  ),
  bad(
    'numeric string targetPort',
    'services',
    broken(service, (o) => (at(spec(o), 'ports', 0).targetPort = '8080')),
    ['spec.ports[0].targetPort'],
  ),
  bad(
    'nodePort outside 30000-32767',
    'services',
    broken(nodePortService, (o) => (at(spec(o), 'ports', 0).nodePort = 80)),
    ['spec.ports[0].nodePort'],
  ),
  bad(
    'nodePort on a ClusterIP service',
    'services',
    broken(nodePortService, (o) => (spec(o).type = 'ClusterIP')),
    ['spec.ports[0].nodePort'],
  ),
  bad(
    'unsupported service type',
    'services',
    broken(service, (o) => (spec(o).type = 'Internal')),
    ['spec.type'],
  ),
  bad(
    'clusterIP not an IP',
    'services',
    broken(service, (o) => (spec(o).clusterIP = '10.0.0.300')),
    ['spec.clusterIP'],
  ),
  bad(
    'two service ports without names',
    'services',
    broken(service, (o) => (spec(o).ports = [{ port: 80 }, { port: 443 }])),
    ['spec.ports[0].name', 'spec.ports[1].name'],
  ),
  bad(
    'duplicate service port names',
    'services',
    broken(service, (o) => (at(spec(o), 'ports', 1).name = 'http')),
    ['spec.ports[1].name'],
  ),
  bad(
    'ExternalName service without externalName',
    'services',
    broken(service, (o) => (spec(o).type = 'ExternalName')),
    ['spec.externalName'],
  ),

  // ---- configmaps and secrets ----
  bad(
    'configmap key with a space',
    'configmaps',
    broken(configMap, (o) => (at(o, 'data')['bad key'] = 'x')),
    ['data[bad key]'],
  ),
  bad(
    "configmap key '..'",
    'configmaps',
    broken(configMap, (o) => (at(o, 'data')['..'] = 'x')),
    ['data[..]'],
  ),
  bad(
    'configmap over 1 MiB',
    'configmaps',
    broken(configMap, (o) => (at(o, 'data').big = 'x'.repeat(1024 * 1024))),
    ['data'],
  ),
  bad(
    'secret value not base64',
    'secrets',
    broken(secret, (o) => (at(o, 'data').password = 'not base64!')),
    ['data[password]'],
  ),
  bad(
    'secret key with a space',
    'secrets',
    broken(secret, (o) => (at(o, 'data')['my key'] = 'eA==')),
    ['data[my key]'],
  ),
  bad(
    'tls secret without tls.key',
    'secrets',
    broken(tlsSecret, (o) => delete at(o, 'data')['tls.key']),
    ['data[tls.key]'],
  ),

  // ---- endpoints, events ----
  bad(
    'endpoint address not an IP',
    'endpoints',
    broken(endpoints, (o) => (at(o, 'subsets', 0, 'addresses', 0).ip = 'not-an-ip')),
    ['subsets[0].addresses[0].ip'],
  ),
  bad(
    'endpoint port 0',
    'endpoints',
    broken(endpoints, (o) => (at(o, 'subsets', 0, 'ports', 0).port = 0)),
    ['subsets[0].ports[0].port'],
  ),
  bad(
    'endpoint subset without addresses',
    'endpoints',
    broken(endpoints, (o) => {
      delete at(o, 'subsets', 0).addresses;
      delete at(o, 'subsets', 0).notReadyAddresses;
    }),
    ['subsets[0]'],
  ),
  bad(
    'event without involvedObject',
    'events',
    broken(event, (o) => delete o.involvedObject),
    ['involvedObject'],
  ),
  bad(
    'event about an object in another namespace',
    'events',
    broken(
      event,
      (o) => (o.involvedObject = { kind: 'Pod', name: 'web-0', namespace: 'elsewhere-zz' }),
    ),
    ['involvedObject.namespace'],
  ),

  // ---- nodes, namespaces ----
  bad(
    'node name with underscore',
    'nodes',
    broken(node, (o) => (meta(o).name = 'Node_1')),
    ['metadata.name'],
  ),
  bad(
    'node taint without effect',
    'nodes',
    broken(node, (o) => delete at(spec(o), 'taints', 0).effect),
    ['spec.taints[0].effect'],
  ),
  bad(
    'node podCIDR not a CIDR',
    'nodes',
    broken(node, (o) => (spec(o).podCIDR = '10.42.1.0/33')),
    ['spec.podCIDR'],
  ),
  bad(
    'namespace with unqualified finalizer',
    'namespaces',
    broken(namespace, (o) => (spec(o).finalizers = ['custom'])),
    ['spec.finalizers'],
  ),
  // ---- leases, priorityclasses ----
  bad(
    'lease with zero duration',
    'leases',
    broken(lease, (o) => (spec(o).leaseDurationSeconds = 0)),
    ['spec.leaseDurationSeconds'],
  ),
  bad(
    'priorityclass above the user maximum',
    'priorityclasses',
    broken(priorityClass, (o) => (o.value = 1_000_000_001)),
    ['value'],
  ),
  bad(
    'priorityclass with a reserved system- name',
    'priorityclasses',
    broken(priorityClass, (o) => (meta(o).name = 'system-mine')),
    ['metadata.name'],
  ),
  // ---- storage: persistentvolumes, persistentvolumeclaims, storageclasses, statefulsets ----
  bad(
    'persistentvolume with an unknown access mode',
    'persistentvolumes',
    broken(persistentVolume, (o) => (spec(o).accessModes = ['ReadWriteSometimes'])),
    ['spec.accessModes[0]'],
  ),
  bad(
    'persistentvolume without capacity',
    'persistentvolumes',
    broken(persistentVolume, (o) => delete spec(o).capacity),
    ['spec.capacity[storage]'],
  ),
  bad(
    'persistentvolume in Block mode',
    'persistentvolumes',
    broken(persistentVolume, (o) => (spec(o).volumeMode = 'Block')),
    ['spec.volumeMode'],
  ),
  bad(
    'persistentvolume with reclaimPolicy Recycle',
    'persistentvolumes',
    broken(persistentVolume, (o) => (spec(o).persistentVolumeReclaimPolicy = 'Recycle')),
    ['spec.persistentVolumeReclaimPolicy'],
  ),
  bad(
    'local persistentvolume without node affinity',
    'persistentvolumes',
    broken(persistentVolume, (o) => delete spec(o).nodeAffinity),
    ['spec.nodeAffinity'],
  ),
  bad(
    'persistentvolume with a relative local path',
    'persistentvolumes',
    broken(persistentVolume, (o) => (at(o, 'spec', 'local').path = 'srv/data')),
    ['spec.local.path'],
  ),
  bad(
    'persistentvolumeclaim without access modes',
    'persistentvolumeclaims',
    broken(persistentVolumeClaim, (o) => delete spec(o).accessModes),
    ['spec.accessModes'],
  ),
  bad(
    'persistentvolumeclaim requesting no storage',
    'persistentvolumeclaims',
    broken(persistentVolumeClaim, (o) => (spec(o).resources = { requests: { storage: '0' } })),
    ['spec.resources.requests[storage]'],
  ),
  bad(
    'persistentvolumeclaim with a storage request that is not a quantity',
    'persistentvolumeclaims',
    broken(persistentVolumeClaim, (o) => (spec(o).resources = { requests: { storage: 'lots' } })),
    ['spec.resources.requests[storage]'],
  ),
  bad(
    'persistentvolumeclaim in Block mode',
    'persistentvolumeclaims',
    broken(persistentVolumeClaim, (o) => (spec(o).volumeMode = 'Block')),
    ['spec.volumeMode'],
  ),
  bad(
    'storageclass without a provisioner',
    'storageclasses',
    broken(storageClass, (o) => delete o.provisioner),
    ['provisioner'],
  ),
  bad(
    'storageclass with an unknown binding mode',
    'storageclasses',
    broken(storageClass, (o) => (o.volumeBindingMode = 'Eventually')),
    ['volumeBindingMode'],
  ),
  bad(
    'statefulset selector not matching template labels',
    'statefulsets',
    broken(statefulSet, (o) => (at(o, 'spec', 'selector').matchLabels = { app: 'other' })),
    ['spec.template.metadata.labels'],
  ),
  bad(
    'statefulset with an unknown podManagementPolicy',
    'statefulsets',
    broken(statefulSet, (o) => (spec(o).podManagementPolicy = 'Random')),
    ['spec.podManagementPolicy'],
  ),
  bad(
    'statefulset claim template without access modes',
    'statefulsets',
    broken(statefulSet, (o) => delete at(o, 'spec', 'volumeClaimTemplates', 0, 'spec').accessModes),
    ['spec.volumeClaimTemplates[0].spec.accessModes'],
  ),
  bad(
    'statefulset with a serviceName that is not a DNS label',
    'statefulsets',
    broken(statefulSet, (o) => (spec(o).serviceName = 'DB_Service')),
    ['spec.serviceName'],
  ),
];
