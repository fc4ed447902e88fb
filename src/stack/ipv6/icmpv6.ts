// ICMPv6 for the IPv6 layer (RFC 4443; Linux icmpv6_rcv, icmpv6_echo_reply, icmp6_send): echo
// replies (a reassembled echo larger than one buffer goes back as fragments), errors with a global
// rate limit quoting as much as fits in the minimum MTU, packet too big feeding the path MTU
// (RFC 8201) and TCP, ping, and the NDP messages handed to ndp.ts.
import type { Mbuf, Mempool } from '../../mbuf/index.ts';
import {
  get16,
  get32,
  getF64,
  ICMP_HLEN,
  Icmpv6Type,
  Icmpv6View,
  IpProto,
  IPV6_HLEN,
  parseIpv6,
  Ipv6View,
  pseudoSum,
} from '../../wire/index.ts';
import { pseudoV6 } from '../../checksum/index.ts';
import { NetError, StackError } from '../errors.ts';
import { fillEchoData } from '../echo.ts';
import type { IcmpRateLimit } from '../icmp-rate.ts';
import { IpPairScratch, type IpPair } from '../l3.ts';
import type { PmtuCache } from '../pmtu.ts';
import type { TimerHost } from '../timer.ts';
import { isMulticast, isUnspecified, key6, type Ipv6Address } from './addr.ts';
import type { Ipv6Counters } from './counters.ts';

/** Ethernet + IPv6 header in front of the L4 header. */
const L4_OFF6 = 14 + IPV6_HLEN;
const IP6_MAX_PAYLOAD = 65535;
/** RFC 4443 §2.4(c): an error message must not exceed the minimum MTU. */
export const ICMP6_ERR_MAX = 1280 - IPV6_HLEN;

/** What ICMPv6 needs from the IPv6 layer (it passes itself). */
export interface Icmp6Host {
  readonly counters: Ipv6Counters;
  readonly time: TimerHost;
  readonly pool: Mempool;
  readonly icmpRate: IcmpRateLimit;
  readonly pmtu: PmtuCache<string>;
  /** Hop limit of packets we originate. */
  readonly hopLimit: number;
  /** L4 bytes that fit one packet buffer behind Ethernet + IPv6. */
  readonly inlineMax: number;
  now(): number;
  findAddress(buf: Uint8Array, off: number): Ipv6Address | undefined;
  sourceFor(dst: Uint8Array, dstOff: number, out: Uint8Array): boolean;
  allocL4(l4Len: number): Mbuf | null;
  /** Fills the IPv6/Ethernet headers for l4Len bytes of next header nh and sends; m is consumed. */
  send(m: Mbuf, src: Uint8Array, dst: Uint8Array, nh: number, l4Len: number, hopLimit: number): void;
  /** Scratch for a packet larger than one buffer: IPv6 header at 0, payload at IPV6_HLEN. */
  readonly large: Uint8Array;
  writeHeader(
    b: Uint8Array,
    o: number,
    src: Uint8Array,
    dst: Uint8Array,
    nh: number,
    l4Len: number,
    hop: number,
  ): void;
  /** Sends the packet in `large` (len bytes with its header) as fragments; false when it cannot. */
  sendLarge(len: number, dst: Uint8Array): boolean;
  /** TCP's tcp_v6_err. */
  tcpError(p: IpPair, lport: number, rport: number, seq: number, mtu: number): void;
  /** NDP messages (router/neighbour solicitation and advertisement, redirect). */
  ndpInput(v: Icmpv6View, buf: Uint8Array, ipOff: number, mcast: boolean): void;
}

type EchoWaiter = (rtt: number) => void;

export class Icmp6 {
  private readonly icmp = new Icmpv6View();
  private readonly out = new Icmpv6View();
  private readonly quoted = new Ipv6View();
  private readonly pair = new IpPairScratch();
  private readonly src16 = new Uint8Array(16);
  private readonly dst16 = new Uint8Array(16);
  private readonly tmp16 = new Uint8Array(16);
  private readonly echoDst16 = new Uint8Array(16);
  private readonly echoWaiters = new Map<number, EchoWaiter>();
  private echoIdent = 1;

  constructor(private readonly host: Icmp6Host) {}

