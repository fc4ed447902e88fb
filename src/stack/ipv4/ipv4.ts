// IPv4 for the stack (RFC 791; Linux ip_rcv / ip_local_deliver / ip_queue_xmit): one address with
// its prefix and an optional gateway, input with header checks, martian filtering and reassembly,
// delivery to TCP, UDP and ICMP, and output that fills the header, then loops back, broadcasts,
// fragments past the path MTU (DF clear) or resolves the next hop through ARP. It is the family-4
// L3Output that TCP and UDP send through.
import type { Mbuf, Mempool } from '../../mbuf/index.ts';
import {
  ETH_HLEN,
  EtherType,
  IcmpType,
  IcmpUnreachCode,
  IPV4_MIN_HLEN,
  IN4_ANY,
  IN4_BROADCAST,
  in4Mask,
  IpProto,
  Ipv4View,
  pseudoSum,
  type In4,
} from '../../wire/index.ts';
import type { StackCounters } from '../counters.ts';
import type { IcmpRateLimit } from '../icmp-rate.ts';
import { IpPairScratch, type IpPair, type L3Output, type SourceError, type TransportInputs } from '../l3.ts';
import type { LinkOutput } from '../link/link.ts';
import type { NeighbourEntry, NeighbourParams } from '../neighbour.ts';
import { PmtuCache } from '../pmtu.ts';
import type { ReasmParams } from '../reassembly.ts';
import { RouteTable4 } from '../route.ts';
import type { TimerHost } from '../timer.ts';
import { Arp, BROADCAST_MAC } from './arp.ts';
import { Ipv4Frag, type Ipv4FragHost } from './frag.ts';
import { Icmp4, type Icmp4Host } from './icmp.ts';

const LOOPBACK4 = 0x7f000001 as In4;

/** 127.0.0.0/8 (RFC 1122 §3.2.1.3); an In4 or a u32. */
export function isLoopback4(a: number): boolean {
  return a >>> 24 === 127;
}

export interface Ipv4Config {
  /** Our address and prefix length. */
  addr: In4;
  prefixLen: number;
  /** Default gateway (on-link), or null. */
  gateway: In4 | null;
  /** Link MTU. */
  mtu: number;
  txCsum: boolean;
  /** TCPv4 super-frames may be sent. */
  tso: boolean;
  arp?: Partial<NeighbourParams>;
  reasm?: Partial<ReasmParams>;
}

export class Ipv4Layer implements L3Output, Icmp4Host, Ipv4FragHost {
  readonly family = 4;
  readonly addr: In4;
  readonly prefixLen: number;
  readonly mask: In4;
  readonly gateway: In4 | null;
  readonly l4Offset = ETH_HLEN + IPV4_MIN_HLEN;
  readonly ipHeaderLen = IPV4_MIN_HLEN;
  readonly l4Mtu: number;
  readonly txCsum: boolean;
  readonly tso: boolean;
  readonly pool: Mempool;
  /** IPv4 routes: the connected prefix and the default gateway. */
  readonly routes = new RouteTable4();
  readonly pmtu: PmtuCache<In4>;
  readonly arp: Arp;
  readonly frag: Ipv4Frag;
  readonly icmp: Icmp4;
  private transport: TransportInputs | null = null;
  private readonly view = new Ipv4View();
  private readonly hdr = new Ipv4View();
  private readonly rxPair = new IpPairScratch();
  private readonly txPair = new IpPairScratch();
  /** The next IPv4 identification (carried by a snapshot so a restored stack does not reuse recent ones). */
  ident = 0;
  /**
   * A one-entry dst cache: the last unicast destination sent to, the route generation it was
   * resolved under and its neighbour. Linux keeps the route in the socket (sk_dst_cache) and
   * neigh_output sends to a connected neighbour without entering the state machine.
   */
  private dstAddr = IN4_BROADCAST;
  private dstGen = -1;
  private dstNeigh: NeighbourEntry<In4, Mbuf> | null = null;

  constructor(
    private readonly link: LinkOutput,
    readonly counters: StackCounters,
    readonly time: TimerHost,
    readonly icmpRate: IcmpRateLimit,
    cfg: Ipv4Config,
  ) {
    this.addr = cfg.addr;
    this.prefixLen = cfg.prefixLen;
    this.mask = in4Mask(cfg.prefixLen);
    this.gateway = cfg.gateway;
    this.pool = link.pool;
    this.l4Mtu = cfg.mtu - IPV4_MIN_HLEN;
    this.txCsum = cfg.txCsum;
    this.tso = cfg.tso;
    this.routes.add(this.addr, this.prefixLen);
    if (this.gateway !== null) this.routes.add(IN4_ANY, 0, this.gateway);
    this.pmtu = new PmtuCache<In4>(cfg.mtu, false);
    this.arp = new Arp(link, this.addr, time, counters, cfg.arp);
    this.frag = new Ipv4Frag(this, cfg.reasm);
    this.icmp = new Icmp4(this);
  }

