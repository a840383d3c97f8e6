/**
 * Leader election on a `coordination.k8s.io/v1` Lease, with client-go's semantics so that KRE's
 * parts can share a Lease with Go controllers and behave as operators expect:
 * - a candidate takes the Lease when it is free (no holder) or when its holder has not renewed it
 *   for `leaseDurationSeconds`, measured on the candidate's own clock from when it last saw the
 *   record change (never by comparing clocks across machines);
 * - every write is an update at the read resourceVersion, so two candidates cannot both win;
 * - the leader renews every `retryPeriod`; if it cannot renew within `renewDeadline` it stops
 *   leading, before the others may take over (renewDeadline < leaseDuration);
 * - on a clean stop the leader clears `holderIdentity`, so another candidate takes over at once.
 */
import type { Logger } from 'pino';
import { isAlreadyExists, isConflict, isNotFound, type KubeClient, type KubeObject, type ResourceRef } from './client.ts';
import { sleep } from './sleep.ts';
import { LEASES } from './resources.ts';


export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

export interface Lease extends KubeObject {
  spec?: LeaseSpec;
}

export interface LeaderElectionOptions {
  client: KubeClient;
  namespace: string;
  /** The Lease's name: one per thing being led (for example `kre-operator`). */
  name: string;
  /** This candidate, unique among candidates (pod name plus a random suffix, typically). */
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  /** Clear the holder when stopping while leading (default true). */
  releaseOnStop?: boolean;
  /** Called on becoming leader; `signal` aborts when leadership ends, for whatever reason. */
  onStartedLeading(signal: AbortSignal): void | Promise<void>;
  onStoppedLeading?(): void;
  /** Called when the observed holder changes (including to this candidate). */
  onNewLeader?(identity: string): void;
  logger?: Logger;
}

/**
 * A MicroTime as the API writes it: RFC 3339 with exactly six fractional digits. A real server
 * rejects the three digits of `toISOString()` in a Lease.
 */
export function microTime(date = new Date()): string {
  const micros = Math.floor((performance.timeOrigin + performance.now()) * 1000) % 1000;
  return `${date.toISOString().slice(0, 23)}${String(micros).padStart(3, '0')}Z`;
}

export class LeaderElector {
  private readonly opts: Required<Pick<LeaderElectionOptions, 'leaseDurationMs' | 'renewDeadlineMs' | 'retryPeriodMs'>> & LeaderElectionOptions;
  private readonly ref: ResourceRef & { name: string };
  /** The Lease as last read or written, and when (our clock) its record last changed. */
  private observed: Lease | undefined;
  private observedAt = 0;
  private observedHolder: string | undefined;
  private leading: AbortController | undefined;
  private stopped = false;
  private readonly stopController = new AbortController();
  private running: Promise<void> | undefined;

