/**
 * The protobuf schema of the kinds `kubectl create` sends as protobuf (kubectl 1.32 and later), from
 * k8s.io/api's generated.proto files and apimachinery's meta/v1. Only the messages those objects can
 * reach are here; a field number missing from a table is skipped when decoding, as Go would keep it
 * in its unknown-field buffer.
 *
 * One line per field: `<number> <jsonName> <type> [flags]`, in Go struct order (the JSON key order).
 *   type   string | int32 | int64 | bool | bytes | <Message> | []<type> | map<string,<type>>
 *   keep   Go has no `omitempty` or the field is a pointer: a zero value present on the wire stays in
 *          the JSON (`containerPort: 0`, `replicas: 0`). Without it, zero scalars are dropped, as
 *          Go's omitempty drops them — gogo writes every non-pointer scalar, so zeros are everywhere.
 *   null   Go has no `omitempty` on a slice or pointer: absent means `null` in the JSON (`rules: null`).
 *   inline an embedded Go struct: its fields go into the parent object (`configMapKeyRef.name`).
 * Messages are always emitted when present on the wire: gogo writes non-pointer structs even when
 * empty, which is exactly when Go's JSON prints `{}` (`strategy: {}`, `status: {}`).
 *
 * Time, MicroTime, IntOrString, Quantity and FieldsV1 have custom JSON forms, handled in protobuf.ts.
 */

const meta = {
  ObjectMeta: `
    1 name string
    2 generateName string
    3 namespace string
    4 selfLink string
    5 uid string
    6 resourceVersion string
    7 generation int64
    8 creationTimestamp Time keep
    9 deletionTimestamp Time
    10 deletionGracePeriodSeconds int64 keep
    11 labels map<string,string>
    12 annotations map<string,string>
    13 ownerReferences []OwnerReference
    14 finalizers []string
    17 managedFields []ManagedFieldsEntry`,
  OwnerReference: `
    5 apiVersion string keep
    1 kind string keep
    3 name string keep
    4 uid string keep
    6 controller bool keep
    7 blockOwnerDeletion bool keep`,
  ManagedFieldsEntry: `
    1 manager string
    2 operation string
    3 apiVersion string
    4 time Time
    6 fieldsType string
    7 fieldsV1 FieldsV1
    8 subresource string`,
  LabelSelector: `
    1 matchLabels map<string,string>
    2 matchExpressions []LabelSelectorRequirement`,
  LabelSelectorRequirement: `
    1 key string keep
    2 operator string keep
    3 values []string`,
  Condition: `
    1 type string keep
    2 status string keep
    3 observedGeneration int64
    4 lastTransitionTime Time keep
    5 reason string keep
    6 message string keep`,
};

