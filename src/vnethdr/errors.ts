// Typed errors of the virtio-net header code. A code names the first check that failed, in the
// order Linux runs them; `offset` is the byte (from the start of the header, or of the frame for
// frame checks) the check concerns.

export type VnetHdrErrorCode =
  // Codec
  | 'TRUNCATED' // the buffer holds fewer bytes than the header
  | 'BAD_HDR_SIZE' // a header size other than 10 or 12 (or < 10 for a TAP)
  | 'FIELD_RANGE' // a field value does not fit its u8/u16 on encode
  // Rejected by a TAP write() with EINVAL (tun_vnet_hdr_get, tun_get_user, virtio_net_hdr_to_skb)
  | 'SHORT_WRITE' // fewer bytes written than vnet_hdr_sz
  | 'HDR_LEN_BEYOND_FRAME' // hdr_len larger than the bytes after the 10 legacy header bytes
  | 'CSUM_BEYOND_FRAME' // csum_start + csum_offset + 2 (or + the L4 header) past the frame
  | 'FRAME_TOO_SHORT' // a TAP frame shorter than an Ethernet header
  | 'HDR_LEN_TOO_SHORT' // hdr_len 1..13 on a TAP
  | 'BAD_GSO_TYPE' // gso_type not TCPV4/UDP/TCPV6/UDP_L4 (+ECN); tunnel types need a 24-byte header
  | 'GSO_SIZE_ZERO' // a GSO type with gso_size 0
  | 'CSUM_START_TOO_SMALL' // transport offset below 20 (IPv4) / 40 (TCPV6)
  | 'GSO_HEADERS_TRUNCATED' // GSO without NEEDS_CSUM and a frame shorter than IP + L4 minimum
  //   (upstream) or than the dissected transport header + L4 minimum (probing kernels)
  | 'GSO_PROTO_MISMATCH' // probing kernels: GSO without NEEDS_CSUM, EtherType not gso_type's
  | 'GSO_NO_TRANSPORT' // probing kernels: the flow dissector finds no transport header
  | 'GSO_L4_MISMATCH' // probing kernels: the dissected L4 protocol is not gso_type's
  | 'USO_WITHOUT_CSUM' // UDP_L4 without NEEDS_CSUM
  | 'USO_BAD_CSUM_OFFSET' // UDP_L4 with csum_offset != 6
  | 'USO_TOO_MANY_SEGMENTS' // more than UDP_MAX_SEGMENTS segments
  | 'USO_ECN' // UDP_L4 with the ECN bit
  | 'TCP_BAD_CSUM_OFFSET' // TCPV4/TCPV6 + NEEDS_CSUM with csum_offset != 16
  | 'GSO_BY_FRAGS' // gso_size 0xFFFF
  // Accepted by write(), then dropped silently when the kernel segments the frame (SKB_GSO_DODGY)
  | 'DROP_CSUM_NOT_TRANSPORT' // csum_start is not where the L4 header is
  | 'DROP_GSO_PROTO_MISMATCH' // gso_type does not match the IP version / L4 protocol
  | 'DROP_GSO_TOO_SMALL' // at segmentation the payload is not larger than gso_size
  | 'DROP_GSO_BAD_HEADERS' // IP/TCP/UDP headers truncated or invalid at segmentation
  // Building a header for transmit / applying a received header (driver datapath)
  | 'TX_UNPARSABLE' // the frame's L2/L3/L4 headers cannot be parsed
  | 'TX_NO_L4' // checksum or segmentation offload asked for a frame without TCP/UDP
  | 'TX_GSO_MISMATCH' // meta gso type does not match the frame (v4/v6, TCP/UDP)
  | 'TX_GSO_SIZE' // gso_size 0 or too large
  | 'TX_GSO_TOO_LONG' // super-frame payload over 65 535 bytes
  | 'TX_TSO_CWR' // TSO frame with CWR while ECN segmentation is not allowed (FreeBSD drops it)
  | 'RX_FRAME_TOO_LONG'; // received frame longer than a 64 KiB super-frame

/** How a TAP write() with this outcome ends. */
export type TapVerdict = 'accepted' | 'einval' | 'dropped';

export class VnetHdrError extends Error {
  readonly code: VnetHdrErrorCode;
  readonly offset: number;
  constructor(code: VnetHdrErrorCode, offset: number, message?: string) {
    super(message ?? `${code} at byte ${offset}`);
    this.name = 'VnetHdrError';
    this.code = code;
    this.offset = offset;
  }
}
