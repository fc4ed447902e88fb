// IPv6 for the stack (RFC 8200): addresses (a link-local one from the MAC by modified EUI-64, plus
// configured ones), the multicast groups a host joins (all-nodes and the solicited-node group of
// each address, heard on 33:33:xx:xx:xx:xx), input with the extension-header walk (ip6_rcv_core +
// ipv6_parse_hopopts / ipv6_rthdr_rcv / ipv6_destopt_rcv), and output with next-hop selection
// from the routing table, NDP resolution and fragmentation to the path MTU. It is the family-6
// L3Output that TCP and UDP send through. ICMPv6 lives in icmpv6.ts, fragmentation and reassembly
// in frag.ts, NDP, DAD and router discovery in ndp.ts: each gets this layer as a narrow host.
import type { Mbuf, Mempool } from '../../mbuf/index.ts';
import {
  ETH_HLEN,
  EtherType,
  Icmpv6Type,
  Icmpv6UnreachCode,
  type Icmpv6View,
  IpProto,
  IPV6_HLEN,
  Ipv6View,
  parseIpv6,
  parseIpv6Prefixed,
  pseudoSum,
} from '../../wire/index.ts';
import type { StackCounters } from '../counters.ts';
import { StackError } from '../errors.ts';
import type { IcmpRateLimit } from '../icmp-rate.ts';
import { IpPairScratch, type IpPair, type L3Output, type SourceError, type TransportInputs } from '../l3.ts';
import type { LinkOutput } from '../link/link.ts';
import { mbufTruesize, NeighbourCache, type NeighbourEntry, type NeighbourParams } from '../neighbour.ts';
import { PmtuCache } from '../pmtu.ts';
import type { ReasmParams } from '../reassembly.ts';
import { RouteTable6 } from '../route.ts';
import type { TimerHost } from '../timer.ts';
import {
  ALL_NODES,
  commonPrefixLen,
  equal16,
  Ipv6Address,
  isLinkLocal,
  isMulticast,
  isUnspecified,
  key6,
  keyToAddr,
  linkLocalFromMac,
  UNSPECIFIED,
} from './addr.ts';
import { Ipv6Counters } from './counters.ts';
import { parseTlvOptions, TLV_DROP, TLV_OK } from './exthdr.ts';
import { Ipv6Frag, type Ipv6FragHost } from './frag.ts';
import { Icmp6, type Icmp6Host } from './icmpv6.ts';
import { Ndp, NdpCounters, type NdpHost } from './ndp.ts';

/** Ethernet + IPv6 header in front of the L4 header. */
export const L4_OFF6 = ETH_HLEN + IPV6_HLEN;
const FRAG_HLEN = 8;
/** Parameter problem codes (RFC 4443 §3.4). */
const PP_HEADER = 0;
const PP_NEXT_HEADER = 1;
const PP_OPTION = 2;

export interface Ipv6Options {
  /** Addresses with prefix length beyond the link-local one ("2001:db8::1/64", ULA "fd00::1/64"). */
  addresses?: string[];
  /** Default router (usually its link-local address). */
  gateway?: string;
  /** DupAddrDetectTransmits (RFC 4862; default 1, 0 disables DAD). */
  dadTransmits?: number;
  /** Neighbour cache parameters (queues as Linux's unres_qlen_bytes: 212992 bytes, 101 packets). */
  ndp?: Partial<NeighbourParams>;
  /** Reassembly limits (timeout defaults to 60 s, RFC 8200 §4.5). */
  reasm?: Partial<ReasmParams>;
  /** Upper bound of the random delay before the first DAD probe, ms (RFC 4862 §5.4.2; default 1000). */
  dadDelay?: number;
  /** Router solicitations once the link-local address is usable (default 0; Linux sends 3). */
  routerSolicitations?: number;
  /** Called when DAD finishes for an address. */
  onDad?: (addr: Ipv6Address, result: 'ok' | 'duplicate') => void;
}

