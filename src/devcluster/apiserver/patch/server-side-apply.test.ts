import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from '../errors.ts';
import { serverSideApply, trackUpdate } from './server-side-apply.ts';

const T1 = '2025-01-01T00:00:01Z';
const T2 = '2025-01-01T00:00:02Z';
const T3 = '2025-01-01T00:00:03Z';
const apps = { kind: 'Deployment', apiVersion: 'apps/v1', isCustom: false };

function config(spec: Record<string, unknown>, labels?: Record<string, string>) {
  return { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', ...(labels ? { labels } : {}) }, spec };
}

function entry(obj: any, manager: string, operation = 'Apply') {
  return obj.metadata.managedFields.find((e: any) => e.manager === manager && e.operation === operation);
}

describe('server-side apply', () => {
  test('operator sequence: apply, apply without a field, a conflicting update, forced apply', () => {
    // Apply x (replicas) and y (paused, a label).
    let obj = serverSideApply(undefined, config({ replicas: 2, paused: false }, { app: 'web' }), { ...apps, manager: 'op', force: false, now: T1 }).object;
    assert.deepEqual(obj.spec, { replicas: 2, paused: false });
    assert.deepEqual(entry(obj, 'op'), {
      manager: 'op',
      operation: 'Apply',
      apiVersion: 'apps/v1',
      time: T1,
      fieldsType: 'FieldsV1',
      fieldsV1: { 'f:metadata': { 'f:labels': { 'f:app': {} } }, 'f:spec': { 'f:paused': {}, 'f:replicas': {} } },
    });

    // Apply again without y: paused and the label go, replicas stays.
    obj = serverSideApply(obj, config({ replicas: 2 }), { ...apps, manager: 'op', force: false, now: T2 }).object;
    assert.deepEqual(obj.spec, { replicas: 2 });
    assert.equal((obj.metadata as any).labels, undefined, 'an emptied labels map goes too');
    assert.deepEqual(entry(obj, 'op').fieldsV1, { 'f:spec': { 'f:replicas': {} } });

    // Someone scales by update: they now own replicas.
    const scaled = structuredClone(obj) as any;
    scaled.spec.replicas = 5;
    trackUpdate(obj, scaled, { ...apps, manager: 'kubectl-scale', now: T3 });
    assert.deepEqual(entry(scaled, 'kubectl-scale', 'Update').fieldsV1, { 'f:spec': { 'f:replicas': {} } });
    assert.equal(entry(scaled, 'op'), undefined, 'the applier lost its only field');

    // Applying the old value conflicts, naming the manager and the field.
    assert.throws(
      () => serverSideApply(scaled, config({ replicas: 2 }), { ...apps, manager: 'op', force: false, now: T3 }),
      (err: unknown) => {
        assert.ok(err instanceof ApiError);
        assert.equal(err.code, 409);
        assert.equal(err.reason, 'Conflict');
        assert.equal(err.message, `Apply failed with 1 conflict: conflict with "kubectl-scale" using apps/v1 at ${T3}: .spec.replicas`);
        assert.deepEqual(err.details?.causes, [{ reason: 'FieldManagerConflict', message: `conflict with "kubectl-scale" using apps/v1 at ${T3}`, field: '.spec.replicas' }]);
        return true;
      },
    );

    // Applying the value they set is no conflict: shared ownership.
    const shared = serverSideApply(scaled, config({ replicas: 5 }), { ...apps, manager: 'op', force: false, now: T3 }).object;
    assert.ok(entry(shared, 'op') && entry(shared, 'kubectl-scale', 'Update'));

    // Forced: the applier takes the field over.
    const forced = serverSideApply(scaled, config({ replicas: 2 }), { ...apps, manager: 'op', force: true, now: T3 }).object as any;
    assert.equal(forced.spec.replicas, 2);
    assert.deepEqual(entry(forced, 'op').fieldsV1, { 'f:spec': { 'f:replicas': {} } });
    assert.equal(entry(forced, 'kubectl-scale', 'Update'), undefined);
  });

  test('a field the applier drops stays when another manager owns it too', () => {
    let obj = serverSideApply(undefined, config({ replicas: 1, paused: true }), { ...apps, manager: 'a', force: false, now: T1 }).object;
    obj = serverSideApply(obj, config({ paused: true }), { ...apps, manager: 'b', force: false, now: T1 }).object;
    obj = serverSideApply(obj, config({ replicas: 1 }), { ...apps, manager: 'a', force: false, now: T2 }).object;
    assert.deepEqual(obj.spec, { replicas: 1, paused: true });
  });

  test('keyed container lists: two managers own different containers', () => {
    const withContainers = (containers: unknown[]) => config({ template: { spec: { containers } } });
    let obj = serverSideApply(undefined, withContainers([{ name: 'app', image: 'app:1', ports: [{ containerPort: 80 }] }]), { ...apps, manager: 'op', force: false, now: T1 }).object;
    obj = serverSideApply(obj, withContainers([{ name: 'proxy', image: 'envoy' }]), { ...apps, manager: 'mesh', force: false, now: T1 }).object;
    const spec = (obj as any).spec.template.spec;
    assert.deepEqual(spec.containers.map((c: any) => c.name), ['app', 'proxy']);
    assert.deepEqual(entry(obj, 'op').fieldsV1, {
      'f:spec': {
        'f:template': {
          'f:spec': {
            'f:containers': {
              'k:{"name":"app"}': {
                '.': {},
                'f:image': {},
                'f:name': {},
                'f:ports': { 'k:{"containerPort":80,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {} } },
              },
            },
          },
        },
      },
    });

    // The mesh changing the app's image conflicts with the operator, by key.
    assert.throws(
      () => serverSideApply(obj, withContainers([{ name: 'app', image: 'app:2' }]), { ...apps, manager: 'mesh', force: false, now: T2 }),
      (err: unknown) => err instanceof ApiError && err.code === 409 && err.message.endsWith(`conflict with "op": .spec.template.spec.containers[name="app"].image`),
    );

    // The operator dropping its container leaves the mesh's.
    obj = serverSideApply(obj, withContainers([]), { ...apps, manager: 'op', force: false, now: T2 }).object;
    assert.deepEqual((obj as any).spec.template.spec.containers, [{ name: 'proxy', image: 'envoy' }]);
  });

  test('status fields belong to the status subresource', () => {
    const pod = { kind: 'Pod', apiVersion: 'v1', isCustom: false };
    let obj = serverSideApply(undefined, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { nodeName: 'n' }, status: { phase: 'Ignored' } }, { ...pod, manager: 'op', force: false, now: T1 }).object as any;
    assert.equal(obj.status, undefined);
    obj = serverSideApply(obj, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } }, { ...pod, manager: 'kubelet', force: false, now: T2, subresource: 'status' }).object as any;
    assert.equal(obj.status.phase, 'Running');
    assert.equal(obj.spec.nodeName, 'n');
    const kubelet = entry(obj, 'kubelet');
    assert.equal(kubelet.subresource, 'status');
    assert.deepEqual(kubelet.fieldsV1, { 'f:status': { 'f:conditions': { 'k:{"type":"Ready"}': { '.': {}, 'f:status': {}, 'f:type': {} } }, 'f:phase': {} } });
  });

  test('custom resources: lists are atomic unless the CRD makes them maps', () => {
    const cr = { kind: 'Model', apiVersion: 'kre.dev/v1', isCustom: true };
    const model = (spec: unknown) => ({ apiVersion: 'kre.dev/v1', kind: 'Model', metadata: { name: 'm' }, spec });
    const atomic = serverSideApply(undefined, model({ args: ['a'] }), { ...cr, manager: 'op', force: false, now: T1 }).object;
    assert.deepEqual(entry(atomic, 'op').fieldsV1, { 'f:spec': { 'f:args': {} } });
    const keyed = serverSideApply(undefined, model({ replicas: [{ zone: 'a', n: 1 }] }), {
      ...cr,
      manager: 'op',
      force: false,
      now: T1,
      listMapKeys: (path) => (path === 'spec.replicas' ? ['zone'] : undefined),
    }).object;
    assert.deepEqual(entry(keyed, 'op').fieldsV1, { 'f:spec': { 'f:replicas': { 'k:{"zone":"a"}': { '.': {}, 'f:n': {}, 'f:zone': {} } } } });
  });

  test('metadata a server sets is never tracked; finalizers are a set', () => {
    const obj = serverSideApply(
      undefined,
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'd', uid: 'u', resourceVersion: '5', finalizers: ['x'] }, data: { a: '1' } },
      { kind: 'ConfigMap', apiVersion: 'v1', isCustom: false, manager: 'op', force: false, now: T1 },
    ).object;
    assert.deepEqual(entry(obj, 'op').fieldsV1, { 'f:data': { 'f:a': {} }, 'f:metadata': { 'f:finalizers': { 'v:"x"': {} } } });
  });

  const refusals: { name: string; applied: unknown; opts?: object; code: number }[] = [
    { name: 'no apiVersion', applied: { kind: 'Deployment', metadata: { name: 'web' } }, code: 400 },
    { name: 'no kind', applied: { apiVersion: 'apps/v1', metadata: { name: 'web' } }, code: 400 },
    { name: 'no name', applied: { apiVersion: 'apps/v1', kind: 'Deployment', metadata: {} }, code: 400 },
    { name: 'another kind', applied: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web' } }, code: 400 },
    { name: 'no field manager', applied: config({}), opts: { manager: '' }, code: 422 },
    { name: 'a container without its key', applied: config({ template: { spec: { containers: [{ image: 'x' }] } } }), code: 400 },
  ];
  for (const r of refusals) {
    test(`refuses an applied configuration with ${r.name}`, () => {
      assert.throws(
        () => serverSideApply(undefined, r.applied, { ...apps, manager: 'op', force: false, now: T1, ...r.opts }),
        (err: unknown) => err instanceof ApiError && err.code === r.code,
      );
    });
  }

  test('accepts YAML text', () => {
    const obj = serverSideApply(undefined, 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 3\n', { ...apps, manager: 'op', force: false, now: T1 }).object as any;
    assert.equal(obj.spec.replicas, 3);
  });

  test('re-applying the same configuration changes nothing, not even the time', () => {
    const first = serverSideApply(undefined, config({ replicas: 1 }), { ...apps, manager: 'op', force: false, now: T1 }).object;
    const again = serverSideApply(first, config({ replicas: 1 }), { ...apps, manager: 'op', force: false, now: T2 }).object;
    assert.deepEqual(again, first);
  });
});

