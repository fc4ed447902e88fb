// IPv4 fragmentation (ip_fragment / ip_do_fragment) and reassembly glue (ip_defrag) over the shared
// Reassembler. A datagram over the path MTU with DF clear is linearised once into a scratch
// buffer and cut into 8-byte-aligned pieces, each a frame with a copy of the header (we send no
// options, so nothing is left out of later fragments). Reassembled datagrams are rebuilt in a
// scratch buffer with a fresh header and fed back to IPv4 input; a queue that times out after its
// first fragment arrived is answered with ICMP time exceeded, code 1 (ip_expire).
import { META_F_NEEDS_CSUM, type Mbuf } from '../mbuf/index.ts';
import {
  ETH_HLEN,
  EtherType,
  ICMP_HLEN,
  IcmpTimeExceededCode,
  IcmpType,
  IpProto,
  IPV4_MIN_HLEN,
  pseudoSum,
  set16,
  set32,
  type Ipv4View,
  UDP_HLEN,
} from '../wire/index.ts';
import { csumFinish, csumPartial } from '../checksum/index.ts';
import { Reassembler, type ReasmParams, type ReasmQueue } from './reassembly.ts';
import type { Mempool } from '../mbuf/index.ts';
import type { NetIf } from '../netif/index.ts';
import type { StackCounters } from './counters.ts';
import type { IcmpRateLimit } from './icmp-rate.ts';
import type { NeighbourCache } from './neighbour.ts';
import type { PmtuCache } from './pmtu.ts';
import type { RouteTable4 } from './route.ts';
import type { TimerHost } from './timer.ts';

/** What IPv4 fragmentation and reassembly need from the stack (the stack passes itself). */
export interface Ipv4FragHost {
  readonly addr: number;
  readonly prefixLen: number;
  readonly mask: number;
  readonly netif: NetIf;
  readonly time: TimerHost;
  readonly pool: Mempool;
  readonly counters: StackCounters;
  readonly arp: NeighbourCache<number, Mbuf>;
  readonly routes4: RouteTable4;
  readonly pmtu4: PmtuCache<number>;
  readonly icmpRate: IcmpRateLimit;
  /** Where the L4 header starts in an mbuf allocL4 returns. */
  readonly l4Offset: number;
  now(): number;
  nextIpIdent(): number;
  allocL4(l4Len: number): Mbuf | null;
  sendIpv4(m: Mbuf, src: number, dst: number, proto: number, l4Len: number): void;
  xmitTo(m: Mbuf, ll: Uint8Array): void;
  /** The destination is one of our own addresses (or 127/8): the datagram goes over the loopback. */
  isLocal4(dst: number): boolean;
  /** Hands a frame back to the stack's own input, without the NIC. */
  loopback(m: Mbuf): void;
}

/** Largest IPv4 datagram. */
const IP_MAX = 65535;
const BROADCAST_MAC = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

export class Ipv4FragCounters {
  /** Datagrams fragmented (FragOKs) and fragments made (FragCreates). */
  fragOks = 0;
  fragCreates = 0;
  /** Datagrams that could not be fragmented: no buffer, or no route for a fragment (FragFails). */
  fragFails = 0;
  /** Reassembled datagrams over 65535 bytes with their header. */
  reasmOversize = 0;
  /** ICMP time exceeded (reassembly) sent. */
  timeExceededOut = 0;
}

export class Ipv4Frag {
  readonly reasm: Reassembler;
  readonly counters = new Ipv4FragCounters();
  /** The last reassembled datagram (header + payload). */
  readonly out = new Uint8Array(IP_MAX);
  /**
   * Linearised outgoing datagram (20-byte header at 0). Callers building a datagram too large for
   * one buffer write its L4 bytes at IPV4_MIN_HLEN and call sendLinear.
   */
  readonly tx = new Uint8Array(IP_MAX);

  constructor(
    private readonly stack: Ipv4FragHost,
    params: Partial<ReasmParams> = {},
  ) {
    this.reasm = new Reassembler(stack.time.timers, (q) => this.expired(q), {
      maxPayload: IP_MAX - IPV4_MIN_HLEN,
      ...params,
    });
  }

