// ICMPv6 (RFC 4443) and the NDP messages (RFC 4861 §4). The view's window is the whole message;
// the checksum covers it plus the IPv6 pseudo-header (next header 58). check() enforces each NDP
// message's fixed length and a well-formed option list, as ndisc_rcv()/ndisc_parse_options() do;
// NDP with a non-zero code is not NDP (RFC 4861 says drop it) and parses as 'other'.
import { csumFinish, csumPartial } from '../checksum/index.ts';
import { ICMP_HLEN, Icmpv6Type, IpProto } from './constants.ts';
import { WireError, type WireErrorCode } from './errors.ts';
import { badNdpOption, emitNdpOption, ndpOptionLen, parseNdpOptions, type NdpOption } from './ndp.ts';
import { pseudoSum } from './pseudo.ts';
import { IcmpHeaderView } from './icmp.ts';
import { inRange, needRoom } from './view.ts';
import { get16, get32, set16, set32 } from './bytes.ts';

/** Bytes before the options of an NDP message, 0 for other types. */
export function ndpFixedLen(type: number): number {
  switch (type) {
    case Icmpv6Type.ROUTER_SOLICIT:
      return 8;
    case Icmpv6Type.ROUTER_ADVERT:
      return 16;
    case Icmpv6Type.NEIGHBOR_SOLICIT:
    case Icmpv6Type.NEIGHBOR_ADVERT:
      return 24;
    case Icmpv6Type.REDIRECT:
      return 40;
    default:
      return 0;
  }
}

export class Icmpv6View extends IcmpHeaderView {
  check(): WireErrorCode | null {
    if (!this.fits(ICMP_HLEN)) return 'TRUNCATED';
    const fixed = this.ndpFixedLen;
    if (fixed === 0) return null;
    if (this.len < fixed) return this.fail('TRUNCATED', this.off + this.len);
    const bad = badNdpOption(this.buf, this.off + fixed, this.off + this.len);
    return bad >= 0 ? this.fail('BAD_OPTION', bad) : null;
  }
  /** Packet-too-big MTU. */
  get mtu(): number {
    return get32(this.buf, this.off + 4);
  }
  /** An NDP message (types 133-137 with code 0): its fixed length, else 0. */
  get ndpFixedLen(): number {
    return this.code === 0 ? ndpFixedLen(this.type) : 0;
  }
  /** NS/NA/redirect target address offset (16 bytes). */
  get targetOff(): number {
    return this.off + 8;
  }
  /** Options start (NDP messages). */
  get optionsOff(): number {
    return this.off + this.ndpFixedLen;
  }
  verifyChecksum(pseudo: number): boolean {
    return csumPartial(this.buf, this.off, this.len, pseudo) === 0xffff;
  }
  fillChecksum(pseudo: number): void {
    this.checksum = 0;
    this.checksum = csumFinish(csumPartial(this.buf, this.off, this.len, pseudo));
  }
}

export type Icmpv6Repr =
  | { kind: 'echoRequest' | 'echoReply'; ident: number; seq: number; data: Uint8Array }
  | { kind: 'destUnreachable'; code: number; data: Uint8Array }
  | { kind: 'packetTooBig'; mtu: number; data: Uint8Array }
  | { kind: 'timeExceeded'; code: number; data: Uint8Array }
  | { kind: 'paramProblem'; code: number; pointer: number; data: Uint8Array }
  | { kind: 'routerSolicit'; options: NdpOption[] }
  | {
      kind: 'routerAdvert';
      curHopLimit: number;
      /** M (0x80), O (0x40), and the rest of that byte. */
      flags: number;
      routerLifetime: number;
      reachableTime: number;
      retransTimer: number;
      options: NdpOption[];
    }
  | { kind: 'neighborSolicit'; target: Uint8Array; options: NdpOption[] }
  /** flags: R (0x80000000), S (0x40000000), O (0x20000000) and the reserved bits, as the word. */
  | { kind: 'neighborAdvert'; flags: number; target: Uint8Array; options: NdpOption[] }
  | { kind: 'redirect'; target: Uint8Array; destination: Uint8Array; options: NdpOption[] }
  | { kind: 'other'; type: number; code: number; rest: number; data: Uint8Array };

