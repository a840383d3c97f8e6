import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError, loadManagerConfig, parseManagerConfig } from './config.ts';
import { requestField } from './version-request.ts';

describe('manager configuration', () => {
  test('defaults: the seed port, cluster-wide operator, five minutes of waiting', () => {
    const c = parseManagerConfig({});
    assert.equal(c.listen, 'localhost:50051');
    assert.equal(c.operator.mode, 'cluster-wide');
    assert.equal(c.waitTimeoutSeconds, 300);
    assert.equal(c.tls, undefined);
  });

  test('the file, then the environment, then the flags; the token from a file or KRE_MANAGER_TOKEN only', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kre-manager-config-'));
    try {
      const file = join(dir, 'manager.yaml');
      writeFileSync(file, 'listen: 127.0.0.1:7000\noperator:\n  mode: per-namespace\n  image: registry.example.com/kre:1.0\n');
      const tokenFile = join(dir, 'token');
      writeFileSync(tokenFile, 'from-file\n', { mode: 0o600 });
      const a = loadManagerConfig({ flags: { config: file }, env: { KRE_MANAGER_TOKEN: 'from-env' } });
      assert.equal(a.config.listen, '127.0.0.1:7000');
      assert.deepEqual(a.config.operator, { mode: 'per-namespace', image: 'registry.example.com/kre:1.0' });
      assert.equal(a.token, 'from-env');
      const b = loadManagerConfig({ flags: { config: file, listen: '127.0.0.1:0', operatorMode: 'cluster-wide', tokenFile, tlsSelfSigned: true }, env: { KRE_MANAGER_LISTEN: '127.0.0.1:1', KRE_MANAGER_TOKEN: 'from-env' } });
      assert.equal(b.config.listen, '127.0.0.1:0');
      assert.equal(b.config.operator.mode, 'cluster-wide');
      assert.equal(b.config.operator.image, 'registry.example.com/kre:1.0');
      assert.deepEqual(b.config.tls, { selfSigned: true });
      assert.equal(b.token, 'from-file');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('bad values stop the program with a message naming the field', () => {
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ listen: 'nowhere' }, /^invalid configuration: listen: expected HOST:PORT with a port from 0 to 65535$/],
      [{ operator: { mode: 'both' } }, /^invalid configuration: operator\.mode: /],
      [{ operator: { image: 'Not An Image' } }, /^invalid configuration: operator\.image: /],
      [{ waitTimeoutSeconds: -1 }, /^invalid configuration: waitTimeoutSeconds: /],
      [{ tls: { certFile: 'a' } }, /^invalid configuration: tls: /],
      [{ colour: 'blue' }, /^invalid configuration: \(top level\): unknown field\(s\) colour$/],
    ];
    for (const [raw, message] of bad) assert.throws(() => parseManagerConfig(raw), (e: Error) => e instanceof ConfigError && message.test(e.message));
    assert.throws(() => loadManagerConfig({ flags: {}, env: {} }), /token: give --token-file PATH or set KRE_MANAGER_TOKEN/);
  });
});

describe('request fields of a RuntimeVersion spec', () => {
  test('spec paths map to the Version message fields a caller sent', () => {
    assert.equal(requestField('metadata.name'), 'version.name');
    assert.equal(requestField('spec.versionId'), 'version.id');
    assert.equal(requestField('spec.entrypoint.protoFile'), 'version.entrypoint.proto_file');
    assert.equal(requestField('spec.mongoDbName'), 'version.mongo_db_name');
    assert.equal(requestField('spec.mongoUriSecret.name'), 'version.mongo_uri');
    assert.equal(requestField('spec.workflows[1].edges[0].toNode'), 'version.workflows[1].edges[0].toNode');
  });
});
