import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ClientConfigError, clientConfigPath, defaultStateDir, readClientConfig, writeClientConfig, type ClientConfig } from './client-config.ts';

const dir = mkdtempSync(join(tmpdir(), 'kre-client-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('client configuration', () => {
  it('is written readable by its owner only and read back as written', () => {
    const path = clientConfigPath(join(dir, 'state'));
    const config: ClientConfig = {
      manager: { address: 'localhost:50051', token: 's3cret', tls: { caFile: join(dir, 'ca.crt') } },
      monitor: { url: 'http://127.0.0.1:8003', token: 'm0n' },
      prometheus: { url: 'http://127.0.0.1:9090' },
      kubeconfig: join(dir, 'kubeconfig'),
    };
    writeClientConfig(config, path);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.deepEqual(readClientConfig(path), config);
    assert.match(readFileSync(path, 'utf8'), /address: localhost:50051/);
  });

  it('names the file and the field of a wrong value', () => {
    const path = join(dir, 'bad.yaml');
    writeFileSync(path, 'manager:\n  address: nowhere\n  token: t\n');
    assert.throws(() => readClientConfig(path), (err: Error) => err instanceof ClientConfigError && err.message.includes(path) && err.message.includes('manager.address: expected HOST:PORT'));
    writeFileSync(path, 'manager:\n  address: h:1\n  token: t\n  tls: {cafile: x}\n');
    assert.throws(() => readClientConfig(path), /manager\.tls: unknown field\(s\) cafile/);
  });

  it('says to start kre dev when there is none', () => {
    assert.throws(() => readClientConfig(join(dir, 'none', 'client.yaml')), /no client configuration at .*none\/client\.yaml: start `kre dev`/);
  });

  it('lives in KRE_DEV_STATE_DIR, else ~/.kre/dev', () => {
    assert.equal(defaultStateDir({ KRE_DEV_STATE_DIR: '/srv/kre' }), '/srv/kre');
    assert.match(defaultStateDir({}), /\/\.kre\/dev$/);
  });
});
