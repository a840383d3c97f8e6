/**
 * Every PATCH the devcluster's API server accepts, as pure functions of the stored object: the
 * patch type comes from the request's Content-Type, json/merge/strategic patches return the
 * patched object, server-side apply returns it with `managedFields`, and `trackUpdate` records
 * ownership for the other writes so that later applies conflict with the right manager.
 */
import { ApiError } from '../errors.ts';
import { applyJsonPatch } from './json-patch.ts';
import { applyMergePatch } from './merge-patch.ts';
import { applyStrategicMergePatch } from './strategic-merge.ts';

export { serverSideApply, trackUpdate, type ApplyOptions, type WriteOptions } from './server-side-apply.ts';
export { managerName } from './managed-fields.ts';

export type PatchType = 'json' | 'merge' | 'strategic' | 'apply';

const MEDIA_TYPES: Record<string, PatchType> = {
  'application/json-patch+json': 'json',
  'application/merge-patch+json': 'merge',
  'application/strategic-merge-patch+json': 'strategic',
  'application/apply-patch+yaml': 'apply',
};

/** A 415 listing the patch types accepted, as kube-apiserver answers an unknown or refused one. */
function unsupportedPatchType(accepted: string[]): ApiError {
  return new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`);
}

export function patchTypeOf(contentType: string): PatchType {
  const mediaType = contentType.split(';')[0].trim().toLowerCase();
  const type = MEDIA_TYPES[mediaType];
  if (!type) throw unsupportedPatchType(Object.keys(MEDIA_TYPES));
  return type;
}

export interface PatchOptions {
  kind: string;
  apiVersion: string;
  isCustom: boolean;
}

/** Applies a json, merge or strategic merge patch to a copy of `current`. */
export function applyPatch(type: Exclude<PatchType, 'apply'>, current: unknown, patch: unknown, opts: PatchOptions): any {
  switch (type) {
    case 'json':
      return applyJsonPatch(current, patch);
    case 'merge':
      return applyMergePatch(current, patch);
    case 'strategic':
      if (opts.isCustom) {
        // Custom resources have no merge keys; kube-apiserver refuses the type and kubectl then
        // falls back to a merge patch.
        throw unsupportedPatchType(Object.keys(MEDIA_TYPES).filter((t) => MEDIA_TYPES[t] !== 'strategic'));
      }
      return applyStrategicMergePatch(current, patch, opts.kind);
  }
}
