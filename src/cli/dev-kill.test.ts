/**
 * `kre dev` killed with -9 takes its Prometheus with it (setpriv's parent-death signal); where
 * setpriv is missing, the next kre dev on the state dir stops the Prometheus left running.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { eventually } from '../devcluster/testing.ts';
import { PROMETHEUS_BIN } from '../manager/metrics/prometheus-testing.ts';
import { pidRunning, startKreDev } from '../../test/support/kre-dev.ts';

describe('kre dev killed with -9', { skip: existsSync(PROMETHEUS_BIN) ? false : `no ${PROMETHEUS_BIN} (apt-get install prometheus)` }, () => {
  it('takes its Prometheus with it, and without setpriv the next start stops the one left', async () => {
    const first = await startKreDev({ nodes: 1 });
    const stateDir = first.stateDir;
    try {
      // setpriv (util-linux) is on PATH: the kernel sends Prometheus SIGTERM when kre dev dies.
      const pid = first.prometheusPid()!;
      await first.kill();
      await eventually(() => !pidRunning(pid), 10_000, 'Prometheus to end with kre dev');

      // Nothing on PATH, Prometheus named by KRE_PROMETHEUS_BIN: no setpriv, so it outlives a kill.
      const second = await startKreDev({ nodes: 1, stateDir, env: { PATH: '', KRE_PROMETHEUS_BIN: PROMETHEUS_BIN } });
      const left = second.prometheusPid()!;
      await second.kill();
      assert.ok(pidRunning(left), 'without setpriv Prometheus outlives a killed kre dev');
      try {
        const third = await startKreDev({ nodes: 1, stateDir });
        assert.ok(!pidRunning(left), 'the next kre dev on the state dir stopped the Prometheus left running');
        assert.notEqual(third.prometheusPid(), left);
        assert.equal(await third.stop(), 0);
      } finally {
        if (pidRunning(left)) process.kill(left, 'SIGKILL');
      }
    } finally {
      await first.stop();
      first.cleanup();
    }
  });
});
