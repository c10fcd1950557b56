// Why a pull failed, in the words a pod's container status uses: kubelet's
// waiting reasons "ErrImagePull" (the registry or the content let us down) and
// "InvalidImageName" (the reference cannot be parsed; retrying will not help).

export type ImagePullReason = 'ErrImagePull' | 'InvalidImageName';

export interface ImagePullErrorOptions {
  cause?: unknown;
  /** The registry's HTTP status, when it answered with an error. */
  status?: number;
  /** The registry's error code, e.g. MANIFEST_UNKNOWN, UNAUTHORIZED. */
  code?: string;
}

export class ImagePullError extends Error {
  override readonly name = 'ImagePullError';
  readonly status: number | undefined;
  readonly code: string | undefined;

  constructor(
    readonly reason: ImagePullReason,
    /** The image reference as the pod spec wrote it. */
    readonly ref: string,
    message: string,
    options: ImagePullErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.status = options.status;
    this.code = options.code;
  }

  /** False when pulling the same reference again cannot succeed (a bad name). */
  get retryable(): boolean {
    return this.reason === 'ErrImagePull';
  }
}