describe('update tracking', () => {
  test('a create records every field for the manager; later updates move fields between managers', () => {
    const created: any = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', uid: 'u', labels: { a: '1' } }, data: { x: '1', y: '2' } };
    const opts = { kind: 'ConfigMap', apiVersion: 'v1', now: T1 };
    trackUpdate(undefined, created, { ...opts, manager: 'kubectl-create' });
    assert.deepEqual(created.metadata.managedFields, [
      {
        manager: 'kubectl-create',
        operation: 'Update',
        apiVersion: 'v1',
        time: T1,
        fieldsType: 'FieldsV1',
        fieldsV1: { 'f:data': { 'f:x': {}, 'f:y': {} }, 'f:metadata': { 'f:labels': { 'f:a': {} } } },
      },
    ]);

    const edited = structuredClone(created);
    edited.data.x = 'changed';
    delete edited.data.y;
    trackUpdate(created, edited, { ...opts, manager: 'kubectl-edit', now: T2 });
    assert.deepEqual(entry(edited, 'kubectl-create', 'Update').fieldsV1, { 'f:metadata': { 'f:labels': { 'f:a': {} } } });
    assert.deepEqual(entry(edited, 'kubectl-edit', 'Update').fieldsV1, { 'f:data': { 'f:x': {} } });

    // An update that changes nothing keeps managedFields as they were.
    const same = structuredClone(edited);
    trackUpdate(edited, same, { ...opts, manager: 'someone', now: T3 });
    assert.deepEqual(same.metadata.managedFields, edited.metadata.managedFields);
  });
});
