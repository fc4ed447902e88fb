// TCP header (RFC 9293) and options. The option walk follows Linux tcp_parse_options(): EOL ends,
// NOP is one byte, every other option has a length byte >= 2 that must stay inside the header;
// a known kind with a wrong length is ignored by Linux, so it is kept here as an unknown option.
import { csumFinish, csumPartial } from '../checksum/index.ts';
import { IpProto, TCP_MIN_HLEN, TcpOptKind } from './constants.ts';
import { WireError, type WireErrorCode } from './errors.ts';
import { pseudoSum, type IpAddr } from './pseudo.ts';
import { View, inRange, needRoom } from './view.ts';
import { get16, get32, getS32, set16, set32 } from './bytes.ts';

/** Known options of one segment, filled without allocation by parseTcpOptions(). */
export class TcpOptions {
  /** -1 when absent. */
  mss = -1;
  /** -1 when absent. */
  wscale = -1;
  sackPermitted = false;
  hasTimestamp = false;
  tsVal = 0;
  tsEcr = 0;
  /** 0..4 SACK blocks in sackLeft/sackRight. */
  sackCount = 0;
  readonly sackLeft = new Uint32Array(4);
  readonly sackRight = new Uint32Array(4);
  /** Options of unknown kind (or known kind with a bad length). */
  unknownCount = 0;
  errorOffset = 0;

  clear(): void {
    this.mss = -1;
    this.wscale = -1;
    this.sackPermitted = false;
    this.hasTimestamp = false;
    this.tsVal = 0;
    this.tsEcr = 0;
    this.sackCount = 0;
    this.unknownCount = 0;
    this.errorOffset = 0;
  }
}

/** Walk options in buf[off, end); -1 if the TLV structure is sound, else the bad option's offset. */
function badTcpOption(buf: Uint8Array, off: number, end: number): number {
  let o = off;
  while (o < end) {
    const k = buf[o]!;
    if (k === TcpOptKind.EOL) return -1;
    if (k === TcpOptKind.NOP) {
      o++;
      continue;
    }
    if (o + 2 > end) return o;
    const l = buf[o + 1]!;
    if (l < 2 || o + l > end) return o;
    o += l;
  }
  return -1;
}

function knownLenOk(kind: number, l: number): boolean {
  switch (kind) {
    case TcpOptKind.MSS:
      return l === 4;
    case TcpOptKind.WSCALE:
      return l === 3;
    case TcpOptKind.SACK_PERMITTED:
      return l === 2;
    case TcpOptKind.TIMESTAMP:
      return l === 10;
    case TcpOptKind.SACK:
      return l >= 10 && l <= 34 && (l - 2) % 8 === 0;
    default:
      return false;
  }
}

/** Parse the options in buf[off, end) into out; returns null or 'BAD_OPTION' (out.errorOffset). */
export function parseTcpOptions(
  buf: Uint8Array,
  off: number,
  end: number,
  out: TcpOptions,
): WireErrorCode | null {
  out.clear();
  const bad = badTcpOption(buf, off, end);
  if (bad >= 0) {
    out.errorOffset = bad;
    return 'BAD_OPTION';
  }
  let o = off;
  while (o < end) {
    const k = buf[o]!;
    if (k === TcpOptKind.EOL) break;
    if (k === TcpOptKind.NOP) {
      o++;
      continue;
    }
    const l = buf[o + 1]!;
    if (!knownLenOk(k, l)) out.unknownCount++;
    else if (k === TcpOptKind.MSS) out.mss = get16(buf, o + 2);
    else if (k === TcpOptKind.WSCALE) out.wscale = buf[o + 2]!;
    else if (k === TcpOptKind.SACK_PERMITTED) out.sackPermitted = true;
    else if (k === TcpOptKind.TIMESTAMP) {
      out.hasTimestamp = true;
      out.tsVal = get32(buf, o + 2);
      out.tsEcr = get32(buf, o + 6);
    } else {
      const n = (l - 2) / 8;
      for (let i = 0; i < n; i++) {
        out.sackLeft[i] = get32(buf, o + 2 + 8 * i);
        out.sackRight[i] = get32(buf, o + 6 + 8 * i);
      }
      out.sackCount = n;
    }
    o += l;
  }
  return null;
}

