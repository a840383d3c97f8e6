/**
 * The event recorder against a devcluster: repeats become one Event with a count, a storm for one
 * object is cut by the per-object rate limit, and writes waiting are bounded.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { startDevCluster, type DevCluster } from '../devcluster/index.ts';
import { EVENTS as KUBE_EVENTS, CONFIGMAPS as KUBE_CONFIGMAPS, KubeClient, type Event, type KubeObject } from './index.ts';
import { EventRecorder } from './events.ts';

let cluster: DevCluster;
let client: KubeClient;
const log = pino({ level: 'silent' });
const EVENTS = { ...KUBE_EVENTS, namespace: 'default' };
const CONFIGMAPS = { ...KUBE_CONFIGMAPS, namespace: 'default' };

before(async () => {
  cluster = await startDevCluster({ nodes: 0 });
  client = new KubeClient(cluster.kubeConfig());
});
after(async () => {
  client?.close();
  await cluster?.stop();
});

async function object(name: string): Promise<KubeObject> {
  return client.create(CONFIGMAPS, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name } });
}

const eventsAbout = async (name: string): Promise<Event[]> => (await client.list<Event>(EVENTS)).items.filter((e) => e.involvedObject.name === name);

test('the same event 100 times is one Event with count 100, in at most a few writes', async () => {
  const about = await object('repeated');
  const recorder = new EventRecorder(client, { component: 'test' }, log);
  await Promise.all(Array.from({ length: 100 }, () => recorder.record(about, 'Warning', 'Failed', 'it failed')));
  const events = await eventsAbout('repeated');
  assert.equal(events.length, 1);
  assert.equal(events[0].count, 100);
  assert.equal(events[0].involvedObject.kind, 'ConfigMap');
  assert.equal(events[0].source?.component, 'test');
  assert.ok(recorder.stats.written <= 3, JSON.stringify(recorder.stats));
  // Later, one more: the count goes on.
  await recorder.record(about, 'Warning', 'Failed', 'it failed');
  assert.equal((await eventsAbout('repeated'))[0].count, 101);
  recorder.close();
});

test('a storm of different events about one object is cut to the burst', async () => {
  const about = await object('stormy');
  const recorder = new EventRecorder(client, { component: 'test' }, log, { burst: 5 });
  await Promise.all(Array.from({ length: 50 }, (_, i) => recorder.record(about, 'Warning', 'Failed', `failure ${i}`)));
  assert.equal((await eventsAbout('stormy')).length, 5);
  assert.equal(recorder.stats.rateLimited, 45);
  recorder.close();
});

test('writes waiting are bounded: the excess is dropped and counted', async () => {
  const recorder = new EventRecorder(client, { component: 'test' }, log, { maxPending: 10, maxInFlight: 1 });
  const objects = await Promise.all(Array.from({ length: 40 }, (_, i) => object(`many-${i}`)));
  await Promise.all(objects.map((o) => recorder.record(o, 'Normal', 'Seen', 'seen')));
  assert.equal(recorder.stats.written, 11, JSON.stringify(recorder.stats));
  assert.equal(recorder.stats.overflowed, 29);
  recorder.close();
});