const core = {
  Namespace: `
    1 metadata ObjectMeta
    2 spec NamespaceSpec
    3 status NamespaceStatus`,
  NamespaceSpec: `
    1 finalizers []string`,
  NamespaceStatus: `
    1 phase string
    2 conditions []NamespaceCondition`,
  NamespaceCondition: `
    1 type string keep
    2 status string keep
    4 lastTransitionTime Time
    5 reason string
    6 message string`,
  ConfigMap: `
    1 metadata ObjectMeta
    4 immutable bool keep
    2 data map<string,string>
    3 binaryData map<string,bytes>`,
  Secret: `
    1 metadata ObjectMeta
    5 immutable bool keep
    2 data map<string,bytes>
    4 stringData map<string,string>
    3 type string`,
  ServiceAccount: `
    1 metadata ObjectMeta
    2 secrets []ObjectReference
    3 imagePullSecrets []LocalObjectReference
    4 automountServiceAccountToken bool keep`,
  ObjectReference: `
    1 kind string
    2 namespace string
    3 name string
    4 uid string
    5 apiVersion string
    6 resourceVersion string
    7 fieldPath string`,
  LocalObjectReference: `
    1 name string`,
  ResourceQuota: `
    1 metadata ObjectMeta
    2 spec ResourceQuotaSpec
    3 status ResourceQuotaStatus`,
  ResourceQuotaSpec: `
    1 hard map<string,Quantity>
    2 scopes []string
    3 scopeSelector ScopeSelector`,
  ScopeSelector: `
    1 matchExpressions []ScopedResourceSelectorRequirement`,
  ScopedResourceSelectorRequirement: `
    1 scopeName string keep
    2 operator string keep
    3 values []string`,
  ResourceQuotaStatus: `
    1 hard map<string,Quantity>
    2 used map<string,Quantity>`,
  Service: `
    1 metadata ObjectMeta
    2 spec ServiceSpec
    3 status ServiceStatus`,
  ServiceSpec: `
    1 ports []ServicePort
    2 selector map<string,string>
    3 clusterIP string
    18 clusterIPs []string
    4 type string
    5 externalIPs []string
    7 sessionAffinity string
    8 loadBalancerIP string
    9 loadBalancerSourceRanges []string
    10 externalName string
    11 externalTrafficPolicy string
    12 healthCheckNodePort int32
    13 publishNotReadyAddresses bool
    14 sessionAffinityConfig SessionAffinityConfig
    19 ipFamilies []string
    17 ipFamilyPolicy string keep
    20 allocateLoadBalancerNodePorts bool keep
    21 loadBalancerClass string keep
    22 internalTrafficPolicy string keep
    23 trafficDistribution string keep`,
  ServicePort: `
    1 name string
    2 protocol string
    6 appProtocol string keep
    3 port int32 keep
    4 targetPort IntOrString
    5 nodePort int32`,
  SessionAffinityConfig: `
    1 clientIP ClientIPConfig`,
  ClientIPConfig: `
    1 timeoutSeconds int32 keep`,
  ServiceStatus: `
    1 loadBalancer LoadBalancerStatus
    2 conditions []Condition`,
  LoadBalancerStatus: `
    1 ingress []LoadBalancerIngress`,
  LoadBalancerIngress: `
    1 ip string
    2 hostname string
    4 ipMode string keep
    3 ports []PortStatus`,
  PortStatus: `
    1 port int32 keep
    2 protocol string keep
    3 error string keep`,
  PodTemplateSpec: `
    1 metadata ObjectMeta
    2 spec PodSpec`,
  PodSpec: `
    1 volumes []Volume
    20 initContainers []Container
    2 containers []Container null
    3 restartPolicy string
    4 terminationGracePeriodSeconds int64 keep
    5 activeDeadlineSeconds int64 keep
    6 dnsPolicy string
    7 nodeSelector map<string,string>
    8 serviceAccountName string
    9 serviceAccount string
    21 automountServiceAccountToken bool keep
    10 nodeName string
    11 hostNetwork bool
    12 hostPID bool
    13 hostIPC bool
    27 shareProcessNamespace bool keep
    14 securityContext PodSecurityContext
    15 imagePullSecrets []LocalObjectReference
    16 hostname string
    17 subdomain string
    18 affinity Affinity
    19 schedulerName string
    22 tolerations []Toleration
    23 hostAliases []HostAlias
    24 priorityClassName string
    25 priority int32 keep
    26 dnsConfig PodDNSConfig
    28 readinessGates []PodReadinessGate
    29 runtimeClassName string keep
    30 enableServiceLinks bool keep
    31 preemptionPolicy string keep
    32 overhead map<string,Quantity>
    33 topologySpreadConstraints []TopologySpreadConstraint
    35 setHostnameAsFQDN bool keep
    36 os PodOS
    37 hostUsers bool keep
    38 schedulingGates []PodSchedulingGate`,
  Container: `
    1 name string keep
    2 image string
    3 command []string
    4 args []string
    5 workingDir string
    6 ports []ContainerPort
    19 envFrom []EnvFromSource
    7 env []EnvVar
    8 resources ResourceRequirements
    24 restartPolicy string keep
    9 volumeMounts []VolumeMount
    10 livenessProbe Probe
    11 readinessProbe Probe
    22 startupProbe Probe
    12 lifecycle Lifecycle
    13 terminationMessagePath string
    20 terminationMessagePolicy string
    14 imagePullPolicy string
    15 securityContext SecurityContext
    16 stdin bool
    17 stdinOnce bool
    18 tty bool`,
  ContainerPort: `
    1 name string
    2 hostPort int32
    3 containerPort int32 keep
    4 protocol string
    5 hostIP string`,
  EnvVar: `
    1 name string keep
    2 value string
    3 valueFrom EnvVarSource`,
  EnvVarSource: `
    1 fieldRef ObjectFieldSelector
    2 resourceFieldRef ResourceFieldSelector
    3 configMapKeyRef ConfigMapKeySelector
    4 secretKeyRef SecretKeySelector`,
  ObjectFieldSelector: `
    1 apiVersion string
    2 fieldPath string keep`,
  ResourceFieldSelector: `
    1 containerName string
    2 resource string keep
    3 divisor Quantity`,
  ConfigMapKeySelector: `
    1 localObjectReference LocalObjectReference inline
    2 key string keep
    3 optional bool keep`,
  SecretKeySelector: `
    1 localObjectReference LocalObjectReference inline
    2 key string keep
    3 optional bool keep`,
  EnvFromSource: `
    1 prefix string
    2 configMapRef ConfigMapEnvSource
    3 secretRef SecretEnvSource`,
  ConfigMapEnvSource: `
    1 localObjectReference LocalObjectReference inline
    2 optional bool keep`,
  SecretEnvSource: `
    1 localObjectReference LocalObjectReference inline
    2 optional bool keep`,
  ResourceRequirements: `
    1 limits map<string,Quantity>
    2 requests map<string,Quantity>
    3 claims []ResourceClaim`,
  ResourceClaim: `
    1 name string keep
    2 request string`,
  VolumeMount: `
    1 name string keep
    2 readOnly bool
    7 recursiveReadOnly string keep
    3 mountPath string keep
    4 subPath string
    5 mountPropagation string keep
    6 subPathExpr string`,
  Probe: `
    1 handler ProbeHandler inline
    2 initialDelaySeconds int32
    3 timeoutSeconds int32
    4 periodSeconds int32
    5 successThreshold int32
    6 failureThreshold int32
    7 terminationGracePeriodSeconds int64 keep`,
  ProbeHandler: `
    1 exec ExecAction
    2 httpGet HTTPGetAction
    3 tcpSocket TCPSocketAction
    4 grpc GRPCAction`,
  Lifecycle: `
    1 postStart LifecycleHandler
    2 preStop LifecycleHandler`,
  LifecycleHandler: `
    1 exec ExecAction
    2 httpGet HTTPGetAction
    3 tcpSocket TCPSocketAction
    4 sleep SleepAction`,
  ExecAction: `
    1 command []string`,
  HTTPGetAction: `
    1 path string
    2 port IntOrString
    3 host string
    4 scheme string
    5 httpHeaders []HTTPHeader`,
  HTTPHeader: `
    1 name string keep
    2 value string keep`,
  TCPSocketAction: `
    1 port IntOrString
    2 host string`,
  GRPCAction: `
    1 port int32 keep
    2 service string null`,
  SleepAction: `
    1 seconds int64 keep`,
  SecurityContext: `
    1 capabilities Capabilities
    2 privileged bool keep
    3 seLinuxOptions SELinuxOptions
    4 runAsUser int64 keep
    8 runAsGroup int64 keep
    5 runAsNonRoot bool keep
    6 readOnlyRootFilesystem bool keep
    7 allowPrivilegeEscalation bool keep
    9 procMount string keep
    11 seccompProfile SeccompProfile`,
  Capabilities: `
    1 add []string
    2 drop []string`,
  SELinuxOptions: `
    1 user string
    2 role string
    3 type string
    4 level string`,
  SeccompProfile: `
    1 type string keep
    2 localhostProfile string keep`,
  PodSecurityContext: `
    1 seLinuxOptions SELinuxOptions
    2 runAsUser int64 keep
    6 runAsGroup int64 keep
    3 runAsNonRoot bool keep
    4 supplementalGroups []int64
    5 fsGroup int64 keep
    7 sysctls []Sysctl
    9 fsGroupChangePolicy string keep
    10 seccompProfile SeccompProfile`,
  Sysctl: `
    1 name string keep
    2 value string keep`,
  Toleration: `
    1 key string
    2 operator string
    3 value string
    4 effect string
    5 tolerationSeconds int64 keep`,
  HostAlias: `
    1 ip string keep
    2 hostnames []string`,
  PodDNSConfig: `
    1 nameservers []string
    2 searches []string
    3 options []PodDNSConfigOption`,
  PodDNSConfigOption: `
    1 name string
    2 value string keep`,
  Affinity: `
    1 nodeAffinity NodeAffinity
    2 podAffinity PodAffinity
    3 podAntiAffinity PodAffinity`,
  PodAffinity: `
    1 requiredDuringSchedulingIgnoredDuringExecution []PodAffinityTerm
    2 preferredDuringSchedulingIgnoredDuringExecution []WeightedPodAffinityTerm`,
  PodAffinityTerm: `
    1 labelSelector LabelSelector
    2 namespaces []string
    3 topologyKey string keep
    4 namespaceSelector LabelSelector
    5 matchLabelKeys []string
    6 mismatchLabelKeys []string`,
  WeightedPodAffinityTerm: `
    1 weight int32 keep
    2 podAffinityTerm PodAffinityTerm`,
  TopologySpreadConstraint: `
    1 maxSkew int32 keep
    2 topologyKey string keep
    3 whenUnsatisfiable string keep
    4 labelSelector LabelSelector
    5 minDomains int32 keep
    6 nodeAffinityPolicy string keep
    7 nodeTaintsPolicy string keep
    8 matchLabelKeys []string`,
  PodReadinessGate: `
    1 conditionType string keep`,
  PodOS: `
    1 name string keep`,
  PodSchedulingGate: `
    1 name string keep`,
  NodeAffinity: `
    1 requiredDuringSchedulingIgnoredDuringExecution NodeSelector
    2 preferredDuringSchedulingIgnoredDuringExecution []PreferredSchedulingTerm`,
  NodeSelector: `
    1 nodeSelectorTerms []NodeSelectorTerm null`,
  NodeSelectorTerm: `
    1 matchExpressions []NodeSelectorRequirement
    2 matchFields []NodeSelectorRequirement`,
  NodeSelectorRequirement: `
    1 key string keep
    2 operator string keep
    3 values []string`,
  PreferredSchedulingTerm: `
    1 weight int32 keep
    2 preference NodeSelectorTerm`,
  Volume: `
    1 name string keep
    2 volumeSource VolumeSource inline`,
  VolumeSource: `
    1 hostPath HostPathVolumeSource
    2 emptyDir EmptyDirVolumeSource
    6 secret SecretVolumeSource
    10 persistentVolumeClaim PersistentVolumeClaimVolumeSource
    16 downwardAPI DownwardAPIVolumeSource
    19 configMap ConfigMapVolumeSource
    26 projected ProjectedVolumeSource`,
  DownwardAPIVolumeSource: `
    1 items []DownwardAPIVolumeFile
    2 defaultMode int32 keep`,
  DownwardAPIVolumeFile: `
    1 path string keep
    2 fieldRef ObjectFieldSelector
    3 resourceFieldRef ResourceFieldSelector
    4 mode int32 keep`,
  ProjectedVolumeSource: `
    1 sources []VolumeProjection null
    2 defaultMode int32 keep`,
  VolumeProjection: `
    1 secret SecretProjection
    2 downwardAPI DownwardAPIProjection
    3 configMap ConfigMapProjection
    4 serviceAccountToken ServiceAccountTokenProjection`,
  SecretProjection: `
    1 localObjectReference LocalObjectReference inline
    2 items []KeyToPath
    4 optional bool keep`,
  ConfigMapProjection: `
    1 localObjectReference LocalObjectReference inline
    2 items []KeyToPath
    4 optional bool keep`,
  DownwardAPIProjection: `
    1 items []DownwardAPIVolumeFile`,
  ServiceAccountTokenProjection: `
    1 audience string
    2 expirationSeconds int64 keep
    3 path string keep`,
  HostPathVolumeSource: `
    1 path string keep
    2 type string keep`,
  EmptyDirVolumeSource: `
    1 medium string
    2 sizeLimit Quantity`,
  SecretVolumeSource: `
    1 secretName string
    2 items []KeyToPath
    3 defaultMode int32 keep
    4 optional bool keep`,
  ConfigMapVolumeSource: `
    1 localObjectReference LocalObjectReference inline
    2 items []KeyToPath
    3 defaultMode int32 keep
    4 optional bool keep`,
  KeyToPath: `
    1 key string keep
    2 path string keep
    3 mode int32 keep`,
  PersistentVolumeClaimVolumeSource: `
    1 claimName string keep
    2 readOnly bool`,
};

