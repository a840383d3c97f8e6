/**
 * `kre dashboard`: the web page of KRE's runtimes, versions, pods and live graphs. Reads the
 * monitor, acts through the manager. Bad configuration exits 2 naming the field.
 */
import { Command } from 'commander';
import { createLogger } from '../kube/index.ts';
import { ConfigError, loadBundle, loadDashboardConfig, startDashboard } from '../dashboard/index.ts';
import { UsageError } from './main.ts';
import { untilSignal } from './signals.ts';

interface Flags {
  config?: string;
  listen?: string;
  tokenFile?: string;
  monitorUrl?: string;
  monitorTokenFile?: string;
  managerAddress?: string;
  managerTokenFile?: string;
}

export function dashboardCommand(): Command {
  return new Command('dashboard')
    .description('serve the web dashboard: runtimes, versions, pods and live CPU/memory graphs')
    .option('--config <file>', 'YAML configuration')
    .option('--listen <host:port>', 'address of the page (port 0 picks a free one; default 127.0.0.1:8080)')
    .option('--token-file <path>', 'file holding the token people log in with (else KRE_DASHBOARD_TOKEN)')
    .option('--monitor-url <url>', "the monitor's HTTP API (default http://127.0.0.1:8003)")
    .option('--monitor-token-file <path>', "file holding the monitor's token (else KRE_MONITOR_TOKEN)")
    .option('--manager-address <host:port>', "the manager's gRPC address (default localhost:50051)")
    .option('--manager-token-file <path>', "file holding the manager's token (else KRE_MANAGER_TOKEN)")
    .action(async (flags: Flags) => {
      const log = createLogger('dashboard');
      let loaded;
      try {
        loaded = loadDashboardConfig({ flags });
      } catch (err) {
        if (err instanceof ConfigError) throw new UsageError(err.message);
        throw err;
      }
      const dashboard = await startDashboard({ config: loaded.config, tokens: loaded.tokens, bundle: await loadBundle(), logger: log });
      log.info({ url: dashboard.url, monitor: loaded.config.monitor.url, manager: loaded.config.manager.address }, 'ready');
      const signal = await untilSignal();
      log.info({ signal }, 'stopping');
      await dashboard.stop();
      log.info('stopped');
    });
}
