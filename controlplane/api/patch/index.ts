// The patch engines of the API server: pure functions from (object, patch)
// to object, one per content type. README.md says which is used where.

export { applyMergePatch } from './merge-patch.js';
export { applyJsonPatch } from './json-patch.js';
export { applyStrategicMergePatch } from './strategic-merge-patch.js';
export { serverSideApply, updateManagedFields, applyConflictError } from './apply.js';
export type { ApplyConflict, ServerSideApplyArgs, UpdateManagedFieldsArgs } from './apply.js';
