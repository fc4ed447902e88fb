// The record a reader hands out. One object per reader, overwritten by each next(): the reader
// allocates nothing per packet except a comment string when the packet has one.
import { formatTimestamp } from './timestamp.ts';

const EMPTY = new Uint8Array(0);

export class CapturePacket {
  /** Packet number in the file, from 0. */
  index = -1;
  /** Interface number across the whole file (IDBs counted over all sections, as Wireshark). */
  interfaceId = 0;
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
