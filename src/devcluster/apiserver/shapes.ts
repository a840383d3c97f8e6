/**
 * The JSON shapes of the built-in types, checked before anything else looks at a body: a real
 * kube-apiserver decodes JSON into Go structs, so `"name": 5` or `labels: ["a"]` never gets past
 * decoding (400, "cannot be handled as a Pod: json: cannot unmarshal number into Go struct field
 * ObjectMeta.metadata.name of type string"). Without this the devcluster stored such objects and
 * its kubelet and scheduler then failed on them forever.
 *
 * The field tables are protobuf-schema.ts's (the same Go structs), plus the kinds the devcluster
 * serves but never decodes from protobuf, below in the same form without field numbers. Fields a
 * table does not name are not checked (unknown fields are fieldValidation's business).
 */
import { isQuantity } from '../../kube/index.ts';
import { MESSAGES, parseType, type FieldType } from './protobuf-schema.ts';

/** `<json name> <type> [inline]`, one a line; types as in protobuf-schema.ts. */
const EXTRA: Record<string, string> = {
  Pod: `metadata ObjectMeta
    spec PodSpec
    status PodStatus`,
  PodStatus: `phase string
    conditions []PodCondition
    message string
    reason string
    nominatedNodeName string
    hostIP string
    hostIPs []HostIP
    podIP string
    podIPs []PodIP
    startTime Time
    initContainerStatuses []ContainerStatus
    containerStatuses []ContainerStatus
    qosClass string
    ephemeralContainerStatuses []ContainerStatus
    resize string`,
  PodCondition: `type string
    status string
    lastProbeTime Time
    lastTransitionTime Time
    reason string
    message string`,
  HostIP: `ip string`,
  PodIP: `ip string`,
  ContainerStatus: `name string
    state ContainerState
    lastState ContainerState
    ready bool
    restartCount int32
    image string
    imageID string
    containerID string
    started bool
    allocatedResources map<string,Quantity>
    resources ResourceRequirements`,
  ContainerState: `waiting ContainerStateWaiting
    running ContainerStateRunning
    terminated ContainerStateTerminated`,
  ContainerStateWaiting: `reason string
    message string`,
  ContainerStateRunning: `startedAt Time`,
  ContainerStateTerminated: `exitCode int32
    signal int32
    reason string
    message string
    startedAt Time
    finishedAt Time
    containerID string`,
  ReplicaSet: `metadata ObjectMeta
    spec ReplicaSetSpec
    status ReplicaSetStatus`,
  ReplicaSetSpec: `replicas int32
    minReadySeconds int32
    selector LabelSelector
    template PodTemplateSpec`,
  ReplicaSetStatus: `replicas int32
    fullyLabeledReplicas int32
    readyReplicas int32
    availableReplicas int32
    terminatingReplicas int32
    observedGeneration int64
    conditions []Condition`,
  StatefulSet: `metadata ObjectMeta
    spec StatefulSetSpec
    status StatefulSetStatus`,
  StatefulSetSpec: `replicas int32
    selector LabelSelector
    template PodTemplateSpec
    volumeClaimTemplates []PersistentVolumeClaim
    serviceName string
    podManagementPolicy string
    updateStrategy StatefulSetUpdateStrategy
    revisionHistoryLimit int32
    minReadySeconds int32
    persistentVolumeClaimRetentionPolicy StatefulSetPersistentVolumeClaimRetentionPolicy
    ordinals StatefulSetOrdinals`,
  StatefulSetUpdateStrategy: `type string
    rollingUpdate RollingUpdateStatefulSetStrategy`,
  RollingUpdateStatefulSetStrategy: `partition int32
    maxUnavailable IntOrString`,
  StatefulSetPersistentVolumeClaimRetentionPolicy: `whenDeleted string
    whenScaled string`,
  StatefulSetOrdinals: `start int32`,
  StatefulSetStatus: `observedGeneration int64
    replicas int32
    readyReplicas int32
    currentReplicas int32
    updatedReplicas int32
    currentRevision string
    updateRevision string
    collisionCount int32
    conditions []Condition
    availableReplicas int32`,
  DaemonSet: `metadata ObjectMeta
    spec DaemonSetSpec
    status DaemonSetStatus`,
  DaemonSetSpec: `selector LabelSelector
    template PodTemplateSpec
    updateStrategy DaemonSetUpdateStrategy
    minReadySeconds int32
    revisionHistoryLimit int32`,
  DaemonSetUpdateStrategy: `type string
    rollingUpdate RollingUpdateDaemonSet`,
  RollingUpdateDaemonSet: `maxUnavailable IntOrString
    maxSurge IntOrString`,
  DaemonSetStatus: `currentNumberScheduled int32
    numberMisscheduled int32
    desiredNumberScheduled int32
    numberReady int32
    observedGeneration int64
    updatedNumberScheduled int32
    numberAvailable int32
    numberUnavailable int32
    collisionCount int32
    conditions []Condition`,
  ControllerRevision: `metadata ObjectMeta
    revision int64`,
  PersistentVolumeClaim: `metadata ObjectMeta
    spec PersistentVolumeClaimSpec
    status PersistentVolumeClaimStatus`,
  PersistentVolumeClaimSpec: `accessModes []string
    selector LabelSelector
    resources VolumeResourceRequirements
    volumeName string
    storageClassName string
    volumeMode string`,
  VolumeResourceRequirements: `limits map<string,Quantity>
    requests map<string,Quantity>`,
  PersistentVolumeClaimStatus: `phase string
    accessModes []string
    capacity map<string,Quantity>`,
  PersistentVolume: `metadata ObjectMeta
    spec PersistentVolumeSpec
    status PersistentVolumeStatus`,
  PersistentVolumeSpec: `capacity map<string,Quantity>
    hostPath HostPathVolumeSource
    accessModes []string
    claimRef ObjectReference
    persistentVolumeReclaimPolicy string
    storageClassName string
    volumeMode string`,
  PersistentVolumeStatus: `phase string
    message string
    reason string`,
  Node: `metadata ObjectMeta
    spec NodeSpec
    status NodeStatus`,
  NodeSpec: `podCIDR string
    podCIDRs []string
    providerID string
    unschedulable bool
    taints []Taint`,
  Taint: `key string
    value string
    effect string
    timeAdded Time`,
  NodeStatus: `capacity map<string,Quantity>
    allocatable map<string,Quantity>
    phase string
    conditions []NodeCondition
    addresses []NodeAddress
    daemonEndpoints NodeDaemonEndpoints
    nodeInfo NodeSystemInfo`,
  NodeCondition: `type string
    status string
    lastHeartbeatTime Time
    lastTransitionTime Time
    reason string
    message string`,
  NodeAddress: `type string
    address string`,
  NodeDaemonEndpoints: `kubeletEndpoint DaemonEndpoint`,
  DaemonEndpoint: `Port int32`,
  NodeSystemInfo: `machineID string
    systemUUID string
    bootID string
    kernelVersion string
    osImage string
    containerRuntimeVersion string
    kubeletVersion string
    kubeProxyVersion string
    operatingSystem string
    architecture string`,
  Event: `metadata ObjectMeta
    involvedObject ObjectReference
    reason string
    message string
    source EventSource
    firstTimestamp Time
    lastTimestamp Time
    count int32
    type string
    eventTime MicroTime
    series EventSeries
    action string
    related ObjectReference
    reportingComponent string
    reportingInstance string`,
  EventSource: `component string
    host string`,
  EventSeries: `count int32
    lastObservedTime MicroTime`,
  Endpoints: `metadata ObjectMeta
    subsets []EndpointSubset`,
  EndpointSubset: `addresses []EndpointAddress
    notReadyAddresses []EndpointAddress
    ports []EndpointPort`,
  EndpointAddress: `ip string
    hostname string
    nodeName string
    targetRef ObjectReference`,
  EndpointPort: `name string
    port int32
    protocol string
    appProtocol string`,
  EndpointSlice: `metadata ObjectMeta
    addressType string
    endpoints []Endpoint
    ports []EndpointPort`,
  Endpoint: `addresses []string
    conditions EndpointConditions
    hostname string
    targetRef ObjectReference
    nodeName string
    zone string`,
  EndpointConditions: `ready bool
    serving bool
    terminating bool`,
  DeleteOptions: `gracePeriodSeconds int64
    preconditions Preconditions
    orphanDependents bool
    propagationPolicy string
    dryRun []string
    ignoreStoreReadErrorWithClusterBreakingPotential bool`,
  Preconditions: `uid string
    resourceVersion string`,
  Lease: `metadata ObjectMeta
    spec LeaseSpec`,
  LeaseSpec: `holderIdentity string
    leaseDurationSeconds int32
    acquireTime MicroTime
    renewTime MicroTime
    leaseTransitions int32
    strategy string
    preferredHolder string`,
};

