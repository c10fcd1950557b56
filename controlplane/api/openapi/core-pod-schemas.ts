// core/v1 Pod and everything a pod template holds (containers, probes,
// volumes, affinity), as kube-apiserver 1.32 publishes them: the same field
// names, types, required fields, enums and list/patch extensions. Omitted:
// ephemeral containers, dynamic resource claims, Windows options and the
// cloud-provider volume sources Shoal cannot mount; objects using them still
// apply, but kubectl explain does not list those fields.

import {
  API_VERSION,
  CORE,
  INT_OR_STRING_NAME,
  KIND,
  LIST_META,
  META,
  OBJECT_META,
  QUANTITY,
  QUANTITY_NAME,
  TIME,
  arr,
  bool,
  enumStr,
  int32,
  int64,
  mapOf,
  obj,
  ref,
  str,
  type SchemaTable,
} from './schema-dsl.js';

export const CORE_POD_SCHEMAS: SchemaTable = {
  [CORE + 'Pod']: obj(
    'A Pod is a group of containers that share a network namespace and volumes and are scheduled onto one node together.',
    {
      apiVersion: API_VERSION,
      kind: KIND,
      metadata: OBJECT_META,
      spec: ref(
        CORE + 'PodSpec',
        'The desired state of the pod: its containers, volumes and scheduling constraints.',
      ),
      status: ref(
        CORE + 'PodStatus',
        'The most recently observed state of the pod, reported by its node. Read-only.',
      ),
    },
  ),
  [CORE + 'PodList']: obj(
    'A list of pods.',
    {
      apiVersion: API_VERSION,
      kind: KIND,
      metadata: LIST_META,
      items: arr(ref(CORE + 'Pod'), {}, 'The pods.'),
    },
    { required: ['items'] },
  ),
  [CORE + 'PodSpec']: obj(
    'The desired state of a pod.',
    {
      volumes: arr(
        ref(CORE + 'Volume'),
        { listType: 'map', mapKeys: ['name'], mergeKey: 'name', strategy: 'merge,retainKeys' },
        'Volumes that containers of the pod can mount.',
      ),
      initContainers: arr(
        ref(CORE + 'Container'),
        { listType: 'map', mapKeys: ['name'], mergeKey: 'name', strategy: 'merge' },
        'Containers run one after another, each to completion, before the app containers start.',
      ),
      containers: arr(
        ref(CORE + 'Container'),
        { listType: 'map', mapKeys: ['name'], mergeKey: 'name', strategy: 'merge' },
        "The pod's containers; at least one. Cannot be added or removed after creation.",
      ),
      restartPolicy: enumStr(
        ['Always', 'OnFailure', 'Never'],
        'When containers are restarted after they exit: Always (default), OnFailure or Never.',
      ),
      terminationGracePeriodSeconds: int64(
        'Seconds between SIGTERM and SIGKILL when the pod is stopped. Defaults to 30.',
      ),
      activeDeadlineSeconds: int64(
        'Seconds the pod may run, counted from its start, before it is failed.',
      ),
      dnsPolicy: enumStr(
        ['ClusterFirstWithHostNet', 'ClusterFirst', 'Default', 'None'],
        "How the pod's DNS is configured: ClusterFirst (default), ClusterFirstWithHostNet, Default or None.",
      ),
      nodeSelector: mapOf(
        str(),
        'Labels a node must have for the pod to be scheduled on it.',
        'atomic',
      ),
      serviceAccountName: str('The service account the pod runs as.'),
      serviceAccount: str('Deprecated alias of serviceAccountName.'),
      automountServiceAccountToken: bool(),
      nodeName: str(
        'The node the pod runs on; set by the scheduler, or by the user to skip scheduling.',
      ),
      hostNetwork: bool("Use the node's network namespace instead of the pod's own."),
      hostPID: bool("Use the node's PID namespace."),
      hostIPC: bool("Use the node's IPC namespace."),
      shareProcessNamespace: bool(),
      securityContext: ref(
        CORE + 'PodSecurityContext',
        'Security settings that apply to every container of the pod.',
      ),
      imagePullSecrets: arr(
        ref(CORE + 'LocalObjectReference'),
        { listType: 'map', mapKeys: ['name'], mergeKey: 'name', strategy: 'merge' },
        "Secrets in the pod's namespace holding registry credentials.",
      ),
      hostname: str("The pod's hostname; defaults to the pod's name."),
      subdomain: str(),
      affinity: ref(CORE + 'Affinity', 'Node affinity and pod (anti-)affinity scheduling rules.'),
      schedulerName: str('The scheduler that places the pod.'),
      tolerations: arr(
        ref(CORE + 'Toleration'),
        { listType: 'atomic' },
        'Taints the pod tolerates.',
      ),
      hostAliases: arr(
        ref(CORE + 'HostAlias'),
        { listType: 'map', mapKeys: ['ip'], mergeKey: 'ip', strategy: 'merge' },
        "Entries added to the pod's /etc/hosts.",
      ),
      priorityClassName: str("The pod's priority class."),
      priority: int32("The pod's priority, resolved from priorityClassName."),
      dnsConfig: ref(CORE + 'PodDNSConfig'),
      readinessGates: arr(ref(CORE + 'PodReadinessGate'), { listType: 'atomic' }),
      runtimeClassName: str(),
      enableServiceLinks: bool(),
      preemptionPolicy: enumStr(['PreemptLowerPriority', 'Never']),
      overhead: mapOf(QUANTITY),
      topologySpreadConstraints: arr(
        ref(CORE + 'TopologySpreadConstraint'),
        {
          listType: 'map',
          mapKeys: ['topologyKey', 'whenUnsatisfiable'],
          mergeKey: 'topologyKey',
          strategy: 'merge',
        },
        "How the pod's replicas are spread across topology domains (nodes, zones).",
      ),
      setHostnameAsFQDN: bool(),
      os: ref(CORE + 'PodOS'),
      hostUsers: bool(),
      schedulingGates: arr(ref(CORE + 'PodSchedulingGate'), {
        listType: 'map',
        mapKeys: ['name'],
        mergeKey: 'name',
        strategy: 'merge',
      }),
      resources: ref(
        CORE + 'ResourceRequirements',
        'Resources for the pod as a whole (alpha in Kubernetes).',
      ),
    },
    { required: ['containers'] },
  ),
  [CORE + 'PodStatus']: obj('The observed state of a pod.', {
    phase: enumStr(
      ['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown'],
      'Where the pod is in its lifecycle: Pending, Running, Succeeded, Failed or Unknown.',
    ),
    conditions: arr(
      ref(CORE + 'PodCondition'),
      { listType: 'map', mapKeys: ['type'], mergeKey: 'type', strategy: 'merge' },
      'Current service state of the pod: PodScheduled, Initialized, ContainersReady, Ready.',
    ),
    message: str('Why the pod is in this state, for people.'),
    reason: str('Why the pod is in this state, in one CamelCase word.'),
    nominatedNodeName: str(),
    hostIP: str('IP address of the node the pod runs on.'),
    hostIPs: arr(ref(CORE + 'HostIP'), { listType: 'atomic', mergeKey: 'ip', strategy: 'merge' }),
    podIP: str('IP address of the pod.'),
    podIPs: arr(ref(CORE + 'PodIP'), {
      listType: 'map',
      mapKeys: ['ip'],
      mergeKey: 'ip',
      strategy: 'merge',
    }),
    startTime: ref(META + 'Time', 'When the node acknowledged the pod.'),
    initContainerStatuses: arr(
      ref(CORE + 'ContainerStatus'),
      { listType: 'atomic' },
      'The state of each init container.',
    ),
    containerStatuses: arr(
      ref(CORE + 'ContainerStatus'),
      { listType: 'atomic' },
      'The state of each container.',
    ),
    qosClass: enumStr(['Guaranteed', 'Burstable', 'BestEffort']),
    ephemeralContainerStatuses: arr(ref(CORE + 'ContainerStatus'), { listType: 'atomic' }),
    resize: str(),
  }),
  [CORE + 'PodCondition']: obj(
    'One condition of a pod.',
    {
      type: str("The condition's type, e.g. Ready or PodScheduled."),
      status: str('True, False or Unknown.'),
      lastProbeTime: TIME,
      lastTransitionTime: TIME,
      reason: str(),
      message: str(),
    },
    { required: ['type', 'status'] },
  ),
  [CORE + 'PodIP']: obj(
    '',
    {
      ip: str(),
    },
    { required: ['ip'] },
  ),
  [CORE + 'HostIP']: obj(
    '',
    {
      ip: str(),
    },
    { required: ['ip'] },
  ),
  [CORE + 'ContainerStatus']: obj(
    'The observed state of one container.',
    {
      name: str("The container's name."),
      state: ref(CORE + 'ContainerState', "The container's current state."),
      lastState: ref(
        CORE + 'ContainerState',
        "The container's previous state, e.g. how it last terminated.",
      ),
      ready: bool('Whether the container passes its readiness probe.'),
      restartCount: int32('How many times the container has been restarted.'),
      image: str('The image the container runs.'),
      imageID: str("The image's digest."),
      containerID: str("The runtime's ID of the container, as <type>://<id>."),
      started: bool(),
      allocatedResources: mapOf(QUANTITY),
      resources: ref(CORE + 'ResourceRequirements'),
    },
    { required: ['name', 'ready', 'restartCount', 'image', 'imageID'] },
  ),
  [CORE + 'ContainerState']: obj(
    'The state of a container: exactly one of waiting, running or terminated.',
    {
      waiting: ref(CORE + 'ContainerStateWaiting'),
      running: ref(CORE + 'ContainerStateRunning'),
      terminated: ref(CORE + 'ContainerStateTerminated'),
    },
  ),
  [CORE + 'ContainerStateWaiting']: obj('A container that is not running yet.', {
    reason: str('Why it is waiting, e.g. ContainerCreating, ImagePullBackOff, CrashLoopBackOff.'),
    message: str(),
  }),
  [CORE + 'ContainerStateRunning']: obj('A running container.', {
    startedAt: ref(META + 'Time', 'When the container last started.'),
  }),
  [CORE + 'ContainerStateTerminated']: obj(
    'A container that has exited.',
    {
      exitCode: int32("The exit code of the container's process."),
      signal: int32(),
      reason: str('Why it terminated, e.g. Completed, Error, OOMKilled.'),
      message: str(),
      startedAt: TIME,
      finishedAt: TIME,
      containerID: str(),
    },
    { required: ['exitCode'] },
  ),
  [CORE + 'Container']: obj(
    'A single application container to run within a pod.',
    {
      name: str('Name of the container, unique within the pod (a DNS label). Cannot be updated.'),
      image: str('Image reference, e.g. registry.example:5000/web:1.2 or busybox@sha256:....'),
      command: arr(
        str(),
        { listType: 'atomic' },
        "The entrypoint, run without a shell; replaces the image's ENTRYPOINT. $(VAR) references are expanded.",
      ),
      args: arr(
        str(),
        { listType: 'atomic' },
        "Arguments to the entrypoint; replace the image's CMD. $(VAR) references are expanded.",
      ),
      workingDir: str("The container's working directory; defaults to the image's."),
      ports: arr(
        ref(CORE + 'ContainerPort'),
        {
          listType: 'map',
          mapKeys: ['containerPort', 'protocol'],
          mergeKey: 'containerPort',
          strategy: 'merge',
        },
        'Ports the container listens on; informational, plus hostPort mappings.',
      ),
      envFrom: arr(
        ref(CORE + 'EnvFromSource'),
        { listType: 'atomic' },
        'Sources whose keys all become environment variables.',
      ),
      env: arr(
        ref(CORE + 'EnvVar'),
        { listType: 'map', mapKeys: ['name'], mergeKey: 'name', strategy: 'merge' },
        'Environment variables to set in the container.',
      ),
      resources: ref(
        CORE + 'ResourceRequirements',
        'CPU and memory the container requests and is limited to.',
      ),
      resizePolicy: arr(ref(CORE + 'ContainerResizePolicy'), { listType: 'atomic' }),
      restartPolicy: str('Only for init containers: Always makes it a sidecar that keeps running.'),
      volumeMounts: arr(
        ref(CORE + 'VolumeMount'),
        { listType: 'map', mapKeys: ['mountPath'], mergeKey: 'mountPath', strategy: 'merge' },
        "Pod volumes to mount into the container's filesystem.",
      ),
      volumeDevices: arr(ref(CORE + 'VolumeDevice'), {
        listType: 'map',
        mapKeys: ['devicePath'],
        mergeKey: 'devicePath',
        strategy: 'merge',
      }),
      livenessProbe: ref(
        CORE + 'Probe',
        'Periodic check that the container is alive; the container is restarted if it fails.',
      ),
      readinessProbe: ref(
        CORE + 'Probe',
        'Periodic check that the container is ready for traffic; removed from Service endpoints if it fails.',
      ),
      startupProbe: ref(
        CORE + 'Probe',
        'Check that the container has started; other probes wait until it succeeds.',
      ),
      lifecycle: ref(
        CORE + 'Lifecycle',
        'Actions run right after the container starts and before it stops.',
      ),
      terminationMessagePath: str(
        "File whose contents become the container's termination message. Defaults to /dev/termination-log.",
      ),
      terminationMessagePolicy: enumStr(
        ['File', 'FallbackToLogsOnError'],
        'File, or FallbackToLogsOnError to use the log tail when the file is empty.',
      ),
      imagePullPolicy: enumStr(
        ['Always', 'Never', 'IfNotPresent'],
        'Always, Never or IfNotPresent. Defaults to Always for :latest, else IfNotPresent.',
      ),
      securityContext: ref(CORE + 'SecurityContext', 'Security options the container runs with.'),
      stdin: bool('Keep a stdin buffer open for the container.'),
      stdinOnce: bool(),
      tty: bool('Allocate a TTY for the container.'),
    },
    { required: ['name'] },
  ),
  [CORE + 'ContainerPort']: obj(
    'A network port in a single container.',
    {
      name: str(
        'A name for the port (an IANA_SVC_NAME), unique within the pod; Services can refer to it.',
      ),
      hostPort: int32("Port to expose on the node's IP."),
      containerPort: int32("Port number on the pod's IP address."),
      protocol: enumStr(['TCP', 'UDP', 'SCTP'], 'TCP (default), UDP or SCTP.'),
      hostIP: str('Node IP to bind the host port to.'),
    },
    { required: ['containerPort'] },
  ),
  [CORE + 'EnvVar']: obj(
    'An environment variable of a container.',
    {
      name: str('Name of the variable.'),
      value: str('Value of the variable; $(VAR) references to earlier variables are expanded.'),
      valueFrom: ref(CORE + 'EnvVarSource', 'Where to take the value from, when value is empty.'),
    },
    { required: ['name'] },
  ),
  [CORE + 'EnvVarSource']: obj("A source for an environment variable's value.", {
    fieldRef: ref(
      CORE + 'ObjectFieldSelector',
      "A field of the pod: metadata.name, metadata.namespace, metadata.labels['k'], spec.nodeName, status.podIP, ...",
    ),
    resourceFieldRef: ref(
      CORE + 'ResourceFieldSelector',
      'A resource of the container: limits.cpu, requests.memory, ...',
    ),
    configMapKeyRef: ref(CORE + 'ConfigMapKeySelector', 'A key of a ConfigMap.'),
    secretKeyRef: ref(CORE + 'SecretKeySelector', 'A key of a Secret.'),
  }),
  [CORE + 'ObjectFieldSelector']: obj(
    'Selects a field of the pod.',
    {
      apiVersion: str(),
      fieldPath: str('Path of the field, e.g. metadata.name.'),
    },
    { required: ['fieldPath'], mapType: 'atomic' },
  ),
  [CORE + 'ResourceFieldSelector']: obj(
    'Selects a resource of a container.',
    {
      containerName: str(),
      resource: str(),
      divisor: QUANTITY,
    },
    { required: ['resource'], mapType: 'atomic' },
  ),
  [CORE + 'ConfigMapKeySelector']: obj(
    'Selects a key of a ConfigMap.',
    {
      name: str('Name of the ConfigMap.'),
      key: str('The key to select.'),
      optional: bool('Whether the ConfigMap or key may be missing.'),
    },
    { required: ['key'], mapType: 'atomic' },
  ),
  [CORE + 'SecretKeySelector']: obj(
    'Selects a key of a Secret.',
    {
      name: str('Name of the Secret.'),
      key: str('The key to select.'),
      optional: bool('Whether the Secret or key may be missing.'),
    },
    { required: ['key'], mapType: 'atomic' },
  ),
  [CORE + 'EnvFromSource']: obj('A source of a set of environment variables.', {
    prefix: str('A prefix added to every variable name.'),
    configMapRef: ref(CORE + 'ConfigMapEnvSource'),
    secretRef: ref(CORE + 'SecretEnvSource'),
  }),
  [CORE + 'ConfigMapEnvSource']: obj('Every key of a ConfigMap becomes an environment variable.', {
    name: str(),
    optional: bool(),
  }),
  [CORE + 'SecretEnvSource']: obj('Every key of a Secret becomes an environment variable.', {
    name: str(),
    optional: bool(),
  }),
  [CORE + 'ResourceRequirements']: obj('Compute resources a container needs.', {
    limits: mapOf(
      QUANTITY,
      'The most of each resource the container may use, e.g. cpu: 500m, memory: 128Mi.',
    ),
    requests: mapOf(
      QUANTITY,
      'The resources the scheduler reserves for the container; default to limits.',
    ),
    claims: arr(ref(CORE + 'ResourceClaim'), { listType: 'map', mapKeys: ['name'] }),
  }),
  [CORE + 'ResourceClaim']: obj(
    'A reference to a resource claim of the pod.',
    {
      name: str(),
      request: str(),
    },
    { required: ['name'] },
  ),
  [CORE + 'ContainerResizePolicy']: obj(
    'How a container is resized in place.',
    {
      resourceName: str(),
      restartPolicy: str(),
    },
    { required: ['resourceName', 'restartPolicy'] },
  ),
  [CORE + 'VolumeMount']: obj(
    'A mount of a volume within a container.',
    {
      name: str('Name of the pod volume to mount.'),
      readOnly: bool('Mount read-only.'),
      recursiveReadOnly: str(),
      mountPath: str("Path in the container where the volume is mounted; must not contain ':'."),
      subPath: str('Path within the volume to mount instead of its root.'),
      mountPropagation: enumStr(['None', 'HostToContainer', 'Bidirectional']),
      subPathExpr: str(),
    },
    { required: ['name', 'mountPath'] },
  ),
  [CORE + 'VolumeDevice']: obj(
    'A raw block device within a container.',
    {
      name: str(),
      devicePath: str(),
    },
    { required: ['name', 'devicePath'] },
  ),
  [CORE + 'Probe']: obj(
    'A health check of a container: one of exec, httpGet, tcpSocket or grpc, and its timing.',
    {
      exec: ref(CORE + 'ExecAction', 'Run a command in the container; exit status 0 is success.'),
      httpGet: ref(CORE + 'HTTPGetAction', 'An HTTP GET request; a 2xx or 3xx status is success.'),
      tcpSocket: ref(CORE + 'TCPSocketAction', 'A TCP connection; success if it opens.'),
      grpc: ref(CORE + 'GRPCAction', 'A gRPC health check.'),
      initialDelaySeconds: int32('Seconds after the container starts before probes begin.'),
      timeoutSeconds: int32('Seconds after which a probe times out. Defaults to 1.'),
      periodSeconds: int32('How often to probe, in seconds. Defaults to 10.'),
      successThreshold: int32(
        'Consecutive successes to count as passing after a failure. Defaults to 1.',
      ),
      failureThreshold: int32('Consecutive failures to count as failing. Defaults to 3.'),
      terminationGracePeriodSeconds: int64('Grace period when a liveness or startup probe fails.'),
    },
  ),
  [CORE + 'ExecAction']: obj('Runs a command.', {
    command: arr(
      str(),
      { listType: 'atomic' },
      'The command and its arguments, run without a shell.',
    ),
  }),
  [CORE + 'HTTPGetAction']: obj(
    'An HTTP GET request.',
    {
      path: str('Path to request.'),
      port: ref(INT_OR_STRING_NAME, 'Port number or name to connect to.'),
      host: str('Host to connect to; defaults to the pod IP.'),
      scheme: enumStr(['HTTP', 'HTTPS'], 'HTTP (default) or HTTPS.'),
      httpHeaders: arr(ref(CORE + 'HTTPHeader'), { listType: 'atomic' }, 'Headers to send.'),
    },
    { required: ['port'] },
  ),
  [CORE + 'HTTPHeader']: obj(
    'An HTTP header.',
    {
      name: str(),
      value: str(),
    },
    { required: ['name', 'value'] },
  ),
  [CORE + 'TCPSocketAction']: obj(
    'Opens a TCP connection.',
    {
      port: ref(INT_OR_STRING_NAME, 'Port number or name to connect to.'),
      host: str('Host to connect to; defaults to the pod IP.'),
    },
    { required: ['port'] },
  ),
  [CORE + 'GRPCAction']: obj(
    'A gRPC health check request.',
    {
      port: int32(),
      service: str(),
    },
    { required: ['port'] },
  ),
  [CORE + 'Lifecycle']: obj('Actions taken on container start and stop.', {
    postStart: ref(CORE + 'LifecycleHandler', 'Runs right after the container is created.'),
    preStop: ref(CORE + 'LifecycleHandler', 'Runs before the container is stopped.'),
  }),
  [CORE + 'LifecycleHandler']: obj('One lifecycle action: exec, httpGet, tcpSocket or sleep.', {
    exec: ref(CORE + 'ExecAction'),
    httpGet: ref(CORE + 'HTTPGetAction'),
    tcpSocket: ref(CORE + 'TCPSocketAction'),
    sleep: ref(CORE + 'SleepAction'),
  }),
  [CORE + 'SleepAction']: obj(
    'Sleeps for a number of seconds.',
    {
      seconds: int64(),
    },
    { required: ['seconds'] },
  ),
  [CORE + 'SecurityContext']: obj(
    "Security settings of a container; they override the pod's where both are set.",
    {
      capabilities: ref(CORE + 'Capabilities', 'Capabilities to add and drop.'),
      privileged: bool('Run as privileged: root on the host in effect.'),
      seLinuxOptions: ref(CORE + 'SELinuxOptions'),
      runAsUser: int64('The UID to run the entrypoint as.'),
      runAsGroup: int64('The GID to run the entrypoint as.'),
      runAsNonRoot: bool('Refuse to start if the container would run as UID 0.'),
      readOnlyRootFilesystem: bool('Mount the root filesystem read-only.'),
      allowPrivilegeEscalation: bool(
        'Whether a process can gain more privileges than its parent (no_new_privs).',
      ),
      procMount: enumStr(['Default', 'Unmasked']),
      seccompProfile: ref(CORE + 'SeccompProfile'),
      appArmorProfile: ref(CORE + 'AppArmorProfile'),
    },
  ),
  [CORE + 'Capabilities']: obj('Linux capabilities to add to and drop from the default set.', {
    add: arr(str(), { listType: 'atomic' }),
    drop: arr(str(), { listType: 'atomic' }),
  }),
  [CORE + 'SELinuxOptions']: obj('SELinux labels.', {
    user: str(),
    role: str(),
    type: str(),
    level: str(),
  }),
  [CORE + 'SeccompProfile']: obj(
    'A seccomp profile.',
    {
      type: enumStr(['Unconfined', 'RuntimeDefault', 'Localhost']),
      localhostProfile: str(),
    },
    { required: ['type'] },
  ),
  [CORE + 'AppArmorProfile']: obj(
    'An AppArmor profile.',
    {
      type: enumStr(['Unconfined', 'RuntimeDefault', 'Localhost']),
      localhostProfile: str(),
    },
    { required: ['type'] },
  ),
  [CORE + 'PodSecurityContext']: obj('Security settings for the whole pod.', {
    seLinuxOptions: ref(CORE + 'SELinuxOptions'),
    runAsUser: int64(),
    runAsGroup: int64(),
    runAsNonRoot: bool(),
    supplementalGroups: arr(int64(), { listType: 'atomic' }),
    supplementalGroupsPolicy: enumStr(['Merge', 'Strict']),
    fsGroup: int64('A supplemental group that owns volumes that support ownership management.'),
    sysctls: arr(ref(CORE + 'Sysctl'), { listType: 'atomic' }),
    fsGroupChangePolicy: enumStr(['OnRootMismatch', 'Always']),
    seccompProfile: ref(CORE + 'SeccompProfile'),
    appArmorProfile: ref(CORE + 'AppArmorProfile'),
    seLinuxChangePolicy: str(),
  }),
  [CORE + 'Sysctl']: obj(
    'A namespaced sysctl to set.',
    {
      name: str(),
      value: str(),
    },
    { required: ['name', 'value'] },
  ),
  [CORE + 'Toleration']: obj(
    'Lets the pod schedule onto (or stay on) nodes with a matching taint.',
    {
      key: str('The taint key matched; empty with operator Exists matches every taint.'),
      operator: enumStr(['Exists', 'Equal'], 'Exists or Equal (default).'),
      value: str('The taint value matched, for operator Equal.'),
      effect: enumStr(
        ['NoSchedule', 'PreferNoSchedule', 'NoExecute'],
        'The taint effect matched: NoSchedule, PreferNoSchedule or NoExecute; empty matches all.',
      ),
      tolerationSeconds: int64(
        'For NoExecute: how long the pod stays bound after the taint appears.',
      ),
    },
  ),
  [CORE + 'Affinity']: obj('Scheduling rules relative to nodes and to other pods.', {
    nodeAffinity: ref(CORE + 'NodeAffinity', 'Rules about the nodes the pod may run on.'),
    podAffinity: ref(CORE + 'PodAffinity', 'Rules to place the pod near other pods.'),
    podAntiAffinity: ref(CORE + 'PodAntiAffinity', 'Rules to keep the pod away from other pods.'),
  }),
  [CORE + 'NodeAffinity']: obj('Node affinity rules.', {
    requiredDuringSchedulingIgnoredDuringExecution: ref(
      CORE + 'NodeSelector',
      'Nodes must match this to be chosen.',
    ),
    preferredDuringSchedulingIgnoredDuringExecution: arr(
      ref(CORE + 'PreferredSchedulingTerm'),
      { listType: 'atomic' },
      'Nodes matching these terms score higher.',
    ),
  }),
  [CORE + 'NodeSelector']: obj(
    'A node selector: the union (OR) of its terms.',
    {
      nodeSelectorTerms: arr(ref(CORE + 'NodeSelectorTerm'), { listType: 'atomic' }),
    },
    { required: ['nodeSelectorTerms'], mapType: 'atomic' },
  ),
  [CORE + 'NodeSelectorTerm']: obj(
    'Node requirements that must all hold (AND).',
    {
      matchExpressions: arr(ref(CORE + 'NodeSelectorRequirement'), { listType: 'atomic' }),
      matchFields: arr(ref(CORE + 'NodeSelectorRequirement'), { listType: 'atomic' }),
    },
    { mapType: 'atomic' },
  ),
  [CORE + 'NodeSelectorRequirement']: obj(
    'A requirement on a node label or field.',
    {
      key: str(),
      operator: enumStr(['In', 'NotIn', 'Exists', 'DoesNotExist', 'Gt', 'Lt']),
      values: arr(str(), { listType: 'atomic' }),
    },
    { required: ['key', 'operator'] },
  ),
  [CORE + 'PreferredSchedulingTerm']: obj(
    'A weighted node selector term.',
    {
      weight: int32(),
      preference: ref(CORE + 'NodeSelectorTerm'),
    },
    { required: ['weight', 'preference'] },
  ),
  [CORE + 'PodAffinity']: obj('Pod affinity rules.', {
    requiredDuringSchedulingIgnoredDuringExecution: arr(ref(CORE + 'PodAffinityTerm'), {
      listType: 'atomic',
    }),
    preferredDuringSchedulingIgnoredDuringExecution: arr(ref(CORE + 'WeightedPodAffinityTerm'), {
      listType: 'atomic',
    }),
  }),
  [CORE + 'PodAntiAffinity']: obj('Pod anti-affinity rules.', {
    requiredDuringSchedulingIgnoredDuringExecution: arr(ref(CORE + 'PodAffinityTerm'), {
      listType: 'atomic',
    }),
    preferredDuringSchedulingIgnoredDuringExecution: arr(ref(CORE + 'WeightedPodAffinityTerm'), {
      listType: 'atomic',
    }),
  }),
  [CORE + 'PodAffinityTerm']: obj(
    "Pods matching labelSelector in the given namespaces, on nodes sharing topologyKey's value.",
    {
      labelSelector: ref(META + 'LabelSelector'),
      namespaces: arr(str(), { listType: 'atomic' }),
      topologyKey: str(
        'Node label whose value defines the co-location domain, e.g. kubernetes.io/hostname.',
      ),
      namespaceSelector: ref(META + 'LabelSelector'),
      matchLabelKeys: arr(str(), { listType: 'atomic' }),
      mismatchLabelKeys: arr(str(), { listType: 'atomic' }),
    },
    { required: ['topologyKey'] },
  ),
  [CORE + 'WeightedPodAffinityTerm']: obj(
    'A weighted pod affinity term.',
    {
      weight: int32(),
      podAffinityTerm: ref(CORE + 'PodAffinityTerm'),
    },
    { required: ['weight', 'podAffinityTerm'] },
  ),
  [CORE + 'TopologySpreadConstraint']: obj(
    'How to spread matching pods across a topology.',
    {
      maxSkew: int32(),
      topologyKey: str(),
      whenUnsatisfiable: enumStr(['DoNotSchedule', 'ScheduleAnyway']),
      labelSelector: ref(META + 'LabelSelector'),
      minDomains: int32(),
      nodeAffinityPolicy: enumStr(['Ignore', 'Honor']),
      nodeTaintsPolicy: enumStr(['Ignore', 'Honor']),
      matchLabelKeys: arr(str(), { listType: 'atomic' }),
    },
    { required: ['maxSkew', 'topologyKey', 'whenUnsatisfiable'] },
  ),
  [CORE + 'LocalObjectReference']: obj(
    'A reference to an object in the same namespace, by name.',
    {
      name: str('Name of the referent.'),
    },
    { mapType: 'atomic' },
  ),
  [CORE + 'HostAlias']: obj(
    'An /etc/hosts entry.',
    {
      ip: str(),
      hostnames: arr(str(), { listType: 'atomic' }),
    },
    { required: ['ip'] },
  ),
  [CORE + 'PodDNSConfig']: obj('DNS settings of a pod, on top of those from dnsPolicy.', {
    nameservers: arr(str(), { listType: 'atomic' }),
    searches: arr(str(), { listType: 'atomic' }),
    options: arr(ref(CORE + 'PodDNSConfigOption'), { listType: 'atomic' }),
  }),
  [CORE + 'PodDNSConfigOption']: obj('A resolver option.', {
    name: str(),
    value: str(),
  }),
  [CORE + 'PodReadinessGate']: obj(
    'An extra condition that must be true for the pod to be ready.',
    {
      conditionType: str(),
    },
    { required: ['conditionType'] },
  ),
  [CORE + 'PodOS']: obj(
    "The operating system of the pod's containers.",
    {
      name: str(),
    },
    { required: ['name'] },
  ),
  [CORE + 'PodSchedulingGate']: obj(
    'A gate that keeps the pod from being scheduled while present.',
    {
      name: str(),
    },
    { required: ['name'] },
  ),
  [CORE + 'Volume']: obj(
    "A named volume a pod's containers can mount; exactly one source.",
    {
      name: str('Name of the volume, unique within the pod (a DNS label).'),
      hostPath: ref(CORE + 'HostPathVolumeSource', 'A file or directory on the node.'),
      emptyDir: ref(
        CORE + 'EmptyDirVolumeSource',
        'An empty directory that lives as long as the pod.',
      ),
      secret: ref(CORE + 'SecretVolumeSource', 'The keys of a Secret as files.'),
      persistentVolumeClaim: ref(
        CORE + 'PersistentVolumeClaimVolumeSource',
        "A PersistentVolumeClaim in the pod's namespace.",
      ),
      downwardAPI: ref(CORE + 'DownwardAPIVolumeSource', 'Fields of the pod as files.'),
      configMap: ref(CORE + 'ConfigMapVolumeSource', 'The keys of a ConfigMap as files.'),
      projected: ref(CORE + 'ProjectedVolumeSource', 'Several sources in one directory.'),
    },
    { required: ['name'] },
  ),
  [CORE + 'EmptyDirVolumeSource']: obj("An empty directory for the pod's lifetime.", {
    medium: str("Storage medium: empty for the node's disk, or Memory for tmpfs."),
    sizeLimit: ref(QUANTITY_NAME, 'The most storage the volume may use.'),
  }),
  [CORE + 'HostPathVolumeSource']: obj(
    'A path on the node.',
    {
      path: str('Path on the node.'),
      type: enumStr(
        [
          '',
          'DirectoryOrCreate',
          'Directory',
          'FileOrCreate',
          'File',
          'Socket',
          'CharDevice',
          'BlockDevice',
        ],
        'What must exist at the path, e.g. Directory, DirectoryOrCreate, File.',
      ),
    },
    { required: ['path'] },
  ),
  [CORE + 'ConfigMapVolumeSource']: obj("Files from a ConfigMap's keys.", {
    name: str('Name of the ConfigMap.'),
    items: arr(
      ref(CORE + 'KeyToPath'),
      { listType: 'atomic' },
      'Which keys to project, and to which paths; all keys by default.',
    ),
    defaultMode: int32('File mode bits of the files, e.g. 0644.'),
    optional: bool(),
  }),
  [CORE + 'SecretVolumeSource']: obj("Files from a Secret's keys.", {
    secretName: str('Name of the Secret.'),
    items: arr(
      ref(CORE + 'KeyToPath'),
      { listType: 'atomic' },
      'Which keys to project, and to which paths; all keys by default.',
    ),
    defaultMode: int32('File mode bits of the files, e.g. 0644.'),
    optional: bool(),
  }),
  [CORE + 'KeyToPath']: obj(
    'Maps a key to a file path.',
    {
      key: str(),
      path: str(),
      mode: int32(),
    },
    { required: ['key', 'path'] },
  ),
  [CORE + 'PersistentVolumeClaimVolumeSource']: obj(
    'A reference to a PersistentVolumeClaim.',
    {
      claimName: str('Name of the claim.'),
      readOnly: bool(),
    },
    { required: ['claimName'] },
  ),
  [CORE + 'DownwardAPIVolumeSource']: obj('Pod fields as files.', {
    items: arr(ref(CORE + 'DownwardAPIVolumeFile'), { listType: 'atomic' }),
    defaultMode: int32(),
  }),
  [CORE + 'DownwardAPIVolumeFile']: obj(
    'One pod field as a file.',
    {
      path: str(),
      fieldRef: ref(CORE + 'ObjectFieldSelector'),
      resourceFieldRef: ref(CORE + 'ResourceFieldSelector'),
      mode: int32(),
    },
    { required: ['path'] },
  ),
  [CORE + 'ProjectedVolumeSource']: obj('Several volume sources in one directory.', {
    sources: arr(ref(CORE + 'VolumeProjection'), { listType: 'atomic' }),
    defaultMode: int32(),
  }),
  [CORE + 'VolumeProjection']: obj('One source of a projected volume.', {
    secret: ref(CORE + 'SecretProjection'),
    downwardAPI: ref(CORE + 'DownwardAPIProjection'),
    configMap: ref(CORE + 'ConfigMapProjection'),
    serviceAccountToken: ref(CORE + 'ServiceAccountTokenProjection'),
  }),
  [CORE + 'ConfigMapProjection']: obj("A ConfigMap's keys in a projected volume.", {
    name: str(),
    items: arr(ref(CORE + 'KeyToPath'), { listType: 'atomic' }),
    optional: bool(),
  }),
  [CORE + 'SecretProjection']: obj("A Secret's keys in a projected volume.", {
    name: str(),
    items: arr(ref(CORE + 'KeyToPath'), { listType: 'atomic' }),
    optional: bool(),
  }),
  [CORE + 'DownwardAPIProjection']: obj('Pod fields in a projected volume.', {
    items: arr(ref(CORE + 'DownwardAPIVolumeFile'), { listType: 'atomic' }),
  }),
  [CORE + 'ServiceAccountTokenProjection']: obj(
    'A service account token in a projected volume.',
    {
      audience: str(),
      expirationSeconds: int64(),
      path: str(),
    },
    { required: ['path'] },
  ),
  [CORE + 'PodTemplateSpec']: obj('The pods a controller creates.', {
    metadata: OBJECT_META,
    spec: ref(CORE + 'PodSpec', 'Spec of the pods.'),
  }),
  [CORE + 'Binding']: obj(
    'Binds a pod to a node; the scheduler posts it to pods/binding.',
    {
      apiVersion: API_VERSION,
      kind: KIND,
      metadata: OBJECT_META,
      target: ref(CORE + 'ObjectReference', 'The node to bind to.'),
    },
    { required: ['target'] },
  ),
  // policy/v1, but it exists only as the body of pods/eviction, so it sits with the pod's.
  'io.k8s.api.policy.v1.Eviction': obj(
    'Evicts a pod from its node: a graceful delete, posted to pods/eviction.',
    {
      apiVersion: API_VERSION,
      kind: KIND,
      metadata: OBJECT_META,
      deleteOptions: ref(META + 'DeleteOptions', 'DeleteOptions may be provided.'),
    },
  ),
  [CORE + 'ObjectReference']: obj(
    'A reference to an object of any kind.',
    {
      kind: str(),
      namespace: str(),
      name: str(),
      uid: str(),
      apiVersion: str(),
      resourceVersion: str(),
      fieldPath: str(),
    },
    { mapType: 'atomic' },
  ),
};
