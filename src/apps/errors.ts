// Typed errors of the services and clients (never parse messages).
export type AppErrorCode =
  /** The peer's HTTP response could not be parsed. */
  | 'HTTP_BAD_RESPONSE'
  /** The response head exceeded the client's limit. */
  | 'HTTP_HEAD_TOO_LARGE'
  /** The connection ended before the announced Content-Length. */
  | 'HTTP_TRUNCATED'
  /** A transfer coding the client does not implement (chunked). */
  | 'HTTP_UNSUPPORTED'
  /** The connection closed before the exchange finished. */
  | 'CONN_CLOSED'
  /** No answer within the caller's deadline. */
  | 'TIMEOUT';

export class AppError extends Error {
  constructor(
    readonly code: AppErrorCode,
    message: string,
    /** Byte offset in the response where the problem was seen, when there is one. */
    readonly offset?: number,
  ) {
    super(`${code}: ${message}`);
    this.name = 'AppError';
  }
}
