/**
 * The short stable names controllers derive from a pod template: `pod-template-hash` of a
 * ReplicaSet, `controller-revision-hash` of a StatefulSet or DaemonSet. Like the real ones, an
 * FNV-1a 32-bit hash whose decimal digits are spelled in Kubernetes' name alphabet
 * (`rand.SafeEncodeString`), so `web-5b7c99c557` looks as it would on a real cluster.
 */
import { canonicalJson, NAME_SUFFIX_ALPHABET } from '../../kube/index.ts';

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