export class TcpView extends View {
  /** Header without the option walk. The window must be exactly the segment (header + payload). */
  checkHeader(): WireErrorCode | null {
    if (!this.fits(TCP_MIN_HLEN)) return 'TRUNCATED';
    const hl = this.headerLen;
    if (hl < TCP_MIN_HLEN) return this.fail('BAD_DATA_OFFSET', this.off + 12);
    if (hl > this.len) return this.fail('TRUNCATED', this.off + this.len);
    return null;
  }
  check(): WireErrorCode | null {
    const e = this.checkHeader();
    if (e !== null) return e;
    const bad = badTcpOption(this.buf, this.off + TCP_MIN_HLEN, this.off + this.headerLen);
    return bad >= 0 ? this.fail('BAD_OPTION', bad) : null;
  }
  get srcPort(): number {
    return get16(this.buf, this.off);
  }
  set srcPort(v: number) {
    set16(this.buf, this.off, v);
  }
  get dstPort(): number {
    return get16(this.buf, this.off + 2);
  }
  set dstPort(v: number) {
    set16(this.buf, this.off + 2, v);
  }
  get seq(): number {
    return get32(this.buf, this.off + 4);
  }
  set seq(v: number) {
    set32(this.buf, this.off + 4, v);
  }
  get ack(): number {
    return get32(this.buf, this.off + 8);
  }
  /** `seq` as a signed int32, the stack's form of sequence numbers (stack/tcp/seq.ts). */
  get seqS32(): number {
    return getS32(this.buf, this.off + 4);
  }
  /** `ack` as a signed int32. */
  get ackS32(): number {
    return getS32(this.buf, this.off + 8);
  }
  set ack(v: number) {
    set32(this.buf, this.off + 8, v);
  }
  /** Header length in bytes (data offset * 4). */
  get headerLen(): number {
    return (this.buf[this.off + 12]! >> 4) * 4;
  }
  /** Writes the data offset for a header of `hl` bytes and clears the reserved bits (set flags after). */
  set headerLen(hl: number) {
    this.buf[this.off + 12] = (hl >>> 2) << 4;
  }
  /** The 9 flag bits (TcpFlags), NS/AE included. */
  get flags(): number {
    return get16(this.buf, this.off + 12) & 0x1ff;
  }
  set flags(v: number) {
    const o = this.off + 12;
    set16(this.buf, o, ((this.buf[o]! << 8) & 0xfe00) | (v & 0x1ff));
  }
  get window(): number {
    return get16(this.buf, this.off + 14);
  }
  set window(v: number) {
    set16(this.buf, this.off + 14, v);
  }
  get checksum(): number {
    return get16(this.buf, this.off + 16);
  }
  set checksum(v: number) {
    set16(this.buf, this.off + 16, v);
  }
  get urgent(): number {
    return get16(this.buf, this.off + 18);
  }
  set urgent(v: number) {
    set16(this.buf, this.off + 18, v);
  }
  get optionsOff(): number {
    return this.off + TCP_MIN_HLEN;
  }
  get optionsLen(): number {
    return this.headerLen - TCP_MIN_HLEN;
  }
  get payloadOff(): number {
    return this.off + this.headerLen;
  }
  get payloadLen(): number {
    return this.len - this.headerLen;
  }
  /** Parse this segment's options into a reusable TcpOptions. */
  parseOptions(out: TcpOptions): WireErrorCode | null {
    return parseTcpOptions(this.buf, this.off + TCP_MIN_HLEN, this.off + this.headerLen, out);
  }
  /** The sum over the whole window plus `pseudo` verifies. */
  verifyChecksum(pseudo: number): boolean {
    return csumPartial(this.buf, this.off, this.len, pseudo) === 0xffff;
  }
  fillChecksum(pseudo: number): void {
    this.checksum = 0;
    this.checksum = csumFinish(csumPartial(this.buf, this.off, this.len, pseudo));
  }
}

