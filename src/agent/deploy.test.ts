import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { parseAgentConfig } from './config.ts';
import { agentManifests, exampleAgentConfig, renderAgentManifests } from './deploy.ts';
import type { DaemonSet, Role } from '../kube/index.ts';

describe('deploy/ for the agent', () => {
  test('matches what `kre agent manifests --out deploy` renders', () => {
    for (const [name, text] of Object.entries(renderAgentManifests())) {
      const committed = readFileSync(new URL(`../../deploy/${name}`, import.meta.url), 'utf8');
      assert.equal(committed, text, `deploy/${name} is stale: run kre agent manifests --out deploy`);
    }
  });

  test('the configuration example is valid, with its static rules, in both modes', () => {
    for (const mode of ['monitoring', 'allocation'] as const) {
      const c = parseAgentConfig({ ...parse(exampleAgentConfig(mode)), node: 'node-1' });
      assert.equal(c.mode, mode);
      assert.deepEqual(c.allocation.rules.map((r) => r.name), ['runtimes-share-fairly', 'entrypoints-latency-critical', 'batch-capped']);
    }
  });

  test('least privilege: get on the kubelet API only; cgroups writable only in allocation mode', () => {
    for (const mode of ['monitoring', 'allocation'] as const) {
      const objects = agentManifests(mode);
      const role: Role | undefined = objects.find((o) => o.kind === 'ClusterRole');
      assert.deepEqual(role?.rules, [{ apiGroups: [''], resources: ['nodes/pods', 'nodes/proxy'], verbs: ['get'] }]);
      const ds: DaemonSet | undefined = objects.find((o) => o.kind === 'DaemonSet');
      const c = ds?.spec?.template.spec?.containers[0];
      assert.equal(c?.volumeMounts?.find((m) => m.name === 'cgroup')?.readOnly, mode === 'monitoring');
      assert.equal(c?.securityContext?.runAsNonRoot, mode === 'monitoring');
      assert.deepEqual(c?.securityContext?.capabilities, { drop: ['ALL'] });
      assert.deepEqual(c?.env?.find((e) => e.name === 'NODE_NAME')?.valueFrom, { fieldRef: { fieldPath: 'spec.nodeName' } });
      assert.equal(ds?.spec?.template.spec?.hostNetwork, undefined);
    }
  });
});
