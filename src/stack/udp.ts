// UDP (udp_rcv / udp_sendmsg) and a dgram-like socket: bind(), send(), 'message' events with
// rinfo, close(). Checksums are verified unless the interface vouched for them; a zero checksum
// over IPv4 means "none" (RFC 768).
import { EventEmitter } from 'node:events';
import { META_F_NEEDS_CSUM } from '../mbuf/index.ts';
import {
  IpProto,
  UDP_HLEN,
  UdpView,
  ipv4ToString,
  ipv6ToString,
  parseIn4,
  parseIpv6,
  type In4,
} from '../wire/index.ts';
import type { StackCounters } from './counters.ts';
import { NetError } from './errors.ts';
import { HandleRef, type ProcessRefs } from './handle-ref.ts';
import { IpPairScratch, type IpPair, type L3Output, type UdpInput } from './l3.ts';
import type { EventQueue } from './events.ts';
import type { TimerHost } from './timer.ts';

/** A datagram's address as the stack holds it: an In4, or 16 bytes for IPv6. */
export type UdpAddr = In4 | Uint8Array;

/** Text → UdpAddr (WireError BAD_ADDRESS when it is neither family's). */
function parseUdpAddr(a: string): UdpAddr {
  return a.includes(':') ? parseIpv6(a) : parseIn4(a);
}

/** What UDP needs from the stack: counters, the timer host, process refs and each family's output. */
export interface UdpHost extends ProcessRefs {
  readonly counters: StackCounters;
  /** Where socket events raised inside the datapath wait for it to return. */
  readonly events: EventQueue;
  readonly time: TimerHost;
  /** The IP output of a family, null when the family is not configured. */
  l3(family: 4 | 6): L3Output | null;
}

export interface RemoteInfo {
  address: string;
  family: 'IPv4' | 'IPv6';
  port: number;
  size: number;
}

export class UdpLayer implements UdpInput {
  private readonly ports = new Map<number, UdpSocket>();
  private readonly view = new UdpView();
  private readonly out = new UdpView();
  private readonly txPair = new IpPairScratch();
  private nextEphemeral = 49152;

  constructor(readonly host: UdpHost) {}

  bind(s: UdpSocket, port: number): number {
    if (port === 0) {
      for (let i = 0; i < 16384; i++) {
        const p = this.nextEphemeral;
        this.nextEphemeral = p === 65535 ? 49152 : p + 1;
        if (!this.ports.has(p)) {
          port = p;
          break;
        }
      }
      if (port === 0) return -1;
    }
    if (this.ports.has(port)) return -1;
    this.ports.set(port, s);
    return port;
  }

  unbind(port: number, s: UdpSocket): void {
    if (this.ports.get(port) === s) this.ports.delete(port);
  }

  /** The bound sockets (a snapshot's UDP section). */
  sockets(): UdpSocket[] {
    return [...this.ports.values()];
  }

  /** Whether `port` is bound. */
  bound(port: number): boolean {
    return this.ports.has(port);
  }

  /** One datagram from p.r (udp_rcv / udpv6_rcv); false when no socket is bound to its port. */
  input(buf: Uint8Array, off: number, len: number, p: IpPair, family: 4 | 6, csumOk: boolean): boolean {
    const c = this.host.counters;
    const v = this.view.reset(buf, off, len);
    if (v.check() !== null) {
      c.udpInErrors++;
      return true;
    }
    const ulen = v.length;
    // RFC 8200 §8.1: a zero checksum over IPv6 is invalid (udp6_csum_init).
    if (family === 6 && v.checksum === 0) {
      c.udpInCsumErrors++;
      return true;
    }
    if (
      !csumOk &&
      v.checksum !== 0 &&
      !v.verifyChecksum(this.host.l3(family)!.pseudo(p, IpProto.UDP, ulen))
    ) {
      c.udpInCsumErrors++;
      return true;
    }
    const src: UdpAddr = family === 4 ? p.raddr : p.raddr6;
    const s = this.ports.get(v.dstPort);
    if (s === undefined || !s.accepts(src, v.srcPort)) {
      c.udpNoPorts++;
      return false;
    }
    c.udpInDatagrams++;
    const n = ulen - UDP_HLEN;
    // The API hands out a Buffer the application keeps: one copy per datagram is inherent.
    const msg = Buffer.allocUnsafe(n);
    msg.set(buf.subarray(off + UDP_HLEN, off + ulen));
    s.received(msg, {
      address: family === 4 ? ipv4ToString(p.raddr) : ipv6ToString(p.raddr6),
      family: family === 4 ? 'IPv4' : 'IPv6',
      port: v.srcPort,
      size: n,
    });
    return true;
  }