export interface Ipv6LinkConfig {
  /** Link MTU. */
  mtu: number;
  txCsum: boolean;
  /** TCPv6 super-frames may be sent. */
  tso: boolean;
}

export class Ipv6Layer implements L3Output, Icmp6Host, Ipv6FragHost, NdpHost {
  readonly family = 6;
  readonly counters = new Ipv6Counters();
  readonly ndpCounters = new NdpCounters();
  readonly addresses: Ipv6Address[] = [];
  readonly routes = new RouteTable6();
  readonly nd: NeighbourCache<string, Mbuf>;
  readonly pmtu: PmtuCache<string>;
  readonly frag: Ipv6Frag;
  readonly icmp: Icmp6;
  readonly ndp: Ndp;
  readonly dadTransmits: number;
  readonly onDad: ((addr: Ipv6Address, result: 'ok' | 'duplicate') => void) | undefined;
  /** A default router was configured (router advertisements then leave the default route alone). */
  readonly staticGateway: boolean;
  /** Hop limit of packets we originate (Linux hop_limit 64; a router advertisement may change it). */
  hopLimit = 64;
  readonly l4Offset = L4_OFF6;
  readonly ipHeaderLen = IPV6_HLEN;
  readonly l4Mtu: number;
  readonly txCsum: boolean;
  readonly tso: boolean;
  readonly pool: Mempool;
  readonly mac: Uint8Array;
  private transport: TransportInputs | null = null;
  private readonly view = new Ipv6View();
  private readonly hdr = new Ipv6View();
  private readonly rxPair = new IpPairScratch();
  private readonly hop16 = new Uint8Array(16);
  private readonly solicit16 = new Uint8Array(16);
  private readonly mcastMac = new Uint8Array([0x33, 0x33, 0, 0, 0, 0]);
  /** Last next hop and its key: resolution of a steady flow builds no string per packet. */
  private readonly lastHop = new Uint8Array(16);
  private lastKey = '';
  /** The dst cache, as Ipv4Layer's: the last destination routed, its route generation, its neighbour. */
  private readonly dstAddr = new Uint8Array(16);
  private dstGen = -1;
  private dstNeigh: NeighbourEntry<string, Mbuf> | null = null;

  constructor(
    private readonly link: LinkOutput,
    private readonly stackCounters: StackCounters,
    readonly time: TimerHost,
    readonly icmpRate: IcmpRateLimit,
    cfg: Ipv6LinkConfig,
    opts: Ipv6Options = {},
  ) {
    const timers = time.timers;
    this.pool = link.pool;
    this.mac = link.mac;
    this.l4Mtu = cfg.mtu - IPV6_HLEN;
    this.txCsum = cfg.txCsum;
    this.tso = cfg.tso;
    this.dadTransmits = opts.dadTransmits ?? 1;
    this.onDad = opts.onDad;
    this.pmtu = new PmtuCache<string>(cfg.mtu, true);
    this.frag = new Ipv6Frag(this, opts.reasm);
    this.icmp = new Icmp6(this);
    this.nd = new NeighbourCache<string, Mbuf>(
      timers,
      {
        solicit: (k, ll) => {
          keyToAddr(k, this.solicit16);
          this.ndp.sendNs(this.solicit16, ll, false);
        },
        flush: (_k, m, ll) => this.link.xmit(m, ll, EtherType.IPV6),
        drop: (_k, m) => {
          this.counters.outDiscards++;
          m.free();
        },
        truesize: mbufTruesize,
      },
      opts.ndp,
    );
    this.ndp = new Ndp(this, this.ndpCounters, opts.dadDelay, opts.routerSolicitations);
    // fe80::/64 is always on-link.
    const ll = linkLocalFromMac(link.mac);
    this.routes.add(ll, 64);
    this.addAddress(ll, 64);
    for (const s of opts.addresses ?? []) {
      // WireError BAD_ADDRESS for a malformed address or prefix; no prefix means /128.
      const { addr, prefixLen: len } = parseIpv6Prefixed(s, 128);
      if (isMulticast(addr, 0) || isUnspecified(addr, 0))
        throw new StackError('STACK_ARG', `not a unicast address: ${s}`);
      if (len < 128) this.routes.add(addr, len);
      this.addAddress(addr, len);
    }
    this.staticGateway = opts.gateway !== undefined;
    if (opts.gateway !== undefined) this.routes.add(UNSPECIFIED, 0, parseIpv6(opts.gateway));
  }

