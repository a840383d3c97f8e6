/**
 * The kinds the devcluster's controllers, scheduler and kubelets read and write, as the kube
 * core's ResourceType (group, version, plural, kind).
 */
import type { ResourceType } from '../../kube/index.ts';

const core = (plural: string, kind: string, namespaced = true): ResourceType & { kind: string } => ({ group: '', version: 'v1', plural, kind, namespaced });
const apps = (plural: string, kind: string): ResourceType & { kind: string } => ({ group: 'apps', version: 'v1', plural, kind, namespaced: true });

export const PODS = core('pods', 'Pod');
export const NODES = core('nodes', 'Node', false);
export const SERVICES = core('services', 'Service');
export const ENDPOINTS = core('endpoints', 'Endpoints');
export const EVENTS = core('events', 'Event');
export const SECRETS = core('secrets', 'Secret');
export const CONFIGMAPS = core('configmaps', 'ConfigMap');
export const PVCS = core('persistentvolumeclaims', 'PersistentVolumeClaim');
export const DEPLOYMENTS = apps('deployments', 'Deployment');
export const REPLICASETS = apps('replicasets', 'ReplicaSet');
export const STATEFULSETS = apps('statefulsets', 'StatefulSet');
export const DAEMONSETS = apps('daemonsets', 'DaemonSet');
export const CONTROLLERREVISIONS = apps('controllerrevisions', 'ControllerRevision');
export const JOBS: ResourceType & { kind: string } = { group: 'batch', version: 'v1', plural: 'jobs', kind: 'Job', namespaced: true };
export const ENDPOINTSLICES: ResourceType & { kind: string } = {
  group: 'discovery.k8s.io',
  version: 'v1',
  plural: 'endpointslices',
  kind: 'EndpointSlice',
  namespaced: true,
};
export const LEASES: ResourceType & { kind: string } = { group: 'coordination.k8s.io', version: 'v1', plural: 'leases', kind: 'Lease', namespaced: true };
