/**
 * The whole system as `kre dev` runs it: a devcluster with nodes, the operator and the monitor.
 * A user creates a runtime and a version with kubectl and reads their pods through the monitor.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDev, type DevEnvironment } from '../../src/cli/dev/start.ts';
import { eventually } from '../../src/devcluster/testing.ts';
import { MonitorClient } from '../../src/index.ts';
import type { KubeList, Pod } from '../../src/kube/index.ts';

let env: DevEnvironment;
let stateDir: string;

function kubectl(args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile('kubectl', args, { env: { ...process.env, KUBECONFIG: env.cluster.kubeconfigPath, HOME: stateDir } }, (err, stdout, stderr) =>
      err ? reject(new Error(`kubectl ${args.join(' ')}: ${stderr}`)) : resolve(stdout),
    );
    if (input !== undefined) child.stdin!.end(input);
  });
}

before(async () => {
  stateDir = mkdtempSync(join(tmpdir(), 'kre-dev-'));
  env = await startDev({ stateDir, listen: '127.0.0.1:0', monitorListen: '127.0.0.1:0', nodes: 3 });
});
after(async () => {
  await env.stop();
  rmSync(stateDir, { recursive: true, force: true });
});

test('a runtime and a version created with kubectl run, and the monitor serves their pods', async () => {
  await kubectl(['create', 'namespace', 'kre-demo']);
  await kubectl(
    ['apply', '-f', '-'],
    `apiVersion: kre.konstellation.io/v1alpha1
kind: Runtime
metadata: {name: kre-demo, namespace: kre-demo}
spec:
  developmentMode: true
  entrypoint: {host: demo.local}
  publishedVersion: v1
---
apiVersion: kre.konstellation.io/v1alpha1
kind: RuntimeVersion
metadata: {name: v1, namespace: kre-demo}
spec:
  versionId: "1"
  entrypoint: {image: "konstellation/entrypoint:1.0", protoFile: "public_input.proto"}
  config: [{key: MODEL_NAME, value: greeter}]
  workflows:
  - id: wf1
    name: greet
    entrypoint: Greet
    nodes:
    - {id: n1, name: parse, image: "konstellation/py:1.0", src: "src/parse.py"}
    - {id: n2, name: answer, image: "konstellation/py:1.0", src: "src/answer.py"}
    edges:
    - {id: e1, fromNode: n1, toNode: n2}
`,
  );
  await eventually(async () => (await kubectl(['-n', 'kre-demo', 'get', 'runtime', 'kre-demo', '-o', 'jsonpath={.status.phase}'])) === 'Running', 60_000, 'the runtime Running');
  await eventually(async () => (await kubectl(['-n', 'kre-demo', 'get', 'runtimeversion', 'v1', '-o', 'jsonpath={.status.phase}'])) === 'Running', 60_000, 'the version Running');

  const list: KubeList<Pod> = JSON.parse(await kubectl(['-n', 'kre-demo', 'get', 'pods', '-o', 'json']));
  const pods = list.items.map((p) => p.metadata.name ?? '');
  for (const name of ['kre-mongo-0', 'kre-nats-0', 'kre-nats-1', 'kre-minio-0']) assert.ok(pods.includes(name), `${name} in ${pods}`);
  assert.ok(pods.some((p: string) => p.startsWith('v1-parse-n1-')), 'the first node runs');
  assert.ok(pods.some((p: string) => p.startsWith('v1-entrypoint-')), 'the entrypoint runs');

  const svc = JSON.parse(await kubectl(['-n', 'kre-demo', 'get', 'service', 'active-entrypoint', '-o', 'json']));
  assert.deepEqual(svc.spec.selector, { type: 'entrypoint', 'version-name': 'v1' });

  const monitor = new MonitorClient(env.monitor.url, env.monitorToken);
  const cached = await eventually(async () => {
    const list = await monitor.pods({ namespace: 'kre-demo', labelSelector: 'type=node,version-name=v1' });
    return list.items.length === 2 ? list : undefined;
  }, 30_000, 'the monitor to serve the version pods');
  assert.deepEqual(cached.items.map((p) => p.metadata?.labels?.['node-name']).sort(), ['answer', 'parse']);

  // The monitor caches runtimes and versions too: what the dashboard reads.
  const versions = await fetch(`${env.monitor.url}/apis/kre.konstellation.io/v1alpha1/namespaces/kre-demo/runtimeversions`, { headers: { Authorization: `Bearer ${env.monitorToken}` } });
  assert.deepEqual(((await versions.json()) as { items: { metadata: { name: string } }[] }).items.map((v) => v.metadata.name), ['v1']);
});

test("each node's agent serves its ready pods as tasks", async () => {
  assert.equal(env.agents.length, 3, 'one agent per simulated node');
  await kubectl(['create', 'namespace', 'agent-demo']);
  await kubectl(['-n', 'agent-demo', 'run', 'probe', '--image', 'model:1', '--labels', 'app.kubernetes.io/name=probe']);
  const pod = JSON.parse(await kubectl(['-n', 'agent-demo', 'get', 'pod', 'probe', '-o', 'json']));
  const line = await eventually(async () => {
    for (const a of env.agents) {
      const text = await (await fetch(`${a.url}/metrics`)).text();
      const found = text.split('\n').find((l) => l.startsWith('task_up{') && l.includes('task_name="agent-demo/probe"'));
      if (found) return found;
    }
    return undefined;
  }, 60_000, 'the pod as a task in an agent');
  assert.match(line, new RegExp(`task_id="${pod.metadata.uid}"`));
  assert.match(line, /app_kubernetes_io__name="probe"/);
});
