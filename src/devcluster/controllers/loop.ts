/**
 * A work queue and its workers over the shared informers: what the kube core's Controller does,
 * for controllers that read several shared caches instead of owning reflectors of their own.
 * Errors back off per key; `requeueAfter` polls what has no event (minReadySeconds, a probe delay).
 */
import type { Logger } from 'pino';
import { WorkQueue, isConflict, isNotFound } from '../../kube/index.ts';

export type ReconcileFn = (key: string) => Promise<{ requeueAfter?: number } | void>;

export class ControlLoop {
  readonly queue = new WorkQueue<string>({ baseDelayMs: 50, maxDelayMs: 30_000 });
  private running: Promise<void> | undefined;

  constructor(
    readonly name: string,
    private readonly reconcile: ReconcileFn,
    private readonly log: Logger,
    private readonly workers = 4,
  ) {}

  enqueue(key: string): void {
    this.queue.add(key);
  }

  start(): void {
    this.running = this.queue.run(this.workers, async (key) => {
      try {
        const result = await this.reconcile(key);
        this.queue.forget(key);
        if (result?.requeueAfter) this.queue.addAfter(key, result.requeueAfter);
      } catch (err) {
        // A conflict or a vanished object means the cache was behind: try again soon, quietly.
        if (!isConflict(err) && !isNotFound(err)) this.log.warn({ controller: this.name, key, err }, 'reconcile failed; will retry');
        this.queue.addRateLimited(key);
      }
    });
  }

  async stop(): Promise<void> {
    await this.queue.shutdown();
    await this.running;
  }
}
