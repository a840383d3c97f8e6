/**
 * Workloads on a devcluster with three simulated nodes, driven through kubectl as a user would:
 * Deployments roll out and update, StatefulSets create their pods in order with their claims,
 * DaemonSets cover every node, Endpoints follow readiness, Jobs complete.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type {
  Condition,
  ControllerRevision,
  DaemonSet,
  Deployment,
  Endpoints,
  Job,
  KubeList,
  KubeObject,
  PersistentVolumeClaim,
  Pod,
  PodTemplateSpec,
  ReplicaSet,
  StatefulSet,
} from '../../kube/index.ts';
import { startDevCluster, type DevCluster } from '../index.ts';
import { eventually, kubectlFor, rawRequest } from '../testing.ts';

let cluster: DevCluster;

const { run: kubectl, ok } = kubectlFor(() => cluster.kubeconfigPath);

/** What `kubectl get … -o json` prints, read as `T`. */
async function get<T>(args: string[]): Promise<T> {
  return JSON.parse(await ok([...args, '-o', 'json']));
}

/** The items of the list `kubectl get … -o json` prints. */
async function items<T extends KubeObject>(args: string[]): Promise<T[]> {
  return (await get<KubeList<T>>(args)).items;
}

function condition(conditions: Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/** A ControllerRevision of a set: the patch that puts its pod template back. */
interface TemplateRevision extends ControllerRevision {
  data: { spec: { template: PodTemplateSpec & { $patch?: string } } };
}

interface EndpointSlice extends KubeObject {
  endpoints?: { conditions: { ready?: boolean } }[];
}

before(async () => {
  cluster = await startDevCluster({ nodes: 3 });
});
after(async () => {
  await cluster.stop();
});

test('kubectl rollout status returns once the pods run, and an image change rolls every pod onto a new ReplicaSet', async () => {
  await ok(['create', 'deployment', 'web', '--image=registry.example/web:1', '--replicas=3']);
  await ok(['rollout', 'status', 'deployment/web', '--timeout=60s']);
  const pods = await items<Pod>(['get', 'pods', '-l', 'app=web']);
  assert.equal(pods.length, 3);
  const rs = await items<ReplicaSet>(['get', 'rs', '-l', 'app=web']);
  assert.equal(rs.length, 1);
  const hash = rs[0].metadata.labels?.['pod-template-hash'] ?? '';
  assert.match(rs[0].metadata.name ?? '', new RegExp(`^web-${hash}$`));
  assert.match(hash, /^[bcdfghjklmnpqrstvwxz2456789]{6,10}$/);
  assert.equal(rs[0].metadata.annotations?.['deployment.kubernetes.io/revision'], '1');
  for (const pod of pods) {
    assert.equal(pod.status?.phase, 'Running');
    assert.match(pod.metadata.name ?? '', new RegExp(`^web-${hash}-[bcdfghjklmnpqrstvwxz2456789]{5}$`));
    assert.equal(pod.metadata.ownerReferences?.[0].name, rs[0].metadata.name);
    assert.match(pod.status?.containerStatuses?.[0].containerID ?? '', /^containerd:\/\/[0-9a-f]{64}$/);
    assert.match(pod.status?.podIP ?? '', /^10\.244\.\d+\.\d+$/);
  }

  await ok(['set', 'image', 'deployment/web', 'web=registry.example/web:2']);
  await ok(['rollout', 'status', 'deployment/web', '--timeout=90s']);
  const d = await get<Deployment>(['get', 'deployment', 'web']);
  assert.equal(d.metadata.annotations?.['deployment.kubernetes.io/revision'], '2');
  assert.equal(d.status?.updatedReplicas, 3);
  assert.equal(d.status?.availableReplicas, 3);
  assert.equal(condition(d.status?.conditions, 'Progressing')?.reason, 'NewReplicaSetAvailable');
  assert.equal(condition(d.status?.conditions, 'Available')?.reason, 'MinimumReplicasAvailable');
  const after = await eventually(async () => {
    const list = await items<Pod>(['get', 'pods', '-l', 'app=web']);
    return list.length === 3 && list.every((p) => p.spec?.containers[0].image === 'registry.example/web:2') && list;
  }, 60_000, 'the old pods to be gone');
  const newHash = after[0].metadata.labels?.['pod-template-hash'];
  assert.notEqual(newHash, hash);
  const oldRS = await get<ReplicaSet>(['get', 'rs', `web-${hash}`]);
  assert.equal(oldRS.spec?.replicas, 0);
});

test('kubectl scale changes the number of pods', async () => {
  await ok(['create', 'deployment', 'scaled', '--image=registry.example/scaled:1', '--replicas=1']);
  await ok(['rollout', 'status', 'deployment/scaled', '--timeout=60s']);
  await ok(['scale', 'deployment/scaled', '--replicas=5']);
  await ok(['rollout', 'status', 'deployment/scaled', '--timeout=60s']);
  await eventually(async () => (await items<Pod>(['get', 'pods', '-l', 'app=scaled'])).filter((p) => p.status?.phase === 'Running').length === 5, 60_000, '5 pods');
  await ok(['scale', 'deployment/scaled', '--replicas=2']);
  await eventually(async () => (await items<Pod>(['get', 'pods', '-l', 'app=scaled'])).length === 2, 60_000, '2 pods');
  const d = await eventually(async () => {
    const obj = await get<Deployment>(['get', 'deployment', 'scaled']);
    return obj.status?.replicas === 2 && obj.status.availableReplicas === 2 && obj;
  }, 30_000, 'status of 2 replicas');
  assert.equal(d.status?.observedGeneration, d.metadata.generation);
});

test('a StatefulSet creates kre-mongo-0, waits for it to be Ready, then kre-mongo-1, with their claims', async () => {
  await ok(['apply', '-f', '-'], JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'kre-mongo' },
    spec: {
      replicas: 2,
      serviceName: 'kre-mongo',
      selector: { matchLabels: { app: 'kre-mongo' } },
      template: {
        metadata: { labels: { app: 'kre-mongo' } },
        spec: { containers: [{ name: 'mongo', image: 'mongo:7', readinessProbe: { tcpSocket: { port: 27017 }, initialDelaySeconds: 1 } }] },
      },
      volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }],
    },
  }));
  const both = await eventually(async () => {
    const list = await items<Pod>(['get', 'pods', '-l', 'app=kre-mongo']);
    return list.length === 2 && list.every((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) && list;
  }, 60_000, 'two ready mongo pods');
  const byName = new Map(both.map((p) => [p.metadata.name, p]));
  const first = byName.get('kre-mongo-0');
  const second = byName.get('kre-mongo-1');
  assert.ok(first && second, `pod names: ${[...byName.keys()]}`);
  const readyAt = Date.parse(condition(first.status?.conditions, 'Ready')?.lastTransitionTime ?? '');
  assert.ok(Date.parse(second.metadata.creationTimestamp ?? '') >= readyAt, 'kre-mongo-1 was created before kre-mongo-0 was Ready');
  assert.equal(first.metadata.labels?.['statefulset.kubernetes.io/pod-name'], 'kre-mongo-0');
  assert.equal(second.metadata.labels?.['apps.kubernetes.io/pod-index'], '1');
  assert.equal(first.spec?.hostname, 'kre-mongo-0');
  assert.equal(first.spec?.subdomain, 'kre-mongo');
  const set = await eventually(async () => {
    const s = await get<StatefulSet>(['get', 'statefulset', 'kre-mongo']);
    return s.status?.readyReplicas === 2 && s;
  }, 30_000, 'the StatefulSet status');
  assert.equal(first.metadata.labels?.['controller-revision-hash'], set.status?.updateRevision);
  assert.equal(set.status?.currentRevision, set.status?.updateRevision);
  assert.equal(set.status?.availableReplicas, 2);
  const claims = (await items<PersistentVolumeClaim>(['get', 'pvc'])).map((c) => [c.metadata.name, c.status?.phase]).sort();
  assert.deepEqual(claims, [['data-kre-mongo-0', 'Bound'], ['data-kre-mongo-1', 'Bound']]);
  assert.equal(first.spec?.volumes?.find((v) => v.name === 'data')?.persistentVolumeClaim?.claimName, 'data-kre-mongo-0');
});

