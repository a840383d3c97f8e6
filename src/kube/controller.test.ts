import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { waitUntil } from '../../test/support/wait.ts';
import { startTestApiServer, type TestApiServer } from '../../test/support/apiserver.ts';
import { KubeClient, type KubeObject } from './client.ts';
import { Controller, TerminalError, type ReconcileKey, type Reconciler } from './controller.ts';
import { setControllerOwner } from './apply.ts';
import { CONFIGMAPS, SECRETS } from './index.ts';


describe('Controller against an API server', () => {
  let server: TestApiServer;
  let client: KubeClient;
  const logger = pino({ level: 'silent' });

  before(async () => {
    server = await startTestApiServer();
    client = new KubeClient(server.kubeConfig());
    await client.create({ group: '', version: 'v1', plural: 'namespaces' }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ctl' } });
  });
  after(async () => {
    client?.close();
    await server?.stop();
  });

  test('reconciles primaries, is woken by owned children, retries errors, counts terminal ones, requeues', async () => {
    const registry = new Registry();
    const calls: string[] = [];
    const ids = new Set<string>();
    let failuresLeft = 2;
    const reconciler: Reconciler = {
      async reconcile(key: ReconcileKey, ctx) {
        ids.add(ctx.reconcileId);
        calls.push(key.name);
        if (key.name === 'flaky' && failuresLeft-- > 0) throw new Error('not yet');
        if (key.name === 'invalid') throw new TerminalError('spec is invalid');
        if (key.name === 'polled') return { requeueAfter: 50 };
      },
    };
    const controller = new Controller({
      name: 'test',
      client,
      primary: { ...CONFIGMAPS, namespace: 'ctl' },
      owns: [{ ...SECRETS, namespace: 'ctl' }],
      reconciler,
      logger,
      registry,
      workers: 2,
      backoff: { baseDelayMs: 10, maxDelayMs: 100 },
    });
    await controller.start();
    const cm = (name: string) => client.create<KubeObject>({ ...CONFIGMAPS, namespace: 'ctl' }, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name } });
    const owner = await cm('owner');
    await cm('flaky');
    await cm('invalid');
    await cm('polled');
    await waitUntil('each primary was reconciled', () => ['owner', 'flaky', 'invalid', 'polled'].every((n) => calls.includes(n)));
    await waitUntil('flaky succeeded after two retries', () => calls.filter((n) => n === 'flaky').length === 3);
    await waitUntil('polled was requeued', () => calls.filter((n) => n === 'polled').length >= 3);

    const ownerCalls = calls.filter((n) => n === 'owner').length;
    const child = setControllerOwner({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'child', namespace: 'ctl' } } as KubeObject, owner);
    await client.create({ ...SECRETS, namespace: 'ctl' }, child);
    await waitUntil('the child woke its owner', () => calls.filter((n) => n === 'owner').length > ownerCalls);
    await sleep(100);
    assert.equal(calls.filter((n) => n === 'invalid').length, 1, 'a terminal error is not retried');
    assert.equal(ids.size, calls.length, 'every reconcile has its own id');

    await controller.stop();
    const text = await registry.metrics();
    assert.match(text, /kre_controller_reconcile_total\{controller="test",result="error"\} 2/);
    assert.match(text, /kre_controller_reconcile_total\{controller="test",result="terminal"\} 1/);
    assert.match(text, /kre_controller_reconcile_total\{controller="test",result="requeue"\} \d+/);
    assert.match(text, /kre_controller_retries_total\{controller="test"\} 2/);
    assert.match(text, /kre_controller_reconcile_duration_seconds_count\{controller="test"\} \d+/);
    assert.match(text, /kre_controller_queue_depth\{controller="test"\} \d+/);
  });

  test('stop waits for the reconcile in flight and aborts its signal', async () => {
    let aborted = false;
    let finished = false;
    const controller = new Controller({
      name: 'slow',
      client,
      primary: { ...CONFIGMAPS, namespace: 'ctl', labelSelector: 'slow=yes' },
      reconciler: {
        async reconcile(_key, ctx) {
          await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }));
          aborted = true;
          await sleep(50);
          finished = true;
        },
      },
      logger,
      registry: new Registry(),
    });
    await controller.start();
    await client.create({ ...CONFIGMAPS, namespace: 'ctl' }, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'slow', labels: { slow: 'yes' } } });
    await waitUntil('the reconcile started', () => controller.queue.inFlight === 1);
    await controller.stop();
    assert.ok(aborted && finished);
  });
});
