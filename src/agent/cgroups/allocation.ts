/**
 * CPU allocations in a pod's cgroup: the node's topology, the kernel's values read back
 * normalized, and the desired values written where they differ.
 *
 * Comparisons are made in kernel units (the quota in µs, `cpu.shares` or `cpu.weight`, cpusets as
 * sets), so applying what `readAllocation` returned writes nothing, and a value the kubelet's sync
 * set back is written again on the next iteration.
 */
import { constants } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CpuListError, formatCpuList, parseCpuList } from './cpu-list.ts';
import { errorText, parseCount, parseSingle, readText, toNumber, type FileText } from './kernel-files.ts';
import { CgroupLayoutError } from './layout.ts';
import { cgroupDir, podCgroupPath, podsRootPath } from './paths.ts';
import type { Allocation, AllocationOptions, AllocationType, ApplyResult, CgroupLayout, NodeTopology, PodRef } from './types.ts';

export const DEFAULT_SHARES_UNIT = 1000;
const DEFAULT_PERIOD_US = 100_000;
const MIN_QUOTA_US = 1000;
const MIN_SHARES = 2;
const MAX_SHARES = 262_144;
/** How deep and wide a pod's cgroup subtree the v1 cpuset writes follow (containers are its children). */
const MAX_DEPTH = 3;
const MAX_CHILDREN = 256;

// ---- the node ----------------------------------------------------------------------------------

async function firstList(dirs: string[], files: string[]): Promise<{ path: string; ids: number[] } | undefined> {
  for (const dir of dirs) {
    for (const f of files) {
      const path = join(dir, f);
      const t = await readText(path);
      if (!t.ok) continue;
      try {
        const ids = parseCpuList(t.text);
        if (ids.length > 0) return { path, ids };
      } catch {
        // Not a list: try the next file.
      }
    }
  }
  return undefined;
}

/**
 * The CPUs and memory nodes pods may use and the CFS period, read from the pods' root cgroup
 * (`kubepods`), else its parent, else the hierarchy's root: the effective lists first. Throws
 * `CgroupLayoutError` when no CPU list can be read.
 */
export async function readNodeTopology(layout: CgroupLayout): Promise<NodeTopology> {
  const podsRoot = podsRootPath(layout);
  const cpusetDirs = [cgroupDir(layout, 'cpuset', podsRoot), cgroupDir(layout, 'cpuset', layout.parent), layout.dirs.cpuset];
  const v2 = layout.version === 'v2';
  const cpus = await firstList(cpusetDirs, v2 ? ['cpuset.cpus.effective', 'cpuset.cpus'] : ['cpuset.effective_cpus', 'cpuset.cpus']);
  if (!cpus) throw new CgroupLayoutError(`no CPU list in ${cpusetDirs.join(', ')} (cpuset.cpus or its effective list)`);
  const mems = await firstList(cpusetDirs, v2 ? ['cpuset.mems.effective', 'cpuset.mems'] : ['cpuset.effective_mems', 'cpuset.mems']);
  const cfsPeriodUs = (await readPeriod(layout, podsRoot)) ?? DEFAULT_PERIOD_US;
  return { cpus: cpus.ids.length, cpuList: formatCpuList(cpus.ids), memNodes: mems ? formatCpuList(mems.ids) : '0', cfsPeriodUs };
}

/** The CFS period of a cgroup in µs, or undefined when unreadable. */
async function readPeriod(layout: CgroupLayout, rel: string): Promise<number | undefined> {
  const dir = cgroupDir(layout, 'cpu', rel);
  try {
    if (layout.version === 'v2') {
      const t = await readText(join(dir, 'cpu.max'));
      if (!t.ok) return undefined;
      const p = toNumber(parseCount(t.text.trim().split(/\s+/)[1] ?? '') as bigint);
      return p > 0 ? p : undefined;
    }
    const t = await readText(join(dir, 'cpu.cfs_period_us'));
    if (!t.ok) return undefined;
    const p = toNumber(parseSingle(t.text) as bigint);
    return p > 0 ? p : undefined;
  } catch {
    return undefined;
  }
}

