export class CpuListError extends Error {
  override name = 'CpuListError';
}
export function parseCpuList(_s: string): number[] {
  throw new Error('parseCpuList: not implemented yet');
}
export function formatCpuList(_ids: Iterable<number>): string {
  throw new Error('formatCpuList: not implemented yet');
}