  /** Whether dst is a broadcast address of ours (sending there needs SO_BROADCAST). */
  isBroadcast(dst: UdpAddr): boolean {
    if (typeof dst !== 'number') return false;
    const out = this.host.l3(4);
    this.txPair.raddr = dst;
    return out !== null && out.isBroadcast(this.txPair);
  }

  /**
   * One datagram from sport to dst:dport (udp_sendmsg / udpv6_sendmsg), either family: in one
   * buffer with the checksum left to the interface when it can, or, past the MTU or one buffer,
   * built linear and sent as fragments. False when it cannot be sent (no route, no source).
   */
  send(sport: number, data: Uint8Array, dst: UdpAddr, dport: number): boolean {
    const h = this.host;
    const v4 = typeof dst === 'number';
    const out = h.l3(v4 ? 4 : 6);
    if (out === null) return false;
    const p = this.txPair;
    if (v4) p.raddr = dst;
    else p.raddr6.set(dst);
    if (out.selectSource(p) !== null) return false;
    const l4Len = UDP_HLEN + data.length;
    if (out.ipHeaderLen + l4Len > out.large.length) return false;
    const ps = out.pseudo(p, IpProto.UDP, l4Len);
    if (l4Len > out.l4Mtu || l4Len > out.inlineMax) {
      const u = this.writeHeader(out.large, out.ipHeaderLen, sport, dport, l4Len);
      out.large.set(data, out.ipHeaderLen + UDP_HLEN);
      u.fillChecksum(ps);
      h.counters.udpOutDatagrams++;
      return out.outputLarge(p, IpProto.UDP, l4Len);
    }
    const m = out.allocL4(l4Len);
    if (m === null) return false;
    const buf = out.pool.data;
    const o = m.dataOffset + out.l4Offset;
    const u = this.writeHeader(buf, o, sport, dport, l4Len);
    buf.set(data, o + UDP_HLEN);
    if (out.txCsum) {
      u.checksum = ps;
      m.meta.flags |= META_F_NEEDS_CSUM;
      m.meta.csumStart = out.l4Offset;
      m.meta.csumOffset = 6;
    } else {
      u.fillChecksum(ps);
    }
    h.counters.udpOutDatagrams++;
    out.output(m, p, IpProto.UDP, l4Len);
    return true;
  }

  private writeHeader(b: Uint8Array, o: number, sport: number, dport: number, l4Len: number): UdpView {
    const u = this.out.reset(b, o, l4Len);
    u.srcPort = sport;
    u.dstPort = dport;
    u.length = l4Len;
    u.checksum = 0;
    return u;
  }
}

/** A bound UDP socket in a snapshot; `peerPort` 0 when not connected. */
export interface UdpSocketState {
  type: 'udp4' | 'udp6';
  port: number;
  address: string;
  broadcast: boolean;
  peerAddress: string;
  peerPort: number;
}

/** Largest UDP payload over IPv4 (65535 - 20 - 8) and over IPv6 (65535 - 8, no jumbograms). */
const UDP4_MAX_DATA = 65507;
const UDP6_MAX_DATA = 65527;

/** Called once a datagram is sent, or with the error that prevented it (dgram's send callback). */
export type SendCallback = (err: Error | null, bytes?: number) => void;
/** What dgram's send accepts as a message: bytes, a string, or a list of them. */
export type Msg = Uint8Array | string | readonly (Uint8Array | string)[];

