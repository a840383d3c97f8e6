import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { z } from 'zod';
import { startDevCluster, type DevCluster } from '../devcluster/index.ts';
import { eventually } from '../devcluster/testing.ts';
import { applyObject, KubeApiError, KubeClient } from '../kube/index.ts';
import { customResourceDefinitions, toStructuralSchema } from './crd.ts';
import { RUNTIMES, RuntimeSpec, type Runtime } from './runtime.ts';
import { RUNTIME_VERSIONS } from './runtime-version.ts';
import { checkRuntime, checkRuntimeVersion, schemaProblems, workflowChain } from './rules.ts';
import { configKey } from './fields.ts';

const run = promisify(execFile);

interface Schema {
  properties?: Record<string, Schema>;
  default?: unknown;
}

describe('toStructuralSchema', () => {
  test('keeps types, bounds, patterns and defaults, and drops what OpenAPI v3 lacks', () => {
    const schema = toStructuralSchema(
      z.object({
        replicas: z.number().int().min(1).default(2),
        labels: z.record(z.string(), z.string()).optional(),
        name: z.string().regex(/^[a-z]+$/),
        nested: z.object({ on: z.boolean().default(true) }).prefault({}),
      }),
    );
    assert.deepEqual(schema, {
      type: 'object',
      properties: {
        replicas: { type: 'integer', minimum: 1, default: 2 },
        labels: { type: 'object', additionalProperties: { type: 'string' } },
        name: { type: 'string', pattern: '^[a-z]+$' },
        nested: { type: 'object', default: {}, properties: { on: { type: 'boolean', default: true } } },
      },
      required: ['name'],
    });
  });

  test('zod defaults and the CRD defaults agree', () => {
    const spec = RuntimeSpec.parse({});
    assert.equal(spec.nats.replicas, 2);
    assert.equal(spec.minio.storage.size, '10Gi');
    // The CRD's schema is JSON Schema as toStructuralSchema made it: nested `properties` all the way down.
    const crdSpec = customResourceDefinitions()[0].spec?.versions[0].schema?.openAPIV3Schema?.properties as Record<string, Schema>;
    assert.equal(crdSpec.spec.properties?.nats.properties?.replicas.default, 2);
    assert.equal(crdSpec.spec.properties?.minio.properties?.storage.properties?.size.default, '10Gi');
  });
});

