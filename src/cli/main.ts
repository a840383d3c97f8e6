/**
 * The `kre` command: one subcommand per part. Exit status 2 for bad usage or configuration, 1 for
 * a failure at run time; SIGINT and SIGTERM stop a part cleanly with status 0.
 */
import { Command, CommanderError, Option } from 'commander';
import { agentCommand } from './agent.ts';
import { dashboardCommand } from './dashboard.ts';
import { devclusterCommand } from './devcluster.ts';
import { devCommand } from './dev.ts';
import { catchSignals } from './signals.ts';
import { managerCommand } from './manager.ts';
import { monitorCommand } from './monitor.ts';
import { operatorCommand } from './operator.ts';
import { krtCommand } from './krt.ts';
import { runtimeCommand } from './runtime.ts';
import { versionCommand } from './version.ts';

export class UsageError extends Error {}

export function buildProgram(): Command {
  const program = new Command('kre')
    .description('KRE runs machine-learning model runtimes on Kubernetes and watches over them')
    .version('0.1.0')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .showHelpAfterError();
  program.addCommand(agentCommand());
  program.addCommand(dashboardCommand());
  program.addCommand(devCommand());
  program.addCommand(devclusterCommand());
  program.addCommand(managerCommand());
  program.addCommand(monitorCommand());
  program.addCommand(operatorCommand());
  program.addCommand(runtimeCommand());
  program.addCommand(versionCommand());
  program.addCommand(krtCommand());
  program.addOption(new Option('--no-color', 'plain output').hideHelp());
  // Commands added with addCommand do not inherit exitOverride; without it their usage errors exit 1.
  const override = (c: Command): void => {
    c.exitOverride();
    c.commands.forEach(override);
  };
  override(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  catchSignals();
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exit(err.exitCode === 0 ? 0 : 2);
    }
    if (err instanceof UsageError) {
      process.stderr.write(`kre: ${err.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`kre: ${(err as Error).message ?? String(err)}\n`);
    process.exit(1);
  }
}
