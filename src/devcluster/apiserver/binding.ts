/**
 * `POST pods/{name}/binding`: how a scheduler assigns a pod to a node. As on a real server, the
 * pod's `spec.nodeName` may change only this way (an update that sets it is a 422), a bound or
 * terminating pod answers 409, and the binding marks the pod `PodScheduled=True`. The write is the
 * server's own, so it records no managed fields.
 */
import { errors, cause } from './errors.ts';
import type { ObjectService } from './objects.ts';
import { clone } from './patch/json-value.ts';
import type { ResourceType } from './resources.ts';

const time = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

export function bindPod(objects: ObjectService, pods: ResourceType, namespace: string, name: string, binding: any): void {
  if (binding?.metadata?.name && binding.metadata.name !== name) throw errors.badRequest('name in URL does not match name in Binding object');
  const node = binding?.target?.name;
  if (typeof node !== 'string' || node === '') {
    throw errors.invalid('Binding', '', name, [cause.required('target.name')]);
  }
  const current = objects.get(pods, namespace, name);
  const pod = current.obj;
  const conflict = (why: string) => errors.conflict('pods/binding', '', name, why);
  if (pod.metadata.deletionTimestamp) throw conflict(`pod ${name} is being deleted, cannot be assigned to a host`);
  if (pod.spec?.nodeName) throw conflict(`pod ${name} is already assigned to node ${JSON.stringify(pod.spec.nodeName)}`);
  const next = clone(pod);
  next.spec.nodeName = node;
  const annotations = binding.metadata?.annotations;
  if (annotations && typeof annotations === 'object') next.metadata.annotations = { ...next.metadata.annotations, ...annotations };
  const conditions: any[] = (next.status ??= {}).conditions ?? [];
  const scheduled = { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: time() };
  const i = conditions.findIndex((c) => c.type === 'PodScheduled');
  if (i >= 0) conditions[i] = conditions[i].status === 'True' ? conditions[i] : scheduled;
  else conditions.push(scheduled);
  next.status.conditions = conditions;
  objects.put(pods, next, current);
}
