/** `kre dev` without prometheus on PATH: it says how to install it and the manager reads metrics.k8s.io. */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createVersionPod, startKreDev, stopsCleanly, versionPoints } from '../../test/support/kre-dev.ts';

describe('kre dev without prometheus', () => {
  it('says how to install it and runs the manager on metrics.k8s.io', async () => {
    // Nothing on PATH (kre dev is started by node's own path): no prometheus to find.
    const dev = await startKreDev({ nodes: 1, env: { PATH: '', KRE_PROMETHEUS_BIN: '' } });
    try {
      const stderr = dev.stderr();
      assert.match(stderr, /prometheus +not installed/);
      assert.match(stderr, /apt-get install prometheus/);
      assert.match(stderr, /manager +grpcs:\/\/\S+, version metrics from metrics\.k8s\.io/);
      assert.equal(dev.ready.prometheus, undefined);
      assert.equal(dev.clientConfig().prometheus, undefined);
      assert.ok(!existsSync(join(dev.stateDir, 'prometheus')), 'no Prometheus directory');
      await createVersionPod(dev.ready.kubeconfig);
      const points = await versionPoints(dev);
      assert.ok(points.some((p) => p.cpu > 0 && p.mem > 0), 'points from metrics.k8s.io');
      await stopsCleanly(dev, []);
    } finally {
      await dev.stop();
      dev.cleanup();
    }
  });
});
