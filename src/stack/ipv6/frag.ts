// IPv6 fragmentation (ip6_fragment's slow path) and reassembly (ipv6_frag_rcv, RFC 8200 §4.5 and
// RFC 5722) for the IPv6 layer. Reassembled packets are rebuilt in a scratch buffer with the
// fragment header removed and fed back to IPv6 input; packets over the path MTU are linearised
// once (completing a pending checksum) and cut into 8-byte-aligned pieces.
import debug from 'debug';
import { META_F_NEEDS_CSUM, type Mbuf, type Mempool } from '../../mbuf/index.ts';
import {
  ETH_HLEN,
  ICMP_HLEN,
  Icmpv6Type,
  IpProto,
  IPV6_HLEN,
  ipv6ToString,
  Ipv6View,
  set16,
  set32,
} from '../../wire/index.ts';
import { csumFinish, csumPartial } from '../../checksum/index.ts';
import { Reassembler, type ReasmParams, type ReasmQueue } from '../reassembly.ts';
import type { TimerHost } from '../timer.ts';
import { isMulticast, key6 } from './addr.ts';
import type { Ipv6Counters } from './counters.ts';
import { chainFits } from './exthdr.ts';
import { ICMP6_ERR_MAX, type Icmp6 } from './icmpv6.ts';

const log = debug('ptnet:ip6');
const FRAG_HLEN = 8;
const IP6_MAX_PAYLOAD = 65535;
/** Parameter problem code 0 (RFC 4443 §3.4). */
const PP_HEADER = 0;
/** RFC 7112: IPv6 first fragment has an incomplete header chain. */
const PP_HEADER_INCOMPLETE = 3;
/** Time exceeded code: fragment reassembly time exceeded. */
const TE_REASSEMBLY = 1;

/** What fragmentation and reassembly need from the IPv6 layer (it passes itself). */
export interface Ipv6FragHost {
  readonly counters: Ipv6Counters;
  readonly time: TimerHost;
  readonly pool: Mempool;
  readonly icmp: Icmp6;
  pathMtu(dst: Uint8Array): number;
  /** Whether dst has a route (counted when not). */
  routable(dst: Uint8Array): boolean;
  /** Sends one finished frame (IPv6 header at ETH_HLEN) to dst's next hop; m is consumed. */
  routeFrame(m: Mbuf, dst: Uint8Array): void;
  /** Feeds a reassembled packet back to IPv6 input. */
  input(buf: Uint8Array, off: number, len: number, csumOk: boolean, reassembled: boolean): void;
  /** Counts a packet buffer the pool could not give. */
  txNoBuffers(): void;
}

export class Ipv6Frag {
  readonly reasm: Reassembler;
  /** Reassembled packet fed back to input. */
  private readonly rx = new Uint8Array(IPV6_HLEN + IP6_MAX_PAYLOAD);
  /** Linearised outgoing packet for fragmentation (IPv6 header at 0). */
  readonly tx = new Uint8Array(IPV6_HLEN + IP6_MAX_PAYLOAD);
  private readonly hdr = new Ipv6View();
  private fragIdent = (Math.random() * 0x100000000) >>> 0;

  constructor(
    private readonly host: Ipv6FragHost,
    params: Partial<ReasmParams> = {},
  ) {
    this.reasm = new Reassembler(host.time.timers, (q) => this.reasmExpired(q), {
      timeout: 60_000,
      ...params,
    });
  }

