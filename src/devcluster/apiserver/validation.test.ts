import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { BUILTIN_RESOURCES, type ResourceType } from './resources.ts';
import { applyDefaults } from './defaults.ts';
import { checkFieldFormats, parseMicroTime, validateObject } from './validation.ts';
import type { StatusCause } from './errors.ts';

function typeOf(kind: string): ResourceType {
  const t = BUILTIN_RESOURCES.find((r) => r.kind === kind);
  assert.ok(t, kind);
  return t;
}

/** Defaults first, as the server does, then validation. */
function check(obj: any, old?: any): StatusCause[] {
  applyDefaults(obj, { allocateClusterIP: () => '10.0.0.10' });
  return validateObject(typeOf(obj.kind), obj, old);
}

function only(causes: StatusCause[], field: string, reason: string, message?: string | RegExp): void {
  assert.equal(causes.length, 1, JSON.stringify(causes, null, 2));
  assert.equal(causes[0].field, field);
  assert.equal(causes[0].reason, reason);
  if (typeof message === 'string') assert.equal(causes[0].message, message);
  else if (message) assert.match(causes[0].message, message);
}

const pod = (spec: any = {}, meta: any = {}): any => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'p', namespace: 'demo', ...meta },
  spec: { containers: [{ name: 'main', image: 'x:1' }], ...spec },
});

const deployment = (spec: any = {}): any => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'demo' },
  spec: {
    selector: { matchLabels: { app: 'web' } },
    template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'main', image: 'web:1' }] } },
    ...spec,
  },
});

