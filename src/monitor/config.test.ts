import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { ConfigError, configuredResources, loadMonitorConfig, parseMonitorConfig } from './config.ts';

const dir = mkdtempSync(join(tmpdir(), 'kre-monitor-config-'));
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
});
