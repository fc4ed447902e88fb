// Clients the demo and the tests drive over the socket API: an HTTP/1.1 GET that hashes the body
// as it streams in (Content-Length, or until close for HTTP/1.0 servers), and a bulk TCP sender
// that streams the 251-pattern with backpressure and hashes what it sent.
import { createHash } from 'node:crypto';
import type { Net, Socket } from '../stack/index.ts';
import { AppError } from './errors.ts';
import { PATTERN_CHUNK, patternChunk } from './pattern.ts';

export interface HttpGetOptions {
  host: string;
  port?: number;
  path?: string;
  /** Reject with TIMEOUT if the whole response has not arrived by then (default 30 s). */
  timeoutMs?: number;
  /** Largest status line + headers accepted (default 16 KiB). */
  maxHeaderBytes?: number;
  /** Called as body bytes arrive: (received, Content-Length or -1). */
  onProgress?: (bytes: number, total: number) => void;
  /** Clock for the timings (default performance.now). */
  now?: () => number;
}

export interface HttpGetResult {
  status: number;
  reason: string;
  /** Header names in lower case; repeated headers joined with ", ". */
  headers: Record<string, string>;
  /** Body bytes received. */
  bytes: number;
  /** Hex SHA-256 of the body. */
  sha256: string;
  /** First 64 KiB of the body (for small pages). */
  bodyHead: Buffer;
  /** Connect → last body byte, ms. */
  ms: number;
  /** Connect → first response byte, ms. */
  firstByteMs: number;
}

const BODY_HEAD = 65536;

/** GET `path` with `Connection: close`; resolves once the body is complete. */
export function httpGet(net: Net, o: HttpGetOptions): Promise<HttpGetResult> {
  const now = o.now ?? (() => performance.now());
  const maxHead = o.maxHeaderBytes ?? 16384;
  return new Promise<HttpGetResult>((resolve, reject) => {
    const start = now();
    let firstByteMs = -1;
    let head: Buffer | null = Buffer.alloc(0);
    let status = 0;
    let reason = '';
    const headers: Record<string, string> = {};
    let total = -1;
    let bytes = 0;
    const hash = createHash('sha256');
    const bodyParts: Buffer[] = [];
    let bodyHeadLen = 0;
    let settled = false;
    const s: Socket = net.connect({ host: o.host, port: o.port ?? 80 });
    const timer = setTimeout(
      () => fail(new AppError('TIMEOUT', `GET ${o.path ?? '/'} timed out`)),
      o.timeoutMs ?? 30_000,
    );
    const fail = (e: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      s.destroy();
      reject(e);
    };
    const succeed = (): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      s.end();
      resolve({
        status,
        reason,
        headers,
        bytes,
        sha256: hash.digest('hex'),
        bodyHead: Buffer.concat(bodyParts),
        ms: now() - start,
        firstByteMs,
      });
    };
    const body = (d: Buffer): void => {
      if (total >= 0 && bytes + d.length > total) d = d.subarray(0, total - bytes);
      bytes += d.length;
      hash.update(d);
      if (bodyHeadLen < BODY_HEAD) {
        const part = d.subarray(0, BODY_HEAD - bodyHeadLen);
        bodyParts.push(Buffer.from(part));
        bodyHeadLen += part.length;
      }
      o.onProgress?.(bytes, total);
      if (bytes === total) succeed();
    };
    // RFC 9110 §7.2: an IPv6 literal goes in brackets.
    const hostHeader = o.host.includes(':') ? `[${o.host}]` : o.host;
    s.on('connect', () => {
      s.write(
        `GET ${o.path ?? '/'} HTTP/1.1\r\nHost: ${hostHeader}\r\nUser-Agent: ptnet-ts\r\nConnection: close\r\n\r\n`,
      );
    });
    s.on('data', (d: Buffer) => {
      if (settled) return;
      if (firstByteMs < 0) firstByteMs = now() - start;
      if (head === null) return body(d);
      const buf: Buffer = Buffer.concat([head, d]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) {
        if (buf.length > maxHead) fail(new AppError('HTTP_HEAD_TOO_LARGE', `over ${maxHead} bytes`, maxHead));
        else head = buf;
        return;
      }
      const err = parseResponseHead(buf.toString('latin1', 0, end));
      if (typeof err === 'number') return fail(new AppError('HTTP_BAD_RESPONSE', 'bad response head', err));
      head = null;
      ({ status, reason } = err);
      Object.assign(headers, err.headers);
      if (headers['transfer-encoding'] !== undefined) {
        return fail(new AppError('HTTP_UNSUPPORTED', `transfer-encoding ${headers['transfer-encoding']}`));
      }
      const cl = headers['content-length'];
      if (cl !== undefined) {
        if (!/^\d{1,15}$/.test(cl)) return fail(new AppError('HTTP_BAD_RESPONSE', `content-length ${cl}`));
        total = Number(cl);
      }
      if (total === 0) return succeed();
      const rest = buf.subarray(end + 4);
      if (rest.length > 0) body(rest);
    });
    s.on('end', () => {
      if (head === null && total < 0) succeed();
      else
        fail(
          new AppError('HTTP_TRUNCATED', `connection closed after ${bytes} of ${total} body bytes`, bytes),
        );
    });
    s.on('error', (e) => fail(e));
    s.on('close', () =>
      fail(new AppError('HTTP_TRUNCATED', `connection closed after ${bytes} body bytes`, bytes)),
    );
  });
}

