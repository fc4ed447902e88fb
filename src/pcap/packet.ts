// The record a reader hands out. One object per reader, overwritten by each next(): the reader
// allocates nothing per packet except a comment string when the packet has one.
import { formatTimestamp } from './timestamp.ts';

const EMPTY = new Uint8Array(0);

export class CapturePacket {
  /** Packet number in the file, from 0. */
  index = -1;
  /**
   * Interface ID as the packet block writes it: an index into the IDBs of its own section
   * (the pcapng specification, Interface Description Block; tshark's frame.interface_id). 0 for pcap
   * and for Simple Packet Blocks.
   */
  interfaceId = 0;
  /** pcapng section number, from 0 (tshark's frame.section_number - 1); always 0 for pcap. */
  section = 0;
  /**
   * Index of the interface in the reader's `interfaces`, which lists the IDBs of every section in
   * file order: the one number that tells interfaces of different sections apart.
   */
  interfaceIndex = 0;
  /** LINKTYPE_* of the interface (low 16 bits of a pcap header's linktype field). */
  linktype = 0;
  tsSec = 0;
  tsNsec = 0;
  /** Captured length: the number of bytes in `data`. */
  caplen = 0;
  /** Length on the wire. */
  origlen = 0;
  /** The first opt_comment of the packet block, or null. */
  comment: string | null = null;
  /** File offset of the record header or block. */
  offset = 0;
  /** The reader's buffer, holding the bytes at [dataOffset, dataOffset + caplen). */
  buffer: Uint8Array = EMPTY;
  dataOffset = 0;

  /** The packet bytes: a view valid until the reader's next call. */
  get data(): Uint8Array {
    return this.buffer.subarray(this.dataOffset, this.dataOffset + this.caplen);
  }

  /** The timestamp as `SECONDS.NNNNNNNNN`. */
  get ts(): string {
    return formatTimestamp(this.tsSec, this.tsNsec);
  }
}
