/**
 * `kre version …`: a model version of a runtime through the manager — create (or start) it from a
 * `.krt` file or directory, stop, publish, unpublish, configure, follow its status, and show its CPU
 * and memory as a table or, with `--watch`, as a chart redrawn as points arrive. The flags only:
 * `run/version.ts` talks to the manager.
 */
import { Command, Option } from 'commander';
import type { VersionAction } from '../client/index.ts';
import { clientCommand, type ConnectionFlags } from './client-options.ts';

export type VersionFlags = ConnectionFlags & { runtime: string };
export type VersionStartFlags = VersionFlags & { krt: string; config?: string[]; wait?: boolean };
export type VersionStatusFlags = VersionFlags & { watch?: boolean };
export type VersionMetricsFlags = VersionFlags & { from?: string; to?: string; step?: string; watch?: boolean };

function runtimeScoped(name: string, description: string): Command {
  return clientCommand(name, description).addOption(new Option('--runtime <name>', 'the runtime the version belongs to').env('KRE_RUNTIME').makeOptionMandatory());
}

const collect = (v: string, all: string[] = []) => [...all, v];

function actionCommand(action: VersionAction, description: string): Command {
  return runtimeScoped(action, description)
    .argument('<name>', 'the version')
    .action(async (name: string, flags: VersionFlags) => (await import('./run/version.ts')).runVersionAction(action, name, flags));
}

export function versionCommand(): Command {
  const version = new Command('version').description("a model version of a runtime (through the manager's gRPC API)");

  version.addCommand(
    runtimeScoped('create', 'create a version from a .krt file or a package directory, and start it')
      .requiredOption('--krt <file|dir>', 'the version package: a .krt file, or a directory holding krt.yml')
      .option('--config <KEY=VALUE>', 'a value for a variable krt.yml declares (repeatable)', collect)
      .option('--wait', 'then follow its status until it runs')
      .action(async (flags: VersionStartFlags) => (await import('./run/version.ts')).runVersionStart(flags)),
  );
  version.addCommand(
    runtimeScoped('start', 'start a version again: the manager keeps no copy of a package, so give it')
      .argument('<name>', 'the version (the package must hold it)')
      .requiredOption('--krt <file|dir>', 'the version package: a .krt file, or a directory holding krt.yml')
      .option('--config <KEY=VALUE>', 'a value for a variable krt.yml declares (repeatable)', collect)
      .option('--wait', 'then follow its status until it runs')
      .action(async (name: string, flags: VersionStartFlags) => (await import('./run/version.ts')).runVersionStart(flags, name)),
  );
  version.addCommand(actionCommand('stop', "stop a version: its workloads go (answers once they have)"));
  version.addCommand(actionCommand('publish', "publish a running version: the runtime's active-entrypoint Service selects it"));
  version.addCommand(actionCommand('unpublish', 'unpublish a version: no Service selects it any more'));
  version.addCommand(
    runtimeScoped('config', "set a version's configuration: exactly the KEY=VALUE pairs given (the pods roll)")
      .argument('<name>', 'the version')
      .argument('<assignments...>', 'KEY=VALUE, one per variable')
      .action(async (name: string, assignments: string[], flags: VersionFlags) => (await import('./run/version.ts')).runVersionConfig(name, assignments, flags)),
  );
  version.addCommand(
    runtimeScoped('status', "a version's phase, whether it is published, and each workload's pods")
      .argument('<name>', 'the version')
      .option('--watch', 'one line per change until Ctrl-C')
      .action(async (name: string, flags: VersionStatusFlags) => (await import('./run/version.ts')).runVersionStatus(name, flags)),
  );
  version.addCommand(
    runtimeScoped('metrics', "a version's CPU (millicores) and memory: a table, or a live chart with --watch")
      .argument('<name>', 'the version')
      .option('--from <time>', 'RFC 3339, or a duration ago (15m, 2h)', undefined)
      .option('--to <time>', 'RFC 3339, now, or a duration ago (default now)')
      .option('--step <seconds>', 'between points: 30, 30s, 5m (default: the range in 15 steps; 15s with --watch)')
      .option('--watch', 'follow new points: a chart redrawn in a terminal, one row per point otherwise; Ctrl-C stops')
      .action(async (name: string, flags: VersionMetricsFlags) => (await import('./run/version.ts')).runVersionMetrics(name, flags)),
  );
  return version;
}
