/**
 * The client commands' exit status and messages, kre dev's client.yaml, and `kre krt pack` sent
 * with `kre version create`: `bin/kre.js` in a child process against a real manager on a
 * devcluster without nodes (nothing here needs a workload to run).
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Connection, createRuntime } from '../client/index.ts';
import { startClientHarness, TOKEN, type ClientHarness } from '../client/testing.ts';
import { writeClientConfig } from './client-config.ts';
import { EXAMPLE, kreRunner, ok } from './client-commands-testing.ts';

let ch: ClientHarness;
let dir: string;
const { kre, baseEnv, run } = kreRunner(() => ch.address, () => dir);

before(async () => {
  ch = await startClientHarness({ nodes: 0, operator: false });
  dir = mkdtempSync(join(tmpdir(), 'kre-cli-errors-'));
  const conn = new Connection({ address: ch.address, token: TOKEN });
  try {
    await createRuntime(conn, 'demo');
  } finally {
    conn.close();
  }
});
after(async () => {
  await ch?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('kre client commands: exit status, messages, configuration, packages', () => {
  test('krt pack, then version create from the .krt; -o json of what was sent', async () => {
    const file = join(dir, 'greeter.krt');
    const packed = ok(await run(['krt', 'pack', EXAMPLE, '-o', file]));
    assert.match(packed, new RegExp(`^Packed ${file.replace(/[.]/g, '\\.')} \\(\\d+ bytes\\)\n`));
    assert.match(packed, /workflow greeting \(Greet\): parse → greet/);
    const sent = JSON.parse(ok(await run(['version', 'create', '--runtime', 'demo', '--krt', file, '-o', 'json'])));
    assert.deepEqual(Object.keys(sent), ['runtime', 'name', 'namespace', 'id', 'workflows', 'config', 'message']);
    assert.equal(sent.message, "Version 'greeter-v1' started");
    assert.deepEqual(sent.config, ['GREETING_LANGUAGE', 'MODEL_PATH']);
    assert.deepEqual(sent.workflows[1].edges, [{ id: 'greeter-v1-farewell-w1n0-w1n1', fromNode: 'w1n0', toNode: 'w1n1' }]);
  });

  test("the manager from kre dev's client.yaml in --state-dir", async () => {
    const state = join(dir, 'state');
    writeClientConfig({ manager: { address: ch.address, token: TOKEN } }, join(state, 'client.yaml'));
    const out = ok(await run(['version', 'status', 'greeter-v1', '--runtime', 'demo', '--state-dir', state], {}));
    assert.match(out, /^Version greeter-v1 \(runtime demo\): /);
  });

  test('exit status 2 for usage, 1 for failures, each with a clear message', async () => {
    const broken = join(dir, 'broken');
    cpSync(EXAMPLE, broken, { recursive: true });
    writeFileSync(join(broken, 'krt.yml'), readFileSync(join(EXAMPLE, 'krt.yml'), 'utf8').replace('- greet\n', '- gret\n'));
    // Two through bin/kre.js, at once, for the exit status the process really ends with; the rest in this process.
    const [noRuntime, wrongToken] = await Promise.all([
      kre(['version', 'status', 'greeter-v1']),
      kre(['runtime', 'status', 'demo'], { env: baseEnv({ KRE_MANAGER_ADDRESS: ch.address, KRE_MANAGER_TOKEN: 'wrong-token' }) }),
    ]);
    const badTime = await run(['version', 'metrics', 'greeter-v1', '--runtime', 'demo', '--from', 'yesterday']);
    const noConfig = await run(['runtime', 'status', 'demo'], { KRE_DEV_STATE_DIR: join(dir, 'no-state') });
    const away = await run(['runtime', 'status', 'demo'], { KRE_MANAGER_ADDRESS: '127.0.0.1:1', KRE_MANAGER_TOKEN: TOKEN });
    const missing = await run(['version', 'status', 'nowhere', '--runtime', 'demo']);
    const invalid = await run(['version', 'create', '--runtime', 'demo', '--krt', broken]);
    const undeclared = await run(['version', 'create', '--runtime', 'demo', '--krt', EXAMPLE, '--config', 'NOT_DECLARED=1']);
    assert.equal(noRuntime.code, 2);
    assert.match(noRuntime.stderr, /required option '--runtime <name>' not specified/);
    assert.equal(badTime.code, 2);
    assert.match(badTime.stderr, /^kre: --from: "yesterday" is not a time/);
    assert.equal(noConfig.code, 2);
    assert.match(noConfig.stderr, /no client configuration at .*client\.yaml: start `kre dev`/);

    assert.equal(wrongToken.code, 1);
    assert.equal(wrongToken.stderr, `kre: the manager at ${ch.address} refused the token: the bearer token is not valid (give the manager's token with --token-file or KRE_MANAGER_TOKEN)\n`);
    assert.equal(away.code, 1);
    assert.match(away.stderr, /^kre: cannot reach the manager at 127\.0\.0\.1:1: .*ECONNREFUSED/);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, 'kre: version nowhere in namespace kre-demo not found\n');
    assert.equal(invalid.code, 1);
    assert.equal(invalid.stderr, `kre: ${broken} is not a valid version package:\n  krt.yml: workflows[0].sequential[1]: no node named "gret" in nodes (parse, greet, farewell)\n  krt.yml: nodes[1]: node "greet" is in no workflow's sequential list\n`);
    assert.equal(undeclared.code, 2);
    assert.match(undeclared.stderr, /krt\.yml declares no variable NOT_DECLARED/);
  });

  test('an argument the manager refuses exits 1 naming the field from its kre-field trailer', async () => {
    const bad = await run(['version', 'config', 'greeter-v1', 'bad-key=1', '--runtime', 'demo']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^kre: invalid version\.config\[0\]\.key: .*"bad-key" is not a configuration variable/);
  });
});
