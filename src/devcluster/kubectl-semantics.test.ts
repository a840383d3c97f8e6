/**
 * API semantics as kubectl users meet them: patch types, client-side and server-side apply with
 * their conflicts, CustomResourceDefinitions (wait, discovery, printer columns, scale, explain),
 * the columns of `kubectl get`, watch rows, describe with events, logs and exec.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Deployment, KubeObject } from '../kube/index.ts';
import { startDevCluster, type DevCluster } from './index.ts';
import { eventually, managedFields, rawRequest } from './testing.ts';

let cluster: DevCluster;
let tmpHome: string;
const NS = 'ksem';

function kubectl(args: string[], opts: { input?: string } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile('kubectl', args, { env: { ...process.env, KUBECONFIG: cluster.kubeconfigPath, HOME: tmpHome }, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
    if (opts.input !== undefined) child.stdin!.end(opts.input);
  });
}

async function ok(args: string[], opts: { input?: string } = {}): Promise<string> {
  const r = await kubectl(args, opts);
  assert.equal(r.code, 0, `kubectl ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

async function fails(args: string[], opts: { input?: string } = {}): Promise<string> {
  const r = await kubectl(args, opts);
  assert.notEqual(r.code, 0, `kubectl ${args.join(' ')} should fail; printed ${r.stdout}`);
  return r.stderr;
}

/** `kubectl get … -o json`, read as the kind the caller names. */
const getJson = async <T extends KubeObject = KubeObject>(...args: string[]): Promise<T> => JSON.parse(await ok([...args, '-o', 'json']));
const containersOf = (d: Deployment) => d.spec?.template.spec?.containers ?? [];

/** The test's custom resource. */
interface Model extends KubeObject {
  spec?: { framework?: string; uri?: string; replicas?: number };
  status?: { phase?: string; replicas?: number };
}

before(async () => {
  tmpHome = mkdtempSync(join(tmpdir(), 'kre-kubectl-sem-home-'));
  cluster = await startDevCluster();
  await ok(['create', 'namespace', NS]);
});
after(async () => {
  await cluster.stop();
  rmSync(tmpHome, { recursive: true, force: true });
});

const deploymentYaml = (name: string, containers: string) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  namespace: ${NS}
spec:
  replicas: 1
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      containers:
${containers}`;

describe('kubectl patch and apply', () => {
  test('patch: strategic merge by default, --type merge, --type json', async () => {
    await ok(['apply', '-f', '-'], {
      input: deploymentYaml('kp', `      - name: app
        image: app:1
        env: [{name: A, value: "1"}]
      - name: side
        image: side:1
`),
    });
    await ok(['-n', NS, 'patch', 'deployment', 'kp', '-p', '{"spec":{"template":{"spec":{"containers":[{"name":"app","image":"app:2","env":[{"name":"B","value":"2"}]}]}}}}']);
    let d = await getJson<Deployment>('-n', NS, 'get', 'deployment', 'kp');
    const containers = containersOf(d);
    assert.deepEqual(containers.map((c) => c.name), ['app', 'side'], 'merged by name');
    assert.equal(containers[0].image, 'app:2');
    assert.deepEqual(containers[0].env?.map((e) => e.name).sort(), ['A', 'B']);

    await ok(['-n', NS, 'patch', 'deployment', 'kp', '--type', 'merge', '-p', '{"spec":{"replicas":3}}']);
    await ok(['-n', NS, 'patch', 'deployment', 'kp', '--type', 'json', '-p', '[{"op":"replace","path":"/spec/template/spec/containers/1/image","value":"side:2"}]']);
    d = await getJson('-n', NS, 'get', 'deployment', 'kp');
    assert.equal(d.spec?.replicas, 3);
    assert.equal(containersOf(d)[1].image, 'side:2');

    await ok(['-n', NS, 'patch', 'deployment', 'kp', '-p', '{"spec":{"template":{"spec":{"containers":[{"name":"side","$patch":"delete"}]}}}}']);
    d = await getJson('-n', NS, 'get', 'deployment', 'kp');
    assert.deepEqual(containersOf(d).map((c) => c.name), ['app']);

    const bad = await fails(['-n', NS, 'patch', 'deployment', 'kp', '--type', 'merge', '-p', '{"spec":{"replicas":-2}}']);
    assert.match(bad, /is invalid: spec\.replicas: Invalid value: -2/);
  });

  test('apply twice: the second removes a container and an env var', async () => {
    await ok(['apply', '-f', '-'], {
      input: deploymentYaml('twice', `      - name: app
        image: app:1
        env: [{name: KEEP, value: "1"}, {name: DROP, value: "2"}]
      - name: helper
        image: helper:1