describe('metadata', () => {
  test('the 422 of status-422-invalid-pod.json', () => {
    const causes = check({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'Bad_Name', namespace: 'demo' }, spec: {} });
    assert.deepEqual(causes, [
      {
        reason: 'FieldValueInvalid',
        message:
          "Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
        field: 'metadata.name',
      },
      { reason: 'FieldValueRequired', message: 'Required value', field: 'spec.containers' },
    ]);
  });

  test('name rules by kind', () => {
    only(check({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a_b' } }), 'metadata.name', 'FieldValueInvalid', /RFC 1123 label/);
    only(check({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a.b' } }), 'metadata.name', 'FieldValueInvalid', 'Invalid value: "a.b": must not contain dots');
    only(
      check({ apiVersion: 'v1', kind: 'Service', metadata: { name: '1svc', namespace: 'd' }, spec: { ports: [{ port: 80 }] } }),
      'metadata.name',
      'FieldValueInvalid',
      /DNS-1035 label/,
    );
    assert.deepEqual(check({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a.b', namespace: 'd' } }), []);
    assert.deepEqual(
      check({
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        metadata: { name: 'system:controller:x' },
      }),
      [],
    );
    only(check({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: 'd' } }), 'metadata.name', 'FieldValueRequired', 'Required value: name or generateName is required');
    only(check({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } }), 'metadata.namespace', 'FieldValueRequired');
  });

  test('labels and annotations', () => {
    only(check(pod({}, { labels: { 'bad key!': 'v' } })), 'metadata.labels', 'FieldValueInvalid', /^Invalid value: "bad key!": name part must consist/);
    only(check(pod({}, { labels: { app: 'x'.repeat(64) } })), 'metadata.labels', 'FieldValueInvalid', /must be no more than 63 characters/);
    only(check(pod({}, { annotations: { a: 'x'.repeat(256 * 1024) } })), 'metadata.annotations', 'FieldValueTooLong', 'Too long: may not be more than 262144 bytes');
    assert.deepEqual(check(pod({}, { annotations: { 'Example.com/Key': 'any value at all' } })), []);
  });

  test('name and namespace are immutable', () => {
    const old = pod();
    check(old);
    const renamed = structuredClone(old);
    renamed.metadata.namespace = 'other';
    only(validateObject(typeOf('Pod'), renamed, old), 'metadata.namespace', 'FieldValueInvalid', 'Invalid value: "other": field is immutable');
  });
});

describe('pods', () => {
  test('a valid pod passes', () => {
    assert.deepEqual(
      check(
        pod({
          containers: [
            {
              name: 'main',
              image: 'x:1',
              ports: [{ containerPort: 9000, name: 'http' }],
              resources: { requests: { cpu: '250m', memory: '128Mi' }, limits: { cpu: '1', memory: '256Mi' } },
            },
          ],
        }),
      ),
      [],
    );
  });

  test('containers: names, images, duplicates', () => {
    only(check(pod({ containers: [{ name: 'Main', image: 'x' }] })), 'spec.containers[0].name', 'FieldValueInvalid', /RFC 1123 label/);
    only(check(pod({ containers: [{ name: 'a', image: '' }] })), 'spec.containers[0].image', 'FieldValueRequired');
    only(
      check(pod({ initContainers: [{ name: 'a', image: 'x' }], containers: [{ name: 'a', image: 'x' }] })),
      'spec.containers[0].name',
      'FieldValueDuplicate',
      'Duplicate value: "a"',
    );
  });

  test('ports', () => {
    const withPorts = (ports: any[]) => pod({ containers: [{ name: 'a', image: 'x', ports }] });
    only(check(withPorts([{ containerPort: 70000 }])), 'spec.containers[0].ports[0].containerPort', 'FieldValueInvalid', 'Invalid value: 70000: must be between 1 and 65535, inclusive');
    only(check(withPorts([{ containerPort: 80, name: 'a-very-long-port-name' }])), 'spec.containers[0].ports[0].name', 'FieldValueInvalid', /must be no more than 15 characters/);
    only(
      check(withPorts([{ containerPort: 80, name: 'http' }, { containerPort: 81, name: 'http' }])),
      'spec.containers[0].ports[1].name',
      'FieldValueDuplicate',
    );
    only(check(withPorts([{ containerPort: 80, protocol: 'HTTP' }])), 'spec.containers[0].ports[0].protocol', 'FieldValueNotSupported', 'Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"');
  });

  test('requests above limits', () => {
    only(
      check(pod({ containers: [{ name: 'a', image: 'x', resources: { requests: { cpu: '2' }, limits: { cpu: '1500m' } } }] })),
      'spec.containers[0].resources.requests[cpu]',
      'FieldValueInvalid',
      'Invalid value: "2": must be less than or equal to cpu limit of 1500m',
    );
  });

  test('enums', () => {
    only(check(pod({ restartPolicy: 'Sometimes' })), 'spec.restartPolicy', 'FieldValueNotSupported', 'Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"');
    only(check(pod({ dnsPolicy: 'Google' })), 'spec.dnsPolicy', 'FieldValueNotSupported');
    only(check(pod({ containers: [{ name: 'a', image: 'x', imagePullPolicy: 'Sometimes' }] })), 'spec.containers[0].imagePullPolicy', 'FieldValueNotSupported');
  });

  test('updates: image, added tolerations and a shorter deadline pass; anything else is forbidden', () => {
    const old = pod({ activeDeadlineSeconds: 100 });
    check(old);
    const next = structuredClone(old);
    next.spec.containers[0].image = 'x:2';
    next.spec.activeDeadlineSeconds = 50;
    next.spec.tolerations.push({ key: 'gpu', operator: 'Exists' });
    next.metadata.labels = { changed: 'yes' };
    assert.deepEqual(validateObject(typeOf('Pod'), next, old), []);

    const ported = structuredClone(old);
    ported.spec.containers[0].ports = [{ containerPort: 80, protocol: 'TCP' }];
    only(validateObject(typeOf('Pod'), ported, old), 'spec', 'FieldValueForbidden', /^Forbidden: pod updates may not change fields other than `spec.containers\[\*\].image`/);

    const longer = structuredClone(old);
    longer.spec.activeDeadlineSeconds = 200;
    only(validateObject(typeOf('Pod'), longer, old), 'spec.activeDeadlineSeconds', 'FieldValueInvalid');
  });
});

describe('workloads', () => {
  test('a valid Deployment passes', () => {
    assert.deepEqual(check(deployment()), []);
  });

  test('selector required, matching the template, replicas ≥ 0', () => {
    only(check(deployment({ selector: undefined })), 'spec.selector', 'FieldValueRequired');
    only(
      check(deployment({ selector: { matchLabels: { app: 'other' } } })),
      'spec.template.metadata.labels',
      'FieldValueInvalid',
      'Invalid value: map[string]string{"app":"web"}: `selector` does not match template `labels`',
    );
    only(check(deployment({ selector: {} })), 'spec.selector', 'FieldValueInvalid', /empty selector is invalid for deployment$/);
    only(check(deployment({ replicas: -1 })), 'spec.replicas', 'FieldValueInvalid', 'Invalid value: -1: must be greater than or equal to 0');
  });

  test('pod template rules with template paths', () => {
    const d = deployment();
    d.spec.template.spec.containers[0].image = '';
    only(check(d), 'spec.template.spec.containers[0].image', 'FieldValueRequired');
    const onFailure = deployment();
    onFailure.spec.template.spec.restartPolicy = 'OnFailure';
    only(check(onFailure), 'spec.template.spec.restartPolicy', 'FieldValueNotSupported', 'Unsupported value: "OnFailure": supported values: "Always"');
  });

  test('the selector is immutable', () => {
    const old = deployment();
    check(old);
    const next = structuredClone(old);
    next.spec.selector = { matchLabels: { app: 'web', tier: 'x' } };
    next.spec.template.metadata.labels.tier = 'x';
    only(
      validateObject(typeOf('Deployment'), next, old),
      'spec.selector',
      'FieldValueInvalid',
      'Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"web", "tier":"x"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable',
    );
  });

  test('ReplicaSet and DaemonSet share the rules', () => {
    for (const kind of ['ReplicaSet', 'DaemonSet']) {
      const obj = { ...deployment(), kind };
      assert.deepEqual(check(obj), [], kind);
      only(check({ ...deployment({ selector: { matchLabels: { app: 'no' } } }), kind }), 'spec.template.metadata.labels', 'FieldValueInvalid');
    }
  });

  test('StatefulSet: serviceName is optional; only some spec fields may change', () => {
    const sts: any = {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'db', namespace: 'demo' },
      spec: {
        selector: { matchLabels: { app: 'db' } },
        template: { metadata: { labels: { app: 'db' } }, spec: { containers: [{ name: 'db', image: 'db:1' }] } },
        volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }],
      },
    };
    assert.deepEqual(check(sts), []);
    const scaled = structuredClone(sts);
    scaled.spec.replicas = 3;
    scaled.spec.template.spec.containers[0].image = 'db:2';
    assert.deepEqual(validateObject(typeOf('StatefulSet'), scaled, sts), []);
    const grown = structuredClone(sts);
    grown.spec.volumeClaimTemplates[0].spec.resources.requests.storage = '2Gi';
    only(
      validateObject(typeOf('StatefulSet'), grown, sts),
      'spec',
      'FieldValueForbidden',
      "Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
    );
    const bad = structuredClone(sts);
    bad.spec.podManagementPolicy = 'Whenever';
    only(validateObject(typeOf('StatefulSet'), bad), 'spec.podManagementPolicy', 'FieldValueInvalid', `Invalid value: "Whenever": must be 'OrderedReady' or 'Parallel'`);
  });

  test('Job: restartPolicy must be set; template and selector immutable', () => {
    const job = (restartPolicy?: string): any => ({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'pi', namespace: 'demo', uid: 'u-1' },
      spec: { template: { spec: { ...(restartPolicy ? { restartPolicy } : {}), containers: [{ name: 'pi', image: 'perl:5' }] } } },
    });
    const valid = job('Never');
    assert.deepEqual(check(valid), []);
    only(check(job()), 'spec.template.spec.restartPolicy', 'FieldValueNotSupported', 'Unsupported value: "Always": supported values: "OnFailure", "Never"');
    const changed = structuredClone(valid);
    changed.spec.template.spec.containers[0].image = 'perl:6';
    only(validateObject(typeOf('Job'), changed, valid), 'spec.template', 'FieldValueInvalid', /field is immutable$/);
    const reselected = structuredClone(valid);
    reselected.spec.selector.matchLabels.extra = 'x';
    reselected.spec.template.metadata.labels.extra = 'x';
    const causes = validateObject(typeOf('Job'), reselected, valid).map((c) => c.field);
    assert.deepEqual(causes, ['spec.selector', 'spec.template']);
  });
});

describe('services', () => {
  const svc = (spec: any): any => ({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'demo' }, spec });

  test('a valid Service passes', () => {
    assert.deepEqual(check(svc({ selector: { app: 'web' }, ports: [{ name: 'http', port: 80 }, { name: 'grpc', port: 9000, targetPort: 'grpc' }] })), []);
    assert.deepEqual(check(svc({ clusterIP: 'None', selector: { app: 'web' } })), []);
  });

  test('ports: range, names when several, unique', () => {
    // targetPort defaults to the port, so a real server reports both.
    assert.deepEqual(
      check(svc({ ports: [{ port: 0 }] })).map((c) => [c.field, c.message]),
      [
        ['spec.ports[0].port', 'Invalid value: 0: must be between 1 and 65535, inclusive'],
        ['spec.ports[0].targetPort', 'Invalid value: 0: must be between 1 and 65535, inclusive'],
      ],
    );
    only(check(svc({ ports: [{ name: 'a', port: 80 }, { port: 81 }] })), 'spec.ports[1].name', 'FieldValueRequired');
    only(check(svc({ ports: [{ name: 'a', port: 80 }, { name: 'a', port: 81 }] })), 'spec.ports[1].name', 'FieldValueDuplicate');
    only(check(svc({})), 'spec.ports', 'FieldValueRequired');
  });

  test('type', () => {
    only(check(svc({ type: 'Magic', ports: [{ port: 80 }] })), 'spec.type', 'FieldValueNotSupported', 'Unsupported value: "Magic": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"');
    only(check(svc({ type: 'ExternalName' })), 'spec.externalName', 'FieldValueRequired');
  });

  test('the cluster IP may not change once set', () => {
    const old = svc({ ports: [{ port: 80 }] });
    check(old);
    const next = structuredClone(old);
    next.spec.clusterIP = '10.0.0.99';
    next.spec.clusterIPs = ['10.0.0.99'];
    only(validateObject(typeOf('Service'), next, old), 'spec.clusterIPs[0]', 'FieldValueInvalid', 'Invalid value: []string{"10.0.0.99"}: may not change once set');
  });
});

describe('ConfigMaps and Secrets', () => {
  const cm = (extra: any): any => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'demo' }, ...extra });

  test('keys and size', () => {
    assert.deepEqual(check(cm({ data: { 'app.properties': 'a=1', KEY_1: 'x' } })), []);
    only(check(cm({ data: { 'bad key': 'x' } })), 'data[bad key]', 'FieldValueInvalid', /a valid config key must consist of alphanumeric characters/);
    only(check(cm({ data: { a: 'x'.repeat(1024 * 1024 + 1) } })), '', 'FieldValueTooLong');
    const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'demo' }, stringData: { 'bad/key': 'x' } };
    only(check(secret), 'data[bad/key]', 'FieldValueInvalid');
  });

  test('immutable data', () => {
    const old = cm({ data: { a: '1' }, immutable: true });
    check(old);
    const next = structuredClone(old);
    next.data.a = '2';
    only(validateObject(typeOf('ConfigMap'), next, old), 'data', 'FieldValueForbidden', 'Forbidden: field is immutable when `immutable` is set');
    const mutableAgain = structuredClone(old);
    mutableAgain.immutable = false;
    only(validateObject(typeOf('ConfigMap'), mutableAgain, old), 'immutable', 'FieldValueForbidden');

    const oldSecret: any = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'demo' }, data: { a: 'MQ==' }, immutable: true };
    check(oldSecret);
    const sameBytes = { ...structuredClone(oldSecret), data: undefined, stringData: { a: '1' } };
    assert.deepEqual(validateObject(typeOf('Secret'), sameBytes, oldSecret), []);
    const retyped = { ...structuredClone(oldSecret), type: 'kubernetes.io/tls' };
    only(validateObject(typeOf('Secret'), retyped, oldSecret), 'type', 'FieldValueInvalid', 'Invalid value: "kubernetes.io/tls": field is immutable');
  });
});