export const Icmpv6Repr = {
  parse(v: Icmpv6View): Icmpv6Repr {
    v.checked();
    const { buf, off, type, code, rest } = v;
    const end = off + v.len;
    const data = (): Uint8Array => buf.slice(off + ICMP_HLEN, end);
    const addr = (at: number): Uint8Array => buf.slice(off + at, off + at + 16);
    const opts = (): NdpOption[] => parseNdpOptions(buf, v.optionsOff, end);
    if (v.ndpFixedLen !== 0) {
      switch (type) {
        case Icmpv6Type.ROUTER_SOLICIT:
          if (rest === 0) return { kind: 'routerSolicit', options: opts() };
          break;
        case Icmpv6Type.ROUTER_ADVERT:
          return {
            kind: 'routerAdvert',
            curHopLimit: buf[off + 4]!,
            flags: buf[off + 5]!,
            routerLifetime: get16(buf, off + 6),
            reachableTime: get32(buf, off + 8),
            retransTimer: get32(buf, off + 12),
            options: opts(),
          };
        case Icmpv6Type.NEIGHBOR_SOLICIT:
          if (rest === 0) return { kind: 'neighborSolicit', target: addr(8), options: opts() };
          break;
        case Icmpv6Type.NEIGHBOR_ADVERT:
          return { kind: 'neighborAdvert', flags: rest, target: addr(8), options: opts() };
        case Icmpv6Type.REDIRECT:
          if (rest === 0)
            return { kind: 'redirect', target: addr(8), destination: addr(24), options: opts() };
          break;
      }
    } else if ((type === Icmpv6Type.ECHO_REQUEST || type === Icmpv6Type.ECHO_REPLY) && code === 0) {
      const kind = type === Icmpv6Type.ECHO_REQUEST ? 'echoRequest' : 'echoReply';
      return { kind, ident: v.ident, seq: v.seq, data: data() };
    } else if (type === Icmpv6Type.DEST_UNREACH && rest === 0)
      return { kind: 'destUnreachable', code, data: data() };
    else if (type === Icmpv6Type.PACKET_TOO_BIG && code === 0)
      return { kind: 'packetTooBig', mtu: rest, data: data() };
    else if (type === Icmpv6Type.TIME_EXCEEDED && rest === 0)
      return { kind: 'timeExceeded', code, data: data() };
    else if (type === Icmpv6Type.PARAM_PROBLEM)
      return { kind: 'paramProblem', code, pointer: rest, data: data() };
    return { kind: 'other', type, code, rest, data: data() };
  },

  bufferLen(r: Icmpv6Repr): number {
    switch (r.kind) {
      case 'routerSolicit':
      case 'routerAdvert':
      case 'neighborSolicit':
      case 'neighborAdvert':
      case 'redirect': {
        let n = ndpFixedLen(typeOf(r));
        for (const o of r.options) n += ndpOptionLen(o);
        return n;
      }
      default:
        return ICMP_HLEN + r.data.length;
    }
  },

  /** Write the whole message at buf[off], checksum over the IPv6 pseudo-header; returns its length. */
  emit(r: Icmpv6Repr, buf: Uint8Array, off: number, src: Uint8Array, dst: Uint8Array): number {
    const n = Icmpv6Repr.bufferLen(r);
    needRoom(buf, off, n);
    const type = typeOf(r);
    inRange(type, 255, 'type');
    buf.fill(0, off, off + ICMP_HLEN);
    buf[off] = type;
    let p = off + ICMP_HLEN;
    switch (r.kind) {
      case 'echoRequest':
      case 'echoReply':
        inRange(r.ident, 0xffff, 'ident');
        inRange(r.seq, 0xffff, 'seq');
        set16(buf, off + 4, r.ident);
        set16(buf, off + 6, r.seq);
        break;
      case 'destUnreachable':
      case 'timeExceeded':
        inRange(r.code, 255, 'code');
        buf[off + 1] = r.code;
        break;
      case 'packetTooBig':
        inRange(r.mtu, 0xffffffff, 'mtu');
        set32(buf, off + 4, r.mtu);
        break;
      case 'paramProblem':
      case 'other':
        inRange(r.code, 255, 'code');
        buf[off + 1] = r.code;
        if (r.kind === 'paramProblem') {
          inRange(r.pointer, 0xffffffff, 'pointer');
          set32(buf, off + 4, r.pointer);
        } else {
          inRange(r.rest, 0xffffffff, 'rest');
          set32(buf, off + 4, r.rest);
        }
        break;
      case 'routerSolicit':
        break;
      case 'routerAdvert':
        inRange(r.curHopLimit, 255, 'curHopLimit');
        inRange(r.flags, 255, 'flags');
        inRange(r.routerLifetime, 0xffff, 'routerLifetime');
        inRange(r.reachableTime, 0xffffffff, 'reachableTime');
        inRange(r.retransTimer, 0xffffffff, 'retransTimer');
        buf[off + 4] = r.curHopLimit;
        buf[off + 5] = r.flags;
        set16(buf, off + 6, r.routerLifetime);
        set32(buf, off + 8, r.reachableTime);
        set32(buf, off + 12, r.retransTimer);
        p = off + 16;
        break;
      case 'neighborSolicit':
      case 'neighborAdvert':
      case 'redirect':
        if (r.kind === 'neighborAdvert') {
          inRange(r.flags, 0xffffffff, 'flags');
          set32(buf, off + 4, r.flags);
        }
        if (r.target.length !== 16) throw new WireError('BAD_REPR', off + 8, 'target must be 16 bytes');
        buf.set(r.target, off + 8);
        p = off + 24;
        if (r.kind === 'redirect') {
          if (r.destination.length !== 16)
            throw new WireError('BAD_REPR', off + 24, 'destination must be 16 bytes');
          buf.set(r.destination, off + 24);
          p = off + 40;
        }
        break;
    }
    if ('options' in r) for (const o of r.options) p = emitNdpOption(o, buf, p);
    else buf.set(r.data, p);
    set16(buf, off + 2, csumFinish(csumPartial(buf, off, n, pseudoSum(src, dst, IpProto.ICMPV6, n))));
    return n;
  },
};

function typeOf(r: Icmpv6Repr): number {
  switch (r.kind) {
    case 'echoRequest':
      return Icmpv6Type.ECHO_REQUEST;
    case 'echoReply':
      return Icmpv6Type.ECHO_REPLY;
    case 'destUnreachable':
      return Icmpv6Type.DEST_UNREACH;
    case 'packetTooBig':
      return Icmpv6Type.PACKET_TOO_BIG;
    case 'timeExceeded':
      return Icmpv6Type.TIME_EXCEEDED;
    case 'paramProblem':
      return Icmpv6Type.PARAM_PROBLEM;
    case 'routerSolicit':
      return Icmpv6Type.ROUTER_SOLICIT;
    case 'routerAdvert':
      return Icmpv6Type.ROUTER_ADVERT;
    case 'neighborSolicit':
      return Icmpv6Type.NEIGHBOR_SOLICIT;
    case 'neighborAdvert':
      return Icmpv6Type.NEIGHBOR_ADVERT;
    case 'redirect':
      return Icmpv6Type.REDIRECT;
    case 'other':
      return r.type;
  }
}
