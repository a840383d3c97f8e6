import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { applyDefaults, imagePullPolicyFor } from './defaults.ts';
import { realApiserver } from './testdata/real-apiserver.ts';

/** Responses captured from a real kube-apiserver v1.32. */


const ctx = { allocateClusterIP: () => '10.0.0.146' };

/** What the real server added itself and we do not compare: server-set metadata and controllers' status. */
function comparable(obj: any, { keepStatus }: { keepStatus: boolean }): any {
  const copy = structuredClone(obj);
  for (const k of ['uid', 'resourceVersion', 'creationTimestamp', 'managedFields', 'generation', 'annotations']) delete copy.metadata[k];
  if (!keepStatus) delete copy.status;
  return copy;
}

describe('applyDefaults reproduces what a real server stores', () => {
  test('pod.json', () => {
    const pod: any = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'model-0', namespace: 'demo', labels: { app: 'model', 'version-name': 'v1' } },
      spec: {
        containers: [
          {
            name: 'main',
            image: 'registry.example/model:1',
            ports: [{ containerPort: 9000 }],
            resources: { limits: { cpu: '1', memory: '256Mi' }, requests: { cpu: '250m', memory: '128Mi' } },
          },
        ],
      },
    };
    applyDefaults(pod, ctx);
    const real = comparable(realApiserver('pod.json'), { keepStatus: true });
    // The ServiceAccount token volume is not reproduced (see defaultPod).
    delete real.spec.volumes;
    for (const c of real.spec.containers) delete c.volumeMounts;
    assert.deepEqual(comparable(pod, { keepStatus: true }), real);
  });

  test('deployment.json', () => {
    const d: any = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'demo' },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: { containers: [{ name: 'main', image: 'registry.example/web:1' }] },
        },
      },
    };
    applyDefaults(d, ctx);
    assert.deepEqual(comparable(d, { keepStatus: false }), comparable(realApiserver('deployment.json'), { keepStatus: false }));
  });

  test('statefulset.json', () => {
    const s: any = {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'kre-nats', namespace: 'demo' },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'kre-nats' } },
        serviceName: 'kre-nats',
        template: {
          metadata: { labels: { app: 'kre-nats' } },
          spec: { containers: [{ name: 'nats', image: 'registry.example/nats:2', ports: [{ containerPort: 4222, name: 'client' }] }] },
        },
        volumeClaimTemplates: [
          { metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } },
        ],
      },
    };
    applyDefaults(s, ctx);
    assert.deepEqual(comparable(s, { keepStatus: false }), comparable(realApiserver('statefulset.json'), { keepStatus: false }));
  });

  test('service.json', () => {
    const svc: any = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'kre-nats', namespace: 'demo' },
      spec: { ports: [{ name: 'client', port: 4222 }], selector: { app: 'kre-nats' } },
    };
    applyDefaults(svc, ctx);
    assert.deepEqual(comparable(svc, { keepStatus: true }), comparable(realApiserver('service.json'), { keepStatus: true }));
  });

  test('namespace.json', () => {
    const ns: any = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'demo' } };
    applyDefaults(ns, ctx);
    assert.deepEqual(comparable(ns, { keepStatus: true }), comparable(realApiserver('namespace.json'), { keepStatus: true }));
  });

  test('configmap.json: nothing to add', () => {
    const cm: any = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: 'demo' }, data: { a: '1' } };
    applyDefaults(cm, ctx);
    assert.deepEqual(comparable(cm, { keepStatus: true }), comparable(realApiserver('configmap.json'), { keepStatus: true }));
  });

  test('applying the defaults twice changes nothing', () => {
    for (const name of ['pod.json', 'deployment.json', 'statefulset.json', 'service.json', 'namespace.json']) {
      const once = realApiserver(name);
      applyDefaults(once, ctx);
      const twice = structuredClone(once);
      applyDefaults(twice, { allocateClusterIP: () => assert.fail('allocated a second IP') });
      assert.deepEqual(twice, once, name);
    }
  });
});