const apps = {
  Deployment: `
    1 metadata ObjectMeta
    2 spec DeploymentSpec
    3 status DeploymentStatus`,
  DeploymentSpec: `
    1 replicas int32 keep
    2 selector LabelSelector
    3 template PodTemplateSpec
    4 strategy DeploymentStrategy
    5 minReadySeconds int32
    6 revisionHistoryLimit int32 keep
    7 paused bool
    9 progressDeadlineSeconds int32 keep`,
  DeploymentStrategy: `
    1 type string
    2 rollingUpdate RollingUpdateDeployment`,
  RollingUpdateDeployment: `
    1 maxUnavailable IntOrString
    2 maxSurge IntOrString`,
  DeploymentStatus: `
    1 observedGeneration int64
    2 replicas int32
    3 updatedReplicas int32
    7 readyReplicas int32
    4 availableReplicas int32
    5 unavailableReplicas int32
    9 terminatingReplicas int32 keep
    6 conditions []DeploymentCondition
    8 collisionCount int32 keep`,
  DeploymentCondition: `
    1 type string keep
    2 status string keep
    6 lastUpdateTime Time
    7 lastTransitionTime Time
    4 reason string
    5 message string`,
};

const batch = {
  Job: `
    1 metadata ObjectMeta
    2 spec JobSpec
    3 status JobStatus`,
  JobSpec: `
    1 parallelism int32 keep
    2 completions int32 keep
    3 activeDeadlineSeconds int64 keep
    7 backoffLimit int32 keep
    12 backoffLimitPerIndex int32 keep
    13 maxFailedIndexes int32 keep
    4 selector LabelSelector
    5 manualSelector bool keep
    6 template PodTemplateSpec
    11 podFailurePolicy PodFailurePolicy
    16 successPolicy SuccessPolicy
    8 ttlSecondsAfterFinished int32 keep
    9 completionMode string keep
    10 suspend bool keep
    14 podReplacementPolicy string keep
    15 managedBy string keep`,
  PodFailurePolicy: `
    1 rules []PodFailurePolicyRule null`,
  PodFailurePolicyRule: `
    1 action string keep
    2 onExitCodes PodFailurePolicyOnExitCodesRequirement
    3 onPodConditions []PodFailurePolicyOnPodConditionsPattern`,
  PodFailurePolicyOnExitCodesRequirement: `
    1 containerName string keep
    2 operator string keep
    3 values []int32 null`,
  PodFailurePolicyOnPodConditionsPattern: `
    1 type string keep
    2 status string keep`,
  SuccessPolicy: `
    1 rules []SuccessPolicyRule null`,
  SuccessPolicyRule: `
    1 succeededIndexes string keep
    2 succeededCount int32 keep`,
  JobStatus: `
    2 startTime Time
    3 completionTime Time
    4 active int32
    5 succeeded int32
    6 failed int32
    11 terminating int32 keep
    7 completedIndexes string
    10 failedIndexes string keep
    9 ready int32 keep`,
  CronJob: `
    1 metadata ObjectMeta
    2 spec CronJobSpec
    3 status CronJobStatus`,
  CronJobSpec: `
    1 schedule string keep
    8 timeZone string keep
    2 startingDeadlineSeconds int64 keep
    3 concurrencyPolicy string
    4 suspend bool keep
    5 jobTemplate JobTemplateSpec
    6 successfulJobsHistoryLimit int32 keep
    7 failedJobsHistoryLimit int32 keep`,
  JobTemplateSpec: `
    1 metadata ObjectMeta
    2 spec JobSpec`,
  CronJobStatus: `
    1 active []ObjectReference
    4 lastScheduleTime Time
    5 lastSuccessfulTime Time`,
};

