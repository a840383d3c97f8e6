/**
 * The Endpoints and EndpointSlice controllers in one: for each Service with a selector, the pods
 * it selects that have an IP — ready ones in `addresses`, the others in `notReadyAddresses` (and
 * `conditions.ready: false` in the slice) — rewritten whenever a pod's readiness or IP changes.
 * Terminating pods leave the Endpoints and show as terminating in the slice.
 */
import { canonicalJson, generateNameSuffix, keyOf, splitKey, labelSelectorFromObject, type KubeObject } from '../../kube/index.ts';
import { createObject, deleteObject, type ControllerContext } from './context.ts';
import { ControlLoop } from './loop.ts';
import { isFinished, isReady, isTerminating } from './pods.ts';
import { ENDPOINTS, ENDPOINTSLICES, PODS, SERVICES } from './resources.ts';

const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
const MANAGED_BY = 'endpointslice.kubernetes.io/managed-by';

/** A Service port's target on a pod: its number, or the container port of that name. */
function targetPort(port: any, pod: KubeObject): number | undefined {
  const target = port.targetPort ?? port.port;
  if (typeof target === 'number') return target;
  if (/^\d+$/.test(String(target))) return Number(target);
  for (const c of pod.spec?.containers ?? []) for (const p of c.ports ?? []) if (p.name === target) return p.containerPort;
  return undefined;
}

export function startEndpointsController(ctx: ControllerContext): ControlLoop {
  const services = ctx.informers.for(SERVICES);
  const pods = ctx.informers.for(PODS);
  const endpoints = ctx.informers.for(ENDPOINTS);
  const slices = ctx.informers.for(ENDPOINTSLICES);
  const loop = new ControlLoop('endpoints', reconcile, ctx.log);

  const enqueueObj = (s: KubeObject) => loop.enqueue(keyOf(s.metadata.namespace, s.metadata.name!));
  services.on({ onAdd: enqueueObj, onUpdate: (_o, s) => enqueueObj(s), onDelete: enqueueObj });
  const podChanged = (...versions: KubeObject[]) => {
    const namespace = versions[0].metadata.namespace;
    for (const svc of services.list(namespace)) {
      if (!svc.spec?.selector) continue;
      const sel = labelSelectorFromObject({ matchLabels: svc.spec.selector });
      if (versions.some((p) => sel.matches(p.metadata.labels ?? {}))) enqueueObj(svc);
    }
  };
  pods.on({
    onAdd: (p) => podChanged(p),
    onUpdate: (o, p) => {
      // Only what Endpoints show matters: IP, readiness, node, labels, deletion.
      const view = (x: KubeObject) => canonicalJson([x.status?.podIP, isReady(x), x.spec?.nodeName, x.metadata.labels, x.metadata.deletionTimestamp, x.status?.phase]);
      if (view(o) !== view(p)) podChanged(o, p);
    },
    onDelete: (p) => podChanged(p),
  });

  async function reconcile(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const svc = services.get(namespace, name);
    const existingSlices = slices.list(namespace, { matchLabels: { [SERVICE_NAME_LABEL]: name } });
    if (!svc || !svc.spec?.selector) {
      // Without a selector the Endpoints are the user's; without the Service ours go (the slices
      // go with it by their owner reference).
      const ep = endpoints.get(namespace, name);
      if (!svc && ep?.metadata.labels?.['endpoints.kubernetes.io/managed-by'] === 'endpoint-controller') await deleteObject(ctx, endpoints, ep);
      return;
    }
    const selected = pods
      .list(namespace, { matchLabels: svc.spec.selector })
      .filter((p) => p.status?.podIP && !isFinished(p))
      .sort((a, b) => (a.metadata.name! < b.metadata.name! ? -1 : 1));
    const address = (p: KubeObject) => ({
      ip: p.status.podIP,
      ...(p.spec?.hostname && p.spec?.subdomain === name ? { hostname: p.spec.hostname } : {}),
      nodeName: p.spec?.nodeName,
      targetRef: { kind: 'Pod', namespace, name: p.metadata.name, uid: p.metadata.uid },
    });
    const publishNotReady = svc.spec.publishNotReadyAddresses === true;
    const live = selected.filter((p) => !isTerminating(p));
    const ready = live.filter((p) => publishNotReady || isReady(p));
    const notReady = live.filter((p) => !publishNotReady && !isReady(p));
    const ports = (svc.spec.ports ?? []).map((port: any) => ({
      ...(port.name ? { name: port.name } : {}),
      port: (selected[0] && targetPort(port, selected[0])) ?? (typeof port.targetPort === 'number' ? port.targetPort : port.port),
      protocol: port.protocol ?? 'TCP',
      ...(port.appProtocol ? { appProtocol: port.appProtocol } : {}),
    }));
    const subsets =
      live.length === 0
        ? undefined
        : [
            {
              ...(ready.length ? { addresses: ready.map(address) } : {}),
              ...(notReady.length ? { notReadyAddresses: notReady.map(address) } : {}),
              ...(ports.length ? { ports } : {}),
            },
          ];
    const labels = { ...(svc.metadata.labels ?? {}), 'endpoints.kubernetes.io/managed-by': 'endpoint-controller' };
    const owner = { apiVersion: 'v1', kind: 'Service', name, uid: svc.metadata.uid!, controller: true, blockOwnerDeletion: true };
    const current = endpoints.get(namespace, name);
    const ep: KubeObject = { apiVersion: 'v1', kind: 'Endpoints', metadata: { name, namespace, labels }, ...(subsets ? { subsets } : {}) };
    if (!current) await createObject(ctx, endpoints, ep);
    else if (canonicalJson([current.subsets ?? null, current.metadata.labels]) !== canonicalJson([ep.subsets ?? null, labels])) {
      const updated = await ctx.client.update({ ...ENDPOINTS, namespace, name }, { ...current, metadata: { ...current.metadata, labels }, subsets: ep.subsets });
      endpoints.wrote(updated);
    }

    const sliceEndpoints = selected.map((p) => ({
      addresses: [p.status.podIP],
      conditions: { ready: !isTerminating(p) && (publishNotReady || isReady(p)), serving: publishNotReady || isReady(p), terminating: isTerminating(p) },
      ...(p.spec?.hostname && p.spec?.subdomain === name ? { hostname: p.spec.hostname } : {}),
      targetRef: { kind: 'Pod', namespace, name: p.metadata.name, uid: p.metadata.uid },
      nodeName: p.spec?.nodeName,
    }));
    const sliceLabels = { ...(svc.metadata.labels ?? {}), [SERVICE_NAME_LABEL]: name, [MANAGED_BY]: 'endpointslice-controller.k8s.io' };
    const body = { addressType: 'IPv4', endpoints: sliceEndpoints, ports };
    const [slice, ...others] = existingSlices;
    for (const extra of others) await deleteObject(ctx, slices, extra);
    if (!slice) {
      await createObject(ctx, slices, {
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: { name: `${name}-${generateNameSuffix()}`, generateName: `${name}-`, namespace, labels: sliceLabels, ownerReferences: [owner] },
        ...body,
      });
    } else if (canonicalJson([slice.endpoints ?? [], slice.ports ?? [], slice.metadata.labels]) !== canonicalJson([body.endpoints, body.ports, sliceLabels])) {
      const updated = await ctx.client.update({ ...ENDPOINTSLICES, namespace, name: slice.metadata.name! }, { ...slice, ...body, metadata: { ...slice.metadata, labels: sliceLabels } });
      slices.wrote(updated);
    }
  }

  return loop;
}