describe('RBAC bindings', () => {
  const binding = (roleRef: any): any => ({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: 'b', namespace: 'demo' },
    roleRef,
    subjects: [{ kind: 'ServiceAccount', name: 'default', namespace: 'demo' }],
  });
  const good = { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'reader' };

  test('roleRef', () => {
    assert.deepEqual(check(binding(good)), []);
    only(check(binding({ ...good, apiGroup: 'rbac' })), 'roleRef.apiGroup', 'FieldValueNotSupported');
    only(check(binding({ ...good, kind: 'Pod' })), 'roleRef.kind', 'FieldValueNotSupported', 'Unsupported value: "Pod": supported values: "Role", "ClusterRole"');
    only(check(binding({ ...good, name: '' })), 'roleRef.name', 'FieldValueRequired');
    const crb = { ...binding({ ...good, kind: 'Role' }), kind: 'ClusterRoleBinding', metadata: { name: 'b' } };
    only(check(crb), 'roleRef.kind', 'FieldValueNotSupported', 'Unsupported value: "Role": supported values: "ClusterRole"');
  });

  test('roleRef is immutable', () => {
    const old = binding(good);
    check(old);
    const next = binding({ ...good, name: 'writer' });
    check(next);
    only(
      validateObject(typeOf('RoleBinding'), next, old),
      'roleRef',
      'FieldValueInvalid',
      'Invalid value: rbac.RoleRef{APIGroup:"rbac.authorization.k8s.io", Kind:"Role", Name:"writer"}: cannot change roleRef',
    );
  });
});