interface Field {
  json: string;
  type: FieldType;
  inline: boolean;
}

const STRUCTS = new Map<string, Field[]>([
  ...[...MESSAGES.values()].map((m) => [m.name, m.order.map((f) => ({ json: f.json, type: f.type, inline: f.inline }))] as [string, Field[]]),
  ...Object.entries(EXTRA).map(([name, table]) => [
    name,
    table.split('\n').map((line) => {
      const [json, type, flag] = line.trim().split(/\s+/);
      return { json, type: parseType(type), inline: flag === 'inline' };
    }),
  ] as [string, Field[]]),
]);

/** The JSON fields of a struct, with its inlined structs' fields in it (as Go's JSON sees them). */
const fieldsCache = new Map<string, Map<string, Field>>();
function fieldsOf(struct: string): Map<string, Field> {
  let fields = fieldsCache.get(struct);
  if (fields) return fields;
  fields = new Map();
  for (const f of STRUCTS.get(struct) ?? []) {
    if (f.inline && f.type.kind === 'message') for (const [k, v] of fieldsOf(f.type.message)) fields.set(k, v);
    else fields.set(f.json, f);
  }
  fieldsCache.set(struct, fields);
  return fields;
}

const QUANTITY_PROBLEM = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

/** Go's name of a type in an error (`[]v1.Container`, `map[string]string`, `int32`). */
function goType(t: FieldType): string {
  switch (t.kind) {
    case 'scalar':
      return t.scalar === 'bytes' ? '[]uint8' : t.scalar;
    case 'list':
      return `[]${goType(t.item)}`;
    case 'map':
      return `map[string]${goType(t.value)}`;
    case 'message':
      if (t.message === 'Time' || t.message === 'MicroTime') return 'string';
      if (t.message === 'IntOrString') return 'int32';
      return `v1.${t.message}`;
  }
}

