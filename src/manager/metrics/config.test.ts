import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../kube/index.ts';
import { mergeMetricsConfig, parseMetricsConfig } from './config.ts';
import { DEFAULT_CPU_QUERY } from './promql.ts';

describe('metrics configuration', () => {
  it('has the seed defaults', () => {
    const c = parseMetricsConfig(undefined);
    assert.equal(c.source, 'auto');
    assert.equal(c.prometheus.url, 'http://localhost:9090');
    assert.equal(c.prometheus.timeoutSeconds, 10);
    assert.equal(c.prometheus.rateWindow, '5m');
    assert.equal(c.prometheus.cpuQuery, DEFAULT_CPU_QUERY);
    assert.equal(c.pollIntervalSeconds, 10);
    assert.equal(c.maxPoints, 11_000);
  });

  it('takes flags over the environment over the file', () => {
    const file = { source: 'prometheus', prometheus: { url: 'http://file:9090', rateWindow: '1m' } };
    const env = { KRE_MANAGER_PROMETHEUS_URL: 'https://env:9090', KRE_MANAGER_PROMETHEUS_TIMEOUT_SECONDS: '3', KRE_MANAGER_PROMETHEUS_INSECURE_SKIP_VERIFY: 'true' };
    const c = parseMetricsConfig(mergeMetricsConfig(file, { metricsPollInterval: '5' }, env));
    assert.equal(c.prometheus.url, 'https://env:9090');
    assert.equal(c.prometheus.timeoutSeconds, 3);
    assert.equal(c.prometheus.insecureSkipVerify, true);
    assert.equal(c.prometheus.rateWindow, '1m');
    assert.equal(c.pollIntervalSeconds, 5);
    const f = parseMetricsConfig(mergeMetricsConfig(file, { prometheusUrl: 'http://flag:9090', prometheusTokenFile: '/run/token' }, env));
    assert.equal(f.prometheus.url, 'http://flag:9090');
    assert.equal(f.prometheus.bearerTokenFile, '/run/token');
  });

  it('names the field that is wrong', () => {
    const bad = (raw: unknown, re: RegExp) => assert.throws(() => parseMetricsConfig(raw), (e) => e instanceof ConfigError && re.test(e.message));
    bad({ source: 'graphite' }, /^invalid configuration: metrics\.source: /);
    bad({ prometheus: { url: 'localhost:9090' } }, /metrics\.prometheus\.url: expected http/);
    bad({ prometheus: { url: 'http://user:secret@host:9090' } }, /metrics\.prometheus\.url/);
    bad({ prometheus: { timeoutSeconds: 0 } }, /metrics\.prometheus\.timeoutSeconds/);
    bad({ prometheus: { cpuQuery: 'sum(rate(x[5m]))' } }, /metrics\.prometheus\.cpuQuery: the template must use \{\{version\}\}/);
    bad({ prometheus: { rateWindow: '5 minutes' } }, /metrics\.prometheus\.rateWindow/);
    bad({ prometheus: { bearerTokenFile: '/t', username: 'u' } }, /metrics\.prometheus\.bearerTokenFile: give either/);
    bad({ prometheus: { passwordFile: '/p' } }, /metrics\.prometheus\.username: passwordFile needs a username/);
    bad({ prometheus: { caFile: '/ca', insecureSkipVerify: true } }, /metrics\.prometheus\.caFile/);
    bad({ pollIntervalSeconds: -1 }, /metrics\.pollIntervalSeconds/);
    bad({ maxPoints: 20_000 }, /metrics\.maxPoints/);
    bad({ colour: 'red' }, /metrics: unknown field\(s\) colour/);
    bad(mergeMetricsConfig({}, { prometheusTimeout: 'soon' }, {}), /metrics\.prometheus\.timeoutSeconds/);
  });
});

describe('metrics in the manager configuration', () => {
  it('comes from the file\'s metrics section, the environment and the flags, and names the field when wrong', async () => {
    const { loadManagerConfig, ConfigError } = await import('../config.ts');
    const env = { KRE_MANAGER_TOKEN: 't', KRE_MANAGER_PROMETHEUS_TIMEOUT_SECONDS: '4' };
    const { config } = loadManagerConfig({ flags: { prometheusUrl: 'http://prom:9090', metricsSource: 'prometheus' }, env });
    assert.equal(config.metrics.source, 'prometheus');
    assert.equal(config.metrics.prometheus.url, 'http://prom:9090');
    assert.equal(config.metrics.prometheus.timeoutSeconds, 4);
    assert.equal(loadManagerConfig({ flags: {}, env: { KRE_MANAGER_TOKEN: 't' } }).config.metrics.source, 'auto');
    assert.throws(() => loadManagerConfig({ flags: { prometheusUrl: 'prom:9090' }, env }), (e) => e instanceof ConfigError && /^invalid configuration: metrics\.prometheus\.url: expected http/.test(e.message));
    assert.throws(() => loadManagerConfig({ flags: { metricsSource: 'influx' }, env }), (e) => e instanceof ConfigError && /metrics\.source/.test(e.message));
  });
});
