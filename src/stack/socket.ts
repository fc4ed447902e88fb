// The node:net-like API over the stack: Server (createServer/listen/close/address) and Socket, a
// stream.Duplex with node's events and methods (connect, data, end, close, error with
// ECONNREFUSED/ECONNRESET/ETIMEDOUT, setNoDelay, setKeepAlive, setTimeout, remoteAddress,
// bytesRead/bytesWritten; backpressure through write()'s return value and 'drain'). Bytes move
// between the stream and the connection's send/receive rings; the stream's chunks are the only
// per-read allocation, as with node's own sockets.
import { EventEmitter } from 'node:events';
import { Duplex } from 'node:stream';
import { ipv4ToString, ipv6ToString, parseIpv4 } from '../wire/index.ts';
import { NetError } from './errors.ts';
import type { Stack } from './stack.ts';
import type { Timer } from './timer.ts';
import type { Tcb, TcbOptions, TcbUser } from './tcp/tcb.ts';
import type { TcpListener } from './tcp/tcp.ts';
import { UdpSocket } from './udp.ts';

/** Largest chunk pushed to the readable side at once. */
const READ_CHUNK = 64 * 1024;

export interface SocketOptions extends TcbOptions {
  /** Keep the writable side open after the peer's FIN (node's allowHalfOpen; default false). */
  allowHalfOpen?: boolean;
}

export interface ConnectOptions extends SocketOptions {
  host: string;
  port: number;
  localPort?: number;
}

export class Socket extends Duplex implements TcbUser {
  tcb: Tcb | null = null;
  connecting = false;
  bytesRead = 0;
  private written = 0;
  private pending: Uint8Array | null = null;
  private pendingOff = 0;
  private pendingCb: ((err?: Error | null) => void) | null = null;
  private wantRead = false;
  private peerEnded = false;
  private idleMs = 0;
  private idleTimer: Timer | null = null;
  private lastActive = 0;

  constructor(
    private readonly stack: Stack,
    opts: SocketOptions = {},
  ) {
    super({ allowHalfOpen: opts.allowHalfOpen ?? false });
  }

  /** @internal Binds an established or connecting connection. */
  attach(tcb: Tcb, connecting: boolean): void {
    this.tcb = tcb;
    tcb.user = this;
    this.connecting = connecting;
  }

  get remoteAddress(): string | undefined {
    const t = this.tcb;
    return t === null ? undefined : t.family === 6 ? ipv6ToString(t.raddr6) : ipv4ToString(t.raddr);
  }
  get remotePort(): number | undefined {
    return this.tcb?.rport;
  }
  get remoteFamily(): 'IPv4' | 'IPv6' | undefined {
    return this.tcb === null ? undefined : this.tcb.family === 6 ? 'IPv6' : 'IPv4';
  }
  get localAddress(): string | undefined {
    const t = this.tcb;
    return t === null ? undefined : t.family === 6 ? ipv6ToString(t.laddr6) : ipv4ToString(t.laddr);
  }
  get localPort(): number | undefined {
    return this.tcb?.lport;
  }
  /** Bytes accepted by write() so far, including those still queued (node semantics). */
  get bytesWritten(): number {
    return this.written + this.writableLength;
  }
  /** The connection's RFC 9293 state ('CLOSED' once gone). */
  get tcpState(): string {
    return this.tcb?.state ?? 'CLOSED';
  }
  get readyState(): 'opening' | 'open' | 'readOnly' | 'writeOnly' | 'closed' {
    if (this.connecting) return 'opening';
    if (this.tcb === null || this.destroyed) return 'closed';
    if (this.readable && this.writable) return 'open';
    if (this.readable) return 'readOnly';
    if (this.writable) return 'writeOnly';
    return 'closed';
  }

  address(): { address: string; family: 'IPv4' | 'IPv6'; port: number } | Record<string, never> {
    const t = this.tcb;
    return t === null ? {} : { address: this.localAddress!, family: this.remoteFamily!, port: t.lport };
  }

  /** Closes with a RST instead of a FIN (node's socket.resetAndDestroy()). */
  resetAndDestroy(): this {
    const t = this.tcb;
    if (t !== null && !t.isClosed) {
      t.user = null;
      t.abort();
      this.stack.time.poke();
    }
    return this.destroy();
  }