function jsonKind(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'boolean') return 'bool';
  return typeof v === 'object' ? 'object' : typeof v;
}

const INT_RANGE: Record<string, [number, number]> = { int32: [-(2 ** 31), 2 ** 31 - 1], int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER] };

/**
 * The first decoding problem of `obj` as a `kind`, worded as Go's decoder words it, or undefined.
 * Iterative (an explicit stack), so a deep body costs no call stack.
 */
export function shapeProblem(kind: string, obj: unknown): string | undefined {
  // Every kind has ObjectMeta, also those whose other fields are not tabled here.
  if (!STRUCTS.has(kind)) STRUCTS.set(kind, [{ json: 'metadata', type: { kind: 'message', message: 'ObjectMeta' }, inline: false }]);
  // Go reports the first type error in document order; a stack popped from its end visits
  // children in order when they are pushed in reverse.
  const stack: Array<{ value: unknown; type: FieldType; struct: string; path: string }> = [{ value: obj, type: { kind: 'message', message: kind }, struct: kind, path: '' }];
  while (stack.length > 0) {
    const { value, type, struct, path } = stack.pop()!;
    if (value === null || value === undefined) continue;
    const mismatch = (what = jsonKind(value)) => `json: cannot unmarshal ${what} into Go struct field ${struct}.${path} of type ${goType(type)}`;
    if (type.kind === 'scalar') {
      if (type.scalar === 'string' || type.scalar === 'bytes') {
        if (typeof value !== 'string') return mismatch();
        if (type.scalar === 'bytes' && !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) return 'illegal base64 data at input byte 0';
      } else if (type.scalar === 'bool') {
        if (typeof value !== 'boolean') return mismatch();
      } else {
        if (typeof value !== 'number') return mismatch();
        const [lo, hi] = INT_RANGE[type.scalar];
        if (!Number.isInteger(value) || value < lo || value > hi) return mismatch(`number ${value}`);
      }
      continue;
    }
    if (type.kind === 'list') {
      if (!Array.isArray(value)) return mismatch();
      for (let i = value.length - 1; i >= 0; i--) stack.push({ value: value[i], type: type.item, struct, path });
      continue;
    }
    if (type.kind === 'map') {
      if (typeof value !== 'object' || Array.isArray(value)) return mismatch();
      const entries = Object.values(value as object);
      for (let i = entries.length - 1; i >= 0; i--) stack.push({ value: entries[i], type: type.value, struct, path });
      continue;
    }
    switch (type.message) {
      case 'Time':
      case 'MicroTime':
        if (typeof value !== 'string') return mismatch();
        continue;
      case 'IntOrString':
        if (typeof value === 'string') continue;
        if (typeof value !== 'number') return mismatch();
        if (!Number.isInteger(value) || value < INT_RANGE.int32[0] || value > INT_RANGE.int32[1]) return mismatch(`number ${value}`);
        continue;
      case 'Quantity':
        if ((typeof value !== 'string' && typeof value !== 'number') || !isQuantity(String(value))) return QUANTITY_PROBLEM;
        continue;
      case 'FieldsV1':
        continue;
    }
    if (typeof value !== 'object' || Array.isArray(value)) return mismatch();
    const fields = fieldsOf(type.message);
    const keys = Object.keys(value as object);
    for (let i = keys.length - 1; i >= 0; i--) {
      const f = fields.get(keys[i]);
      if (!f) continue;
      // Go names the struct that holds the field, and the path of JSON names from the top.
      stack.push({ value: (value as Record<string, unknown>)[keys[i]], type: f.type, struct: type.message, path: path ? `${path}.${f.json}` : f.json });
    }
  }
  return undefined;
}
