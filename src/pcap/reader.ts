// Streaming readers for pcap and pcapng. Each reads its file descriptor in chunks through one
// reusable buffer (FdSource), checks every length before it reads or grows anything, and ends a
// corrupt file with a PcapError naming the byte offset. Bounds and acceptance follow Wireshark's
// wiretap readers (libpcap.c, pcapng.c), which define what "files that tools write" means.
import { closeSync, openSync } from 'node:fs';
import {
  BT_EPB,
  BT_IDB,
  BT_PB,
  BT_SHB,
  BT_SPB,
  BYTE_ORDER_MAGIC,
  IF_TSOFFSET,
  IF_TSRESOL,
  MAX_RECORD_BOUND,
  MIN_RECORD_BOUND,
  OPT_COMMENT,
  OPT_ENDOFOPT,
  PCAP_HEADER_LEN,
  PCAP_MAGIC_NS,
  PCAP_MAGIC_US,
  PCAP_RECORD_HEADER_LEN,
  TSRESOL_NS,
  TSRESOL_US,
} from './constants.ts';
import { PcapError } from './errors.ts';
import { FdSource } from './fd-source.ts';
import { CapturePacket } from './packet.ts';
import { unitsToTimestamp } from './timestamp.ts';

export type CaptureFormat = 'pcap' | 'pcapng';

/** An interface: the pcap file header, or one pcapng IDB. */
export interface CaptureInterface {
  linktype: number;
  /** 0 in pcapng means "no limit". */
  snaplen: number;
  /** if_tsresol byte: 6 = µs, 9 = ns, 0x80|n = 2^-n s. */
  tsresol: number;
  /** if_tsoffset seconds added to every timestamp. */
  tsoffset: number;
  /** pcapng section number, from 0 (always 0 for pcap). */
  section: number;
}

/** Largest record accepted for an interface: 256 KiB, or its snaplen if larger, capped at 16 MiB. */
function recordBound(snaplen: number): number {
  return Math.min(MAX_RECORD_BOUND, Math.max(MIN_RECORD_BOUND, snaplen));
}

/** Pads a length (already bounded) to a multiple of 4. */
function pad4(n: number): number {
  return n + ((4 - (n % 4)) % 4);
}

export abstract class CaptureReader implements Iterable<CapturePacket> {
  abstract readonly format: CaptureFormat;
  /**
   * Interfaces seen so far, in file order over all sections (a packet's `interfaceIndex` points
   * here; its `interfaceId` is the per-section number the file writes).
   */
  readonly interfaces: CaptureInterface[] = [];
  /** The record read() returns, overwritten by every call. */
  protected readonly packet = new CapturePacket();
  private closed = false;

  constructor(
    protected readonly src: FdSource,
    private readonly ownsFd: boolean,
  ) {}

  /** The next packet (a reused object whose data is valid until the next call), or null at end. */
  abstract read(): CapturePacket | null;

  *[Symbol.iterator](): Iterator<CapturePacket> {
    for (let p = this.read(); p !== null; p = this.read()) yield p;
  }

  /** Closes the descriptor if openCapture opened it. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.ownsFd) closeSync(this.src.fd);
  }
}

/** Reader of classic libpcap savefiles, either byte order, µs or ns magic. */
export class PcapReader extends CaptureReader {
  readonly format = 'pcap';
  readonly le: boolean;
  readonly nanosecond: boolean;
  readonly snaplen: number;
  readonly linktype: number;
  private readonly bound: number;

  constructor(src: FdSource, ownsFd: boolean) {
    super(src, ownsFd);
    if (src.fill(PCAP_HEADER_LEN) < PCAP_HEADER_LEN) {
      throw new PcapError('TRUNCATED', 0, 'file ends inside the 24-byte pcap header');
    }
    const v = src.view;
    const b = src.start;
    const magicLe = v.getUint32(b, true);
    this.le = magicLe === PCAP_MAGIC_US || magicLe === PCAP_MAGIC_NS;
    const magic = v.getUint32(b, this.le);
    if (magic !== PCAP_MAGIC_US && magic !== PCAP_MAGIC_NS) {
      throw new PcapError('BAD_MAGIC', 0, `not a pcap magic: 0x${magicLe.toString(16)}`);
    }
    this.nanosecond = magic === PCAP_MAGIC_NS;
    const major = v.getUint16(b + 4, this.le);
    if (major !== 2) throw new PcapError('BAD_VERSION', 4, `pcap major version ${major}, expected 2`);
    this.snaplen = v.getUint32(b + 16, this.le);
    // The upper bits of the field carry FCS information (draft-ietf-opsawg-pcap).
    this.linktype = v.getUint32(b + 20, this.le) & 0xffff;
    this.bound = recordBound(this.snaplen);
    src.consume(PCAP_HEADER_LEN);
    this.interfaces.push({
      linktype: this.linktype,
      snaplen: this.snaplen,
      tsresol: this.nanosecond ? TSRESOL_NS : TSRESOL_US,
      tsoffset: 0,
      section: 0,
    });
  }