  input(buf: Uint8Array, ipOff: number, off: number, len: number, mcast: boolean, csumOk: boolean): void {
    const c = this.host.counters;
    c.icmpInMsgs++;
    const v = this.icmp.reset(buf, off, len);
    if (
      v.check() !== null ||
      (!csumOk && !v.verifyChecksum(pseudoV6(buf, ipOff + 8, ipOff + 24, IpProto.ICMPV6, len)))
    ) {
      c.icmpInErrors++;
      return;
    }
    const type = v.type;
    switch (type) {
      case Icmpv6Type.ECHO_REQUEST:
        c.icmpInEchos++;
        this.echoReply(buf, ipOff, off, len, mcast);
        return;
      case Icmpv6Type.ECHO_REPLY: {
        c.icmpInEchoReplies++;
        const key = ((v.ident << 16) | v.seq) >>> 0;
        const w = this.echoWaiters.get(key);
        if (w !== undefined && len >= ICMP_HLEN + 8) {
          this.echoWaiters.delete(key);
          w(this.host.now() - getF64(buf, off + ICMP_HLEN));
        }
        return;
      }
      case Icmpv6Type.PACKET_TOO_BIG:
        c.icmpInPktTooBigs++;
        this.packetTooBig(v);
        return;
      case Icmpv6Type.DEST_UNREACH:
        c.icmpInDestUnreachs++;
        return;
      case Icmpv6Type.TIME_EXCEEDED:
        c.icmpInTimeExcds++;
        return;
      case Icmpv6Type.PARAM_PROBLEM:
        c.icmpInParmProblems++;
        return;
      default:
        this.host.ndpInput(v, buf, ipOff, mcast);
    }
  }

  /** RFC 8201: the quoted packet must be one we sent; the MTU only lowers the path MTU. */
  private packetTooBig(v: Icmpv6View): void {
    const c = this.host.counters;
    const q = this.quoted.reset(v.buf, v.dataOff, v.dataLen);
    if (q.checkHeader() !== null || this.host.findAddress(v.buf, q.srcOff) === undefined) {
      c.ptbNotOurs++;
      return;
    }
    const now = this.host.now();
    const dkey = key6(v.buf, q.dstOff);
    if (this.host.pmtu.update(dkey, v.mtu, now) > 0) c.ptbApplied++;
    // TCP shrinks its segments for a quoted segment inside its window (tcp_v6_err).
    if (q.checkQuoted() === null && q.upperProto === IpProto.TCP && !q.ext.isFragment) {
      const b = v.buf;
      const l4 = q.upperOff;
      if (l4 + 8 <= v.off + v.len) {
        const p = this.pair;
        q.copySrc(p.laddr6);
        q.copyDst(p.raddr6);
        this.host.tcpError(
          p,
          get16(b, l4),
          get16(b, l4 + 2),
          get32(b, l4 + 4),
          this.host.pmtu.get(dkey, now),
        );
      }
    }
  }

  private echoReply(buf: Uint8Array, ipOff: number, off: number, len: number, mcast: boolean): void {
    const src = this.tmp16;
    if (mcast) {
      if (!this.host.sourceFor(buf, ipOff + 8, src)) {
        this.host.counters.outNoSource++;
        return;
      }
    } else for (let i = 0; i < 16; i++) src[i] = buf[ipOff + 24 + i]!;
    const dst = this.echoDst16;
    for (let i = 0; i < 16; i++) dst[i] = buf[ipOff + 8 + i]!;
    if (len > this.host.inlineMax) {
      // A reassembled large echo: the reply goes out fragmented from the scratch.
      this.host.large.set(buf.subarray(off, off + len), IPV6_HLEN);
      this.out.reset(this.host.large, IPV6_HLEN, len).type = Icmpv6Type.ECHO_REPLY;
      this.sendIcmpScratch(src, dst, len);
      return;
    }
    const m = this.host.allocL4(len);
    if (m === null) return;
    const pb = this.host.pool.data;
    const l4 = m.dataOffset + L4_OFF6;
    pb.set(buf.subarray(off, off + len), l4);
    this.out.reset(pb, l4, len).type = Icmpv6Type.ECHO_REPLY;
    this.sendIcmp(m, src, dst, len, this.host.hopLimit);
  }

  /** Sends the ICMPv6 message at tx[40, 40 + len) (checksum filled here) as fragments. */
  private sendIcmpScratch(src: Uint8Array, dst: Uint8Array, len: number): void {
    const tx = this.host.large;
    this.out.reset(tx, IPV6_HLEN, len).fillChecksum(pseudoSum(src, dst, IpProto.ICMPV6, len));
    this.host.writeHeader(tx, 0, src, dst, IpProto.ICMPV6, len, this.host.hopLimit);
    this.host.counters.icmpOutMsgs++;
    this.host.counters.outRequests++;
    this.host.sendLarge(IPV6_HLEN + len, dst);
  }

  /** Fills the checksum of the ICMPv6 message at L4_OFF6 in m and sends it. */
  sendIcmp(m: Mbuf, src: Uint8Array, dst: Uint8Array, len: number, hopLimit: number): void {
    const v = this.out.reset(this.host.pool.data, m.dataOffset + L4_OFF6, len);
    v.fillChecksum(pseudoSum(src, dst, IpProto.ICMPV6, len));
    this.host.counters.icmpOutMsgs++;
    this.host.send(m, src, dst, IpProto.ICMPV6, len, hopLimit);
  }

