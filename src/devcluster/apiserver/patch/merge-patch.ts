/**
 * JSON merge patch (RFC 7386): objects merge key by key, `null` deletes a key, anything else
 * (arrays included) replaces. kubectl sends these for custom resources.
 */
import { errors } from '../errors.ts';
import { clone, isObject } from './json-value.ts';

export function applyMergePatch(document: unknown, patch: unknown): unknown {
  if (!isObject(patch)) {
    // A non-object patch replaces the document, which for an API object is never what was meant.
    throw errors.badRequest(`invalid JSON merge patch: the patch must be a JSON object, got ${Array.isArray(patch) ? 'an array' : JSON.stringify(patch)}`);
  }
  return mergeInto(clone(document), patch);
}

/** Merges `patch` into `target`, a copy this patch owns: changed in place, not copied again. */
function mergeInto(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return clone(patch);
  const out: Record<string, unknown> = isObject(target) ? target : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergeInto(Object.hasOwn(out, key) ? out[key] : undefined, value);
  }
  return out;
}
