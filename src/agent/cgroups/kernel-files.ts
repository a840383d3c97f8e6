/**
 * Reading cgroup files and parsing the kernel's formats strictly: a value that is not what the
 * kernel writes is an error naming what was wrong, never a guess.
 */
import { readFile } from 'node:fs/promises';
import type { ReadFailureReason } from './types.ts';

/** A file's text, or why it could not be read. */
export type FileText = { ok: true; text: string } | { ok: false; reason: ReadFailureReason; message: string };

/** The largest file the agent reads; cgroup files are a few KiB (`memory.stat` on a big NUMA node ~10 KiB). */
const MAX_FILE_BYTES = 256 * 1024;

export function failureReason(err: unknown): ReadFailureReason {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return 'missing';
  if (code === 'EACCES' || code === 'EPERM') return 'permission';
  return 'other';
}

export function errorText(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e?.code ? `${e.code}: ${e.message}` : String((err as Error)?.message ?? err);
}

export async function readText(path: string): Promise<FileText> {
  try {
    const buf = await readFile(path);
    if (buf.length > MAX_FILE_BYTES) return { ok: false, reason: 'malformed', message: `${buf.length} bytes, more than a cgroup file holds (${MAX_FILE_BYTES})` };
    return { ok: true, text: buf.toString('utf8') };
  } catch (err) {
    return { ok: false, reason: failureReason(err), message: errorText(err) };
  }
}

/** A value the kernel would not have written. */
export class MalformedError extends Error {
  override name = 'MalformedError';
}

/**
 * A well-formed file without the line asked for: the kernel does not provide that value there (a
 * v2 `cpu.stat` without the cpu controller has no throttling lines), so the metric is missing.
 */
export class MissingKeyError extends Error {
  override name = 'MissingKeyError';
}

const U64_MAX = (1n << 64n) - 1n;
/** cgroup v1 reads back "no limit" as PAGE_COUNTER_MAX × page size: at least 2^62 on any page size. */
const V1_UNLIMITED_FROM = 1n << 62n;

function quote(s: string): string {
  return JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}…` : s);
}

export interface CountOptions {
  /** `max` (v2) means unlimited: `Infinity`. */
  max?: boolean;
  /** A v1 limit: values from 2^62 up are its "no limit". */
  v1Limit?: boolean;
  /** `-1` allowed (v1 `cpu.cfs_quota_us`). */
  minusOne?: boolean;
  /** The largest plausible value (default 2^64 − 1, the kernel's widest counter). */
  most?: bigint;
}

/** One non-negative integer as the kernel prints it (decimal, no sign, no exponent). */
export function parseCount(token: string, o: CountOptions = {}): bigint | typeof Infinity {
  const t = token.trim();
  if (t === '') throw new MalformedError('empty');
  if (t === 'max') {
    if (o.max) return Infinity;
    throw new MalformedError('"max" where a number belongs');
  }
  if (t === '-1' && o.minusOne) return -1n;
  if (!/^\d{1,20}$/.test(t)) throw new MalformedError(`${quote(t)} is not a non-negative integer`);
  const v = BigInt(t);
  if (v > U64_MAX) throw new MalformedError(`${t} is beyond 64 bits`);
  if (o.v1Limit && v >= V1_UNLIMITED_FROM) return Infinity;
  if (o.most !== undefined && v > o.most) throw new MalformedError(`${t} is beyond any plausible value (${o.most})`);
  return v;
}

/** A file holding one integer (`memory.current`, `cpuacct.usage`). */
export function parseSingle(text: string, o: CountOptions = {}): bigint | typeof Infinity {
  const t = text.trim();
  if (t.includes('\n')) throw new MalformedError('more than one line');
  return parseCount(t, o);
}

/** The value of `key` in a `key value` file (`cpu.stat`, `memory.stat`). */
export function parseKeyed(text: string, key: string, o: CountOptions = {}): bigint | typeof Infinity {
  for (const line of text.split('\n')) {
    const sp = line.indexOf(' ');
    if (sp < 0 || line.slice(0, sp) !== key) continue;
    return parseCount(line.slice(sp + 1), o);
  }
  if (text.trim() === '') throw new MalformedError('empty');
  if (!text.endsWith('\n')) throw new MalformedError(`no ${key} line, and the last line does not end (truncated)`);
  throw new MissingKeyError(`no ${key} line`);
}

export function toNumber(v: bigint | number): number {
  return typeof v === 'bigint' ? Number(v) : v;
}

function nodeCounts(tokens: string[], line: string): Record<string, bigint> {
  const out: Record<string, bigint> = {};
  if (tokens.length === 0) throw new MalformedError(`${quote(line)} has no N<node>=<count>`);
  for (const tok of tokens) {
    const m = /^N(\d{1,4})=(\d{1,20})$/.exec(tok);
    if (!m) throw new MalformedError(`${quote(tok)} in ${quote(line)} is not N<node>=<count>`);
    out[`N${m[1]}`] = parseCount(m[2]) as bigint;
  }
  return out;
}

function requireComplete(text: string): void {
  if (text.trim() === '') throw new MalformedError('empty');
  // The kernel ends every line; a file cut short does not end with one.
  if (!text.endsWith('\n')) throw new MalformedError('truncated: the last line does not end');
}

/**
 * Pages per NUMA node from a v1 `memory.numa_stat`: the `hierarchical_total` line (the pod and
 * everything below it), else `total` on kernels without hierarchical lines.
 */
export function parseNumaStatV1(text: string): Record<string, number> {
  requireComplete(text);
  const lines = text.split('\n').filter((l) => l !== '');
  const find = (key: string) => lines.find((l) => l.startsWith(`${key}=`));
  const hasHierarchical = lines.some((l) => l.startsWith('hierarchical_'));
  const line = hasHierarchical ? find('hierarchical_total') : find('total');
  if (!line) throw new MalformedError(hasHierarchical ? 'no hierarchical_total line (truncated?)' : 'no total line');
  const [head, ...tokens] = line.split(' ');
  parseCount(head.slice(head.indexOf('=') + 1));
  const nodes = nodeCounts(tokens, line);
  return Object.fromEntries(Object.entries(nodes).map(([k, v]) => [k, Number(v)]));
}

/** Pages per NUMA node from a v2 `memory.numa_stat` (bytes): `anon + file` over the page size. */
export function parseNumaStatV2(text: string, pageSize = 4096): Record<string, number> {
  requireComplete(text);
  const lines = text.split('\n').filter((l) => l !== '');
  const get = (key: string) => {
    const line = lines.find((l) => l.startsWith(`${key} `));
    if (!line) throw new MalformedError(`no ${key} line (truncated?)`);
    return nodeCounts(line.split(' ').slice(1), line);
  };
  const anon = get('anon');
  const file = get('file');
  const nodes = Object.keys(anon);
  if (nodes.length !== Object.keys(file).length || nodes.some((n) => file[n] === undefined)) {
    throw new MalformedError('the anon and file lines name different NUMA nodes');
  }
  return Object.fromEntries(nodes.map((n) => [n, Number((anon[n] + file[n]) / BigInt(pageSize))]));
}
