/**
 * The short stable names controllers derive from a pod template: `pod-template-hash` of a
 * ReplicaSet, `controller-revision-hash` of a StatefulSet or DaemonSet. Like the real ones, an
 * FNV-1a 32-bit hash whose decimal digits are spelled in Kubernetes' name alphabet
 * (`rand.SafeEncodeString`), so `web-5b7c99c557` looks as it would on a real cluster.
 */
import { NAME_SUFFIX_ALPHABET } from '../../kube/index.ts';

/** JSON with keys sorted, so that equal templates hash equally whatever their key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

export function fnv32a(text: string): number {
  let hash = 0x811c9dc5;
  const bytes = Buffer.from(text, 'utf8');
  for (const b of bytes) {
    hash ^= b;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

export function safeEncode(s: string): string {
  let out = '';
  for (const ch of s) out += NAME_SUFFIX_ALPHABET[ch.charCodeAt(0) % NAME_SUFFIX_ALPHABET.length];
  return out;
}

/** The hash of a pod template; `collisionCount` changes it when a name is already taken. */
export function templateHash(template: unknown, collisionCount = 0): string {
  const text = canonicalJson(template) + (collisionCount ? `#${collisionCount}` : '');
  return safeEncode(String(fnv32a(text)));
}
