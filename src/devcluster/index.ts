export { startDevCluster, type DevCluster, type DevClusterNodes, type DevClusterOptions } from './cluster.ts';
export type { NodeFault, SimulatedNode } from './nodes/index.ts';
export type { FaultSpec } from './apiserver/faults.ts';
export { StateDirLockedError } from './state-dir.ts';
