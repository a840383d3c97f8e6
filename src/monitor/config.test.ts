import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { ConfigError, configuredResources, loadMonitorConfig, parseMonitorConfig } from './config.ts';

const dir = mkdtempSync(join(tmpdir(), 'kre-monitor-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

describe('monitor configuration', () => {
  it('has defaults, and per-resource verify intervals', () => {
    const c = parseMonitorConfig({ resources: ['apps/v1/replicasets', { version: 'v1', resource: 'pods', verifyIntervalSeconds: 5 }] });
    assert.equal(c.listen, '127.0.0.1:8003');
    assert.equal(c.namespace, 'kre-monitor');
    const { extra, verifyEveryMs } = configuredResources(c);
    assert.deepEqual(extra, [{ group: 'apps', version: 'v1', resource: 'replicasets' }, { group: '', version: 'v1', resource: 'pods' }]);
    assert.equal(verifyEveryMs({ group: '', version: 'v1', resource: 'pods' }), 5000);
    assert.equal(verifyEveryMs({ group: 'apps', version: 'v1', resource: 'deployments' }), 30_000);
  });

  it('takes a bounded pod label allowlist for the kube-state series, naming a bad key', () => {
    assert.deepEqual(parseMonitorConfig({}).kubeStateMetrics.podLabelsAllowlist, []);
    assert.deepEqual(parseMonitorConfig({ kubeStateMetrics: { podLabelsAllowlist: ['version-name', 'app.kubernetes.io/name'] } }).kubeStateMetrics.podLabelsAllowlist, ['version-name', 'app.kubernetes.io/name']);
    const fromEnv = loadMonitorConfig({ flags: {}, env: { KRE_MONITOR_TOKEN: 't', KRE_MONITOR_POD_LABELS_ALLOWLIST: 'version-name, app' } });
    assert.deepEqual(fromEnv.config.kubeStateMetrics.podLabelsAllowlist, ['version-name', 'app']);
    assert.throws(() => loadMonitorConfig({ flags: {}, env: { KRE_MONITOR_TOKEN: 't', KRE_MONITOR_POD_LABELS_ALLOWLIST: 'a,b c' } }), /kubeStateMetrics\.podLabelsAllowlist\.1/);
    assert.throws(() => parseMonitorConfig({ kubeStateMetrics: { podLabelsAllowlist: ['*'] } }), /kubeStateMetrics\.podLabelsAllowlist\.0: expected a Kubernetes label key/);
    assert.throws(() => parseMonitorConfig({ kubeStateMetrics: { podLabelsAllowlist: Array.from({ length: 65 }, (_, i) => `k${i}`) } }), /kubeStateMetrics\.podLabelsAllowlist: at most 64/);
  });

  it('names the field that is wrong, and refuses secrets', () => {
    assert.throws(() => parseMonitorConfig({ listen: 'nowhere' }), (e) => e instanceof ConfigError && /listen/.test(e.message));
    assert.throws(() => parseMonitorConfig({ verifyIntervalSeconds: -1 }), /verifyIntervalSeconds/);
    assert.throws(() => parseMonitorConfig({ resources: ['v1/secrets'] }), /resources\.0: secrets are never cached/);
    assert.throws(() => parseMonitorConfig({ resources: [{ version: 'v1', resource: 'secrets' }] }), /secrets/);
    assert.throws(() => parseMonitorConfig({ colour: 'red' }), /colour/);
  });

  it('reads the token from a file or the environment, and requires one', () => {
    const tokenFile = file('token', 'from-file\n');
    const config = file('c.yaml', `namespace: mon\ntokenFile: ${tokenFile}\n`);
    assert.equal(loadMonitorConfig({ flags: { config }, env: {} }).token, 'from-file');
    assert.equal(loadMonitorConfig({ flags: {}, env: { KRE_MONITOR_TOKEN: 'from-env' } }).token, 'from-env');
    assert.equal(loadMonitorConfig({ flags: { config, namespace: 'other' }, env: {} }).config.namespace, 'other', 'flags override the file');
    assert.throws(() => loadMonitorConfig({ flags: {}, env: {} }), /token/);
  });

  it('makes `kre monitor` exit 2 naming the field', async () => {
    const config = file('bad.yaml', 'verifyIntervalSeconds: soon\n');
    const bin = new URL('../../bin/kre.js', import.meta.url).pathname;
    const run = promisify(execFile)(process.execPath, [bin, 'monitor', '--config', config], { env: { ...process.env, KRE_MONITOR_TOKEN: 't' } });
    await assert.rejects(run, (e: { code?: number; stderr?: string }) => e.code === 2 && /verifyIntervalSeconds/.test(e.stderr ?? ''));
  });

  it('checks the redis fields, wherever the URL comes from, and reads the password file', () => {
    const bad = (raw: unknown, field: RegExp) => assert.throws(() => parseMonitorConfig(raw), (e) => e instanceof ConfigError && field.test(e.message));
    bad({ redis: { url: 'http://127.0.0.1:6379' } }, /^invalid configuration: redis\.url: expected redis:\/\//);
    bad({ redis: { url: 'redis://127.0.0.1:99999' } }, /redis\.url: .*valid port/);
    bad({ redis: { url: 'redis://' } }, /redis\.url/);
    bad({ redis: { url: 'redis://r:6379', leaseDurationSeconds: 2, renewDeadlineSeconds: 5 } }, /redis: expected retryPeriodSeconds < renewDeadlineSeconds < leaseDurationSeconds/);
    bad({ redis: { url: 'redis://r:6379', group: 'Not_A_Label' } }, /redis\.group/);
    bad({ redis: { url: 'redis://r:6379', pasword: 'x' } }, /redis: unknown field\(s\) pasword/);
    const env = { KRE_MONITOR_TOKEN: 't' };
    assert.throws(() => loadMonitorConfig({ flags: { redis: 'redis//r:6379' }, env }), (e) => e instanceof ConfigError && /redis\.url/.test(e.message), 'from --redis');
    assert.throws(() => loadMonitorConfig({ flags: {}, env: { ...env, KRE_MONITOR_REDIS_URL: 'tcp://r' } }), /redis\.url/, 'from KRE_MONITOR_REDIS_URL');
    // The flag wins over the environment, which wins over the file; the file's other fields stay.
    const withGroup = file('redis.yaml', 'redis:\n  url: redis://file:6379\n  group: g1\n');
    const fromFlag = loadMonitorConfig({ flags: { config: withGroup, redis: 'redis://flag:6379' }, env: { ...env, KRE_MONITOR_REDIS_URL: 'redis://env:6379' } }).config.redis;
    assert.deepEqual([fromFlag?.url, fromFlag?.group], ['redis://flag:6379', 'g1']);
    assert.equal(loadMonitorConfig({ flags: { config: withGroup }, env: { ...env, KRE_MONITOR_REDIS_URL: 'redis://env:6379' } }).config.redis?.url, 'redis://env:6379');
    // The password: the file named by redis.passwordFile, else KRE_MONITOR_REDIS_PASSWORD.
    const passwordFile = file('redis-password', 'from-file\n');
    const withPassword = file('redis-pw.yaml', `redis:\n  url: redis://r:6379\n  passwordFile: ${passwordFile}\n`);
    assert.equal(loadMonitorConfig({ flags: { config: withPassword }, env: { ...env, KRE_MONITOR_REDIS_PASSWORD: 'from-env' } }).redisPassword, 'from-file');
    assert.equal(loadMonitorConfig({ flags: { redis: 'redis://r:6379' }, env: { ...env, KRE_MONITOR_REDIS_PASSWORD: 'from-env' } }).redisPassword, 'from-env');
    const missing = file('redis-missing.yaml', `redis:\n  url: redis://r:6379\n  passwordFile: ${join(dir, 'no-such-file')}\n`);
    assert.throws(() => loadMonitorConfig({ flags: { config: missing }, env }), (e) => e instanceof ConfigError && /^invalid configuration: redis\.passwordFile: cannot read .*no-such-file/.test(e.message));
  });

  it('makes `kre monitor` exit 2 naming a bad redis field', async () => {
    const missing = file('cli-redis.yaml', `redis:\n  url: redis://127.0.0.1:1\n  passwordFile: ${join(dir, 'absent')}\n`);
    const bin = new URL('../../bin/kre.js', import.meta.url).pathname;
    const run = promisify(execFile)(process.execPath, [bin, 'monitor', '--config', missing], { env: { ...process.env, KRE_MONITOR_TOKEN: 't' } });
    await assert.rejects(run, (e: { code?: number; stderr?: string }) => e.code === 2 && /redis\.passwordFile/.test(e.stderr ?? ''));
  });
});
