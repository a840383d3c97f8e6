import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { evalJsonPath, formatSelector, humanDuration, parseTableAccept, podSummary, toTable } from '../../kube/index.ts';
import { ResourceRegistry, type ResourceType } from './resources.ts';
import { realApiserver } from './testdata/real-apiserver.ts';


const reg = new ResourceRegistry();
const builtin = (group: string, plural: string): ResourceType => reg.get(group, 'v1', plural)!;
const at = (iso: string, plusSeconds: number): Date => new Date(Date.parse(iso) + plusSeconds * 1000);

describe('toTable against the real server', () => {
  test('pods: same columns and cells, PartialObjectMetadata rows', () => {
    const want = realApiserver('pods-table.json');
    const pods = [...realApiserver('pods-of-statefulset-list.json').items, realApiserver('pod.json'), ...realApiserver('pods-of-deployment-list.json').items];
    const byName = new Map(pods.map((p: any) => [p.metadata.name, p]));
    const objects = want.rows.map((r: any) => byName.get(r.object.metadata.name));
    const got = toTable(builtin('', 'pods'), objects, {
      includeObject: 'Metadata',
      listMeta: { resourceVersion: '436' },
      now: at('2026-11-22T04:53:45Z', 3),
    });
    assert.deepEqual(got, want);
  });

  test('deployments', () => {
    const want = realApiserver('deployments-table.json');
    const got = toTable(builtin('apps', 'deployments'), [realApiserver('deployment.json')], {
      includeObject: 'Metadata',
      listMeta: { resourceVersion: '436' },
      now: at('2026-11-22T04:53:45Z', 3),
    });
    assert.deepEqual(got, want);
  });

  test('custom resources use the CRD version printer columns', () => {
    const crd = realApiserver('crd.json');
    const t: ResourceType = { group: crd.spec.group, version: 'v1alpha1', plural: 'runtimes', singular: 'runtime', kind: 'Runtime', namespaced: true, verbs: [], status: true, generation: true, crd };
    const got = toTable(t, [realApiserver('custom-resource.json')], {
      includeObject: 'Metadata',
      listMeta: { resourceVersion: '448' },
      now: at('2026-11-22T04:54:07Z', 0.4),
    });
    assert.deepEqual(got, realApiserver('custom-resource-table.json'));
  });
});

