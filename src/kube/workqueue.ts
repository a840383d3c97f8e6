/**
 * The work queue between watch events and reconciles, with client-go's guarantees:
 * - a key waiting in the queue is there once, however many events named it (dedup);
 * - a key is never processed by two workers at once: added while being processed, it is marked
 *   dirty and queued again when that processing ends;
 * - failures back off per key (exponential, capped) until `forget`;
 * - `shutdown()` refuses new keys, drops the waiting ones and waits for those in flight.
 */

export interface WorkQueueOptions {
  /** Delay after the first failure of a key; it doubles with each further failure. */
  baseDelayMs?: number;
  /** Cap of the per-key delay. */
  maxDelayMs?: number;
}

export class WorkQueue<K = string> {
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  /**
   * Keys waiting for a worker, in order, from `head` on. An array with a moving head rather than a
   * Set: taking the first entry of a Set after many deletions scans the holes they leave.
   */
  private queue: K[] = [];
  private head = 0;
  /** Keys queued or to be queued again once their processing ends. */
  private readonly dirty = new Set<K>();
  private readonly processing = new Set<K>();
  private readonly failures = new Map<K, number>();
  private readonly delayed = new Map<K, { at: number; timer: NodeJS.Timeout }>();
  private readonly waiting: ((key: K | undefined) => void)[] = [];
  private idle: (() => void)[] = [];
  private closed = false;

  constructor(opts: WorkQueueOptions = {}) {
    this.baseDelayMs = opts.baseDelayMs ?? 5;
    this.maxDelayMs = opts.maxDelayMs ?? 1_000_000;
  }

  /** Keys waiting for a worker (not counting delayed ones or those in flight). */
  get length(): number {
    return this.queue.length - this.head;
  }

  get inFlight(): number {
    return this.processing.size;
  }

  get isShutDown(): boolean {
    return this.closed;
  }

  /** Queues a key; false once the queue is shut down. */
  add(key: K): boolean {
    if (this.closed) return false;
    if (this.dirty.has(key)) return true;
    this.dirty.add(key);
    if (this.processing.has(key)) return true; // queued again by done()
    this.push(key);
    return true;
  }

  /** Queues a key after a delay; an earlier pending delay for the key wins (as in client-go). */
  addAfter(key: K, ms: number): boolean {
    if (this.closed) return false;
    if (ms <= 0) return this.add(key);
    const at = Date.now() + ms;
    const pending = this.delayed.get(key);
    if (pending) {
      if (pending.at <= at) return true;
      clearTimeout(pending.timer);
    }
    const timer = setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, ms);
    this.delayed.set(key, { at, timer });
    return true;
  }

  /** Queues a key after its backoff, and counts one more failure for it. */
  addRateLimited(key: K): boolean {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    return this.addAfter(key, this.backoffFor(n));
  }

  /** The delay after the n-th consecutive failure (0-based). */
  backoffFor(failures: number): number {
    return Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** Math.min(failures, 62));
  }

  /** Ends the backoff of a key: its next failure starts again at the base delay. */
  forget(key: K): void {
    this.failures.delete(key);
  }

  numRequeues(key: K): number {
    return this.failures.get(key) ?? 0;
  }

  /**
   * The next key to process, waiting for one if needed; undefined once shut down. The caller owns
   * the key until it calls `done(key)`.
   */
  get(): Promise<K | undefined> {
    if (this.closed) return Promise.resolve(undefined);
    const key = this.take();
    if (key !== undefined) return Promise.resolve(key);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Ends the processing of a key; if it was added meanwhile, it is queued again. */
  done(key: K): void {
    this.processing.delete(key);
    if (this.dirty.has(key) && !this.closed) this.push(key);
    if (this.processing.size === 0) {
      const idle = this.idle;
      this.idle = [];
      for (const resolve of idle) resolve();
    }
  }

  /**
   * Runs `workers` loops that take keys and hand them to `process` until shutdown. `process` must
   * handle its own errors (the controller turns them into `addRateLimited`); one that escapes is
   * passed to `onError` so that a worker never dies.
   */
  async run(workers: number, process: (key: K) => Promise<void>, onError: (key: K, err: unknown) => void = () => {}): Promise<void> {
    const worker = async () => {
      for (;;) {
        const key = await this.get();
        if (key === undefined) return;
        try {
          await process(key);
        } catch (err) {
          onError(key, err);
        } finally {
          this.done(key);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, workers) }, worker));
  }

  /** Refuses new keys, drops waiting and delayed ones, and resolves when no key is in flight. */
  async shutdown(): Promise<void> {
    this.closed = true;
    for (const { timer } of this.delayed.values()) clearTimeout(timer);
    this.delayed.clear();
    this.queue = [];
    this.head = 0;
    this.dirty.clear();
    for (const resolve of this.waiting.splice(0)) resolve(undefined);
    if (this.processing.size > 0) await new Promise<void>((resolve) => this.idle.push(resolve));
  }

  private push(key: K): void {
    const waiter = this.waiting.shift();
    if (waiter) {
      this.dirty.delete(key);
      this.processing.add(key);
      waiter(key);
    } else {
      // A key is pushed only when it becomes dirty, so the array holds each key once.
      this.queue.push(key);
    }
  }

  private take(): K | undefined {
    if (this.head >= this.queue.length) return undefined;
    const key = this.queue[this.head++];
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    this.dirty.delete(key);
    this.processing.add(key);
    return key;
  }
}
