// PKI failures as one class with a discriminating `type`, like store/errors.ts:
// callers (the join handshake, startup) branch on the type, never on the message.

export type PkiErrorType =
  /** A CSR that cannot be parsed, or whose signature does not verify. */
  | 'InvalidCsr'
  /** A CSR asking for a name other than the node it is presented for. */
  | 'WrongCommonName'
  /** A node name that cannot appear in a certificate subject. */
  | 'InvalidNodeName'
  /** A serving-certificate host that is neither a DNS name nor an IP address. */
  | 'InvalidHost'
  /** Files on disk that are unreadable, half-written or do not match each other. */
  | 'CorruptState';

export class PkiError extends Error {
  override readonly name = 'PkiError';
  constructor(
    readonly type: PkiErrorType,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