  /**
   * One fragment addressed to us (ip_defrag). Returns the length of the reassembled datagram now
   * in `out` (its header has MF and offset cleared), or 0 when nothing is complete yet.
   */
  input(buf: Uint8Array, off: number, ip: Ipv4View): number {
    const hl = ip.headerLen;
    // Fragments are off the fast path: a string key per fragment is acceptable.
    const key = `${ip.src}-${ip.dst}-${ip.ident}-${ip.protocol}`;
    const more = ip.moreFrags;
    // A non-last fragment is cut down to a multiple of 8 bytes (ip_frag_queue: end &= ~7); one
    // left empty kills the datagram in the reassembler, as discard_qp does. IPv6 refuses instead.
    const fragLen = more ? ip.payloadLen & ~7 : ip.payloadLen;
    const r = this.reasm.add(
      key,
      ip.protocol,
      ip.fragOffset,
      more,
      buf,
      ip.payloadOff,
      fragLen,
      off,
      hl,
      // The header and 8 bytes of data: what the ICMP error on timeout quotes.
      hl + 8,
    );
    if (r !== 'complete') return 0;
    const q = this.reasm.done!;
    const first = q.first!;
    const o = this.out;
    const fhl = q.firstHdrLen;
    if (fhl + q.total > IP_MAX) {
      // Options in the first header push the datagram past 64 KiB (ip_frag_reasm's out_oversize).
      this.counters.reasmOversize++;
      this.reasm.release(q);
      return 0;
    }
    o.set(first.subarray(0, fhl), 0);
    o.set(q.data.subarray(0, q.total), fhl);
    const len = fhl + q.total;
    this.reasm.release(q);
    set16(o, 2, len);
    // Keep DF, clear MF and the offset.
    set16(o, 6, ((o[6]! << 8) | o[7]!) & 0x4000);
    set16(o, 10, 0);
    set16(o, 10, csumFinish(csumPartial(o, 0, fhl)));
    return len;
  }

  private expired(q: ReasmQueue): void {
    const first = q.first;
    if (first === null || first.length < IPV4_MIN_HLEN) return;
    const st = this.stack;
    // Only for datagrams to our unicast address (ip_expire's RTN_LOCAL check): never for broadcasts.
    const dst = ((first[16]! << 24) | (first[17]! << 16) | (first[18]! << 8) | first[19]!) >>> 0;
    if (dst !== st.addr || !st.icmpRate.allow(st.now())) return;
    const quote = first.length;
    const len = ICMP_HLEN + quote;
    const m = st.allocL4(len);
    if (m === null) return;
    const pb = st.pool.data;
    const l4 = m.dataOffset + st.l4Offset;
    pb[l4] = IcmpType.TIME_EXCEEDED;
    pb[l4 + 1] = IcmpTimeExceededCode.REASSEMBLY;
    pb.fill(0, l4 + 2, l4 + ICMP_HLEN);
    pb.set(first, l4 + ICMP_HLEN);
    set16(pb, l4 + 2, csumFinish(csumPartial(pb, l4, len)));
    this.counters.timeExceededOut++;
    st.counters.icmpOutMsgs++;
    const src = (first[12]! << 24) | (first[13]! << 16) | (first[14]! << 8) | first[15]!;
    st.sendIpv4(m, st.addr, src >>> 0, IpProto.ICMP, len);
  }

  /**
   * Fragments the frame in m (Ethernet + IPv4 header without options + payload; DF clear) into
   * pieces that fit `mtu` and sends them to `dst`; m is consumed. A pending NEEDS_CSUM is
   * completed first (skb_checksum_help), since the receiver checks the sum over the whole datagram.
   */
  fragmentFrame(m: Mbuf, mtu: number, dst: number): void {
    const ipLen = m.length - ETH_HLEN;
    const tx = this.tx;
    if (ipLen > IP_MAX) {
      this.counters.fragFails++;
      m.free();
      return;
    }
    m.copyTo(tx, 0, ETH_HLEN, ipLen);
    if ((m.meta.flags & META_F_NEEDS_CSUM) !== 0) {
      const cs = m.meta.csumStart - ETH_HLEN;
      const at = cs + m.meta.csumOffset;
      // The field holds the pseudo-header sum: summing over it completes the checksum.
      const v = csumFinish(csumPartial(tx, cs, ipLen - cs));
      set16(tx, at, tx[9] === IpProto.UDP ? v || 0xffff : v);
    }
    m.free();
    this.sendFragments(ipLen, mtu, dst);
  }