  /** Connects the transport protocols input delivers to (inet6_add_protocol). */
  attach(t: TransportInputs): void {
    this.transport = t;
  }

  now(): number {
    return this.time.timers.now();
  }

  private addAddress(addr: Uint8Array, len: number): void {
    const a: Ipv6Address = new Ipv6Address(
      addr,
      len,
      this.time.timers.timer(() => this.ndp.dadTimer(a)),
    );
    this.addresses.push(a);
    this.ndp.startDad(a);
  }

  /** Our address equal to buf[off, off+16), in any state. */
  findAddress(buf: Uint8Array, off: number): Ipv6Address | undefined {
    for (const a of this.addresses) if (equal16(a.addr, 0, buf, off)) return a;
    return undefined;
  }

  /** ff02::1 or the solicited-node group of one of our addresses (tentative ones too, for DAD). */
  isOurGroup(buf: Uint8Array, off: number): boolean {
    if (buf[off] !== 0xff) return false;
    if (equal16(ALL_NODES, 0, buf, off)) return true;
    if (buf[off + 1] !== 0x02 || buf[off + 11] !== 1 || buf[off + 12] !== 0xff) return false;
    for (let i = 2; i < 11; i++) if (buf[off + i] !== 0) return false;
    return this.matchesSolicited(buf, off + 13);
  }

  private matchesSolicited(buf: Uint8Array, o: number): boolean {
    for (const a of this.addresses) {
      if (
        a.state !== 'DUPLICATE' &&
        a.addr[13] === buf[o] &&
        a.addr[14] === buf[o + 1] &&
        a.addr[15] === buf[o + 2]
      )
        return true;
    }
    return false;
  }

  /** A frame to a 33:33 multicast MAC at buf[d] is for a group we joined (the NIC's multicast filter). */
  acceptMac(buf: Uint8Array, d: number): boolean {
    if (buf[d] !== 0x33 || buf[d + 1] !== 0x33) return false;
    if (buf[d + 2] === 0 && buf[d + 3] === 0 && buf[d + 4] === 0 && buf[d + 5] === 1) return true;
    return buf[d + 2] === 0xff && this.matchesSolicited(buf, d + 3);
  }

  /**
   * Source address selection (a subset of RFC 6724): link-local for link-local or multicast
   * destinations, else the preferred address sharing the longest prefix with dst. Writes it into
   * out; false when no preferred address fits.
   */
  sourceFor(dst: Uint8Array, dstOff: number, out: Uint8Array): boolean {
    const local = isLinkLocal(dst, dstOff) || isMulticast(dst, dstOff);
    let best: Ipv6Address | undefined;
    let bestLen = -1;
    for (const a of this.addresses) {
      if (a.state !== 'PREFERRED' || a.linkLocal !== local) continue;
      const n = commonPrefixLen(a.addr, dst, dstOff);
      if (n > bestLen) {
        best = a;
        bestLen = n;
      }
    }
    if (best === undefined && !local) return this.sourceFor(this.linkLocalScope, 0, out);
    if (best === undefined) return false;
    out.set(best.addr);
    return true;
  }
  private readonly linkLocalScope = parseIpv6('fe80::');

  // ------------------------------------------------------------------ L3Output