  /** Connects the transport protocols input delivers to (inet_add_protocol). */
  attach(t: TransportInputs): void {
    this.transport = t;
  }

  now(): number {
    return this.time.timers.now();
  }

  // ------------------------------------------------------------------ addresses

  /** Our address or 127/8: the datagram goes over the loopback. */
  isOurs(dst: In4): boolean {
    return dst === this.addr || isLoopback4(dst);
  }

  /** The limited broadcast or our subnet's directed broadcast. */
  isBroadcastAddr(dst: In4): boolean {
    return (
      dst === IN4_BROADCAST ||
      (this.prefixLen < 31 &&
        (dst | this.mask) === IN4_BROADCAST &&
        (dst & this.mask) === (this.addr & this.mask))
    );
  }

  /**
   * Our address when `dst` is reachable (a route matches: on-link, a gateway, the default), else
   * null. 127/8 is reached over the loopback from 127.0.0.1, as Linux's lo.
   */
  sourceFor(dst: In4): In4 | null {
    if (isLoopback4(dst)) return LOOPBACK4;
    if (this.routes.lookup(dst) !== undefined) return this.addr;
    return dst === this.addr ? this.addr : null;
  }

  // ------------------------------------------------------------------ L3Output

  l4PathMtu(p: IpPair): number {
    return this.pmtu.get(p.raddr, this.now()) - IPV4_MIN_HLEN;
  }

  pseudo(p: IpPair, proto: number, l4Len: number): number {
    return pseudoSum(p.laddr, p.raddr, proto, l4Len);
  }

  selectSource(p: IpPair): SourceError | null {
    const s = this.sourceFor(p.raddr);
    if (s === null) return 'ENETUNREACH';
    p.laddr = s;
    return null;
  }

  isBroadcast(p: IpPair): boolean {
    return this.isBroadcastAddr(p.raddr);
  }

  /** L4 bytes that fit one packet buffer behind Ethernet + IPv4 (larger ones go through `large`). */
  get inlineMax(): number {
    const p = this.pool;
    return p.segmentSize - p.headroom - this.l4Offset;
  }

  /** An mbuf sized for an L4 payload of `l4Len` bytes behind Ethernet + IPv4, or null (counted). */
  allocL4(l4Len: number): Mbuf | null {
    const m = this.pool.alloc();
    const total = this.l4Offset + l4Len;
    if (m === null || !m.extend(total) || m.headLength < total) {
      m?.free();
      this.counters.txNoBuffers++;
      return null;
    }
    return m;
  }

  get large(): Uint8Array {
    return this.frag.tx;
  }

  outputLarge(p: IpPair, proto: number, l4Len: number): boolean {
    return this.frag.sendLinear(p.laddr, p.raddr, proto, l4Len, this.pmtu.get(p.raddr, this.now()));
  }

  /**
   * ip_queue_xmit: fills the header (DF on TCP, as Linux's IP_PMTUDISC_WANT), then loops back,
   * broadcasts, fragments past the path MTU or routes. m is consumed.
   * @mirrors ip_output.c:ip_queue_xmit
   */
  output(m: Mbuf, p: IpPair, proto: number, l4Len: number, ecn = 0): void {
    const dst = p.raddr;
    const ip = this.hdr.reset(this.pool.data, m.dataOffset + ETH_HLEN, IPV4_MIN_HLEN);
    ip.headerLen = IPV4_MIN_HLEN;
    ip.tos = ecn & 3;
    ip.totalLength = IPV4_MIN_HLEN + l4Len;
    ip.ident = this.nextIpIdent();
    ip.fragWord = proto === IpProto.TCP ? 0x4000 : 0;
    ip.ttl = 64;
    ip.protocol = proto;
    ip.src = p.laddr;
    ip.dst = dst;
    ip.fillChecksum();
    this.counters.ipOutRequests++;
    if (proto !== IpProto.TCP && !this.isOurs(dst) && !this.isBroadcastAddr(dst)) {
      // Over the path MTU with DF clear: fragment (ip_finish_output_gso / ip_fragment).
      const mtu = this.pmtu.get(dst, this.now());
      if (IPV4_MIN_HLEN + l4Len > mtu) {
        this.frag.fragmentFrame(m, mtu, dst);
        return;
      }
    }
    this.transmitFrame(m, dst);
  }