  constructor(opts: LeaderElectionOptions) {
    this.opts = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000, ...opts };
    if (this.opts.renewDeadlineMs >= this.opts.leaseDurationMs) throw new Error('leaseDuration must be greater than renewDeadline');
    if (this.opts.retryPeriodMs >= this.opts.renewDeadlineMs) throw new Error('renewDeadline must be greater than retryPeriod');
    if (!opts.identity) throw new Error('leader election needs an identity');
    this.ref = { ...LEASES, namespace: opts.namespace, name: opts.name };
  }

  isLeader(): boolean {
    return this.leading !== undefined && !this.leading.signal.aborted;
  }

  /** The holder last seen on the Lease ('' when free). */
  getLeader(): string | undefined {
    return this.observedHolder;
  }

  /**
   * Campaigns until it leads, leads until it loses the Lease or is stopped, then resolves.
   * Losing leadership is final for this run: a program usually exits then, as client-go's do.
   */
  run(): Promise<void> {
    this.running ??= this.campaignAndLead();
    return this.running;
  }

  /** Stops campaigning or leading; releases the Lease if leading (unless `release` is false). */
  async stop(opts: { release?: boolean } = {}): Promise<void> {
    if (this.stopped) return this.running;
    this.stopped = true;
    const wasLeading = this.isLeader();
    this.stopController.abort();
    await this.running;
    if (wasLeading && (opts.release ?? this.opts.releaseOnStop ?? true)) await this.release();
  }

  private async campaignAndLead(): Promise<void> {
    while (!this.stopped) {
      if (await this.tryAcquireOrRenew()) break;
      await this.sleep(this.opts.retryPeriodMs * (1 + Math.random() * 0.2));
    }
    if (this.stopped) return;
    this.leading = new AbortController();
    this.opts.logger?.info({ lease: this.opts.name, identity: this.opts.identity }, 'started leading');
    try {
      void Promise.resolve(this.opts.onStartedLeading(this.leading.signal)).catch((err) =>
        this.opts.logger?.error({ err, lease: this.opts.name }, 'onStartedLeading failed'),
      );
    } catch (err) {
      this.opts.logger?.error({ err, lease: this.opts.name }, 'onStartedLeading failed');
    }
    await this.renewUntilLost();
    this.leading.abort();
    this.opts.logger?.info({ lease: this.opts.name, identity: this.opts.identity, stopped: this.stopped }, 'stopped leading');
    this.opts.onStoppedLeading?.();
  }

  /** Renews every retryPeriod; returns when stopped or when no renewal succeeded within renewDeadline. */
  private async renewUntilLost(): Promise<void> {
    let lastRenewal = Date.now();
    while (!this.stopped) {
      await this.sleep(this.opts.retryPeriodMs);
      if (this.stopped) return;
      const attemptStarted = Date.now();
      const left = lastRenewal + this.opts.renewDeadlineMs - attemptStarted;
      const renewed = left > 0 && (await withDeadline(this.tryAcquireOrRenew(), left, false));
      if (renewed) lastRenewal = attemptStarted;
      else if (Date.now() - lastRenewal >= this.opts.renewDeadlineMs) {
        this.opts.logger?.warn({ lease: this.opts.name, renewDeadlineMs: this.opts.renewDeadlineMs }, 'could not renew the lease in time');
        return;
      }
    }
  }

  /** One round of client-go's tryAcquireOrRenew: true when this candidate holds the Lease now. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const { client, identity } = this.opts;
    const now = new Date();
    const leaseDurationSeconds = Math.ceil(this.opts.leaseDurationMs / 1000);
    let lease: Lease;
    try {
      lease = await client.get<Lease>(this.ref);
    } catch (err) {
      if (!isNotFound(err)) return this.failed(err, 'could not read the lease');
      try {
        const created = await client.create<Lease>(this.ref, {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: this.opts.name, namespace: this.opts.namespace },
          spec: { holderIdentity: identity, leaseDurationSeconds, acquireTime: microTime(now), renewTime: microTime(now), leaseTransitions: 0 },
        });
        this.observe(created);
        return true;
      } catch (createErr) {
        return isAlreadyExists(createErr) ? false : this.failed(createErr, 'could not create the lease');
      }
    }
    this.observe(lease);
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const validUntil = this.observedAt + (spec.leaseDurationSeconds ?? leaseDurationSeconds) * 1000;
    if (holder !== '' && holder !== identity && validUntil > Date.now()) return false;

    const mine = holder === identity;
    const updated: Lease = {
      ...lease,
      metadata: { ...lease.metadata, managedFields: undefined },
      spec: {
        ...spec,
        holderIdentity: identity,
        leaseDurationSeconds,
        acquireTime: mine && spec.acquireTime ? spec.acquireTime : microTime(now),
        renewTime: microTime(now),
        leaseTransitions: mine ? (spec.leaseTransitions ?? 0) : (spec.leaseTransitions ?? 0) + 1,
      },
    };
    try {
      this.observe(await client.update<Lease>(this.ref, updated));
      return true;
    } catch (err) {
      // Another candidate wrote first: it wins this round.
      return isConflict(err) ? false : this.failed(err, 'could not update the lease');
    }
  }

  /** Clears the holder so that another candidate need not wait for the Lease to expire. */
  private async release(): Promise<void> {
    const lease = this.observed;
    if (!lease || lease.spec?.holderIdentity !== this.opts.identity) return;
    const now = microTime();
    try {
      this.observe(
        await this.opts.client.update<Lease>(this.ref, {
          ...lease,
          spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, acquireTime: now, renewTime: now },
        }),
      );
      this.opts.logger?.info({ lease: this.opts.name, identity: this.opts.identity }, 'released the lease');
    } catch (err) {
      this.failed(err, 'could not release the lease');
    }
  }

  /** Remembers the Lease; a changed record restarts the expiry clock (observed on our own clock). */
  private observe(lease: Lease): void {
    const before = this.observed?.spec;
    const after = lease.spec ?? {};
    if (!before || before.holderIdentity !== after.holderIdentity || before.renewTime !== after.renewTime) this.observedAt = Date.now();
    this.observed = lease;
    const holder = after.holderIdentity ?? '';
    if (holder !== this.observedHolder) {
      this.observedHolder = holder;
      if (holder) this.opts.onNewLeader?.(holder);
    }
  }

  private failed(err: unknown, what: string): false {
    this.opts.logger?.warn({ err, lease: this.opts.name }, what);
    return false;
  }

  private sleep(ms: number): Promise<void> {
    return sleep(ms, this.stopController.signal);
  }

}

/** The promise's value, or `fallback` if it does not settle within `ms`. */
function withDeadline<T>(p: Promise<T>, ms: number, fallback: T): Promise<T> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(fallback), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      () => {
        clearTimeout(timer);
        resolve(fallback);
      },
    );
  });
}

export interface CampaignOptions extends Omit<LeaderElectionOptions, 'onStoppedLeading'> {
  /**
   * Asked before each election: while it says no, the candidate does not stand (for example a
   * replica that cannot reach the store a leader writes to). Asked again every `mayCampaignPollMs`.
   */
  mayCampaign?(): boolean;
  mayCampaignPollMs?: number;
  /**
   * Called when a term ends (the Lease lost, or stopping) and awaited before standing again, so
   * that one term's work has wound down before the next can begin.
   */
  onStoppedLeading?(): void | Promise<void>;
}

/**
 * Stands for election again and again until stopped: a LeaderElector runs one term, after which a
 * long-running part (operator, monitor) wants to stand again rather than exit.
 */
export class Campaign {
  private stopped = false;
  private elector: LeaderElector | undefined;
  private readonly stopController = new AbortController();
  private readonly done: Promise<void>;

  constructor(private readonly opts: CampaignOptions) {
    this.done = this.standUntilStopped();
  }

  isLeader(): boolean {
    return this.elector?.isLeader() ?? false;
  }

  /** Stops standing; ends a term in progress (releasing the Lease unless `release` is false) and waits for its end. */
  async stop(opts: { release?: boolean } = {}): Promise<void> {
    this.stopped = true;
    this.stopController.abort();
    await this.elector?.stop(opts);
    await this.done;
  }

  private async standUntilStopped(): Promise<void> {
    const { mayCampaign, mayCampaignPollMs = 200, onStoppedLeading, ...electorOpts } = this.opts;
    while (!this.stopped) {
      while (!this.stopped && mayCampaign && !mayCampaign()) await sleep(mayCampaignPollMs, this.stopController.signal);
      if (this.stopped) return;
      this.elector = new LeaderElector(electorOpts);
      await this.elector.run();
      await onStoppedLeading?.();
    }
  }
}
