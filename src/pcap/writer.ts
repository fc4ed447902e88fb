// Writers for pcap (µs or ns, either byte order) and pcapng (SHB, IDBs with if_tsresol, EPBs with
// opt_comment), streaming to a file descriptor through a reusable buffer. Packets longer than the
// snaplen are cut to it, as a capture would; the original length is kept. A value the format
// cannot hold is refused with PcapError UNREPRESENTABLE before any byte of its record is written,
// so the file stays well formed up to the previous record.
import {
  BT_EPB,
  BT_IDB,
  BT_SHB,
  BYTE_ORDER_MAGIC,
  DEFAULT_SNAPLEN,
  IF_TSRESOL,
  LINKTYPE_ETHERNET,
  OPT_COMMENT,
  OPT_ENDOFOPT,
  PCAP_HEADER_LEN,
  PCAP_MAGIC_NS,
  PCAP_MAGIC_US,
  PCAP_RECORD_HEADER_LEN,
  TSRESOL_NS,
} from './constants.ts';
import { PcapError } from './errors.ts';
import { FdSink } from './fd-sink.ts';
import { timestampToUnits, type Units } from './timestamp.ts';

export type ByteOrder = 'le' | 'be';

export interface PcapWriterOptions {
  linktype?: number;
  snaplen?: number;
  /** Nanosecond magic 0xA1B23C4D instead of microseconds. */
  nanosecond?: boolean;
  byteOrder?: ByteOrder;
}

/** Refuses (at output offset `at`) a value that is not a u32 field's. */
function checkU32(name: string, n: number, at: number): void {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
    throw new PcapError('UNREPRESENTABLE', at, `${name} ${n} does not fit in 32 bits`);
  }
}

function checkNsec(tsNsec: number, at: number): void {
  if (!Number.isInteger(tsNsec) || tsNsec < 0 || tsNsec >= 1_000_000_000) {
    throw new PcapError('UNREPRESENTABLE', at, `tsNsec ${tsNsec} is not 0..999999999`);
  }
}

export class PcapWriter {
  private readonly sink: FdSink;
  private readonly le: boolean;
  private readonly nanosecond: boolean;
  private readonly snaplen: number;

  constructor(fd: number, opts: PcapWriterOptions = {}) {
    this.sink = new FdSink(fd);
    this.le = (opts.byteOrder ?? 'le') === 'le';
    this.nanosecond = opts.nanosecond ?? false;
    this.snaplen = opts.snaplen ?? DEFAULT_SNAPLEN;
    const linktype = opts.linktype ?? LINKTYPE_ETHERNET;
    checkU32('snaplen', this.snaplen, 0);
    checkU32('linktype', linktype, 0);
    const v = this.sink.view;
    const at = this.sink.reserve(PCAP_HEADER_LEN);
    v.setUint32(at, this.nanosecond ? PCAP_MAGIC_NS : PCAP_MAGIC_US, this.le);
    v.setUint16(at + 4, 2, this.le);
    v.setUint16(at + 6, 4, this.le);
    v.setInt32(at + 8, 0, this.le); // thiszone
    v.setUint32(at + 12, 0, this.le); // sigfigs
    v.setUint32(at + 16, this.snaplen, this.le);
    v.setUint32(at + 20, linktype, this.le);
  }

  /**
   * Appends one record. A pcap record holds u32 seconds since the epoch: a later or earlier time
   * (pcapng, with 64-bit units and if_tsoffset, can say both) is refused, never wrapped.
   */
  write(data: Uint8Array, tsSec: number, tsNsec: number, origlen = data.length): void {
    const off = this.sink.written;
    if (!Number.isInteger(tsSec) || tsSec < 0 || tsSec > 0xffffffff) {
      throw new PcapError(
        'UNREPRESENTABLE',
        off,
        `timestamp ${tsSec} s is outside a pcap record's 0..${0xffffffff} s since the epoch`,
      );
    }
    checkNsec(tsNsec, off);
    checkU32('origlen', origlen, off);
    const caplen = Math.min(data.length, this.snaplen);
    const v = this.sink.view;
    const at = this.sink.reserve(PCAP_RECORD_HEADER_LEN);
    v.setUint32(at, tsSec, this.le);
    v.setUint32(at + 4, this.nanosecond ? tsNsec : Math.floor(tsNsec / 1000), this.le);
    v.setUint32(at + 8, caplen, this.le);
    v.setUint32(at + 12, origlen, this.le);
    this.sink.append(caplen === data.length ? data : data.subarray(0, caplen));
  }

  flush(): void {
    this.sink.flush();
  }
}

export interface PcapngInterfaceOptions {
  linktype?: number;
  /** 0 = no limit. */
  snaplen?: number;
  /** if_tsresol byte (default 9, nanoseconds); 0x80|n for 2^-n s. Written unless it is 6 (µs). */
  tsresol?: number;
}

export interface PcapngWriterOptions {
  byteOrder?: ByteOrder;
}

const encoder = new TextEncoder();