  l4PathMtu(p: IpPair): number {
    return this.pathMtu(p.raddr6) - IPV6_HLEN;
  }

  pseudo(p: IpPair, proto: number, l4Len: number): number {
    return pseudoSum(p.laddr6, p.raddr6, proto, l4Len);
  }

  selectSource(p: IpPair): SourceError | null {
    if (!isMulticast(p.raddr6, 0) && this.routes.lookup(p.raddr6) === undefined) {
      this.counters.outNoRoutes++;
      return 'ENETUNREACH';
    }
    if (this.sourceFor(p.raddr6, 0, p.laddr6)) return null;
    this.counters.outNoSource++;
    return 'EADDRNOTAVAIL';
  }

  isBroadcast(): boolean {
    return false;
  }

  /** L4 bytes that fit one packet buffer behind Ethernet + IPv6. */
  get inlineMax(): number {
    const p = this.pool;
    return p.segmentSize - p.headroom - L4_OFF6;
  }

  /** An mbuf with room for Ethernet + IPv6 + l4Len bytes, or null (counted). */
  allocL4(l4Len: number): Mbuf | null {
    const m = this.pool.alloc();
    const total = L4_OFF6 + l4Len;
    if (m === null || !m.extend(total) || m.headLength < total) {
      m?.free();
      this.txNoBuffers();
      return null;
    }
    return m;
  }

  txNoBuffers(): void {
    this.stackCounters.txNoBuffers++;
  }

  output(m: Mbuf, p: IpPair, proto: number, l4Len: number, ecn = 0): void {
    this.send(m, p.laddr6, p.raddr6, proto, l4Len, this.hopLimit, ecn & 3);
  }

  get large(): Uint8Array {
    return this.frag.tx;
  }

  outputLarge(p: IpPair, proto: number, l4Len: number): boolean {
    this.writeHeader(this.frag.tx, 0, p.laddr6, p.raddr6, proto, l4Len, this.hopLimit);
    this.counters.outRequests++;
    return this.frag.fragmentTx(IPV6_HLEN + l4Len, p.raddr6);
  }

  sendLarge(len: number, dst: Uint8Array): boolean {
    return this.frag.fragmentTx(len, dst);
  }

  tcpError(p: IpPair, lport: number, rport: number, seq: number, mtu: number): void {
    this.transport?.tcp.icmpError(p, lport, rport, seq, mtu);
  }

  ndpInput(v: Icmpv6View, buf: Uint8Array, ipOff: number, mcast: boolean): void {
    this.ndp.input(v, buf, ipOff, mcast);
  }

  sendIcmp(m: Mbuf, src: Uint8Array, dst: Uint8Array, len: number, hopLimit: number): void {
    this.icmp.sendIcmp(m, src, dst, len, hopLimit);
  }

  // ------------------------------------------------------------------ input (ipv6_rcv)

