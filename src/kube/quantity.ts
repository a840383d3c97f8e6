/**
 * Resource quantities (`100m`, `1.5Gi`, `1e3`) as `k8s.io/apimachinery/pkg/api/resource` reads and
 * prints them. Values are plain numbers in base units — cores for CPU, bytes for memory — which is
 * exact for every quantity a pod can carry; millicores are computed from the exact decimal, so
 * `100m` is 100 and never 100.00000000000001.
 */

/** An input a real server refuses; `message` is the server's. */
export class QuantityError extends Error {
  override name = 'QuantityError';
}

const SPLIT_RE = '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$';
export const FORMAT_WRONG = `quantities must match the regular expression '${SPLIT_RE}'`;
export const SUFFIX_WRONG = "unable to parse quantity's suffix";
export const NUMERIC_WRONG = 'unable to parse numeric part of quantity';

export type QuantityKind = 'cpu' | 'memory' | 'decimal';

/** A quantity as sign × digits × 10^exp10, exactly. */
interface Exact {
  negative: boolean;
  digits: bigint;
  exp10: number;
}

const DECIMAL_SUFFIXES: ReadonlyMap<string, number> = new Map([
  ['n', -9],
  ['u', -6],
  ['m', -3],
  ['k', 3],
  ['M', 6],
  ['G', 9],
  ['T', 12],
  ['P', 15],
  ['E', 18],
]);

const BINARY_SUFFIXES: ReadonlyMap<string, number> = new Map([
  ['Ki', 10],
  ['Mi', 20],
  ['Gi', 30],
  ['Ti', 40],
  ['Pi', 50],
  ['Ei', 60],
]);

const SUFFIX_CHARS = 'eEinumkKMGTP';

/** Beyond this a number is no longer finite as a double; Kubernetes would keep it, we cannot. */
const MAX_EXPONENT = 308;

function isDigit(ch: string): boolean {
  return ch >= '0' && ch <= '9';
}

function pow10(n: number): bigint {
  return 10n ** BigInt(n);
}

/** |a| / b rounded away from zero, for a ≥ 0 and b > 0. */
function ceilDiv(a: bigint, b: bigint): bigint {
  return (a + b - 1n) / b;
}

/**
 * The scanner of `resource.ParseQuantity`: sign, digits, an optional fraction (`1.` is allowed),
 * then a suffix made of suffix letters and an optional signed exponent. Like the original it takes
 * a missing number as 0, so `+`, `.` and `Mi` are zero quantities, not errors.
 */
function scanQuantity(s: string): { negative: boolean; num: string; denom: string; suffix: string } {
  let pos = 0;
  let negative = false;
  if (s[0] === '-' || s[0] === '+') {
    negative = s[0] === '-';
    pos++;
  }
  const numStart = pos;
  while (pos < s.length && isDigit(s[pos])) pos++;
  const num = s.slice(numStart, pos);
  let denom = '';
  if (s[pos] === '.') {
    const denomStart = ++pos;
    while (pos < s.length && isDigit(s[pos])) pos++;
    denom = s.slice(denomStart, pos);
  }
  const suffixStart = pos;
  while (pos < s.length && SUFFIX_CHARS.includes(s[pos])) pos++;
  if (s[pos] === '-' || s[pos] === '+') pos++;
  while (pos < s.length && isDigit(s[pos])) pos++;
  if (pos < s.length) throw new QuantityError(FORMAT_WRONG);
  return { negative, num, denom, suffix: s.slice(suffixStart) };
}

/** The power a suffix stands for: 10^exp10 or 2^exp2. */
function interpretSuffix(suffix: string): { exp10: number; exp2: number } {
  if (suffix === '') return { exp10: 0, exp2: 0 };
  const dec = DECIMAL_SUFFIXES.get(suffix);
  if (dec !== undefined) return { exp10: dec, exp2: 0 };
  const bin = BINARY_SUFFIXES.get(suffix);
  if (bin !== undefined) return { exp10: 0, exp2: bin };
  if (suffix.length > 1 && (suffix[0] === 'e' || suffix[0] === 'E') && /^[+-]?\d+$/.test(suffix.slice(1))) {
    const exp = Number(suffix.slice(1));
    if (Math.abs(exp) > MAX_EXPONENT) throw new QuantityError(NUMERIC_WRONG);
    return { exp10: exp, exp2: 0 };
  }
  throw new QuantityError(SUFFIX_WRONG);
}

/** Parses to an exact decimal, rounded up to nano units as Kubernetes does (some of a resource is never none). */
function parseExact(input: string | number): Exact {
  const s = typeof input === 'number' ? numberText(input) : input;
  if (s.length === 0) throw new QuantityError(FORMAT_WRONG);
  const { negative, num, denom, suffix } = scanQuantity(s);
  const { exp10, exp2 } = interpretSuffix(suffix);
  let digits = BigInt((num || '0') + denom);
  let exp = exp10 - denom.length;
  if (exp2 > 0) digits <<= BigInt(exp2);
  if (exp < -9 && digits !== 0n) {
    digits = ceilDiv(digits, pow10(-9 - exp));
    exp = -9;
  }
  return { negative: negative && digits !== 0n, digits, exp10: exp };
}