describe('pods', () => {
  test('image pull policy follows the tag', () => {
    assert.equal(imagePullPolicyFor('nginx'), 'Always');
    assert.equal(imagePullPolicyFor('nginx:latest'), 'Always');
    assert.equal(imagePullPolicyFor('registry:5000/team/nginx'), 'Always');
    assert.equal(imagePullPolicyFor('registry:5000/team/nginx:1.27'), 'IfNotPresent');
    assert.equal(imagePullPolicyFor('nginx@sha256:abcd'), 'IfNotPresent');
  });

  test('limits without requests become requests, on pods but not templates', () => {
    const pod: any = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p' },
      spec: { containers: [{ name: 'a', image: 'x:1', resources: { limits: { cpu: '2', memory: '1Gi' } } }] },
    };
    applyDefaults(pod, ctx);
    assert.deepEqual(pod.spec.containers[0].resources.requests, { cpu: '2', memory: '1Gi' });
    assert.equal(pod.status.qosClass, 'Guaranteed');

    const rs: any = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: 'r' },
      spec: { template: { spec: { containers: [{ name: 'a', image: 'x', resources: { limits: { cpu: '2' } } }] } } },
    };
    applyDefaults(rs, ctx);
    assert.equal(rs.spec.replicas, 1);
    assert.equal(rs.spec.template.spec.containers[0].resources.requests, undefined);
    assert.equal(rs.spec.template.spec.containers[0].imagePullPolicy, 'Always');
    assert.equal(rs.spec.template.spec.tolerations, undefined, 'admission defaults are for pods only');
  });

  test('an existing NoExecute toleration for a key is kept, not duplicated', () => {
    const pod: any = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p' },
      spec: {
        containers: [{ name: 'a', image: 'x:1' }],
        tolerations: [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 5 }],
      },
    };
    applyDefaults(pod, ctx);
    assert.deepEqual(
      pod.spec.tolerations.map((t: any) => [t.key, t.tolerationSeconds]),
      [
        ['node.kubernetes.io/unreachable', 5],
        ['node.kubernetes.io/not-ready', 300],
      ],
    );
  });

  test('probes, env field refs and volumes', () => {
    const pod: any = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p' },
      spec: {
        containers: [
          {
            name: 'a',
            image: 'x:1',
            env: [{ name: 'NS', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } }],
            readinessProbe: { httpGet: { port: 8080 } },
          },
        ],
        volumes: [{ name: 'scratch' }, { name: 'cfg', configMap: { name: 'cfg' } }],
      },
    };
    applyDefaults(pod, ctx);
    const c = pod.spec.containers[0];
    assert.equal(c.env[0].valueFrom.fieldRef.apiVersion, 'v1');
    assert.deepEqual(c.readinessProbe, {
      httpGet: { port: 8080, path: '/', scheme: 'HTTP' },
      timeoutSeconds: 1,
      periodSeconds: 10,
      successThreshold: 1,
      failureThreshold: 3,
    });
    assert.deepEqual(pod.spec.volumes, [
      { name: 'scratch', emptyDir: {} },
      { name: 'cfg', configMap: { name: 'cfg', defaultMode: 420 } },
    ]);
  });
});

