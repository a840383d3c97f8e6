import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { eventually } from '../../devcluster/testing.ts';
import { MetricsError, unavailable } from './errors.ts';
import type { MetricsPoint, VersionResourceMetrics } from './series.ts';
import type { MetricsSource, RangeQuery } from './source.ts';
import { WatchHub, type StreamSink } from './watch.ts';

/**
 * A source whose numbers are a function of the instant (cpu = t, mem = 2t), that counts the range
 * queries it answers and can be made to fail: what the hub does with a source, without Prometheus.
 */
class ClockSource implements MetricsSource {
  readonly kind = 'prometheus';
  calls: RangeQuery[] = [];
  failure: string | undefined;
  async range(q: RangeQuery): Promise<MetricsPoint[]> {
    this.calls.push(q);
    if (this.failure) throw unavailable(this.failure);
    const out: MetricsPoint[] = [];
    for (let t = q.start; t <= q.end; t += q.step) out.push({ t, cpu: t, mem: 2 * t });
    return out;
  }
  async close(): Promise<void> {}
}

class Sink implements StreamSink {
  messages: VersionResourceMetrics[][] = [];
  error: MetricsError | undefined;
  blocked = false;
  private drain: (() => void) | undefined;
  write(points: VersionResourceMetrics[]): boolean {
    this.messages.push(points);
    return !this.blocked;
  }
  onDrain(fn: () => void): void {
    this.drain = fn;
  }
  fail(err: MetricsError): void {
    this.error = err;
  }
  release(): void {
    this.blocked = false;
    const d = this.drain;
    this.drain = undefined;
    d?.();
  }
  get seconds(): number[] {
    return this.messages.flat().map((p) => Date.parse(p.date) / 1000);
  }
}

function hub(source: MetricsSource, clock: { now: number }, o: Partial<ConstructorParameters<typeof WatchHub>[1]> = {}): WatchHub {
  return new WatchHub(source, { intervalMs: 20, bufferPoints: 100, maxStreams: 1000, maxPoints: 1000, now: () => clock.now * 1000, ...o });
}

const req = { namespace: 'ns', version: 'v1', step: 10 };

