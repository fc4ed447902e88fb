// The node:net-like API over the stack: Server (createServer/listen with node's overloads/close/
// address/ref/unref) and Socket, a stream.Duplex with node's events and methods (connect, data,
// end, close(hadError), error with code/errno/syscall/address/port, setNoDelay, setKeepAlive,
// setTimeout, ref/unref, remoteAddress, bytesRead/bytesWritten; backpressure through write()'s
// return value and 'drain'), plus one from Linux: setZeroCopy, with 'zerocopy' completions
// (MSG_ZEROCOPY). An open server or socket keeps the process alive unless unref'd. Bytes move
// between the stream and the connection's send/receive rings; the stream's chunks are the only
// per-read allocation, as with node's own sockets.
import { EventEmitter } from 'node:events';
import { Duplex } from 'node:stream';
import { IN4_ANY, ipv4ToString, ipv6ToString, parseIn4, parseIpv6, type In4 } from '../wire/index.ts';
import { wordViews, type WordViews } from '../mbuf/index.ts';
import { NetError } from './errors.ts';
import { HandleRef } from './handle-ref.ts';
import { IpPairScratch } from './l3.ts';
import type { Timer } from './timer.ts';
import type { Tcb, TcbOptions, TcbUser } from './tcp/tcb.ts';
import type { Tcp, TcpListener } from './tcp/tcp.ts';
import { UdpSocket, type RemoteInfo, type UdpHost, type UdpLayer } from './udp.ts';

/** Largest chunk pushed to the readable side at once. */
const READ_CHUNK = 64 * 1024;
/**
 * Zero-copy writes shorter than this are copied (and their completion says so): below it the
 * reference's bookkeeping costs more than the copy, and a stream of tiny writes would hold one
 * reference each.
 */
export const ZEROCOPY_MIN = 4096;

export interface SocketOptions extends TcbOptions {
  /** Keep the writable side open after the peer's FIN (node's allowHalfOpen; default false). */
  allowHalfOpen?: boolean;
  /**
   * node's onread: received bytes are copied into `buffer` (or the buffer the function returns,
   * asked anew for each read) and handed to `callback` instead of being emitted as 'data' chunks;
   * 'end', 'error' and 'close' come as usual, pause() and resume() hold and restart the reads,
   * and a callback returning false stops the reads until resume() (isPaused() stays false, as in
   * node). The receive buffer then reuses its memory, and bytes that arrive while the socket
   * waits land in its buffer straight from the frame: a bulk receiver that consumes in place
   * runs faster than one that takes a fresh Buffer per chunk (docs/ARCHITECTURE.md). A value of
   * another shape is ignored, as node ignores it; an empty buffer, or a function returning one or
   * no Uint8Array, destroys the socket at its first read (ERR_INVALID_ARG_TYPE). createServer
   * takes it too (node does not), for every socket it accepts.
   */
  onread?: OnReadOptions;
}

/** node's OnReadOpts. */
export interface OnReadOptions {
  buffer: Uint8Array | (() => Uint8Array);
  /**
   * Bytes written to `buf` from its start; false stops the reads until resume(). Called with the
   * socket as `this`, as node calls it (which tells a server's sockets apart).
   */
  callback: (this: Socket, bytesWritten: number, buf: Uint8Array) => boolean | void;
}

/**
 * Per onread buffer's memory, the socket that last lent it to its receive buffer (Socket.lend):
 * one loan at a time per ArrayBuffer, so two sockets sharing a buffer never fill it in the same
 * turn. Weak, and nothing to release: a socket dropped without being closed keeps blocking only
 * others that share its buffer. (A global table of loans, the first version, kept the loans of
 * stacks dropped without closing their sockets for good.)
 */
const lenders = new WeakMap<ArrayBufferLike, Socket>();

/**
 * The onread option if it has node's shape (an object with a Uint8Array or function `buffer` and a
 * function `callback`), else null: node ignores any other value, and so does this socket.
 */
function onreadOf(o: unknown): OnReadOptions | null {
  if (o === null || typeof o !== 'object') return null;
  const r = o as Partial<OnReadOptions>;
  const bufOk = r.buffer instanceof Uint8Array || typeof r.buffer === 'function';
  return bufOk && typeof r.callback === 'function' ? { buffer: r.buffer!, callback: r.callback } : null;
}

export interface ConnectOptions extends SocketOptions {
  /** Default 'localhost' (127.0.0.1, over the stack's loopback), as node. */
  host?: string;
  port: number;
  localPort?: number;
}

/** server.listen(options): node's ListenOptions (port, host, backlog; ipv6Only). */
export interface ListenOptions {
  port?: number;
  host?: string;
  backlog?: number;
  ipv6Only?: boolean;
}

