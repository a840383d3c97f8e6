/**
 * JSON values compared as Kubernetes compares them: by content, whatever the order of their keys.
 * A real API server answers with keys in its own order (a custom resource's maps sorted, a built-in
 * kind's fields in Go struct order), never in the order a client wrote them; a comparison of
 * `JSON.stringify` texts would see a change in every object read back.
 */

/** A copy of `value` whose objects have their keys sorted, at every depth; undefined members are left out. */
export function withSortedKeys<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v) => withSortedKeys(v)) as T;
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const member = (value as Record<string, unknown>)[key];
      if (member !== undefined) out[key] = withSortedKeys(member);
    }
    return out as T;
  }
  return value;
}

/** JSON with keys sorted: two values are the same JSON exactly when their texts are equal. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(withSortedKeys(value ?? null));
}

/** Whether two values are the same JSON (undefined members count as absent, key order does not count). */
export function sameJson(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}
