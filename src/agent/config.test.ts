import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ConfigError, loadAgentConfig, parseAgentConfig } from './config.ts';

const dir = mkdtempSync(join(tmpdir(), 'kre-agent-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text, { mode: 0o600 });
  return p;
}

describe('agent configuration', () => {
  test('defaults', () => {
    const c = parseAgentConfig({ node: 'kre-node-1' });
    assert.equal(c.listen, '127.0.0.1:8005');
    assert.equal(c.intervalSeconds, 10);
    assert.equal(c.source, 'kubelet');
    assert.equal(c.kubelet.url, 'https://127.0.0.1:10250');
    assert.equal(c.kubelet.insecure, false);
    assert.equal(c.kubelet.staleAfterSeconds, 60);
    assert.equal(c.cgroup.root, '/sys/fs/cgroup');
    assert.deepEqual(c.excludeNamespaces, ['kube-system', 'kube-public', 'kube-node-lease']);
    assert.equal(c.podLabels.maxLabels, 32);
    assert.equal(c.mode, 'monitoring');
    assert.equal(c.allocation.sharesUnit, 1000);
  });

  test('flags over the environment over the file; NODE_NAME from the downward API', () => {
    const cfg = file('a.yaml', 'listen: 0.0.0.0:9000\nintervalSeconds: 30\nkubelet:\n  url: https://10.0.0.1:10250\n  timeoutSeconds: 3\n');
    const { config } = loadAgentConfig({ flags: { config: cfg, interval: '5' }, env: { NODE_NAME: 'n1', KRE_AGENT_LISTEN: '127.0.0.1:0', KRE_AGENT_KUBELET_INSECURE: 'true' } });
    assert.equal(config.node, 'n1');
    assert.equal(config.listen, '127.0.0.1:0');
    assert.equal(config.intervalSeconds, 5);
    assert.equal(config.kubelet.url, 'https://10.0.0.1:10250');
    assert.equal(config.kubelet.timeoutSeconds, 3);
    assert.equal(config.kubelet.insecure, true);
    assert.equal(loadAgentConfig({ flags: { node: 'n2' }, env: { NODE_NAME: 'n1' } }).config.node, 'n2');
  });

  test('the /metrics token from a file or KRE_AGENT_TOKEN, never a flag value', () => {
    const t = file('token', 'sekret\n');
    assert.equal(loadAgentConfig({ flags: { node: 'n', tokenFile: t }, env: {} }).token, 'sekret');
    assert.equal(loadAgentConfig({ flags: { node: 'n' }, env: { KRE_AGENT_TOKEN: 'x' } }).token, 'x');
    assert.equal(loadAgentConfig({ flags: { node: 'n' }, env: {} }).token, undefined);
  });

  const bad: Array<[string, () => unknown, RegExp]> = [
    ['no node', () => loadAgentConfig({ flags: {}, env: {} }), /^invalid configuration: node: give --node NAME or set NODE_NAME/],
    ['bad node name', () => parseAgentConfig({ node: 'Node_1' }), /^invalid configuration: node: expected a node name/],
    ['unknown field', () => parseAgentConfig({ node: 'n', kubelet: { urll: 'x' } }), /^invalid configuration: kubelet: unknown field\(s\) urll/],
    ['cert without key', () => parseAgentConfig({ node: 'n', kubelet: { certFile: '/x' } }), /^invalid configuration: kubelet: expected certFile and keyFile together/],
    ['bad interval flag', () => loadAgentConfig({ flags: { node: 'n', interval: 'often' }, env: {} }), /^invalid configuration: --interval: expected a number, got "often"/],
    ['unreadable kubelet CA', () => loadAgentConfig({ flags: { node: 'n', kubeletCaFile: join(dir, 'nope.pem') }, env: {} }), /^invalid configuration: kubelet.caFile: cannot read/],
    ['unknown mode', () => parseAgentConfig({ node: 'n', mode: 'fast' }), /^invalid configuration: mode: /],
    ['allocation mode without rules', () => loadAgentConfig({ flags: { node: 'n', mode: 'allocation' }, env: {} }), /allocation.rules: allocation mode needs at least one rule/],
    [
      'a rule with a bad cpuset, named by index and name',
      () => parseAgentConfig({ node: 'n', allocation: { rules: [{ name: 'ok', allocations: { cpu_quota: 0.5 } }, { name: 'pin-web', allocations: { cpuset_cpus: '0-3,a' } }] } }),
      /^invalid configuration: allocation.rules.1 \(pin-web\).allocations.cpuset_cpus: expected a kernel list such as "0-3,8", got "0-3,a"$/,
    ],
    [
      'a rule with a backwards range',
      () => parseAgentConfig({ node: 'n', allocation: { rules: [{ name: 'r', allocations: { cpuset_mems: '3-1' } }] } }),
      /allocation.rules.0 \(r\).allocations.cpuset_mems: range 3-1 goes backwards/,
    ],
    [
      'a negative quota',
      () => parseAgentConfig({ node: 'n', allocation: { rules: [{ name: 'r', allocations: { cpu_quota: -1 } }] } }),
      /allocation.rules.0 \(r\).allocations.cpu_quota: expected a fraction of the node/,
    ],
    [
      'a rule with no allocation',
      () => parseAgentConfig({ node: 'n', allocation: { rules: [{ name: 'empty', allocations: {} }] } }),
      /allocation.rules.0 \(empty\).allocations: expected at least one of/,
    ],
    [
      'a rule with an unknown allocation type',
      () => parseAgentConfig({ node: 'n', allocation: { rules: [{ name: 'typo', allocations: { cpu_qota: 1 } }] } }),
      /allocation.rules.0 \(typo\).allocations: unknown field\(s\) cpu_qota/,
    ],
    ['YAML that is a list', () => loadAgentConfig({ flags: { node: 'n', config: file('list.yaml', '- a\n') }, env: {} }), /is not a mapping/],
  ];
  for (const [name, run, re] of bad) {
    test(`refused: ${name}`, () => {
      assert.throws(run, (err: Error) => err instanceof ConfigError && re.test(err.message));
    });
  }
});