// ---- normalization -----------------------------------------------------------------------------

/** The quota in µs for a normalized `cpuQuota`, or `undefined` for no limit. */
export function quotaUs(cpuQuota: number, periodUs: number, cpus: number): number | undefined {
  if (cpuQuota >= 1) return undefined;
  return Math.max(MIN_QUOTA_US, Math.round(cpuQuota * periodUs * cpus));
}

/** `cpu.shares` for normalized shares. */
export function kernelShares(cpuShares: number, unit: number): number {
  if (cpuShares === 0) return MIN_SHARES;
  return Math.min(MAX_SHARES, Math.max(MIN_SHARES, Math.round(cpuShares * unit)));
}

/** The kubelet's (runc's) `cpu.shares` → `cpu.weight` conversion for cgroup v2. */
export function sharesToWeight(shares: number): number {
  return 1 + Math.floor(((shares - 2) * 9999) / 262142);
}

/** The smallest `cpu.shares` with this weight, so that converting it again gives the same weight. */
export function weightToShares(weight: number): number {
  return 2 + Math.ceil(((weight - 1) * 262142) / 9999);
}

// ---- the files of each type --------------------------------------------------------------------

interface Target {
  controller: 'cpu' | 'cpuset';
  file: string;
}

function targetOf(layout: CgroupLayout, type: AllocationType): Target {
  const v2 = layout.version === 'v2';
  switch (type) {
    case 'cpuQuota':
      return { controller: 'cpu', file: v2 ? 'cpu.max' : 'cpu.cfs_quota_us' };
    case 'cpuShares':
      return { controller: 'cpu', file: v2 ? 'cpu.weight' : 'cpu.shares' };
    case 'cpusetCpus':
      return { controller: 'cpuset', file: 'cpuset.cpus' };
    case 'cpusetMems':
      return { controller: 'cpuset', file: 'cpuset.mems' };
  }
}

const TYPES: AllocationType[] = ['cpuQuota', 'cpuShares', 'cpusetCpus', 'cpusetMems'];

/** The quota a file holds, in µs (`undefined`: no limit). */
function parseQuota(layout: CgroupLayout, text: string): number | undefined {
  if (layout.version === 'v2') {
    const v = parseCount(text.trim().split(/\s+/)[0] ?? '', { max: true });
    return v === Infinity ? undefined : toNumber(v);
  }
  const v = parseSingle(text, { minusOne: true });
  return (v as bigint) < 0n ? undefined : toNumber(v);
}

function parseSharesFile(layout: CgroupLayout, text: string): number {
  const v = toNumber(parseSingle(text));
  return layout.version === 'v2' ? weightToShares(v) : v;
}

/**
 * What the kernel holds for a pod, normalized. A value that cannot be read (a vanished cgroup, a
 * malformed file) or is the kernel's default (an empty v2 cpuset: the parent's) is left out.
 * Throws `CgroupPathError` only for an invalid pod.
 */
export async function readAllocation(layout: CgroupLayout, pod: PodRef, node: NodeTopology, o: AllocationOptions = {}): Promise<Allocation> {
  const unit = o.sharesUnit ?? DEFAULT_SHARES_UNIT;
  const rel = podCgroupPath(layout, pod);
  const out: Allocation = {};
  const read = async (type: AllocationType): Promise<FileText> => {
    const t = targetOf(layout, type);
    return readText(join(cgroupDir(layout, t.controller, rel), t.file));
  };
  const [quota, shares, cpus, mems] = await Promise.all(TYPES.map(read));
  try {
    if (quota.ok) {
      const us = parseQuota(layout, quota.text);
      const period = (await readPeriod(layout, rel)) ?? node.cfsPeriodUs;
      out.cpuQuota = us === undefined ? 1 : us <= MIN_QUOTA_US ? 0 : us / (period * node.cpus);
    }
  } catch {
    // Malformed: left out.
  }
  try {
    if (shares.ok) {
      const s = parseSharesFile(layout, shares.text);
      out.cpuShares = s <= MIN_SHARES ? 0 : s / unit;
    }
  } catch {
    // Malformed: left out.
  }
  for (const [type, file] of [['cpusetCpus', cpus], ['cpusetMems', mems]] as const) {
    if (!file.ok) continue;
    try {
      const ids = parseCpuList(file.text);
      if (ids.length > 0) out[type] = formatCpuList(ids);
    } catch {
      // Malformed: left out.
    }
  }
  return out;
}