test('a DaemonSet runs one pod on every node', async () => {
  await ok(['apply', '-f', '-'], JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'agent' },
    spec: {
      selector: { matchLabels: { app: 'agent' } },
      template: { metadata: { labels: { app: 'agent' } }, spec: { containers: [{ name: 'agent', image: 'kre-agent:1' }] } },
    },
  }));
  const pods = await eventually(async () => {
    const list = await items<Pod>(['get', 'pods', '-l', 'app=agent']);
    return list.length === 3 && list.every((p) => p.status?.phase === 'Running') && list;
  }, 60_000, 'a daemon pod per node');
  assert.deepEqual(pods.map((p) => p.spec?.nodeName).sort(), ['kre-node-1', 'kre-node-2', 'kre-node-3']);
  await eventually(async () => {
    const ds = await get<DaemonSet>(['get', 'daemonset', 'agent']);
    return ds.status?.desiredNumberScheduled === 3 && ds.status.numberReady === 3;
  }, 30_000, 'the DaemonSet status');
});

test('Endpoints list the ready pods, and the not-ready ones apart, as readiness changes', async () => {
  const deployment = (name: string, annotations: Record<string, string>) => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'api', variant: name } },
      template: { metadata: { labels: { app: 'api', variant: name }, annotations }, spec: { containers: [{ name: 'api', image: 'api:1', ports: [{ name: 'http', containerPort: 8080 }] }] } },
    },
  });
  await ok(['apply', '-f', '-'], JSON.stringify({
    apiVersion: 'v1',
    kind: 'List',
    items: [
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'api' }, spec: { selector: { app: 'api' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] } },
      deployment('api-ready', {}),
      deployment('api-never', { 'kre.konstellation.io/never-ready': 'true' }),
    ],
  }));
  const ep = await eventually(async () => {
    const e = await get<Endpoints>(['get', 'endpoints', 'api']);
    const s = e.subsets?.[0];
    return s?.addresses?.length === 1 && s?.notReadyAddresses?.length === 1 && e;
  }, 60_000, 'one ready and one not-ready address');
  assert.deepEqual(ep.subsets?.[0].ports, [{ name: 'http', port: 8080, protocol: 'TCP' }]);
  assert.match(ep.subsets?.[0].addresses?.[0].targetRef?.name ?? '', /^api-ready-/);
  const slices = await items<EndpointSlice>(['get', 'endpointslices', '-l', 'kubernetes.io/service-name=api']);
  assert.equal(slices.length, 1);
  assert.deepEqual(slices[0].endpoints?.map((e) => e.conditions.ready).sort(), [false, true]);

  // The never-ready variant is replaced by one that becomes ready: both addresses are ready then.
  await ok(['patch', 'deployment', 'api-never', '--type=json', '-p', JSON.stringify([{ op: 'remove', path: '/spec/template/metadata/annotations/kre.konstellation.io~1never-ready' }])]);
  await eventually(async () => {
    const s = (await get<Endpoints>(['get', 'endpoints', 'api'])).subsets?.[0];
    return s?.addresses?.length === 2 && !s.notReadyAddresses;
  }, 60_000, 'two ready addresses');
});

