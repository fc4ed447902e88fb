// IPv6 for the stack (RFC 8200): addresses (a link-local one from the MAC by modified EUI-64, RFC
// 4291 §2.5.1, plus configured ones), the multicast groups a host joins (all-nodes and the
// solicited-node group of each address, heard on 33:33:xx:xx:xx:xx), input with the
// extension-header walk (ip6_rcv_core + ipv6_parse_hopopts / ipv6_rthdr_rcv / ipv6_destopt_rcv),
// fragment reassembly (RFC 8200 §4.5 and RFC 5722), output with next-hop selection from the
// routing table, NDP resolution and fragmentation to the path MTU (ip6_fragment), ICMPv6 (RFC
// 4443: echo, errors with a global rate limit, packet too big feeding the path MTU per RFC 8201),
// ping, UDP output, and TCP through its own family-6 Tcp instance (tcp_v6 beside tcp_v4). NDP,
// DAD and router discovery live in ndp.ts.
import debug from 'debug';
import { META_F_NEEDS_CSUM, type Mbuf } from '../mbuf/index.ts';
import {
  ETH_HLEN,
  EtherType,
  getF64,
  ICMP_HLEN,
  Icmpv6Type,
  Icmpv6UnreachCode,
  Icmpv6View,
  IpProto,
  IPV6_HLEN,
  ipv6ToString,
  Ipv6View,
  parseIpv6,
  parseIpv6Prefixed,
  pseudoSum,
  set16,
  set32,
  setF64,
  UDP_HLEN,
} from '../wire/index.ts';
import { csumFinish, csumPartial, pseudoV6 } from '../checksum/index.ts';
import { NetError, StackError } from './errors.ts';
import { mbufTruesize, NeighbourCache, type NeighbourParams } from './neighbour.ts';
import { Ndp, NdpCounters } from './ndp.ts';
import { PmtuCache } from './pmtu.ts';
import { Reassembler, type ReasmParams, type ReasmQueue } from './reassembly.ts';
import { RouteTable6 } from './route.ts';
import type { Stack } from './stack.ts';
import { Tcp, type Ipv6TcpOutput } from './tcp/tcp.ts';
import type { Tcb, TcbOptions } from './tcp/tcb.ts';
import type { Timer } from './timer.ts';

const log = debug('ptnet:ip6');

/** Ethernet + IPv6 header in front of the L4 header. */
export const L4_OFF6 = ETH_HLEN + IPV6_HLEN;
const FRAG_HLEN = 8;
const IP6_MAX_PAYLOAD = 65535;
/** RFC 4443 §2.4(c): an error message must not exceed the minimum MTU. */
const ICMP6_ERR_MAX = 1280 - IPV6_HLEN;
/** Parameter problem codes (RFC 4443 §3.4). */
const PP_HEADER = 0;
const PP_NEXT_HEADER = 1;
const PP_OPTION = 2;
/** RFC 7112: IPv6 first fragment has an incomplete header chain. */
const PP_HEADER_INCOMPLETE = 3;
/** Time exceeded code: fragment reassembly time exceeded. */
const TE_REASSEMBLY = 1;

export type AddrState = 'TENTATIVE' | 'PREFERRED' | 'DUPLICATE';

/** One of our addresses with its DAD state (RFC 4862 §5.4). */
export class Ipv6Address {
  state: AddrState = 'TENTATIVE';
  /** DAD solicitations sent so far. */
  probes = 0;
  constructor(
    readonly addr: Uint8Array,
    readonly prefixLen: number,
    readonly timer: Timer,
  ) {}
  get linkLocal(): boolean {
    return isLinkLocal(this.addr, 0);
  }
  toString(): string {
    return `${ipv6ToString(this.addr)}/${this.prefixLen}`;
  }
}

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

export class Ipv6Counters {
  inReceives = 0;
  /** Malformed fixed or extension headers, bad payload length (Ip6InHdrErrors). */
  inHdrErrors = 0;
  /** Not for one of our addresses or groups, or a multicast source (Ip6InAddrErrors). */
  inAddrErrors = 0;
  /** For an address still in DAD (RFC 4862 §5.4: silently discarded). */
  inTentative = 0;
  inUnknownProtos = 0;
  /** No next header (59): nothing to deliver. */
  inNoNextHeader = 0;
  /** Routing header with segments left and a type we do not process (type 0 per RFC 5095). */
  inRoutingRefused = 0;
  /** Unknown hop-by-hop / destination option whose action bits say discard. */
  inUnknownOptions = 0;
  /** A fragment header inside a reassembled packet (nested fragmentation). */
  inNestedFragment = 0;
  /** Fragments the reassembler refused at once for framing (length not a multiple of 8, too big). */
  inFragErrors = 0;
  inDelivers = 0;
  outRequests = 0;
  outNoRoutes = 0;
  /** Packets dropped waiting for NDP (queue overflow or failed resolution). */
  outDiscards = 0;
  /** No source address usable for the destination (all tentative or duplicate). */
  outNoSource = 0;
  fragOks = 0;
  fragCreates = 0;
  fragFails = 0;
  // ICMPv6 (ICMP6_MIB_*).
  icmpInMsgs = 0;
  /** Truncated or bad checksum. */
  icmpInErrors = 0;
  icmpInEchos = 0;
  icmpInEchoReplies = 0;
  icmpInDestUnreachs = 0;
  icmpInPktTooBigs = 0;
  icmpInTimeExcds = 0;
  icmpInParmProblems = 0;
  /** Packet too big that lowered a path MTU. */
  ptbApplied = 0;
  /** Packet too big quoting a packet we did not send, or malformed. */
  ptbNotOurs = 0;
  icmpOutMsgs = 0;
  icmpOutErrors = 0;
  /** Errors suppressed by the rate limit. */
  icmpRateLimited = 0;
}

