/**
 * The monitor: a cache of cluster state from watch streams and periodic verification lists,
 * served over HTTP in three views (streamed, verified, aggregated) with a typed client.
 */
export { startMonitor, type Monitor, type StartMonitorOptions, type ResourceWatch, type Readiness } from './monitor.ts';
export { MonitorClient, MonitorError, type MonitorList, type MonitorQuery } from './client.ts';
export { MemoryStore } from './memory-store.ts';
export { RedisStore, createRedisClient, redactRedisUrl, type RedisStoreOptions, type RedisStoreStatus, type RedisConnectionOptions } from './redis-store.ts';
export { StoreUnavailableError } from './store.ts';
export { loadMonitorConfig, parseMonitorConfig, MonitorConfigSchema, ConfigError, type MonitorConfig } from './config.ts';
export { SOURCE_ANNOTATION } from './http.ts';
export type { MonitorStore, View, Source, Freshness, CachedObject, StoreQuery, QueryResult, StreamChange, VerifiedList, Corrections } from './store.ts';