/** node's sliceBuffer: (msg, offset, length) as one Buffer. */
function sliceBuffer(buffer: Msg, offset: unknown, length: unknown): Msg {
  if (Array.isArray(buffer)) return buffer;
  const b = typeof buffer === 'string' ? Buffer.from(buffer) : (buffer as Uint8Array);
  const off = typeof offset === 'number' ? offset >>> 0 : 0;
  const len = typeof length === 'number' ? length >>> 0 : b.length - off;
  return b.subarray(off, off + len);
}

function notRunning(): NetError {
  return new NetError('ERR_SOCKET_DGRAM_NOT_RUNNING', 'send', { message: 'Not running' });
}

/**
 * A dgram.Socket-like UDP socket: 'listening', 'connect', 'message' (msg, rinfo), 'close',
 * 'error'; bind, send with node's overloads, connect/disconnect/remoteAddress, setBroadcast,
 * ref/unref. A bound socket keeps the process alive unless unref'd, as node.
 */
export class UdpSocket extends EventEmitter {
  private port = -1;
  private bindAddress = '';
  private closed = false;
  private broadcast = false;
  private peer: { address: string; port: number; ip: UdpAddr } | null = null;
  private readonly hold = new HandleRef();
  /** Datagrams received and not yet emitted: message, rinfo pairs. */
  private readonly inbox: (Buffer | RemoteInfo)[] = [];

  constructor(
    private readonly layer: UdpLayer,
    readonly type: 'udp4' | 'udp6' = 'udp4',
  ) {
    super();
  }

