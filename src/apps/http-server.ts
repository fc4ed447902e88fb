// A small HTTP/1.1 server (RFC 9110/9112) over the stack's sockets: `GET /` returns a short page,
// `GET /bytes/N` returns N bytes where byte i is `i mod 251`, streamed chunk by chunk with
// backpressure (write()'s return value and 'drain'), never built in memory. Persistent connections
// with pipelining (one request at a time; the socket is paused while a response streams), HEAD,
// `Connection: close`, and limits on the request head and body. Malformed requests get 400 and a
// close, other methods 405, unknown targets 404.
import type { Net, Server, Socket } from '../stack/index.ts';
import { PATTERN_CHUNK, patternChunk } from './pattern.ts';

export const HTTP_PORT = 80;

export interface HttpServerOptions {
  port?: number;
  /** Largest request line + header block in bytes (default 8192, as Apache/nginx). */
  maxHeaderBytes?: number;
  /** Largest request body, read and thrown away (default 64 KiB). */
  maxBodyBytes?: number;
  /** Largest N for /bytes/N (default 2^40). */
  maxBytes?: number;
  /** A persistent connection with no request for this long is closed (default 30 s; 0 = never). */
  idleMs?: number;
  /** Called after each response went out (or was abandoned). */
  onRequest?: (r: HttpLogEntry) => void;
}

export interface HttpLogEntry {
  remoteAddress: string;
  method: string;
  target: string;
  status: number;
  /** Body bytes written. */
  bytes: number;
}

const REASON: Record<number, string> = {
  200: 'OK',
  400: 'Bad Request',
  404: 'Not Found',
  405: 'Method Not Allowed',
  413: 'Content Too Large',
  431: 'Request Header Fields Too Large',
  501: 'Not Implemented',
  505: 'HTTP Version Not Supported',
};

const INDEX_HTML = Buffer.from(
  '<!DOCTYPE html>\n<html><head><title>ptnet-ts</title></head><body>\n' +
    '<h1>ptnet-ts</h1>\n<p>Served by a TypeScript TCP/IP stack behind a ptnet NIC.</p>\n' +
    '<p><a href="/bytes/1048576">/bytes/1048576</a>: byte i is i mod 251.</p>\n</body></html>\n',
);

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const REQUEST_LINE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+) ([^ ]+) HTTP\/(\d)\.(\d)$/;
const CRLFCRLF = Buffer.from('\r\n\r\n');

interface Request {
  method: string;
  target: string;
  minor: number;
  headers: Map<string, string>;
}

/** A parse failure: the status to answer with before closing. */
class BadRequest {
  constructor(readonly status: number) {}
}

/** Parses a request head (without its final CRLF CRLF); RFC 9112 §2–§5. */
function parseHead(head: string): Request | BadRequest {
  const lines = head.split('\r\n');
  const m = REQUEST_LINE.exec(lines[0] ?? '');
  if (m === null) return new BadRequest(400);
  const major = Number(m[3]);
  if (major !== 1) return new BadRequest(major > 1 ? 505 : 400);
  const headers = new Map<string, string>();
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const c = line.indexOf(':');
    // No colon, or obsolete line folding (a line starting with whitespace): §5.2 allows 400.
    if (c <= 0) return new BadRequest(400);
    const name = line.slice(0, c);
    if (!TOKEN.test(name)) return new BadRequest(400);
    const value = line.slice(c + 1).trim();
    if (/[\0\r\n]/.test(value)) return new BadRequest(400);
    const key = name.toLowerCase();
    const prev = headers.get(key);
    headers.set(key, prev === undefined ? value : `${prev}, ${value}`);
  }
  return { method: m[1]!, target: m[2]!, minor: Number(m[4]), headers };
}

function hasToken(v: string | undefined, token: string): boolean {
  return v !== undefined && v.split(',').some((t) => t.trim().toLowerCase() === token);
}

class HttpConnection {
  private buf: Buffer = Buffer.alloc(0);
  private bodyLeft = 0;
  private responding = false;
  private closing = false;
  private peerEnded = false;

  constructor(
    private readonly s: Socket,
    private readonly o: Required<Omit<HttpServerOptions, 'onRequest' | 'port'>> & HttpServerOptions,
  ) {
    s.on('data', (d: Buffer) => this.onData(d));
    s.on('end', () => {
      this.peerEnded = true;
      if (!this.responding) this.finish();
    });
    s.on('error', () => {
      this.closing = true;
    });
    if (o.idleMs > 0) s.setTimeout(o.idleMs, () => !this.responding && this.finish());
  }

  private onData(d: Buffer): void {
    if (this.closing) return;
    this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
    if (this.responding) {
      // Pipelined requests wait in the TCP receive buffer, whose window closes: backpressure.
      this.s.pause();
      return;
    }
    this.process();
  }

  private process(): void {
    while (!this.responding && !this.closing) {
      if (this.bodyLeft > 0) {
        const n = Math.min(this.bodyLeft, this.buf.length);
        this.bodyLeft -= n;
        this.buf = this.buf.subarray(n);
        if (this.bodyLeft > 0) return;
      }
      // RFC 9112 §2.2: empty lines before a request line are ignored.
      let start = 0;
      while (this.buf[start] === 0x0d && this.buf[start + 1] === 0x0a) start += 2;
      if (start > 0) this.buf = this.buf.subarray(start);
      const end = this.buf.indexOf(CRLFCRLF);
      if (end < 0) {
        if (this.buf.length > this.o.maxHeaderBytes) this.error('?', '?', 431);
        else if (this.peerEnded) this.finish();
        return;
      }
      if (end + 4 > this.o.maxHeaderBytes) return this.error('?', '?', 431);
      const head = this.buf.toString('latin1', 0, end);
      this.buf = this.buf.subarray(end + 4);
      const r = parseHead(head);
      if (r instanceof BadRequest) {
        this.error('?', '?', r.status);
        return;
      }
      this.handle(r);
    }
  }

