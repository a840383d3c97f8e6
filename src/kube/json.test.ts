import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalJson, sameJson, withSortedKeys } from './json.ts';

test('sameJson: the same content in another key order, at any depth, is the same JSON', () => {
  const written = { phase: 'Running', conditions: [{ type: 'Ready', status: 'True', observedGeneration: 1 }] };
  const readBack = { conditions: [{ observedGeneration: 1, status: 'True', type: 'Ready' }], phase: 'Running' };
  assert.notEqual(JSON.stringify(written), JSON.stringify(readBack));
  assert.ok(sameJson(written, readBack));
  assert.ok(sameJson({ a: 1, b: undefined }, { a: 1 }), 'an undefined member is an absent one');
  assert.ok(sameJson(undefined, null));
});

test('sameJson: a change of a value, of an array order or of a type is a change', () => {
  assert.ok(!sameJson({ a: [1, 2] }, { a: [2, 1] }));
  assert.ok(!sameJson({ a: { b: 1 } }, { a: { b: 2 } }));
  assert.ok(!sameJson({ a: 1 }, { a: '1' }));
  assert.ok(!sameJson({ a: 1 }, { a: 1, b: null }));
});

test('withSortedKeys sorts every map and keeps arrays in order; canonicalJson is its text', () => {
  const value = { z: 1, a: [{ y: 1, b: 2 }], m: { k: { d: 1, c: 2 } } };
  const sorted = withSortedKeys(value);
  assert.deepEqual(sorted, value);
  assert.equal(JSON.stringify(sorted), '{"a":[{"b":2,"y":1}],"m":{"k":{"c":2,"d":1}},"z":1}');
  assert.equal(canonicalJson(value), JSON.stringify(sorted));
  assert.deepEqual(Object.keys(value), ['z', 'a', 'm'], 'the input is left as it was');
});