`),
    });
    // A change made by someone else, outside the manifest, survives the next apply.
    await ok(['-n', NS, 'label', 'deployment', 'twice', 'extra=yes']);
    const out = await ok(['apply', '-f', '-'], {
      input: deploymentYaml('twice', `      - name: app
        image: app:2
        env: [{name: KEEP, value: "1"}]
`),
    });
    assert.match(out, /deployment.apps\/twice configured/);
    const d = await getJson<Deployment>('-n', NS, 'get', 'deployment', 'twice');
    assert.deepEqual(containersOf(d).map((c) => c.name), ['app']);
    assert.equal(containersOf(d)[0].image, 'app:2');
    assert.deepEqual(containersOf(d)[0].env, [{ name: 'KEEP', value: '1' }]);
    assert.equal(d.metadata.labels?.extra, 'yes');
    const last: Deployment = JSON.parse(d.metadata.annotations?.['kubectl.kubernetes.io/last-applied-configuration'] ?? '{}');
    assert.equal(containersOf(last).length, 1);
  });

  test('apply --server-side, a conflict with kubectl scale and another manager, then --force-conflicts', async () => {
    const manifest = (replicas: number, image: string) =>
      deploymentYaml('ssa', `      - name: app
        image: ${image}
`).replace('replicas: 1', `replicas: ${replicas}`);
    assert.match(await ok(['apply', '--server-side', '-f', '-'], { input: manifest(2, 'app:1') }), /deployment.apps\/ssa serverside-applied/);
    await ok(['-n', NS, 'scale', 'deployment', 'ssa', '--replicas=5']);
    const conflict = await fails(['apply', '--server-side', '-f', '-'], { input: manifest(2, 'app:1') });
    assert.match(conflict, /conflict/i);
    assert.match(conflict, /\.spec\.replicas/);
    assert.match(await ok(['apply', '--server-side', '--force-conflicts', '-f', '-'], { input: manifest(2, 'app:1') }), /serverside-applied/);
    let d = await getJson<Deployment>('-n', NS, 'get', 'deployment', 'ssa', '--show-managed-fields');
    assert.equal(d.spec?.replicas, 2);

    await ok(['-n', NS, 'set', 'image', 'deployment/ssa', 'app=app:9']);
    const imageConflict = await fails(['apply', '--server-side', '-f', '-'], { input: manifest(2, 'app:2') });
    assert.match(imageConflict, /conflict with "kubectl-set"/);
    assert.match(imageConflict, /\.spec\.template\.spec\.containers\[name="app"\]\.image/);
    await ok(['apply', '--server-side', '--force-conflicts', '-f', '-'], { input: manifest(2, 'app:2') });
    d = await getJson('-n', NS, 'get', 'deployment', 'ssa', '--show-managed-fields');
    assert.equal(containersOf(d)[0].image, 'app:2');
    const applier = managedFields(d).find((m) => m.manager === 'kubectl' && m.operation === 'Apply');
    assert.ok(applier?.fieldsV1?.['f:spec']?.['f:replicas'], 'the applier owns replicas again');
  });

  test('validation errors reach the user with their fields; unknown fields are refused by kubectl\'s strict default', async () => {
    const invalid = await fails(['-n', NS, 'create', 'configmap', 'Bad_Name']);
    assert.match(invalid, /ConfigMap "Bad_Name" is invalid: metadata\.name: Invalid value: "Bad_Name"/);
    const unknown = await fails(['apply', '-f', '-'], { input: `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: typo, namespace: ${NS}}\ndat: {a: "1"}\n` });
    assert.match(unknown, /strict decoding error: unknown field "dat"/);
    await ok(['apply', '--validate=false', '-f', '-'], { input: `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: typo, namespace: ${NS}}\ndat: {a: "1"}\n` });
  });
});

const CRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: models.serving.kre.io
spec:
  group: serving.kre.io
  scope: Namespaced
  names: {kind: Model, plural: models, singular: model, shortNames: [mdl]}
  versions:
  - name: v1alpha1
    served: true
    storage: true
    subresources:
      status: {}
      scale: {specReplicasPath: .spec.replicas, statusReplicasPath: .status.replicas}
    additionalPrinterColumns:
    - {name: Framework, type: string, jsonPath: .spec.framework}
    - {name: Replicas, type: integer, jsonPath: .spec.replicas}
    - {name: Phase, type: string, jsonPath: .status.phase}
    - {name: Age, type: date, jsonPath: .metadata.creationTimestamp}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [framework]
            properties:
              framework: {type: string, enum: [onnx, torch], description: The runtime that serves the model.}
              replicas: {type: integer, minimum: 0, default: 1, description: How many servers.}
              uri: {type: string, pattern: '^s3://'}
          status:
            type: object
            properties:
              phase: {type: string}
              replicas: {type: integer}
`;

