/** The manager: the seed's gRPC API over Runtime and RuntimeVersion resources. */
export { startManager, SERVICE_NAMES, type Manager, type ManagerOptions } from './server.ts';
export { ConfigError, loadManagerConfig, parseManagerConfig, ManagerConfigSchema, type ManagerConfig } from './config.ts';
export { ManagerError, toServiceError, invalidArgument, notFound, alreadyExists, failedPrecondition, unavailable, unauthenticated } from './errors.ts';
export { unary, serverStream, type CallContext } from './handlers.ts';
export { renderManagerManifests } from './deploy.ts';
export { startResourceMetricsService } from './resource-metrics-service.ts';
export { startManagerPart, type ManagerPart, type ManagerPartOptions } from './part.ts';
