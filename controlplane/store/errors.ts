// Store failures as one class with a discriminating `type`, mapped from etcd's
// answers at the boundary (etcd-store.ts) and to Kubernetes Status in the API.

export type StoreErrorType =
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'PreconditionFailed'
  | 'Expired'
  | 'InvalidContinue'
  | 'Unavailable';

export class StoreError extends Error {
  override readonly name = 'StoreError';
  constructor(
    readonly type: StoreErrorType,
    readonly key: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** True when the same call may succeed if repeated (etcd not reachable right now). */
  get retryable(): boolean {
    return this.type === 'Unavailable';
  }
}
