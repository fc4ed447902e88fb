// IPv4 header (RFC 791). check() mirrors the drops in Linux ip_rcv_core(): version, IHL >= 5,
// header inside the buffer, tot_len >= IHL*4 and inside the buffer; options are walked like
// ip_options_compile() does for lengths (EOL ends, NOP is one byte, others carry len >= 2).
import { csumFinish, csumPartial, csumReplace16 } from '../checksum/index.ts';
import { IPV4_MIN_HLEN, Ipv4OptType } from './constants.ts';
import { WireError, type WireErrorCode } from './errors.ts';
import { pseudoSumAt } from './pseudo.ts';
import { View, inRange, needRoom } from './view.ts';
import type { In4 } from './address.ts';
import { get16, get32, getIn4, set16, set32 } from './bytes.ts';

/** Walk IPv4 option bytes buf[off, end); -1 if every option fits, else the offset of the bad one. */
export function checkIpv4Options(buf: Uint8Array, off: number, end: number): number {
  let o = off;
  while (o < end) {
    const t = buf[o]!;
    if (t === Ipv4OptType.EOL) return -1;
    if (t === Ipv4OptType.NOP) {
      o++;
      continue;
    }
    if (o + 1 >= end) return o;
    const l = buf[o + 1]!;
    if (l < 2 || o + l > end) return o;
    o += l;
  }
  return -1;
}

export class Ipv4View extends View {
  /** Header checks only: for the quoted packet inside ICMP errors, whose tot_len exceeds the quote. */
  checkHeader(): WireErrorCode | null {
    if (!this.fits(IPV4_MIN_HLEN)) return 'TRUNCATED';
    const { buf, off, len } = this;
    if (buf[off]! >> 4 !== 4) return this.fail('BAD_VERSION', off);
    const hl = this.headerLen;
    if (hl < IPV4_MIN_HLEN) return this.fail('BAD_IHL', off);
    if (hl > len) return this.fail('TRUNCATED', off + len);
    const bad = checkIpv4Options(buf, off + IPV4_MIN_HLEN, off + hl);
    if (bad >= 0) return this.fail('BAD_OPTION', bad);
    return null;
  }

  check(): WireErrorCode | null {
    const e = this.checkHeader();
    if (e !== null) return e;
    const { off, len } = this;
    const tl = this.totalLength;
    if (tl < this.headerLen) return this.fail('BAD_TOTAL_LENGTH', off + 2);
    if (tl > len) return this.fail('TRUNCATED', off + len);
    return null;
  }

  get version(): number {
    return this.buf[this.off]! >> 4;
  }
  /** Header length in bytes (IHL * 4). */
  /** Writes version 4 and the IHL for a header of `hl` bytes (a multiple of 4, 20..60). */
  set headerLen(hl: number) {
    this.buf[this.off] = 0x40 | (hl >>> 2);
  }
  get headerLen(): number {
    return (this.buf[this.off]! & 0x0f) * 4;
  }
  get tos(): number {
    return this.buf[this.off + 1]!;
  }
  set tos(v: number) {
    this.buf[this.off + 1] = v;
  }
  get dscp(): number {
    return this.buf[this.off + 1]! >> 2;
  }
  get ecn(): number {
    return this.buf[this.off + 1]! & 3;
  }
  get totalLength(): number {
    return get16(this.buf, this.off + 2);
  }
  set totalLength(v: number) {
    set16(this.buf, this.off + 2, v);
  }
  get ident(): number {
    return get16(this.buf, this.off + 4);
  }
  set ident(v: number) {
    set16(this.buf, this.off + 4, v);
  }
  get dontFrag(): boolean {
    return (this.buf[this.off + 6]! & 0x40) !== 0;
  }
  get moreFrags(): boolean {
    return (this.buf[this.off + 6]! & 0x20) !== 0;
  }
  /** Fragment offset in bytes (the field is in 8-byte units). */
  get fragOffset(): number {
    return (get16(this.buf, this.off + 6) & 0x1fff) * 8;
  }
  /** The raw 16-bit flags + fragment-offset word. */
  get fragWord(): number {
    return get16(this.buf, this.off + 6);
  }
  set fragWord(v: number) {
    set16(this.buf, this.off + 6, v);
  }
  /** More-fragments set or a non-zero offset (ip_is_fragment()). */
  get isFragment(): boolean {
    return (get16(this.buf, this.off + 6) & 0x3fff) !== 0;
  }
  get ttl(): number {
    return this.buf[this.off + 8]!;
  }
  set ttl(v: number) {
    this.buf[this.off + 8] = v;
  }
  get protocol(): number {
    return this.buf[this.off + 9]!;
  }
  set protocol(v: number) {
    this.buf[this.off + 9] = v;
  }
  get checksum(): number {
    return get16(this.buf, this.off + 10);
  }
  set checksum(v: number) {
    set16(this.buf, this.off + 10, v);
  }
  get src(): number {
    return get32(this.buf, this.off + 12);
  }
  set src(v: number) {
    set32(this.buf, this.off + 12, v);
  }
  get dst(): number {
    return get32(this.buf, this.off + 16);
  }
  set dst(v: number) {
    set32(this.buf, this.off + 16, v);
  }
  /** The source address as the stack's In4 (the bits of `src`, signed). */
  get srcIn4(): In4 {
    return getIn4(this.buf, this.off + 12);
  }
  /** The destination address as the stack's In4. */
  get dstIn4(): In4 {
    return getIn4(this.buf, this.off + 16);
  }
  get optionsOff(): number {
    return this.off + IPV4_MIN_HLEN;
  }
  get optionsLen(): number {
    return this.headerLen - IPV4_MIN_HLEN;
  }
  get payloadOff(): number {
    return this.off + this.headerLen;
  }
  /** Payload length by tot_len (Ethernet padding excluded). */
  get payloadLen(): number {
    return this.totalLength - this.headerLen;
  }
  /** Header checksum verifies (the sum over the header, field included, is 0xFFFF). */
  verifyChecksum(): boolean {
    return csumPartial(this.buf, this.off, this.headerLen) === 0xffff;
  }
  /** Recompute the header checksum in place (ip_send_check()). */
  fillChecksum(): void {
    this.checksum = 0;
    this.checksum = csumFinish(csumPartial(this.buf, this.off, this.headerLen));
  }
  /** ip_decrease_ttl(): TTL minus one with the checksum patched (RFC 1624); returns the new TTL. */
  decTtl(): number {
    const o = this.off + 8;
    const old = get16(this.buf, o);
    if (old < 0x100) return 0; // TTL 0: the caller drops, nothing to decrement
    this.buf[o] = (old >> 8) - 1;
    this.checksum = csumReplace16(this.checksum, old, old - 0x100);
    return (old >> 8) - 1;
  }
  /** Pseudo-header partial sum for an upper-layer header of length l4Len with protocol proto. */
  pseudoSum(proto: number, l4Len: number): number {
    return pseudoSumAt(this.buf, this.off + 12, 8, proto, l4Len);
  }
}