const rbac = {
  Role: `
    1 metadata ObjectMeta
    2 rules []PolicyRule null`,
  ClusterRole: `
    1 metadata ObjectMeta
    2 rules []PolicyRule null
    3 aggregationRule AggregationRule`,
  PolicyRule: `
    1 verbs []string null
    2 apiGroups []string
    3 resources []string
    4 resourceNames []string
    5 nonResourceURLs []string`,
  AggregationRule: `
    1 clusterRoleSelectors []LabelSelector`,
  RoleBinding: `
    1 metadata ObjectMeta
    2 subjects []Subject
    3 roleRef RoleRef`,
  ClusterRoleBinding: `
    1 metadata ObjectMeta
    2 subjects []Subject
    3 roleRef RoleRef`,
  Subject: `
    1 kind string keep
    2 apiGroup string
    3 name string keep
    4 namespace string`,
  RoleRef: `
    1 apiGroup string keep
    2 kind string keep
    3 name string keep`,
};

const policy = {
  PodDisruptionBudget: `
    1 metadata ObjectMeta
    2 spec PodDisruptionBudgetSpec
    3 status PodDisruptionBudgetStatus`,
  PodDisruptionBudgetSpec: `
    1 minAvailable IntOrString
    2 selector LabelSelector
    3 maxUnavailable IntOrString
    4 unhealthyPodEvictionPolicy string keep`,
  PodDisruptionBudgetStatus: `
    1 observedGeneration int64
    2 disruptedPods map<string,Time>
    3 disruptionsAllowed int32 keep
    4 currentHealthy int32 keep
    5 desiredHealthy int32 keep
    6 expectedPods int32 keep
    7 conditions []Condition`,
};