  read(): CapturePacket | null {
    const s = this.src;
    const off = s.offset;
    const got = s.fill(PCAP_RECORD_HEADER_LEN);
    if (got === 0) return null;
    if (got < PCAP_RECORD_HEADER_LEN) {
      throw new PcapError('TRUNCATED', off, `file ends inside a record header (${got} of 16 bytes)`);
    }
    const v = s.view;
    const b = s.start;
    const sec = v.getUint32(b, this.le);
    const frac = v.getUint32(b + 4, this.le);
    const incl = v.getUint32(b + 8, this.le);
    const orig = v.getUint32(b + 12, this.le);
    if (incl > this.bound) {
      throw new PcapError('RECORD_TOO_LARGE', off, `captured length ${incl} exceeds bound ${this.bound}`);
    }
    const total = PCAP_RECORD_HEADER_LEN + incl;
    if (s.fill(total) < total) {
      throw new PcapError('TRUNCATED', off, `record of ${incl} bytes runs past the end of the file`);
    }
    const p = this.packet;
    p.index++;
    p.offset = off;
    p.interfaceId = 0;
    p.section = 0;
    p.interfaceIndex = 0;
    p.linktype = this.linktype;
    // A fraction of a second or more (only hostile files have one) carries into the seconds.
    const ns = this.nanosecond ? frac : frac * 1000;
    p.tsNsec = ns % 1_000_000_000;
    p.tsSec = sec + (ns - p.tsNsec) / 1_000_000_000;
    p.caplen = incl;
    p.origlen = orig;
    p.comment = null;
    p.buffer = s.buf;
    p.dataOffset = s.start + PCAP_RECORD_HEADER_LEN;
    s.consume(total);
    return p;
  }
}

/** What the options of the block being parsed are walked for. */
const enum OptionsOf {
  Other,
  Interface,
  Packet,
}

/** Reader of pcapng: sections in either byte order, IDB, EPB, SPB, obsolete PB; others skipped. */
export class PcapngReader extends CaptureReader {
  readonly format = 'pcapng';
  /** Byte order of the current section. */
  private le = true;
  private section = -1;
  /** Index in `interfaces` of the current section's interface 0. */
  private sectionBase = 0;
  private readonly decoder = new TextDecoder('utf-8');
  // Results of the last walkOptions() call.
  private optTsresol = TSRESOL_US;
  private optTsoffset = 0;
  private optComment: string | null = null;

  read(): CapturePacket | null {
    const s = this.src;
    for (;;) {
      const off = s.offset;
      const got = s.fill(8);
      if (got === 0) return null;
      if (got < 8)
        throw new PcapError('TRUNCATED', off, `file ends inside a block header (${got} of 8 bytes)`);
      let v = s.view;
      let b = s.start;
      const type = v.getUint32(b, this.le);
      if (type === BT_SHB) {
        // The SHB type is a palindrome; its byte-order magic sets the order of the whole section.
        if (s.fill(12) < 12) throw new PcapError('TRUNCATED', off, 'file ends inside a section header');
        v = s.view;
        b = s.start;
        if (v.getUint32(b + 8, true) === BYTE_ORDER_MAGIC) this.le = true;
        else if (v.getUint32(b + 8, false) === BYTE_ORDER_MAGIC) this.le = false;
        else {
          throw new PcapError(
            'BAD_BYTE_ORDER',
            off + 8,
            `byte-order magic 0x${v.getUint32(b + 8, false).toString(16)}`,
          );
        }
      } else if (this.section < 0) {
        throw new PcapError('BAD_MAGIC', off, 'pcapng file does not start with a section header');
      }
      const total = v.getUint32(b + 4, this.le);
      const min = type === BT_SHB ? 28 : 12;
      if (total < min || total % 4 !== 0) {
        throw new PcapError('BAD_BLOCK_LENGTH', off + 4, `block total length ${total}`);
      }
      if (total > MAX_RECORD_BOUND) {
        throw new PcapError(
          'RECORD_TOO_LARGE',
          off,
          `block total length ${total} exceeds ${MAX_RECORD_BOUND}`,
        );
      }
      if (s.fill(total) < total) {
        throw new PcapError('TRUNCATED', off, `block of ${total} bytes runs past the end of the file`);
      }
      v = s.view;
      b = s.start;
      const trailer = v.getUint32(b + total - 4, this.le);
      if (trailer !== total) {
        throw new PcapError(
          'BLOCK_LENGTH_MISMATCH',
          off + total - 4,
          `trailing length ${trailer} != ${total}`,
        );
      }
      const end = b + total - 4;
      let p: CapturePacket | null = null;
      switch (type) {
        case BT_SHB:
          this.sectionHeader(v, b, end, off);
          break;
        case BT_IDB:
          this.interfaceDescription(v, b, end, off);
          break;
        case BT_EPB:
        case BT_PB:
          p = this.packetBlock(type, v, b, end, off);
          break;
        case BT_SPB:
          p = this.simplePacket(v, b, end, off);
          break;
        default:
          // NRB, ISB, DSB, custom and unknown blocks carry nothing a packet reader needs.
          break;
      }
      s.consume(total);
      if (p !== null) return p;
    }
  }