  /** Timers never keep the process alive here (they are unref'd), so ref/unref change nothing. */
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }

  setNoDelay(noDelay = true): this {
    if (this.tcb !== null) {
      this.tcb.noDelay = noDelay;
      if (noDelay) this.kick();
    }
    return this;
  }

  setKeepAlive(enable = false, initialDelay = 0): this {
    this.tcb?.setKeepAlive(enable, initialDelay > 0 ? initialDelay : undefined);
    this.stack.time.poke();
    return this;
  }

  /** Emits 'timeout' after `ms` of inactivity (0 disables); like node, it does not close the socket. */
  setTimeout(ms: number, cb?: () => void): this {
    this.idleMs = ms;
    if (cb !== undefined) this.once('timeout', cb);
    if (ms <= 0) {
      this.idleTimer?.cancel();
      return this;
    }
    this.idleTimer ??= this.stack.time.timers.timer((now) => {
      if (this.destroyed || this.idleMs <= 0) return;
      const due = this.lastActive + this.idleMs;
      if (now < due) {
        this.idleTimer!.armAt(due);
        return;
      }
      this.emit('timeout');
    });
    this.touch();
    return this;
  }

  private touch(): void {
    this.lastActive = this.stack.now();
    if (this.idleMs > 0 && this.idleTimer !== null && !this.idleTimer.armed) {
      this.idleTimer.armAt(this.lastActive + this.idleMs);
      this.stack.time.poke();
    }
  }

  private kick(): void {
    this.tcb?.output();
    this.stack.time.poke();
  }

  // ---------------------------------------------------------------- Duplex

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.pending = chunk;
    this.pendingOff = 0;
    this.pendingCb = cb;
    if (!this.connecting) this.flushPending();
  }

  private flushPending(): void {
    const t = this.tcb;
    const p = this.pending;
    if (p === null) return;
    if (t === null || t.isClosed) {
      this.failPending(new NetError('EPIPE', 'write'));
      return;
    }
    const n = t.write(p, this.pendingOff, p.length - this.pendingOff);
    this.pendingOff += n;
    this.written += n;
    if (n > 0) this.touch();
    this.stack.time.poke();
    if (this.pendingOff === p.length) {
      const cb = this.pendingCb!;
      this.pending = null;
      this.pendingCb = null;
      cb();
    }
  }

  private failPending(err: Error): void {
    const cb = this.pendingCb;
    this.pending = null;
    this.pendingCb = null;
    cb?.(err);
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (this.connecting) {
      // node semantics: end() on a connecting socket sends FIN once connected (RFC 9293 CLOSE in
      // SYN-SENT would instead abandon the attempt).
      this.once('connect', () => this._final(cb));
      return;
    }
    this.tcb?.shutdown();
    this.stack.time.poke();
    cb();
  }

  override _read(): void {
    this.wantRead = true;
    this.pump();
  }

  private pump(): void {
    const t = this.tcb;
    if (t === null) return;
    const rcv = t.rcv;
    let got = 0;
    while (this.wantRead && rcv.readable > 0) {
      const n = Math.min(rcv.readable, READ_CHUNK);
      const b = Buffer.allocUnsafe(n);
      rcv.read(b, 0, n);
      this.bytesRead += n;
      got += n;
      if (!this.push(b)) this.wantRead = false;
    }
    if (got > 0) {
      t.onUserRead();
      this.touch();
      this.stack.time.poke();
    }
    if (this.peerEnded && rcv.readable === 0 && !this.readableEnded && this.wantRead) {
      this.wantRead = false;
      this.push(null);
    }
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.idleTimer?.cancel();
    const t = this.tcb;
    if (t !== null && !t.isClosed && t.state !== 'TIME-WAIT') {
      // close(2) semantics: unread data or an unfinished write side means abort (RST); otherwise
      // the connection finishes its FIN exchange on its own, as an orphan.
      if (err !== null || t.rcv.readable > 0 || !this.writableFinished) {
        t.user = null;
        t.abort();
      } else {
        t.orphan();
      }
      this.stack.time.poke();
    }
    this.failPending(err ?? new NetError('EPIPE', 'write'));
    cb(err);
  }

  // ---------------------------------------------------------------- TcbUser

  onConnect(): void {
    this.connecting = false;
    this.touch();
    this.emit('connect');
    this.emit('ready');
    this.flushPending();
  }

  onData(): void {
    this.pump();
  }

  onPeerFin(): void {
    this.peerEnded = true;
    this.wantRead = this.wantRead || this.readableFlowing === true;
    this.pump();
  }

  onWritable(): void {
    this.flushPending();
  }

  onClose(err: NetError | null): void {
    if (err !== null) {
      this.connecting = false;
      this.destroy(err);
      return;
    }
    // Orderly end (TIME-WAIT or CLOSED): finish the readable side if the peer's FIN was seen.
    if (this.tcb !== null && this.tcb.isClosed && !this.peerEnded) {
      this.peerEnded = true;
      this.pump();
    }
  }
}

export class Server extends EventEmitter {
  private listener: TcpListener | null = null;
  private listener6: TcpListener | null = null;
  private readonly sockets = new Set<Socket>();
  private closing = false;

  constructor(
    private readonly stack: Stack,
    private readonly opts: SocketOptions = {},
  ) {
    super();
  }

  get listening(): boolean {
    return this.listener !== null;
  }