/** Integers exactly (2^60 is not "1152921504606847000"), fractions as their shortest decimal. */
function numberText(n: number): string {
  if (!Number.isFinite(n)) throw new QuantityError(FORMAT_WRONG);
  return Number.isInteger(n) ? BigInt(n).toString() : String(n);
}

function toNumber(q: Exact): number {
  return Number(`${q.negative ? '-' : ''}${q.digits}e${q.exp10}`);
}

/** A quantity in base units: cores for CPU (`100m` → 0.1), bytes for memory (`1Ki` → 1024). */
export function parseQuantity(s: string | number): number {
  const value = toNumber(parseExact(s));
  if (!Number.isFinite(value)) throw new QuantityError(NUMERIC_WRONG);
  return value;
}

/** `Quantity.MilliValue()`: the value in thousandths, rounded up (away from zero) to an integer. */
export function parseMilli(s: string | number): number {
  const q = parseExact(s);
  const shift = q.exp10 + 3;
  const magnitude = shift >= 0 ? q.digits * pow10(shift) : ceilDiv(q.digits, pow10(-shift));
  return Number(q.negative ? -magnitude : magnitude);
}

/**
 * A non-negative quantity in base units read from JSON that may hold anything (a kubelet's answer,
 * a stored object): undefined when absent, not a quantity, or negative, never an exception.
 */
export function amountOf(v: unknown): number | undefined {
  if (typeof v !== 'string' && typeof v !== 'number') return undefined;
  try {
    const n = parseQuantity(v);
    return Number.isFinite(n) && n >= 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

/** Whether a real server accepts `s` as a quantity. */
export function isQuantity(s: unknown): boolean {
  if (typeof s !== 'string' && typeof s !== 'number') return false;
  try {
    parseQuantity(s);
    return true;
  } catch (err) {
    if (err instanceof QuantityError) return false;
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// Printing

const DECIMAL_BY_EXPONENT: ReadonlyMap<number, string> = new Map([...DECIMAL_SUFFIXES].map(([suffix, exp]) => [exp, suffix]));
const BINARY_BY_STEP = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'];

/** Rounds the magnitude up so that no digit is finer than 10^minExp. */
function roundUpTo(q: Exact, minExp: number): Exact {
  if (q.exp10 >= minExp || q.digits === 0n) return q;
  return { ...q, digits: ceilDiv(q.digits, pow10(minExp - q.exp10)), exp10: minExp };
}

/**
 * Kubernetes' DecimalSI canonical form: the smallest mantissa with an exponent that is a multiple
 * of 3 and has a suffix (`1500k`, `100m`, `2`).
 */
function formatDecimal(q: Exact): string {
  let { digits, exp10 } = q;
  if (digits === 0n) return '0';
  while (digits % 10n === 0n) {
    digits /= 10n;
    exp10++;
  }
  const rest = ((exp10 % 3) + 3) % 3;
  if (rest !== 0) {
    digits *= pow10(rest);
    exp10 -= rest;
  }
  if (exp10 > 18) {
    digits *= pow10(exp10 - 18);
    exp10 = 18;
  }
  return `${q.negative ? '-' : ''}${digits}${DECIMAL_BY_EXPONENT.get(exp10) ?? ''}`;
}

/** Kubernetes' BinarySI canonical form for whole byte counts that 1024 divides (`128Mi`, `1536Mi`). */
function formatBinary(q: Exact): string | undefined {
  if (q.exp10 < 0) return undefined;
  let bytes = q.digits * pow10(q.exp10);
  if (bytes < 1024n || bytes % 1024n !== 0n) return undefined;
  let step = 0;
  while (step < BINARY_BY_STEP.length - 1 && bytes % 1024n === 0n) {
    bytes /= 1024n;
    step++;
  }
  return `${q.negative ? '-' : ''}${bytes}${BINARY_BY_STEP[step]}`;
}

/**
 * A quantity's text, canonical as a real server prints it: CPU in whole cores or millicores
 * (rounded up to a millicore: `100m`, `1500m`, `2`), memory with a binary suffix when 1024 divides
 * it (`128Mi`, `1Gi`) else in decimal form (`1G`, `1500`), decimal with SI suffixes (`1500k`).
 */
export function formatQuantity(value: number, kind: QuantityKind): string {
  const q = parseExact(value);
  switch (kind) {
    case 'cpu':
      return formatDecimal(roundUpTo(q, -3));
    case 'memory':
      return formatBinary(q) ?? formatDecimal(q);
    case 'decimal':
      return formatDecimal(q);
  }
}
