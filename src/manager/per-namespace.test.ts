import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { RUNTIMES } from '../api/index.ts';
import type { Deployment, RoleBinding } from '../kube/index.ts';
import { operatorRules } from '../operator/deploy.ts';
import { call, credentialsMessage, startHarness, type Harness } from './testing.ts';

const RBAC = 'rbac.authorization.k8s.io';

describe('the manager in per-namespace mode', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ nodes: 1, operator: false, config: { operator: { mode: 'per-namespace', image: 'registry.example.com/kre:9.9' } } });
  });
  after(async () => {
    await h?.stop();
  });

  test("Create deploys the namespace's operator with exactly its Role, watching the namespace it runs in; a second Create changes nothing", async () => {
    const ns = 'kre-own';
    const req = { runtime: { name: 'own', namespace: ns, ...credentialsMessage() } };
    assert.equal((await call<{ message: string }>(h.runtime, 'create', req)).message, "Runtime 'own' created");
    const sa = await h.kube.get({ group: '', version: 'v1', plural: 'serviceaccounts', namespace: ns, name: 'k8s-runtime-operator' });
    const role = await h.kube.get({ group: RBAC, version: 'v1', plural: 'roles', namespace: ns, name: 'k8s-runtime-operator' });
    assert.deepEqual(role.rules, operatorRules());
    const binding = await h.kube.get<RoleBinding>({ group: RBAC, version: 'v1', plural: 'rolebindings', namespace: ns, name: 'k8s-runtime-operator' });
    assert.deepEqual(binding.roleRef, { apiGroup: RBAC, kind: 'Role', name: 'k8s-runtime-operator' });
    assert.deepEqual(binding.subjects, [{ apiGroup: '', kind: 'ServiceAccount', name: 'k8s-runtime-operator', namespace: ns }]);
    const dep = await h.kube.get<Deployment>({ group: 'apps', version: 'v1', plural: 'deployments', namespace: ns, name: 'k8s-runtime-operator' });
    assert.equal(dep.metadata.labels?.name, 'k8s-runtime-operator');
    const pod = dep.spec?.template.spec;
    assert.equal(pod?.serviceAccountName, 'k8s-runtime-operator');
    assert.equal(pod?.containers[0].image, 'registry.example.com/kre:9.9');
    assert.equal(pod?.containers[0].env?.find((e) => e.name === 'WATCH_NAMESPACE')?.valueFrom?.fieldRef?.fieldPath, 'metadata.namespace');
    assert.ok(await h.kube.get({ ...RUNTIMES, namespace: ns, name: ns }));

    // The Deployment's status moves on as its pod starts: its generation tells whether its spec was written.
    const versions = [sa, role, binding].map((o) => o.metadata.resourceVersion).concat(String(dep.metadata.generation));
    assert.equal((await call<{ message: string }>(h.runtime, 'create', req)).message, "Runtime 'own' created");
    const again = await Promise.all([
      h.kube.get({ group: '', version: 'v1', plural: 'serviceaccounts', namespace: ns, name: 'k8s-runtime-operator' }),
      h.kube.get({ group: RBAC, version: 'v1', plural: 'roles', namespace: ns, name: 'k8s-runtime-operator' }),
      h.kube.get({ group: RBAC, version: 'v1', plural: 'rolebindings', namespace: ns, name: 'k8s-runtime-operator' }),
      h.kube.get({ group: 'apps', version: 'v1', plural: 'deployments', namespace: ns, name: 'k8s-runtime-operator' }),
    ]);
    assert.deepEqual(again.slice(0, 3).map((o) => o.metadata.resourceVersion).concat(String(again[3].metadata.generation)), versions, 'an identical Create writes nothing new');
  });
});
