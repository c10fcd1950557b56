// etcd process failures as one class with a discriminating `type`, like
// store/errors.ts: the supervisor retries on 'AddressInUse', callers report the rest.

export type EtcdErrorType =
  /** The binary could not be started at all (missing, not executable). */
  | 'SpawnFailed'
  /** etcd could not bind its client or peer port. */
  | 'AddressInUse'
  /** etcd exited before it became healthy. */
  | 'Exited'
  /** etcd kept running but did not report healthy in time. */
  | 'Timeout';

export class EtcdError extends Error {
  override readonly name = 'EtcdError';
  constructor(
    readonly type: EtcdErrorType,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