// ---- applying ----------------------------------------------------------------------------------

class AllocationError extends Error {}

function checkFraction(type: AllocationType, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new AllocationError(`${type} ${String(v)} is not a finite number ≥ 0`);
  return v;
}

function checkList(type: AllocationType, v: unknown, within: string, what: string): number[] {
  if (typeof v !== 'string') throw new AllocationError(`${type} ${String(v)} is not a string in kernel list syntax`);
  let ids: number[];
  try {
    ids = parseCpuList(v);
  } catch (err) {
    throw new AllocationError(`${type}: ${(err as CpuListError).message}`);
  }
  if (ids.length === 0) throw new AllocationError(`${type} is empty: a cgroup needs at least one of the node's ${what}`);
  const allowed = new Set(parseCpuList(within));
  const outside = ids.filter((i) => !allowed.has(i));
  if (outside.length > 0) throw new AllocationError(`${type} ${JSON.stringify(v)}: ${formatCpuList(outside)} not among the node's ${what} ${within}`);
  return ids;
}

/** Writes a value over a file that exists; a file that vanished is an error, never created. */
async function writeValue(path: string, value: string): Promise<void> {
  try {
    await writeFile(path, `${value}\n`, { flag: constants.O_WRONLY | constants.O_TRUNC });
  } catch (err) {
    throw new AllocationError(`writing ${JSON.stringify(value)} to ${path}: ${errorText(err)}`);
  }
}

async function readCurrent(path: string): Promise<string> {
  const t = await readText(path);
  if (!t.ok) throw new AllocationError(t.reason === 'missing' ? `${path} is missing (the pod's cgroup is gone?)` : `reading ${path}: ${t.message}`);
  return t.text;
}

/** What a file holds as `parse` reads it, or `MALFORMED`; a file that cannot be read is an `AllocationError`. */
async function readParsed<T>(path: string, parse: (text: string) => T): Promise<T | typeof MALFORMED> {
  const text = await readCurrent(path);
  try {
    return parse(text);
  } catch {
    return MALFORMED;
  }
}

const MALFORMED = Symbol('malformed');

/** Writes `text` unless the file already holds `want`; a malformed value is written over. */
async function writeIfDifferent<T>(path: string, parse: (text: string) => T, want: T, text: string): Promise<Array<{ path: string; value: string }>> {
  if ((await readParsed(path, parse)) === want) return [];
  await writeValue(path, text);
  return [{ path, value: text }];
}

/**
 * Sets a v1 cpuset file on a cgroup and its descendants to `want`, in an order the kernel accepts
 * (every cgroup a superset of its children at every step): widen a cgroup to old ∪ want, set its
 * children, then narrow it to want. Appends what it wrote to `written`.
 */