/** One TCP option in a representation, in wire order; EOL and its padding are implicit. */
export type TcpOption =
  | { type: 'nop' }
  | { type: 'mss'; mss: number }
  | { type: 'wscale'; shift: number }
  | { type: 'sackPermitted' }
  | { type: 'sack'; blocks: Array<[number, number]> }
  | { type: 'timestamp'; tsVal: number; tsEcr: number }
  /** Any other option, or a known kind with a wrong length: `data` is the bytes after kind and length. */
  | { type: 'unknown'; kind: number; data: Uint8Array };

export interface TcpRepr {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
  window: number;
  urgent: number;
  options: TcpOption[];
  payloadLen: number;
}

function optLen(o: TcpOption): number {
  switch (o.type) {
    case 'nop':
      return 1;
    case 'mss':
      return 4;
    case 'wscale':
      return 3;
    case 'sackPermitted':
      return 2;
    case 'sack':
      return 2 + 8 * o.blocks.length;
    case 'timestamp':
      return 10;
    case 'unknown':
      return 2 + o.data.length;
  }
}

export const TcpRepr = {
  parse(v: TcpView): TcpRepr {
    v.checked();
    const { buf } = v;
    const options: TcpOption[] = [];
    const end = v.off + v.headerLen;
    let o = v.optionsOff;
    while (o < end) {
      const k = buf[o]!;
      if (k === TcpOptKind.EOL) break;
      if (k === TcpOptKind.NOP) {
        options.push({ type: 'nop' });
        o++;
        continue;
      }
      const l = buf[o + 1]!;
      if (!knownLenOk(k, l)) options.push({ type: 'unknown', kind: k, data: buf.slice(o + 2, o + l) });
      else if (k === TcpOptKind.MSS) options.push({ type: 'mss', mss: get16(buf, o + 2) });
      else if (k === TcpOptKind.WSCALE) options.push({ type: 'wscale', shift: buf[o + 2]! });
      else if (k === TcpOptKind.SACK_PERMITTED) options.push({ type: 'sackPermitted' });
      else if (k === TcpOptKind.TIMESTAMP)
        options.push({ type: 'timestamp', tsVal: get32(buf, o + 2), tsEcr: get32(buf, o + 6) });
      else {
        const blocks: Array<[number, number]> = [];
        for (let p = o + 2; p < o + l; p += 8) blocks.push([get32(buf, p), get32(buf, p + 4)]);
        options.push({ type: 'sack', blocks });
      }
      o += l;
    }
    return {
      srcPort: v.srcPort,
      dstPort: v.dstPort,
      seq: v.seq,
      ack: v.ack,
      flags: v.flags,
      window: v.window,
      urgent: v.urgent,
      options,
      payloadLen: v.payloadLen,
    };
  },
  /** Header length: 20 + options padded with EOL/zeros to a multiple of 4. */
  bufferLen(r: TcpRepr): number {
    let n = 0;
    for (const o of r.options) n += optLen(o);
    return TCP_MIN_HLEN + ((n + 3) & ~3);
  },
  /**
   * Write the header at buf[off]; the payload must already sit after it (payloadLen bytes). The
   * checksum covers it with the pseudo-header of src/dst. With `partial` (checksum offload,
   * CHECKSUM_PARTIAL / virtio NEEDS_CSUM) the field gets only the folded pseudo-header sum, as
   * tcp_v4_send_check() leaves it, and the payload need not be in buf. Returns the header length.
   */
  emit(r: TcpRepr, buf: Uint8Array, off: number, src: IpAddr, dst: IpAddr, partial = false): number {
    const hl = TcpRepr.bufferLen(r);
    if (hl > 60) throw new WireError('BAD_REPR', off, 'options longer than 40 bytes');
    inRange(r.srcPort, 0xffff, 'srcPort');
    inRange(r.dstPort, 0xffff, 'dstPort');
    inRange(r.seq, 0xffffffff, 'seq');
    inRange(r.ack, 0xffffffff, 'ack');
    inRange(r.flags, 0x1ff, 'flags');
    inRange(r.window, 0xffff, 'window');
    inRange(r.urgent, 0xffff, 'urgent');
    inRange(r.payloadLen, 0xffffffff, 'payloadLen');
    needRoom(buf, off, partial ? hl : hl + r.payloadLen);
    set16(buf, off, r.srcPort);
    set16(buf, off + 2, r.dstPort);
    set32(buf, off + 4, r.seq);
    set32(buf, off + 8, r.ack);
    set16(buf, off + 12, ((hl / 4) << 12) | r.flags);
    set16(buf, off + 14, r.window);
    set16(buf, off + 16, 0);
    set16(buf, off + 18, r.urgent);
    let p = off + TCP_MIN_HLEN;
    for (const o of r.options) p = emitOption(o, buf, p);
    buf.fill(0, p, off + hl);
    const seg = hl + r.payloadLen;
    const pseudo = pseudoSum(src, dst, IpProto.TCP, seg);
    set16(buf, off + 16, partial ? pseudo : csumFinish(csumPartial(buf, off, seg, pseudo)));
    return hl;
  },
};

