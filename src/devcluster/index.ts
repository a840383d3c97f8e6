export { startDevCluster, type DevCluster, type DevClusterOptions } from './cluster.ts';
export type { FaultSpec } from './apiserver/faults.ts';