export interface Ipv4Repr {
  src: number;
  dst: number;
  protocol: number;
  ttl: number;
  dscp: number;
  ecn: number;
  ident: number;
  dontFrag: boolean;
  moreFrags: boolean;
  /** Bytes; a multiple of 8. */
  fragOffset: number;
  /** Bytes after the header (tot_len - IHL*4). */
  payloadLen: number;
  /** Raw option bytes, a multiple of 4, at most 40. */
  options: Uint8Array;
}

export const Ipv4Repr = {
  parse(v: Ipv4View): Ipv4Repr {
    v.checked();
    return {
      src: v.src,
      dst: v.dst,
      protocol: v.protocol,
      ttl: v.ttl,
      dscp: v.dscp,
      ecn: v.ecn,
      ident: v.ident,
      dontFrag: v.dontFrag,
      moreFrags: v.moreFrags,
      fragOffset: v.fragOffset,
      payloadLen: v.payloadLen,
      options: v.buf.slice(v.optionsOff, v.optionsOff + v.optionsLen),
    };
  },
  bufferLen(r: Ipv4Repr): number {
    return IPV4_MIN_HLEN + r.options.length;
  },
  /** Write the header (checksum filled) at buf[off]; the payload is the caller's. Returns the header length. */
  emit(r: Ipv4Repr, buf: Uint8Array, off: number): number {
    const hl = Ipv4Repr.bufferLen(r);
    if (r.options.length % 4 !== 0 || hl > 60) throw new WireError('BAD_REPR', off, 'options length');
    const bad = checkIpv4Options(r.options, 0, r.options.length);
    if (bad >= 0) throw new WireError('BAD_REPR', off + IPV4_MIN_HLEN + bad, 'malformed option');
    inRange(r.payloadLen, 0xffff - hl, 'payloadLen');
    inRange(r.fragOffset / 8, 0x1fff, 'fragOffset');
    inRange(r.dscp, 63, 'dscp');
    inRange(r.ecn, 3, 'ecn');
    inRange(r.ttl, 255, 'ttl');
    inRange(r.protocol, 255, 'protocol');
    inRange(r.ident, 0xffff, 'ident');
    inRange(r.src, 0xffffffff, 'src');
    inRange(r.dst, 0xffffffff, 'dst');
    needRoom(buf, off, hl);
    buf[off] = 0x40 | (hl >> 2);
    buf[off + 1] = (r.dscp << 2) | r.ecn;
    set16(buf, off + 2, hl + r.payloadLen);
    set16(buf, off + 4, r.ident);
    set16(buf, off + 6, (r.dontFrag ? 0x4000 : 0) | (r.moreFrags ? 0x2000 : 0) | (r.fragOffset / 8));
    buf[off + 8] = r.ttl;
    buf[off + 9] = r.protocol;
    set16(buf, off + 10, 0);
    set32(buf, off + 12, r.src);
    set32(buf, off + 16, r.dst);
    buf.set(r.options, off + IPV4_MIN_HLEN);
    set16(buf, off + 10, csumFinish(csumPartial(buf, off, hl)));
    return hl;
  },
};