  /**
   * Sends a UDP datagram too large for one frame as IPv4 fragments (the UFO-less path of
   * ip_append_data). Returns false when it cannot be sent.
   */
  sendUdp(sport: number, data: Uint8Array, src: number, dst: number, dport: number): boolean {
    const l4Len = UDP_HLEN + data.length;
    if (IPV4_MIN_HLEN + l4Len > IP_MAX) return false;
    const tx = this.tx;
    const u = IPV4_MIN_HLEN;
    set16(tx, u, sport);
    set16(tx, u + 2, dport);
    set16(tx, u + 4, l4Len);
    set16(tx, u + 6, 0);
    tx.set(data, u + UDP_HLEN);
    set16(
      tx,
      u + 6,
      csumFinish(csumPartial(tx, u, l4Len, pseudoSum(src, dst, IpProto.UDP, l4Len))) || 0xffff,
    );
    this.stack.counters.udpOutDatagrams++;
    return this.sendLinear(src, dst, IpProto.UDP, l4Len);
  }

  /**
   * Sends the L4 bytes at tx[20, 20 + l4Len) (checksum already filled) as one datagram cut into
   * fragments that fit the path MTU: the path for messages larger than one packet buffer (a big
   * ICMP echo or its reply, ip_push_pending_frames over a fragment list). False when it cannot.
   */
  sendLinear(src: number, dst: number, proto: number, l4Len: number): boolean {
    if (IPV4_MIN_HLEN + l4Len > IP_MAX) return false;
    this.writeHeader(src, dst, proto, l4Len);
    this.stack.counters.ipOutRequests++;
    return this.sendFragments(IPV4_MIN_HLEN + l4Len, this.stack.pmtu4.get(dst, this.stack.now()), dst);
  }

  private writeHeader(src: number, dst: number, proto: number, l4Len: number): void {
    const tx = this.tx;
    tx[0] = 0x45;
    tx[1] = 0;
    set16(tx, 2, IPV4_MIN_HLEN + l4Len);
    set16(tx, 4, this.stack.nextIpIdent());
    set16(tx, 6, 0);
    tx[8] = 64;
    tx[9] = proto;
    set32(tx, 12, src);
    set32(tx, 16, dst);
  }

  /**
   * Cuts the datagram in tx[0, ipLen) (20-byte header) into fragments of at most mtu bytes, or
   * sends it whole when it fits. Each frame's payload is appended to its header, chaining segments
   * when an MTU exceeds one buffer.
   */
  private sendFragments(ipLen: number, mtu: number, dst: number): boolean {
    const st = this.stack;
    const c = this.counters;
    const tx = this.tx;
    const hl = IPV4_MIN_HLEN;
    const payload = ipLen - hl;
    const whole = ipLen <= mtu;
    const step = whole ? payload : (mtu - hl) & ~7;
    if (!whole && step < 8) {
      c.fragFails++;
      return false;
    }
    const bcast =
      dst === 0xffffffff ||
      (st.prefixLen < 31 &&
        (dst | st.mask) >>> 0 === 0xffffffff &&
        (dst & st.mask) >>> 0 === (st.addr & st.mask) >>> 0);
    const local = st.isLocal4(dst);
    const hop = bcast || local ? dst : st.routes4.nextHop(dst);
    if (hop < 0) {
      st.counters.ipOutNoRoutes++;
      c.fragFails++;
      return false;
    }
    const baseFrag = (((tx[6]! << 8) | tx[7]!) & 0x1fff) * 8;
    const baseMf = (tx[6]! & 0x20) !== 0;
    const mac = st.netif.mac;
    for (let at = 0; at < payload; at += step) {
      const n = Math.min(step, payload - at);
      const m = st.pool.alloc();
      const h = ETH_HLEN + hl;
      if (m === null || !m.extend(h) || m.headLength < h || !m.append(tx, hl + at, n)) {
        m?.free();
        st.counters.txNoBuffers++;
        c.fragFails++;
        return false;
      }
      const pb = st.pool.data;
      const o = m.dataOffset;
      pb.set(mac, o + 6);
      set16(pb, o + 12, EtherType.IPV4);
      const ih = o + ETH_HLEN;
      pb.set(tx.subarray(0, hl), ih);
      set16(pb, ih + 2, hl + n);
      const more = at + n < payload || baseMf;
      set16(pb, ih + 6, ((baseFrag + at) >>> 3) | (more ? 0x2000 : 0));
      set16(pb, ih + 10, 0);
      set16(pb, ih + 10, csumFinish(csumPartial(pb, ih, hl)));
      if (!whole) c.fragCreates++;
      if (local) {
        st.loopback(m);
        continue;
      }
      const ll = bcast ? BROADCAST_MAC : st.arp.resolve(hop, m, st.now());
      if (ll !== null) st.xmitTo(m, ll);
    }
    if (!whole) c.fragOks++;
    st.time.poke();
    return true;
  }
}
