// Neighbor Discovery for a host (RFC 4861) and Duplicate Address Detection (RFC 4862 §5.4), as
// Linux ndisc.c / addrconf.c do it: neighbour solicitations and advertisements drive the shared
// neighbour cache (neighbour.ts), every NDP message must arrive with hop limit 255 and code 0 and
// pass the §7.1 validity checks, and each of our addresses stays tentative until
// DupAddrDetectTransmits solicitations from :: went unanswered. A solicitation from :: or an
// advertisement for a tentative address means another node has it: the address is marked
// DUPLICATE, reported and never used. Router messages are not acted on (no autoconfiguration).
import { Icmpv6Type, NdpOptType, type Icmpv6View } from '../wire/index.ts';
import type { Ipv6Address, Ipv6Layer } from './ipv6.ts';
import { ALL_NODES, UNSPECIFIED, isMulticast, isUnspecified, key6, solicitedNode } from './ipv6.ts';
import type { Stack } from './stack.ts';

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

export class NdpCounters {
  nsIn = 0;
  naIn = 0;
  nsOut = 0;
  naOut = 0;
  /** Hop limit not 255, non-zero code, multicast target, or an option/source combination §7.1 forbids. */
  invalid = 0;
  /** Solicitations for an address that is not ours. */
  nsNotForUs = 0;
  /** Router solicitations/advertisements and redirects (a host without autoconfiguration ignores them). */
  routerIgnored = 0;
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

  constructor(
    private readonly ip6: Ipv6Layer,
    private readonly stack: Stack,
    readonly counters: NdpCounters,
    /** Upper bound of the random delay before the first DAD probe, ms. */
    readonly dadDelay = DAD_MAX_DELAY,
  ) {}

  // ------------------------------------------------------------------ DAD (addrconf_dad_work)

  startDad(a: Ipv6Address): void {
    a.probes = 0;
    if (this.ip6.dadTransmits === 0) {
      a.state = 'PREFERRED';
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
    this.ip6.onDad?.(a, 'ok');
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
    const pb = this.stack.pool.data;
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
    const pb = this.stack.pool.data;
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
    pb.set(this.stack.netif.mac, o + 2);
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
      this.stack.now(),
    );
  }
}