function emitOption(o: TcpOption, buf: Uint8Array, p: number): number {
  switch (o.type) {
    case 'nop':
      buf[p] = TcpOptKind.NOP;
      return p + 1;
    case 'mss':
      inRange(o.mss, 0xffff, 'mss');
      buf[p] = TcpOptKind.MSS;
      buf[p + 1] = 4;
      set16(buf, p + 2, o.mss);
      return p + 4;
    case 'wscale':
      inRange(o.shift, 255, 'shift');
      buf[p] = TcpOptKind.WSCALE;
      buf[p + 1] = 3;
      buf[p + 2] = o.shift;
      return p + 3;
    case 'sackPermitted':
      buf[p] = TcpOptKind.SACK_PERMITTED;
      buf[p + 1] = 2;
      return p + 2;
    case 'sack':
      if (o.blocks.length < 1 || o.blocks.length > 4)
        throw new WireError('BAD_REPR', p, 'SACK needs 1..4 blocks');
      buf[p] = TcpOptKind.SACK;
      buf[p + 1] = 2 + 8 * o.blocks.length;
      o.blocks.forEach(([l, r], i) => {
        inRange(l, 0xffffffff, 'sack left');
        inRange(r, 0xffffffff, 'sack right');
        set32(buf, p + 2 + 8 * i, l);
        set32(buf, p + 6 + 8 * i, r);
      });
      return p + 2 + 8 * o.blocks.length;
    case 'timestamp':
      inRange(o.tsVal, 0xffffffff, 'tsVal');
      inRange(o.tsEcr, 0xffffffff, 'tsEcr');
      buf[p] = TcpOptKind.TIMESTAMP;
      buf[p + 1] = 10;
      set32(buf, p + 2, o.tsVal);
      set32(buf, p + 6, o.tsEcr);
      return p + 10;
    case 'unknown':
      inRange(o.kind, 255, 'kind');
      inRange(o.data.length, 38, 'option data length');
      if (o.kind === TcpOptKind.EOL || o.kind === TcpOptKind.NOP || knownLenOk(o.kind, 2 + o.data.length))
        throw new WireError('BAD_REPR', p, `unknown option ${o.kind} has a known form`);
      buf[p] = o.kind;
      buf[p + 1] = 2 + o.data.length;
      buf.set(o.data, p + 2);
      return p + 2 + o.data.length;
  }
}
