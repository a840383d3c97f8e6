/**
 * The dashboard in `kre dev`: started on the monitor and the manager that `kre dev` runs, with a
 * login token made once and kept in the state dir (mode 0600), so that a browser's session and the
 * printed instructions stay valid across restarts.
 */
import { createLogger } from '../../kube/index.ts';
import { loadBundle, parseDashboardConfig, startDashboard, type Dashboard } from '../../dashboard/index.ts';
import { keptToken } from './credentials.ts';

export interface DevDashboardOptions {
  stateDir: string;
  /** The page's address (`--dashboard-listen`). */
  listen: string;
  monitorUrl: string;
  monitorToken: string;
  /** The manager's gRPC address and token, and the CA its clients trust. */
  managerAddress: string;
  managerToken: string;
  managerCaFile?: string;
}

export interface DevDashboard {
  dashboard: Dashboard;
  url: string;
  /** Where the login token is: what `kre dev` tells the user to paste. */
  tokenFile: string;
  stop(): Promise<void>;
}

export async function startDevDashboard(o: DevDashboardOptions): Promise<DevDashboard> {
  const { token, path } = keptToken(o.stateDir, 'dashboard-token');
  const dashboard = await startDashboard({
    config: parseDashboardConfig({ listen: o.listen, monitor: { url: o.monitorUrl }, manager: { address: o.managerAddress, ...(o.managerCaFile ? { caFile: o.managerCaFile } : {}) } }),
    tokens: { login: token, monitor: o.monitorToken, manager: o.managerToken },
    bundle: await loadBundle(),
    logger: createLogger('dashboard'),
  });
  return { dashboard, url: dashboard.url, tokenFile: path, stop: () => dashboard.stop() };
}

/** The monitor configuration `kre dev` gives its monitor so that the dashboard can read runtimes and versions from it. */
export const DASHBOARD_MONITOR_RESOURCES = ['kre.konstellation.io/v1alpha1/runtimes', 'kre.konstellation.io/v1alpha1/runtimeversions'];