  /** node's overloads: bind([port][, address][, cb]) and bind(options[, cb]). */
  bind(port?: number, address?: string, cb?: () => void): this;
  bind(port?: number, cb?: () => void): this;
  bind(cb?: () => void): this;
  bind(options: { port?: number; address?: string }, cb?: () => void): this;
  bind(...args: unknown[]): this {
    let cb: (() => void) | undefined;
    if (typeof args[args.length - 1] === 'function') cb = args.pop() as () => void;
    let port: unknown = 0;
    let address: string | undefined;
    const a0 = args[0];
    if (a0 !== null && typeof a0 === 'object') {
      const o = a0 as { port?: number; address?: string };
      port = o.port ?? 0;
      address = o.address;
    } else {
      port = a0 ?? 0;
      if (typeof args[1] === 'string') address = args[1];
    }
    if (this.closed) throw notRunning();
    if (this.port >= 0)
      throw new NetError('ERR_SOCKET_ALREADY_BOUND', 'bind', { message: 'Socket is already bound' });
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535)
      throw new NetError('ERR_SOCKET_BAD_PORT', 'bind', {
        message: `Port should be >= 0 and < 65536. Received ${String(port)}.`,
      });
    const any = this.type === 'udp6' ? '::' : '0.0.0.0';
    const addr =
      address === undefined || address === ''
        ? any
        : address === 'localhost'
          ? this.type === 'udp6'
            ? '::1'
            : '127.0.0.1'
          : address;
    if (cb !== undefined) this.once('listening', cb);
    const p = this.layer.bind(this, port);
    if (p < 0) {
      const err = new NetError('EADDRINUSE', 'bind', { address: addr, port });
      process.nextTick(() => this.emit('error', err));
      return this;
    }
    this.port = p;
    this.bindAddress = addr;
    this.updateRef();
    process.nextTick(() => this.emit('listening'));
    return this;
  }

  /** The bound address (node: '0.0.0.0' or '::' unless bound to one); EBADF when not bound. */
  address(): { address: string; family: 'IPv4' | 'IPv6'; port: number } {
    if (this.port < 0 || this.closed) throw new NetError('EBADF', 'getsockname');
    const a = this.bindAddress;
    return { address: a, family: a.includes(':') ? 'IPv6' : 'IPv4', port: this.port };
  }

  /** node's overloads: send(msg[, offset, length][, port][, address][, cb]); port/address only when unconnected. */
  send(msg: Msg, port: number, address?: string, cb?: SendCallback): void;
  send(msg: Msg, port: number, cb?: SendCallback): void;
  send(msg: Msg, offset: number, length: number, port: number, address?: string, cb?: SendCallback): void;
  send(msg: Msg, offset: number, length: number, port: number, cb?: SendCallback): void;
  send(msg: Msg, offset: number, length: number, cb?: SendCallback): void;
  send(msg: Msg, cb?: SendCallback): void;
  send(msg: Msg, ...args: unknown[]): void {
    // node's argument normalisation (lib/dgram.js Socket.prototype.send), quirks included: a
    // connected socket given (msg, port, address) takes the port for a callback and sends to
    // its peer.
    const [offset, length] = args;
    let [, , port, address, callback] = args;
    let buffer: Msg = msg;
    const connected = this.peer !== null;
    if (!connected) {
      if (address || (port && typeof port !== 'function')) buffer = sliceBuffer(buffer, offset, length);
      else {
        callback = port;
        port = offset;
        address = length;
      }
    } else {
      if (typeof length === 'number') {
        buffer = sliceBuffer(buffer, offset, length);
        if (typeof port === 'function') {
          callback = port;
          port = null;
        }
      } else callback = offset;
      if (port || address)
        throw new NetError('ERR_SOCKET_DGRAM_IS_CONNECTED', 'send', { message: 'Already connected' });
    }
    const data = Array.isArray(buffer)
      ? Buffer.concat(
          (buffer as (Uint8Array | string)[]).map((m) => (typeof m === 'string' ? Buffer.from(m) : m)),
        )
      : typeof buffer === 'string'
        ? Buffer.from(buffer)
        : (buffer as Uint8Array);
    if (!connected && (typeof port !== 'number' || !Number.isInteger(port) || port <= 0 || port > 65535))
      throw new NetError('ERR_SOCKET_BAD_PORT', 'send', {
        message: `Port should be > 0 and < 65536. Received ${String(port)}.`,
      });
    if (typeof address === 'function') {
      callback = address;
      address = undefined;
    }
    const cb = typeof callback === 'function' ? (callback as SendCallback) : undefined;
    if (this.closed) throw notRunning();
    let dport: number;
    let dst: string;
    if (this.peer !== null) {
      dport = this.peer.port;
      dst = this.peer.address;
    } else {
      dport = port as number;
      dst =
        typeof address === 'string' && address !== '' && address !== 'localhost'
          ? address
          : this.loopbackName();
    }
    if (this.port < 0) this.bind(0);
    const err = this.send1(data, dport, dst);
    // node: errors go to the callback only; without one the datagram is silently lost.
    if (cb !== undefined) process.nextTick(() => (err === null ? cb(null, data.length) : cb(err)));
  }

  private loopbackName(): string {
    return this.type === 'udp6' ? '::1' : '127.0.0.1';
  }

  private send1(data: Uint8Array, port: number, address: string): NetError | null {
    let dst: UdpAddr;
    try {
      dst = parseUdpAddr(address);
    } catch {
      return new NetError('EINVAL', 'send', { address, port });
    }
    const v4 = typeof dst === 'number';
    if (data.length > (v4 ? UDP4_MAX_DATA : UDP6_MAX_DATA))
      return new NetError('EMSGSIZE', 'send', { address, port });
    if (v4 && !this.broadcast && this.layer.isBroadcast(dst))
      return new NetError('EACCES', 'send', { address, port });
    if (!this.layer.send(this.port, data, dst, port))
      return new NetError('ENETUNREACH', 'send', { address, port });
    return null;
  }

  /** Fixes the peer: send() needs no address and only its datagrams are received (node's connect). */
  connect(port: number, address?: string | (() => void), cb?: () => void): void {
    if (typeof address === 'function') {
      cb = address;
      address = undefined;
    }
    if (this.closed) throw notRunning();
    if (this.peer !== null)
      throw new NetError('ERR_SOCKET_DGRAM_IS_CONNECTED', 'connect', { message: 'Already connected' });
    if (typeof port !== 'number' || !Number.isInteger(port) || port <= 0 || port > 65535)
      throw new NetError('ERR_SOCKET_BAD_PORT', 'connect', {
        message: `Port should be > 0 and < 65536. Received ${String(port)}.`,
      });
    const a = address === undefined || address === 'localhost' ? this.loopbackName() : address;
    if (cb !== undefined) this.once('connect', cb);
    if (this.port < 0) this.bind(0);
    let ip: UdpAddr;
    try {
      ip = parseUdpAddr(a);
    } catch {
      const err = new NetError('EINVAL', 'connect', { address: a, port });
      process.nextTick(() => this.emit('error', err));
      return;
    }
    this.peer = { address: a, port, ip };
    process.nextTick(() => this.emit('connect'));
  }

  /** Forgets the peer; ERR_SOCKET_DGRAM_NOT_CONNECTED when there is none. */
  disconnect(): void {
    if (this.closed) throw notRunning();
    if (this.peer === null)
      throw new NetError('ERR_SOCKET_DGRAM_NOT_CONNECTED', 'disconnect', { message: 'Not connected' });
    this.peer = null;
  }

  /** The peer set by connect(); ERR_SOCKET_DGRAM_NOT_CONNECTED when there is none. */
  remoteAddress(): { address: string; family: 'IPv4' | 'IPv6'; port: number } {
    if (this.closed) throw notRunning();
    const p = this.peer;
    if (p === null)
      throw new NetError('ERR_SOCKET_DGRAM_NOT_CONNECTED', 'getpeername', { message: 'Not connected' });
    return { address: p.address, family: typeof p.ip === 'number' ? 'IPv4' : 'IPv6', port: p.port };
  }

  /** SO_BROADCAST: without it a datagram to a broadcast address fails with EACCES (Linux). */
  setBroadcast(flag: boolean): void {
    if (this.port < 0 || this.closed) throw new NetError('EBADF', 'setBroadcast');
    this.broadcast = flag;
  }

  /**
   * What a snapshot keeps of a bound socket: its binding, broadcast flag and connected peer.
   * Datagrams not yet emitted are not kept (UDP may lose them anyway).
   */
  exportState(): UdpSocketState {
    return {
      type: this.type,
      port: this.port,
      address: this.bindAddress,
      broadcast: this.broadcast,
      peerAddress: this.peer?.address ?? '',
      peerPort: this.peer?.port ?? 0,
    };
  }

  /** @internal A datagram arrived: 'message' once the datapath returns (EventQueue). */
  received(msg: Buffer, rinfo: RemoteInfo): void {
    const first = this.inbox.length === 0;
    this.inbox.push(msg, rinfo);
    if (first) this.layer.host.events.post(this);
  }

  /** @internal Emits the queued 'message' events (a socket closed meanwhile drops them, as node). */
  deliverEvents(): void {
    const q = this.inbox;
    for (let i = 0; i < q.length && !this.closed; i += 2) this.emit('message', q[i], q[i + 1]);
    q.length = 0;
  }

  /** @internal Whether a datagram from (src, sport) is for this socket (a connected one takes only its peer's). */
  accepts(src: UdpAddr, sport: number): boolean {
    const p = this.peer;
    if (p === null) return true;
    if (sport !== p.port) return false;
    if (typeof src === 'number' || typeof p.ip === 'number') return src === p.ip;
    for (let i = 0; i < 16; i++) if (src[i] !== p.ip[i]) return false;
    return true;
  }

  /** The socket keeps the process alive while bound (the default, as node). */
  ref(): this {
    this.hold.refd = true;
    this.updateRef();
    return this;
  }

  /** The process may exit while this socket is bound (node's socket.unref()). */
  unref(): this {
    this.hold.refd = false;
    this.updateRef();
    return this;
  }

  private updateRef(): void {
    this.hold.sync(this.layer.host, this.port >= 0 && !this.closed);
  }

  close(cb?: () => void): this {
    if (this.closed) throw notRunning();
    this.closed = true;
    if (this.port >= 0) this.layer.unbind(this.port, this);
    this.updateRef();
    if (cb !== undefined) this.once('close', cb);
    process.nextTick(() => this.emit('close'));
    return this;
  }
}
