import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { freePort } from '../../../test/support/free-port.ts';
import { startDevDashboard } from './dashboard.ts';

describe("kre dev's dashboard", () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'kre-dev-dashboard-'));
  after(() => rmSync(stateDir, { recursive: true, force: true }));

  test('its login token is made once, 0600 in the state dir, and kept across restarts', async () => {
    const options = { stateDir, listen: '127.0.0.1:0', monitorUrl: `http://127.0.0.1:${await freePort()}`, monitorToken: 'm', managerAddress: `127.0.0.1:${await freePort()}`, managerToken: 'g' };
    const first = await startDevDashboard(options);
    const token = readFileSync(first.tokenFile, 'utf8').trim();
    try {
      assert.equal(first.tokenFile, join(stateDir, 'dashboard-token'));
      assert.equal(statSync(first.tokenFile).mode & 0o777, 0o600);
      const res = await fetch(`${first.url}/api/login`, { method: 'POST', headers: { 'Content-Type': 'application/json', Origin: first.url }, body: JSON.stringify({ token }) });
      assert.equal(res.status, 200);
    } finally {
      await first.stop();
    }
    const second = await startDevDashboard(options);
    await second.stop();
    assert.equal(readFileSync(second.tokenFile, 'utf8').trim(), token);
  });
});
