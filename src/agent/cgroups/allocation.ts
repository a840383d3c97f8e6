import type { Allocation, AllocationOptions, ApplyResult, CgroupLayout, NodeTopology, PodRef } from './types.ts';

export async function readNodeTopology(_layout: CgroupLayout): Promise<NodeTopology> {
  throw new Error('readNodeTopology: not implemented yet');
}

export async function readAllocation(_layout: CgroupLayout, _pod: PodRef, _node: NodeTopology, _o?: AllocationOptions): Promise<Allocation> {
  throw new Error('readAllocation: not implemented yet');
}

export async function applyAllocation(_layout: CgroupLayout, _pod: PodRef, _desired: Allocation, _node: NodeTopology, _o?: AllocationOptions): Promise<ApplyResult> {
  throw new Error('applyAllocation: not implemented yet');
}
