/**
 * The dashboard: the web front of KRE. Reads state from the monitor's HTTP API, acts and graphs
 * through the manager's gRPC API, and serves one page that updates itself.
 */
export { startDashboard, type Dashboard, type StartDashboardOptions } from './server.ts';
export { loadBundle, buildBundle, BUNDLE_DIR, type Bundle } from './bundle.ts';
export { loadDashboardConfig, parseDashboardConfig, DashboardConfigSchema, type DashboardConfig, type DashboardTokens } from './config.ts';
export type { StateView, RuntimeView, VersionView, PodView, PointView } from './view.ts';
