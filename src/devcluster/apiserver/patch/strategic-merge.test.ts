import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { applyStrategicMergePatch } from './strategic-merge.ts';

function deployment(containers: unknown[], extra: Record<string, unknown> = {}) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"old":true}' }, finalizers: ['a'] },
    spec: { replicas: 1, template: { metadata: { labels: { app: 'web' } }, spec: { containers, ...extra } } },
  };
}

describe('strategic merge patch', () => {
  test('kubectl apply, second time: $setElementOrder, a changed image, a deleted container, last-applied annotation', () => {
    const live = deployment([
      { name: 'app', image: 'nginx:1.25', env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }], ports: [{ containerPort: 80, protocol: 'TCP' }] },
      { name: 'sidecar', image: 'envoy' },
    ]);
    // What kubectl 1.30 sends when the manifest drops the sidecar, bumps the image and env A.
    const patch = {
      metadata: { annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"new":true}\n' } },
      spec: {
        template: {
          spec: {
            '$setElementOrder/containers': [{ name: 'app' }],
            containers: [
              { '$setElementOrder/env': [{ name: 'A' }, { name: 'B' }], name: 'app', image: 'nginx:1.26', env: [{ name: 'A', value: '10' }] },
              { $patch: 'delete', name: 'sidecar' },
            ],
          },
        },
      },
    };
    const out = applyStrategicMergePatch(live, patch, 'Deployment') as any;
    assert.equal(out.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration'], '{"new":true}\n');
    assert.deepEqual(out.spec.template.spec.containers, [
      { name: 'app', image: 'nginx:1.26', env: [{ name: 'A', value: '10' }, { name: 'B', value: '2' }], ports: [{ containerPort: 80, protocol: 'TCP' }] },
    ]);
    assert.equal(live.spec.template.spec.containers.length, 2, 'the input is not mutated');
  });

  test('merge keys: ports by containerPort, volumeMounts by mountPath, volumes by name; lists without a key replace', () => {
    const live = deployment(
      [{ name: 'app', ports: [{ containerPort: 80 }], volumeMounts: [{ name: 'v', mountPath: '/a' }] }],
      { volumes: [{ name: 'v', emptyDir: {} }], tolerations: [{ key: 'x', operator: 'Exists' }] },
    );
    const out = applyStrategicMergePatch(
      live,
      {
        spec: {
          template: {
            spec: {
              containers: [{ name: 'app', ports: [{ containerPort: 8080 }], volumeMounts: [{ name: 'w', mountPath: '/b' }] }],
              volumes: [{ name: 'w', configMap: { name: 'cm' } }],
              tolerations: [{ key: 'y', operator: 'Exists' }],
            },
          },
        },
      },
      'Deployment',
    ) as any;
    const c = out.spec.template.spec.containers[0];
    assert.deepEqual(c.ports.map((p: any) => p.containerPort), [80, 8080]);
    assert.deepEqual(c.volumeMounts.map((m: any) => m.mountPath), ['/a', '/b']);
    assert.deepEqual(out.spec.template.spec.volumes.map((v: any) => v.name), ['v', 'w']);
    assert.deepEqual(out.spec.template.spec.tolerations, [{ key: 'y', operator: 'Exists' }]);
  });

  test('pod spec paths of a Pod, a CronJob and a Service port list', () => {
    const pod = applyStrategicMergePatch({ spec: { containers: [{ name: 'a', image: '1' }] } }, { spec: { containers: [{ name: 'b', image: '2' }] } }, 'Pod') as any;
    assert.deepEqual(pod.spec.containers.map((c: any) => c.name), ['a', 'b']);
    const cron = applyStrategicMergePatch(
      { spec: { jobTemplate: { spec: { template: { spec: { containers: [{ name: 'a' }] } } } } } },
      { spec: { jobTemplate: { spec: { template: { spec: { containers: [{ name: 'a', image: 'x' }] } } } } } },
      'CronJob',
    ) as any;
    assert.deepEqual(cron.spec.jobTemplate.spec.template.spec.containers, [{ name: 'a', image: 'x' }]);
    const svc = applyStrategicMergePatch({ spec: { ports: [{ port: 80, targetPort: 8080 }] } }, { spec: { ports: [{ port: 443 }] } }, 'Service') as any;
    assert.deepEqual(svc.spec.ports.map((p: any) => p.port), [80, 443]);
  });

  test('finalizers merge as a set; $deleteFromPrimitiveList removes', () => {
    const out = applyStrategicMergePatch(deployment([]), { metadata: { finalizers: ['b'], '$deleteFromPrimitiveList/finalizers': ['a'] } }, 'Deployment') as any;
    assert.deepEqual(out.metadata.finalizers, ['b']);
  });

  test('$patch: replace on a map and in a list; $patch: delete on a map; null deletes a key', () => {
    const live = deployment([{ name: 'a' }, { name: 'b' }]);
    const out = applyStrategicMergePatch(
      live,
      {
        metadata: { annotations: { $patch: 'delete' } },
        spec: { replicas: null, template: { metadata: { labels: { $patch: 'replace', tier: 'x' } }, spec: { containers: [{ $patch: 'replace' }, { name: 'c' }] } } },
      },
      'Deployment',
    ) as any;
    assert.equal(out.metadata.annotations, undefined);
    assert.equal(out.spec.replicas, undefined);
    assert.deepEqual(out.spec.template.metadata.labels, { tier: 'x' });
    assert.deepEqual(out.spec.template.spec.containers, [{ name: 'c' }]);
  });

  test('$retainKeys keeps only the listed keys of a volume source', () => {
    const live = deployment([], { volumes: [{ name: 'v', emptyDir: {} }] });
    const out = applyStrategicMergePatch(
      live,
      { spec: { template: { spec: { volumes: [{ name: 'v', $retainKeys: ['configMap', 'name'], configMap: { name: 'cm' } }] } } } },
      'Deployment',
    ) as any;
    assert.deepEqual(out.spec.template.spec.volumes, [{ name: 'v', configMap: { name: 'cm' } }]);
  });

  test('$setElementOrder keeps server-only items in place', () => {
    const live = deployment([{ name: 'a' }, { name: 'server' }, { name: 'b' }]);
    const out = applyStrategicMergePatch(live, { spec: { template: { spec: { '$setElementOrder/containers': [{ name: 'b' }, { name: 'a' }] } } } }, 'Deployment') as any;
    assert.deepEqual(out.spec.template.spec.containers.map((c: any) => c.name), ['b', 'server', 'a']);
  });

  test('conditions merge by type', () => {
    const out = applyStrategicMergePatch(
      { status: { conditions: [{ type: 'Ready', status: 'False' }, { type: 'Initialized', status: 'True' }] } },
      { status: { conditions: [{ type: 'Ready', status: 'True' }] } },
      'Pod',
    ) as any;
    assert.deepEqual(out.status.conditions, [{ type: 'Ready', status: 'True' }, { type: 'Initialized', status: 'True' }]);
  });
});

test('a set of primitives gains new values and keeps the old ones', () => {
  const out = applyStrategicMergePatch({ metadata: { finalizers: ['a'] } }, { metadata: { finalizers: ['b', 'a'] } }, 'ConfigMap') as any;
  assert.deepEqual(out.metadata.finalizers, ['a', 'b']);
});