  /**
   * One IPv6 packet at buf[off, off+len). Never throws. `chain` as in the link's L3Input (a chained
   * TCP frame without extension headers, whose payload TCP reads from the chain).
   * @mirrors ip6_input.c:ipv6_rcv
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
    // A reassembled packet was counted as its fragments.
    if (!reassembled) c.inReceives++;
    const v = this.view.reset(buf, off, len);
    const bad = v.check();
    // A hop-by-hop header that is not first (the walk's only BAD_EXT_HEADER; the headers before it
    // and the payload length are sound) is no header error: Linux parses hop-by-hop only in
    // ip6_rcv_core, so later in the chain next header 0 names an unknown protocol and
    // ip6_protocol_deliver_rcu answers parameter problem code 1 at that Next Header field
    // (RFC 8200 §4.3). The walk below gets there.
    if (bad !== null && bad !== 'BAD_EXT_HEADER') {
      c.inHdrErrors++;
      return;
    }
    const so = off + 8;
    const dso = off + 24;
    if (isMulticast(buf, so)) {
      c.inAddrErrors++;
      return;
    }
    const mcast = isMulticast(buf, dso);
    if (mcast) {
      if (!this.isOurGroup(buf, dso)) {
        c.inAddrErrors++;
        return;
      }
    } else {
      const a = this.findAddress(buf, dso);
      if (a === undefined || a.state === 'DUPLICATE') {
        c.inAddrErrors++;
        return;
      }
      if (a.state === 'TENTATIVE') {
        c.inTentative++;
        return;
      }
    }
    const end = off + IPV6_HLEN + v.payloadLength;
    // Extension headers in order (ip6_protocol_deliver_rcu over the inet6 protocol table).
    let nh = buf[off + 6]!;
    let nhOff = off + 6;
    let o = off + IPV6_HLEN;
    for (;;) {
      if ((nh === IpProto.HOPOPTS && o === off + IPV6_HLEN) || nh === IpProto.IPV6_DSTOPTS) {
        const l = (buf[o + 1]! + 1) * 8;
        const bad = parseTlvOptions(buf, o + 2, o + l, mcast);
        if (bad !== TLV_OK) {
          c.inUnknownOptions++;
          if (bad !== TLV_DROP)
            this.icmp.error(buf, off, Icmpv6Type.PARAM_PROBLEM, PP_OPTION, bad - off, true);
          return;
        }
        nhOff = o;
        nh = buf[o]!;
        o += l;
      } else if (nh === IpProto.IPV6_ROUTING) {
        const l = (buf[o + 1]! + 1) * 8;
        if (buf[o + 3] !== 0) {
          // Segments left and a type a host does not process: type 0 is deprecated (RFC 5095),
          // others unknown here; both get parameter problem at the type field (RFC 8200 §4.4).
          c.inRoutingRefused++;
          this.icmp.error(buf, off, Icmpv6Type.PARAM_PROBLEM, PP_HEADER, o + 2 - off);
          return;
        }
        nhOff = o;
        nh = buf[o]!;
        o += l;
      } else if (nh === IpProto.IPV6_FRAGMENT) {
        const w = (buf[o + 2]! << 8) | buf[o + 3]!;
        if ((w & 0xfff9) === 0) {
          // Atomic fragment (RFC 6946): processed in isolation.
          nhOff = o;
          nh = buf[o]!;
          o += FRAG_HLEN;
          continue;
        }
        if (reassembled) {
          c.inNestedFragment++;
          return;
        }
        this.frag.input(buf, off, o, end);
        return;
      } else break;
    }
    const l4Len = end - o;
    // The addresses for the upper layers (16-byte loops, no views): l = ours, r = the sender.
    const p = this.rxPair;
    for (let i = 0; i < 16; i++) {
      p.raddr6[i] = buf[so + i]!;
      p.laddr6[i] = buf[dso + i]!;
    }
    const t = this.transport;
    if (nh === IpProto.ICMPV6) {
      c.inDelivers++;
      this.icmp.input(buf, off, o, l4Len, mcast, csumOk);
    } else if (nh === IpProto.UDP && t !== null) {
      c.inDelivers++;
      if (!t.udp.input(buf, o, l4Len, p, 6, csumOk) && !mcast) {
        this.icmp.error(buf, off, Icmpv6Type.DEST_UNREACH, Icmpv6UnreachCode.PORT_UNREACH, 0);
      }
    } else if (nh === IpProto.TCP && t !== null) {
      c.inDelivers++;
      if (!mcast) t.tcp.input(buf, o, l4Len, p, csumOk, (buf[off + 1]! >> 4) & 3, chain); // traffic class bits 1..0
    } else if (nh === IpProto.IPV6_NONXT) {
      c.inNoNextHeader++;
    } else {
      c.inUnknownProtos++;
      this.icmp.error(buf, off, Icmpv6Type.PARAM_PROBLEM, PP_NEXT_HEADER, nhOff - off);
    }
  }

  // ------------------------------------------------------------------ output (ip6_xmit, ip6_finish_output2)

  /** Writes a fixed IPv6 header at b[o] through the wire view. */
  writeHeader(
    b: Uint8Array,
    o: number,
    src: Uint8Array,
    dst: Uint8Array,
    nh: number,
    l4Len: number,
    hop: number,
    tc = 0,
  ): void {
    const ip = this.hdr.reset(b, o, IPV6_HLEN);
    ip.initFirstWord(tc);
    ip.payloadLength = l4Len;
    ip.nextHeader = nh;
    ip.hopLimit = hop;
    b.set(src, o + 8);
    b.set(dst, o + 24);
  }

