/**
 * The scheduler's queue under a storm: pods that fit nowhere wait for a change that can make room
 * instead of being tried on every change; deleting Pending pods (which frees nothing) costs no
 * scheduling and no Event writes; a bound pod deleted lets a waiting pod in; FailedScheduling is
 * one Event per pod with a count.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Event, KubeList, Pod } from '../../kube/index.ts';
import { startDevCluster, type DevCluster } from '../index.ts';
import { eventually, rawRequest } from '../testing.ts';

let cluster: DevCluster;
const NS = '/api/v1/namespaces/default';
const PODS = 40;

before(async () => {
  cluster = await startDevCluster({ nodes: 1, maxPods: 2 });
});
after(async () => {
  await cluster?.stop();
});

/** Write requests to Events served so far. */
async function eventWrites(): Promise<number> {
  let n = 0;
  for (const line of (await cluster.metrics()).split('\n')) {
    const m = /^devcluster_requests_total\{(.*)\} (\d+)$/.exec(line);
    if (m && /resource="events"/.test(m[1]) && /verb="(create|patch|update)"/.test(m[1])) n += Number(m[2]);
  }
  return n;
}

const pods = async (): Promise<Pod[]> => (await rawRequest(cluster, 'GET', `${NS}/pods`)).json<KubeList<Pod>>().items;
const bound = (p: Pod) => Boolean(p.spec?.nodeName);
const tried = (p: Pod) => bound(p) || (p.status?.conditions ?? []).some((c) => c.type === 'PodScheduled');

test('Pending pods deleted: no retries, no Event writes; FailedScheduling is one Event per pod', async () => {
  for (let i = 0; i < PODS; i++) {
    const body = { apiVersion: 'v1', kind: 'Pod', metadata: { name: `p-${i}` }, spec: { containers: [{ name: 'main', image: 'registry.example/app:1' }] } };
    assert.equal((await rawRequest(cluster, 'POST', `${NS}/pods`, body)).status, 201);
  }
  await eventually(async () => (await pods()).every(tried), 60_000, 'every pod tried once');
  const pending = (await pods()).filter((p) => !bound(p));
  assert.equal(pending.length, PODS - 2);
  // Events are written after the status; wait until they stop coming.
  let last = -1;
  await eventually(async () => {
    await new Promise((r) => setTimeout(r, 1000));
    const now = await eventWrites();
    const quiet = now === last;
    last = now;
    return quiet;
  }, 60_000, 'the first FailedScheduling Events written');

  const events: Event[] = (await rawRequest(cluster, 'GET', `${NS}/events?fieldSelector=reason%3DFailedScheduling`)).json<KubeList<Event>>().items;
  const perPod = new Map<string | undefined, number>();
  for (const e of events) perPod.set(e.involvedObject.name, (perPod.get(e.involvedObject.name) ?? 0) + 1);
  assert.equal(perPod.size, PODS - 2, 'a FailedScheduling Event for each Pending pod');
  assert.ok([...perPod.values()].every((n) => n === 1), `one Event per pod, counted: ${JSON.stringify([...perPod])}`);

  const before = await eventWrites();
  for (const p of pending.slice(0, -1)) {
    assert.equal((await rawRequest(cluster, 'DELETE', `${NS}/pods/${p.metadata.name}`)).status, 200);
  }
  await eventually(async () => (await pods()).length === 3, 30_000, 'the Pending pods gone');
  // Give a storm the time to show: retries after deletions come within the 1 s backoff.
  await new Promise((r) => setTimeout(r, 2500));
  const written = (await eventWrites()) - before;
  assert.ok(written <= 2, `${written} Event writes after deleting ${pending.length - 1} Pending pods`);
});

test('a bound pod deleted makes room: the waiting pod is scheduled', async () => {
  const placed = (await pods()).filter(bound);
  const waiting = (await pods()).filter((p) => !bound(p));
  assert.equal(placed.length, 2);
  assert.equal(waiting.length, 1);
  assert.equal((await rawRequest(cluster, 'DELETE', `${NS}/pods/${placed[0].metadata.name}?gracePeriodSeconds=0`)).status, 200);
  await eventually(async () => {
    const got: Pod = (await rawRequest(cluster, 'GET', `${NS}/pods/${waiting[0].metadata.name}`)).json();
    return got.spec?.nodeName === 'kre-node-1';
  }, 60_000, 'the waiting pod bound');
});
