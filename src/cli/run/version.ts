/** `kre version …` running: the calls to the manager, and the status and metrics they print. */
import { status } from '@grpc/grpc-js';
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
} from '../../client/index.ts';
import type { VersionStatusResponse } from '../../gen/version/version.ts';
import { METRICS_HEADER, mergePoints, metricsRow, metricsTable, renderChart } from '../metrics-chart.ts';
import { print, printJson, table } from '../output.ts';
import { UsageError } from '../usage.ts';
import type { VersionFlags, VersionMetricsFlags, VersionStartFlags, VersionStatusFlags } from '../version.ts';
import { offline, parseDuration, untilInterrupted, withConnection } from './connection.ts';

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

export async function runVersionStart(flags: VersionStartFlags, expectedName?: string): Promise<void> {
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

export async function runVersionAction(action: VersionAction, name: string, flags: VersionFlags): Promise<void> {
  const message = await withConnection(flags, (conn) => versionAction(conn, action, flags.runtime, name, parseDuration('--timeout', flags.timeout, 330_000)));
  if (flags.output === 'json') printJson({ runtime: flags.runtime, name, action, message });
  else print(message);
}

export async function runVersionConfig(name: string, assignments: string[], flags: VersionFlags): Promise<void> {
  const values = await offline(async () => parseAssignments(assignments));
  const message = await withConnection(flags, (conn) => updateConfig(conn, flags.runtime, name, values));
  if (flags.output === 'json') printJson({ runtime: flags.runtime, name, config: values.map((v) => v.key), message });
  else print(`${message}: ${values.map((v) => v.key).join(', ')}`);
}

export async function runVersionStatus(name: string, flags: VersionStatusFlags): Promise<void> {
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
}

export async function runVersionMetrics(name: string, flags: VersionMetricsFlags): Promise<void> {
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
