// Neighbor Discovery for a host (RFC 4861) and Duplicate Address Detection (RFC 4862 §5.4), as
// Linux ndisc.c / addrconf.c do it: neighbour solicitations and advertisements drive the shared
// neighbour cache (neighbour.ts), every NDP message must arrive with hop limit 255 and code 0 and
// pass the §7.1 validity checks, and each of our addresses stays tentative until
// DupAddrDetectTransmits solicitations from :: went unanswered. A solicitation from :: or an
// advertisement for a tentative address means another node has it: the address is marked
// DUPLICATE, reported and never used. Router discovery (§6.3, ndisc_router_discovery): optional
// router solicitations once the link-local address is usable, and router advertisements that
// set the default route (one router, the latest), on-link prefixes, hop limit and timers; no
// stateless address autoconfiguration, and prefixes do not expire on their own.
import type { Mbuf, Mempool } from '../../mbuf/index.ts';
import { Icmpv6Type, NdpOptType, parseIpv6, type Icmpv6View } from '../../wire/index.ts';
import type { NeighbourCache } from '../neighbour.ts';
import type { RouteTable6 } from '../route.ts';
import type { Timer, TimerHost } from '../timer.ts';
import {
  ALL_NODES,
  UNSPECIFIED,
  isLinkLocal,
  isMulticast,
  isUnspecified,
  key6,
  solicitedNode,
  type Ipv6Address,
} from './addr.ts';
import type { Ipv6Counters } from './counters.ts';

/** What NDP needs from the IPv6 layer (it passes itself). */
export interface NdpHost {
  readonly mac: Uint8Array;
  readonly pool: Mempool;
  readonly time: TimerHost;
  readonly counters: Ipv6Counters;
  readonly nd: NeighbourCache<string, Mbuf>;
  readonly routes: RouteTable6;
  readonly dadTransmits: number;
  readonly onDad: ((addr: Ipv6Address, result: 'ok' | 'duplicate') => void) | undefined;
  readonly staticGateway: boolean;
  /** Hop limit of packets we originate; a router advertisement may change it. */
  hopLimit: number;
  now(): number;
  findAddress(buf: Uint8Array, off: number): Ipv6Address | undefined;
  sourceFor(dst: Uint8Array, dstOff: number, out: Uint8Array): boolean;
  allocL4(l4Len: number): Mbuf | null;
  /** Fills the ICMPv6 checksum of the message at the L4 offset of m and sends it. */
  sendIcmp(m: Mbuf, src: Uint8Array, dst: Uint8Array, len: number, hopLimit: number): void;
}

/** NS/NA fixed part: type, code, checksum, 4 bytes of flags/reserved, 16-byte target. */
const NS_LEN = 24;
/** A link-layer address option for Ethernet: type, length (1 = 8 bytes), 6-byte MAC. */
const LLAO_LEN = 8;
const NA_ROUTER = 0x80;
/** Ethernet + IPv6 header in front of the message. */
const ETH_IP6 = 14 + 40;
const NA_SOLICITED = 0x40;
const NA_OVERRIDE = 0x20;
/** RFC 4862 §5.4.2 / MAX_RTR_SOLICITATION_DELAY: the first DAD probe waits up to 1 s. */
export const DAD_MAX_DELAY = 1000;
/** RFC 4861 §10 RTR_SOLICITATION_INTERVAL, ms. */
export const RTR_SOLICITATION_INTERVAL = 4000;
/** Router solicitation: type, code, checksum, 4 reserved bytes. */
const RS_LEN = 8;
/** Prefix information option flag: on-link. */
const PI_ONLINK = 0x80;
const ALL_ROUTERS = parseIpv6('ff02::2');

export class NdpCounters {
  nsIn = 0;
  naIn = 0;
  nsOut = 0;
  naOut = 0;
  /** Hop limit not 255, non-zero code, multicast target, or an option/source combination §7.1 forbids. */
  invalid = 0;
  /** Solicitations for an address that is not ours. */
  nsNotForUs = 0;
  /** Router solicitations and redirects (a host ignores them). */
  routerIgnored = 0;
  rsOut = 0;
  raIn = 0;
  /** Advertisements whose source is not link-local (§6.1.2). */
  raInvalid = 0;
  /** On-link prefixes added or withdrawn by advertisements. */
  raPrefixes = 0;
  /** Other ICMPv6 informational types. */
  unknownType = 0;
  dadOk = 0;
  dadDuplicates = 0;
  /** Advertisements for a neighbour we hold no entry for (RFC 4861 §7.2.5: silently discarded). */
  naNoEntry = 0;
  /** Advertisements from elsewhere for an address we already use (RFC 4862 §5.4.4: logged). */
  addressConflicts = 0;
}