  /**
   * ip_finish_output2: loopback, broadcast, or the next hop's link address through ARP.
   * @mirrors ip_output.c:ip_finish_output2
   */
  transmitFrame(m: Mbuf, dst: In4): void {
    const e = this.dstNeigh;
    if (
      dst === this.dstAddr &&
      this.dstGen === this.routes.gen &&
      e !== null &&
      !e.dead &&
      e.state === 'REACHABLE' &&
      this.now() < e.reachableUntil
    ) {
      this.link.xmit(m, e.lladdr, EtherType.IPV4);
      return;
    }
    if (this.isOurs(dst)) {
      this.link.loopback(m, EtherType.IPV4);
      return;
    }
    if (this.isBroadcastAddr(dst)) {
      this.link.xmit(m, BROADCAST_MAC, EtherType.IPV4);
      return;
    }
    const hop = this.routes.nextHop(dst);
    if (hop === null) {
      this.counters.ipOutNoRoutes++;
      m.free();
      return;
    }
    // The ARP cache directly (neigh_output): arp.ts is off the path once the entry is resolved.
    const cache = this.arp.cache;
    const ll = cache.resolve(hop, m, this.now());
    if (ll === null) return;
    this.dstAddr = dst;
    this.dstGen = this.routes.gen;
    this.dstNeigh = cache.entries.get(hop) ?? null;
    this.link.xmit(m, ll, EtherType.IPV4);
  }

  routable(dst: In4): boolean {
    if (this.isOurs(dst) || this.isBroadcastAddr(dst) || this.routes.lookup(dst) !== undefined) return true;
    this.counters.ipOutNoRoutes++;
    return false;
  }

  /** The next IPv4 identification. */
  nextIpIdent(): number {
    const id = this.ident;
    this.ident = (id + 1) & 0xffff;
    return id;
  }

  // ------------------------------------------------------------------ ICMP's and fragmentation's host

  sendIcmp(m: Mbuf, dst: In4, l4Len: number): void {
    const p = this.txPair;
    p.laddr = this.addr;
    p.raddr = dst;
    this.output(m, p, IpProto.ICMP, l4Len);
  }

  sendIcmpLarge(dst: In4, l4Len: number): boolean {
    return this.frag.sendLinear(this.addr, dst, IpProto.ICMP, l4Len, this.pmtu.get(dst, this.now()));
  }

  tcpError(p: IpPair, lport: number, rport: number, seq: number, mtu: number): void {
    this.transport?.tcp.icmpError(p, lport, rport, seq, mtu);
  }

  reasmExpired(first: Uint8Array): boolean {
    return this.icmp.reasmExpired(first);
  }

  // ------------------------------------------------------------------ input (ip_rcv, ip_local_deliver)

  /**
   * One IPv4 packet at buf[off, off+len); `chain` as in the link's L3Input (a chained TCP frame
   * whose payload TCP reads from the chain).
   * @mirrors ip_input.c:ip_rcv
   */
  input(
    buf: Uint8Array,
    off: number,
    len: number,
    csumOk: boolean,
    reassembled = false,
    chain: Mbuf | null = null,
  ): void {
    const c = this.counters;
    // InReceives counts what ip_rcv sees: each fragment once; the reassembled datagram goes on
    // to ip_local_deliver without passing ip_rcv again.
    if (!reassembled) c.ipInReceives++;
    const ip = this.view.reset(buf, off, len);
    if (ip.check() !== null || !ip.verifyChecksum()) {
      c.ipInHdrErrors++;
      return;
    }
    const dst = ip.dstIn4;
    const bcast = this.isBroadcastAddr(dst);
    // 127/8 from the wire, as source or destination, is martian (ip_route_input_slow): only the
    // loopback carries it.
    const martian = !this.link.inLoopback && (isLoopback4(dst) || isLoopback4(ip.srcIn4));
    if ((!this.isOurs(dst) && !bcast) || martian) {
      c.ipInAddrErrors++;
      return;
    }
    if (ip.isFragment) {
      // Reassembled datagrams come back through here with a fresh header (ip_defrag).
      const n = this.frag.input(buf, off, ip);
      if (n > 0) this.input(this.frag.out, 0, n, false, true);
      return;
    }
    const t = this.transport;
    const src = ip.srcIn4;
    const proto = ip.protocol;
    const l4 = ip.payloadOff;
    const l4Len = ip.payloadLen;
    const p = this.rxPair;
    p.laddr = dst;
    p.raddr = src;
    if (proto === IpProto.TCP && t !== null) {
      if (!bcast) t.tcp.input(buf, l4, l4Len, p, csumOk, ip.tos & 3, chain);
    } else if (proto === IpProto.UDP && t !== null) {
      if (!t.udp.input(buf, l4, l4Len, p, 4, csumOk) && !bcast)
        this.icmp.error(buf, off, IcmpType.DEST_UNREACH, IcmpUnreachCode.PORT);
    } else if (proto === IpProto.ICMP) {
      this.icmp.input(buf, l4, l4Len, src, bcast);
    } else {
      c.ipInUnknownProtos++;
      if (!bcast) this.icmp.error(buf, off, IcmpType.DEST_UNREACH, IcmpUnreachCode.PROTOCOL);
    }
  }
}
