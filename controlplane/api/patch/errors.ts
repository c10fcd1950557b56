// The errors the patch engines raise, in Kubernetes' terms: a body the server
// cannot read as a patch is 400 BadRequest; a well-formed patch that does not
// apply to the object is 422 Invalid (what the apiserver answers for a failed
// JSON patch `test` or a missing path).

import { ApiError } from '../status.js';

export function badPatch(message: string): ApiError {
  return new ApiError('BadRequest', message);
}

export function patchNotApplicable(message: string, field = 'patch'): ApiError {
  return new ApiError('Invalid', message, {
    causes: [{ reason: 'FieldValueInvalid', message, field }],
  });
}
