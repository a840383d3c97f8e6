import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from '../errors.ts';
import { applyJsonPatch } from './json-patch.ts';

const doc = () => ({ metadata: { name: 'a', labels: { 'app.kubernetes.io/name': 'x', 'a~b': '1' } }, spec: { list: [1, 2, 3], replicas: 1 } });

describe('JSON patch (RFC 6902)', () => {
  const cases: { name: string; ops: unknown[]; check: (out: any) => void }[] = [
    { name: 'add a key', ops: [{ op: 'add', path: '/spec/paused', value: true }], check: (o) => assert.equal(o.spec.paused, true) },
    { name: 'add inserts into a list', ops: [{ op: 'add', path: '/spec/list/1', value: 9 }], check: (o) => assert.deepEqual(o.spec.list, [1, 9, 2, 3]) },
    { name: 'add with - appends', ops: [{ op: 'add', path: '/spec/list/-', value: 4 }], check: (o) => assert.deepEqual(o.spec.list, [1, 2, 3, 4]) },
    { name: 'remove', ops: [{ op: 'remove', path: '/spec/list/0' }], check: (o) => assert.deepEqual(o.spec.list, [2, 3]) },
    { name: 'replace', ops: [{ op: 'replace', path: '/spec/replicas', value: 3 }], check: (o) => assert.equal(o.spec.replicas, 3) },
    { name: '~1 escapes /', ops: [{ op: 'replace', path: '/metadata/labels/app.kubernetes.io~1name', value: 'y' }], check: (o) => assert.equal(o.metadata.labels['app.kubernetes.io/name'], 'y') },
    { name: '~0 escapes ~', ops: [{ op: 'remove', path: '/metadata/labels/a~0b' }], check: (o) => assert.equal(o.metadata.labels['a~b'], undefined) },
    { name: 'move', ops: [{ op: 'move', from: '/spec/replicas', path: '/spec/count' }], check: (o) => assert.deepEqual([o.spec.replicas, o.spec.count], [undefined, 1]) },
    { name: 'copy', ops: [{ op: 'copy', from: '/spec/list', path: '/spec/copy' }], check: (o) => assert.deepEqual(o.spec.copy, [1, 2, 3]) },
    { name: 'test that passes', ops: [{ op: 'test', path: '/spec/list', value: [1, 2, 3] }, { op: 'replace', path: '/spec/replicas', value: 2 }], check: (o) => assert.equal(o.spec.replicas, 2) },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const input = doc();
      c.check(applyJsonPatch(input, c.ops));
      assert.deepEqual(input, doc(), 'the input is not mutated');
    });
  }

  const failures: { name: string; patch: unknown; code: number; message: RegExp }[] = [
    { name: 'a failed test', patch: [{ op: 'test', path: '/spec/replicas', value: 5 }], code: 422, message: /testing value \/spec\/replicas failed/ },
    { name: 'replace of a missing key', patch: [{ op: 'replace', path: '/spec/nope', value: 1 }], code: 422, message: /replace.*\/spec\/nope/ },
    { name: 'remove of a missing key', patch: [{ op: 'remove', path: '/spec/nope' }], code: 422, message: /remove.*\/spec\/nope/ },
    { name: 'add under a missing parent', patch: [{ op: 'add', path: '/nope/x', value: 1 }], code: 422, message: /add.*\/nope\/x/ },
    { name: 'an index out of range', patch: [{ op: 'add', path: '/spec/list/7', value: 1 }], code: 422, message: /out of bounds/ },
    { name: 'a bad pointer', patch: [{ op: 'add', path: 'spec', value: 1 }], code: 422, message: /must start with "\/"/ },
    { name: 'an unknown op', patch: [{ op: 'frob', path: '/spec' }], code: 422, message: /Unexpected kind: frob/ },
    { name: 'a patch that is not a list', patch: { op: 'add' }, code: 400, message: /cannot unmarshal object/ },
  ];
  for (const f of failures) {
    test(`refuses ${f.name}`, () => {
      assert.throws(() => applyJsonPatch(doc(), f.patch), (err: unknown) => err instanceof ApiError && err.code === f.code && f.message.test(err.message));
    });
  }

  test('a failing operation leaves earlier ones unapplied to the input', () => {
    const input = doc();
    assert.throws(() => applyJsonPatch(input, [{ op: 'replace', path: '/spec/replicas', value: 7 }, { op: 'test', path: '/spec/replicas', value: 1 }]));
    assert.equal(input.spec.replicas, 1);
  });
});
