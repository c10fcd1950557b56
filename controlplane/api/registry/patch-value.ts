// One switch from a patch's content type to its engine, shared by object and
// scale patches. Server-side apply is not a pure function of two values
// (it needs field ownership), so it is handled by Registry.apply instead.

import { ApiError } from '../status.js';
import { applyJsonPatch, applyMergePatch, applyStrategicMergePatch } from '../patch/index.js';

export type PatchType = 'json' | 'merge' | 'strategic' | 'apply';

export function patchValue(
  type: PatchType,
  target: unknown,
  patch: unknown,
  kind: string,
): unknown {
  switch (type) {
    case 'json':
      return applyJsonPatch(target, patch);
    case 'merge':
      return applyMergePatch(target, patch);
    case 'strategic':
      return applyStrategicMergePatch(target, patch, kind);
    case 'apply':
      throw new ApiError('UnsupportedMediaType', `apply patches are not supported on ${kind}`);
  }
}