describe('toTable options', () => {
  const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', creationTimestamp: '2026-01-01T00:00:00Z' }, data: { x: '1', y: '2' }, binaryData: { z: '' } };
  const now = at('2026-01-01T00:00:00Z', 300);

  test('includeObject Object embeds the object, None leaves it out', () => {
    const full = toTable(builtin('', 'configmaps'), [cm], { includeObject: 'Object', now }) as any;
    assert.deepEqual(full.rows[0].object, cm);
    assert.deepEqual(full.rows[0].cells, ['a', 3, '5m']);
    assert.deepEqual(full.metadata, {});
    const none = toTable(builtin('', 'configmaps'), [cm], { includeObject: 'None', now }) as any;
    assert.equal('object' in none.rows[0], false);
  });

  test('list metadata carries continue and remainingItemCount', () => {
    const t = toTable(builtin('', 'configmaps'), [], { includeObject: 'Metadata', now, listMeta: { resourceVersion: '7', continue: 'tok', remainingItemCount: 2 } }) as any;
    assert.deepEqual(t.metadata, { resourceVersion: '7', continue: 'tok', remainingItemCount: 2 });
    assert.deepEqual(t.rows, []);
  });

  test('kinds without a printer get NAME and AGE', () => {
    const t: ResourceType = { group: 'example.com', version: 'v1', plural: 'things', singular: 'thing', kind: 'Thing', namespaced: true, verbs: [], status: false, generation: false };
    const table = toTable(t, [cm], { includeObject: 'None', now }) as any;
    assert.deepEqual(table.columnDefinitions.map((c: any) => c.name), ['Name', 'Age']);
    assert.deepEqual(table.rows[0].cells, ['a', '5m']);
  });

  test('a CRD without printer columns prints Age as a date column', () => {
    const crd = { spec: { versions: [{ name: 'v1' }] } };
    const t: ResourceType = { group: 'example.com', version: 'v1', plural: 'things', singular: 'thing', kind: 'Thing', namespaced: true, verbs: [], status: false, generation: false, crd };
    const table = toTable(t, [cm], { includeObject: 'None', now }) as any;
    assert.deepEqual(table.columnDefinitions.map((c: any) => [c.name, c.type]), [['Name', 'string'], ['Age', 'date']]);
    assert.deepEqual(table.rows[0].cells, ['a', '5m']);
  });

  test('printer column types: integer, number, boolean, string of an object, missing value', () => {
    const columns = [
      { name: 'Replicas', type: 'integer', jsonPath: '.spec.replicas' },
      { name: 'Ratio', type: 'number', jsonPath: '.spec.ratio' },
      { name: 'On', type: 'boolean', jsonPath: '.spec.on' },
      { name: 'Sel', type: 'string', jsonPath: '.spec.sel' },
      { name: 'Ready', type: 'string', jsonPath: ".status.conditions[0].status", priority: 1, description: 'ready?' },
      { name: 'Gone', type: 'string', jsonPath: '.status.missing' },
    ];
    const crd = { spec: { versions: [{ name: 'v1', additionalPrinterColumns: columns }] } };
    const t: ResourceType = { group: 'example.com', version: 'v1', plural: 'things', singular: 'thing', kind: 'Thing', namespaced: true, verbs: [], status: false, generation: false, crd };
    const obj = { metadata: { name: 'x' }, spec: { replicas: 3, ratio: 0.5, on: true, sel: { a: 'b' } }, status: { conditions: [{ status: 'True' }] } };
    const table = toTable(t, [obj], { includeObject: 'None', now }) as any;
    assert.deepEqual(table.rows[0].cells, ['x', 3, 0.5, true, '{"a":"b"}', 'True', null]);
    assert.deepEqual(table.columnDefinitions[5], { name: 'Ready', type: 'string', format: '', description: 'ready?', priority: 1 });
  });
});

