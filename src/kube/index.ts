/**
 * The kube core: every part of KRE reads and writes Kubernetes through what is exported here.
 */
export {
  KubeClient,
  KubeApiError,
  KubeConfigError,
  loadKubeConfig,
  resourcePath,
  apiVersionOf,
  groupVersionOf,
  isNotFound,
  isConflict,
  isAlreadyExists,
  isExpired,
  SERVICE_ACCOUNT_DIR,
  type LoadKubeConfigOptions,
  type KubeClientOptions,
  type KubeObject,
  type KubeList,
  type ObjectMeta,
  type OwnerReference,
  type ResourceType,
  type ResourceRef,
  type ListOptions,
  type WatchOptions,
  type WatchEvent,
  type WatchEventType,
  type WatchStream,
  type WriteOptions,
  type DeleteOptions,
  type PatchType,
  type Status,
} from './client.ts';
export { ObjectStore, objectKey, keyOf, splitKey, addTo as addToIndex, removeFrom as removeFromIndex, type ReplaceResult } from './store.ts';
export { listAll, asCached, type ListAllOptions } from './list-all.ts';
export { sleep } from './sleep.ts';
export { Reflector, type ObjectEventType, type ReflectorOptions, type ReflectorHandlers, type ReflectorStats, type VerifyReport } from './reflector.ts';
export { classifyAgainstList, compareVersions, type CacheAgainstList, type ListDifferences, type Versioned } from './verify.ts';
export { WorkQueue, type WorkQueueOptions } from './workqueue.ts';
export {
  InformerCache,
  Informer,
  Index,
  BY_CONTROLLER,
  BY_NODE,
  type IndexFunc,
  type InformerKind,
  type CacheReflectorOptions,
} from './informers.ts';
export { WriteMemory, OwnWrites, versionNumber, type WriteMemoryOptions, type Remembered } from './write-memory.ts';
export {
  Controller,
  TerminalError,
  type ControllerOptions,
  type Reconciler,
  type ReconcileKey,
  type ReconcileContext,
  type ReconcileResult,
  type WatchedKind,
} from './controller.ts';
export * from './resources.ts';
export { Campaign, LeaderElector, microTime, type CampaignOptions, type LeaderElectionOptions, type Lease, type LeaseSpec } from './leader-election.ts';
export { applyObject, addFinalizer, removeFinalizer, updateStatusWithRetry, setControllerOwner } from './apply.ts';
export * from './selectors.ts';
export * from './quantity.ts';
export * from './names.ts';
export { canonicalJson, sameJson, withSortedKeys } from './json.ts';
// selfSignedCertificate lives in ./tls.ts, imported directly: it loads @peculiar/x509 and reflect-metadata, which most users of the kube core do not need.
export * from './url-path.ts';
export { EventRecorder, type EventRecorderOptions, type EventRecorderStats, type EventSource, type EventType } from './events.ts';
export { createLogger, serializeError, MAX_ERROR_TEXT, type Logger } from './logger.ts';
export { readConfigFile, parseConfig, readSecretFile, parseHostPort, hostPort, urlHost, leaseTimings, leaseTimingsInOrder, leaseTimingsMs, LEASE_TIMINGS_ORDER, DEFAULT_LISTEN_HOST, type HostPort, type LeaseTimings } from './config-file.ts';
export { ConfigError } from './config-error.ts';
export { servePartHttp, bearerMatches, listening, type PartHttp, type PartHttpOptions, type PathHandler } from './serve-http.ts';
export { toTable, parseTableAccept, parseIncludeObject, humanDuration, ageSince, formatLabels, formatSelector, podSummary, evalJsonPath, type TableResource, type TableOptions, type IncludeObject, type ListMeta, type Table, type TableRow } from './table.ts';
export type {
  LabelSelector,
  LabelSelectorRequirement,
  Condition,
  ResourceList,
  ResourceRequirements,
  PodTemplateSpec,
  ContainerPort,
  EnvVarSource,
  EnvFromSource,
  KeySelector,
  EnvVar,
  VolumeMount,
  Probe,
  Container,
  Volume,
  Toleration,
  Taint,
  NodeSelectorRequirement,
  NodeSelectorTerm,
  Affinity,
  PodSpec,
  ContainerState,
  ContainerStatus,
  PodStatus,
  Pod,
  DeploymentSpec,
  DeploymentStatus,
  Deployment,
  ReplicaSetSpec,
  ReplicaSetStatus,
  ReplicaSet,
  PersistentVolumeClaimSpec,
  PersistentVolumeClaim,
  PersistentVolumeSpec,
  PersistentVolume,
  StatefulSetSpec,
  StatefulSetStatus,
  StatefulSet,
  DaemonSetSpec,
  DaemonSetStatus,
  DaemonSet,
  JobSpec,
  JobStatus,
  Job,
  ControllerRevision,
  ServicePort,
  ServiceSpec,
  LoadBalancerStatus,
  Service,
  EndpointAddress,
  EndpointSubset,
  Endpoints,
  EndpointSlice,
  Ingress,
  NodeAddress,
  NodeSpec,
  NodeStatus,
  Node,
  Namespace,
  ConfigMap,
  Secret,
  ServiceAccount,
  PolicyRule,
  Role,
  Subject,
  RoleBinding,
  ObjectReference,
  Event,
  CustomResourceDefinitionVersion,
  CustomResourceDefinition,
} from './kinds.ts';
export { qosClass, podQosClass, QOS_CLASSES, type QosClass } from './qos.ts';
