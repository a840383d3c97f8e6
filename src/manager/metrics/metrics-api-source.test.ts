import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { durationSeconds } from './metrics-api-source.ts';

describe("a PodMetrics' window", () => {
  it('is read as a Go duration, as metrics-server and the devcluster write it', () => {
    assert.equal(durationSeconds('10s'), 10);
    assert.equal(durationSeconds('10.001s'), 10.001);
    assert.equal(durationSeconds('1m0s'), 60);
    assert.equal(durationSeconds('1m30.5s'), 90.5);
    assert.equal(durationSeconds('1h0m0s'), 3600);
    assert.equal(durationSeconds('500ms'), 0.5);
  });

  it('counts for nothing when it is missing or not a duration', () => {
    for (const bad of [undefined, '', '10', 's', '10 s', '-5s', 10, null]) assert.equal(durationSeconds(bad), 0, String(bad));
  });
});
