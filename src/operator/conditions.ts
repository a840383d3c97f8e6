/** Status conditions written as `metav1.Condition` is: the transition time moves only when the status does. */
import type { Condition } from '../api/index.ts';
import { sameJson } from '../kube/index.ts';

export type ConditionUpdate = Pick<Condition, 'type' | 'status' | 'reason' | 'message'>;

/**
 * The conditions after setting each of `updates`, keeping a condition's lastTransitionTime when its
 * status is unchanged. Types not in `updates` are dropped: each reconcile states all of them.
 */
export function mergeConditions(previous: Condition[] | undefined, updates: ConditionUpdate[], generation: number | undefined, now: string): Condition[] {
  return updates.map((u) => {
    const old = previous?.find((c) => c.type === u.type);
    const condition: Condition = { type: u.type, status: u.status };
    if (u.reason) condition.reason = u.reason;
    if (u.message) condition.message = u.message;
    condition.lastTransitionTime = old && old.status === u.status && old.lastTransitionTime ? old.lastTransitionTime : now;
    if (generation !== undefined) condition.observedGeneration = generation;
    return condition;
  });
}

export function findCondition(conditions: Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/**
 * Conditions equal but for their transition times: whether a status write would change anything.
 * By content: the server answers with each condition's keys in its own order, not the writer's.
 */
export function sameConditions(a: Condition[] | undefined, b: Condition[] | undefined): boolean {
  const strip = (cs: Condition[] | undefined) => (cs ?? []).map(({ lastTransitionTime: _t, ...rest }) => rest);
  return sameJson(strip(a), strip(b));
}

/** Seconds-precision RFC 3339, as `metav1.Time` is serialized. */
export function nowRFC3339(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}