  listen(port = 0, backlog = 511, cb?: () => void): this {
    const tcp = this.stack.tcp;
    if (port === 0) port = tcp.ephemeralPort(this.stack.addr, 0, 0);
    const opts = { ...this.stack.tcpDefaults, ...this.opts };
    const onConnection = (tcb: Tcb): void => {
      const s = new Socket(this.stack, this.opts);
      s.attach(tcb, false);
      this.sockets.add(s);
      s.once('close', () => {
        this.sockets.delete(s);
        this.maybeClosed();
      });
      this.emit('connection', s);
    };
    const l = tcp.listen(port, backlog, opts, onConnection);
    // Dual stack: the same port over IPv6 when the stack has it (bindv6only = 0).
    const tcp6 = this.stack.ip6?.tcp;
    if (l !== null && tcp6 !== undefined) {
      this.listener6 = tcp6.listen(port, backlog, opts, onConnection);
      if (this.listener6 === null) tcp.unlisten(l);
    }
    if (l === null || (tcp6 !== undefined && this.listener6 === null)) {
      process.nextTick(() => this.emit('error', new NetError('EADDRINUSE', 'listen')));
      return this;
    }
    this.listener = l;
    if (cb !== undefined) this.once('listening', cb);
    process.nextTick(() => this.emit('listening'));
    return this;
  }

  address(): { address: string; family: 'IPv4'; port: number } | null {
    const l = this.listener;
    return l === null ? null : { address: ipv4ToString(this.stack.addr), family: 'IPv4', port: l.port };
  }

  /** Connections accepted and not yet closed (node's server.getConnections). */
  getConnections(cb: (err: Error | null, count: number) => void): this {
    const n = this.sockets.size;
    process.nextTick(() => cb(null, n));
    return this;
  }

  /**
   * Stops accepting; established connections are left alone and 'close' is emitted once the last
   * of them has closed (node semantics).
   */
  close(cb?: (err?: Error) => void): this {
    const l = this.listener;
    if (l === null) {
      if (cb !== undefined)
        process.nextTick(() => cb(new NetError('ERR_SOCKET_CLOSED', 'close', 'server not running')));
      return this;
    }
    this.stack.tcp.unlisten(l);
    this.listener = null;
    if (this.listener6 !== null) this.stack.ip6?.tcp.unlisten(this.listener6);
    this.listener6 = null;
    this.closing = true;
    if (cb !== undefined) this.once('close', cb);
    process.nextTick(() => this.maybeClosed());
    return this;
  }

  private maybeClosed(): void {
    if (!this.closing || this.sockets.size > 0) return;
    this.closing = false;
    this.emit('close');
  }
}

/** `stack.net`: the node:net and node:dgram entry points bound to one stack. */
export class Net {
  constructor(private readonly stack: Stack) {}

  createServer(listener?: (s: Socket) => void, opts: SocketOptions = {}): Server {
    const s = new Server(this.stack, opts);
    if (listener !== undefined) s.on('connection', listener);
    return s;
  }

  /** node's overloads: connect(options[, cb]) and connect(port[, host][, cb]). */
  connect(opts: ConnectOptions | number, host?: string | (() => void), cb?: () => void): Socket {
    if (typeof opts === 'number') {
      const h = typeof host === 'string' ? host : '127.0.0.1';
      return this.connect({ host: h, port: opts }, typeof host === 'function' ? host : cb);
    }
    if (typeof host === 'function') cb = host;
    const st = this.stack;
    const s = new Socket(st, opts);
    if (cb !== undefined) s.once('connect', cb);
    if (opts.host.includes(':')) {
      const { host: _h, port: _p, localPort: _l, allowHalfOpen: _a, ...o6 } = opts;
      const r =
        st.ip6 === null
          ? 'ENETUNREACH'
          : st.ip6.tcpConnect(opts.host, opts.port, opts.localPort, { ...st.tcpDefaults, ...o6 });
      if (typeof r === 'string') {
        process.nextTick(() => s.destroy(new NetError(r, 'connect')));
        return s;
      }
      s.attach(r, true);
      st.time.poke();
      return s;
    }
    let raddr: number;
    try {
      raddr = parseIpv4(opts.host);
    } catch {
      process.nextTick(() => s.destroy(new NetError('EADDRNOTAVAIL', 'connect', `bad host ${opts.host}`)));
      return s;
    }
    const laddr = st.sourceFor(raddr);
    const lport = laddr < 0 ? -1 : (opts.localPort ?? st.tcp.ephemeralPort(laddr, raddr, opts.port));
    if (laddr < 0 || lport < 0 || st.tcp.lookup(laddr, lport, raddr, opts.port) !== undefined) {
      const code = laddr < 0 ? 'ENETUNREACH' : 'EADDRINUSE';
      process.nextTick(() => s.destroy(new NetError(code, 'connect')));
      return s;
    }
    const { host: _h, port: _p, localPort: _l, allowHalfOpen: _a, ...tcbOpts } = opts;
    const tcb = st.tcp.connect(laddr, lport, raddr, opts.port, { ...st.tcpDefaults, ...tcbOpts });
    s.attach(tcb, true);
    st.time.poke();
    return s;
  }

  createConnection(opts: ConnectOptions | number, host?: string | (() => void), cb?: () => void): Socket {
    return this.connect(opts, host, cb);
  }

  /** A dgram-like UDP socket; it sends to IPv4 and IPv6 addresses alike. */
  createSocket(_type: 'udp4' | 'udp6' = 'udp4'): UdpSocket {
    return new UdpSocket(this.stack);
  }
}
