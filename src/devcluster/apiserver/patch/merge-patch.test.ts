import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from '../errors.ts';
import { applyMergePatch } from './merge-patch.ts';

describe('JSON merge patch (RFC 7386)', () => {
  test('null deletes, objects merge, arrays replace', () => {
    const current = { metadata: { name: 'a', labels: { keep: '1', drop: '2' } }, spec: { items: [1, 2], nested: { a: 1 } } };
    const out = applyMergePatch(current, { metadata: { labels: { drop: null, add: '3' } }, spec: { items: [3], nested: { b: 2 } } });
    assert.deepEqual(out, { metadata: { name: 'a', labels: { keep: '1', add: '3' } }, spec: { items: [3], nested: { a: 1, b: 2 } } });
    assert.equal(current.metadata.labels.drop, '2', 'the input is not mutated');
  });

  test('a null for a missing key is a no-op; an object replaces a scalar', () => {
    assert.deepEqual(applyMergePatch({ a: 1 }, { b: null, a: { c: null, d: 1 } }), { a: { d: 1 } });
  });

  test('a patch that is not an object is a 400', () => {
    assert.throws(() => applyMergePatch({}, [1]), (err: unknown) => err instanceof ApiError && err.code === 400);
  });
});
