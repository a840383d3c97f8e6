import { test } from 'node:test';
import assert from 'node:assert/strict';
import { boolParam, intParam, optionalBoolParam } from './query-params.ts';

const q = (s: string) => new URLSearchParams(s);

test('booleans are false only for 0 and false in any case, as a real server reads them', () => {
  for (const v of ['True', 'true', 'TRUE', '1', 't', 'T', 'yes', 'f', '']) assert.equal(boolParam(q(`watch=${v}`), 'watch'), true, `watch=${v}`);
  for (const v of ['0', 'false', 'False', 'FALSE', 'fAlSe']) assert.equal(boolParam(q(`watch=${v}`), 'watch'), false, `watch=${v}`);
  assert.equal(boolParam(q(''), 'watch'), false);
  assert.equal(optionalBoolParam(q(''), 'sendInitialEvents'), undefined);
  assert.equal(optionalBoolParam(q('sendInitialEvents=False'), 'sendInitialEvents'), false);
});

test("integers go through Go's ParseInt, with its words for a 400", () => {
  assert.equal(intParam(q('limit=%2B3'), 'limit'), 3);
  assert.equal(intParam(q('limit=03'), 'limit'), 3);
  assert.equal(intParam(q('limit=-1'), 'limit'), undefined, 'no limit');
  assert.equal(intParam(q('limit=0'), 'limit'), undefined, 'no limit');
  assert.equal(intParam(q('gracePeriodSeconds=-5'), 'gracePeriodSeconds'), 1, 'a negative grace is 1');
  assert.equal(intParam(q('gracePeriodSeconds=0'), 'gracePeriodSeconds'), 0);
  for (const [v, why] of [['abc', 'invalid syntax'], ['1.5', 'invalid syntax'], [' 3', 'invalid syntax'], ['0x10', 'invalid syntax'], ['', 'invalid syntax'], ['99999999999999999999', 'value out of range']]) {
    assert.throws(() => intParam(q(`limit=${encodeURIComponent(v)}`), 'limit'), (err: any) => err.code === 400 && err.message === `strconv.ParseInt: parsing ${JSON.stringify(v)}: ${why}`);
  }
});
