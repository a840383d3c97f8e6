import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MetricsError } from './errors.ts';
import { alignDown, alignUp, parseRangeRequest, parseWatchRequest } from './request.ts';

const ok = { versionName: 'v1', namespace: 'kre-demo', fromDate: '2020-06-11T13:00:00Z', toDate: '2020-06-11T14:00:00+00:00', step: 240 };

function invalid(fn: () => unknown, field: string, message: RegExp): void {
  assert.throws(fn, (e) => e instanceof MetricsError && e.kind === 'invalid-argument' && e.field === field && message.test(e.message) && e.message.startsWith(`${field}: `));
}

describe('version metrics requests', () => {
  it('reads a GetVersion request', () => {
    assert.deepEqual(parseRangeRequest(ok, 11_000), { namespace: 'kre-demo', version: 'v1', from: 1591880400, to: 1591884000, step: 240 });
    // Offsets and fractions, as Go's time.RFC3339Nano writes them.
    assert.equal(parseRangeRequest({ ...ok, fromDate: '2020-06-11T15:00:00.5+02:00' }, 11_000).from, 1591880400.5);
  });

  it('names the field of every bad GetVersion request', () => {
    invalid(() => parseRangeRequest({ ...ok, versionName: '' }, 100), 'versionName', /is required/);
    invalid(() => parseRangeRequest({ ...ok, versionName: 'V1"}' }, 100), 'versionName', /not a valid name/);
    invalid(() => parseRangeRequest({ ...ok, namespace: undefined }, 100), 'namespace', /is required/);
    invalid(() => parseRangeRequest({ ...ok, namespace: 'x'.repeat(64) }, 100), 'namespace', /not a valid name/);
    invalid(() => parseRangeRequest({ ...ok, fromDate: '' }, 100), 'fromDate', /is required/);
    invalid(() => parseRangeRequest({ ...ok, fromDate: 'yesterday' }, 100), 'fromDate', /not an RFC 3339 date/);
    invalid(() => parseRangeRequest({ ...ok, toDate: '2020-06-11 15:56:48 +0200 CEST' }, 100), 'toDate', /not an RFC 3339 date/);
    invalid(() => parseRangeRequest({ ...ok, toDate: '2020-13-40T99:00:00Z' }, 100), 'toDate', /not an RFC 3339 date/);
    invalid(() => parseRangeRequest({ ...ok, toDate: '2020-06-11T12:00:00Z' }, 100), 'toDate', /before fromDate/);
    invalid(() => parseRangeRequest({ ...ok, step: 0 }, 100), 'step', /positive/);
    invalid(() => parseRangeRequest({ ...ok, step: -15 }, 100), 'step', /positive/);
    invalid(() => parseRangeRequest({ ...ok, step: 1 }, 100), 'step', /3601 points, more than the 100 .* at least 37s/);
    assert.equal(parseRangeRequest({ ...ok, step: 37 }, 100).step, 37);
  });

  it('reads a WatchVersion request: fromDate optional, toDate unused but checked', () => {
    const now = 1591884000;
    assert.deepEqual(parseWatchRequest({ versionName: 'v1', namespace: 'ns', step: 10 }, 100, now), { namespace: 'ns', version: 'v1', step: 10 });
    assert.equal(parseWatchRequest({ ...ok, step: 60 }, 100, now).from, 1591880400);
    invalid(() => parseWatchRequest({ ...ok, toDate: 'later' }, 100, now), 'toDate', /RFC 3339/);
    invalid(() => parseWatchRequest({ ...ok, fromDate: '2030-01-01T00:00:00Z' }, 100, now), 'fromDate', /in the future/);
    invalid(() => parseWatchRequest({ ...ok, step: 1 }, 100, now), 'fromDate', /3601 points/);
    invalid(() => parseWatchRequest({ ...ok, step: 0 }, 100, now), 'step', /positive/);
  });

  it('aligns instants to the step', () => {
    assert.equal(alignDown(1005, 10), 1000);
    assert.equal(alignUp(1005, 10), 1010);
    assert.equal(alignUp(1010, 10), 1010);
  });
});
