/**
 * The path both reconcilers end in: apply what was rendered and delete what no longer is, then
 * state the outcome in the status — and in an Event when something new happened — so that
 * `kubectl describe` says what is wrong, never only the operator's log.
 *
 * A status is written only when its content differs from the cached one (the server answers with
 * keys in its own order, so the order never counts), so a reconcile of an unchanged object costs
 * no write; an event is recorded only with a status change that it tells of, so a
 * resource stuck in one state does not fill the namespace with events.
 */
import type { Logger } from 'pino';
import {
  isNotFound,
  KubeApiError,
  sameJson,
  TerminalError,
  updateStatusWithRetry,
  type KubeClient,
  type KubeObject,
  type ResourceType,
} from '../kube/index.ts';
import type { Condition, SpecProblem } from '../api/index.ts';
import { FIELD_MANAGER, type ChildWriter } from './children.ts';
import { findCondition, mergeConditions, nowRFC3339, sameConditions, type ConditionUpdate } from './conditions.ts';
import type { EventRecorder, EventType } from './events.ts';

/** An event to record with a status write. */
export interface StatusEvent {
  type: EventType;
  reason: string;
  message: string;
  /** Recorded when this condition's status, reason or message changes; without one, when the phase does. */
  condition?: string;
}

export interface StatusUpdate {
  phase: string;
  /** The kind's other status fields (`ready`, `published`, …); undefined ones are left out. */
  fields?: Record<string, unknown>;
  /** Every condition the object has: types not listed are dropped. */
  conditions: ConditionUpdate[];
  events?: StatusEvent[];
}

/** What a reconcile applies: `desired` in order, then `obsolete` deleted. */
export interface ChildChanges {
  desired: KubeObject[];
  obsolete: KubeObject[];
  /** The status when the server refuses a rendered child (422): only a new spec can help, so no retry. */
  rejected: (message: string) => StatusUpdate;
}

interface StatusFields {
  phase?: string;
  observedGeneration?: number;
  conditions?: Condition[];
  [field: string]: unknown;
}

export interface StatusWriterDeps {
  client: KubeClient;
  writer: ChildWriter;
  events: EventRecorder;
  /** The custom resource whose status is written. */
  resource: ResourceType & { kind: string };
}

export class StatusWriter {
  constructor(private readonly deps: StatusWriterDeps) {}

  /**
   * Applies the children; says in the status and an event when the server refuses one. A refusal
   * ends in a TerminalError, anything else is thrown for a retry.
   */
  async applyChildren(owner: KubeObject, changes: ChildChanges, log: Logger): Promise<void> {
    const written: string[] = [];
    try {
      for (const obj of changes.desired) {
        // A child applied again although its rendering is unchanged was edited behind the operator.
        let changed = '';
        if (await this.deps.writer.ensure(obj, (d) => (changed = ` (set back ${d.path})`))) written.push(`${obj.kind} ${obj.metadata.name}${changed}`);
      }
      for (const child of changes.obsolete) {
        await this.deps.writer.remove(child);
        written.push(`deleted ${child.kind} ${child.metadata.name}`);
      }
    } catch (err) {
      if (err instanceof Error && err.cause instanceof KubeApiError && err.cause.code === 422) {
        await this.fail(owner, changes.rejected(err.message));
      }
      await this.deps.events.record(owner, 'Warning', 'ApplyFailed', (err as Error).message);
      throw err;
    }
    if (written.length > 0) {
      log.info({ objects: written }, 'applied children');
      await this.deps.events.record(owner, 'Normal', 'Applied', written.join(', '));
    }
  }

  /** Writes a status that only a change of the object can cure, and stops retrying it. */
  async fail(obj: KubeObject, update: StatusUpdate): Promise<never> {
    await this.write(obj, update);
    throw new TerminalError(`${this.deps.resource.kind} ${obj.metadata.namespace}/${obj.metadata.name}: ${update.events?.[0]?.message ?? update.phase}`);
  }

  /** Writes the status when it differs from the cached one, then records the events it tells of. */
  async write(obj: KubeObject, update: StatusUpdate): Promise<void> {
    const generation = obj.metadata.generation;
    const old = (obj.status ?? {}) as StatusFields;
    const now = nowRFC3339();
    const fields = Object.fromEntries(Object.entries(update.fields ?? {}).filter(([, v]) => v !== undefined));
    const next: StatusFields = { ...fields, phase: update.phase, observedGeneration: generation, conditions: mergeConditions(old.conditions, update.conditions, generation, now) };
    const { conditions: oldConditions, ...oldRest } = old;
    const { conditions: nextConditions, ...nextRest } = next;
    if (sameJson(oldRest, nextRest) && sameConditions(oldConditions, nextConditions)) return;
    try {
      await updateStatusWithRetry(
        this.deps.client,
        { ...this.deps.resource, namespace: obj.metadata.namespace, name: obj.metadata.name ?? '' },
        (fresh) => {
          fresh.status = { ...next, conditions: mergeConditions((fresh.status as StatusFields | undefined)?.conditions, update.conditions, generation, now) };
        },
        { fieldManager: FIELD_MANAGER },
      );
    } catch (err) {
      if (isNotFound(err)) return;
      throw new Error(`could not write the status of ${this.deps.resource.kind} ${obj.metadata.name}: ${(err as Error).message}`, { cause: err });
    }
    for (const event of update.events ?? []) {
      const news = event.condition ? conditionChanged(old.conditions, next.conditions, event.condition) : old.phase !== next.phase;
      if (news) await this.deps.events.record(obj, event.type, event.reason, event.message);
    }
  }
}

/** Problems with a spec as one message, `field: what is wrong; …`. */
export function problemsMessage(problems: SpecProblem[]): string {
  return problems.map((p) => `${p.field}: ${p.message}`).join('; ');
}

function conditionChanged(before: Condition[] | undefined, after: Condition[] | undefined, type: string): boolean {
  const a = findCondition(before, type);
  const b = findCondition(after, type);
  return a?.status !== b?.status || a?.reason !== b?.reason || a?.message !== b?.message;
}