describe('workloads', () => {
  test('DaemonSet', () => {
    const ds: any = { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'd' }, spec: { template: { spec: { containers: [] } } } };
    applyDefaults(ds, ctx);
    assert.deepEqual(ds.spec.updateStrategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } });
    assert.equal(ds.spec.revisionHistoryLimit, 10);
    assert.equal(ds.spec.template.spec.restartPolicy, 'Always');
  });

  test('Deployment with Recreate gets no rollingUpdate', () => {
    const d: any = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' }, spec: { strategy: { type: 'Recreate' } } };
    applyDefaults(d, ctx);
    assert.deepEqual(d.spec.strategy, { type: 'Recreate' });
  });

  test('Job without a selector gets the generated one', () => {
    const job: any = {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'pi', uid: 'u-1' },
      spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'pi', image: 'perl:5' }] } } },
    };
    applyDefaults(job, ctx);
    const generated = {
      'batch.kubernetes.io/controller-uid': 'u-1',
      'batch.kubernetes.io/job-name': 'pi',
      'controller-uid': 'u-1',
      'job-name': 'pi',
    };
    assert.deepEqual(job.spec.selector, { matchLabels: { 'batch.kubernetes.io/controller-uid': 'u-1' } });
    assert.deepEqual(job.spec.template.metadata.labels, generated);
    assert.deepEqual(job.metadata.labels, generated);
    assert.equal(job.spec.parallelism, 1);
    assert.equal(job.spec.completions, 1);
    assert.equal(job.spec.backoffLimit, 6);
    assert.equal(job.spec.completionMode, 'NonIndexed');
    assert.equal(job.spec.suspend, false);
    assert.equal(job.spec.podReplacementPolicy, 'TerminatingOrFailed');
    assert.equal(job.spec.template.spec.restartPolicy, 'Never');
  });

  test('Job labels come from the user template labels; manualSelector keeps the selector', () => {
    const job: any = {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'pi', uid: 'u-1' },
      spec: { parallelism: 3, template: { metadata: { labels: { app: 'pi' } }, spec: { containers: [] } } },
    };
    applyDefaults(job, ctx);
    assert.deepEqual(job.metadata.labels, { app: 'pi' });
    assert.equal(job.spec.completions, undefined, 'completions stay unset when parallelism is given');

    const manual: any = {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'm', uid: 'u-2' },
      spec: { manualSelector: true, selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } } } },
    };
    applyDefaults(manual, ctx);
    assert.deepEqual(manual.spec.selector, { matchLabels: { a: 'b' } });
    assert.deepEqual(manual.spec.template.metadata.labels, { a: 'b' });
  });
});

describe('services and other kinds', () => {
  test('headless Service keeps None and allocates nothing', () => {
    const svc: any = { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { clusterIP: 'None', selector: { a: 'b' } } };
    applyDefaults(svc, { allocateClusterIP: () => assert.fail('allocated') });
    assert.deepEqual(svc.spec.clusterIPs, ['None']);
    assert.equal(svc.spec.ipFamilyPolicy, 'SingleStack');
  });

  test('NodePort Service: node ports and externalTrafficPolicy; targetPort by name stays', () => {
    const svc: any = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 's' },
      spec: { type: 'NodePort', ports: [{ port: 80, targetPort: 'http' }] },
    };
    applyDefaults(svc, { allocateClusterIP: () => '10.0.0.9', allocateNodePort: () => 30080 });
    assert.deepEqual(svc.spec.ports, [{ port: 80, targetPort: 'http', protocol: 'TCP', nodePort: 30080 }]);
    assert.equal(svc.spec.externalTrafficPolicy, 'Cluster');
    assert.equal(svc.spec.clusterIP, '10.0.0.9');
  });

  test('an update that omits the allocations keeps the stored ones', () => {
    const old: any = { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { type: 'NodePort', ports: [{ port: 80 }] } };
    applyDefaults(old, { allocateClusterIP: () => '10.0.0.7', allocateNodePort: () => 30001 });
    const update: any = { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { type: 'NodePort', ports: [{ port: 80 }] } };
    const never = () => assert.fail('allocated again');
    applyDefaults(update, { allocateClusterIP: never, allocateNodePort: never, previous: old });
    assert.deepEqual(update.spec, old.spec);
  });

  test('ExternalName Service gets no cluster IP', () => {
    const svc: any = { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { type: 'ExternalName', externalName: 'x.example' } };
    applyDefaults(svc, { allocateClusterIP: () => assert.fail('allocated') });
    assert.equal(svc.spec.clusterIP, undefined);
    assert.equal(svc.spec.internalTrafficPolicy, undefined);
  });

  test('Secret, PVC, RoleBinding subjects', () => {
    const secret: any = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' } };
    applyDefaults(secret, ctx);
    assert.equal(secret.type, 'Opaque');

    const pvc: any = { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'c' }, spec: {} };
    applyDefaults(pvc, ctx);
    assert.equal(pvc.spec.volumeMode, 'Filesystem');
    assert.equal(pvc.status.phase, 'Pending');

    const rb: any = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'b' },
      subjects: [{ kind: 'ServiceAccount', name: 'default' }, { kind: 'User', name: 'alice' }],
    };
    applyDefaults(rb, ctx);
    assert.deepEqual(
      rb.subjects.map((s: any) => s.apiGroup),
      ['', 'rbac.authorization.k8s.io'],
    );
  });
});
