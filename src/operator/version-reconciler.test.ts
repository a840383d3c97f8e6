import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestApiServer, type TestApiServer } from '../../test/support/apiserver.ts';
import { eventually } from '../devcluster/testing.ts';
import { KubeClient, type ConfigMap, type Deployment, type Event } from '../kube/index.ts';
import { createLogger } from '../kube/logger.ts';
import { RUNTIME_VERSIONS, RUNTIMES, type RuntimeObject, type RuntimeVersionObject } from '../api/index.ts';
import { installCustomResourceDefinitions } from './install.ts';
import { startOperator, type Operator } from './operator.ts';
import { CONFIG_HASH } from './runtime-objects.ts';
import {
  CONFIGMAPS,
  createNamespace,
  DEPLOYMENTS,
  EVENTS,
  operatorWritesByResource,
  settledWrites,
  PODS,
  runtimeObject,
  runtimeRef,
  versionObject,
  versionRef,
} from './testing.ts';

const WAIT = 90_000;
const NS = 'kre-versions';

describe('RuntimeVersionReconciler on an API server', () => {
  let server: TestApiServer;
  let client: KubeClient;
  let operator: Operator;

  before(async () => {
    server = await startTestApiServer({ nodes: 3 });
    client = new KubeClient(server.kubeConfig());
    await installCustomResourceDefinitions(client);
    operator = startOperator({ client, leaderElection: false, logger: createLogger('operator', 'warn') });
    await createNamespace(client, NS);
    await client.create({ ...RUNTIMES, namespace: NS }, runtimeObject(NS, NS, { developmentMode: true, publishedVersion: 'v1' }));
  });

  after(async () => {
    await operator?.stop();
    client?.close();
    await server?.stop();
  });

  const deployments = async (version: string) =>
    (await client.list<Deployment>({ ...DEPLOYMENTS, namespace: NS }, { labelSelector: `version-name=${version}` })).items;
  /** The operator's writes, its status writes included: a reconcile that changes nothing writes no status on either server. */
  const writes = async (counts?: Record<string, number>) => counts ?? (await operatorWritesByResource(server));
  const version = (name: string) => client.get<RuntimeVersionObject>(versionRef(NS, name));

  test('a version with two workflows gets a Deployment and a ConfigMap per node, the entrypoint, and the NATS subjects of its edges', async () => {
    await client.create({ ...RUNTIME_VERSIONS, namespace: NS }, versionObject(NS, 'v1', { greeting: ['parse', 'greet', 'reply'], scoring: ['score'] }));
    const v1 = await eventually(async () => {
      const v = await version('v1');
      return v.status?.phase === 'Running' && v;
    }, WAIT, 'v1 Running');
    assert.equal(v1.status?.ready, '5/5');
    assert.equal(v1.status?.published, true);
    assert.equal(v1.status?.entrypointReady, true);
    assert.deepEqual(
      v1.status?.nodes?.map((n) => `${n.deployment}:${n.ready}`),
      ['v1-parse-greparse:true', 'v1-greet-gregreet:true', 'v1-reply-grereply:true', 'v1-score-scoscore:true'],
    );

    const names = (await deployments('v1')).map((d) => d.metadata.name).sort();
    assert.deepEqual(names, ['v1-entrypoint', 'v1-greet-gregreet', 'v1-parse-greparse', 'v1-reply-grereply', 'v1-score-scoscore']);
    const greet = (await deployments('v1')).find((d) => d.metadata.name === 'v1-greet-gregreet')!;
    assert.deepEqual(greet.metadata.labels, {
      type: 'node',
      'version-name': 'v1',
      'node-name': 'greet',
      'node-id': 'gregreet',
      'app.kubernetes.io/managed-by': 'kre-operator',
      'app.kubernetes.io/part-of': 'kre',
    });
    const container = greet.spec?.template.spec?.containers[0];
    assert.deepEqual(container?.envFrom, [{ configMapRef: { name: 'v1-global' } }, { configMapRef: { name: 'v1-greet-gregreet' } }]);
    assert.deepEqual(container?.env, [{ name: 'KRT_MONGO_URI', valueFrom: { secretKeyRef: { name: 'kre-mongo-connection', key: 'uri' } } }]);

    const cm = async (name: string) => (await client.get<ConfigMap>({ ...CONFIGMAPS, namespace: NS, name })).data ?? {};
    const subjects = async (name: string) => {
      const d = await cm(name);
      return [d.KRT_NATS_INPUT, d.KRT_NATS_OUTPUT];
    };
    assert.deepEqual(await subjects('v1-parse-greparse'), ['v1-Greeting-entrypoint', 'greeting-edge-0']);
    assert.deepEqual(await subjects('v1-greet-gregreet'), ['greeting-edge-0', 'greeting-edge-1']);
    assert.deepEqual(await subjects('v1-reply-grereply'), ['greeting-edge-1', '']);
    assert.deepEqual(await subjects('v1-score-scoscore'), ['v1-Scoring-entrypoint', '']);
    const greetEnv = await cm('v1-greet-gregreet');
    assert.equal(greetEnv.KRT_VERSION, 'v1');
    assert.equal(greetEnv.KRT_VERSION_ID, 'v1-id');
    assert.equal(greetEnv.KRT_WORKFLOW_NAME, 'greeting');
    assert.equal(greetEnv.KRT_NATS_SERVER, 'kre-nats:4222');
    assert.equal(greetEnv.KRT_BASE_PATH, '/krt-files');
    assert.equal(greetEnv.KRT_HANDLER_PATH, 'src/greet/main.py');
    assert.equal(greetEnv.KRT_MONGO_DB_NAME, 'data');
    assert.deepEqual(await cm('v1-global'), { MODEL_PATH: '/models/v1' });
    await cm('v1-conf-files');

    const entrypoint = (await deployments('v1')).find((d) => d.metadata.name === 'v1-entrypoint')!;
    assert.deepEqual(entrypoint.spec?.template.metadata?.labels, { type: 'entrypoint', 'version-name': 'v1' });
    assert.deepEqual(entrypoint.spec?.template.spec?.containers[0].ports?.map((p) => p.containerPort), [9000, 80]);
    const epPods = (await client.list({ ...PODS, namespace: NS }, { labelSelector: 'type=entrypoint,version-name=v1' })).items;
    assert.equal(epPods.length, 1);
  });

  test('a configuration change rolls the pods through the config hash, without deleting the Deployments', async () => {
    const before = new Map((await deployments('v1')).map((d) => [d.metadata.name, d]));
    const v1 = await version('v1');
    await client.patch(versionRef(NS, 'v1'), { spec: { config: [{ key: 'MODEL_PATH', value: '/models/v2' }] } });
    await eventually(async () => {
      const v = await version('v1');
      return v.status?.observedGeneration === v1.metadata.generation! + 1 && v.status?.phase === 'Running';
    }, WAIT, 'v1 Running after the config change');
    await eventually(async () => {
      for (const d of await deployments('v1')) {
        const old = before.get(d.metadata.name)!;
        if (d.metadata.uid !== old.metadata.uid) throw new Error(`${d.metadata.name} was recreated`);
        if (d.metadata.generation !== old.metadata.generation! + 1) return false;
        if (d.spec?.template.metadata?.annotations?.[CONFIG_HASH] === old.spec?.template.metadata?.annotations?.[CONFIG_HASH]) return false;
      }
      return true;
    }, WAIT, 'every Deployment of v1 rolled');
    const global = await client.get<ConfigMap>({ ...CONFIGMAPS, namespace: NS, name: 'v1-global' });
    assert.equal(global.data?.MODEL_PATH, '/models/v2');
  });

  test('a second version is not published until the Runtime says so; publishing switches', async () => {
    await client.create({ ...RUNTIME_VERSIONS, namespace: NS }, versionObject(NS, 'v2', { greeting: ['parse'] }));
    await eventually(async () => (await version('v2')).status?.phase === 'Running', WAIT, 'v2 Running');
    assert.equal((await version('v2')).status?.published, false);
    await client.patch(runtimeRef(NS, NS), { spec: { publishedVersion: 'v2' } });
    await eventually(async () => (await version('v2')).status?.published === true && (await version('v1')).status?.published === false, WAIT, 'v2 published');
  });

  test('Stopped removes the workloads and keeps the resource; Started brings them back', async () => {
    await client.patch(versionRef(NS, 'v2'), { spec: { state: 'Stopped' } });
    await eventually(async () => (await deployments('v2')).length === 0, WAIT, 'v2 Deployments gone');
    await eventually(async () => (await version('v2')).status?.phase === 'Stopped', WAIT, 'v2 Stopped');
    const cms = (await client.list({ ...CONFIGMAPS, namespace: NS }, { labelSelector: 'version-name=v2' })).items;
    assert.equal(cms.length, 0);
    await client.patch(versionRef(NS, 'v2'), { spec: { state: 'Started' } });
    await eventually(async () => (await version('v2')).status?.phase === 'Running', WAIT, 'v2 Running again');
    assert.equal((await deployments('v2')).length, 2);
  });

  test('an unchanged version reconciled again makes no write', async () => {
    // Quiet only once the Runtime too has finished starting (its readiness probes take seconds).
    await eventually(async () => (await client.get<RuntimeObject>(runtimeRef(NS, NS))).status?.phase === 'Running', WAIT, 'Runtime Running');
    const before = await writes(await settledWrites(server));
    await client.patch(versionRef(NS, 'v1'), { metadata: { annotations: { touched: '1' } } });
    await client.patch(runtimeRef(NS, NS), { metadata: { annotations: { touched: '1' } } });
    await new Promise((r) => setTimeout(r, 1500));
    assert.deepEqual(await writes(), before);
  });

  test('a Deployment scaled and a ConfigMap edited by hand are set back; a restarted operator finds nothing to write', async () => {
    const deploymentRef = { ...DEPLOYMENTS, namespace: NS, name: 'v1-greet-gregreet' };
    const configRef = { ...CONFIGMAPS, namespace: NS, name: 'v1-greet-gregreet' };
    await client.patch(deploymentRef, { spec: { replicas: 0 } }, { subresource: 'scale', type: 'merge' });
    await eventually(async () => (await client.get<Deployment>(deploymentRef)).spec?.replicas === 1, WAIT, 'Deployment scaled back');
    await client.patch(configRef, { data: { KRT_NATS_OUTPUT: 'elsewhere' }, metadata: { labels: { owner: 'someone' } } });
    await eventually(async () => (await client.get<ConfigMap>(configRef)).data?.KRT_NATS_OUTPUT === 'greeting-edge-1', WAIT, 'ConfigMap set back');
    assert.equal((await client.get(configRef)).metadata.labels?.owner, 'someone');
    await eventually(async () => (await version('v1')).status?.phase === 'Running', WAIT, 'v1 Running');

    // A new operator remembers none of its predecessor's writes: only the objects as the server
    // returns them tell it that nothing is to be done, defaults and normalized values included.
    const before = await writes(await settledWrites(server));
    await operator.stop();
    operator = startOperator({ client, leaderElection: false, logger: createLogger('operator', 'warn') });
    await eventually(async () => operator.leading(), WAIT, 'operator started');
    await new Promise((r) => setTimeout(r, 1500));
    assert.deepEqual(await writes(), before);
  });

  test('edges to missing nodes and duplicate node names are flagged InvalidSpec, and no child is touched', async () => {
    const bad = versionObject(NS, 'v3', { greeting: ['parse', 'greet'] });
    bad.spec.workflows[0].edges![0].toNode = 'nowhere';
    bad.spec.workflows[0].nodes.push({ ...bad.spec.workflows[0].nodes[0], id: 'other' });
    await client.create({ ...RUNTIME_VERSIONS, namespace: NS }, bad);
    const v3 = await eventually(async () => {
      const v = await version('v3');
      return v.status?.phase === 'Failed' && v;
    }, WAIT, 'v3 Failed');
    const invalid = v3.status?.conditions?.find((c) => c.type === 'InvalidSpec');
    assert.equal(invalid?.status, 'True');
    assert.match(invalid?.message ?? '', /spec\.workflows\[0\]\.edges\[0\]\.toNode: no node with id "nowhere"/);
    assert.match(invalid?.message ?? '', /spec\.workflows\[0\]\.nodes\[2\]\.name: node name "parse" is also used by spec\.workflows\[0\]\.nodes\[0\]/);
    assert.equal((await deployments('v3')).length, 0);
    const events = (await client.list<Event>({ ...EVENTS, namespace: NS })).items.filter((e) => e.involvedObject.name === 'v3' && e.reason === 'InvalidSpec');
    assert.equal(events.length, 1);
    assert.match(events[0].message ?? '', /toNode/);
  });
});
