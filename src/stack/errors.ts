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

/** Why a stack snapshot was refused (docs/SNAPSHOT.md §5 lists each rule). */
export type SnapshotErrorCode =
  /** The first four bytes are not "PTNS". */
  | 'BAD_MAGIC'
  /** A format version this code does not read. */
  | 'BAD_VERSION'
  /** Fewer bytes than the header says. */
  | 'TRUNCATED'
  /** A length that does not match its content: the total, a section, a record or a queue. */
  | 'BAD_LENGTH'
  /** The CRC-32 over the snapshot does not match. */
  | 'BAD_CHECKSUM'
  /** An unknown, repeated or overlapping section. */
  | 'BAD_SECTION'
  /** A field outside the values it may take (a flag bit, a range, a non-finite number). */
  | 'BAD_FIELD'
  /** A connection state that is not carried, or FIN flags that contradict the state. */
  | 'BAD_STATE'
  /** Sequence numbers that contradict each other or the queues. */
  | 'BAD_SEQ'
  /** Two connections with one 4-tuple, two listeners or UDP sockets on one port. */
  | 'DUPLICATE_TUPLE'
  /** An address that does not parse, is not unicast, or is not the target stack's. */
  | 'BAD_ADDRESS'
  /** The target stack lacks what the snapshot needs (IPv6, the same MTU). */
  | 'MISMATCH'
  /** A 4-tuple or port of the snapshot is already in use on the target stack. */
  | 'IN_USE';

/** A snapshot that cannot be decoded or applied; nothing was changed on the target stack. */
export class SnapshotError extends Error {
  override readonly name = 'SnapshotError';
  constructor(
    readonly code: SnapshotErrorCode,
    message: string,
    /** The byte offset at fault, when decoding. */
    readonly offset?: number,
  ) {
    super(`${code}: ${message}`);
  }
}

/**
 * Linux errno values of the system-error codes (asm-generic/errno.h); node reports them negated
 * (`errno: -111` for ECONNREFUSED), as libuv does.
 */
export const NET_ERRNO = {
  EPIPE: 32,
  EACCES: 13,
  EBADF: 9,
  EINVAL: 22,
  EMSGSIZE: 90,
  EADDRINUSE: 98,
  EADDRNOTAVAIL: 99,
  ENETUNREACH: 101,
  ECONNABORTED: 103,
  ECONNRESET: 104,
  ETIMEDOUT: 110,
  ECONNREFUSED: 111,
  EHOSTUNREACH: 113,
} as const;

/** node:net-style error codes carried by socket errors: system errors, then node's own ERR_ codes. */
export type NetErrorCode =
  | keyof typeof NET_ERRNO
  | 'ERR_SOCKET_CLOSED'
  | 'ERR_SERVER_NOT_RUNNING'
  | 'ERR_SERVER_ALREADY_LISTEN'
  | 'ERR_SOCKET_BAD_PORT'
  | 'ERR_SOCKET_DGRAM_IS_CONNECTED'
  | 'ERR_SOCKET_DGRAM_NOT_CONNECTED'
  | 'ERR_SOCKET_DGRAM_NOT_RUNNING'
  | 'ERR_SOCKET_ALREADY_BOUND'
  | 'ERR_INVALID_ARG_TYPE'
  | 'ERR_INVALID_IP_ADDRESS';

export interface NetErrorDetails {
  /** The remote (connect, send) or local (listen, bind) address the call was about. */
  address?: string;
  port?: number;
  message?: string;
}

/**
 * A socket-level failure shaped like node's errors. System errors carry `code`, `errno` (negative,
 * as node: ECONNREFUSED is -111), `syscall` and, where node gives them, `address` and `port`;
 * the message is node's: `connect ECONNREFUSED 10.0.0.2:80`. node's own ERR_ codes carry no errno.
 */
export class NetError extends Error {
  override readonly name = 'NetError';
  readonly errno: number | undefined;
  /** The failing system call; undefined for node's own ERR_ codes, as in node. */
  readonly syscall: string | undefined;
  readonly address: string | undefined;
  readonly port: number | undefined;
  constructor(
    readonly code: NetErrorCode,
    syscall: string,
    details: string | NetErrorDetails = {},
  ) {
    const d = typeof details === 'string' ? { message: details } : details;
    const where =
      d.address === undefined ? '' : d.port === undefined ? ` ${d.address}` : ` ${d.address}:${d.port}`;
    super(d.message ?? `${syscall} ${code}${where}`);
    const n = (NET_ERRNO as Record<string, number>)[code];
    this.errno = n === undefined ? undefined : -n;
    this.syscall = n === undefined ? undefined : syscall;
    this.address = d.address;
    this.port = d.port;
  }

  /** The same error with the address and port of the call that failed (node's exceptionWithHostPort). */
  withHostPort(address: string, port: number): NetError {
    if (this.address !== undefined || this.syscall === undefined) return this;
    return new NetError(this.code, this.syscall, { address, port });
  }
}
