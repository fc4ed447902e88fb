// IPv6 fixed header (RFC 8200) and the extension-header walk. The walk follows Linux
// ipv6_skip_exthdr(): hop-by-hop, routing, fragment and destination options are skipped; it stops
// at any other next header (upper layer, AH, ESP, no-next-header) and after the fragment header of
// a non-first fragment, whose following bytes are not a header.
import { IPV6_HLEN, IpProto } from './constants.ts';
import { WireError, type WireErrorCode } from './errors.ts';
import { pseudoSumAt } from './pseudo.ts';
import { View, inRange, needRoom } from './view.ts';
import { get16, get32, set16, set32 } from './bytes.ts';

/** Result of walkIpv6Ext(); one per view/dissector, reused. */
export class Ipv6ExtWalk {
  /** Bytes of extension headers walked. */
  hdrLen = 0;
  /** The next header after the walked ones (upper-layer protocol, or where the walk stopped). */
  nextHeader = 0;
  /** Index in buf of the byte holding nextHeader (the fixed header's or the last extension's). */
  nextHeaderOff = 0;
  /** Number of extension headers walked. */
  count = 0;
  /** Index in buf of the fragment header, -1 when there is none. */
  fragHdrOff = -1;
  /** Fragment offset in bytes. */
  fragOffset = 0;
  moreFrags = false;
  fragIdent = 0;
  errorOffset = 0;

  clear(): void {
    this.hdrLen = 0;
    this.nextHeader = 0;
    this.nextHeaderOff = 0;
    this.count = 0;
    this.fragHdrOff = -1;
    this.fragOffset = 0;
    this.moreFrags = false;
    this.fragIdent = 0;
    this.errorOffset = 0;
  }
  get isFragment(): boolean {
    return this.fragHdrOff >= 0;
  }
}

/** Walk TLV options of a hop-by-hop / destination-options header (ip6_parse_tlv lengths only). */
function badTlv(buf: Uint8Array, off: number, end: number): number {
  let o = off;
  while (o < end) {
    if (buf[o] === 0) {
      o++; // Pad1
      continue;
    }
    if (o + 2 > end || o + 2 + buf[o + 1]! > end) return o;
    o += 2 + buf[o + 1]!;
  }
  return -1;
}

/**
 * Walk extension headers in buf[off, end) starting with next header `first`, whose byte sits at
 * firstOff. Fills `out`; returns null or an error code (out.errorOffset says where).
 */
export function walkIpv6Ext(
  buf: Uint8Array,
  off: number,
  end: number,
  first: number,
  firstOff: number,
  out: Ipv6ExtWalk,
): WireErrorCode | null {
  out.clear();
  let nh = first;
  let nhOff = firstOff;
  let o = off;
  for (;;) {
    if (nh === IpProto.HOPOPTS || nh === IpProto.IPV6_ROUTING || nh === IpProto.IPV6_DSTOPTS) {
      if (nh === IpProto.HOPOPTS && o !== off) {
        out.errorOffset = nhOff;
        return 'BAD_EXT_HEADER';
      }
      if (o + 2 > end) {
        out.errorOffset = end;
        return 'TRUNCATED';
      }
      const l = (buf[o + 1]! + 1) * 8;
      if (o + l > end) {
        out.errorOffset = end;
        return 'TRUNCATED';
      }
      if (nh !== IpProto.IPV6_ROUTING) {
        const bad = badTlv(buf, o + 2, o + l);
        if (bad >= 0) {
          out.errorOffset = bad;
          return 'BAD_OPTION';
        }
      }
      nhOff = o;
      nh = buf[o]!;
      o += l;
      out.count++;
    } else if (nh === IpProto.IPV6_FRAGMENT) {
      if (o + 8 > end) {
        out.errorOffset = end;
        return 'TRUNCATED';
      }
      const w = get16(buf, o + 2);
      out.fragHdrOff = o;
      out.fragOffset = w & 0xfff8;
      out.moreFrags = (w & 1) !== 0;
      out.fragIdent = get32(buf, o + 4);
      nhOff = o;
      nh = buf[o]!;
      o += 8;
      out.count++;
      if (out.fragOffset !== 0) break;
    } else break;
  }
  out.hdrLen = o - off;
  out.nextHeader = nh;
  out.nextHeaderOff = nhOff;
  return null;
}

export class Ipv6View extends View {
  /** Extension-header walk done by the last successful check(). */
  readonly ext = new Ipv6ExtWalk();

  /** Fixed header only: for the quoted packet inside ICMPv6 errors. */
  checkHeader(): WireErrorCode | null {
    if (!this.fits(IPV6_HLEN)) return 'TRUNCATED';
    if (this.buf[this.off]! >> 4 !== 6) return this.fail('BAD_VERSION', this.off);
    return null;
  }

