/**
 * `kre version …`: a model version of a runtime through the manager — create (or start) it from a
 * `.krt` file or directory, stop, publish, unpublish, configure, follow its status, and show its CPU
 * and memory as a table or, with `--watch`, as a chart redrawn as points arrive.
 */
import { status } from '@grpc/grpc-js';
import { Command, Option } from 'commander';
import {
  defaultStep,
  parseAssignments,
  parseStep,
  parseTime,
  readKrt,
  startVersion,
  updateConfig,
  versionAction,
  versionMetrics,
  versionStatus,
  watchVersionMetrics,
  watchVersionStatus,
  ClientError,
  type Connection,
  type KrtPackage,
  type MetricsPoint,
  type VersionAction,
} from '../client/index.ts';
import type { VersionStatusResponse } from '../gen/version/version.ts';
import { clientCommand, offline, parseDuration, print, printJson, table, untilInterrupted, withConnection, type ConnectionFlags } from './client-options.ts';
import { METRICS_HEADER, mergePoints, metricsRow, metricsTable, renderChart } from './metrics-chart.ts';
import { UsageError } from './usage.ts';

type VersionFlags = ConnectionFlags & { runtime: string };

function runtimeScoped(name: string, description: string): Command {
  return clientCommand(name, description).addOption(new Option('--runtime <name>', 'the runtime the version belongs to').env('KRE_RUNTIME').makeOptionMandatory());
}

const statusJson = (runtime: string, s: VersionStatusResponse) => ({
  runtime,
  name: s.name,
  namespace: s.namespace,
  state: s.state,
  phase: s.phase,
  published: s.published,
  nodes: s.nodes.map((n) => ({ name: n.name, readyReplicas: n.readyReplicas, desiredReplicas: n.desiredReplicas, ready: n.ready })),
  message: s.message,
});

export function renderVersionStatus(runtime: string, s: VersionStatusResponse): string {
  const rows = s.nodes.map((n) => [n.name, `${n.readyReplicas}/${n.desiredReplicas}`, n.ready ? 'ready' : 'not ready']);
  return [
    `Version ${s.name} (runtime ${runtime}): ${s.phase}${s.published ? ', published' : ''} — ${s.message}`,
    `  state: ${s.state}`,
    ...(rows.length ? [table(['WORKLOAD', 'PODS', 'STATE'], rows).replace(/^/gm, '  ')] : []),
  ].join('\n');
}

/** One line per change: the time, the phase, workloads ready, published or not, and the message. */
export function statusLine(at: Date, s: VersionStatusResponse): string {
  const ready = s.nodes.filter((n) => n.ready).length;
  return `${at.toISOString().slice(11, 19)}  ${s.phase.padEnd(8)}  ${ready}/${s.nodes.length} ready${s.published ? '  published' : ''}  ${s.message}`;
}

const TERMINAL_FAILURE = new Set(['Failed']);

/** Follows the status until the version runs (it is published or not); Failed ends with an error. */
async function waitRunning(conn: Connection, flags: VersionFlags, name: string): Promise<VersionStatusResponse> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), parseDuration('--timeout', flags.timeout, 300_000));
  const interrupted = untilInterrupted();
  interrupted.addEventListener('abort', () => ac.abort(), { once: true });
  let last: VersionStatusResponse | undefined;
  try {
    await watchVersionStatus(
      conn,
      flags.runtime,
      name,
      (s) => {
        last = s;
        if (flags.output === 'json') printJson(statusJson(flags.runtime, s), false);
        else print(statusLine(new Date(), s));
        if (TERMINAL_FAILURE.has(s.phase)) throw new ClientError(`version ${name} failed: ${s.message}`, status.FAILED_PRECONDITION);
        return s.phase === 'Running' ? 'stop' : undefined;
      },
      ac.signal,
    );
  } finally {
    clearTimeout(timer);
  }
  if (last?.phase === 'Running') return last;
  throw new ClientError(`version ${name} is not running${ac.signal.aborted && !interrupted.aborted ? ' before the --timeout' : ''}: ${last?.message ?? 'no status'}`, status.DEADLINE_EXCEEDED);
}

