// Typed errors of the pcap/pcapng readers and writers. `offset` is the byte offset in the file of
// the record, block or field at fault (for BAD_VNET_COMMENT: the character index in the comment;
// for the writers' codes: the output offset where the refused record would have started).

export type PcapErrorCode =
  /** readSync/writeSync failed (EISDIR, EIO, ...). */
  | 'IO'
  /** The first four bytes are neither a pcap magic nor a pcapng Section Header Block. */
  | 'BAD_MAGIC'
  /** An SHB byte-order magic that is neither 0x1A2B3C4D nor its byte swap. */
  | 'BAD_BYTE_ORDER'
  /** pcap major version other than 2, pcapng major version other than 1. */
  | 'BAD_VERSION'
  /** The file ends inside a header, record or block (offset = where it starts). */
  | 'TRUNCATED'
  /** A record or block longer than the sane bound (256 KiB, or the snaplen if larger). */
  | 'RECORD_TOO_LARGE'
  /** A pcapng block total length that is below the minimum or not a multiple of 4. */
  | 'BAD_BLOCK_LENGTH'
  /** The trailing copy of a pcapng block total length differs from the leading one. */
  | 'BLOCK_LENGTH_MISMATCH'
  /** A captured length that does not fit in its block. */
  | 'CAPLEN_EXCEEDS_BLOCK'
  /** An option whose header or value runs past the end of its block. */
  | 'OPTION_OVERRUN'
  /** An option with an impossible length (if_tsresol not 1 byte, if_tsoffset not 8). */
  | 'BAD_OPTION'
  /**
   * A packet block naming an interface that no IDB of its section declared; for the pcapng
   * writer, an interface id addInterface() did not return.
   */
  | 'UNKNOWN_INTERFACE'
  /** A timestamp whose seconds do not fit in a double exactly (beyond 2^53 s). */
  | 'TIMESTAMP_RANGE'
  /** A `vnet ...` packet comment with an unknown key, a duplicate or a bad value. */
  | 'BAD_VNET_COMMENT'
  /**
   * Writers: a value the output format cannot hold (pcap seconds beyond 2^32-1 or before the
   * epoch, a pcapng timestamp of more than 64 bits of units, a length beyond 2^32-1, a comment
   * over 65535 bytes), or an argument no file could hold (offset = where the record would start).
   */
  | 'UNREPRESENTABLE';

export class PcapError extends Error {
  override readonly name = 'PcapError';
  constructor(
    readonly code: PcapErrorCode,
    readonly offset: number,
    message: string,
  ) {
    super(`${code} at offset ${offset}: ${message}`);
  }
}