/** Status line and headers; a number is the offset of the first bad byte's line. */
function parseResponseHead(
  head: string,
): { status: number; reason: string; headers: Record<string, string> } | number {
  const lines = head.split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(lines[0] ?? '');
  if (m === null) return 0;
  const headers: Record<string, string> = {};
  let off = (lines[0]?.length ?? 0) + 2;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const c = line.indexOf(':');
    if (c <= 0) return off;
    const k = line.slice(0, c).trim().toLowerCase();
    const v = line.slice(c + 1).trim();
    headers[k] = headers[k] === undefined ? v : `${headers[k]}, ${v}`;
    off += line.length + 2;
  }
  return { status: Number(m[1]), reason: m[2] ?? '', headers };
}

export interface TcpSendOptions {
  host: string;
  port: number;
  /** Bytes of the 251-pattern to send (at most). */
  bytes: number;
  /** Stop writing once this many ms have passed since the connection opened (a timed run). */
  durationMs?: number;
  /** Also read what comes back (echo) and hash it. */
  readBack?: boolean;
  /** Called as bytes are accepted by the socket (sent, total). */
  onProgress?: (sent: number, total: number) => void;
  timeoutMs?: number;
  now?: () => number;
}

export interface TcpSendResult {
  sent: number;
  /** Hex SHA-256 of the bytes sent. */
  sha256: string;
  /** Bytes read back and their SHA-256 (readBack). */
  received: number;
  receivedSha256?: string;
  /** Connect → peer's close seen, ms. */
  ms: number;
}

/**
 * Connects, streams `bytes` of the pattern (waiting for 'drain' whenever write() says so), closes
 * the write side and resolves when the peer has closed too.
 */
export function tcpSend(net: Net, o: TcpSendOptions): Promise<TcpSendResult> {
  const now = o.now ?? (() => performance.now());
  return new Promise<TcpSendResult>((resolve, reject) => {
    const start = now();
    const txHash = createHash('sha256');
    const rxHash = o.readBack === true ? createHash('sha256') : null;
    let sent = 0;
    let received = 0;
    let settled = false;
    const s = net.connect({ host: o.host, port: o.port, allowHalfOpen: true });
    const timer = setTimeout(
      () => fail(new AppError('TIMEOUT', `send to ${o.host}:${o.port} timed out`)),
      o.timeoutMs ?? 60_000,
    );
    const fail = (e: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      s.destroy();
      reject(e);
    };
    let deadline = Infinity;
    const pump = (): void => {
      while (sent < o.bytes && now() < deadline) {
        const c = patternChunk(sent, Math.min(o.bytes - sent, PATTERN_CHUNK));
        sent += c.length;
        txHash.update(c);
        const more = s.write(c);
        o.onProgress?.(sent, o.bytes);
        if (!more && sent < o.bytes && now() < deadline) {
          s.once('drain', pump);
          return;
        }
      }
      s.end();
    };
    s.on('connect', () => {
      if (o.durationMs !== undefined) deadline = now() + o.durationMs;
      pump();
    });
    s.on('data', (d: Buffer) => {
      received += d.length;
      rxHash?.update(d);
    });
    s.on('end', () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const r: TcpSendResult = { sent, sha256: txHash.digest('hex'), received, ms: now() - start };
      if (rxHash !== null) r.receivedSha256 = rxHash.digest('hex');
      resolve(r);
    });
    s.on('error', fail);
    s.on('close', () =>
      fail(new AppError('CONN_CLOSED', `connection closed after ${sent} bytes sent`, sent)),
    );
  });
}