describe('kubectl and custom resources', () => {
  test('a CRD: established, in api-resources, valid and invalid objects, columns, scale, explain, deletion', async () => {
    await ok(['apply', '-f', '-'], { input: CRD });
    assert.match(await ok(['wait', '--for', 'condition=established', '--timeout=20s', 'crd/models.serving.kre.io']), /condition met/);
    assert.match(await ok(['api-resources', '--api-group=serving.kre.io']), /^models\s+mdl\s+serving\.kre\.io\/v1alpha1\s+true\s+Model$/m);

    const model = (name: string, spec: string) => `apiVersion: serving.kre.io/v1alpha1\nkind: Model\nmetadata: {name: ${name}, namespace: ${NS}}\nspec: ${spec}\n`;
    assert.match(await ok(['apply', '-f', '-'], { input: model('resnet', '{framework: onnx, uri: "s3://models/resnet"}') }), /model.serving.kre.io\/resnet created/);
    const created = await getJson<Model>('-n', NS, 'get', 'model', 'resnet');
    assert.equal(created.spec?.replicas, 1, 'defaulted');

    const invalid = await fails(['apply', '-f', '-'], { input: model('bad', '{framework: tf, replicas: -1, uri: "http://x"}') });
    assert.match(invalid, /The Model "bad" is invalid/);
    assert.match(invalid, /spec\.framework: Unsupported value: "tf": supported values: "onnx", "torch"/);
    assert.match(invalid, /spec\.replicas: Invalid value: -1: spec\.replicas in body should be greater than or equal to 0/);
    assert.match(invalid, /spec\.uri: Invalid value: "http:\/\/x": spec\.uri in body should match '\^s3:\/\/'/);
    const missing = await fails(['apply', '-f', '-'], { input: model('bad', '{replicas: 1}') });
    assert.match(missing, /spec\.framework: Required value/);
    const unknown = await fails(['apply', '-f', '-'], { input: model('bad', '{framework: onnx, unknownField: 1}') });
    assert.match(unknown, /strict decoding error: unknown field "spec\.unknownField"/);

    // Printer columns, then the scale subresource through kubectl scale.
    const table = await ok(['-n', NS, 'get', 'models']);
    assert.match(table, /^NAME\s+FRAMEWORK\s+REPLICAS\s+PHASE\s+AGE$/m);
    assert.match(table, /^resnet\s+onnx\s+1\s+\S+$/m);
    assert.match(await ok(['-n', NS, 'scale', 'model', 'resnet', '--replicas=4']), /model.serving.kre.io\/resnet scaled/);
    assert.match(await ok(['-n', NS, 'get', 'mdl']), /^resnet\s+onnx\s+4\s+\S+$/m);
    const scaled = await getJson('-n', NS, 'get', 'model', 'resnet');
    assert.equal(scaled.metadata.generation, 2);

    // Status is written through /status only.
    await ok(['-n', NS, 'patch', 'model', 'resnet', '--type', 'merge', '--subresource', 'status', '-p', '{"status":{"phase":"Serving","replicas":4}}']);
    assert.match(await ok(['-n', NS, 'get', 'models']), /^resnet\s+onnx\s+4\s+Serving\s+\S+$/m);
    await ok(['-n', NS, 'patch', 'model', 'resnet', '--type', 'merge', '-p', '{"status":{"phase":"Ignored"}}']);
    assert.equal((await getJson<Model>('-n', NS, 'get', 'model', 'resnet')).status?.phase, 'Serving');
    const strategic = await fails(['-n', NS, 'patch', 'model', 'resnet', '--type', 'strategic', '-p', '{"spec":{"replicas":2}}']);
    assert.match(strategic, /UnsupportedMediaType|415|not supported/i);

    const explain = await ok(['explain', 'model.spec']);
    assert.match(explain, /KIND:\s+Model/);
    assert.match(explain, /framework\s+<string>/);
    assert.match(explain, /The runtime that serves the model\./);
    assert.match(explain, /replicas\s+<integer>/);

    await ok(['delete', 'crd', 'models.serving.kre.io', '--timeout=30s']);
    await eventually(async () => {
      const r = await kubectl(['api-resources', '--api-group=serving.kre.io']);
      return r.code === 0 && !/models/.test(r.stdout);
    }, 15_000, 'models to leave api-resources');
    const gone = await kubectl(['-n', NS, 'get', 'models']);
    assert.notEqual(gone.code, 0);
    assert.match(gone.stderr, /the server doesn't have a resource type "models"/);
    // Recreating the CRD finds no object left behind.
    await ok(['apply', '-f', '-'], { input: CRD });
    await ok(['wait', '--for', 'condition=established', '--timeout=20s', 'crd/models.serving.kre.io']);
    const after = await kubectl(['-n', NS, 'get', 'models']);
    assert.match(after.stdout + after.stderr, /No resources found/);
  });
});

describe('kubectl get columns', () => {
  before(async () => {
    const manifests = `apiVersion: v1
kind: Node
metadata: {name: cols-node, labels: {kubernetes.io/hostname: cols-node}}
---
apiVersion: v1
kind: Pod
metadata: {name: cols-pod, namespace: ${NS}, labels: {app: cols}}
spec: {containers: [{name: main, image: nginx}]}
---
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: cols-rs, namespace: ${NS}}
spec: {replicas: 0, selector: {matchLabels: {app: cols-rs}}, template: {metadata: {labels: {app: cols-rs}}, spec: {containers: [{name: main, image: nginx}]}}}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: cols-sts, namespace: ${NS}}
spec: {replicas: 0, serviceName: cols, selector: {matchLabels: {app: cols-sts}}, template: {metadata: {labels: {app: cols-sts}}, spec: {containers: [{name: main, image: nginx}]}}}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: cols-ds, namespace: ${NS}}
spec: {selector: {matchLabels: {app: cols-ds}}, template: {metadata: {labels: {app: cols-ds}}, spec: {nodeSelector: {none: none}, containers: [{name: main, image: nginx}]}}}
---
apiVersion: batch/v1
kind: Job
metadata: {name: cols-job, namespace: ${NS}}
spec: {suspend: true, template: {spec: {restartPolicy: Never, containers: [{name: main, image: busybox}]}}}
---
apiVersion: v1
kind: Service
metadata: {name: cols-svc, namespace: ${NS}}
spec: {selector: {app: cols}, ports: [{port: 80, targetPort: 8080}]}
---
apiVersion: v1
kind: Secret
metadata: {name: cols-secret, namespace: ${NS}}
stringData: {a: "1"}
`;
    await ok(['apply', '-f', '-'], { input: manifests });
    const pod = await getJson('-n', NS, 'get', 'pod', 'cols-pod');
    await ok(['create', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name: 'cols-pod.1', namespace: NS },
        involvedObject: { apiVersion: 'v1', kind: 'Pod', name: 'cols-pod', namespace: NS, uid: pod.metadata.uid },
        reason: 'Pulled',
        message: 'Container image "nginx" already present on machine',
        type: 'Normal',
        source: { component: 'kubelet' },
        count: 1,
        firstTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
        lastTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      }),
    });
  });

  const headers: Array<[string[], RegExp]> = [
    [['pods'], /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE$/],
    [['pods', '-o', 'wide'], /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE\s+NOMINATED NODE\s+READINESS GATES$/],
    [['deployments'], /^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE$/],
    [['replicasets'], /^NAME\s+DESIRED\s+CURRENT\s+READY\s+AGE$/],
    [['statefulsets'], /^NAME\s+READY\s+AGE$/],
    [['daemonsets'], /^NAME\s+DESIRED\s+CURRENT\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+NODE SELECTOR\s+AGE$/],
    [['jobs'], /^NAME\s+STATUS\s+COMPLETIONS\s+DURATION\s+AGE$/],
    [['services'], /^NAME\s+TYPE\s+CLUSTER-IP\s+EXTERNAL-IP\s+PORT\(S\)\s+AGE$/],
    [['configmaps'], /^NAME\s+DATA\s+AGE$/],
    [['secrets'], /^NAME\s+TYPE\s+DATA\s+AGE$/],
    [['events'], /^LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+MESSAGE$/],
    [['nodes'], /^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION$/],
    [['namespaces'], /^NAME\s+STATUS\s+AGE$/],
  ];
  for (const [args, header] of headers) {
    test(`kubectl get ${args.join(' ')}`, async () => {
      const out = await ok(['-n', NS, 'get', ...args]);
      const [first, ...rows] = out.trimEnd().split('\n');
      assert.match(first, header);
      assert.ok(rows.length > 0, `rows under the header: ${out}`);
    });
  }

  test('rows carry the values of each kind', async () => {
    assert.match(await ok(['-n', NS, 'get', 'svc', 'cols-svc']), /^cols-svc\s+ClusterIP\s+\d+\.\d+\.\d+\.\d+\s+<none>\s+80\/TCP\s+\S+$/m);
    assert.match(await ok(['-n', NS, 'get', 'secret', 'cols-secret']), /^cols-secret\s+Opaque\s+1\s+\S+$/m);
    assert.match(await ok(['-n', NS, 'get', 'ds', 'cols-ds']), /^cols-ds\s+0\s+0\s+0\s+0\s+0\s+none=none\s+\S+$/m);
    assert.match(await ok(['-n', NS, 'get', 'rs', 'cols-rs']), /^cols-rs\s+0\s+0\s+0\s+\S+$/m);
    assert.match(await ok(['-n', NS, 'get', 'events']), /\s+Normal\s+Pulled\s+pod\/cols-pod\s+Container image "nginx" already present on machine$/m);
    assert.match(await ok(['get', 'ns', NS]), new RegExp(`^${NS}\\s+Active\\s+\\S+$`, 'm'));
  });

  test('get pods -w prints a row per change', async () => {
    const watch = spawn('kubectl', ['-n', NS, 'get', 'pods', '-w'], { env: { ...process.env, KUBECONFIG: cluster.kubeconfigPath, HOME: tmpHome } });
    let out = '';
    watch.stdout.on('data', (c) => (out += c));
    try {
      await eventually(() => /cols-pod/.test(out), 15_000, 'the first rows');
      assert.match(out, /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE$/m);
      await ok(['-n', NS, 'run', 'watched', '--image=nginx', '--restart=Never']);
      await eventually(() => /^watched\s+\d+\/1\s+\S+\s+\d+\s+\S+$/m.test(out), 15_000, `a row for the new pod in ${JSON.stringify(out)}`);
    } finally {
      watch.kill();
    }
  });
});