describe('pod STATUS, READY and RESTARTS as kubectl shows them', () => {
  const now = new Date('2026-01-01T01:00:00Z');
  const pod = (status: any, extra: any = {}): any => ({
    metadata: { name: 'p', creationTimestamp: '2026-01-01T00:00:00Z', ...extra.metadata },
    spec: { containers: [{ name: 'a' }], ...extra.spec },
    status,
  });
  const cases: Array<[string, any, { ready: string; status: string; restarts: string }]> = [
    ['pending', pod({ phase: 'Pending' }), { ready: '0/1', status: 'Pending', restarts: '0' }],
    ['creating', pod({ phase: 'Pending', containerStatuses: [{ name: 'a', ready: false, restartCount: 0, state: { waiting: { reason: 'ContainerCreating' } } }] }), { ready: '0/1', status: 'ContainerCreating', restarts: '0' }],
    ['running', pod({ phase: 'Running', containerStatuses: [{ name: 'a', ready: true, restartCount: 0, state: { running: { startedAt: '2026-01-01T00:00:01Z' } } }] }), { ready: '1/1', status: 'Running', restarts: '0' }],
    [
      'crash loop with last restart',
      pod({
        phase: 'Running',
        containerStatuses: [{ name: 'a', ready: false, restartCount: 4, state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode: 1, reason: 'Error', finishedAt: '2026-01-01T00:58:00Z' } } }],
      }),
      { ready: '0/1', status: 'CrashLoopBackOff', restarts: '4 (2m ago)' },
    ],
    ['completed', pod({ phase: 'Succeeded', containerStatuses: [{ name: 'a', ready: false, restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } }] }), { ready: '0/1', status: 'Completed', restarts: '0' }],
    ['exit code without reason', pod({ phase: 'Failed', containerStatuses: [{ name: 'a', state: { terminated: { exitCode: 2 } } }] }), { ready: '0/1', status: 'ExitCode:2', restarts: '0' }],
    [
      'terminating',
      pod({ phase: 'Running', containerStatuses: [{ name: 'a', ready: true, state: { running: {} } }] }, { metadata: { deletionTimestamp: '2026-01-01T00:59:00Z' } }),
      { ready: '1/1', status: 'Terminating', restarts: '0' },
    ],
    [
      'init container running',
      pod({ phase: 'Pending', initContainerStatuses: [{ name: 'i', state: { running: {} } }] }, { spec: { initContainers: [{ name: 'i' }] } }),
      { ready: '0/1', status: 'Init:0/1', restarts: '0' },
    ],
    [
      'init container failing',
      pod({ phase: 'Pending', initContainerStatuses: [{ name: 'i', restartCount: 2, state: { waiting: { reason: 'CrashLoopBackOff' } } }] }, { spec: { initContainers: [{ name: 'i' }] } }),
      { ready: '0/1', status: 'Init:CrashLoopBackOff', restarts: '2' },
    ],
    [
      'ready sidecar counts as a container',
      pod(
        {
          phase: 'Running',
          conditions: [{ type: 'Initialized', status: 'True' }],
          initContainerStatuses: [{ name: 'side', started: true, ready: true, state: { running: {} } }],
          containerStatuses: [{ name: 'a', ready: true, state: { running: {} } }],
        },
        { spec: { initContainers: [{ name: 'side', restartPolicy: 'Always' }] } },
      ),
      { ready: '2/2', status: 'Running', restarts: '0' },
    ],
    ['scheduling gated', pod({ phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'SchedulingGated' }] }), { ready: '0/1', status: 'SchedulingGated', restarts: '0' }],
    ['evicted', pod({ phase: 'Failed', reason: 'Evicted' }), { ready: '0/1', status: 'Evicted', restarts: '0' }],
  ];
  for (const [name, p, want] of cases) {
    test(name, () => assert.deepEqual(podSummary(p, now), want));
  }

  test('wide cells and the Completed row condition', () => {
    const p = pod({ phase: 'Succeeded', podIP: '10.1.0.5', podIPs: [{ ip: '10.1.0.5' }] }, { spec: { nodeName: 'node-1', readinessGates: [{ conditionType: 'x' }] } });
    const table = toTable(builtin('', 'pods'), [p], { includeObject: 'None', now }) as any;
    assert.deepEqual(table.rows[0].cells.slice(4), ['60m', '10.1.0.5', 'node-1', '<none>', '0/1']);
    assert.equal(table.rows[0].conditions[0].type, 'Completed');
  });
});

