// ICMPv4 for the IPv4 layer (RFC 792; Linux icmp_rcv, icmp_echo, icmp_send): echo replies (also
// to reassembled echoes larger than one buffer, sent back as fragments), errors about datagrams we
// received (rate limited, quoting the header and 8 bytes), received errors handed to Icmp4Errors,
// time exceeded when a reassembly times out, and ping.
import type { Mbuf, Mempool } from '../../mbuf/index.ts';
import {
  ICMP_HLEN,
  IcmpTimeExceededCode,
  IcmpType,
  Icmpv4View,
  IPV4_MIN_HLEN,
  Ipv4View,
  type In4,
} from '../../wire/index.ts';
import { EchoWaiters, fillEchoData } from '../echo.ts';
import type { StackCounters } from '../counters.ts';
import { StackError } from '../errors.ts';
import type { IcmpRateLimit } from '../icmp-rate.ts';
import type { TimerHost } from '../timer.ts';
import { Icmp4Errors, type Icmp4ErrorsHost } from './icmp-errors.ts';

/** Largest IPv4 datagram. */
const IP_MAX = 65535;

/** What ICMPv4 needs from the IPv4 layer (it passes itself). */
export interface Icmp4Host extends Icmp4ErrorsHost {
  readonly counters: StackCounters;
  readonly time: TimerHost;
  readonly pool: Mempool;
  readonly icmpRate: IcmpRateLimit;
  /** L4 bytes that fit one packet buffer behind Ethernet + IPv4. */
  readonly inlineMax: number;
  /** Where the L4 header starts in an mbuf allocL4 returns. */
  readonly l4Offset: number;
  allocL4(l4Len: number): Mbuf | null;
  /** Sends l4Len ICMP bytes at l4Offset in m from our address to dst; m is consumed. */
  sendIcmp(m: Mbuf, dst: In4, l4Len: number): void;
  /** Scratch for a message larger than one buffer: its bytes go at [IPV4_MIN_HLEN, +l4Len). */
  readonly large: Uint8Array;
  /** Sends the message written in `large` to dst as fragments; false when it cannot. */
  sendIcmpLarge(dst: In4, l4Len: number): boolean;
}

export class Icmp4 {
  readonly errors: Icmp4Errors;
  private readonly view = new Icmpv4View();
  private readonly out = new Icmpv4View();
  private readonly ip = new Ipv4View();
  private readonly echo: EchoWaiters;

  constructor(private readonly host: Icmp4Host) {
    this.errors = new Icmp4Errors(host);
    this.echo = new EchoWaiters(host.time.timers);
  }

  /** One ICMP message at buf[off, off+len) from src; `bcast`: sent to a broadcast address (icmp_rcv). */
  input(buf: Uint8Array, off: number, len: number, src: In4, bcast: boolean): void {
    const h = this.host;
    const c = h.counters;
    c.icmpInMsgs++;
    const v = this.view.reset(buf, off, len);
    if (v.check() !== null || !v.verifyChecksum()) {
      c.icmpInErrors++;
      return;
    }
    const type = v.type;
    if (type === IcmpType.ECHO_REQUEST && v.code === 0) {
      c.icmpInEchos++;
      // icmp_echo_ignore_broadcasts = 1.
      if (!bcast) this.echoReply(buf, off, len, src);
    } else if (type === IcmpType.ECHO_REPLY && v.code === 0) {
      c.icmpInEchoReps++;
      this.echo.reply(v.ident, v.seq, buf, off + ICMP_HLEN, len - ICMP_HLEN);
    } else if (type === IcmpType.DEST_UNREACH || type === IcmpType.TIME_EXCEEDED) {
      this.errors.input(v);
    }
  }