type EchoWaiter = (rtt: number) => void;

const HEX: string[] = [];
for (let i = 0; i < 256; i++) HEX.push(i.toString(16).padStart(2, '0'));

/** Neighbour-cache / path-MTU key for a 16-byte address. */
export function key6(b: Uint8Array, o = 0): string {
  let s = '';
  for (let i = 0; i < 16; i++) s += HEX[b[o + i]!]!;
  return s;
}

export function keyToAddr(k: string, out: Uint8Array): void {
  for (let i = 0; i < 16; i++) out[i] = parseInt(k.slice(i * 2, i * 2 + 2), 16);
}

export function isLinkLocal(b: Uint8Array, o: number): boolean {
  return b[o] === 0xfe && (b[o + 1]! & 0xc0) === 0x80;
}

export function isMulticast(b: Uint8Array, o: number): boolean {
  return b[o] === 0xff;
}

export function isUnspecified(b: Uint8Array, o: number): boolean {
  for (let i = 0; i < 16; i++) if (b[o + i] !== 0) return false;
  return true;
}

/** Leading bits a[0, 16) and b[bOff, bOff + 16) share (RFC 6724 CommonPrefixLen). */
function commonPrefixLen(a: Uint8Array, b: Uint8Array, bOff: number): number {
  for (let i = 0; i < 16; i++) {
    const x = a[i]! ^ b[bOff + i]!;
    if (x !== 0) return i * 8 + Math.clz32(x) - 24;
  }
  return 128;
}

function equal16(a: Uint8Array, ao: number, b: Uint8Array, bo: number): boolean {
  for (let i = 0; i < 16; i++) if (a[ao + i] !== b[bo + i]) return false;
  return true;
}

/** Modified EUI-64 link-local address from a 48-bit MAC (RFC 4291 appendix A). */
export function linkLocalFromMac(mac: Uint8Array): Uint8Array {
  const a = new Uint8Array(16);
  a[0] = 0xfe;
  a[1] = 0x80;
  a[8] = mac[0]! ^ 0x02;
  a[9] = mac[1]!;
  a[10] = mac[2]!;
  a[11] = 0xff;
  a[12] = 0xfe;
  a[13] = mac[3]!;
  a[14] = mac[4]!;
  a[15] = mac[5]!;
  return a;
}

/** ff02::1:ffXX:XXXX for address a (RFC 4291 §2.7.1). */
export function solicitedNode(a: Uint8Array, out: Uint8Array, outOff = 0): void {
  out.fill(0, outOff, outOff + 16);
  out[outOff] = 0xff;
  out[outOff + 1] = 0x02;
  out[outOff + 11] = 0x01;
  out[outOff + 12] = 0xff;
  out[outOff + 13] = a[13]!;
  out[outOff + 14] = a[14]!;
  out[outOff + 15] = a[15]!;
}

export const ALL_NODES = parseIpv6('ff02::1');
export const UNSPECIFIED = new Uint8Array(16);

export class Ipv6Layer {
  readonly counters = new Ipv6Counters();
  readonly ndpCounters = new NdpCounters();
  readonly addresses: Ipv6Address[] = [];
  readonly routes = new RouteTable6();
  readonly nd: NeighbourCache<string, Mbuf>;
  readonly pmtu: PmtuCache<string>;
  readonly reasm: Reassembler;
  readonly ndp: Ndp;
  readonly dadTransmits: number;
  readonly onDad: ((addr: Ipv6Address, result: 'ok' | 'duplicate') => void) | undefined;
  /** A default router was configured (router advertisements then leave the default route alone). */
  readonly staticGateway: boolean;
  /** Hop limit of packets we originate (Linux hop_limit 64; a router advertisement may change it). */
  hopLimit = 64;
  /** TCP over IPv6: its own instance (tcp_v6 next to tcp_v4), sending through tcpOut. */
  readonly tcp: Tcp;
  readonly tcpOut: Ipv6TcpOutput;

