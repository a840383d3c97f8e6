/**
 * The agent's iteration, every `intervalSeconds`: tasks from the pod source → measurements from
 * their cgroups → (allocation mode) the allocator's desired values, applied where the kernel holds
 * something else → metrics text for `/metrics` and the textfile. Iterations never overlap; a slow
 * one delays the next instead of piling up.
 *
 * Failures stay local: a pod source that fails is counted and its last good list stands in for a
 * while; a cgroup file that cannot be read loses that task's metric only; an allocation that
 * cannot be applied fails that task's allocation type only. Each is counted by reason and logged
 * with the path — once per task, metric and reason while it lasts, so that a file missing for hours
 * does not write a line every ten seconds.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import type { Logger } from 'pino';
import { applyAllocation, detectLayout, measurePod, readAllocation, readNodeTopology, type Allocation, type CgroupLayout, type CgroupOptions, type PodRef, type TaskMeasurements } from './cgroups/index.ts';
import type { AgentConfig } from './config.ts';
import { StaticAllocator } from './allocator.ts';
import { countReadError, countSourceError, initialState, metricNameOf, renderAgentMetrics, type AgentState, type TaskReport } from './metrics.ts';
import type { PodSource } from './pod-source.ts';
import { selectTasks, type Task } from './tasks.ts';

export interface AgentOptions {
  config: AgentConfig;
  source: PodSource;
  /** Where the node's cgroups are; detected at the first iteration and again until it succeeds. */
  cgroup: CgroupOptions;
  logger: Logger;
  /** Clock for timestamps (ms since the epoch). */
  now?(): number;
}

/** How many tasks are measured at once: enough to overlap file reads, few enough to bound open files. */
const MEASURE_CONCURRENCY = 16;

export function podRefOf(t: Task): PodRef {
  return { uid: t.id, qos: t.qos, containerIds: t.containerIds };
}

