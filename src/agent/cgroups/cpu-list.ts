/**
 * The kernel's list syntax for CPUs and memory nodes (`0-3,8`), as `cpuset.cpus` and
 * `cpuset.mems` hold it.
 */

/** A list that is not kernel list syntax, or names an id beyond what a kernel supports. */
export class CpuListError extends Error {
  override name = 'CpuListError';
}

/** The kernel's largest `NR_CPUS`; an id beyond it is no CPU, and a range to it stays small. */
const MAX_ID = 8191;

/** The ids of a list, sorted and without duplicates; `''` (an empty cpuset) is `[]`. */
export function parseCpuList(s: string): number[] {
  if (typeof s !== 'string') throw new CpuListError(`cpu list ${String(s)} is not a string`);
  const text = s.trim();
  if (text === '') return [];
  const ids = new Set<number>();
  for (const part of text.split(',')) {
    const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(part.trim());
    if (!m) throw new CpuListError(`cpu list ${JSON.stringify(s.slice(0, 80))}: ${JSON.stringify(part.slice(0, 40))} is not N or N-M`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a) throw new CpuListError(`cpu list ${JSON.stringify(s.slice(0, 80))}: range ${part.trim()} runs backwards`);
    if (b > MAX_ID) throw new CpuListError(`cpu list ${JSON.stringify(s.slice(0, 80))}: ${b} is beyond the kernel's ${MAX_ID}`);
    for (let i = a; i <= b; i++) ids.add(i);
  }
  return [...ids].sort((x, y) => x - y);
}

/** Ids in the kernel's canonical form: ascending ranges, `0-3,8`. */
export function formatCpuList(ids: Iterable<number>): string {
  const sorted = [...new Set(ids)].sort((x, y) => x - y);
  const out: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    out.push(j === i ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return out.join(',');
}
