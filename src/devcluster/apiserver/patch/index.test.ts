import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from '../errors.ts';
import { applyPatch, patchTypeOf } from './index.ts';

describe('patch types', () => {
  const table: [string, string][] = [
    ['application/json-patch+json', 'json'],
    ['application/merge-patch+json; charset=utf-8', 'merge'],
    ['application/strategic-merge-patch+json', 'strategic'],
    ['application/apply-patch+yaml', 'apply'],
  ];
  for (const [contentType, type] of table) test(`${contentType} → ${type}`, () => assert.equal(patchTypeOf(contentType), type));

  test('anything else is a 415', () => {
    assert.throws(() => patchTypeOf('application/json'), (err: unknown) => err instanceof ApiError && err.code === 415 && err.reason === 'UnsupportedMediaType');
  });

  test('a strategic merge patch on a custom resource is a 415 listing the accepted types', () => {
    assert.throws(
      () => applyPatch('strategic', { spec: {} }, { spec: { a: 1 } }, { kind: 'Model', apiVersion: 'kre.dev/v1', isCustom: true }),
      (err: unknown) =>
        err instanceof ApiError && err.code === 415 && err.message.includes('application/merge-patch+json') && !err.message.includes('strategic'),
    );
  });

  test('dispatches by type', () => {
    const opts = { kind: 'ConfigMap', apiVersion: 'v1', isCustom: false };
    assert.deepEqual(applyPatch('merge', { data: { a: '1' } }, { data: { a: null } }, opts), { data: {} });
    assert.deepEqual(applyPatch('json', { data: { a: '1' } }, [{ op: 'remove', path: '/data/a' }], opts), { data: {} });
    assert.deepEqual(applyPatch('strategic', { data: { a: '1' } }, { data: { b: '2' } }, opts), { data: { a: '1', b: '2' } });
  });
});
