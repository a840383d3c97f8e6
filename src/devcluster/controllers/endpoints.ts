/**
 * The Endpoints and EndpointSlice controllers in one: for each Service with a selector, the pods
 * it selects that have an IP — ready ones in `addresses`, the others in `notReadyAddresses` (and
 * `conditions.ready: false` in the slice) — rewritten whenever a pod's readiness or IP changes.
 * Terminating pods leave the Endpoints and show as terminating in the slice.
 */
import { ENDPOINTS, ENDPOINTSLICES, PODS, SERVICES, Controller, generateNameSuffix, labelSelectorFromObject, objectKey, type Endpoints, type KubeObject, type Pod, type ReconcileKey, type Reconciler, type Service, type ServicePort } from '../../kube/index.ts';
import { canonicalJson } from '../../kube/index.ts';
import { controllerOptions, createObject, deleteObject, informersOf, updateObject, type ControllerContext } from './context.ts';
import { isFinished, isReady, isTerminating } from './pods.ts';

const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
const MANAGED_BY = 'endpointslice.kubernetes.io/managed-by';

/** A Service port's target on a pod: its number, or the container port of that name. */
function targetPort(port: ServicePort, pod: Pod): number | undefined {
  const target = port.targetPort ?? port.port;
  if (typeof target === 'number') return target;
  if (/^\d+$/.test(String(target))) return Number(target);
  for (const c of pod.spec?.containers ?? []) for (const p of c.ports ?? []) if (p.name === target) return p.containerPort;
  return undefined;
}

export function endpointsController(ctx: ControllerContext): Controller {
  const controller = new Controller({ ...controllerOptions(ctx, 'endpoints', 4), primary: SERVICES, reconciler: new EndpointsReconciler(ctx) });
  // A pod concerns the Services of its namespace whose selector matches it (before or after).
  const podChanged = (...versions: KubeObject[]) => {
    const services: Service[] = controller.primary.list(versions[0].metadata.namespace);
    for (const svc of services) {
      if (!svc.spec?.selector) continue;
      const sel = labelSelectorFromObject({ matchLabels: svc.spec.selector });
      if (versions.some((p) => sel.matches(p.metadata.labels ?? {}))) controller.enqueue(objectKey(svc));
    }
  };
  // Only what Endpoints show matters: IP, readiness, node, labels, deletion.
  const view = (x: Pod) => canonicalJson([x.status?.podIP, isReady(x), x.spec?.nodeName, x.metadata.labels, x.metadata.deletionTimestamp, x.status?.phase]);
  ctx.informers.for(PODS).addHandlers({
    onAdd: (p) => podChanged(p),
    onUpdate: (o, p) => view(o) !== view(p) && podChanged(o, p),
    onDelete: (p) => podChanged(p),
  });
  return controller;
}

class EndpointsReconciler implements Reconciler {
  private readonly cache;

  constructor(private readonly ctx: ControllerContext) {
    this.cache = informersOf(ctx, { services: SERVICES, pods: PODS, endpoints: ENDPOINTS, slices: ENDPOINTSLICES });
  }

  async reconcile({ namespace, name }: ReconcileKey): Promise<void> {
    const svc: Service | undefined = this.cache.services.get(namespace, name);
    if (!svc || !svc.spec?.selector) {
      // Without a selector the Endpoints are the user's; without the Service ours go (the slices
      // go with it by their owner reference).
      const ep = this.cache.endpoints.get(namespace, name);
      if (!svc && ep?.metadata.labels?.['endpoints.kubernetes.io/managed-by'] === 'endpoint-controller') await deleteObject(this.ctx, this.cache.endpoints, ep);
      return;
    }
    const pods: Pod[] = this.cache.pods.list(namespace, { matchLabels: svc.spec.selector });
    const selected = pods
      .filter((p) => p.status?.podIP && !isFinished(p))
      .sort((a, b) => (a.metadata.name! < b.metadata.name! ? -1 : 1));
    const ports = (svc.spec.ports ?? []).map((port) => ({
      ...(port.name ? { name: port.name } : {}),
      port: (selected[0] && targetPort(port, selected[0])) ?? (typeof port.targetPort === 'number' ? port.targetPort : port.port),
      protocol: port.protocol ?? 'TCP',
      ...(port.appProtocol ? { appProtocol: port.appProtocol } : {}),
    }));
    await this.syncEndpoints(svc, selected, ports);
    await this.syncSlice(svc, selected, ports);
  }