export class Ndp {
  private readonly mac6 = new Uint8Array(6);
  private readonly dst16 = new Uint8Array(16);
  private readonly src16 = new Uint8Array(16);
  /** Solicitations still to send (MAX_RTR_SOLICITATIONS at most). */
  private rsLeft: number;
  private readonly rsTimer: Timer;
  /** The router whose advertisement set the default route, and its lifetime. */
  readonly router = new Uint8Array(16);
  private haveRouter = false;
  private readonly routerTimer: Timer;

  constructor(
    private readonly ip6: NdpHost,
    readonly counters: NdpCounters,
    /** Upper bound of the random delay before the first DAD probe, ms. */
    readonly dadDelay = DAD_MAX_DELAY,
    /** Router solicitations sent once the link-local address is usable (Linux router_solicitations is 3; default 0). */
    readonly routerSolicitations = 0,
  ) {
    this.rsLeft = routerSolicitations;
    this.rsTimer = ip6.time.timers.timer(() => this.sendRs());
    this.routerTimer = ip6.time.timers.timer(() => this.dropRouter());
  }

  // ------------------------------------------------------------------ DAD (addrconf_dad_work)

  startDad(a: Ipv6Address): void {
    a.probes = 0;
    if (this.ip6.dadTransmits === 0) {
      a.state = 'PREFERRED';
      if (a.linkLocal && this.rsLeft > 0) this.rsTimer.arm(0);
      return;
    }
    a.state = 'TENTATIVE';
    a.timer.arm(Math.floor(Math.random() * this.dadDelay));
  }

  dadTimer(a: Ipv6Address): void {
    if (a.state !== 'TENTATIVE') return;
    if (a.probes < this.ip6.dadTransmits) {
      a.probes++;
      this.sendNs(a.addr, null, true);
      a.timer.arm(this.ip6.nd.params.retransTimer);
      return;
    }
    a.state = 'PREFERRED';
    this.counters.dadOk++;
    if (a.linkLocal && this.rsLeft > 0) this.sendRs();
    this.ip6.onDad?.(a, 'ok');
  }

  // ------------------------------------------------------------------ router discovery (§6.3.7)

  private sendRs(): void {
    if (this.rsLeft <= 0) return;
    const ip6 = this.ip6;
    const src = this.src16;
    if (!ip6.sourceFor(ALL_ROUTERS, 0, src)) return;
    const len = RS_LEN + LLAO_LEN;
    const m = ip6.allocL4(len);
    if (m === null) return;
    const pb = this.ip6.pool.data;
    const l4 = m.dataOffset + ETH_IP6;
    pb[l4] = Icmpv6Type.ROUTER_SOLICIT;
    pb.fill(0, l4 + 1, l4 + RS_LEN);
    this.llao(pb, l4 + RS_LEN, NdpOptType.SOURCE_LL_ADDR);
    this.rsLeft--;
    this.counters.rsOut++;
    ip6.sendIcmp(m, src, ALL_ROUTERS, len, 255);
    if (this.rsLeft > 0) this.rsTimer.arm(RTR_SOLICITATION_INTERVAL);
  }

