import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadOrCreateCredentials } from './pki.ts';

test('credentials are kept; a new host gets a serving certificate from the same CA, with the same token', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kre-pki-'));
  try {
    const first = await loadOrCreateCredentials(dir);
    const again = await loadOrCreateCredentials(dir);
    assert.deepEqual(again, first, 'nothing changes on a second start');

    const ca = new X509Certificate(first.caCert);
    const serving = new X509Certificate(first.serverCert);
    assert.ok(serving.verify(ca.publicKey), 'signed by the CA');
    assert.ok(serving.checkIP('127.0.0.1'));
    assert.ok(serving.checkHost('localhost'));
    assert.equal(serving.checkIP('127.0.0.2'), undefined);

    const widened = await loadOrCreateCredentials(dir, ['127.0.0.2']);
    assert.equal(widened.caCert, first.caCert, 'same CA');
    assert.equal(widened.token, first.token, 'same token');
    const next = new X509Certificate(widened.serverCert);
    assert.ok(next.verify(ca.publicKey));
    assert.ok(next.checkIP('127.0.0.2'));
    assert.ok(next.checkIP('127.0.0.1'), 'earlier hosts still covered');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