/** An address as node's address() gives it. */
export interface AddressInfo {
  address: string;
  family: 'IPv4' | 'IPv6';
  port: number;
}

/** node's validatePort: an integer 0..65535 (or a string of one), else ERR_SOCKET_BAD_PORT thrown. */
export function validatePort(port: unknown, name = 'Port'): number {
  const n = typeof port === 'string' && port.trim() !== '' ? Number(port) : port;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 65535) {
    const e = new NetError('ERR_SOCKET_BAD_PORT', 'validatePort', {
      message: `${name} should be >= 0 and < 65536. Received ${String(port)}.`,
    });
    throw e;
  }
  return n;
}

/** 'localhost' as node resolves it by default (verbatim order on Linux: 127.0.0.1 first). */
function resolveHost(host: string): string {
  return host === 'localhost' ? '127.0.0.1' : host;
}

/**
 * A socket-level error as node reports it for `syscall`: connect errors name the remote address
 * and port (exceptionWithHostPort), read/write errors do not.
 */
function decorate(err: NetError, s: Socket): NetError {
  if (err.syscall !== 'connect') return err;
  const a = s.remoteAddress ?? s.connectHost;
  const p = s.remotePort ?? s.connectPort;
  return a === undefined || p === undefined ? err : err.withHostPort(a, p);
}

/** What a snapshot keeps of a connected socket beside its connection (docs/SNAPSHOT.md). */
export interface SocketState {
  allowHalfOpen: boolean;
  /** end() was called: the writable side is closed once appTx is sent. */
  ended: boolean;
  /** Bytes the application wrote that the send ring had not taken yet. */
  appTx: Uint8Array;
  /** Bytes already handed to the readable stream that the application had not consumed. */
  appRx: Uint8Array;
}

/** The chunks of a stream's internal queue (node keeps them in writableBuffer / readableBuffer). */
function queued(list: unknown): Uint8Array[] {
  const out: Uint8Array[] = [];
  if (!Array.isArray(list)) return out;
  for (const e of list as unknown[]) {
    const c = e instanceof Uint8Array || typeof e === 'string' ? e : (e as { chunk?: unknown }).chunk;
    if (c instanceof Uint8Array) out.push(c);
    else if (typeof c === 'string') out.push(Buffer.from(c));
  }
  return out;
}

function concat(list: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(list.reduce((n, b) => n + b.length, 0));
  let o = 0;
  for (const b of list) {
    out.set(b, o);
    o += b.length;
  }
  return out;
}

const EV_CONNECT = 1;
const EV_DATA = 2;
const EV_PEER_FIN = 4;
const EV_WRITABLE = 8;
const EV_CLOSE = 16;
const EV_ACKED = 32;

/** What the socket API needs from the stack (the stack passes itself). */
export interface NetHost extends UdpHost {
  readonly tcpDefaults: TcbOptions;
  readonly udp: UdpLayer;
  /** The TCP of a family, null when the family is not configured. */
  tcpOf(family: 4 | 6): Tcp | null;
  /** An IPv4 address a server may bind: ours or 127/8. */
  isLocal4(addr: In4): boolean;
  now(): number;
}

export class Socket extends Duplex implements TcbUser {
  tcb: Tcb | null = null;
  connecting = false;
  bytesRead = 0;
  private written = 0;
  private pending: Uint8Array | null = null;
  private pendingOff = 0;
  private pendingCb: ((err?: Error | null) => void) | null = null;
  /** setZeroCopy: writes from now on are held by reference (MSG_ZEROCOPY). */
  private zeroCopy = false;
  /** The pending write's zero-copy id (-1: none), and whether it is copied all the same. */
  private pendingZc = -1;
  private pendingCopied = false;
  /** The next zero-copy id (sk_zckey, 32 bits), and the first not yet completed. */
  private zcNext = 0;
  private zcFirst = 0;
  /** Per id not yet completed, from zcFirst on: its end in sequence space, and whether it was copied. */
  private readonly zcEnd: number[] = [];
  private readonly zcCopied: boolean[] = [];
  private wantRead = false;
  private peerEnded = false;
  /** node's onread, and whether pause() (or its callback's false) holds its reads. */
  private readonly onread: OnReadOptions | null;
  private onreadPaused = false;
  private delivering = false;
  /**
   * A fixed onread buffer as the user gave it, a Buffer over its memory and that Buffer's word
   * views, made once: what the socket lends its receive buffer (null for a buffer function).
   */
  private readonly loan: { user: Uint8Array; buf: Buffer; views: WordViews } | null;
  /** Whether the loan is with the receive buffer now (RecvBuffer.lendDirect). */
  private lending = false;
  private idleMs = 0;
  private idleTimer: Timer | null = null;
  private lastActive = 0;
  // Process refs (node's handle ref): wanted by the user, and held on the stack while open.
  private readonly hold = new HandleRef();
  private closedEmitted = false;
  /** Connection events raised and not delivered yet (EV_* bits), and the close's error. */
  private events = 0;
  private closeErr: NetError | null = null;
  /** @internal The address and port connect() was asked for (for its errors). */
  connectHost: string | undefined;
  /** @internal */
  connectPort: number | undefined;