const scheduling = {
  PriorityClass: `
    1 metadata ObjectMeta
    2 value int32 keep
    3 globalDefault bool
    4 description string
    5 preemptionPolicy string keep`,
};

const networking = {
  Ingress: `
    1 metadata ObjectMeta
    2 spec IngressSpec
    3 status IngressStatus`,
  IngressSpec: `
    4 ingressClassName string keep
    1 defaultBackend IngressBackend
    2 tls []IngressTLS
    3 rules []IngressRule`,
  IngressBackend: `
    4 service IngressServiceBackend
    3 resource TypedLocalObjectReference`,
  IngressServiceBackend: `
    1 name string keep
    2 port ServiceBackendPort`,
  ServiceBackendPort: `
    1 name string
    2 number int32`,
  TypedLocalObjectReference: `
    1 apiGroup string keep
    2 kind string keep
    3 name string keep`,
  IngressTLS: `
    1 hosts []string
    2 secretName string`,
  IngressRule: `
    1 host string
    2 ingressRuleValue IngressRuleValue inline`,
  IngressRuleValue: `
    1 http HTTPIngressRuleValue`,
  HTTPIngressRuleValue: `
    1 paths []HTTPIngressPath null`,
  HTTPIngressPath: `
    1 path string
    3 pathType string keep
    2 backend IngressBackend`,
  IngressStatus: `
    1 loadBalancer IngressLoadBalancerStatus`,
  IngressLoadBalancerStatus: `
    1 ingress []IngressLoadBalancerIngress`,
  IngressLoadBalancerIngress: `
    1 ip string
    2 hostname string
    4 ports []IngressPortStatus`,
  IngressPortStatus: `
    1 port int32 keep
    2 protocol string keep
    3 error string keep`,
};