  private readonly view = new Ipv6View();
  private readonly icmp = new Icmpv6View();
  private readonly quoted = new Ipv6View();
  private readonly src16 = new Uint8Array(16);
  private readonly dst16 = new Uint8Array(16);
  private readonly hop16 = new Uint8Array(16);
  private readonly tmp16 = new Uint8Array(16);
  private readonly echoDst16 = new Uint8Array(16);
  private readonly solicit16 = new Uint8Array(16);
  private readonly udpSrc16 = new Uint8Array(16);
  private readonly mcastMac = new Uint8Array([0x33, 0x33, 0, 0, 0, 0]);
  /** Last next hop and its key: resolution of a steady flow builds no string per packet. */
  private readonly lastHop = new Uint8Array(16);
  private lastKey = '';
  /** Reassembled packet fed back to input. */
  private readonly rx = new Uint8Array(IPV6_HLEN + IP6_MAX_PAYLOAD);
  /** Linearised outgoing packet for fragmentation (IPv6 header at 0). */
  private readonly tx = new Uint8Array(IPV6_HLEN + IP6_MAX_PAYLOAD);
  private readonly echoWaiters = new Map<number, EchoWaiter>();
  private echoIdent = 1;
  private fragIdent: number;

  constructor(
    private readonly stack: Stack,
    opts: Ipv6Options = {},
    tcp: { isnKey?: Uint8Array; noTso?: boolean } = {},
  ) {
    const timers = stack.time.timers;
    this.tcpOut = {
      pool: stack.pool,
      l4Offset: L4_OFF6,
      l4PathMtu: (dst) => this.pathMtu(dst) - IPV6_HLEN,
      txCsum: stack.txCsum,
      tso: stack.txCsum && stack.netif.offloads.tso6 && tcp.noTso !== true,
      output: (m, src, dst, nh, l4Len) => this.output(m, src, dst, nh, l4Len, this.hopLimit),
    };
    this.tcp = new Tcp(timers, this.tcpOut, tcp.isnKey, 6);
    this.dadTransmits = opts.dadTransmits ?? 1;
    this.onDad = opts.onDad;
    this.pmtu = new PmtuCache<string>(stack.netif.mtu, true);
    this.reasm = new Reassembler(timers, (q) => this.reasmExpired(q), {
      timeout: 60_000,
      ...opts.reasm,
    });
    this.fragIdent = (Math.random() * 0x100000000) >>> 0;
    this.nd = new NeighbourCache<string, Mbuf>(
      timers,
      {
        solicit: (k, ll) => {
          keyToAddr(k, this.solicit16);
          this.ndp.sendNs(this.solicit16, ll, false);
        },
        flush: (_k, m, ll) => this.stack.xmitTo(m, ll),
        drop: (_k, m) => {
          this.counters.outDiscards++;
          m.free();
        },
        truesize: mbufTruesize,
      },
      opts.ndp,
    );
    this.ndp = new Ndp(this, stack, this.ndpCounters, opts.dadDelay, opts.routerSolicitations);
    // fe80::/64 is always on-link.
    const ll = linkLocalFromMac(stack.netif.mac);
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

  private addAddress(addr: Uint8Array, len: number): void {
    const a: Ipv6Address = new Ipv6Address(
      addr,
      len,
      this.stack.time.timers.timer(() => this.ndp.dadTimer(a)),
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

  // ------------------------------------------------------------------ input (ipv6_rcv)

  /** One IPv6 packet at buf[off, off+len). Never throws. */
  input(buf: Uint8Array, off: number, len: number, csumOk: boolean, reassembled = false): void {
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
        if (!this.options(buf, off, o + 2, o + l, mcast)) return;
        nhOff = o;
        nh = buf[o]!;
        o += l;
      } else if (nh === IpProto.IPV6_ROUTING) {
        const l = (buf[o + 1]! + 1) * 8;
        if (buf[o + 3] !== 0) {
          // Segments left and a type a host does not process: type 0 is deprecated (RFC 5095),
          // others unknown here; both get parameter problem at the type field (RFC 8200 §4.4).
          c.inRoutingRefused++;
          this.icmpError(buf, off, Icmpv6Type.PARAM_PROBLEM, PP_HEADER, o + 2 - off);
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
        this.fragment(buf, off, o, end);
        return;
      } else break;
    }
    const l4Len = end - o;
    // Copies of the addresses for the upper layers (16-byte loops, no views).
    const src = this.src16;
    const dst = this.dst16;
    for (let i = 0; i < 16; i++) {
      src[i] = buf[so + i]!;
      dst[i] = buf[dso + i]!;
    }
    if (nh === IpProto.ICMPV6) {
      c.inDelivers++;
      this.icmpInput(buf, off, o, l4Len, mcast, csumOk);
    } else if (nh === IpProto.UDP) {
      c.inDelivers++;
      if (!this.stack.udp.input(buf, o, l4Len, src, dst, csumOk) && !mcast) {
        this.icmpError(buf, off, Icmpv6Type.DEST_UNREACH, Icmpv6UnreachCode.PORT_UNREACH, 0);
      }
    } else if (nh === IpProto.TCP) {
      c.inDelivers++;
      if (!mcast) this.tcp.input6(buf, o, l4Len, src, dst, csumOk);
    } else if (nh === IpProto.IPV6_NONXT) {
      c.inNoNextHeader++;
    } else {
      c.inUnknownProtos++;
      this.icmpError(buf, off, Icmpv6Type.PARAM_PROBLEM, PP_NEXT_HEADER, nhOff - off);
    }
  }

  /**
   * Hop-by-hop / destination options in buf[o, end) (ip6_parse_tlv): an unknown option is handled
   * by its two high bits (RFC 8200 §4.2): skip, discard, discard + ICMP, discard + ICMP unless the
   * destination was multicast. Returns false when the packet is dropped.
   */
  private options(buf: Uint8Array, ipOff: number, o: number, end: number, mcast: boolean): boolean {
    while (o < end) {
      const t = buf[o]!;
      if (t === 0) {
        o++;
        continue;
      }
      // PadN (1) and Router Alert (5) are known; anything else follows its action bits.
      if (t !== 1 && t !== 5) {
        const action = t >> 6;
        if (action !== 0) {
          this.counters.inUnknownOptions++;
          if (action === 2 || (action === 3 && !mcast)) {
            this.icmpError(buf, ipOff, Icmpv6Type.PARAM_PROBLEM, PP_OPTION, o - ipOff, true);
          }
          return false;
        }
      }
      o += 2 + buf[o + 1]!;
    }
    return true;
  }

  /** A fragment (ipv6_frag_rcv): the header at fh, the packet at buf[off, end). */
  private fragment(buf: Uint8Array, off: number, fh: number, end: number): void {
    const c = this.counters;
    const w = (buf[fh + 2]! << 8) | buf[fh + 3]!;
    const offset = w & 0xfff8;
    const more = (w & 1) !== 0;
    const dataOff = fh + FRAG_HLEN;
    const len = end - dataOff;
    // RFC 8200 §4.5: a non-last fragment not a multiple of 8 bytes, or one ending past 65535.
    if (more && (len & 7) !== 0) {
      c.inFragErrors++;
      this.icmpError(buf, off, Icmpv6Type.PARAM_PROBLEM, PP_HEADER, 4);
      return;
    }
    const unfrag = fh - off - IPV6_HLEN;
    if (unfrag + offset + len > IP6_MAX_PAYLOAD) {
      c.inFragErrors++;
      this.icmpError(buf, off, Icmpv6Type.PARAM_PROBLEM, PP_HEADER, fh + 2 - off);
      return;
    }
    // RFC 7112: the first fragment carries the whole header chain up to the upper-layer header.
    if (offset === 0 && !this.chainFits(buf, buf[fh]!, dataOff, end)) {
      c.inFragErrors++;
      this.icmpError(buf, off, Icmpv6Type.PARAM_PROBLEM, PP_HEADER_INCOMPLETE, 0);
      return;
    }
    const key =
      key6(buf, off + 8) +
      key6(buf, off + 24) +
      ((buf[fh + 4]! << 24) | (buf[fh + 5]! << 16) | (buf[fh + 6]! << 8) | buf[fh + 7]!);
    const r = this.reasm.add(
      key,
      buf[fh]!,
      offset,
      more,
      buf,
      dataOff,
      len,
      off,
      dataOff - off,
      // The first fragment as far as an ICMPv6 error may quote it.
      Math.min(end - off, ICMP6_ERR_MAX - ICMP_HLEN),
    );
    if (r !== 'complete') return;
    const q = this.reasm.done!;
    const first = q.first!;
    const hl = q.firstHdrLen - FRAG_HLEN;
    const rx = this.rx;
    rx.set(first.subarray(0, hl), 0);
    rx.set(q.data.subarray(0, q.total), hl);
    const total = hl + q.total;
    this.reasm.release(q);
    // The header that named the fragment header now names what the fragments carried.
    let nhAt = 6;
    for (let p = IPV6_HLEN, nh = rx[6]!; nh !== IpProto.IPV6_FRAGMENT && p < hl;) {
      nhAt = p;
      nh = rx[p]!;
      p += (rx[p + 1]! + 1) * 8;
    }
    rx[nhAt] = q.proto;
    rx[4] = (total - IPV6_HLEN) >>> 8;
    rx[5] = total - IPV6_HLEN;
    this.input(rx, 0, total, false, true);
  }

  /** The extension headers from next header nh at buf[o] end inside buf[o, end), with the upper header's first 8 bytes. */
  private chainFits(buf: Uint8Array, nh: number, o: number, end: number): boolean {
    while (nh === IpProto.HOPOPTS || nh === IpProto.IPV6_DSTOPTS || nh === IpProto.IPV6_ROUTING) {
      if (o + 2 > end) return false;
      nh = buf[o]!;
      o += (buf[o + 1]! + 1) * 8;
    }
    return nh === IpProto.IPV6_NONXT || o + 8 <= end;
  }

  private reasmExpired(q: ReasmQueue): void {
    const f = q.first;
    if (f === null || f.length < IPV6_HLEN || isMulticast(f, 24)) return;
    this.icmpError(f, 0, Icmpv6Type.TIME_EXCEEDED, TE_REASSEMBLY, 0);
  }

  // ------------------------------------------------------------------ ICMPv6 (icmpv6_rcv)

  private icmpInput(
    buf: Uint8Array,
    ipOff: number,
    off: number,
    len: number,
    mcast: boolean,
    csumOk: boolean,
  ): void {
    const c = this.counters;
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
          w(this.stack.now() - getF64(buf, off + ICMP_HLEN));
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
        this.ndp.input(v, buf, ipOff, mcast);
    }
  }

  /** RFC 8201: the quoted packet must be one we sent; the MTU only lowers the path MTU. */
  private packetTooBig(v: Icmpv6View): void {
    const c = this.counters;
    const q = this.quoted.reset(v.buf, v.dataOff, v.dataLen);
    if (q.checkHeader() !== null || this.findAddress(v.buf, q.srcOff) === undefined) {
      c.ptbNotOurs++;
      return;
    }
    const now = this.stack.now();
    const dkey = key6(v.buf, q.dstOff);
    if (this.pmtu.update(dkey, v.mtu, now) > 0) c.ptbApplied++;
    // TCP shrinks its segments for a quoted segment inside its window (tcp_v6_err).
    if (q.checkQuoted() === null && q.upperProto === IpProto.TCP && !q.ext.isFragment) {
      const b = v.buf;
      const l4 = q.upperOff;
      if (l4 + 8 <= v.off + v.len) {
        const src = this.src16;
        const dst = this.dst16;
        q.copySrc(src);
        q.copyDst(dst);
        const seq = ((b[l4 + 4]! << 24) | (b[l4 + 5]! << 16) | (b[l4 + 6]! << 8) | b[l4 + 7]!) >>> 0;
        this.tcp.icmpError6(
          src,
          (b[l4]! << 8) | b[l4 + 1]!,
          dst,
          (b[l4 + 2]! << 8) | b[l4 + 3]!,
          seq,
          this.pmtu.get(dkey, now),
        );
      }
    }
  }

  /**
   * Active TCP open to `host` (the IPv6 half of net.connect): picks the source address and an
   * ephemeral port. Returns the connection in SYN-SENT or a node-style error code.
   */
  tcpConnect(
    host: string,
    port: number,
    localPort: number | undefined,
    opts: TcbOptions,
  ): Tcb | 'EADDRNOTAVAIL' | 'ENETUNREACH' | 'EADDRINUSE' {
    let dst: Uint8Array;
    try {
      dst = parseIpv6(host);
    } catch {
      return 'EADDRNOTAVAIL';
    }
    if (isMulticast(dst, 0) || this.routes.lookup(dst) === undefined) return 'ENETUNREACH';
    const src = new Uint8Array(16);
    if (!this.sourceFor(dst, 0, src)) return 'EADDRNOTAVAIL';
    const lport = localPort ?? this.tcp.ephemeralPortAny(port);
    if (lport < 0 || this.tcp.lookup6(src, lport, dst, port) !== undefined) return 'EADDRINUSE';
    return this.tcp.connect6(src, lport, dst, port, opts);
  }

  private echoReply(buf: Uint8Array, ipOff: number, off: number, len: number, mcast: boolean): void {
    const src = this.tmp16;
    if (mcast) {
      if (!this.sourceFor(buf, ipOff + 8, src)) {
        this.counters.outNoSource++;
        return;
      }
    } else for (let i = 0; i < 16; i++) src[i] = buf[ipOff + 24 + i]!;
    const dst = this.echoDst16;
    for (let i = 0; i < 16; i++) dst[i] = buf[ipOff + 8 + i]!;
    if (len > this.inlineMax) {
      // A reassembled large echo: the reply goes out fragmented from the scratch.
      this.tx.set(buf.subarray(off, off + len), IPV6_HLEN);
      this.tx[IPV6_HLEN] = Icmpv6Type.ECHO_REPLY;
      this.sendIcmpScratch(src, dst, len);
      return;
    }
    const m = this.allocL4(len);
    if (m === null) return;
    const pb = this.stack.pool.data;
    const l4 = m.dataOffset + L4_OFF6;
    pb.set(buf.subarray(off, off + len), l4);
    pb[l4] = Icmpv6Type.ECHO_REPLY;
    this.sendIcmp(m, src, dst, len, this.hopLimit);
  }

  /** L4 bytes that fit one packet buffer behind Ethernet + IPv6. */
  private get inlineMax(): number {
    const p = this.stack.pool;
    return p.segmentSize - p.headroom - L4_OFF6;
  }

  /** Sends the ICMPv6 message at tx[40, 40 + len) (checksum filled here) as fragments. */
  private sendIcmpScratch(src: Uint8Array, dst: Uint8Array, len: number): void {
    const tx = this.tx;
    tx[IPV6_HLEN + 2] = 0;
    tx[IPV6_HLEN + 3] = 0;
    set16(
      tx,
      IPV6_HLEN + 2,
      csumFinish(csumPartial(tx, IPV6_HLEN, len, pseudoSum(src, dst, IpProto.ICMPV6, len))),
    );
    this.writeHeader(tx, 0, src, dst, IpProto.ICMPV6, len, this.hopLimit);
    this.counters.icmpOutMsgs++;
    this.counters.outRequests++;
    this.fragmentTx(IPV6_HLEN + len, dst);
  }

  /** Fills the checksum of the ICMPv6 message at L4_OFF6 in m and sends it. */
  sendIcmp(m: Mbuf, src: Uint8Array, dst: Uint8Array, len: number, hopLimit: number): void {
    const pb = this.stack.pool.data;
    const l4 = m.dataOffset + L4_OFF6;
    pb[l4 + 2] = 0;
    pb[l4 + 3] = 0;
    const cs = csumFinish(csumPartial(pb, l4, len, pseudoSum(src, dst, IpProto.ICMPV6, len)));
    pb[l4 + 2] = cs >>> 8;
    pb[l4 + 3] = cs;
    this.counters.icmpOutMsgs++;
    this.output(m, src, dst, IpProto.ICMPV6, len, hopLimit);
  }

  /**
   * An ICMPv6 error about the packet at buf[ipOff] (icmp6_send): never about an error message, a
   * multicast source or the unspecified source, about a multicast destination only for parameter
   * problem code 2 with `allowMcast`; quotes as much as fits in 1280 bytes; rate limited.
   */
  icmpError(
    buf: Uint8Array,
    ipOff: number,
    type: number,
    code: number,
    rest: number,
    allowMcast = false,
  ): void {
    const c = this.counters;
    const so = ipOff + 8;
    const dso = ipOff + 24;
    if (isMulticast(buf, so) || isUnspecified(buf, so)) return;
    if (isMulticast(buf, dso) && !allowMcast && type !== Icmpv6Type.PACKET_TOO_BIG) return;
    // Not about an ICMPv6 error (RFC 4443 §2.4(e)): look at the first header only, as Linux's
    // is_ineligible does after skipping extension headers; a quick check on the fixed header.
    if (buf[ipOff + 6] === IpProto.ICMPV6 && buf.length > ipOff + IPV6_HLEN && buf[ipOff + IPV6_HLEN]! < 128)
      return;
    const now = this.stack.now();
    if (!this.stack.icmpRate.allow(now)) {
      c.icmpRateLimited++;
      return;
    }
    const src = this.src16;
    if (isMulticast(buf, dso) || this.findAddress(buf, dso) === undefined) {
      if (!this.sourceFor(buf, so, src)) return;
    } else for (let i = 0; i < 16; i++) src[i] = buf[dso + i]!;
    const plen = ((buf[ipOff + 4]! << 8) | buf[ipOff + 5]!) + IPV6_HLEN;
    const quote = Math.min(plen, buf.length - ipOff, ICMP6_ERR_MAX - ICMP_HLEN);
    const len = ICMP_HLEN + quote;
    const m = this.allocL4(len);
    if (m === null) return;
    const pb = this.stack.pool.data;
    const l4 = m.dataOffset + L4_OFF6;
    pb[l4] = type;
    pb[l4 + 1] = code;
    set32(pb, l4 + 4, rest);
    pb.set(buf.subarray(ipOff, ipOff + quote), l4 + ICMP_HLEN);
    const dst = this.dst16;
    for (let i = 0; i < 16; i++) dst[i] = buf[so + i]!;
    c.icmpOutErrors++;
    this.sendIcmp(m, src, dst, len, this.hopLimit);
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
    if (!this.sourceFor(dst, 0, src)) return Promise.reject(new NetError('EADDRNOTAVAIL', 'ping'));
    return new Promise<number>((resolve, reject) => {
      const ident = this.echoIdent;
      this.echoIdent = (this.echoIdent + 1) & 0xffff;
      const key = ((ident << 16) | 1) >>> 0;
      const timer = this.stack.time.timers.timer(() => {
        this.echoWaiters.delete(key);
        reject(new NetError('ETIMEDOUT', 'ping'));
      });
      this.echoWaiters.set(key, (rtt) => {
        timer.cancel();
        resolve(rtt);
      });
      timer.arm(timeout);
      const len = ICMP_HLEN + size;
      if (len > this.inlineMax) {
        const tx = this.tx;
        const l4 = IPV6_HLEN;
        tx[l4] = Icmpv6Type.ECHO_REQUEST;
        tx[l4 + 1] = 0;
        set16(tx, l4 + 4, ident);
        set16(tx, l4 + 6, 1);
        setF64(tx, l4 + ICMP_HLEN, this.stack.now());
        for (let i = 8; i < size; i++) tx[l4 + ICMP_HLEN + i] = i & 0xff;
        this.sendIcmpScratch(src, dst, len);
        this.stack.time.poke();
        return;
      }
      const m = this.allocL4(len);
      if (m === null) {
        timer.cancel();
        this.echoWaiters.delete(key);
        reject(new StackError('STACK_FULL', 'no packet buffer for ping'));
        return;
      }
      const pb = this.stack.pool.data;
      const l4 = m.dataOffset + L4_OFF6;
      pb[l4] = Icmpv6Type.ECHO_REQUEST;
      pb[l4 + 1] = 0;
      set16(pb, l4 + 4, ident);
      set16(pb, l4 + 6, 1);
      setF64(pb, l4 + ICMP_HLEN, this.stack.now());
      for (let i = 8; i < size; i++) pb[l4 + ICMP_HLEN + i] = i & 0xff;
      this.sendIcmp(m, src, dst, len, this.hopLimit);
      this.stack.time.poke();
    });
  }

  // ------------------------------------------------------------------ UDP output (udpv6_sendmsg)

  /** Sends one UDP datagram over IPv6, fragmenting past the path MTU. False when it cannot be sent. */
  udpSend(sport: number, data: Uint8Array, dst: Uint8Array, dport: number): boolean {
    const st = this.stack;
    const l4Len = UDP_HLEN + data.length;
    if (l4Len > IP6_MAX_PAYLOAD) return false;
    if (!isMulticast(dst, 0) && this.routes.lookup(dst) === undefined) {
      this.counters.outNoRoutes++;
      return false;
    }
    const src = this.udpSrc16;
    if (!this.sourceFor(dst, 0, src)) {
      this.counters.outNoSource++;
      return false;
    }
    const ps = pseudoSum(src, dst, IpProto.UDP, l4Len);
    if (l4Len > this.inlineMax) {
      // Too big for one buffer: build it in the scratch and fragment from there.
      const tx = this.tx;
      const u = IPV6_HLEN;
      writeUdp(tx, u, sport, dport, l4Len);
      tx.set(data, u + UDP_HLEN);
      const cs = csumFinish(csumPartial(tx, u, l4Len, ps)) || 0xffff;
      set16(tx, u + 6, cs);
      this.writeHeader(tx, 0, src, dst, IpProto.UDP, l4Len, this.hopLimit);
      st.counters.udpOutDatagrams++;
      this.counters.outRequests++;
      return this.fragmentTx(IPV6_HLEN + l4Len, dst);
    }
    const m = this.allocL4(l4Len);
    if (m === null) return false;
    const buf = st.pool.data;
    const o = m.dataOffset + L4_OFF6;
    writeUdp(buf, o, sport, dport, l4Len);
    buf.set(data, o + UDP_HLEN);
    if (st.txCsum) {
      set16(buf, o + 6, ps);
      m.meta.flags |= META_F_NEEDS_CSUM;
      m.meta.csumStart = L4_OFF6;
      m.meta.csumOffset = 6;
    } else {
      set16(buf, o + 6, 0);
      set16(buf, o + 6, csumFinish(csumPartial(buf, o, l4Len, ps)) || 0xffff);
    }
    st.counters.udpOutDatagrams++;
    this.output(m, src, dst, IpProto.UDP, l4Len, this.hopLimit);
    st.time.poke();
    return true;
  }

  // ------------------------------------------------------------------ output (ip6_xmit, ip6_finish_output2)

  /** An mbuf with room for Ethernet + IPv6 + l4Len bytes, or null (counted). */
  allocL4(l4Len: number): Mbuf | null {
    const st = this.stack;
    const m = st.pool.alloc();
    const total = L4_OFF6 + l4Len;
    if (m === null || !m.extend(total) || m.headLength < total) {
      m?.free();
      st.counters.txNoBuffers++;
      return null;
    }
    return m;
  }

  private writeHeader(
    b: Uint8Array,
    o: number,
    src: Uint8Array,
    dst: Uint8Array,
    nh: number,
    l4Len: number,
    hop: number,
  ): void {
    b[o] = 0x60;
    b[o + 1] = 0;
    b[o + 2] = 0;
    b[o + 3] = 0;
    set16(b, o + 4, l4Len);
    b[o + 6] = nh;
    b[o + 7] = hop;
    b.set(src, o + 8);
    b.set(dst, o + 24);
  }

  /**
   * Fills the IPv6 and Ethernet headers in front of the L4 payload of m and sends it: multicast
   * to its 33:33 MAC, unicast to the route's next hop through NDP; fragments when the packet is
   * over the path MTU. m is consumed.
   */
  output(m: Mbuf, src: Uint8Array, dst: Uint8Array, nh: number, l4Len: number, hopLimit: number): void {
    const st = this.stack;
    const c = this.counters;
    const buf = st.pool.data;
    const o = m.dataOffset;
    this.writeHeader(buf, o + ETH_HLEN, src, dst, nh, l4Len, hopLimit);
    buf.set(st.netif.mac, o + 6);
    set16(buf, o + 12, EtherType.IPV6);
    c.outRequests++;
    if (isMulticast(dst, 0)) {
      // 33:33 + the group's low 32 bits (RFC 2464 §7).
      const mac = this.mcastMac;
      for (let i = 0; i < 4; i++) mac[2 + i] = dst[12 + i]!;
      st.xmitTo(m, mac);
      return;
    }
    // One of our addresses: the stack's loopback (lo), never the NIC.
    const own = this.findAddress(dst, 0);
    if (own?.state === 'PREFERRED') {
      st.loopback(m);
      return;
    }
    // TSO super-frames are cut by the device at gsoSize, which TCP keeps under the path MTU.
    if (m.meta.gsoType === 0 && IPV6_HLEN + l4Len > this.pathMtu(dst)) {
      this.fragmentFrame(m, dst);
      return;
    }
    this.route(m, dst);
  }

  /** The path MTU towards dst (no key is built while the cache is empty). */
  pathMtu(dst: Uint8Array): number {
    return this.pmtu.size === 0 ? this.pmtu.linkMtu : this.pmtu.get(key6(dst), this.stack.now());
  }

  private route(m: Mbuf, dst: Uint8Array): void {
    const st = this.stack;
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
    const ll = this.nd.resolve(this.lastKey, m, st.now());
    if (ll !== null) st.xmitTo(m, ll);
  }

  /** Linearises the frame in m (completing a pending checksum) and sends it as fragments. */
  private fragmentFrame(m: Mbuf, dst: Uint8Array): void {
    const len = m.length - ETH_HLEN;
    const tx = this.tx;
    m.copyTo(tx, 0, ETH_HLEN, len);
    if ((m.meta.flags & META_F_NEEDS_CSUM) !== 0) {
      const cs = m.meta.csumStart - ETH_HLEN;
      const v = csumFinish(csumPartial(tx, cs, len - cs));
      set16(tx, cs + m.meta.csumOffset, tx[6] === IpProto.UDP ? v || 0xffff : v);
    }
    m.free();
    this.fragmentTx(len, dst);
  }

  /**
   * Cuts the packet in tx[0, len) (fixed header, no extension headers) into fragments that fit the
   * path MTU (ip6_fragment's slow path), each with a fragment header carrying one random
   * identification (RFC 7739); a packet that fits leaves whole, without one (no atomic fragments,
   * RFC 8021). Payloads are appended behind the headers, chaining segments past one buffer.
   */
  private fragmentTx(len: number, dst: Uint8Array): boolean {
    const st = this.stack;
    const c = this.counters;
    const tx = this.tx;
    const mtu = this.pathMtu(dst);
    if (len <= mtu) {
      const m = st.pool.alloc();
      if (m === null || !m.extend(ETH_HLEN) || !m.append(tx, 0, len)) {
        m?.free();
        st.counters.txNoBuffers++;
        return false;
      }
      const pb = st.pool.data;
      pb.set(st.netif.mac, m.dataOffset + 6);
      set16(pb, m.dataOffset + 12, EtherType.IPV6);
      this.route(m, dst);
      return true;
    }
    const step = (mtu - IPV6_HLEN - FRAG_HLEN) & ~7;
    const payload = len - IPV6_HLEN;
    const proto = tx[6]!;
    this.fragIdent = (this.fragIdent + 1 + ((Math.random() * 0x10000) | 0)) >>> 0;
    const ident = this.fragIdent;
    const hop = this.hop16;
    if (!this.routes.nextHop(dst, 0, hop)) {
      c.outNoRoutes++;
      c.fragFails++;
      return false;
    }
    const key = key6(hop);
    for (let at = 0; at < payload; at += step) {
      const n = Math.min(step, payload - at);
      const h = L4_OFF6 + FRAG_HLEN;
      const m = st.pool.alloc();
      if (m === null || !m.extend(h) || m.headLength < h || !m.append(tx, IPV6_HLEN + at, n)) {
        m?.free();
        st.counters.txNoBuffers++;
        c.fragFails++;
        return false;
      }
      const pb = st.pool.data;
      const o = m.dataOffset;
      pb.set(st.netif.mac, o + 6);
      set16(pb, o + 12, EtherType.IPV6);
      const ih = o + ETH_HLEN;
      pb.set(tx.subarray(0, IPV6_HLEN), ih);
      set16(pb, ih + 4, FRAG_HLEN + n);
      pb[ih + 6] = IpProto.IPV6_FRAGMENT;
      const fh = ih + IPV6_HLEN;
      pb[fh] = proto;
      pb[fh + 1] = 0;
      set16(pb, fh + 2, at | (at + n < payload ? 1 : 0));
      set32(pb, fh + 4, ident);
      c.fragCreates++;
      const ll = this.nd.resolve(key, m, st.now());
      if (ll !== null) st.xmitTo(m, ll);
    }
    c.fragOks++;
    st.time.poke();
    if (log.enabled) log('fragmented %d bytes to %s', len, ipv6ToString(dst));
    return true;
  }
}

function writeUdp(b: Uint8Array, o: number, sport: number, dport: number, len: number): void {
  set16(b, o, sport);
  set16(b, o + 2, dport);
  set16(b, o + 4, len);
  set16(b, o + 6, 0);
}