  constructor(
    private readonly stack: NetHost,
    opts: SocketOptions = {},
  ) {
    // 'close' is emitted by hand, with hadError, as net.Socket does.
    super({ allowHalfOpen: opts.allowHalfOpen ?? false, emitClose: false });
    this.onread = onreadOf(opts.onread);
    const fixed = this.onread?.buffer;
    if (fixed instanceof Uint8Array && fixed.length > 0) {
      const buf = Buffer.from(fixed.buffer, fixed.byteOffset, fixed.length);
      this.loan = { user: fixed, buf, views: wordViews(buf) };
    } else {
      this.loan = null;
    }
  }

  /** @internal Binds an established or connecting connection. */
  attach(tcb: Tcb, connecting: boolean): void {
    this.tcb = tcb;
    tcb.user = this;
    // No view of the receive buffer is ever handed out: its chunks can be reused.
    if (this.onread !== null) tcb.rcv.recycleChunks = true;
    this.connecting = connecting;
    this.updateRef();
  }

  /** @internal The socket's own part of a snapshot (its connection's is the Tcb's). */
  exportState(): SocketState {
    const tx: Uint8Array[] = [];
    if (this.pending !== null) tx.push(this.pending.subarray(this.pendingOff));
    tx.push(...queued((this as unknown as { writableBuffer?: unknown }).writableBuffer));
    const rx = queued((this as unknown as { readableBuffer?: unknown }).readableBuffer);
    return {
      allowHalfOpen: this.allowHalfOpen,
      ended: this.writableEnded,
      appTx: concat(tx),
      appRx: concat(rx),
    };
  }

  /**
   * @internal The socket's state went into a snapshot: its zero-copy writes complete (the snapshot
   * copied their bytes), then it emits nothing more (what its readable side still holds is in the
   * snapshot, and goes to the restored socket instead).
   */
  frozen(): void {
    this.unlend();
    this.pause();
    this.wantRead = false;
    this.releaseZeroCopy();
    if (this.tcb !== null) this.tcb.user = null;
  }

  /**
   * @internal Binds a connection restored from a snapshot: the bytes the old socket held in its
   * streams go back in (received ones readable first, written ones queued behind the send ring),
   * and a peer's FIN or our end() are where they were.
   */
  restoreState(tcb: Tcb, st: SocketState): void {
    this.attach(tcb, false);
    if (st.appRx.length > 0) this.push(Buffer.from(st.appRx));
    if (tcb.rcvFin) this.peerEnded = true;
    if (st.appTx.length > 0) this.write(Buffer.from(st.appTx));
    if (st.ended) this.end();
  }

