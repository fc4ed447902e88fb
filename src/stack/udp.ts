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
  parseIpv4,
  parseIpv6,
  pseudoSum,
  type IpAddr,
} from '../wire/index.ts';
import { csumFinish, csumPartial } from '../checksum/index.ts';
import { NetError } from './errors.ts';
import type { Stack } from './stack.ts';

export interface RemoteInfo {
  address: string;
  family: 'IPv4' | 'IPv6';
  port: number;
  size: number;
}

export class UdpLayer {
  private readonly ports = new Map<number, UdpSocket>();
  private readonly view = new UdpView();
  private nextEphemeral = 49152;

  constructor(private readonly stack: Stack) {}

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

  /** One datagram; false when no socket is bound to its port (the caller sends port unreachable). */
  input(buf: Uint8Array, off: number, len: number, src: IpAddr, dst: IpAddr, csumOk: boolean): boolean {
    const c = this.stack.counters;
    const v = this.view.reset(buf, off, len);
    if (v.check() !== null) {
      c.udpInErrors++;
      return true;
    }
    const ulen = v.length;
    // RFC 8200 §8.1: a zero checksum over IPv6 is invalid (udp6_csum_init).
    if (typeof src !== 'number' && v.checksum === 0) {
      c.udpInCsumErrors++;
      return true;
    }
    if (
      !csumOk &&
      v.checksum !== 0 &&
      csumPartial(buf, off, ulen, pseudoSum(src, dst, IpProto.UDP, ulen)) !== 0xffff
    ) {
      c.udpInCsumErrors++;
      return true;
    }
    const s = this.ports.get(v.dstPort);
    if (s === undefined) {
      c.udpNoPorts++;
      return false;
    }
    c.udpInDatagrams++;
    const n = ulen - UDP_HLEN;
    // The API hands out a Buffer the application keeps: one copy per datagram is inherent.
    const msg = Buffer.allocUnsafe(n);
    msg.set(buf.subarray(off + UDP_HLEN, off + ulen));
    s.emit('message', msg, {
      address: typeof src === 'number' ? ipv4ToString(src) : ipv6ToString(src),
      family: typeof src === 'number' ? 'IPv4' : 'IPv6',
      port: v.srcPort,
      size: n,
    } satisfies RemoteInfo);
    return true;
  }

  send(sport: number, data: Uint8Array, dst: IpAddr, dport: number): boolean {
    const st = this.stack;
    if (typeof dst !== 'number') return st.ip6 !== null && st.ip6.udpSend(sport, data, dst, dport);
    const l4Len = UDP_HLEN + data.length;
    // Over the MTU, or over one buffer (a jumbo MTU): built linear and sent whole or fragmented.
    if (l4Len > st.l4Mtu || l4Len > st.inlineMax) {
      const s = st.sourceFor(dst);
      return s >= 0 && st.frag4.sendUdp(sport, data, s, dst, dport);
    }
    const src = st.sourceFor(dst);
    if (src < 0) return false;
    const m = st.allocL4(l4Len);
    if (m === null) return false;
    const buf = st.pool.data;
    const o = m.dataOffset + st.l4Offset;
    buf[o] = sport >>> 8;
    buf[o + 1] = sport;
    buf[o + 2] = dport >>> 8;
    buf[o + 3] = dport;
    buf[o + 4] = l4Len >>> 8;
    buf[o + 5] = l4Len;
    buf.set(data, o + UDP_HLEN);
    const ps = pseudoSum(src, dst, IpProto.UDP, l4Len);
    if (st.txCsum) {
      buf[o + 6] = ps >>> 8;
      buf[o + 7] = ps;
      m.meta.flags |= META_F_NEEDS_CSUM;
      m.meta.csumStart = st.l4Offset;
      m.meta.csumOffset = 6;
    } else {
      buf[o + 6] = 0;
      buf[o + 7] = 0;
      const cs = csumFinish(csumPartial(buf, o, l4Len, ps)) || 0xffff;
      buf[o + 6] = cs >>> 8;
      buf[o + 7] = cs;
    }
    st.counters.udpOutDatagrams++;
    st.sendIpv4(m, src, dst, IpProto.UDP, l4Len);
    st.time.poke();
    return true;
  }
}

/** A dgram.Socket-like UDP socket: 'listening', 'message' (msg, rinfo), 'close', 'error'. */
export class UdpSocket extends EventEmitter {
  private port = -1;
  private closed = false;

  constructor(private readonly stack: Stack) {
    super();
  }

  bind(port = 0, cb?: () => void): this {
    if (this.port >= 0) throw new NetError('EADDRINUSE', 'bind', 'socket already bound');
    const p = this.stack.udp.bind(this, port);
    if (p < 0) {
      process.nextTick(() => this.emit('error', new NetError('EADDRINUSE', 'bind')));
      return this;
    }
    this.port = p;
    if (cb !== undefined) this.once('listening', cb);
    process.nextTick(() => this.emit('listening'));
    return this;
  }

  address(): { address: string; family: 'IPv4'; port: number } {
    return { address: ipv4ToString(this.stack.addr), family: 'IPv4', port: this.port };
  }

  send(
    msg: Uint8Array | string,
    port: number,
    address: string,
    cb?: (err: Error | null, bytes: number) => void,
  ): void {
    if (this.closed) throw new NetError('ERR_SOCKET_CLOSED', 'send', 'socket is closed');
    if (this.port < 0) this.bind(0);
    const data = typeof msg === 'string' ? Buffer.from(msg) : msg;
    const dst = address.includes(':') ? parseIpv6(address) : parseIpv4(address);
    const ok = this.stack.udp.send(this.port, data, dst, port);
    const err = ok ? null : new NetError('ENETUNREACH', 'send');
    if (cb !== undefined) process.nextTick(() => cb(err, ok ? data.length : 0));
    else if (err !== null) process.nextTick(() => this.emit('error', err));
  }

  close(cb?: () => void): void {
    if (this.closed) return;
    this.closed = true;
    if (this.port >= 0) this.stack.udp.unbind(this.port, this);
    if (cb !== undefined) this.once('close', cb);
    process.nextTick(() => this.emit('close'));
  }
}