  private sectionHeader(v: DataView, b: number, end: number, off: number): void {
    const major = v.getUint16(b + 12, this.le);
    if (major !== 1)
      throw new PcapError('BAD_VERSION', off + 12, `pcapng major version ${major}, expected 1`);
    this.walkOptions(v, b + 24, end, b, off, OptionsOf.Other);
    this.section++;
    this.sectionBase = this.interfaces.length;
  }

  private interfaceDescription(v: DataView, b: number, end: number, off: number): void {
    if (end - b < 16)
      throw new PcapError('BAD_BLOCK_LENGTH', off + 4, 'interface description block too short');
    const linktype = v.getUint16(b + 8, this.le);
    const snaplen = v.getUint32(b + 12, this.le);
    this.walkOptions(v, b + 16, end, b, off, OptionsOf.Interface);
    this.interfaces.push({
      linktype,
      snaplen,
      tsresol: this.optTsresol,
      tsoffset: this.optTsoffset,
      section: this.section,
    });
  }

  /** The interface a section-local id names, or a typed error. */
  private iface(id: number, off: number): CaptureInterface {
    const i = this.interfaces[this.sectionBase + id];
    if (i === undefined || i.section !== this.section) {
      throw new PcapError('UNKNOWN_INTERFACE', off, `interface ${id} not declared in this section`);
    }
    return i;
  }

  /** EPB, or the obsolete PB (u16 interface id + u16 drops count instead of a u32 id). */
  private packetBlock(type: number, v: DataView, b: number, end: number, off: number): CapturePacket {
    if (end - b < 28) throw new PcapError('BAD_BLOCK_LENGTH', off + 4, 'packet block too short');
    const id = type === BT_EPB ? v.getUint32(b + 8, this.le) : v.getUint16(b + 8, this.le);
    const i = this.iface(id, off + 8);
    const caplen = v.getUint32(b + 20, this.le);
    const bound = recordBound(i.snaplen);
    if (caplen > bound) {
      throw new PcapError('RECORD_TOO_LARGE', off + 20, `captured length ${caplen} exceeds bound ${bound}`);
    }
    const data = b + 28;
    if (data + pad4(caplen) > end) {
      throw new PcapError(
        'CAPLEN_EXCEEDS_BLOCK',
        off + 20,
        `captured length ${caplen} does not fit in the block`,
      );
    }
    this.walkOptions(v, data + pad4(caplen), end, b, off, OptionsOf.Packet);
    const p = this.packet;
    unitsToTimestamp(
      v.getUint32(b + 12, this.le),
      v.getUint32(b + 16, this.le),
      i.tsresol,
      i.tsoffset,
      p,
      off + 12,
    );
    p.index++;
    p.offset = off;
    p.interfaceId = id;
    p.section = this.section;
    p.interfaceIndex = this.sectionBase + id;
    p.linktype = i.linktype;
    p.caplen = caplen;
    p.origlen = v.getUint32(b + 24, this.le);
    p.comment = this.optComment;
    p.buffer = this.src.buf;
    p.dataOffset = data;
    return p;
  }

