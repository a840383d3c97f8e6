/**
 * The verifier of one resource: a complete paginated list every `everyMs`, handed to the store as
 * the new verified view. It lists on its own (not through the stream's state) because its whole
 * value is to be independent of what the stream did or did not deliver.
 */
import type { Logger } from 'pino';
import { listAllTracked, type ListTarget } from './kube-calls.ts';
import type { Corrections, MonitorStore } from './store.ts';

export interface VerifierStats {
  verifications: number;
  failures: number;
  corrected: Corrections;
  lastDurationMs: number;
}

export interface VerifierOptions extends Omit<ListTarget, 'signal'> {
  store: MonitorStore;
  everyMs: number;
  logger?: Logger;
  onVerified?(corrections: Corrections, resourceVersion: string): void;
}

export class Verifier {
  readonly stats: VerifierStats = { verifications: 0, failures: 0, corrected: { missedAdds: 0, ghosts: 0, staleVersions: 0 }, lastDurationMs: 0 };
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private inFlight: Promise<Corrections | undefined> | undefined;
  private readonly abort = new AbortController();

  constructor(private readonly o: VerifierOptions) {}

  /** Verifies now, then every `everyMs` after each verification ends. */
  start(): Promise<Corrections | undefined> {
    const first = this.verifyNow();
    void first.finally(() => this.schedule());
    return first;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.abort.abort();
    await this.inFlight?.catch(() => undefined);
  }

  /** One verification (joins the one running, if any); undefined when the list failed. */
  verifyNow(): Promise<Corrections | undefined> {
    this.inFlight ??= this.verify().finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.verifyNow().finally(() => this.schedule()), this.o.everyMs);
  }

  private async verify(): Promise<Corrections | undefined> {
    const listedAt = Date.now();
    try {
      const { items, resourceVersion } = await listAllTracked({ ...this.o, signal: this.abort.signal });
      if (this.stopped) return undefined;
      const corrections = await this.o.store.verified(this.o.id, { items, resourceVersion, listedAt });
      this.stats.verifications++;
      this.stats.lastDurationMs = Date.now() - listedAt;
      for (const k of ['missedAdds', 'ghosts', 'staleVersions'] as const) this.stats.corrected[k] += corrections[k];
      if (corrections.missedAdds || corrections.ghosts || corrections.staleVersions) {
        this.o.logger?.info({ resource: this.o.id, resourceVersion, ...corrections }, 'verification corrected the aggregated view');
      }
      this.o.onVerified?.(corrections, resourceVersion);
      return corrections;
    } catch (err) {
      if (this.stopped) return undefined;
      this.stats.failures++;
      this.o.logger?.warn({ resource: this.o.id, err: (err as Error).message }, 'verification list failed');
      return undefined;
    }
  }
}
