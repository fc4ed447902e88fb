// Typed errors of the mbuf pool. Datapath failures (pool empty) are counted and reported as
// null/false, never thrown; these errors are configuration mistakes and ownership bugs.

export type MbufErrorCode =
  | 'BAD_CONFIG' // impossible segment size, headroom or counts
  | 'BUFFER_TOO_SMALL' // the caller's storage cannot hold the requested segments
  | 'DOUBLE_FREE' // an mbuf freed while already free
  | 'FOREIGN_MBUF'; // an mbuf freed into a pool that did not allocate it

export class MbufError extends Error {
  readonly code: MbufErrorCode;
  constructor(code: MbufErrorCode, message: string) {
    super(`${code}: ${message}`);
    this.name = 'MbufError';
    this.code = code;
  }
}
