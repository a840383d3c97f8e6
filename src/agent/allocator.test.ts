import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AllocationRuleSchema, StaticAllocator } from './allocator.ts';
import type { Task } from './tasks.ts';

function task(id: string, namespace: string, podName: string, podLabels: Record<string, string> = {}): Task {
  return { id, name: `${namespace}/${podName}`, namespace, podName, labels: [], podLabels, qos: 'Burstable', containerIds: [], resources: { disk: 0, mem: 0, cpus: 0, requests_cpus: 0, requests_mem: 0 } };
}

const rules = (...r: unknown[]) => r.map((x) => AllocationRuleSchema.parse(x));

describe('static allocator', () => {
  const tasks = [
    task('1', 'kre-demo', 'web-0', { 'app.kubernetes.io/name': 'web', tier: 'front' }),
    task('2', 'kre-demo', 'batch-7', { tier: 'back' }),
    task('3', 'other', 'web-0', { 'app.kubernetes.io/name': 'web' }),
  ];

  test('matches on namespace, name pattern and labels; later rules override field by field', () => {
    const a = new StaticAllocator(
      rules(
        { name: 'everyone in kre-demo', match: { namespace: 'kre-demo' }, allocations: { cpu_shares: 0.5, cpu_quota: 1 } },
        { name: 'web pinned', match: { labels: { 'app.kubernetes.io/name': 'web' } }, allocations: { cpuset_cpus: '0-1' } },
        { name: 'batch capped', match: { name: 'batch-*', namespace: ['kre-demo', 'x'] }, allocations: { cpu_quota: 0.1 } },
      ),
    );
    assert.deepEqual(Object.fromEntries(a.allocate(tasks)), {
      '1': { cpuShares: 0.5, cpuQuota: 1, cpusetCpus: '0-1' },
      '2': { cpuShares: 0.5, cpuQuota: 0.1 },
      '3': { cpusetCpus: '0-1' },
    });
  });

  test('a rule without match applies to every task; a task no rule matches gets nothing', () => {
    assert.deepEqual([...new StaticAllocator(rules({ name: 'all', allocations: { cpuset_mems: '0' } })).allocate(tasks).keys()], ['1', '2', '3']);
    assert.equal(new StaticAllocator(rules({ name: 'none', match: { labels: { tier: 'nope' } }, allocations: { cpu_quota: 1 } })).allocate(tasks).size, 0);
  });

  test('a name pattern is anchored and treats regex characters literally', () => {
    const a = new StaticAllocator(rules({ name: 'dots', match: { name: 'web.*' }, allocations: { cpu_quota: 0.5 } }));
    assert.equal(a.allocate([task('1', 'a', 'web.0'), task('2', 'a', 'webX0'), task('3', 'a', 'xweb.0')]).size, 1);
  });
});