  /** A router advertisement (§6.3.4), after the hop-limit and code checks. */
  private raInput(v: Icmpv6View, buf: Uint8Array, ipOff: number): void {
    const c = this.counters;
    c.raIn++;
    const so = ipOff + 8;
    if (!isLinkLocal(buf, so)) {
      c.raInvalid++;
      return;
    }
    const ip6 = this.ip6;
    this.rsLeft = 0;
    this.rsTimer.cancel();
    const o = v.off;
    if (buf[o + 4] !== 0) ip6.hopLimit = buf[o + 4]!;
    const lifetime = (buf[o + 6]! << 8) | buf[o + 7]!;
    const reachable = get32(buf, o + 8);
    const retrans = get32(buf, o + 12);
    if (reachable !== 0) ip6.nd.params.baseReachableTime = reachable;
    if (retrans !== 0) ip6.nd.params.retransTimer = retrans;
    const end = o + v.len;
    // check() validated the option list: lengths are non-zero and inside the message.
    for (let p = v.optionsOff; p + 2 <= end; p += buf[p + 1]! * 8) {
      const t = buf[p]!;
      if (t === NdpOptType.SOURCE_LL_ADDR && buf[p + 1] === 1) {
        ip6.nd.learned(key6(buf, so), this.macAt(buf, p + 2));
      } else if (t === NdpOptType.PREFIX_INFO && buf[p + 1] === 4) {
        const plen = buf[p + 2]!;
        const prefix = buf.subarray(p + 16, p + 32);
        if ((buf[p + 3]! & PI_ONLINK) === 0 || plen > 128 || isLinkLocal(prefix, 0)) continue;
        c.raPrefixes++;
        if (get32(buf, p + 4) === 0) ip6.routes.remove(prefix, plen);
        else ip6.routes.add(prefix, plen);
      }
    }
    // A configured gateway wins over advertised ones.
    if (ip6.staticGateway) return;
    let same = this.haveRouter;
    for (let i = 0; same && i < 16; i++) same = this.router[i] === buf[so + i];
    if (lifetime > 0) {
      for (let i = 0; i < 16; i++) this.router[i] = buf[so + i]!;
      this.haveRouter = true;
      ip6.routes.add(UNSPECIFIED, 0, this.router);
      this.routerTimer.arm(lifetime * 1000);
    } else if (same) this.dropRouter();
  }

  private dropRouter(): void {
    if (!this.haveRouter) return;
    this.haveRouter = false;
    this.routerTimer.cancel();
    this.ip6.routes.remove(UNSPECIFIED, 0);
  }

  private duplicate(a: Ipv6Address): void {
    a.state = 'DUPLICATE';
    a.timer.cancel();
    this.counters.dadDuplicates++;
    this.ip6.onDad?.(a, 'duplicate');
  }

  // ------------------------------------------------------------------ output (ndisc_send_ns / _na)

  /**
   * A neighbour solicitation for `target`: to its solicited-node group when `ll` is null, else
   * unicast (a PROBE); from :: without a source link-layer option when `dad`.
   */
  sendNs(target: Uint8Array, ll: Uint8Array | null, dad: boolean): void {
    const ip6 = this.ip6;
    const src = this.src16;
    if (dad) src.set(UNSPECIFIED);
    else if (!ip6.sourceFor(target, 0, src)) {
      ip6.counters.outNoSource++;
      return;
    }
    const len = NS_LEN + (dad ? 0 : LLAO_LEN);
    const m = ip6.allocL4(len);
    if (m === null) return;
    const pb = this.ip6.pool.data;
    const l4 = m.dataOffset + ETH_IP6;
    pb[l4] = Icmpv6Type.NEIGHBOR_SOLICIT;
    pb.fill(0, l4 + 1, l4 + 8);
    pb.set(target, l4 + 8);
    if (!dad) this.llao(pb, l4 + NS_LEN, NdpOptType.SOURCE_LL_ADDR);
    const dst = this.dst16;
    if (ll === null) solicitedNode(target, dst);
    else dst.set(target);
    this.counters.nsOut++;
    ip6.sendIcmp(m, src, dst, len, 255);
  }

  private sendNa(target: Uint8Array, dst: Uint8Array, flags: number): void {
    const ip6 = this.ip6;
    const len = NS_LEN + LLAO_LEN;
    const m = ip6.allocL4(len);
    if (m === null) return;
    const pb = this.ip6.pool.data;
    const l4 = m.dataOffset + ETH_IP6;
    pb[l4] = Icmpv6Type.NEIGHBOR_ADVERT;
    pb.fill(0, l4 + 1, l4 + 8);
    pb[l4 + 4] = flags;
    pb.set(target, l4 + 8);
    this.llao(pb, l4 + NS_LEN, NdpOptType.TARGET_LL_ADDR);
    this.counters.naOut++;
    ip6.sendIcmp(m, target, dst, len, 255);
  }

  private llao(pb: Uint8Array, o: number, type: number): void {
    pb[o] = type;
    pb[o + 1] = 1;
    pb.set(this.ip6.mac, o + 2);
  }

  // ------------------------------------------------------------------ input (ndisc_rcv)

