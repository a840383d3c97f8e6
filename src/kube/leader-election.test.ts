import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { devclusterOnly, startTestApiServer, type TestApiServer } from '../../test/support/apiserver.ts';
import { isConflict, KubeClient } from './client.ts';
import { Campaign, LeaderElector, microTime, type Lease } from './leader-election.ts';
import { LEASES } from './resources.ts';

const TIMING = { leaseDurationMs: 2000, renewDeadlineMs: 1000, retryPeriodMs: 200 };

describe('microTime', () => {
  test('writes exactly six fractional digits', () => {
    assert.match(microTime(new Date('2026-01-01T00:00:00.123Z')), /^2026-01-01T00:00:00\.123\d{3}Z$/);
  });
});

describe('LeaderElector against an API server', () => {
  let server: TestApiServer;
  const cluster = () => server.devcluster!;
  let client: KubeClient;
  let leases = 0;

  before(async () => {
    server = await startTestApiServer();
    client = new KubeClient(server.kubeConfig());
  });
  after(async () => {
    client?.close();
    await server?.stop();
  });

  function candidates(n: number) {
    const name = `lease-${++leases}`;
    const events: string[] = [];
    const electors = Array.from({ length: n }, (_, i) => {
      const identity = `candidate-${i}`;
      const elector = new LeaderElector({
        ...TIMING,
        client,
        namespace: 'default',
        name,
        identity,
        onStartedLeading: (signal) => {
          events.push(`${identity} started`);
          signal.addEventListener('abort', () => events.push(`${identity} signal aborted`));
        },
        onStoppedLeading: () => events.push(`${identity} stopped`),
      });
      void elector.run();
      return elector;
    });
    return { name, electors, events };
  }

  const leaders = (electors: LeaderElector[]) => electors.filter((e) => e.isLeader());

  async function until(what: string, check: () => boolean, timeoutMs: number): Promise<number> {
    const t0 = Date.now();
    while (!check()) {
      if (Date.now() - t0 > timeoutMs) assert.fail(`timed out after ${timeoutMs} ms waiting until ${what}`);
      await sleep(10);
    }
    return Date.now() - t0;
  }

  test('of two candidates on one Lease, exactly one leads, and keeps leading', async () => {
    const { name, electors } = candidates(2);
    await until('one leads', () => leaders(electors).length === 1, 3000);
    const leader = leaders(electors)[0];
    for (let i = 0; i < 15; i++) {
      await sleep(100);
      assert.equal(leaders(electors).length, 1);
      assert.equal(leaders(electors)[0], leader);
    }
    const lease = await client.get<Lease>({ ...LEASES, namespace: 'default', name });
    const identity = leader === electors[0] ? 'candidate-0' : 'candidate-1';
    assert.equal(lease.spec?.holderIdentity, identity);
    assert.equal(lease.spec?.leaseDurationSeconds, 2);
    assert.match(lease.spec?.renewTime ?? '', /\.\d{6}Z$/);
    assert.match(lease.spec?.acquireTime ?? '', /\.\d{6}Z$/);
    assert.equal(lease.spec?.leaseTransitions, 0);
    await Promise.all(electors.map((e) => e.stop()));
  });

  test('a leader that stops releases the Lease and the other takes over at once', async () => {
    const { name, electors, events } = candidates(2);
    await until('one leads', () => leaders(electors).length === 1, 3000);
    const [first] = leaders(electors);
    const other = electors.find((e) => e !== first)!;
    await first.stop();
    assert.ok(events.some((e) => e.endsWith('stopped')));
    const took = await until('the other leads', () => other.isLeader(), TIMING.retryPeriodMs * 2 + 500);
    assert.ok(took < TIMING.leaseDurationMs, `took over in ${took} ms, before the lease would have expired`);
    const lease = await client.get<Lease>({ ...LEASES, namespace: 'default', name });
    assert.equal(lease.spec?.leaseTransitions, 1);
    await other.stop();
  });

  test('a leader that vanishes without releasing is replaced within leaseDuration + retryPeriod', async () => {
    const { electors } = candidates(2);
    await until('one leads', () => leaders(electors).length === 1, 3000);
    const [first] = leaders(electors);
    const other = electors.find((e) => e !== first)!;
    await first.stop({ release: false });
    const took = await until('the other leads', () => other.isLeader(), TIMING.leaseDurationMs + TIMING.retryPeriodMs * 1.2 + 300);
    assert.ok(took > TIMING.leaseDurationMs / 2, `waited for the lease to expire (${took} ms)`);
    await other.stop();
  });

  test('a leader that cannot renew within renewDeadline stops leading', devclusterOnly('faults'), async () => {
    const { electors, events } = candidates(1);
    await until('it leads', () => electors[0].isLeader(), 3000);
    cluster().faults.set({ errors: { fraction: 1, code: 500, collection: 'leases.coordination.k8s.io' } });
    try {
      const took = await until('it stops leading', () => !electors[0].isLeader(), TIMING.renewDeadlineMs + TIMING.retryPeriodMs * 2 + 300);
      assert.ok(took >= TIMING.renewDeadlineMs - TIMING.retryPeriodMs, `stopped after ${took} ms`);
      assert.ok(events.includes('candidate-0 signal aborted'));
      assert.ok(events.includes('candidate-0 stopped'));
    } finally {
      cluster().faults.clear();
      await electors[0].stop();
    }
  });
  test('a campaign waits until it may stand, and stands again after losing the Lease', async () => {
    const name = `lease-${++leases}`;
    const ref = { ...LEASES, namespace: 'default', name };
    const events: string[] = [];
    let may = false;
    const campaign = new Campaign({
      ...TIMING,
      client,
      namespace: 'default',
      name,
      identity: 'campaigner',
      mayCampaignPollMs: 50,
      mayCampaign: () => may,
      onStartedLeading: () => void events.push('started'),
      onStoppedLeading: async () => {
        await sleep(50);
        events.push('stopped');
      },
    });
    try {
      await sleep(TIMING.retryPeriodMs * 2);
      await assert.rejects(client.get<Lease>(ref), 'no Lease while it may not stand');
      assert.equal(campaign.isLeader(), false);
      may = true;
      await until('it leads', () => campaign.isLeader(), 3000);

      // Another holder takes the Lease; the campaign cannot renew, ends its term and stands again.
      for (;;) {
        const lease = await client.get<Lease>(ref);
        try {
          await client.update<Lease>(ref, { ...lease, spec: { ...lease.spec, holderIdentity: 'intruder', leaseDurationSeconds: 1, renewTime: microTime() } });
          break;
        } catch (err) {
          if (!isConflict(err)) throw err;
        }
      }
      await until('the term ends', () => events.includes('stopped'), TIMING.renewDeadlineMs + TIMING.retryPeriodMs * 2 + 500);
      await until('it leads again', () => campaign.isLeader(), TIMING.leaseDurationMs * 2 + 1000);
      assert.deepEqual(events, ['started', 'stopped', 'started']);
    } finally {
      await campaign.stop();
    }
    assert.deepEqual(events, ['started', 'stopped', 'started', 'stopped'], 'stop() waits for the term to wind down');
    assert.equal((await client.get<Lease>(ref)).spec?.holderIdentity, '', 'released on stop');
  });
});
