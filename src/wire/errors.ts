// Typed errors for every wire parser. Codes are string literals so callers switch on them and count
// drops by name; `offset` is an index into the buffer the view was reset on (where the fault lies).

export type WireErrorCode =
  /** The buffer ends before a header, an option or a length field says it should. */
  | 'TRUNCATED'
  /** IP version nibble is not 4 (IPv4) or 6 (IPv6). */
  | 'BAD_VERSION'
  /** IPv4 IHL below 5. */
  | 'BAD_IHL'
  /** IPv4 total length below the header length. */
  | 'BAD_TOTAL_LENGTH'
  /** TCP data offset below 5. */
  | 'BAD_DATA_OFFSET'
  /** UDP length field below 8. */
  | 'BAD_LENGTH'
  /** An option (IPv4, TCP, IPv6 TLV, NDP) with a length below its minimum or running past its header. */
  | 'BAD_OPTION'
  /** IPv6 extension header out of place (hop-by-hop not first) or malformed. */
  | 'BAD_EXT_HEADER'
  /** Well-formed but not a variant this code handles (ARP other than Ethernet/IPv4). */
  | 'UNSUPPORTED'
  /** A textual address that does not parse. */
  | 'BAD_ADDRESS'
  /** A representation that cannot be emitted (field out of range, buffer too small). */
  | 'BAD_REPR';

export class WireError extends Error {
  override readonly name = 'WireError';
  constructor(
    readonly code: WireErrorCode,
    readonly offset: number,
    message?: string,
  ) {
    super(message ?? `${code} at byte ${offset}`);
  }
}