  /**
   * For the packet quoted in an ICMPv6 error (RFC 4443 §2.4(c): as much as fits): the fixed header
   * and the extension headers that lie inside the window, ignoring a payload length beyond it.
   */
  checkQuoted(): WireErrorCode | null {
    this.ext.clear();
    const e = this.checkHeader();
    if (e !== null) return e;
    const { buf, off, len } = this;
    const end = off + Math.min(len, IPV6_HLEN + this.payloadLength);
    const w = walkIpv6Ext(buf, off + IPV6_HLEN, end, this.nextHeader, off + 6, this.ext);
    return w === null ? null : this.fail(w, this.ext.errorOffset);
  }

  check(): WireErrorCode | null {
    this.ext.clear();
    const e = this.checkHeader();
    if (e !== null) return e;
    const { buf, off, len } = this;
    const end = off + IPV6_HLEN + this.payloadLength;
    if (end > off + len) return this.fail('TRUNCATED', off + len);
    const w = walkIpv6Ext(buf, off + IPV6_HLEN, end, this.nextHeader, off + 6, this.ext);
    if (w !== null) return this.fail(w, this.ext.errorOffset);
    return null;
  }

  get version(): number {
    return this.buf[this.off]! >> 4;
  }
  /** Writes the first word for version 6 with traffic class `tc` and flow label 0. */
  initFirstWord(tc: number): void {
    const b = this.buf;
    const o = this.off;
    b[o] = 0x60 | ((tc >> 4) & 0x0f);
    b[o + 1] = (tc & 0x0f) << 4;
    b[o + 2] = 0;
    b[o + 3] = 0;
  }
  get trafficClass(): number {
    return (get16(this.buf, this.off) >> 4) & 0xff;
  }
  set trafficClass(v: number) {
    const b = this.buf;
    const o = this.off;
    b[o] = 0x60 | ((v >> 4) & 0x0f);
    b[o + 1] = ((v & 0x0f) << 4) | (b[o + 1]! & 0x0f);
  }
  get flowLabel(): number {
    return get32(this.buf, this.off) & 0xfffff;
  }
  set flowLabel(v: number) {
    const b = this.buf;
    const o = this.off;
    b[o + 1] = (b[o + 1]! & 0xf0) | ((v >> 16) & 0x0f);
    set16(b, o + 2, v & 0xffff);
  }
  /** Bytes after the fixed header, extension headers included. */
  get payloadLength(): number {
    return get16(this.buf, this.off + 4);
  }
  set payloadLength(v: number) {
    set16(this.buf, this.off + 4, v);
  }
  get nextHeader(): number {
    return this.buf[this.off + 6]!;
  }
  set nextHeader(v: number) {
    this.buf[this.off + 6] = v;
  }
  get hopLimit(): number {
    return this.buf[this.off + 7]!;
  }
  set hopLimit(v: number) {
    this.buf[this.off + 7] = v;
  }
  /** Index in buf of the source address (16 bytes); the destination follows at +16. */
  get srcOff(): number {
    return this.off + 8;
  }
  get dstOff(): number {
    return this.off + 24;
  }
  // 16-byte copies by loop: subarray() would allocate a view per call on the hot path.
  copySrc(out: Uint8Array, outOff = 0): void {
    for (let i = 0; i < 16; i++) out[outOff + i] = this.buf[this.off + 8 + i]!;
  }
  copyDst(out: Uint8Array, outOff = 0): void {
    for (let i = 0; i < 16; i++) out[outOff + i] = this.buf[this.off + 24 + i]!;
  }
  setSrc(a: Uint8Array, aOff = 0): void {
    for (let i = 0; i < 16; i++) this.buf[this.off + 8 + i] = a[aOff + i]!;
  }
  setDst(a: Uint8Array, aOff = 0): void {
    for (let i = 0; i < 16; i++) this.buf[this.off + 24 + i] = a[aOff + i]!;
  }
  /** Upper-layer protocol after the extension headers (valid after check()). */
  get upperProto(): number {
    return this.ext.nextHeader;
  }
  /** Index in buf of the upper-layer header. */
  get upperOff(): number {
    return this.off + IPV6_HLEN + this.ext.hdrLen;
  }
  get upperLen(): number {
    return this.payloadLength - this.ext.hdrLen;
  }
  /** Pseudo-header partial sum (RFC 8200 §8.1) for an upper-layer packet of length l4Len. */
  pseudoSum(proto: number, l4Len: number): number {
    return pseudoSumAt(this.buf, this.off + 8, 32, proto, l4Len);
  }
}

/** One extension header in a representation. */
export type Ipv6ExtHeader =
  /** Hop-by-hop (0) or destination options (60): raw TLV bytes, length 8k+6. */
  | { type: 0 | 60; options: Uint8Array }
  /** Routing header (43): bytes after segments-left, length 8k+4. */
  | { type: 43; routingType: number; segmentsLeft: number; data: Uint8Array }
  /** Fragment header (44). */
  | { type: 44; fragOffset: number; moreFrags: boolean; ident: number };

