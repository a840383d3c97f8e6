/**
 * The built-in kinds KRE reads and writes, as the ResourceType the client takes (group, version,
 * plural, kind, scope): one table, so that a kind is spelled once.
 */
import type { ResourceType } from './client.ts';

export type BuiltinKind = ResourceType & { kind: string };

const core = (plural: string, kind: string, namespaced = true): BuiltinKind => ({ group: '', version: 'v1', plural, kind, namespaced });
const inGroup = (group: string, plural: string, kind: string, namespaced = true): BuiltinKind => ({ group, version: 'v1', plural, kind, namespaced });

export const NAMESPACES = core('namespaces', 'Namespace', false);
export const NODES = core('nodes', 'Node', false);
export const PODS = core('pods', 'Pod');
export const SERVICES = core('services', 'Service');
export const ENDPOINTS = core('endpoints', 'Endpoints');
export const EVENTS = core('events', 'Event');
export const SECRETS = core('secrets', 'Secret');
export const CONFIGMAPS = core('configmaps', 'ConfigMap');
export const PVCS = core('persistentvolumeclaims', 'PersistentVolumeClaim');
export const DEPLOYMENTS = inGroup('apps', 'deployments', 'Deployment');
export const REPLICASETS = inGroup('apps', 'replicasets', 'ReplicaSet');
export const STATEFULSETS = inGroup('apps', 'statefulsets', 'StatefulSet');
export const DAEMONSETS = inGroup('apps', 'daemonsets', 'DaemonSet');
export const CONTROLLERREVISIONS = inGroup('apps', 'controllerrevisions', 'ControllerRevision');
export const JOBS = inGroup('batch', 'jobs', 'Job');
export const ENDPOINTSLICES = inGroup('discovery.k8s.io', 'endpointslices', 'EndpointSlice');
export const INGRESSES = inGroup('networking.k8s.io', 'ingresses', 'Ingress');
export const LEASES = inGroup('coordination.k8s.io', 'leases', 'Lease');
export const CRDS = inGroup('apiextensions.k8s.io', 'customresourcedefinitions', 'CustomResourceDefinition', false);