  /** icmp_echo: the request's bytes back with type ECHO_REPLY. */
  private echoReply(buf: Uint8Array, off: number, len: number, src: In4): void {
    const h = this.host;
    const big = len > h.inlineMax;
    // A reassembled large echo: the reply is built in the large scratch and leaves as fragments
    // (Linux's icmp_reply appends it to a fragment list the same way).
    const m = big ? null : h.allocL4(len);
    if (!big && m === null) return;
    const b = m === null ? h.large : h.pool.data;
    const l4 = m === null ? IPV4_MIN_HLEN : m.dataOffset + h.l4Offset;
    b.set(buf.subarray(off, off + len), l4);
    const v = this.out.reset(b, l4, len);
    v.type = IcmpType.ECHO_REPLY;
    v.fillChecksum();
    this.send(m, src, len);
  }

  private send(m: Mbuf | null, dst: In4, len: number): void {
    this.host.counters.icmpOutMsgs++;
    if (m === null) this.host.sendIcmpLarge(dst, len);
    else this.host.sendIcmp(m, dst, len);
  }

  /**
   * An ICMP error quoting the IP header + 8 bytes of the datagram at ipOff (icmp_send), rate-limited.
   * @mirrors ipv4/icmp.c:__icmp_send
   */
  error(buf: Uint8Array, ipOff: number, type: number, code: number): void {
    const h = this.host;
    if (!h.icmpRate.allow(h.now())) return;
    const ip = this.ip.reset(buf, ipOff, buf.length - ipOff);
    const quote = Math.min(ip.headerLen + 8, ip.totalLength);
    this.sendError(buf.subarray(ipOff, ipOff + quote), ip.srcIn4, type, code);
  }

  /** ip_expire: time exceeded (reassembly) about a datagram to our unicast address, never a broadcast. */
  reasmExpired(first: Uint8Array): boolean {
    const h = this.host;
    const ip = this.ip.reset(first, 0, first.length);
    if (ip.dstIn4 !== h.addr || !h.icmpRate.allow(h.now())) return false;
    return this.sendError(first, ip.srcIn4, IcmpType.TIME_EXCEEDED, IcmpTimeExceededCode.REASSEMBLY);
  }

  private sendError(quote: Uint8Array, dst: In4, type: number, code: number): boolean {
    const h = this.host;
    const len = ICMP_HLEN + quote.length;
    const m = h.allocL4(len);
    if (m === null) return false;
    const b = h.pool.data;
    const l4 = m.dataOffset + h.l4Offset;
    const v = this.out.reset(b, l4, len);
    v.type = type;
    v.code = code;
    v.rest = 0;
    b.set(quote, l4 + ICMP_HLEN);
    v.fillChecksum();
    this.send(m, dst, len);
    return true;
  }

  /**
   * Sends one ICMP echo request with `size` data bytes (at least 8: the send time) and resolves
   * with the round-trip time in ms, or rejects with ETIMEDOUT after `timeout` ms.
   */
  ping(dst: In4, opts: { timeout?: number; size?: number }): Promise<number> {
    const h = this.host;
    const size = Math.max(8, opts.size ?? 56);
    if (size > IP_MAX - IPV4_MIN_HLEN - ICMP_HLEN)
      return Promise.reject(new StackError('STACK_ARG', `ping size ${size}`));
    return this.echo.open(opts.timeout ?? 1000, (ident) => {
      const len = ICMP_HLEN + size;
      // Larger than one buffer: built in the large scratch and sent as fragments.
      const m = len > h.inlineMax ? null : h.allocL4(len);
      if (m === null && len <= h.inlineMax) return false;
      const b = m === null ? h.large : h.pool.data;
      const l4 = m === null ? IPV4_MIN_HLEN : m.dataOffset + h.l4Offset;
      const v = this.out.reset(b, l4, len);
      v.type = IcmpType.ECHO_REQUEST;
      v.code = 0;
      v.ident = ident;
      v.seq = 1;
      fillEchoData(b, l4, size, h.now());
      v.fillChecksum();
      this.send(m, dst, len);
      return true;
    });
  }
}
