/** What KRE offers to code that uses it as a library. */
export { MonitorClient, MonitorError, type MonitorList, type MonitorQuery } from './monitor/client.ts';
export { startDevCluster, type DevCluster, type DevClusterOptions, type FaultSpec } from './devcluster/index.ts';