describe('configuration keys', () => {
  test('every name of the old rule is accepted but those starting with KRT_, and the pattern reads the same in RE2', () => {
    const pattern = (toStructuralSchema(configKey) as { pattern: string }).pattern;
    assert.doesNotMatch(pattern, /\(\?[=!<]/, 'no lookaround');
    const re = new RegExp(pattern);
    const base = /^[A-Z0-9]([_A-Z0-9]*[A-Z0-9])?$/;
    const alphabet = ['K', 'R', 'T', '_', 'A', '0'];
    let words = [''];
    let checked = 0;
    for (let length = 1; length <= 6; length++) {
      words = words.flatMap((w) => alphabet.map((c) => w + c));
      for (const w of words) {
        assert.equal(re.test(w), base.test(w) && !w.startsWith('KRT_'), w);
        checked++;
      }
    }
    assert.equal(checked, 55_986);
  });
  test('a reserved name is refused naming the key and why', () => {
    const result = configKey.safeParse('KRT_NODE_ID');
    assert.equal(result.success, false);
    assert.match(result.error!.issues[0].message, /KRT_NODE_ID is set by the operator/);
    assert.deepEqual(schemaProblems('spec', [{ path: ['config', 1, 'key'], message: 'm' }]), [{ field: 'spec.config[1].key', message: 'm' }]);
  });
});

describe('rules a schema cannot express', () => {
  test('a Runtime whose name does not fit in a label is named with the limit', () => {
    assert.deepEqual(checkRuntime('r'.repeat(63)), []);
    const [problem] = checkRuntime('r'.repeat(64));
    assert.equal(problem.field, 'metadata.name');
    assert.match(problem.message, /64 characters long; .* at most 63 characters/);
  });

  const spec = (edges: { id: string; fromNode: string; toNode: string }[]) => ({
    versionId: 'x',
    entrypoint: { image: 'a:1', protoFile: 'p.proto' },
    config: [],
    configFiles: [],
    state: 'Started' as const,
    workflows: [
      {
        id: 'w',
        name: 'w',
        entrypoint: 'W',
        nodes: ['a', 'b', 'c'].map((n) => ({ id: n, name: n, image: 'i:1', src: 's', replicas: 1 })),
        edges,
      },
    ],
  });

  test('a chain passes; a branch, a cycle or a dangling edge is named by field', () => {
    assert.deepEqual(checkRuntimeVersion('v1', spec([{ id: 'e1', fromNode: 'a', toNode: 'b' }, { id: 'e2', fromNode: 'b', toNode: 'c' }])), []);
    assert.deepEqual(workflowChain(['a', 'b', 'c'], [{ fromNode: 'b', toNode: 'c' }, { fromNode: 'a', toNode: 'b' }]), ['a', 'b', 'c']);
    const branch = checkRuntimeVersion('v1', spec([{ id: 'e1', fromNode: 'a', toNode: 'b' }, { id: 'e2', fromNode: 'a', toNode: 'c' }]));
    assert.deepEqual(branch.map((p) => p.field), ['spec.workflows[0].edges[1].fromNode']);
    const dangling = checkRuntimeVersion('v1', spec([{ id: 'e1', fromNode: 'a', toNode: 'z' }]));
    assert.deepEqual(dangling.map((p) => p.field), ['spec.workflows[0].edges[0].toNode']);
    const unjoined = checkRuntimeVersion('v1', spec([{ id: 'e1', fromNode: 'a', toNode: 'b' }]));
    assert.deepEqual(unjoined.map((p) => p.field), ['spec.workflows[0].edges']);
    assert.deepEqual(checkRuntimeVersion('V_1', spec([{ id: 'e1', fromNode: 'a', toNode: 'b' }, { id: 'e2', fromNode: 'b', toNode: 'c' }])).map((p) => p.field), ['metadata.name']);
  });
});

describe('the CRDs on a devcluster', () => {
  let cluster: DevCluster;
  let client: KubeClient;

  before(async () => {
    cluster = await startDevCluster({ nodes: 0 });
    client = new KubeClient(cluster.kubeConfig());
    for (const crd of customResourceDefinitions()) await applyObject(client, crd, { fieldManager: 'test', force: true });
    await eventually(async () => (await client.list({ ...RUNTIMES, namespace: 'default' })).items, 10_000, 'runtimes served');
  });

  after(async () => {
    client?.close();
    await cluster?.stop();
  });

  const rejected = async (plural: 'runtimes' | 'runtimeversions', spec: unknown): Promise<string> => {
    const type = plural === 'runtimes' ? RUNTIMES : RUNTIME_VERSIONS;
    try {
      await client.create({ ...type, namespace: 'default' }, { apiVersion: 'kre.konstellation.io/v1alpha1', kind: type.kind, metadata: { generateName: 'bad-' }, spec });
    } catch (err) {
      assert.ok(err instanceof KubeApiError);
      assert.equal(err.code, 422);
      return err.message;
    }
    throw new Error('the server accepted an invalid spec');
  };

  test('the server fills the defaults', async () => {
    const rt = await client.create<Runtime>({ ...RUNTIMES, namespace: 'default' }, { apiVersion: 'kre.konstellation.io/v1alpha1', kind: 'Runtime', metadata: { name: 'defaults' }, spec: {} });
    assert.equal(rt.spec.developmentMode, false);
    assert.equal(rt.spec.nats.replicas, 2);
    assert.equal(rt.spec.mongo.storage.size, '5Gi');
    assert.equal(rt.spec.mongo.replicas, undefined);
  });

  test('invalid specs are refused with 422 naming the field', async () => {
    assert.match(await rejected('runtimes', { nats: { replicas: 0 } }), /spec\.nats\.replicas/);
    assert.match(await rejected('runtimes', { minio: { storage: { size: 'ten gigs' } } }), /spec\.minio\.storage\.size/);
    assert.match(await rejected('runtimes', { mongo: { image: 'Not An Image' } }), /spec\.mongo\.image/);
    assert.match(await rejected('runtimes', { publishedVersion: 'Bad_Name' }), /spec\.publishedVersion/);
    const version = {
      versionId: 'x',
      entrypoint: { image: 'konstellation/entrypoint:1.0', protoFile: 'p.proto' },
      workflows: [{ id: 'w', name: 'w', entrypoint: 'W', nodes: [{ id: 'a', name: 'a', image: 'i:1', src: 's', replicas: 0 }] }],
    };
    assert.match(await rejected('runtimeversions', version), /spec\.workflows\[0\]\.nodes\[0\]\.replicas/);
    assert.match(await rejected('runtimeversions', { ...version, workflows: [] }), /spec\.workflows/);
    assert.match(await rejected('runtimeversions', { ...version, state: 'Paused' }), /spec\.state/);
    assert.match(await rejected('runtimeversions', { ...version, config: [{ key: 'lower', value: 'x' }] }), /spec\.config\[0\]\.key/);
    assert.match(await rejected('runtimeversions', { ...version, config: [{ key: 'A', value: 'x' }, { key: 'KRT_NATS_OUTPUT', value: 'x' }] }), /spec\.config\[1\]\.key/);
  });

  test('kubectl get shows phase, readiness and age', async () => {
    await client.update(
      { ...RUNTIMES, namespace: 'default', name: 'defaults' },
      { ...(await client.get({ ...RUNTIMES, namespace: 'default', name: 'defaults' })), status: { phase: 'Creating', ready: '1/3' } },
      { subresource: 'status' },
    );
    const { stdout } = await run('kubectl', ['--kubeconfig', cluster.kubeconfigPath, 'get', 'runtimes', '-n', 'default']);
    const [header, row] = stdout.trim().split('\n');
    assert.deepEqual(header.split(/\s+/), ['NAME', 'PHASE', 'READY', 'PUBLISHED', 'AGE']);
    assert.match(row, /^defaults\s+Creating\s+1\/3\s+(<none>\s+)?\d+s$/);
    const versions = await run('kubectl', ['--kubeconfig', cluster.kubeconfigPath, 'get', 'runtimeversions', '-n', 'default']);
    assert.match(versions.stdout + versions.stderr, /No resources found/);
    const { stdout: header2 } = await run('kubectl', ['--kubeconfig', cluster.kubeconfigPath, 'explain', 'runtimeversions.spec.state']);
    assert.match(header2, /Started/);
  });
});