const authentication = {
  TokenRequest: `
    1 metadata ObjectMeta
    2 spec TokenRequestSpec
    3 status TokenRequestStatus`,
  TokenRequestSpec: `
    1 audiences []string null
    4 expirationSeconds int64 null
    3 boundObjectRef BoundObjectReference null`,
  BoundObjectReference: `
    1 kind string
    2 apiVersion string
    3 name string
    4 uid string`,
  TokenRequestStatus: `
    1 token string keep
    2 expirationTimestamp Time keep`,
};

/** The kinds decoded, by `apiVersion` and `kind` as the envelope's TypeMeta names them → their message. */
export const KINDS: Record<string, string> = {
  'v1/Namespace': 'Namespace',
  'v1/ConfigMap': 'ConfigMap',
  'v1/Secret': 'Secret',
  'v1/Service': 'Service',
  'v1/ServiceAccount': 'ServiceAccount',
  'v1/ResourceQuota': 'ResourceQuota',
  'apps/v1/Deployment': 'Deployment',
  'batch/v1/Job': 'Job',
  'batch/v1/CronJob': 'CronJob',
  'rbac.authorization.k8s.io/v1/Role': 'Role',
  'rbac.authorization.k8s.io/v1/ClusterRole': 'ClusterRole',
  'rbac.authorization.k8s.io/v1/RoleBinding': 'RoleBinding',
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': 'ClusterRoleBinding',
  'policy/v1/PodDisruptionBudget': 'PodDisruptionBudget',
  'scheduling.k8s.io/v1/PriorityClass': 'PriorityClass',
  'networking.k8s.io/v1/Ingress': 'Ingress',
  'authentication.k8s.io/v1/TokenRequest': 'TokenRequest',
};

