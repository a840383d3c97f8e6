import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  amountOf,
  FORMAT_WRONG,
  formatQuantity,
  isQuantity,
  NUMERIC_WRONG,
  parseMilli,
  parseQuantity,
  QuantityError,
  SUFFIX_WRONG,
  type QuantityKind,
} from './quantity.ts';

describe('parseQuantity and parseMilli', () => {
  // input, base units, millis
  const cases: [string | number, number, number][] = [
    ['0', 0, 0],
    ['1', 1, 1000],
    ['2', 2, 2000],
    ['100m', 0.1, 100],
    ['1500m', 1.5, 1500],
    ['0.1', 0.1, 100],
    ['0.5', 0.5, 500],
    ['.5', 0.5, 500],
    ['1.', 1, 1000],
    ['+1', 1, 1000],
    ['-1', -1, -1000],
    ['-100m', -0.1, -100],
    ['1e3', 1000, 1_000_000],
    ['1E3', 1000, 1_000_000],
    ['1e-3', 0.001, 1],
    ['1E-3', 0.001, 1],
    ['1e+3', 1000, 1_000_000],
    ['1.5e3', 1500, 1_500_000],
    ['1k', 1000, 1_000_000],
    ['1M', 1e6, 1e9],
    ['1G', 1e9, 1e12],
    ['1T', 1e12, 1e15],
    ['1P', 1e15, 1e18],
    ['1E', 1e18, 1e21],
    ['1Ki', 1024, 1_024_000],
    ['1Mi', 1048576, 1_048_576_000],
    ['128Mi', 134217728, 134_217_728_000],
    ['1Gi', 1073741824, 1_073_741_824_000],
    ['1.5Gi', 1610612736, 1_610_612_736_000],
    ['0.5Ki', 512, 512_000],
    ['1Ti', 2 ** 40, 2 ** 40 * 1000],
    ['1Pi', 2 ** 50, 2 ** 50 * 1000],
    ['1Ei', 2 ** 60, 2 ** 60 * 1000],
    ['1u', 1e-6, 1],
    ['1n', 1e-9, 1],
    ['250u', 0.00025, 1],
    ['1001u', 0.001001, 2],
    // Finer than nano rounds up to a nano: some of a resource is never none.
    ['0.1n', 1e-9, 1],
    ['007', 7, 7000],
    // Kubernetes' scanner takes a missing number as zero.
    ['+', 0, 0],
    ['.', 0, 0],
    ['Mi', 0, 0],
    [2, 2, 2000],
    [0.25, 0.25, 250],
    [1e21, 1e21, 1e24],
    [-0.5, -0.5, -500],
  ];
  for (const [input, value, millis] of cases) {
    test(JSON.stringify(input), () => {
      assert.equal(parseQuantity(input), value);
      assert.equal(parseMilli(input), millis);
      assert.equal(isQuantity(input), true);
    });
  }

  const invalid: [string | number, string][] = [
    ['', FORMAT_WRONG],
    ['abc', FORMAT_WRONG],
    ['1 Gi', FORMAT_WRONG],
    [' 1', FORMAT_WRONG],
    ['1.5.5', FORMAT_WRONG],
    // Like Kubernetes' scanner: no number, then "-1" read as a suffix.
    ['--1', SUFFIX_WRONG],
    ['1Gi ', FORMAT_WRONG],
    ['1e3.5', FORMAT_WRONG],
    ['1,5', FORMAT_WRONG],
    [Number.NaN, FORMAT_WRONG],
    [Number.POSITIVE_INFINITY, FORMAT_WRONG],
    ['1ki', SUFFIX_WRONG],
    ['1KB', FORMAT_WRONG],
    ['1K', SUFFIX_WRONG],
    ['1e', SUFFIX_WRONG],
    ['1mm', SUFFIX_WRONG],
    ['1Mi5', SUFFIX_WRONG],
    ['1e999', NUMERIC_WRONG],
    ['9e308', NUMERIC_WRONG],
  ];
  for (const [input, message] of invalid) {
    test(`invalid ${JSON.stringify(input)}`, () => {
      assert.throws(() => parseQuantity(input), (err: unknown) => {
        assert.ok(err instanceof QuantityError);
        assert.equal(err.message, message);
        return true;
      });
      assert.equal(isQuantity(input), false);
    });
  }

  test('the format message is the real server’s', () => {
    assert.equal(FORMAT_WRONG, "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'");
  });

  test('isQuantity refuses what is neither string nor number', () => {
    for (const v of [undefined, null, {}, [], true]) assert.equal(isQuantity(v), false);
  });

  test('parseMilli is exact where floating point is not', () => {
    // 0.1 * 1000 and 0.29 * 1000 are not integers in binary floating point.
    assert.equal(parseMilli('0.29'), 290);
    assert.equal(parseMilli('4.35'), 4350);
    assert.equal(parseMilli('0.0001'), 1);
    assert.equal(parseMilli('-0.0001'), -1);
  });
});

describe('formatQuantity', () => {
  const cases: [number, QuantityKind, string][] = [
    [0, 'cpu', '0'],
    [0.1, 'cpu', '100m'],
    [0.25, 'cpu', '250m'],
    [1.5, 'cpu', '1500m'],
    [2, 'cpu', '2'],
    [16, 'cpu', '16'],
    [0.0001, 'cpu', '1m'],
    [0.1 + 0.2, 'cpu', '301m'],
    [-0.5, 'cpu', '-500m'],
    [0, 'memory', '0'],
    [512, 'memory', '512'],
    [1024, 'memory', '1Ki'],
    [134217728, 'memory', '128Mi'],
    [1073741824, 'memory', '1Gi'],
    [1610612736, 'memory', '1536Mi'],
    [2 ** 60, 'memory', '1Ei'],
    [2 ** 70, 'memory', '1024Ei'],
    [1e9, 'memory', '1G'],
    [1500, 'memory', '1500'],
    [0.5, 'memory', '500m'],
    [1500000, 'decimal', '1500k'],
    [1500, 'decimal', '1500'],
    [15000, 'decimal', '15k'],
    [1e9, 'decimal', '1G'],
    [0.5, 'decimal', '500m'],
    [1e-9, 'decimal', '1n'],
    [2.5e-6, 'decimal', '2500n'],
    [1e21, 'decimal', '1000E'],
    [-2000, 'decimal', '-2k'],
  ];
  for (const [value, kind, text] of cases) {
    test(`${value} as ${kind}`, () => assert.equal(formatQuantity(value, kind), text));
  }

  test('what it prints parses back to the same value', () => {
    for (const [value, kind] of cases) {
      if (kind === 'cpu') continue; // CPU is rounded to millicores
      assert.equal(parseQuantity(formatQuantity(value, kind)), value);
    }
  });

  test('refuses values that are not numbers', () => {
    assert.throws(() => formatQuantity(Number.NaN, 'cpu'), QuantityError);
  });
});

test('amountOf reads a non-negative quantity out of arbitrary JSON, never throwing', () => {
  assert.equal(amountOf('100m'), 0.1);
  assert.equal(amountOf('1Ki'), 1024);
  assert.equal(amountOf(2), 2);
  for (const v of [undefined, null, 'lots', '', [], {}, '-1', -5, '1e400']) assert.equal(amountOf(v), undefined, `amountOf(${JSON.stringify(v)})`);
});