async function setCpusetTree(dir: string, file: string, want: number[], depth: number, written: Array<{ path: string; value: string }>): Promise<void> {
  const path = join(dir, file);
  const read = await readParsed(path, parseCpuList);
  const cur = read === MALFORMED ? [] : read; // Malformed: written over.
  const current = formatCpuList(cur);
  const union = formatCpuList([...cur, ...want]);
  const target = formatCpuList(want);
  if (union !== current) {
    await writeValue(path, union);
    written.push({ path, value: union });
  }
  if (depth < MAX_DEPTH) {
    let children: string[];
    try {
      const entries = await readdir(dir, { withFileTypes: true });
      children = entries.filter((e) => e.isDirectory()).map((e) => e.name).slice(0, MAX_CHILDREN);
    } catch (err) {
      throw new AllocationError(`listing ${dir}: ${errorText(err)}`);
    }
    for (const c of children) await setCpusetTree(join(dir, c), file, want, depth + 1, written);
  }
  if (union !== target) {
    await writeValue(path, target);
    written.push({ path, value: target });
  }
}

/**
 * Applies the desired allocation to a pod's cgroup: for each type given, validates it, reads what
 * the kernel holds, and writes only when it differs. Each type succeeds or fails on its own; the
 * result lists the writes and the failures. Never throws.
 */
export async function applyAllocation(layout: CgroupLayout, pod: PodRef, desired: Allocation, node: NodeTopology, o: AllocationOptions = {}): Promise<ApplyResult> {
  const result: ApplyResult = { written: [], failures: [] };
  const types = TYPES.filter((t) => desired[t] !== undefined);
  let rel: string;
  try {
    rel = podCgroupPath(layout, pod);
  } catch (err) {
    for (const type of types) result.failures.push({ type, message: (err as Error).message });
    return result;
  }
  const unit = o.sharesUnit ?? DEFAULT_SHARES_UNIT;
  for (const type of types) {
    const t = targetOf(layout, type);
    const dir = cgroupDir(layout, t.controller, rel);
    const path = join(dir, t.file);
    try {
      const writes = await applyType(layout, type, desired[type], dir, path, rel, node, unit);
      for (const w of writes) result.written.push({ type, ...w });
    } catch (err) {
      result.failures.push({ type, path, message: err instanceof AllocationError ? err.message : errorText(err) });
    }
  }
  return result;
}

async function applyType(
  layout: CgroupLayout,
  type: AllocationType,
  value: unknown,
  dir: string,
  path: string,
  rel: string,
  node: NodeTopology,
  unit: number,
): Promise<Array<{ path: string; value: string }>> {
  const v2 = layout.version === 'v2';
  if (type === 'cpuQuota') {
    const period = (await readPeriod(layout, rel)) ?? node.cfsPeriodUs;
    const want = quotaUs(checkFraction(type, value), period, node.cpus);
    return writeIfDifferent(path, (t) => parseQuota(layout, t), want, v2 ? `${want ?? 'max'} ${period}` : `${want ?? -1}`);
  }
  if (type === 'cpuShares') {
    if (!Number.isFinite(unit) || unit <= 0) throw new AllocationError(`sharesUnit ${unit} is not a finite number > 0`);
    const shares = kernelShares(checkFraction(type, value), unit);
    const want = v2 ? sharesToWeight(shares) : shares;
    return writeIfDifferent(path, (t) => toNumber(parseSingle(t)), want, `${want}`);
  }
  const isCpus = type === 'cpusetCpus';
  const want = checkList(type, value, isCpus ? node.cpuList : node.memNodes, isCpus ? 'CPUs' : 'memory nodes');
  // On v2 a child's cpuset is always within its parent's effective one: the pod's is enough.
  if (v2) return writeIfDifferent(path, (t) => formatCpuList(parseCpuList(t)), formatCpuList(want), formatCpuList(want));
  const written: Array<{ path: string; value: string }> = [];
  try {
    await setCpusetTree(dir, isCpus ? 'cpuset.cpus' : 'cpuset.mems', want, 0, written);
  } catch (err) {
    const e = err instanceof AllocationError ? err : new AllocationError(errorText(err));
    if (written.length > 0) e.message += ` (after writing ${written.map((w) => `${w.value} to ${w.path}`).join(', ')})`;
    throw e;
  }
  return written;
}