describe('kubectl around the edges', () => {
  test('describe shows the events of the object', async () => {
    const out = await ok(['-n', NS, 'describe', 'pod', 'cols-pod']);
    assert.match(out, /^Name:\s+cols-pod$/m);
    assert.match(out, /^Events:/m);
    assert.match(out, /Normal\s+Pulled\s+.*kubelet\s+Container image "nginx" already present on machine/);
  });

  test('logs and exec get a clear message, never a bare 404', async () => {
    // A pod that keeps running (one with restartPolicy Never would complete after a simulated second, and kubectl refuses exec into it itself).
    await ok(['-n', NS, 'run', 'edge', '--image=nginx']);
    const logs = await kubectl(['-n', NS, 'logs', 'edge']);
    const exec = await kubectl(['-n', NS, 'exec', 'edge', '--', 'ls']);
    for (const [what, r] of [
      ['logs', logs],
      ['exec', exec],
    ] as const) {
      assert.doesNotMatch(r.stderr, /the server could not find the requested resource/, `${what}: ${r.stderr}`);
      assert.doesNotMatch(r.stderr, /404/, `${what}: ${r.stderr}`);
    }
    // Logs answer once the pod runs (simulated lines) or say why they cannot.
    assert.ok(logs.code === 0 ? /simulated container/.test(logs.stdout) : /waiting to start|ContainerCreating|Pending/.test(logs.stderr), `logs: ${logs.stdout} ${logs.stderr}`);
    assert.notEqual(exec.code, 0);
    assert.match(exec.stderr, /exec is not available on the kre devcluster|simulated|not running|waiting/i, `exec: ${exec.stderr}`);
  });

  test('a namespace holding a finalized object stays Terminating until the finalizer is removed', async () => {
    await ok(['create', 'namespace', 'kheld']);
    await ok(['apply', '-f', '-'], { input: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: pinned, namespace: kheld, finalizers: [example.com/hold]}\n' });
    await ok(['delete', 'namespace', 'kheld', '--wait=false']);
    assert.match(await ok(['get', 'namespace', 'kheld']), /^kheld\s+Terminating\s+\S+$/m);
    const refused = await fails(['-n', 'kheld', 'create', 'configmap', 'late']);
    assert.match(refused, /forbidden: unable to create new content in namespace kheld because it is being terminated/);
    await ok(['-n', 'kheld', 'patch', 'configmap', 'pinned', '--type', 'json', '-p', '[{"op":"remove","path":"/metadata/finalizers"}]']);
    await ok(['wait', '--for=delete', 'namespace/kheld', '--timeout=30s']);
    const r = await rawRequest(cluster, 'GET', '/api/v1/namespaces/kheld');
    assert.equal(r.status, 404);
  });
});