  /** An ICMPv6 message of a type below the error/echo ones handled by the caller. */
  input(v: Icmpv6View, buf: Uint8Array, ipOff: number, mcastDst: boolean): void {
    const c = this.counters;
    const type = v.type;
    if (type < Icmpv6Type.ROUTER_SOLICIT || type > Icmpv6Type.REDIRECT) {
      c.unknownType++;
      return;
    }
    // §6.1.1 / §7.1.1: hop limit 255 proves the sender is on-link; a non-zero code is not NDP.
    if (buf[ipOff + 7] !== 255 || v.ndpFixedLen === 0) {
      c.invalid++;
      return;
    }
    if (type === Icmpv6Type.NEIGHBOR_SOLICIT) this.nsInput(v, buf, ipOff);
    else if (type === Icmpv6Type.NEIGHBOR_ADVERT) this.naInput(v, buf, ipOff, mcastDst);
    else if (type === Icmpv6Type.ROUTER_ADVERT) this.raInput(v, buf, ipOff);
    else c.routerIgnored++;
  }

  /** The first option of `type` with an Ethernet address (length 1): offset of the MAC, or -1. */
  private option(v: Icmpv6View, type: number): number {
    const b = v.buf;
    const end = v.off + v.len;
    // check() has validated the option list: every length is non-zero and inside the message.
    for (let o = v.optionsOff; o + 2 <= end; o += b[o + 1]! * 8) {
      if (b[o] === type && b[o + 1] === 1) return o + 2;
    }
    return -1;
  }

  private macAt(b: Uint8Array, o: number): Uint8Array {
    const m = this.mac6;
    for (let i = 0; i < 6; i++) m[i] = b[o + i]!;
    return m;
  }

  private nsInput(v: Icmpv6View, buf: Uint8Array, ipOff: number): void {
    const c = this.counters;
    c.nsIn++;
    const t = v.targetOff;
    const so = ipOff + 8;
    const dso = ipOff + 24;
    if (isMulticast(buf, t)) {
      c.invalid++;
      return;
    }
    const sll = this.option(v, NdpOptType.SOURCE_LL_ADDR);
    const unspec = isUnspecified(buf, so);
    // §7.1.1: from :: only to a solicited-node group and without a source link-layer option.
    if (
      unspec &&
      (sll >= 0 ||
        !(buf[dso] === 0xff && buf[dso + 1] === 2 && buf[dso + 11] === 1 && buf[dso + 12] === 0xff))
    ) {
      c.invalid++;
      return;
    }
    const a = this.ip6.findAddress(buf, t);
    if (a === undefined || a.state === 'DUPLICATE') {
      c.nsNotForUs++;
      return;
    }
    if (a.state === 'TENTATIVE') {
      // RFC 4862 §5.4.3: another node's DAD for the same address.
      if (unspec) this.duplicate(a);
      return;
    }
    const dst = this.dst16;
    if (unspec) dst.set(ALL_NODES);
    else {
      for (let i = 0; i < 16; i++) dst[i] = buf[so + i]!;
      if (sll >= 0) this.ip6.nd.learned(key6(buf, so), this.macAt(buf, sll));
    }
    this.sendNa(a.addr, dst, NA_OVERRIDE | (unspec ? 0 : NA_SOLICITED));
  }

  private naInput(v: Icmpv6View, buf: Uint8Array, _ipOff: number, mcastDst: boolean): void {
    const c = this.counters;
    c.naIn++;
    const t = v.targetOff;
    const flags = buf[v.off + 4]!;
    const solicited = (flags & NA_SOLICITED) !== 0;
    if (isMulticast(buf, t) || (mcastDst && solicited)) {
      c.invalid++;
      return;
    }
    const a = this.ip6.findAddress(buf, t);
    if (a !== undefined) {
      if (a.state === 'TENTATIVE') this.duplicate(a);
      else if (a.state === 'PREFERRED') c.addressConflicts++;
      return;
    }
    const tll = this.option(v, NdpOptType.TARGET_LL_ADDR);
    const key = key6(buf, t);
    if (this.ip6.nd.get(key) === undefined) {
      c.naNoEntry++;
      return;
    }
    this.ip6.nd.advertisement(
      key,
      tll >= 0 ? this.macAt(buf, tll) : null,
      solicited,
      (flags & NA_OVERRIDE) !== 0,
      (flags & NA_ROUTER) !== 0,
      this.ip6.now(),
    );
  }
}

function get32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}