test('a Job runs its pods to completion', async () => {
  await ok(['create', 'job', 'once', '--image=busybox:1', '--', 'true']);
  const job = await eventually(async () => {
    const j = await get<Job>(['get', 'job', 'once']);
    return j.status?.conditions?.some((c) => c.type === 'Complete' && c.status === 'True') && j;
  }, 60_000, 'the Job to complete');
  assert.equal(job.status?.succeeded, 1);
  assert.ok(job.status?.completionTime);
  const pods = await items<Pod>(['get', 'pods', '-l', 'job-name=once']);
  assert.equal(pods.length, 1);
  assert.equal(pods[0].status?.phase, 'Succeeded');
  assert.equal(pods[0].status?.containerStatuses?.[0].state?.terminated?.reason, 'Completed');
  await ok(['wait', '--for=condition=complete', 'job/once', '--timeout=10s']);
});

/** The REVISION column of `kubectl rollout history`. */
async function historyRevisions(resource: string): Promise<number[]> {
  const out = await ok(['rollout', 'history', resource]);
  return out
    .split('\n')
    .map((line) => /^(\d+)\s/.exec(line)?.[1])
    .filter((r): r is string => r !== undefined)
    .map(Number);
}

test('a StatefulSet keeps its templates as ControllerRevisions that kubectl rollout history lists, within revisionHistoryLimit', async () => {
  await ok(['apply', '-f', '-'], JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'hist-sts' },
    spec: {
      replicas: 2,
      revisionHistoryLimit: 1,
      serviceName: 'hist-sts',
      selector: { matchLabels: { app: 'hist-sts' } },
      template: { metadata: { labels: { app: 'hist-sts' } }, spec: { containers: [{ name: 'app', image: 'hist:1' }] } },
    },
  }));
  await ok(['rollout', 'status', 'statefulset/hist-sts', '--timeout=60s']);
  assert.deepEqual(await historyRevisions('statefulset/hist-sts'), [1]);
  await ok(['set', 'image', 'statefulset/hist-sts', 'app=hist:2']);
  await ok(['rollout', 'status', 'statefulset/hist-sts', '--timeout=90s']);
  assert.deepEqual(await historyRevisions('statefulset/hist-sts'), [1, 2]);

  const set = await get<StatefulSet>(['get', 'statefulset', 'hist-sts']);
  const revisions = (await items<TemplateRevision>(['get', 'controllerrevisions', '-l', 'app=hist-sts'])).sort((a, b) => a.revision - b.revision);
  assert.equal(revisions.length, 2);
  const [first, second] = revisions;
  assert.equal(second.metadata.name, set.status?.updateRevision);
  assert.equal(set.status?.currentRevision, set.status?.updateRevision);
  assert.equal(second.metadata.name, `hist-sts-${second.metadata.labels?.['controller-revision-hash']}`);
  assert.deepEqual(second.metadata.ownerReferences?.map((r) => [r.kind, r.name, r.uid, r.controller]), [['StatefulSet', 'hist-sts', set.metadata.uid, true]]);
  assert.equal(first.data.spec.template.spec?.containers[0].image, 'hist:1');
  assert.equal(second.data.spec.template.spec?.containers[0].image, 'hist:2');
  assert.equal(second.data.spec.template.$patch, 'replace');
  const pods = await items<Pod>(['get', 'pods', '-l', 'app=hist-sts']);
  assert.deepEqual(pods.map((p) => p.metadata.labels?.['controller-revision-hash']), [second.metadata.name, second.metadata.name]);

  // A third template: with a history of one, the first revision goes.
  await ok(['set', 'image', 'statefulset/hist-sts', 'app=hist:3']);
  await ok(['rollout', 'status', 'statefulset/hist-sts', '--timeout=90s']);
  await eventually(async () => (await historyRevisions('statefulset/hist-sts')).join() === '2,3', 30_000, 'revisions 2 and 3 only');
});

