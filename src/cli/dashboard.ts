/**
 * `kre dashboard`: the web page of KRE's runtimes, versions, pods and live graphs. Reads the
 * monitor, acts through the manager. The flags only: `run/dashboard.ts` starts it.
 */
import { Command } from 'commander';

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
    .action(async (flags) => (await import('./run/dashboard.ts')).runDashboard(flags));
}