  /**
   * An ICMPv6 error about the packet at buf[ipOff] (icmp6_send): never about an error message, a
   * multicast source or the unspecified source, about a multicast destination only for parameter
   * problem code 2 with `allowMcast`; quotes as much as fits in 1280 bytes; rate limited.
   * @mirrors ipv6/icmp.c:icmp6_send
   */
  error(buf: Uint8Array, ipOff: number, type: number, code: number, rest: number, allowMcast = false): void {
    const c = this.host.counters;
    const so = ipOff + 8;
    const dso = ipOff + 24;
    if (isMulticast(buf, so) || isUnspecified(buf, so)) return;
    if (isMulticast(buf, dso) && !allowMcast && type !== Icmpv6Type.PACKET_TOO_BIG) return;
    // Not about an ICMPv6 error (RFC 4443 §2.4(e)): look at the first header only, as Linux's
    // is_ineligible does after skipping extension headers; a quick check on the fixed header.
    if (buf[ipOff + 6] === IpProto.ICMPV6 && buf.length > ipOff + IPV6_HLEN && buf[ipOff + IPV6_HLEN]! < 128)
      return;
    const now = this.host.now();
    if (!this.host.icmpRate.allow(now)) {
      c.icmpRateLimited++;
      return;
    }
    const src = this.src16;
    if (isMulticast(buf, dso) || this.host.findAddress(buf, dso) === undefined) {
      if (!this.host.sourceFor(buf, so, src)) return;
    } else for (let i = 0; i < 16; i++) src[i] = buf[dso + i]!;
    const plen = ((buf[ipOff + 4]! << 8) | buf[ipOff + 5]!) + IPV6_HLEN;
    const quote = Math.min(plen, buf.length - ipOff, ICMP6_ERR_MAX - ICMP_HLEN);
    const len = ICMP_HLEN + quote;
    const m = this.host.allocL4(len);
    if (m === null) return;
    const pb = this.host.pool.data;
    const l4 = m.dataOffset + L4_OFF6;
    const v = this.out.reset(pb, l4, len);
    v.type = type;
    v.code = code;
    v.rest = rest;
    pb.set(buf.subarray(ipOff, ipOff + quote), l4 + ICMP_HLEN);
    const dst = this.dst16;
    for (let i = 0; i < 16; i++) dst[i] = buf[so + i]!;
    c.icmpOutErrors++;
    this.sendIcmp(m, src, dst, len, this.host.hopLimit);
  }

  /**
   * ICMPv6 echo to `host` with `size` data bytes (at least 8: the send time); resolves with the
   * round-trip time in ms, rejects with ETIMEDOUT after `timeout` ms or EADDRNOTAVAIL when no
   * source address is usable yet (DAD still running).
   */
  ping(host: string, opts: { timeout?: number; size?: number } = {}): Promise<number> {
    const dst = parseIpv6(host);
    const size = Math.max(8, opts.size ?? 56);
    if (size > IP6_MAX_PAYLOAD - ICMP_HLEN)
      return Promise.reject(new StackError('STACK_ARG', `ping size ${size}`));
    const timeout = opts.timeout ?? 1000;
    const src = new Uint8Array(16);
    if (!this.host.sourceFor(dst, 0, src)) return Promise.reject(new NetError('EADDRNOTAVAIL', 'ping'));
    return new Promise<number>((resolve, reject) => {
      const ident = this.echoIdent;
      this.echoIdent = (this.echoIdent + 1) & 0xffff;
      const key = ((ident << 16) | 1) >>> 0;
      const timer = this.host.time.timers.timer(() => {
        this.echoWaiters.delete(key);
        reject(new NetError('ETIMEDOUT', 'ping'));
      });
      this.echoWaiters.set(key, (rtt) => {
        timer.cancel();
        resolve(rtt);
      });
      timer.arm(timeout);
      const len = ICMP_HLEN + size;
      if (len > this.host.inlineMax) {
        this.fillEcho(this.host.large, IPV6_HLEN, ident, size);
        this.sendIcmpScratch(src, dst, len);
        return;
      }
      const m = this.host.allocL4(len);
      if (m === null) {
        timer.cancel();
        this.echoWaiters.delete(key);
        reject(new StackError('STACK_FULL', 'no packet buffer for ping'));
        return;
      }
      this.fillEcho(this.host.pool.data, m.dataOffset + L4_OFF6, ident, size);
      this.sendIcmp(m, src, dst, len, this.host.hopLimit);
    });
  }

  /** An echo request (sequence 1) with `size` data bytes at b[l4]; the checksum is filled on send. */
  private fillEcho(b: Uint8Array, l4: number, ident: number, size: number): void {
    const v = this.out.reset(b, l4, ICMP_HLEN + size);
    v.type = Icmpv6Type.ECHO_REQUEST;
    v.code = 0;
    v.ident = ident;
    v.seq = 1;
    fillEchoData(b, l4, size, this.host.now());
  }
}
