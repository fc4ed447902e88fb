// Typed errors of the composition root.
export type UnikernelErrorCode =
  /** A boot option is malformed (address, prefix, mode). */
  | 'BAD_OPTION'
  /** The stack has no IPv6 yet: an IPv6 address cannot be configured. */
  | 'IPV6_UNSUPPORTED'
  /** shutdown() already ran. */
  | 'SHUT_DOWN';

export class UnikernelError extends Error {
  constructor(
    readonly code: UnikernelErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
    this.name = 'UnikernelError';
  }
}
