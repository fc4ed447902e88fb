// Typed errors of the composition root.
export type UnikernelErrorCode =
  /** A boot option is malformed (address, prefix, mode). */
  | 'BAD_OPTION'
  /** Duplicate address detection found our IPv6 address in use on the link. */
  | 'IPV6_DUPLICATE'
  /** Duplicate address detection did not finish in time (a stack or timer problem). */
  | 'IPV6_DAD_TIMEOUT'
  /** shutdown() already ran. */
  | 'SHUT_DOWN'
  /** mode 'worker': the sync loop's worker thread could not start (the worker's error is `cause`). */
  | 'WORKER_START'
  /** A unikernel worker's thread died while running (its error, if any, is `cause`). */
  | 'WORKER_FAILED'
  /** A request to a unikernel worker failed there (the worker's error, class name and code, is `cause`). */
  | 'WORKER_REQUEST';

export class UnikernelError extends Error {
  constructor(
    readonly code: UnikernelErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${code}: ${message}`, options);
    this.name = 'UnikernelError';
  }
}