  /** @internal A socket whose connect() failed before it had a connection: open until destroyed. */
  opening(host: string, port: number): void {
    this.connecting = true;
    this.connectHost = host;
    this.connectPort = port;
    this.updateRef();
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
    }
    return this.destroy();
  }

  /** The socket keeps the process alive while open (the default, as node). */
  ref(): this {
    this.hold.refd = true;
    this.updateRef();
    return this;
  }
  /** The process may exit while this socket is open (node's socket.unref()). */
  unref(): this {
    this.hold.refd = false;
    this.updateRef();
    return this;
  }

  private updateRef(): void {
    this.hold.sync(this.stack, !this.closedEmitted && (this.tcb !== null || this.connecting));
  }

  setNoDelay(noDelay = true): this {
    if (this.tcb !== null) {
      this.tcb.noDelay = noDelay;
      if (noDelay) this.kick();
    }
    return this;
  }

  /**
   * SO_ZEROCOPY with MSG_ZEROCOPY on every write: from now on each write() gets the next id
   * (0, 1, ... as Linux's per-socket counter) and its Buffer is not copied into the send buffer
   * but held by reference, and copied once, straight into packet memory, each time its bytes are
   * sent. The write's callback still fires when the bytes are accepted, but the Buffer must not
   * change until a 'zerocopy' event (lo, hi, copied) has named its id: the bytes were acknowledged
   * (or the connection ended), and the stack holds no reference any more. Writes shorter than
   * ZEROCOPY_MIN are copied, and their completion says `copied` (SO_EE_CODE_ZEROCOPY_COPIED).
   */
  setZeroCopy(enable = true): this {
    this.zeroCopy = enable;
    return this;
  }

  setKeepAlive(enable = false, initialDelay = 0): this {
    this.tcb?.setKeepAlive(enable, initialDelay > 0 ? initialDelay : undefined);
    // As node on Linux (libuv's uv__tcp_keepalive): turning keepalive on also sets TCP_KEEPINTVL
    // to 1 s and TCP_KEEPCNT to 10, so a dead peer is found 10 s after the idle time.
    if (enable && this.tcb !== null) {
      this.tcb.keepIntvl = 1000;
      this.tcb.keepCnt = 10;
    }
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
    // Only an idle timeout reads lastActive (setTimeout touches when it sets one): no clock read,
    // and no boxed double, per packet without one.
    if (this.idleMs <= 0) return;
    this.lastActive = this.stack.now();
    if (this.idleTimer !== null && !this.idleTimer.armed) {
      this.idleTimer.armAt(this.lastActive + this.idleMs);
    }
  }

  private kick(): void {
    this.tcb?.output();
  }

  // ---------------------------------------------------------------- Duplex

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.pending = chunk;
    this.pendingOff = 0;
    this.pendingCb = cb;
    if (this.zeroCopy) {
      this.pendingZc = this.zcNext;
      this.zcNext = (this.zcNext + 1) >>> 0;
      this.pendingCopied = chunk.length < ZEROCOPY_MIN;
    } else {
      this.pendingZc = -1;
    }
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
    const zc = this.pendingZc >= 0;
    const n = t.write(p, this.pendingOff, p.length - this.pendingOff, zc && !this.pendingCopied);
    this.pendingOff += n;
    this.written += n;
    if (n > 0) this.touch();
    if (this.pendingOff === p.length) {
      if (zc) {
        // Complete once SND.UNA passes its last byte (an empty write at once, at the next ACK).
        this.zcEnd.push(t.snd.end);
        this.zcCopied.push(this.pendingCopied);
        t.watchUna = true;
        this.pendingZc = -1;
        // Nothing of it waits for an ACK (an empty write to an idle connection): no ACK will come.
        if (t.snd.length === 0) this.raise(EV_ACKED);
      }
      const cb = this.pendingCb!;
      this.pending = null;
      this.pendingCb = null;
      cb();
    }
  }

  /**
   * The socket is done with its connection (destroyed, or frozen into a snapshot): what the
   * connection may still send of a zero-copy write is copied into its own memory, and every write
   * not yet completed completes now.
   */
  private releaseZeroCopy(): void {
    const t = this.tcb;
    if (t !== null) {
      if (t.snd.referenced > 0) t.snd.materialize();
      t.watchUna = false;
    }
    this.zcComplete(null);
  }

  /**
   * Emits 'zerocopy' for the writes whose bytes lie below `una` (all of them when una is null: the
   * connection let go of every reference), one event per run of ids alike in `copied`.
   */
  private zcComplete(una: number | null): void {
    const ends = this.zcEnd;
    let n = 0;
    while (n < ends.length && (una === null || ((una - ends[n]!) | 0) >= 0)) n++;
    if (n === 0) return;
    const copied = this.zcCopied;
    let lo = this.zcFirst;
    let i = 0;
    while (i < n) {
      let j = i + 1;
      while (j < n && copied[j] === copied[i]) j++;
      const hi = (lo + (j - i - 1)) >>> 0;
      this.emit('zerocopy', lo, hi, copied[i]);
      lo = (hi + 1) >>> 0;
      i = j;
    }
    this.zcFirst = lo;
    ends.splice(0, n);
    copied.splice(0, n);
    if (ends.length === 0 && this.tcb !== null) this.tcb.watchUna = false;
  }

  private failPending(err: Error): void {
    if (this.pendingZc >= 0) {
      // Partly accepted: its bytes are held, and complete when the connection lets them go.
      // Nothing accepted: the id is given back, as Linux's counter is for a failed send.
      if (this.pendingOff > 0) {
        this.zcEnd.push(this.tcb?.snd.end ?? 0);
        this.zcCopied.push(this.pendingCopied);
      } else {
        this.zcNext = this.pendingZc;
      }
      this.pendingZc = -1;
    }
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
    cb();
  }

  override _read(): void {
    this.wantRead = true;
    this.pump();
  }

  /** node's pause(): with onread, the reads stop too (the receive window closes as data waits). */
  override pause(): this {
    if (this.onread !== null) {
      this.onreadPaused = true;
      if (!this.delivering) this.unlend();
    }
    return super.pause();
  }

  /** node's resume(): with onread, the reads start again (after this call returns). */
  override resume(): this {
    super.resume();
    if (this.onread !== null && this.onreadPaused) {
      this.onreadPaused = false;
      process.nextTick(() => this.pump());
    }
    return this;
  }

  /**
   * onread: the bytes received go into the user's buffer, one callback per fill, until none is
   * left or the socket is paused; then the peer's FIN ends the readable side ('end').
   */
  private pumpOnread(t: Tcb, o: OnReadOptions): void {
    if (this.delivering) return;
    const rcv = t.rcv;
    let got = 0;
    this.delivering = true;
    try {
      // What arrived straight into the lent buffer comes first: everything still in the receive
      // buffer arrived after it.
      const n = this.takeLoan();
      if (n > 0) {
        got += n;
        if (o.callback.call(this, n, this.loan!.user) === false) this.onreadPaused = true;
      }
      while (!this.onreadPaused && rcv.readable > 0 && !this.destroyed) {
        const buf = this.onreadBuffer(o);
        if (buf === null) return;
        const n = rcv.readInto(buf, 0, buf.length);
        this.bytesRead += n;
        got += n;
        // node stops reading (readStop) without pausing the stream: isPaused() stays false, and
        // resume() starts the reads again.
        if (o.callback.call(this, n, buf) === false) this.onreadPaused = true;
      }
    } finally {
      this.delivering = false;
      if (got > 0 && this.tcb === t) {
        t.onUserRead();
        this.touch();
      }
    }
    if (this.peerEnded && rcv.readable === 0 && !this.onreadPaused && !this.readableEnded) {
      this.push(null);
      // Nothing was ever pushed: a read of nothing lets the stream see its end and emit 'end'.
      this.read(0);
      return;
    }
    this.lend(t);
  }

  /** The buffer for the next read (node asks a buffer function anew each time), or null once destroyed. */
  private onreadBuffer(o: OnReadOptions): Uint8Array | null {
    const buf = typeof o.buffer === 'function' ? o.buffer() : o.buffer;
    if (buf instanceof Uint8Array && buf.length > 0) return buf;
    this.destroy(
      new NetError('ERR_INVALID_ARG_TYPE', 'read', 'The onread buffer must be a non-empty Uint8Array'),
    );
    return null;
  }

  /**
   * Lends the fixed onread buffer to the receive buffer while this socket waits for data (nothing
   * readable, reads not stopped): what arrives in order then lands in it directly, one copy instead
   * of two. Not a buffer function's: node calls it when a read happens, and each call's buffer
   * would need views of its own per frame. Not when another socket of this thread holds the same
   * memory lent (a buffer shared by sockets, which node allows: each read there is delivered before
   * the next one is made).
   */
  private lend(t: Tcb): void {
    const l = this.loan;
    const rcv = t.rcv;
    if (l === null || this.lending || this.onreadPaused || this.destroyed || this.peerEnded) return;
    if (rcv.readable > 0) return;
    const holder = lenders.get(l.views.buffer);
    if (holder !== this) {
      if (holder?.lending === true) return;
      lenders.set(l.views.buffer, this);
    }
    this.lending = true;
    rcv.lendDirect(l.buf, l.views);
  }

  /** Takes the loan back: the bytes placed in it, already counted as read (bytesRead included). */
  private takeLoan(): number {
    const t = this.tcb;
    if (!this.lending || t === null) return 0;
    this.lending = false;
    const n = t.rcv.takeDirect();
    this.bytesRead += n;
    return n;
  }

  /**
   * Takes the loan back as reads stop or the socket goes away. Bytes are placed in it only inside
   * a datapath turn, and the turn's end delivers them, so none are there now; were there any,
   * they were read and go to the callback (unless the socket is destroyed).
   */
  private unlend(): void {
    const n = this.takeLoan();
    if (n > 0 && !this.destroyed) this.onread!.callback.call(this, n, this.loan!.user);
  }

  private pump(): void {
    const t = this.tcb;
    if (t === null) return;
    if (this.onread !== null) {
      this.pumpOnread(t, this.onread);
      return;
    }
    const rcv = t.rcv;
    let got = 0;
    while (this.wantRead) {
      // A view of the receive buffer's memory, which is never written again (no copy).
      const b = rcv.read(READ_CHUNK);
      if (b === null) break;
      this.bytesRead += b.length;
      got += b.length;
      if (!this.push(b)) this.wantRead = false;
    }
    if (got > 0) {
      t.onUserRead();
      this.touch();
    }
    if (this.peerEnded && rcv.readable === 0 && !this.readableEnded && this.wantRead) {
      this.wantRead = false;
      this.push(null);
    }
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.idleTimer?.cancel();
    this.unlend();
    const t = this.tcb;
    if (t !== null && !t.isClosed && t.state !== 'TIME-WAIT') {
      // node's destroy() is close(2) (tcp_close): unread received data means RST; otherwise a FIN
      // after what the send ring holds, and the connection finishes the exchange as an orphan.
      if (t.rcv.readable > 0) {
        t.user = null;
        t.abort();
      } else {
        // Detached first: a connect still in SYN-SENT just ends, with no 'end' on this socket.
        t.user = null;
        t.shutdown();
        t.orphan();
      }
    }
    this.failPending(err ?? new NetError('EPIPE', 'write'));
    this.releaseZeroCopy();
    cb(err);
    // net.Socket emits 'close' when its handle has closed: after 'error' (a tick) and with
    // hadError saying whether destroy() was given one.
    const hadError = err !== null;
    setImmediate(() => {
      this.closedEmitted = true;
      this.updateRef();
      this.emit('close', hadError);
    });
  }

  // ---------------------------------------------------------------- TcbUser

  // TcbUser: raised inside the datapath, queued (EventQueue), delivered by deliverEvents().
  onConnect(): void {
    this.raise(EV_CONNECT);
  }

  onData(): void {
    this.raise(EV_DATA);
  }

  onPeerFin(): void {
    this.raise(EV_PEER_FIN);
  }

  onWritable(): void {
    this.raise(EV_WRITABLE);
  }

  onAcked(): void {
    this.raise(EV_ACKED);
  }

  onClose(err: NetError | null): void {
    this.closeErr = err;
    this.raise(EV_CLOSE);
  }

  private raise(ev: number): void {
    const first = this.events === 0;
    this.events |= ev;
    if (first) this.stack.events.post(this);
  }

  /** @internal Delivers the queued connection events, in the order a connection raises them. */
  deliverEvents(): void {
    const ev = this.events;
    this.events = 0;
    if ((ev & EV_CONNECT) !== 0) {
      this.connecting = false;
      this.touch();
      this.emit('connect');
      this.emit('ready');
      this.flushPending();
    }
    if ((ev & EV_DATA) !== 0) this.pump();
    if ((ev & EV_PEER_FIN) !== 0) {
      this.peerEnded = true;
      this.wantRead = this.wantRead || this.readableFlowing === true;
      this.pump();
    }
    if ((ev & EV_ACKED) !== 0 && this.tcb !== null) this.zcComplete(this.tcb.snd.una);
    if ((ev & EV_WRITABLE) !== 0) this.flushPending();
    if ((ev & EV_CLOSE) !== 0) this.connectionClosed(this.closeErr);
  }

  private connectionClosed(err: NetError | null): void {
    if (err !== null) {
      this.connecting = false;
      this.destroy(decorate(err, this));
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
  private bound: AddressInfo | null = null;
  private readonly hold = new HandleRef();
  /** Connections established and not yet announced with 'connection'. */
  private readonly accepted: Socket[] = [];

  constructor(
    private readonly stack: NetHost,
    private readonly opts: SocketOptions = {},
  ) {
    super();
  }

  /** @internal Emits 'connection' for each connection established during the turn. */
  deliverEvents(): void {
    const q = this.accepted;
    for (let i = 0; i < q.length; i++) this.emit('connection', q[i]);
    q.length = 0;
  }

  get listening(): boolean {
    return this.listener !== null || this.listener6 !== null;
  }

  /**
   * node's overloads: listen([port[, host[, backlog]]][, cb]) and listen(options[, cb]). No host,
   * or '::', listens dual-stack when the stack has IPv6 (address() then says '::', IPv6, as node);
   * '0.0.0.0' or an IPv4 address listens on IPv4 only, an IPv6 address on IPv6 only.
   */
  listen(port?: number, host?: string, backlog?: number, cb?: () => void): this;
  listen(port?: number, host?: string, cb?: () => void): this;
  listen(port?: number, backlog?: number, cb?: () => void): this;
  listen(port?: number, cb?: () => void): this;
  listen(options: ListenOptions, cb?: () => void): this;
  listen(cb?: () => void): this;
  listen(...args: unknown[]): this {
    const a = args as unknown[];
    let cb: (() => void) | undefined;
    if (typeof a[a.length - 1] === 'function') cb = a.pop() as () => void;
    let port: unknown = 0;
    let host: string | undefined;
    let backlog = 511;
    let ipv6Only = false;
    const a0 = a[0];
    if (a0 !== null && typeof a0 === 'object') {
      const o = a0 as ListenOptions;
      port = o.port ?? 0;
      host = o.host;
      backlog = o.backlog ?? backlog;
      ipv6Only = o.ipv6Only ?? false;
    } else {
      port = a0 ?? 0;
      if (typeof a[1] === 'string') host = a[1];
      else if (typeof a[1] === 'number') backlog = a[1];
      if (typeof a[2] === 'number') backlog = a[2];
    }
    const p0 = validatePort(port, 'options.port');
    if (this.listening) {
      throw new NetError('ERR_SERVER_ALREADY_LISTEN', 'listen', {
        message: 'Listen method has been called more than once without closing.',
      });
    }
    if (cb !== undefined) this.once('listening', cb);
    const st = this.stack;
    const tcp4 = st.tcpOf(4)!;
    const tcp6 = st.tcpOf(6);
    host = host === undefined ? undefined : resolveHost(host);
    // Which families, and what address() reports (node: '::' when IPv6 is there, else 0.0.0.0).
    let v4 = true;
    let v6 = tcp6 !== null;
    let address = v6 ? '::' : '0.0.0.0';
    if (host !== undefined && host !== '::') {
      if (host.includes(':')) {
        try {
          parseIpv6(host);
        } catch {
          return this.fail('EADDRNOTAVAIL', host, p0);
        }
        if (!v6) return this.fail('EADDRNOTAVAIL', host, p0);
        v4 = false;
        address = host;
      } else {
        let ip: In4;
        try {
          ip = parseIn4(host);
        } catch {
          return this.fail('EADDRNOTAVAIL', host, p0);
        }
        if (ip !== IN4_ANY && !st.isLocal4(ip)) return this.fail('EADDRNOTAVAIL', host, p0);
        v6 = false;
        address = host;
      }
    } else if (host === '::' && !v6) {
      return this.fail('EADDRNOTAVAIL', host, p0);
    }
    if (ipv6Only && v6) v4 = false;
    const family: 'IPv4' | 'IPv6' = address.includes(':') ? 'IPv6' : 'IPv4';
    let p = p0;
    if (p === 0) p = (v4 ? tcp4 : tcp6!).ephemeralPortAny(0);
    const { onread: _o, ...own } = this.opts;
    const opts = { ...st.tcpDefaults, ...own };
    const onConnection = (tcb: Tcb): void => {
      const s = new Socket(st, this.opts);
      s.attach(tcb, false);
      this.sockets.add(s);
      s.once('close', () => {
        this.sockets.delete(s);
        this.maybeClosed();
      });
      // 'connection' once the datapath returns (EventQueue).
      if (this.accepted.push(s) === 1) st.events.post(this);
    };
    const l4 = v4 ? tcp4.listen(p, backlog, opts, onConnection) : null;
    const l6 = v6 && (!v4 || l4 !== null) ? tcp6!.listen(p, backlog, opts, onConnection) : null;
    if ((v4 && l4 === null) || (v6 && l6 === null)) {
      if (l4 !== null) tcp4.unlisten(l4);
      if (cb !== undefined) this.off('listening', cb);
      return this.fail('EADDRINUSE', address, p);
    }
    this.listener = l4;
    this.listener6 = l6;
    this.bound = { address, family, port: p };
    this.updateRef();
    process.nextTick(() => this.emit('listening'));
    return this;
  }

  private fail(code: 'EADDRINUSE' | 'EADDRNOTAVAIL', address: string, port: number): this {
    const err = new NetError(code, 'listen', { address, port });
    process.nextTick(() => this.emit('error', err));
    return this;
  }

  /** node: { address, family, port } while listening, else null. */
  address(): AddressInfo | null {
    return this.bound === null ? null : { ...this.bound };
  }

  /** Connections accepted and not yet closed (node's server.getConnections). */
  getConnections(cb: (err: Error | null, count: number) => void): this {
    const n = this.sockets.size;
    process.nextTick(() => cb(null, n));
    return this;
  }

  /** The server keeps the process alive while listening (the default, as node). */
  ref(): this {
    this.hold.refd = true;
    this.updateRef();
    return this;
  }

  /** The process may exit while this server listens (node's server.unref()). */
  unref(): this {
    this.hold.refd = false;
    this.updateRef();
    return this;
  }

  private updateRef(): void {
    this.hold.sync(this.stack, this.listening);
  }

  /**
   * Stops accepting; established connections are left alone and 'close' is emitted once the last
   * of them has closed (node semantics). Not listening: 'close' still comes, and cb gets
   * ERR_SERVER_NOT_RUNNING, as node.
   */
  close(cb?: (err?: Error) => void): this {
    if (!this.listening) {
      if (cb !== undefined)
        this.once('close', () =>
          cb(new NetError('ERR_SERVER_NOT_RUNNING', 'close', { message: 'Server is not running.' })),
        );
    } else if (cb !== undefined) this.once('close', cb);
    if (this.listener !== null) this.stack.tcpOf(4)!.unlisten(this.listener);
    if (this.listener6 !== null) this.stack.tcpOf(6)!.unlisten(this.listener6);
    this.listener = null;
    this.listener6 = null;
    this.bound = null;
    this.updateRef();
    this.closing = true;
    process.nextTick(() => this.maybeClosed());
    return this;
  }

  private maybeClosed(): void {
    if (!this.closing || this.sockets.size > 0 || this.listening) return;
    this.closing = false;
    this.emit('close');
  }
}

/** `stack.net`: the node:net and node:dgram entry points bound to one stack. */
export class Net {
  constructor(private readonly stack: NetHost) {}

  /** node's createServer([options][, listener]); (listener, options) is accepted too. */
  createServer(
    listener?: ((s: Socket) => void) | SocketOptions,
    opts: SocketOptions | ((s: Socket) => void) = {},
  ): Server {
    if (typeof listener === 'object')
      [listener, opts] = [typeof opts === 'function' ? opts : undefined, listener];
    if (typeof opts === 'function') opts = {};
    const s = new Server(this.stack, opts);
    if (listener !== undefined) s.on('connection', listener);
    return s;
  }

  /** node's overloads: connect(options[, cb]) and connect(port[, host][, cb]). */
  connect(opts: ConnectOptions | number, host?: string | (() => void), cb?: () => void): Socket {
    if (typeof opts !== 'object') {
      const h = typeof host === 'string' ? host : undefined;
      return this.connect(
        { port: opts, ...(h === undefined ? {} : { host: h }) },
        typeof host === 'function' ? host : cb,
      );
    }
    if (typeof host === 'function') cb = host;
    const st = this.stack;
    const port = validatePort(opts.port);
    const hostName = resolveHost(opts.host ?? 'localhost');
    const s = new Socket(st, opts);
    if (cb !== undefined) s.once('connect', cb);
    // A name (only 'localhost' here) is looked up first: node emits 'lookup' before connecting.
    if ((opts.host ?? 'localhost') === 'localhost')
      process.nextTick(() => s.emit('lookup', null, hostName, 4, opts.host ?? 'localhost'));
    const fail = (code: 'ENETUNREACH' | 'EADDRNOTAVAIL' | 'EADDRINUSE'): Socket => {
      s.opening(hostName, port);
      const err = new NetError(code, 'connect', { address: hostName, port });
      process.nextTick(() => {
        s.connecting = false;
        s.destroy(err);
      });
      return s;
    };
    const { host: _h, port: _p, localPort: _l, allowHalfOpen: _a, onread: _o, ...tcbOpts } = opts;
    // The family's TCP and IP output; the source address its route gives (tcp_v4_connect /
    // tcp_v6_connect → ip_route_connect / ip6_dst_lookup).
    const v6 = hostName.includes(':');
    const tcp = st.tcpOf(v6 ? 6 : 4);
    const out = st.l3(v6 ? 6 : 4);
    if (tcp === null || out === null) return fail('ENETUNREACH');
    const pair = new IpPairScratch();
    try {
      if (v6) pair.raddr6.set(parseIpv6(hostName));
      else pair.raddr = parseIn4(hostName);
    } catch {
      return fail('EADDRNOTAVAIL');
    }
    // No TCP to a multicast group (IPv6 ff00::/8).
    if (v6 && pair.raddr6[0] === 0xff) return fail('ENETUNREACH');
    const srcErr = out.selectSource(pair);
    if (srcErr !== null) return fail(srcErr);
    const lport = opts.localPort ?? tcp.ephemeralPort(pair, port);
    if (lport < 0 || tcp.lookup(pair, lport, port) !== undefined) return fail('EADDRINUSE');
    const tcb = tcp.connect(pair, lport, port, { ...st.tcpDefaults, ...tcbOpts });
    s.connectHost = hostName;
    s.connectPort = port;
    s.attach(tcb, true);
    return s;
  }

  createConnection(opts: ConnectOptions | number, host?: string | (() => void), cb?: () => void): Socket {
    return this.connect(opts, host, cb);
  }

  /** A dgram-like UDP socket; it sends to IPv4 and IPv6 addresses alike. */
  createSocket(
    type: 'udp4' | 'udp6' | { type: 'udp4' | 'udp6' } = 'udp4',
    onMessage?: (msg: Buffer, rinfo: RemoteInfo) => void,
  ): UdpSocket {
    const u = new UdpSocket(this.stack.udp, typeof type === 'string' ? type : type.type);
    if (onMessage !== undefined) u.on('message', onMessage);
    return u;
  }
}