describe('other built-in kinds', () => {
  const now = new Date('2026-01-03T00:00:00Z');
  const meta = { name: 'o', namespace: 'd', creationTimestamp: '2026-01-01T00:00:00Z' };
  const cells = (group: string, plural: string, obj: any): any[] => (toTable(builtin(group, plural), [{ metadata: meta, ...obj }], { includeObject: 'None', now }) as any).rows[0].cells;
  const names = (group: string, plural: string): string[] => (toTable(builtin(group, plural), [], { includeObject: 'None', now }) as any).columnDefinitions.map((c: any) => c.name);

  test('services', () => {
    const svc = realApiserver('service.json');
    assert.deepEqual(names('', 'services'), ['Name', 'Type', 'Cluster-IP', 'External-IP', 'Port(s)', 'Age', 'Selector']);
    assert.deepEqual(cells('', 'services', { spec: svc.spec }), ['o', 'ClusterIP', '10.0.0.146', '<none>', '4222/TCP', '2d', 'app=kre-nats']);
    assert.deepEqual(cells('', 'services', { spec: { type: 'LoadBalancer', ports: [{ port: 80, nodePort: 30080, protocol: 'TCP' }] } }).slice(1, 5), ['LoadBalancer', '<none>', '<pending>', '80:30080/TCP']);
  });

  test('replicasets, statefulsets, daemonsets', () => {
    const rs = realApiserver('replicaset-list.json').items[0];
    assert.deepEqual(cells('apps', 'replicasets', { spec: rs.spec, status: rs.status }), ['o', 2, 2, 0, '2d', 'main', 'registry.example/web:1', 'app=web,pod-template-hash=5b7c99c557']);
    const sts = realApiserver('statefulset.json');
    assert.deepEqual(names('apps', 'statefulsets'), ['Name', 'Ready', 'Age', 'Containers', 'Images']);
    assert.equal(cells('apps', 'statefulsets', { spec: sts.spec, status: sts.status })[1], `0/${sts.spec.replicas}`);
    const ds = cells('apps', 'daemonsets', { spec: { selector: { matchLabels: { a: 'b' } }, template: { spec: { nodeSelector: { disk: 'ssd' }, containers: [{ name: 'c', image: 'i' }] } } }, status: { desiredNumberScheduled: 2, numberReady: 1 } });
    assert.deepEqual(ds, ['o', 2, 0, 1, 0, 0, 'disk=ssd', '2d', 'c', 'i', 'a=b']);
  });

  test('jobs', () => {
    assert.deepEqual(names('batch', 'jobs'), ['Name', 'Status', 'Completions', 'Duration', 'Age', 'Containers', 'Images', 'Selector']);
    const done = cells('batch', 'jobs', { spec: { completions: 1 }, status: { succeeded: 1, startTime: '2026-01-01T00:00:00Z', completionTime: '2026-01-01T00:00:42Z', conditions: [{ type: 'Complete', status: 'True' }] } });
    assert.deepEqual(done.slice(1, 4), ['Complete', '1/1', '42s']);
    const running = cells('batch', 'jobs', { spec: { parallelism: 3 }, status: { startTime: '2026-01-02T23:55:00Z' } });
    assert.deepEqual(running.slice(1, 4), ['Running', '0/1 of 3', '5m']);
  });

  test('nodes, namespaces, events', () => {
    const node = cells('', 'nodes', {
      metadata: { ...meta, labels: { 'node-role.kubernetes.io/control-plane': '' } },
      spec: { unschedulable: true },
      status: { conditions: [{ type: 'Ready', status: 'True' }], nodeInfo: { kubeletVersion: 'v1.32.0' }, addresses: [{ type: 'InternalIP', address: '10.0.0.1' }] },
    });
    assert.deepEqual(node, ['o', 'Ready,SchedulingDisabled', 'control-plane', '2d', 'v1.32.0', '10.0.0.1', '<none>', '<unknown>', '<unknown>', '<unknown>']);
    assert.deepEqual(cells('', 'namespaces', { status: { phase: 'Active' } }), ['o', 'Active', '2d']);
    const ev = cells('', 'events', {
      involvedObject: { kind: 'Pod', name: 'web-1' },
      reason: 'Scheduled',
      type: 'Normal',
      message: ' assigned ',
      source: { component: 'default-scheduler' },
      firstTimestamp: '2026-01-02T23:59:00Z',
      lastTimestamp: '2026-01-02T23:59:30Z',
      count: 2,
    });
    assert.deepEqual(ev, ['30s', 'Normal', 'Scheduled', 'pod/web-1', '', 'default-scheduler', 'assigned', '60s', 2, 'o']);
  });

  test('configmaps, secrets, service accounts, PVCs, endpoints', () => {
    assert.deepEqual(cells('', 'secrets', { type: 'kubernetes.io/tls', data: { a: '', b: '' } }), ['o', 'kubernetes.io/tls', 2, '2d']);
    assert.deepEqual(cells('', 'serviceaccounts', {}), ['o', 0, '2d']);
    const pvc = realApiserver('pvc-list.json').items[0];
    const pvcCells = cells('', 'persistentvolumeclaims', { spec: pvc.spec, status: pvc.status });
    assert.equal(pvcCells.length, names('', 'persistentvolumeclaims').length);
    const bound = cells('', 'persistentvolumeclaims', { spec: { volumeName: 'pv-1', storageClassName: 'standard', volumeMode: 'Filesystem' }, status: { phase: 'Bound', capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'] } });
    assert.deepEqual(bound, ['o', 'Bound', 'pv-1', '1Gi', 'RWO', 'standard', '<unset>', '2d', 'Filesystem']);
    const subsets = [{ addresses: [{ ip: '10.0.0.1' }, { ip: '10.0.0.2' }, { ip: '10.0.0.3' }, { ip: '10.0.0.4' }], ports: [{ port: 80 }] }];
    assert.deepEqual(cells('', 'endpoints', { subsets }), ['o', '10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 1 more...', '2d']);
    assert.deepEqual(cells('', 'endpoints', {}), ['o', '<none>', '2d']);
  });

  test('leases, roles, role bindings, ingresses, CRDs', () => {
    assert.deepEqual(cells('coordination.k8s.io', 'leases', { spec: { holderIdentity: 'me' } }), ['o', 'me', '2d']);
    assert.deepEqual(cells('rbac.authorization.k8s.io', 'roles', {}), ['o', '2026-01-01T00:00:00Z']);
    const rb = cells('rbac.authorization.k8s.io', 'rolebindings', {
      roleRef: { kind: 'ClusterRole', name: 'view' },
      subjects: [{ kind: 'User', name: 'alice' }, { kind: 'ServiceAccount', name: 'sa', namespace: 'd' }, { kind: 'Group', name: 'devs' }],
    });
    assert.deepEqual(rb, ['o', 'ClusterRole/view', '2d', 'alice', 'devs', 'd:sa']);
    assert.deepEqual(cells('networking.k8s.io', 'ingresses', { spec: { rules: [{ host: 'a.example' }], tls: [{}] } }), ['o', '<none>', 'a.example', '', '80, 443', '2d']);
    assert.deepEqual(names('apiextensions.k8s.io', 'customresourcedefinitions'), ['Name', 'Created At']);
  });
});

describe('helpers', () => {
  test('humanDuration follows kubectl', () => {
    const s = 1000;
    const cases: Array<[number, string]> = [
      [-3 * s, '<invalid>'],
      [-1 * s, '0s'],
      [0, '0s'],
      [119 * s, '119s'],
      [120 * s, '2m'],
      [200 * s, '3m20s'],
      [15 * 60 * s, '15m'],
      [179 * 60 * s, '179m'],
      [3 * 3600 * s, '3h'],
      [(5 * 3600 + 10 * 60) * s, '5h10m'],
      [20 * 3600 * s, '20h'],
      [(2 * 24 + 5) * 3600 * s, '2d5h'],
      [3 * 24 * 3600 * s, '3d'],
      [40 * 24 * 3600 * s, '40d'],
      [(2 * 365 + 40) * 24 * 3600 * s, '2y40d'],
      [9 * 365 * 24 * 3600 * s, '9y'],
    ];
    for (const [ms, want] of cases) assert.equal(humanDuration(ms), want, String(ms));
  });

  test('parseTableAccept', () => {
    assert.equal(parseTableAccept('application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json'), true);
    assert.equal(parseTableAccept('application/json; as=Table; g=meta.k8s.io; v=v1'), true);
    assert.equal(parseTableAccept('application/json'), false);
    assert.equal(parseTableAccept('application/json;as=Table;v=v1beta1;g=meta.k8s.io'), false);
    assert.equal(parseTableAccept('application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io'), false);
    assert.equal(parseTableAccept(undefined), false);
  });

  test('evalJsonPath and formatSelector', () => {
    const obj = { metadata: { labels: { 'app.kubernetes.io/name': 'x' } }, spec: { list: [{ n: 1 }] } };
    assert.equal(evalJsonPath(obj, '.spec.list[0].n'), 1);
    assert.equal(evalJsonPath(obj, ".metadata.labels['app.kubernetes.io/name']"), 'x');
    assert.equal(evalJsonPath(obj, '.metadata.labels.app\\.kubernetes\\.io/name'), 'x');
    assert.equal(evalJsonPath(obj, '{.spec.list[0].n}'), 1);
    assert.equal(evalJsonPath(obj, '.spec.none.deeper'), undefined);
    const sel = { matchLabels: { b: '1' }, matchExpressions: [{ key: 'a', operator: 'In', values: ['y', 'x'] }, { key: 'c', operator: 'DoesNotExist' }] };
    assert.equal(formatSelector(sel), 'a in (x,y),b=1,!c');
  });
});
