// Typed errors of the stack. Datapath code never throws: it counts a drop. Only API misuse (bad
// arguments, impossible configuration) and socket-level failures surface as StackError.

export type StackErrorCode =
  /** A constructor or method argument outside what the function accepts. */
  | 'STACK_ARG'
  /** A bounded structure (timer heap, neighbour cache) is full and cannot take more. */
  | 'STACK_FULL'
  /** Operation on a closed or wrong-state object. */
  | 'STACK_STATE';

export class StackError extends Error {
  override readonly name = 'StackError';
  constructor(
    readonly code: StackErrorCode,
    message: string,
    /** The byte offset at fault, where one exists. */
    readonly offset?: number,
  ) {
    super(message);
  }
}

/** node:net-style error codes carried by socket errors. */
export type NetErrorCode =
  | 'ECONNREFUSED'
  | 'ECONNRESET'
  | 'ETIMEDOUT'
  | 'EADDRINUSE'
  | 'EADDRNOTAVAIL'
  | 'EHOSTUNREACH'
  | 'ENETUNREACH'
  | 'EPIPE'
  | 'ECONNABORTED'
  | 'ERR_SOCKET_CLOSED';

/** A socket-level failure, shaped like node's system errors (`code`, `syscall`). */
export class NetError extends Error {
  override readonly name = 'NetError';
  constructor(
    readonly code: NetErrorCode,
    readonly syscall: string,
    message: string = `${syscall} ${code}`,
  ) {
    super(message);
  }
}