export class PcapngWriter {
  private readonly sink: FdSink;
  private readonly le: boolean;
  private readonly ifaces: { snaplen: number; tsresol: number }[] = [];
  private readonly units: Units = { hi: 0, lo: 0 };

  constructor(fd: number, opts: PcapngWriterOptions = {}) {
    this.sink = new FdSink(fd);
    this.le = (opts.byteOrder ?? 'le') === 'le';
    const v = this.sink.view;
    const at = this.sink.reserve(28);
    v.setUint32(at, BT_SHB, this.le);
    v.setUint32(at + 4, 28, this.le);
    v.setUint32(at + 8, BYTE_ORDER_MAGIC, this.le);
    v.setUint16(at + 12, 1, this.le);
    v.setUint16(at + 14, 0, this.le);
    v.setBigInt64(at + 16, -1n, this.le); // section length unknown
    v.setUint32(at + 24, 28, this.le);
  }

  /** Writes an IDB and returns its interface id. */
  addInterface(opts: PcapngInterfaceOptions = {}): number {
    const linktype = opts.linktype ?? LINKTYPE_ETHERNET;
    const snaplen = opts.snaplen ?? DEFAULT_SNAPLEN;
    const tsresol = opts.tsresol ?? TSRESOL_NS;
    const at0 = this.sink.written;
    if (!Number.isInteger(linktype) || linktype < 0 || linktype > 0xffff)
      throw new PcapError('UNREPRESENTABLE', at0, `linktype ${linktype} does not fit in 16 bits`);
    checkU32('snaplen', snaplen, at0);
    if (!Number.isInteger(tsresol) || tsresol < 0 || tsresol > 0xff)
      throw new PcapError('UNREPRESENTABLE', at0, `if_tsresol ${tsresol} is not a byte`);
    const withRes = tsresol !== 6;
    const total = 20 + (withRes ? 12 : 0);
    const v = this.sink.view;
    const at = this.sink.reserve(total);
    v.setUint32(at, BT_IDB, this.le);
    v.setUint32(at + 4, total, this.le);
    v.setUint16(at + 8, linktype, this.le);
    v.setUint16(at + 10, 0, this.le);
    v.setUint32(at + 12, snaplen, this.le);
    if (withRes) {
      v.setUint16(at + 16, IF_TSRESOL, this.le);
      v.setUint16(at + 18, 1, this.le);
      v.setUint32(at + 20, 0, this.le);
      v.setUint8(at + 20, tsresol);
      v.setUint16(at + 24, OPT_ENDOFOPT, this.le);
      v.setUint16(at + 26, 0, this.le);
    }
    v.setUint32(at + total - 4, total, this.le);
    this.ifaces.push({ snaplen, tsresol });
    return this.ifaces.length - 1;
  }

  /** Appends an EPB on interface `id`, with an opt_comment when `comment` is given. */
  write(
    id: number,
    data: Uint8Array,
    tsSec: number,
    tsNsec: number,
    origlen = data.length,
    comment: string | null = null,
  ): void {
    const at0 = this.sink.written;
    const i = this.ifaces[id];
    if (i === undefined) throw new PcapError('UNKNOWN_INTERFACE', at0, `interface ${id} was not added`);
    checkU32('origlen', origlen, at0);
    checkNsec(tsNsec, at0);
    timestampToUnits(tsSec, tsNsec, i.tsresol, this.units, at0);
    const caplen = i.snaplen === 0 ? data.length : Math.min(data.length, i.snaplen);
    const padded = caplen + ((4 - (caplen % 4)) % 4);
    const text = comment === null ? null : encoder.encode(comment);
    if (text !== null && text.length > 0xffff)
      throw new PcapError('UNREPRESENTABLE', at0, `comment of ${text.length} bytes (an option holds 65535)`);
    const optLen = text === null ? 0 : 4 + text.length + ((4 - (text.length % 4)) % 4) + 4;
    const total = 28 + padded + optLen + 4;
    const v = this.sink.view;
    let at = this.sink.reserve(28);
    v.setUint32(at, BT_EPB, this.le);
    v.setUint32(at + 4, total, this.le);
    v.setUint32(at + 8, id, this.le);
    v.setUint32(at + 12, this.units.hi, this.le);
    v.setUint32(at + 16, this.units.lo, this.le);
    v.setUint32(at + 20, caplen, this.le);
    v.setUint32(at + 24, origlen, this.le);
    this.sink.append(caplen === data.length ? data : data.subarray(0, caplen));
    const tail = padded - caplen + optLen + 4;
    at = this.sink.reserve(tail);
    this.sink.buf.fill(0, at, at + tail);
    let o = at + padded - caplen;
    if (text !== null) {
      v.setUint16(o, OPT_COMMENT, this.le);
      v.setUint16(o + 2, text.length, this.le);
      this.sink.buf.set(text, o + 4);
      o += optLen; // opt_endofopt: the four zero bytes already there
    }
    v.setUint32(o, total, this.le);
  }

  flush(): void {
    this.sink.flush();
  }
}
