// TCP echo (RFC 862, port 7) and discard (RFC 863, port 9), written only against the stack's
// node:net-like socket API. Each closed connection is reported once: bytes received, their
// SHA-256 (discard), and the error that ended it, if any.
import { createHash } from 'node:crypto';
import type { Net, Server, Socket } from '../stack/index.ts';

export const ECHO_PORT = 7;
export const DISCARD_PORT = 9;

/** One finished connection. */
export interface ConnReport {
  service: 'echo' | 'discard';
  remoteAddress: string;
  remotePort: number;
  /** Bytes received from the peer. */
  bytes: number;
  /** Hex SHA-256 of those bytes (discard only; echo returns them instead). */
  sha256?: string;
  /** Bytes sent back (echo). */
  bytesWritten: number;
  ms: number;
  /** node-style error code when the connection did not end cleanly (ECONNRESET, …). */
  error?: string;
}

export interface TcpServiceOptions {
  port?: number;
  /** Called once per connection when it closes. */
  onClose?: (r: ConnReport) => void;
  /** Clock for the duration (default performance.now). */
  now?: () => number;
}

function track(s: Socket, service: ConnReport['service'], o: TcpServiceOptions, hash: boolean): void {
  const now = o.now ?? (() => performance.now());
  const start = now();
  const remoteAddress = s.remoteAddress ?? '?';
  const remotePort = s.remotePort ?? 0;
  const h = hash ? createHash('sha256') : null;
  let bytes = 0;
  let error: string | undefined;
  s.on('data', (d: Buffer) => {
    bytes += d.length;
    h?.update(d);
  });
  s.on('error', (e: Error & { code?: string }) => {
    error = e.code ?? e.message;
  });
  s.on('close', () => {
    const r: ConnReport = {
      service,
      remoteAddress,
      remotePort,
      bytes,
      bytesWritten: s.bytesWritten,
      ms: now() - start,
    };
    if (h !== null) r.sha256 = h.digest('hex');
    if (error !== undefined) r.error = error;
    o.onClose?.(r);
  });
}

/** TCP echo: everything read is written back; the peer's FIN is answered once all of it went. */
export function startTcpEcho(net: Net, o: TcpServiceOptions = {}): Server {
  // allowHalfOpen: after the peer's FIN, keep writing until the echo of its last byte is queued;
  // pipe() then ends our side.
  const srv = net.createServer(
    (s) => {
      track(s, 'echo', o, false);
      s.pipe(s);
    },
    { allowHalfOpen: true },
  );
  return srv.listen(o.port ?? ECHO_PORT);
}

/** TCP discard: reads and hashes everything, sends nothing, closes when the peer does. */
export function startTcpDiscard(net: Net, o: TcpServiceOptions = {}): Server {
  const srv = net.createServer((s) => track(s, 'discard', o, true));
  return srv.listen(o.port ?? DISCARD_PORT);
}