export interface Ipv6Repr {
  src: Uint8Array;
  dst: Uint8Array;
  /** Upper-layer protocol after extHeaders (or where the walk stopped: AH, ESP, 59, non-first fragment). */
  nextHeader: number;
  hopLimit: number;
  trafficClass: number;
  flowLabel: number;
  extHeaders: Ipv6ExtHeader[];
  /** Bytes after the extension headers. */
  payloadLen: number;
}

function extLen(h: Ipv6ExtHeader): number {
  switch (h.type) {
    case 0:
    case 60:
      return 2 + h.options.length;
    case 43:
      return 4 + h.data.length;
    case 44:
      return 8;
  }
}

export const Ipv6Repr = {
  parse(v: Ipv6View): Ipv6Repr {
    v.checked();
    const { buf } = v;
    const extHeaders: Ipv6ExtHeader[] = [];
    let nh = v.nextHeader;
    let o = v.off + IPV6_HLEN;
    for (let i = 0; i < v.ext.count; i++) {
      if (nh === IpProto.IPV6_FRAGMENT) {
        const w = get16(buf, o + 2);
        extHeaders.push({
          type: 44,
          fragOffset: w & 0xfff8,
          moreFrags: (w & 1) !== 0,
          ident: get32(buf, o + 4),
        });
        nh = buf[o]!;
        o += 8;
        continue;
      }
      const l = (buf[o + 1]! + 1) * 8;
      if (nh === IpProto.IPV6_ROUTING)
        extHeaders.push({
          type: 43,
          routingType: buf[o + 2]!,
          segmentsLeft: buf[o + 3]!,
          data: buf.slice(o + 4, o + l),
        });
      else extHeaders.push({ type: nh as 0 | 60, options: buf.slice(o + 2, o + l) });
      nh = buf[o]!;
      o += l;
    }
    const src = new Uint8Array(16);
    const dst = new Uint8Array(16);
    v.copySrc(src);
    v.copyDst(dst);
    return {
      src,
      dst,
      nextHeader: v.upperProto,
      hopLimit: v.hopLimit,
      trafficClass: v.trafficClass,
      flowLabel: v.flowLabel,
      extHeaders,
      payloadLen: v.upperLen,
    };
  },
  bufferLen(r: Ipv6Repr): number {
    let n = IPV6_HLEN;
    for (const h of r.extHeaders) n += extLen(h);
    return n;
  },
  /** Write the fixed header and extension headers at buf[off]; returns their length. */
  emit(r: Ipv6Repr, buf: Uint8Array, off: number): number {
    const n = Ipv6Repr.bufferLen(r);
    inRange(r.payloadLen, 0xffff - (n - IPV6_HLEN), 'payloadLen');
    inRange(r.hopLimit, 255, 'hopLimit');
    inRange(r.trafficClass, 255, 'trafficClass');
    inRange(r.flowLabel, 0xfffff, 'flowLabel');
    inRange(r.nextHeader, 255, 'nextHeader');
    if (r.src.length !== 16 || r.dst.length !== 16) throw new WireError('BAD_REPR', off, 'address length');
    needRoom(buf, off, n);
    set32(buf, off, (6 << 28) | (r.trafficClass << 20) | r.flowLabel);
    set16(buf, off + 4, n - IPV6_HLEN + r.payloadLen);
    buf[off + 7] = r.hopLimit;
    buf.set(r.src, off + 8);
    buf.set(r.dst, off + 24);
    let nhOff = off + 6;
    let o = off + IPV6_HLEN;
    r.extHeaders.forEach((h, i) => {
      const l = extLen(h);
      if (h.type === 0 && i !== 0) throw new WireError('BAD_REPR', o, 'hop-by-hop must come first');
      buf[nhOff] = h.type;
      nhOff = o;
      if (h.type === 44) {
        inRange(h.fragOffset / 8, 0x1fff, 'fragOffset');
        inRange(h.ident, 0xffffffff, 'ident');
        buf[o + 1] = 0;
        set16(buf, o + 2, h.fragOffset | (h.moreFrags ? 1 : 0));
        set32(buf, o + 4, h.ident);
      } else {
        if (l % 8 !== 0) throw new WireError('BAD_REPR', o, 'extension header length not a multiple of 8');
        buf[o + 1] = l / 8 - 1;
        if (h.type === 43) {
          inRange(h.routingType, 255, 'routingType');
          inRange(h.segmentsLeft, 255, 'segmentsLeft');
          buf[o + 2] = h.routingType;
          buf[o + 3] = h.segmentsLeft;
          buf.set(h.data, o + 4);
        } else {
          const bad = badTlv(h.options, 0, h.options.length);
          if (bad >= 0) throw new WireError('BAD_REPR', o + 2 + bad, 'malformed TLV option');
          buf.set(h.options, o + 2);
        }
      }
      o += l;
    });
    buf[nhOff] = r.nextHeader;
    return n;
  },
};