function describePackage(pkg: KrtPackage): string {
  const nodes = pkg.manifest.workflows.reduce((n, wf) => n + wf.sequential.length, 0);
  return `${pkg.manifest.workflows.length} workflow${pkg.manifest.workflows.length === 1 ? '' : 's'} (${pkg.manifest.workflows.map((w) => w.name).join(', ')}), ${nodes} node${nodes === 1 ? '' : 's'}`;
}

async function start(flags: VersionFlags & { krt: string; config?: string[]; wait?: boolean }, expectedName?: string): Promise<void> {
  const pkg = await offline(() => readKrt(flags.krt));
  if (expectedName !== undefined && pkg.manifest.version !== expectedName) {
    throw new UsageError(`${flags.krt} holds version ${pkg.manifest.version}, not ${expectedName}`);
  }
  const values = await offline(async () => parseAssignments(flags.config ?? []));
  await withConnection(flags, async (conn) => {
    const { version, message } = await startVersion(conn, flags.runtime, pkg, values);
    if (flags.output === 'json') printJson({ runtime: flags.runtime, name: version.name, namespace: version.namespace, id: version.id, workflows: version.workflows, config: version.config.map((c) => c.key), message }, !flags.wait);
    else {
      print(`${message} in runtime ${flags.runtime}: ${describePackage(pkg)}`);
      if (!flags.wait) print(`Next: kre version status ${version.name} --runtime ${flags.runtime} --watch`);
    }
    if (flags.wait) {
      const s = await waitRunning(conn, flags, version.name);
      if (flags.output === 'text') print(renderVersionStatus(flags.runtime, s));
    }
  });
}

const collect = (v: string, all: string[] = []) => [...all, v];

function actionCommand(action: VersionAction, description: string): Command {
  return runtimeScoped(action, description)
    .argument('<name>', 'the version')
    .action(async (name: string, flags: VersionFlags) => {
      const message = await withConnection(flags, (conn) => versionAction(conn, action, flags.runtime, name, parseDuration('--timeout', flags.timeout, 330_000)));
      if (flags.output === 'json') printJson({ runtime: flags.runtime, name, action, message });
      else print(message);
    });
}

async function showMetrics(name: string, flags: VersionFlags & { from?: string; to?: string; step?: string; watch?: boolean }): Promise<void> {
  const now = new Date();
  if (!flags.watch) {
    const range = await offline(async () => {
      const from = parseTime('--from', flags.from ?? '15m', now);
      const to = parseTime('--to', flags.to ?? 'now', now);
      if (from >= to) throw new UsageError(`--from (${from.toISOString()}) must come before --to (${to.toISOString()})`);
      return { from, to, step: flags.step ? parseStep('--step', flags.step) : defaultStep(from, to) };
    });
    const points = await withConnection(flags, (conn) => versionMetrics(conn, flags.runtime, name, range));
    if (flags.output === 'json') printJson(points);
    else if (points.length === 0) print(`No points for version ${name} from ${range.from.toISOString()} to ${range.to.toISOString()} (is it running, and does the manager's metrics source see its pods yet?)`);
    else print(metricsTable(points));
    return;
  }
  if (flags.to) throw new UsageError('--to: a --watch follows the points as they come; give --to without --watch for a fixed range');
  const opts = await offline(async () => ({ from: parseTime('--from', flags.from ?? '15m', now), step: flags.step ? parseStep('--step', flags.step) : 15 }));
  const signal = untilInterrupted();
  const out = process.stdout;
  const chart = flags.output === 'text' && out.isTTY === true;
  let points: MetricsPoint[] = [];
  const heading = `Version ${name} (runtime ${flags.runtime}): CPU and memory every ${opts.step}s — Ctrl-C to stop`;
  const draw = () => out.write(`\x1b[H\x1b[2J${renderChart(heading, points, out.columns ?? 80, out.rows ?? 24)}\n`);
  if (chart) {
    // The alternate screen: the chart is redrawn in place, and the shell's screen comes back after.
    out.write('\x1b[?1049h\x1b[?25l');
    draw();
    out.on('resize', draw);
  } else if (flags.output === 'text') print(METRICS_HEADER);
  try {
    await withConnection(flags, (conn) =>
      watchVersionMetrics(
        conn,
        flags.runtime,
        name,
        opts,
        (batch) => {
          if (flags.output === 'json') for (const p of batch) printJson(p, false);
          else if (chart) {
            points = mergePoints(points, batch, 2000);
            draw();
          } else for (const p of batch) print(metricsRow(p));
        },
        signal,
      ),
    );
  } finally {
    if (chart) {
      out.off('resize', draw);
      out.write('\x1b[?25h\x1b[?1049l');
      if (points.length) print(metricsTable(points.slice(-5)));
    }
  }
}

