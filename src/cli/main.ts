/**
 * The `kre` command: one subcommand per part. Exit status 2 for bad usage or configuration, 1 for
 * a failure at run time; SIGINT and SIGTERM stop a part cleanly with status 0. This is the only
 * place that decides the exit status.
 *
 * `kre --help` must answer at once, so a command's module declares its flags and nothing more: its
 * action imports the part's code (`await import('./run/<command>.ts')`) only when it runs.
 */
import { Command, CommanderError, Option } from 'commander';
import { ConfigError } from '../kube/config-error.ts';
import { agentCommand } from './agent.ts';
import { dashboardCommand } from './dashboard.ts';
import { devCommand } from './dev.ts';
import { devclusterCommand } from './devcluster.ts';
import { managerCommand } from './manager.ts';
import { monitorCommand } from './monitor.ts';
import { operatorCommand } from './operator.ts';
import { krtCommand } from './krt.ts';
import { runtimeCommand } from './runtime.ts';
import { versionCommand } from './version.ts';
import { catchSignals, STOP_DEADLINE_MS, type ForcedExit } from './signals.ts';
import { UsageError } from './usage.ts';

/** The subcommands, one line each. */
const COMMANDS: Array<() => Command> = [
  agentCommand,
  dashboardCommand,
  devCommand,
  devclusterCommand,
  krtCommand,
  managerCommand,
  monitorCommand,
  operatorCommand,
  runtimeCommand,
  versionCommand,
];

export function buildProgram(): Command {
  const program = new Command('kre')
    .description('KRE runs machine-learning model runtimes on Kubernetes and watches over them')
    .version('0.1.0')
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .showHelpAfterError();
  for (const command of COMMANDS) program.addCommand(command());
  program.addOption(new Option('--no-color', 'plain output').hideHelp());
  // Commands added with addCommand do not inherit exitOverride; without it their usage errors exit 1.
  const override = (c: Command): void => {
    c.exitOverride();
    c.commands.forEach(override);
  };
  override(program);
  return program;
}

/**
 * Commander answers `kre nosuch --help` with the top-level help and status 0, as if `nosuch` were
 * an argument; a command that does not exist is bad usage whatever follows it.
 */
function unknownCommand(program: Command, args: string[]): string | undefined {
  const first = args.find((a) => !a.startsWith('-'));
  if (first === undefined || first === 'help') return undefined;
  return program.commands.some((c) => c.name() === first || c.aliases().includes(first)) ? undefined : first;
}

/** A second Ctrl-C ends at once, as a shell would (128 + the signal); a drain past its deadline is a failure. */
const forcedExit: ForcedExit = (reason) => {
  if ('secondSignal' in reason) process.exit(reason.secondSignal === 'SIGINT' ? 130 : 143);
  process.stderr.write(`kre: still stopping ${STOP_DEADLINE_MS} ms after ${reason.drainTooLong}; exiting without finishing the drain\n`);
  process.exit(1);
};

export async function main(argv: string[]): Promise<void> {
  catchSignals(forcedExit);
  const program = buildProgram();
  try {
    const unknown = unknownCommand(program, argv.slice(2));
    if (unknown !== undefined) throw new UsageError(`unknown command '${unknown}' (see kre --help)`);
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`kre: ${message}\n`);
    process.exit(err instanceof UsageError || err instanceof ConfigError ? 2 : 1);
  }
}
