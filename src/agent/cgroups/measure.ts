import type { CgroupLayout, PodRef, ReadFailure, TaskMeasurements } from './types.ts';

export async function measurePod(_layout: CgroupLayout, _pod: PodRef): Promise<{ measurements: TaskMeasurements; failures: ReadFailure[] }> {
  throw new Error('measurePod: not implemented yet');
}

export function measuredFiles(_layout: CgroupLayout, _pod: PodRef): string[] {
  throw new Error('measuredFiles: not implemented yet');
}
