import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_CPU_QUERY, DEFAULT_MEMORY_QUERY, promqlString, renderQuery, templateProblem } from './promql.ts';

describe('PromQL templates', () => {
  it('renders the seed queries for one version, joined on (namespace, pod) and filtered by namespace on both sides', () => {
    const cpu = renderQuery(DEFAULT_CPU_QUERY, { version: 'v1', namespace: 'kre-demo', window: '5m' });
    assert.equal(
      cpu,
      'sum by (label_version_name) (max by (namespace, pod, label_version_name) (kube_pod_labels{namespace="kre-demo", label_version_name="v1"})' +
        ' * on (namespace, pod) group_right(label_version_name) ' +
        'sum by (namespace, pod) (rate(container_cpu_usage_seconds_total{namespace="kre-demo", container!="POD", container!=""}[5m]) * 1000))',
    );
    const mem = renderQuery(DEFAULT_MEMORY_QUERY, { version: 'v1', namespace: 'kre-demo', window: '5m' });
    assert.match(mem, /container_memory_working_set_bytes\{namespace="kre-demo", container!="POD", container!=""\}\)\)$/);
    assert.doesNotMatch(mem, /rate\(/);
    assert.equal(renderQuery(DEFAULT_CPU_QUERY, { version: 'v1', namespace: 'n', window: '30s' }).includes('[30s]'), true);
  });

  it('writes names as string literals that cannot end early', () => {
    assert.equal(promqlString('v1'), '"v1"');
    assert.equal(promqlString('a"} or vector(1) or {x="'), '"a\\"} or vector(1) or {x=\\""');
    assert.equal(promqlString('back\\slash'), '"back\\\\slash"');
    assert.equal(promqlString('line\nbreak'), '"line\\u000abreak"');
    assert.equal(promqlString("it's"), '"it\'s"');
    assert.equal(promqlString('é😀'), '"\\u00e9\\U0001f600"');
    // Nothing but escapes and printable ASCII between the quotes, and no unescaped quote.
    const s = promqlString('"\u0000\u007f\\');
    assert.match(s.slice(1, -1), /^(\\"|\\\\|\\u[0-9a-f]{4}|[^"\\])*$/);
  });

  it('checks templates: both names required, no unknown placeholders', () => {
    assert.equal(templateProblem(DEFAULT_CPU_QUERY), undefined);
    assert.equal(templateProblem(DEFAULT_MEMORY_QUERY), undefined);
    assert.match(templateProblem('sum(x{namespace={{namespace}}})')!, /\{\{version\}\}/);
    assert.match(templateProblem('sum(x{a={{version}}, b={{namespace}}, c={{pod}}})')!, /unknown placeholder \{\{pod\}\}/);
  });
});
