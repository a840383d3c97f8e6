import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { joinByTimestamp, rfc3339, sumByTimestamp, toWire } from './series.ts';

describe('version points', () => {
  it('joins CPU and memory by timestamp, not by index, when the series differ in length', () => {
    const cpu = sumByTimestamp([{ metric: {}, values: [[100, 250], [115, 260], [130, 240]] }]);
    // Memory has a sample the CPU series lacks (a rate needs two samples) and lacks the last one.
    const mem = sumByTimestamp([{ metric: {}, values: [[85, 1e6], [100, 2e6], [115, 3e6]] }]);
    assert.deepEqual(joinByTimestamp(cpu, mem), [
      { t: 100, cpu: 250, mem: 2e6 },
      { t: 115, cpu: 260, mem: 3e6 },
    ]);
    assert.deepEqual(joinByTimestamp(cpu, new Map()), []);
  });

  it('sums several series per timestamp and leaves out values that are not numbers', () => {
    const m = sumByTimestamp([
      { metric: { pod: 'a' }, values: [[10, 1], [20, NaN]] },
      { metric: { pod: 'b' }, values: [[10, 2], [20, 5]] },
    ]);
    assert.deepEqual([...m], [[10, 3], [20, 5]]);
  });

  it('writes dates in RFC 3339 UTC', () => {
    assert.equal(rfc3339(1591883808), '2020-06-11T13:56:48Z');
    assert.equal(rfc3339(1591883808.5), '2020-06-11T13:56:48.500Z');
    assert.deepEqual(toWire({ t: 1591883808, cpu: 1.5, mem: 2 }), { date: '2020-06-11T13:56:48Z', cpu: 1.5, mem: 2 });
  });
});