  /** SPB: interface 0, no timestamp; captured length = min(original length, snaplen). */
  private simplePacket(v: DataView, b: number, end: number, off: number): CapturePacket {
    if (end - b < 12) throw new PcapError('BAD_BLOCK_LENGTH', off + 4, 'simple packet block too short');
    const i = this.iface(0, off);
    const origlen = v.getUint32(b + 8, this.le);
    const caplen = i.snaplen === 0 ? origlen : Math.min(origlen, i.snaplen);
    const bound = recordBound(i.snaplen);
    if (caplen > bound) {
      throw new PcapError('RECORD_TOO_LARGE', off + 8, `captured length ${caplen} exceeds bound ${bound}`);
    }
    const data = b + 12;
    if (data + pad4(caplen) > end) {
      throw new PcapError(
        'CAPLEN_EXCEEDS_BLOCK',
        off + 8,
        `captured length ${caplen} does not fit in the block`,
      );
    }
    const p = this.packet;
    p.index++;
    p.offset = off;
    p.interfaceId = 0;
    p.section = this.section;
    p.interfaceIndex = this.sectionBase;
    p.linktype = i.linktype;
    p.tsSec = 0;
    p.tsNsec = 0;
    p.caplen = caplen;
    p.origlen = origlen;
    p.comment = null;
    p.buffer = this.src.buf;
    p.dataOffset = data;
    return p;
  }

  /**
   * Walks the options in buf[start, end) of the block at buf index b / file offset off, checking
   * that each fits, and records the ones `kind` cares about in the opt* fields.
   */
  private walkOptions(
    v: DataView,
    start: number,
    end: number,
    b: number,
    off: number,
    kind: OptionsOf,
  ): void {
    this.optTsresol = TSRESOL_US;
    this.optTsoffset = 0;
    this.optComment = null;
    let i = start;
    while (i < end) {
      const at = off + (i - b);
      if (end - i < 4) throw new PcapError('OPTION_OVERRUN', at, 'option header runs past the block');
      const code = v.getUint16(i, this.le);
      const len = v.getUint16(i + 2, this.le);
      if (code === OPT_ENDOFOPT) return;
      if (i + 4 + pad4(len) > end) {
        throw new PcapError('OPTION_OVERRUN', at, `option ${code} of ${len} bytes runs past the block`);
      }
      if (kind === OptionsOf.Packet && code === OPT_COMMENT) {
        if (this.optComment === null) {
          this.optComment = this.decoder.decode(new Uint8Array(v.buffer, v.byteOffset + i + 4, len));
        }
      } else if (kind === OptionsOf.Interface && code === IF_TSRESOL) {
        if (len !== 1) throw new PcapError('BAD_OPTION', at, `if_tsresol of ${len} bytes`);
        this.optTsresol = v.getUint8(i + 4);
      } else if (kind === OptionsOf.Interface && code === IF_TSOFFSET) {
        if (len !== 8) throw new PcapError('BAD_OPTION', at, `if_tsoffset of ${len} bytes`);
        const secs = v.getBigInt64(i + 4, this.le);
        if (secs > BigInt(Number.MAX_SAFE_INTEGER) || secs < -BigInt(Number.MAX_SAFE_INTEGER)) {
          throw new PcapError('BAD_OPTION', at, `if_tsoffset ${secs} out of range`);
        }
        this.optTsoffset = Number(secs);
      }
      i += 4 + pad4(len);
    }
  }
}

/**
 * Opens a pcap or pcapng file (a path, or a descriptor the caller keeps owning) and returns the
 * reader for its format, detected from the first four bytes.
 */
export function openCapture(file: string | number): CaptureReader {
  let fd: number;
  if (typeof file === 'number') fd = file;
  else {
    try {
      fd = openSync(file, 'r');
    } catch (e) {
      throw new PcapError('IO', 0, (e as Error).message);
    }
  }
  const owns = typeof file !== 'number';
  try {
    const src = new FdSource(fd);
    const got = src.fill(4);
    if (got < 4)
      throw new PcapError('TRUNCATED', 0, got === 0 ? 'file is empty' : 'file ends inside the magic');
    const v = src.view;
    if (v.getUint32(src.start, true) === BT_SHB) return new PcapngReader(src, owns);
    const m = v.getUint32(src.start, true);
    const mb = v.getUint32(src.start, false);
    if (m === PCAP_MAGIC_US || m === PCAP_MAGIC_NS || mb === PCAP_MAGIC_US || mb === PCAP_MAGIC_NS) {
      return new PcapReader(src, owns);
    }
    throw new PcapError('BAD_MAGIC', 0, `unknown magic 0x${mb.toString(16).padStart(8, '0')}`);
  } catch (e) {
    if (owns) closeSync(fd);
    throw e;
  }
}