describe('field formats (400 at decode time)', () => {
  const lease = (spec: any): any => ({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'l', namespace: 'demo' }, spec });

  test('MicroTime needs six fractional digits', () => {
    assert.equal(checkFieldFormats(typeOf('Lease'), lease({ renewTime: '2026-01-01T00:00:00.123456Z', acquireTime: '2026-01-01T00:00:00.000000+02:00' })), undefined);
    assert.equal(
      checkFieldFormats(typeOf('Lease'), lease({ renewTime: '2026-01-01T00:00:00.123Z' })),
      'Lease in version "v1" cannot be handled as a Lease: parsing time "2026-01-01T00:00:00.123Z" as "2006-01-02T15:04:05.000000Z07:00": cannot parse ".123Z" as ".000000"',
    );
    assert.equal(parseMicroTime('2026-01-01T00:00:00Z'), 'parsing time "2026-01-01T00:00:00Z" as "2006-01-02T15:04:05.000000Z07:00": cannot parse "Z" as ".000000"');
    assert.equal(parseMicroTime('2026-01-01 00:00:00.000000Z'), 'parsing time "2026-01-01 00:00:00.000000Z" as "2006-01-02T15:04:05.000000Z07:00": cannot parse " 00:00:00.000000Z" as "T"');
    assert.equal(parseMicroTime('2026-01-01T00:00:00.000000Zjunk'), 'parsing time "2026-01-01T00:00:00.000000Zjunk": extra text: "junk"');
  });

  test('unparseable quantities', () => {
    assert.equal(checkFieldFormats(typeOf('Pod'), pod()), undefined);
    const bad = pod({ containers: [{ name: 'a', image: 'x', resources: { limits: { cpu: 'lots' } } }] });
    assert.match(checkFieldFormats(typeOf('Pod'), bad) ?? '', /^Pod in version "v1" cannot be handled as a Pod: quantities must match the regular expression/);
    assert.equal(checkFieldFormats(typeOf('Deployment'), deployment()), undefined);
  });
});