describe('WatchVersion pollers', () => {
  test('streams on one version share one poller: one query per interval, whatever their number', async () => {
    const source = new ClockSource();
    const clock = { now: 1005 };
    const h = hub(source, clock);
    const sinks = Array.from({ length: 50 }, () => new Sink());
    const subs = sinks.map((s) => h.subscribe(req, s));
    assert.deepEqual(h.stats(), { pollers: 1, streams: 50 });
    await eventually(() => sinks.every((s) => s.seconds.length === 1), 5000, 'the latest point on every stream');
    assert.deepEqual(sinks[0].seconds, [1000]);
    assert.deepEqual(sinks[0].messages[0], [{ date: '1970-01-01T00:16:40Z', cpu: 1000, mem: 2000 }]);
    clock.now = 1031;
    await eventually(() => sinks.every((s) => s.seconds.length === 4), 5000, 'three new points on every stream');
    for (const s of sinks) assert.deepEqual(s.seconds, [1000, 1010, 1020, 1030]);
    // Every query asked only for what was new, and each covers all 50 streams.
    const asked = source.calls.filter((c) => c.start <= c.end);
    assert.deepEqual(asked.map((c) => [c.start, c.end]).filter((x, i, a) => i === 0 || x[0] !== a[i - 1][0]), [[1000, 1000], [1010, 1030]]);
    // A different step is another poller.
    const other = new Sink();
    const o = h.subscribe({ ...req, step: 30 }, other);
    assert.equal(h.stats().pollers, 2);
    o.cancel();
    for (const s of subs) s.cancel();
    assert.deepEqual(h.stats(), { pollers: 0, streams: 0 });
    // The poller stopped with its last stream: no query after that.
    const n = source.calls.length;
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(source.calls.length, n);
  });

  test('a stream with fromDate gets the points since then first, then the new ones, without gaps or repeats', async () => {
    const source = new ClockSource();
    const clock = { now: 1005 };
    const h = hub(source, clock);
    const first = new Sink();
    h.subscribe(req, first);
    await eventually(() => first.seconds.length === 1, 5000, 'first point');
    clock.now = 1021;
    const late = new Sink();
    h.subscribe({ ...req, from: 953 }, late);
    await eventually(() => late.seconds.at(-1) === 1020, 5000, 'backfill up to now');
    clock.now = 1045;
    await eventually(() => late.seconds.at(-1) === 1040 && first.seconds.at(-1) === 1040, 5000, 'new points');
    assert.deepEqual(late.seconds, [960, 970, 980, 990, 1000, 1010, 1020, 1030, 1040]);
    assert.deepEqual(first.seconds, [1000, 1010, 1020, 1030, 1040]);
    h.close();
  });

  test('a failing query ends every stream of the poller with UNAVAILABLE and the reason; the next stream starts afresh', async () => {
    const source = new ClockSource();
    const clock = { now: 1005 };
    const h = hub(source, clock);
    const sinks = [new Sink(), new Sink(), new Sink()];
    for (const s of sinks) h.subscribe(req, s);
    const elsewhere = new Sink();
    h.subscribe({ ...req, version: 'v2' }, elsewhere);
    await eventually(() => sinks.every((s) => s.seconds.length === 1), 5000, 'first points');
    source.failure = 'Prometheus at http://prom:9090 is unreachable: ECONNREFUSED';
    clock.now = 1015;
    await eventually(() => sinks.every((s) => s.error), 5000, 'streams ended');
    for (const s of sinks) {
      assert.equal(s.error!.kind, 'unavailable');
      assert.match(s.error!.message, /Prometheus at http:\/\/prom:9090 is unreachable/);
    }
    await eventually(() => elsewhere.error, 5000, 'the other version\'s stream ended too');
    assert.deepEqual(h.stats(), { pollers: 0, streams: 0 });
    source.failure = undefined;
    const again = new Sink();
    h.subscribe(req, again);
    await eventually(() => again.seconds.length === 1, 5000, 'a new poller');
    h.close();
    assert.equal(again.error?.kind, 'unavailable');
  });

  test('a slow client is cut off once its buffer is full; the others go on', async () => {
    const source = new ClockSource();
    const clock = { now: 1005 };
    const h = hub(source, clock, { bufferPoints: 5 });
    const slow = new Sink();
    const fast = new Sink();
    slow.blocked = true;
    h.subscribe(req, slow);
    h.subscribe(req, fast);
    await eventually(() => fast.seconds.length === 1, 5000, 'first point');
    // The transport took the first message and said it is full; then the points pile up.
    clock.now = 1045;
    await eventually(() => fast.seconds.length === 5, 5000, 'four points');
    assert.equal(slow.error, undefined, 'four waiting points fit in the buffer');
    clock.now = 1075;
    await eventually(() => slow.error, 5000, 'the slow stream ended');
    assert.equal(slow.error!.kind, 'resource-exhausted');
    assert.match(slow.error!.message, /reads too slowly: more than 5 points/);
    assert.equal(fast.error, undefined);
    assert.equal(h.stats().streams, 1);
    clock.now = 1085;
    await eventually(() => fast.seconds.at(-1) === 1080, 5000, 'the fast stream goes on');
    h.close();
  });

  test('a client that drains gets everything in order', async () => {
    const source = new ClockSource();
    const clock = { now: 1005 };
    const h = hub(source, clock, { bufferPoints: 50 });
    const s = new Sink();
    s.blocked = true;
    h.subscribe(req, s);
    await eventually(() => s.seconds.length === 1, 5000, 'first point');
    clock.now = 1045;
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(s.seconds.length, 1, 'nothing written while the transport is full');
    s.release();
    await eventually(() => s.seconds.at(-1) === 1040, 5000, 'the rest');
    assert.deepEqual(s.seconds, [1000, 1010, 1020, 1030, 1040]);
    h.close();
  });

  test('at most maxStreams streams', () => {
    const h = hub(new ClockSource(), { now: 1005 }, { maxStreams: 2 });
    h.subscribe(req, new Sink());
    h.subscribe({ ...req, version: 'v2' }, new Sink());
    assert.throws(() => h.subscribe(req, new Sink()), (e) => e instanceof MetricsError && e.kind === 'resource-exhausted' && /2 metric streams are open/.test(e.message));
    h.close();
  });
});