test('a DaemonSet keeps its templates as ControllerRevisions that kubectl rollout history lists', async () => {
  await ok(['apply', '-f', '-'], JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'hist-ds' },
    spec: {
      selector: { matchLabels: { app: 'hist-ds' } },
      template: { metadata: { labels: { app: 'hist-ds' } }, spec: { containers: [{ name: 'agent', image: 'hist-agent:1' }] } },
    },
  }));
  await ok(['rollout', 'status', 'daemonset/hist-ds', '--timeout=60s']);
  await ok(['set', 'image', 'daemonset/hist-ds', 'agent=hist-agent:2']);
  await ok(['rollout', 'status', 'daemonset/hist-ds', '--timeout=90s']);
  assert.deepEqual(await historyRevisions('daemonset/hist-ds'), [1, 2]);
  const ds = await get<DaemonSet>(['get', 'daemonset', 'hist-ds']);
  const revisions = (await items<TemplateRevision>(['get', 'controllerrevisions', '-l', 'app=hist-ds'])).sort((a, b) => a.revision - b.revision);
  assert.deepEqual(revisions.map((r) => r.revision), [1, 2]);
  const latest = revisions[1];
  assert.equal(latest.metadata.ownerReferences?.[0].uid, ds.metadata.uid);
  assert.equal(latest.data.spec.template.spec?.containers[0].image, 'hist-agent:2');
  const pods = await eventually(async () => {
    const list = await items<Pod>(['get', 'pods', '-l', 'app=hist-ds']);
    return list.length === 3 && list.every((p) => p.spec?.containers[0].image === 'hist-agent:2') && list;
  }, 60_000, 'the old daemon pods to be gone');
  for (const p of pods) assert.equal(`hist-ds-${p.metadata.labels?.['controller-revision-hash']}`, latest.metadata.name);
});

test('a Deployment whose pods never become ready exceeds its progress deadline, and kubectl rollout status says so', async () => {
  await ok(['apply', '-f', '-'], JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'stuck' },
    spec: {
      replicas: 1,
      progressDeadlineSeconds: 3,
      selector: { matchLabels: { app: 'stuck' } },
      template: {
        metadata: { labels: { app: 'stuck' }, annotations: { 'kre.konstellation.io/never-ready': 'true' } },
        spec: { containers: [{ name: 'stuck', image: 'stuck:1' }] },
      },
    },
  }));
  const r = await kubectl(['rollout', 'status', 'deployment/stuck', '--timeout=60s']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /exceeded its progress deadline/);
  const d = await get<Deployment>(['get', 'deployment', 'stuck']);
  const progressing = condition(d.status?.conditions, 'Progressing');
  assert.equal(progressing?.status, 'False');
  assert.equal(progressing?.reason, 'ProgressDeadlineExceeded');
  assert.match(progressing?.message ?? '', /^ReplicaSet "stuck-[a-z0-9]+" has timed out progressing\.$/);
});

test("the controllers, the scheduler and the kubelets count their reconciles by outcome on the devcluster's /metrics", async () => {
  const res = await rawRequest(cluster, 'GET', '/metrics');
  assert.equal(res.status, 200);
  const count = (controller: string, result: string) => {
    const line = res.text.split('\n').find((l) => l.startsWith(`kre_controller_reconcile_total{controller="${controller}",result="${result}"}`));
    return line ? Number(line.split(' ').pop()) : 0;
  };
  // The tests above rolled Deployments out, ran a Job and scheduled pods onto every node.
  for (const controller of ['deployment', 'replicaset', 'statefulset', 'daemonset', 'job', 'endpoints', 'scheduler', 'kubelet/kre-node-1']) {
    assert.ok(count(controller, 'success') + count(controller, 'requeue') > 0, `${controller} counted its reconciles`);
  }
  assert.match(res.text, /^kre_controller_reconcile_duration_seconds_count\{controller="deployment"\} [1-9]/m);
});