  /** A fragment (ipv6_frag_rcv): the header at fh, the packet at buf[off, end). */
  input(buf: Uint8Array, off: number, fh: number, end: number): void {
    const c = this.host.counters;
    const w = (buf[fh + 2]! << 8) | buf[fh + 3]!;
    const offset = w & 0xfff8;
    const more = (w & 1) !== 0;
    const dataOff = fh + FRAG_HLEN;
    const len = end - dataOff;
    // RFC 8200 §4.5: a non-last fragment not a multiple of 8 bytes, or one ending past 65535.
    if (more && (len & 7) !== 0) {
      c.inFragErrors++;
      this.host.icmp.error(buf, off, Icmpv6Type.PARAM_PROBLEM, PP_HEADER, 4);
      return;
    }
    const unfrag = fh - off - IPV6_HLEN;
    if (unfrag + offset + len > IP6_MAX_PAYLOAD) {
      c.inFragErrors++;
      this.host.icmp.error(buf, off, Icmpv6Type.PARAM_PROBLEM, PP_HEADER, fh + 2 - off);
      return;
    }
    // RFC 7112: the first fragment carries the whole header chain up to the upper-layer header.
    if (offset === 0 && !chainFits(buf, buf[fh]!, dataOff, end)) {
      c.inFragErrors++;
      this.host.icmp.error(buf, off, Icmpv6Type.PARAM_PROBLEM, PP_HEADER_INCOMPLETE, 0);
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
    this.hdr.reset(rx, 0, IPV6_HLEN).payloadLength = total - IPV6_HLEN;
    this.host.input(rx, 0, total, false, true);
  }

  private reasmExpired(q: ReasmQueue): void {
    const f = q.first;
    if (f === null || f.length < IPV6_HLEN || isMulticast(f, 24)) return;
    this.host.icmp.error(f, 0, Icmpv6Type.TIME_EXCEEDED, TE_REASSEMBLY, 0);
  }

  /** Linearises the frame in m (completing a pending checksum) and sends it as fragments. */
  fragmentFrame(m: Mbuf, dst: Uint8Array): void {
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
  fragmentTx(len: number, dst: Uint8Array): boolean {
    const h = this.host;
    const c = h.counters;
    const tx = this.tx;
    const mtu = h.pathMtu(dst);
    if (len <= mtu) {
      const m = h.pool.alloc();
      if (m === null || !m.extend(ETH_HLEN) || !m.append(tx, 0, len)) {
        m?.free();
        h.txNoBuffers();
        return false;
      }
      h.routeFrame(m, dst);
      return true;
    }
    if (!h.routable(dst)) {
      c.fragFails++;
      return false;
    }
    const step = (mtu - IPV6_HLEN - FRAG_HLEN) & ~7;
    const payload = len - IPV6_HLEN;
    const proto = tx[6]!;
    this.fragIdent = (this.fragIdent + 1 + ((Math.random() * 0x10000) | 0)) >>> 0;
    const ident = this.fragIdent;
    for (let at = 0; at < payload; at += step) {
      const n = Math.min(step, payload - at);
      const hl = ETH_HLEN + IPV6_HLEN + FRAG_HLEN;
      const m = h.pool.alloc();
      if (m === null || !m.extend(hl) || m.headLength < hl || !m.append(tx, IPV6_HLEN + at, n)) {
        m?.free();
        h.txNoBuffers();
        c.fragFails++;
        return false;
      }
      const pb = h.pool.data;
      const ih = m.dataOffset + ETH_HLEN;
      pb.set(tx.subarray(0, IPV6_HLEN), ih);
      const ip = this.hdr.reset(pb, ih, IPV6_HLEN);
      ip.payloadLength = FRAG_HLEN + n;
      ip.nextHeader = IpProto.IPV6_FRAGMENT;
      writeFragmentHeader(pb, ih + IPV6_HLEN, proto, at, at + n < payload, ident);
      c.fragCreates++;
      h.routeFrame(m, dst);
    }
    c.fragOks++;
    if (log.enabled) log('fragmented %d bytes to %s', len, ipv6ToString(dst));
    return true;
  }
}

/** The 8-byte fragment header (RFC 8200 §4.5): next header, offset with the M flag, identification. */
function writeFragmentHeader(
  b: Uint8Array,
  o: number,
  nh: number,
  offset: number,
  more: boolean,
  ident: number,
): void {
  b[o] = nh;
  b[o + 1] = 0;
  set16(b, o + 2, offset | (more ? 1 : 0));
  set32(b, o + 4, ident);
}