export type FieldType =
  | { kind: 'scalar'; scalar: 'string' | 'int32' | 'int64' | 'bool' | 'bytes' }
  | { kind: 'message'; message: string }
  | { kind: 'list'; item: FieldType }
  | { kind: 'map'; value: FieldType };

export interface FieldSpec {
  json: string;
  type: FieldType;
  keep: boolean;
  nullWhenAbsent: boolean;
  inline: boolean;
}

export interface MessageSpec {
  name: string;
  /** Field number → field; iteration order of `order` is the JSON key order. */
  fields: Map<number, FieldSpec>;
  order: FieldSpec[];
}

/** Messages whose JSON form is not an object of their fields; protobuf.ts decodes them by hand. */
export const WELL_KNOWN = new Set(['Time', 'MicroTime', 'IntOrString', 'Quantity', 'FieldsV1']);

const SCALARS = new Set(['string', 'int32', 'int64', 'bool', 'bytes']);

export function parseType(text: string): FieldType {
  if (text.startsWith('[]')) return { kind: 'list', item: parseType(text.slice(2)) };
  const map = /^map<string,(.+)>$/.exec(text);
  if (map) return { kind: 'map', value: parseType(map[1]) };
  if (SCALARS.has(text)) return { kind: 'scalar', scalar: text as 'string' };
  return { kind: 'message', message: text };
}

function parseMessage(name: string, table: string): MessageSpec {
  const spec: MessageSpec = { name, fields: new Map(), order: [] };
  for (const line of table.trim().split('\n')) {
    const [num, json, type, ...flags] = line.trim().split(/\s+/);
    const field: FieldSpec = {
      json,
      type: parseType(type),
      keep: flags.includes('keep') || flags.includes('null'),
      nullWhenAbsent: flags.includes('null'),
      inline: flags.includes('inline'),
    };
    spec.fields.set(Number(num), field);
    spec.order.push(field);
  }
  return spec;
}

export const MESSAGES: ReadonlyMap<string, MessageSpec> = new Map(
  Object.entries({ ...meta, ...core, ...apps, ...batch, ...rbac, ...policy, ...scheduling, ...networking, ...authentication }).map(
    ([name, table]) => [name, parseMessage(name, table)],
  ),
);

/** Every message a table names must exist, or decoding would fail only when a body reaches it. */
export function undefinedMessages(): string[] {
  const missing = new Set<string>();
  const visit = (t: FieldType): void => {
    if (t.kind === 'list') visit(t.item);
    else if (t.kind === 'map') visit(t.value);
    else if (t.kind === 'message' && !MESSAGES.has(t.message) && !WELL_KNOWN.has(t.message)) missing.add(t.message);
  };
  for (const m of MESSAGES.values()) for (const f of m.order) visit(f.type);
  for (const name of Object.values(KINDS)) if (!MESSAGES.has(name)) missing.add(name);
  return [...missing];
}
