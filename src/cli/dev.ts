/**
 * `kre dev`: KRE on a machine with nothing installed. A devcluster with simulated nodes, the
 * operator (cluster-wide, its CRDs installed), the monitor and an agent per node, in one process.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';

export function devCommand(): Command {
  return new Command('dev')
    .description('run KRE on this machine: a devcluster with nodes, the operator and the monitor')
    .option('--state-dir <dir>', "where the devcluster's objects and credentials are kept", process.env.KRE_DEV_STATE_DIR ?? join(homedir(), '.kre', 'dev'))
    .option('--listen <host:port>', "the devcluster's API address (port 0 picks a free one, then kept)", '127.0.0.1:0')
    .option('--monitor-listen <host:port>', "the monitor's HTTP address", '127.0.0.1:8003')
    .option('--nodes <n>', 'simulated nodes', '3')
    .option('--quiet', 'no progress lines on stderr while the parts start')
    .action(async (flags) => (await import('./run/dev.ts')).runDev(flags));
}