  private async syncEndpoints(svc: Service, selected: Pod[], ports: unknown[]): Promise<void> {
    const { namespace, name } = svc.metadata;
    const publishNotReady = svc.spec?.publishNotReadyAddresses === true;
    const address = (p: Pod) => ({
      ip: p.status?.podIP,
      ...(p.spec?.hostname && p.spec?.subdomain === name ? { hostname: p.spec.hostname } : {}),
      nodeName: p.spec?.nodeName,
      targetRef: { kind: 'Pod', namespace, name: p.metadata.name, uid: p.metadata.uid },
    });
    const live = selected.filter((p) => !isTerminating(p));
    const ready = live.filter((p) => publishNotReady || isReady(p));
    const notReady = live.filter((p) => !publishNotReady && !isReady(p));
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
    const current: Endpoints | undefined = this.cache.endpoints.get(namespace, name!);
    const ep: KubeObject = { apiVersion: 'v1', kind: 'Endpoints', metadata: { name, namespace, labels }, ...(subsets ? { subsets } : {}) };
    if (!current) await createObject(this.ctx, this.cache.endpoints, ep);
    else if (canonicalJson([current.subsets ?? null, current.metadata.labels]) !== canonicalJson([ep.subsets ?? null, labels])) {
      await updateObject(this.ctx, this.cache.endpoints, { ...current, metadata: { ...current.metadata, labels }, subsets: ep.subsets });
    }
  }

  private async syncSlice(svc: Service, selected: Pod[], ports: unknown[]): Promise<void> {
    const { namespace, name } = svc.metadata;
    const publishNotReady = svc.spec?.publishNotReadyAddresses === true;
    const sliceEndpoints = selected.map((p) => ({
      addresses: [p.status?.podIP],
      conditions: { ready: !isTerminating(p) && (publishNotReady || isReady(p)), serving: publishNotReady || isReady(p), terminating: isTerminating(p) },
      ...(p.spec?.hostname && p.spec?.subdomain === name ? { hostname: p.spec.hostname } : {}),
      targetRef: { kind: 'Pod', namespace, name: p.metadata.name, uid: p.metadata.uid },
      nodeName: p.spec?.nodeName,
    }));
    const sliceLabels = { ...(svc.metadata.labels ?? {}), [SERVICE_NAME_LABEL]: name!, [MANAGED_BY]: 'endpointslice-controller.k8s.io' };
    const body = { addressType: 'IPv4', endpoints: sliceEndpoints, ports };
    const [slice, ...others] = this.cache.slices.list(namespace, { matchLabels: { [SERVICE_NAME_LABEL]: name! } });
    for (const extra of others) await deleteObject(this.ctx, this.cache.slices, extra);
    if (!slice) {
      const owner = { apiVersion: 'v1', kind: 'Service', name: name!, uid: svc.metadata.uid!, controller: true, blockOwnerDeletion: true };
      await createObject(this.ctx, this.cache.slices, {
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: { name: `${name}-${generateNameSuffix()}`, generateName: `${name}-`, namespace, labels: sliceLabels, ownerReferences: [owner] },
        ...body,
      });
    } else if (canonicalJson([slice.endpoints ?? [], slice.ports ?? [], slice.metadata.labels]) !== canonicalJson([body.endpoints, body.ports, sliceLabels])) {
      await updateObject(this.ctx, this.cache.slices, { ...slice, ...body, metadata: { ...slice.metadata, labels: sliceLabels } });
    }
  }
}