export function versionCommand(): Command {
  const version = new Command('version').description("a model version of a runtime (through the manager's gRPC API)");

  version.addCommand(
    runtimeScoped('create', 'create a version from a .krt file or a package directory, and start it')
      .requiredOption('--krt <file|dir>', 'the version package: a .krt file, or a directory holding krt.yml')
      .option('--config <KEY=VALUE>', 'a value for a variable krt.yml declares (repeatable)', collect)
      .option('--wait', 'then follow its status until it runs')
      .action((flags: VersionFlags & { krt: string; config?: string[]; wait?: boolean }) => start(flags)),
  );
  version.addCommand(
    runtimeScoped('start', 'start a version again: the manager keeps no copy of a package, so give it')
      .argument('<name>', 'the version (the package must hold it)')
      .requiredOption('--krt <file|dir>', 'the version package: a .krt file, or a directory holding krt.yml')
      .option('--config <KEY=VALUE>', 'a value for a variable krt.yml declares (repeatable)', collect)
      .option('--wait', 'then follow its status until it runs')
      .action((name: string, flags: VersionFlags & { krt: string; config?: string[]; wait?: boolean }) => start(flags, name)),
  );
  version.addCommand(actionCommand('stop', "stop a version: its workloads go (answers once they have)"));
  version.addCommand(actionCommand('publish', "publish a running version: the runtime's active-entrypoint Service selects it"));
  version.addCommand(actionCommand('unpublish', 'unpublish a version: no Service selects it any more'));
  version.addCommand(
    runtimeScoped('config', "set a version's configuration: exactly the KEY=VALUE pairs given (the pods roll)")
      .argument('<name>', 'the version')
      .argument('<assignments...>', 'KEY=VALUE, one per variable')
      .action(async (name: string, assignments: string[], flags: VersionFlags) => {
        const values = await offline(async () => parseAssignments(assignments));
        const message = await withConnection(flags, (conn) => updateConfig(conn, flags.runtime, name, values));
        if (flags.output === 'json') printJson({ runtime: flags.runtime, name, config: values.map((v) => v.key), message });
        else print(`${message}: ${values.map((v) => v.key).join(', ')}`);
      }),
  );
  version.addCommand(
    runtimeScoped('status', "a version's phase, whether it is published, and each workload's pods")
      .argument('<name>', 'the version')
      .option('--watch', 'one line per change until Ctrl-C')
      .action(async (name: string, flags: VersionFlags & { watch?: boolean }) => {
        if (!flags.watch) {
          const s = await withConnection(flags, (conn) => versionStatus(conn, flags.runtime, name));
          if (flags.output === 'json') printJson(statusJson(flags.runtime, s));
          else print(renderVersionStatus(flags.runtime, s));
          return;
        }
        const signal = untilInterrupted();
        await withConnection(flags, (conn) =>
          watchVersionStatus(conn, flags.runtime, name, (s) => (flags.output === 'json' ? printJson(statusJson(flags.runtime, s), false) : print(statusLine(new Date(), s))), signal),
        );
      }),
  );
  version.addCommand(
    runtimeScoped('metrics', "a version's CPU (millicores) and memory: a table, or a live chart with --watch")
      .argument('<name>', 'the version')
      .option('--from <time>', 'RFC 3339, or a duration ago (15m, 2h)', undefined)
      .option('--to <time>', 'RFC 3339, now, or a duration ago (default now)')
      .option('--step <seconds>', 'between points: 30, 30s, 5m (default: the range in 15 steps; 15s with --watch)')
      .option('--watch', 'follow new points: a chart redrawn in a terminal, one row per point otherwise; Ctrl-C stops')
      .action((name: string, flags: VersionFlags & { from?: string; to?: string; step?: string; watch?: boolean }) => showMetrics(name, flags)),
  );
  return version;
}