  private handle(r: Request): void {
    const h = r.headers;
    const te = h.get('transfer-encoding');
    const cl = h.get('content-length');
    // §6.3: Transfer-Encoding we cannot decode → 501; a bad or conflicting Content-Length → 400.
    if (te !== undefined) return this.error(r.method, r.target, 501);
    if (cl !== undefined && !/^\d{1,15}$/.test(cl)) return this.error(r.method, r.target, 400);
    const bodyLen = cl === undefined ? 0 : Number(cl);
    if (bodyLen > this.o.maxBodyBytes) return this.error(r.method, r.target, 413);
    // §3.2: a 1.1 request without exactly one Host is answered with 400.
    const host = h.get('host');
    if (r.minor >= 1 && (host === undefined || host.includes(',')))
      return this.error(r.method, r.target, 400);
    this.bodyLeft = bodyLen;
    const conn = h.get('connection');
    const keep = r.minor >= 1 ? !hasToken(conn, 'close') : hasToken(conn, 'keep-alive');
    if (r.method !== 'GET' && r.method !== 'HEAD') return this.error(r.method, r.target, 405);
    if (!r.target.startsWith('/')) return this.error(r.method, r.target, 400);
    const q = r.target.indexOf('?');
    const path = q < 0 ? r.target : r.target.slice(0, q);
    const head = r.method === 'HEAD';
    if (path === '/' || path === '/index.html') {
      this.respond(200, 'text/html; charset=utf-8', INDEX_HTML.length, keep);
      if (!head) this.s.write(INDEX_HTML);
      return this.done(r, 200, head ? 0 : INDEX_HTML.length, keep);
    }
    const bm = /^\/bytes\/(\d{1,16})$/.exec(path);
    if (bm !== null) {
      const n = Number(bm[1]);
      if (n > this.o.maxBytes) return this.error(r.method, r.target, 400);
      this.respond(200, 'application/octet-stream', n, keep);
      if (head) return this.done(r, 200, 0, keep);
      return this.stream(r, n, keep);
    }
    if (path.startsWith('/bytes/')) return this.error(r.method, r.target, 400);
    this.error(r.method, r.target, 404);
  }

  private respond(status: number, type: string, len: number, keep: boolean): void {
    this.responding = true;
    let head =
      `HTTP/1.1 ${status} ${REASON[status] ?? ''}\r\nServer: ptnet-ts\r\n` +
      `Content-Type: ${type}\r\nContent-Length: ${len}\r\n`;
    if (status === 405) head += 'Allow: GET, HEAD\r\n';
    head += keep ? 'Connection: keep-alive\r\n\r\n' : 'Connection: close\r\n\r\n';
    this.s.write(Buffer.from(head, 'latin1'));
  }

  /** Streams the pattern: one view of the shared table per write, waiting for 'drain' when full. */
  private stream(r: Request, n: number, keep: boolean): void {
    let off = 0;
    const s = this.s;
    // A peer that resets or goes away mid-body: no 'drain' will come, log what went out.
    const aborted = (): void => {
      s.off('drain', pump);
      this.done(r, 200, off, false);
    };
    const pump = (): void => {
      while (off < n) {
        const c = patternChunk(off, Math.min(n - off, PATTERN_CHUNK));
        off += c.length;
        if (!s.write(c) && off < n) {
          s.once('drain', pump);
          return;
        }
      }
      s.off('close', aborted);
      this.done(r, 200, n, keep);
    };
    s.once('close', aborted);
    pump();
  }

  private error(method: string, target: string, status: number): void {
    const body = Buffer.from(`${status} ${REASON[status] ?? ''}\n`);
    this.respond(status, 'text/plain', body.length, false);
    this.s.write(body);
    this.done({ method, target, minor: 1, headers: new Map() }, status, body.length, false);
  }

  private done(r: Request, status: number, bytes: number, keep: boolean): void {
    this.o.onRequest?.({
      remoteAddress: this.s.remoteAddress ?? '?',
      method: r.method,
      target: r.target,
      status,
      bytes,
    });
    this.responding = false;
    if (!keep || this.s.destroyed) {
      this.closing = true;
      this.finish();
      return;
    }
    this.s.resume();
    this.process();
    if (this.peerEnded && !this.responding) this.finish();
  }

  private finish(): void {
    this.closing = true;
    if (!this.s.destroyed && !this.s.writableEnded) this.s.end();
  }
}

/** Starts the HTTP server on `net`; returns the listening Server. */
export function startHttpServer(net: Net, o: HttpServerOptions = {}): Server {
  const opts = {
    maxHeaderBytes: 8192,
    maxBodyBytes: 65536,
    maxBytes: 2 ** 40,
    idleMs: 30_000,
    ...o,
  };
  // allowHalfOpen: a client that half-closes after its request still gets the whole response.
  const srv = net.createServer((s) => new HttpConnection(s, opts), { allowHalfOpen: true });
  return srv.listen(o.port ?? HTTP_PORT);
}