  /**
   * Fills the IPv6 header in front of the L4 payload of m and sends it (ip6_xmit →
   * ip6_finish_output2): multicast to its 33:33 MAC, our own address over the loopback, unicast to
   * the route's next hop through NDP; fragments when the packet is over the path MTU. m is consumed.
   * @mirrors ip6_output.c:ip6_xmit
   */
  send(m: Mbuf, src: Uint8Array, dst: Uint8Array, nh: number, l4Len: number, hopLimit: number, tc = 0): void {
    this.writeHeader(this.pool.data, m.dataOffset + ETH_HLEN, src, dst, nh, l4Len, hopLimit, tc);
    this.counters.outRequests++;
    if (isMulticast(dst, 0)) {
      // 33:33 + the group's low 32 bits (RFC 2464 §7).
      const mac = this.mcastMac;
      for (let i = 0; i < 4; i++) mac[2 + i] = dst[12 + i]!;
      this.link.xmit(m, mac, EtherType.IPV6);
      return;
    }
    // One of our addresses: the stack's loopback (lo), never the NIC.
    const own = this.findAddress(dst, 0);
    if (own?.state === 'PREFERRED') {
      this.link.loopback(m, EtherType.IPV6);
      return;
    }
    // TSO super-frames are cut by the device at gsoSize, which TCP keeps under the path MTU.
    if (m.meta.gsoType === 0 && IPV6_HLEN + l4Len > this.pathMtu(dst)) {
      this.frag.fragmentFrame(m, dst);
      return;
    }
    this.routeFrame(m, dst);
  }

  /** The path MTU towards dst (no key is built while the cache is empty). */
  pathMtu(dst: Uint8Array): number {
    return this.pmtu.size === 0 ? this.pmtu.linkMtu : this.pmtu.get(key6(dst), this.now());
  }

  routable(dst: Uint8Array): boolean {
    if (this.routes.nextHop(dst, 0, this.hop16)) return true;
    this.counters.outNoRoutes++;
    return false;
  }

  routeFrame(m: Mbuf, dst: Uint8Array): void {
    const e = this.dstNeigh;
    if (
      e !== null &&
      this.dstGen === this.routes.gen &&
      !e.dead &&
      e.state === 'REACHABLE' &&
      equal16(dst, 0, this.dstAddr, 0) &&
      this.now() < e.reachableUntil
    ) {
      this.link.xmit(m, e.lladdr, EtherType.IPV6);
      return;
    }
    const hop = this.hop16;
    if (!this.routes.nextHop(dst, 0, hop)) {
      this.counters.outNoRoutes++;
      m.free();
      return;
    }
    if (!equal16(hop, 0, this.lastHop, 0) || this.lastKey === '') {
      this.lastHop.set(hop);
      this.lastKey = key6(hop);
    }
    const ll = this.nd.resolve(this.lastKey, m, this.now());
    if (ll === null) return;
    for (let i = 0; i < 16; i++) this.dstAddr[i] = dst[i]!;
    this.dstGen = this.routes.gen;
    this.dstNeigh = this.nd.entries.get(this.lastKey) ?? null;
    this.link.xmit(m, ll, EtherType.IPV6);
  }
}
