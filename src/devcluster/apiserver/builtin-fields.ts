/**
 * Unknown fields of built-in kinds, at the level a loose check can see them: the top-level fields
 * of each kind and ObjectMeta. A real server decodes into Go structs and drops (or, under
 * `fieldValidation=Strict`, refuses) any field they lack; the contents of `spec` and `status` are
 * not checked here.
 */
import { pruneValue } from './crd-schema.ts';
import type { ResourceType } from './resources.ts';

const SPEC_STATUS = ['spec', 'status'];

const TOP_LEVEL: Record<string, string[]> = {
  '/Namespace': SPEC_STATUS,
  '/Pod': SPEC_STATUS,
  '/Service': SPEC_STATUS,
  '/PersistentVolumeClaim': SPEC_STATUS,
  '/PersistentVolume': SPEC_STATUS,
  '/Node': SPEC_STATUS,
  '/Endpoints': ['subsets'],
  '/ConfigMap': ['data', 'binaryData', 'immutable'],
  '/Secret': ['data', 'stringData', 'type', 'immutable'],
  '/ServiceAccount': ['secrets', 'imagePullSecrets', 'automountServiceAccountToken'],
  '/Event': ['involvedObject', 'reason', 'message', 'source', 'firstTimestamp', 'lastTimestamp', 'count', 'type', 'eventTime', 'series', 'action', 'related', 'reportingComponent', 'reportingInstance'],
  'apps/Deployment': SPEC_STATUS,
  'apps/ReplicaSet': SPEC_STATUS,
  'apps/StatefulSet': SPEC_STATUS,
  'apps/DaemonSet': SPEC_STATUS,
  'apps/ControllerRevision': ['data', 'revision'],
  'batch/Job': SPEC_STATUS,
  'rbac.authorization.k8s.io/Role': ['rules'],
  'rbac.authorization.k8s.io/ClusterRole': ['rules', 'aggregationRule'],
  'rbac.authorization.k8s.io/RoleBinding': ['subjects', 'roleRef'],
  'rbac.authorization.k8s.io/ClusterRoleBinding': ['subjects', 'roleRef'],
  'networking.k8s.io/Ingress': SPEC_STATUS,
  'discovery.k8s.io/EndpointSlice': ['addressType', 'endpoints', 'ports'],
  'coordination.k8s.io/Lease': ['spec'],
  'apiextensions.k8s.io/CustomResourceDefinition': SPEC_STATUS,
};

const schemas = new Map<string, object>();

/** Removes the unknown top-level and metadata fields of a built-in object; returns their paths. */
export function pruneBuiltin(t: ResourceType, obj: unknown): string[] {
  const key = `${t.group}/${t.kind}`;
  const fields = TOP_LEVEL[key];
  if (!fields) return [];
  let schema = schemas.get(key);
  if (!schema) {
    schema = { type: 'object', properties: Object.fromEntries(fields.map((f) => [f, { 'x-kubernetes-preserve-unknown-fields': true }])) };
    schemas.set(key, schema);
  }
  const pruned: string[] = [];
  pruneValue(schema, obj, '', pruned, true);
  return pruned;
}