async function eachLimited<T>(items: readonly T[], limit: number, run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await run(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** Writes `text` to a temporary file beside `path` and renames it over `path`: readers never see half of it. */
export function writeTextfile(path: string, text: string): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  writeFileSync(tmp, text, { mode: 0o644 });
  renameSync(tmp, path);
}

export class Agent {
  readonly state: AgentState;
  /** The metrics text of the last iteration. */
  private text: string;
  private readonly allocator: StaticAllocator | undefined;
  /** Problems already logged, per task (`metric|reason`), so each is logged once while it lasts. */
  private readonly reported = new Map<string, Set<string>>();
  private sourceProblem: string | undefined;
  private layout: CgroupLayout | undefined;
  private layoutProblem: string | undefined;
  /**
   * What the kernel held after the last iteration's allocation, per task, with the desired values
   * it answered: when nothing had to be written, it still holds them and is not read again.
   */
  private readonly applied = new Map<string, { desired: string; held: Allocation }>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private iterated = false;

  constructor(private readonly o: AgentOptions) {
    this.state = initialState(o.config.mode === 'allocation');
    this.allocator = o.config.mode === 'allocation' ? new StaticAllocator(o.config.allocation.rules) : undefined;
    this.text = renderAgentMetrics(this.state);
  }

  private now(): number {
    return this.o.now?.() ?? Date.now();
  }

  /** The cgroup layout, detected once it can be (the kubelet may not have made `kubepods` yet). */
  async cgroupLayout(): Promise<CgroupLayout | undefined> {
    if (this.layout) return this.layout;
    try {
      this.layout = await detectLayout(this.o.cgroup);
      this.o.logger.info({ root: this.layout.root, version: this.layout.version, driver: this.layout.driver }, 'cgroup layout detected');
      this.layoutProblem = undefined;
    } catch (err) {
      countReadError(this.state.counters, 'cgroup_layout', 'missing');
      const message = (err as Error).message;
      if (message !== this.layoutProblem) this.o.logger.warn({ root: this.o.cgroup.root, err: message }, 'cannot find the cgroup layout; tasks are listed without measurements until it can be');
      this.layoutProblem = message;
    }
    return this.layout;
  }

  metricsText(): string {
    return this.text;
  }

  /** Ready once an iteration has run with tasks from the source. */
  ready(): boolean {
    return this.iterated;
  }

  /** Starts iterating: the first iteration at once, then every interval after the previous one ends. */
  start(): void {
    const loop = () => {
      if (this.stopped) return;
      this.running = this.iterate()
        .catch((err: Error) => this.o.logger.error({ err: err.message }, 'iteration failed'))
        .finally(() => {
          this.running = undefined;
          if (!this.stopped) this.timer = setTimeout(loop, this.o.config.intervalSeconds * 1000);
        });
    };
    loop();
  }

  /** Stops iterating; the iteration under way, if any, finishes first. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** One iteration; also what tests and the benchmark call directly. */
  async iterate(): Promise<void> {
    const started = performance.now();
    const { config, logger } = this.o;
    const answer = await this.o.source.pods();
    if (answer.error) {
      countSourceError(this.state.counters, answer.error.reason);
      const problem = `${answer.error.reason}: ${answer.error.message}`;
      if (problem !== this.sourceProblem) logger.warn({ source: config.source, reason: answer.error.reason, err: answer.error.message, stale: answer.stale }, 'task source failed');
      this.sourceProblem = problem;
    } else if (this.sourceProblem) {
      logger.info({ source: config.source }, 'task source answers again');
      this.sourceProblem = undefined;
    }
    const list = selectTasks(answer.pods, { namespaces: config.namespaces, excludeNamespaces: config.excludeNamespaces, maxTasks: config.maxTasks, podLabels: config.podLabels });
    const nowSeconds = this.now() / 1000;
    const reports: TaskReport[] = list.tasks.map((task) => ({ task, measurements: {}, lastSeen: nowSeconds }));
    const layout = reports.length > 0 || this.allocator ? await this.cgroupLayout() : this.layout;
    if (layout) {
      await eachLimited(reports, MEASURE_CONCURRENCY, async (r) => {
        r.measurements = await this.measure(layout, r.task);
      });
      if (this.allocator) await this.allocate(layout, reports);
    }
    const present = new Set(reports.map((r) => r.task.id));
    for (const id of [...this.reported.keys()]) if (!present.has(id)) this.reported.delete(id);
    for (const id of [...this.applied.keys()]) if (!present.has(id)) this.applied.delete(id);

    const s = this.state;
    s.tasks = reports;
    s.skipped = list.skipped;
    s.droppedLabels = list.droppedLabels;
    if (answer.lastSuccessMs !== undefined) s.sourceLastSuccess = answer.lastSuccessMs / 1000;
    s.counters.iterations++;
    s.memUsageBytes = process.memoryUsage.rss();
    s.durationSeconds = (performance.now() - started) / 1000;
    s.lastIteration = this.now() / 1000;
    this.text = renderAgentMetrics(s);
    if (config.textfile) {
      try {
        writeTextfile(config.textfile, this.text);
      } catch (err) {
        logger.warn({ path: config.textfile, err: (err as Error).message }, 'cannot write the metrics textfile');
      }
    }
    if (!answer.error || answer.stale) this.iterated = true;
  }

  /** Logs a task's problem the first time it is seen (until the task goes). */
  private reportOnce(taskId: string, key: string, log: () => void): void {
    let seen = this.reported.get(taskId);
    if (!seen) this.reported.set(taskId, (seen = new Set()));
    if (seen.has(key)) return;
    seen.add(key);
    log();
  }

  private async measure(layout: CgroupLayout, t: Task): Promise<TaskMeasurements> {
    try {
      const { measurements, failures } = await measurePod(layout, podRefOf(t));
      for (const f of failures) {
        const metric = metricNameOf(f.metric);
        countReadError(this.state.counters, metric, f.reason);
        this.reportOnce(t.id, `${metric}|${f.reason}`, () =>
          this.o.logger.warn({ task: t.name, taskId: t.id, metric, path: f.path, reason: f.reason, err: f.message }, 'cannot read a measurement'),
        );
      }
      return measurements;
    } catch (err) {
      // A pod the cgroup module refuses outright (an id that is not a UUID, …): no metric at all.
      countReadError(this.state.counters, 'task', 'other');
      this.reportOnce(t.id, 'task|other', () => this.o.logger.warn({ task: t.name, taskId: t.id, err: (err as Error).message }, 'cannot measure the task'));
      return {};
    }
  }

  private async allocate(layout: CgroupLayout, reports: TaskReport[]): Promise<void> {
    const started = performance.now();
    const { config, logger } = this.o;
    const opts = { sharesUnit: config.allocation.sharesUnit };
    const desired = this.allocator!.allocate(reports.map((r) => r.task));
    let count = 0;
    let ignored = 0;
    let node;
    try {
      node = await readNodeTopology(layout);
    } catch (err) {
      for (const d of desired.values()) ignored += Object.keys(d).length;
      this.state.counters.allocationErrors += ignored;
      logger.warn({ err: (err as Error).message }, "cannot read the node's CPUs and memory nodes; no allocation applied");
      this.state.allocation = { count: ignored, ignored, durationSeconds: (performance.now() - started) / 1000 };
      return;
    }
    await eachLimited(reports, MEASURE_CONCURRENCY, async (r) => {
      const want = desired.get(r.task.id);
      if (!want) return;
      const n = Object.keys(want).length;
      count += n;
      const pod = podRefOf(r.task);
      try {
        const result = await applyAllocation(layout, pod, want, node, opts);
        this.state.counters.allocationWrites += result.written.length;
        for (const w of result.written) logger.debug({ task: r.task.name, type: w.type, path: w.path, value: w.value }, 'allocation applied');
        ignored += result.failures.length;
        this.state.counters.allocationErrors += result.failures.length;
        for (const f of result.failures) {
          this.reportOnce(r.task.id, `allocation|${f.type}|${f.message}`, () =>
            logger.warn({ task: r.task.name, taskId: r.task.id, type: f.type, path: f.path, err: f.message }, 'cannot apply an allocation'),
          );
        }
        const key = JSON.stringify(want);
        const before = this.applied.get(r.task.id);
        if (result.written.length === 0 && result.failures.length === 0 && before?.desired === key) {
          r.allocation = before.held;
        } else {
          // Only the types the allocator manages: the others are the kubelet's, and may change unseen.
          const held = await readAllocation(layout, pod, node, opts);
          r.allocation = Object.fromEntries(Object.keys(want).map((k) => [k, held[k as keyof Allocation]])) as Allocation;
          this.applied.set(r.task.id, { desired: key, held: r.allocation });
        }
      } catch (err) {
        this.applied.delete(r.task.id);
        ignored += n;
        this.state.counters.allocationErrors += n;
        this.reportOnce(r.task.id, `allocation|${(err as Error).message}`, () =>
          logger.warn({ task: r.task.name, taskId: r.task.id, err: (err as Error).message }, 'cannot apply the allocation of the task'),
        );
        r.allocation = undefined;
      }
    });
    this.state.allocation = { count, ignored, durationSeconds: (performance.now() - started) / 1000 };
  }
}
