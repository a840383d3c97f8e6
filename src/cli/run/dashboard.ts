/** `kre dashboard` running: configuration first (a bad field exits 2 naming it), then the page's server. */
import { loadBundle, loadDashboardConfig, startDashboard } from '../../dashboard/index.ts';
import { runPart } from '../part.ts';

interface Flags {
  config?: string;
  listen?: string;
  tokenFile?: string;
  monitorUrl?: string;
  monitorTokenFile?: string;
  managerAddress?: string;
  managerTokenFile?: string;
}

export async function runDashboard(flags: Flags): Promise<void> {
  const { config, tokens } = loadDashboardConfig({ flags });
  await runPart('dashboard', async ({ log, defer }) => {
    const dashboard = await startDashboard({ config, tokens, bundle: await loadBundle(), logger: log });
    defer(() => dashboard.stop());
    return { url: dashboard.url, monitor: config.monitor.url, manager: config.manager.address };
  });
}
