// TCP echo (RFC 862, port 7) and discard (RFC 863, port 9), written only against the stack's
// node:net-like socket API. Each closed connection is reported once: bytes received, their
// SHA-256 (discard), and the error that ended it, if any.
import { createHash, type Hash } from 'node:crypto';
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

/** What a connection received so far: its bytes and their running hash. */
interface Received {
  bytes: number;
  hash: Hash | null;
}

/**
 * Reports `s` once it closes. `rx`: what it received, counted by the caller (discard reads with
 * onread); without it, its 'data' events are counted here.
 */
function track(s: Socket, service: ConnReport['service'], o: TcpServiceOptions, rx?: Received): void {
  const now = o.now ?? (() => performance.now());
  const start = now();
  const remoteAddress = s.remoteAddress ?? '?';
  const remotePort = s.remotePort ?? 0;
  const got = rx ?? { bytes: 0, hash: null };
  let error: string | undefined;
  if (rx === undefined) s.on('data', (d: Buffer) => (got.bytes += d.length));
  s.on('error', (e: Error & { code?: string }) => {
    error = e.code ?? e.message;
  });
  s.on('close', () => {
    const r: ConnReport = {
      service,
      remoteAddress,
      remotePort,
      bytes: got.bytes,
      bytesWritten: s.bytesWritten,
      ms: now() - start,
    };
    if (got.hash !== null) r.sha256 = got.hash.digest('hex');
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
      track(s, 'echo', o);
      s.pipe(s);
    },
    { allowHalfOpen: true },
  );
  return srv.listen(o.port ?? ECHO_PORT);
}

/**
 * TCP discard: reads and hashes everything, sends nothing, closes when the peer does. It reads with
 * onread into one buffer for all its connections (the callback's `this` tells them apart), the
 * bytes landing there straight from the frames (docs/ARCHITECTURE.md).
 */
export function startTcpDiscard(net: Net, o: TcpServiceOptions = {}): Server {
  const received = new WeakMap<Socket, Received>();
  // Whichever comes first, the connection's event or its first bytes, makes its record.
  const of = (s: Socket): Received => {
    let r = received.get(s);
    if (r === undefined) {
      r = { bytes: 0, hash: createHash('sha256') };
      received.set(s, r);
    }
    return r;
  };
  const onread = {
    buffer: Buffer.allocUnsafe(64 * 1024),
    callback(this: Socket, n: number, b: Uint8Array): void {
      const r = of(this);
      r.bytes += n;
      r.hash!.update(b.subarray(0, n));
    },
  };
  const srv = net.createServer({ onread }, (s) => track(s, 'discard', o, of(s)));
  return srv.listen(o.port ?? DISCARD_PORT);
}
