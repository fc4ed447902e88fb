// Typed verdicts of the software GSO engine. Linux answers a bad TAP write in two ways: write()
// fails with EINVAL (virtio_net_hdr_to_skb / tun_get_user reject it: verdict 'reject'), or the
// write succeeds and the frame vanishes later in skb_gso_segment (verdict 'drop', visible only as
// the egress device's TX dropped counter). Each code names the kernel check it mirrors.

export type TsoRejectCode =
  /** Frame shorter than an Ethernet header (tun_get_user: len < ETH_HLEN). */
  | 'FRAME_TOO_SHORT'
  /** hdr_len non-zero but below ETH_HLEN (tun_get_user). */
  | 'HDR_LEN_TOO_SHORT'
  /** hdr_len (raised to csum_start+csum_offset+2 when NEEDS_CSUM) beyond the write (tun_vnet_hdr_get). */
  | 'HDR_LEN_TOO_LONG'
  /** gso_type (without the ECN bits) is not TCPV4, UDP, TCPV6 or UDP_L4. */
  | 'GSO_TYPE'
  /** A GSO type with gso_size 0. */
  | 'GSO_SIZE_ZERO'
  /** gso_size 0xFFFF (GSO_BY_FRAGS). */
  | 'GSO_BY_FRAGS'
  /** NEEDS_CSUM: csum_start + max(thlen, csum_offset + 2) runs past the frame (pskb_may_pull, skb_partial_csum_set). */
  | 'CSUM_RANGE'
  /** NEEDS_CSUM: csum_start below the minimal network header (20, or 40 for TCPV6). */
  | 'CSUM_START'
  /** The frame is shorter than the transport header the GSO type implies. */
  | 'TRUNCATED'
  /** TCP GSO with NEEDS_CSUM and csum_offset != 16. */
  | 'TCP_CSUM_OFFSET'
  /** UDP_L4 without NEEDS_CSUM. */
  | 'USO_NO_CSUM'
  /** UDP_L4 with csum_offset != 6. */
  | 'USO_CSUM_OFFSET'
  /** UDP_L4 payload above gso_size * UDP_MAX_SEGMENTS (128). */
  | 'USO_TOO_MANY_SEGMENTS'
  /** UDP_L4 with an ECN bit in gso_type. */
  | 'USO_ECN';

export type TsoDropCode =
  /** The EtherType (after VLAN tags) is not IPv4/IPv6, or not the version the GSO type needs. */
  | 'DROP_L3_PROTO'
  /** IPv4 ihl < 5 or headers beyond the frame. */
  | 'DROP_L3_HEADER'
  /** The IP protocol (after IPv6 extension headers) does not match the GSO type. */
  | 'DROP_L4_PROTO'
  /** TCP doff < 5 or the TCP header runs past the frame. */
  | 'DROP_L4_HEADER'
  /** csum_start is not the transport header the kernel finds (tcp_gso_segment, __udp_gso_segment). */
  | 'DROP_CSUM_START'
  /** Payload after the full transport header not above gso_size (tcp_gso_segment, UFO, USO). */
  | 'DROP_TOO_SMALL';

export type TsoErrorCode = TsoRejectCode | TsoDropCode;

export class TsoError extends Error {
  override readonly name = 'TsoError';
  constructor(
    readonly code: TsoErrorCode,
    message: string,
    /** Byte offset in the frame at fault, where one exists. */
    readonly offset?: number,
  ) {
    super(message);
  }

  /** 'reject' = write() fails with EINVAL; 'drop' = accepted, then silently dropped. */
  get verdict(): 'reject' | 'drop' {
    return this.code.startsWith('DROP_') ? 'drop' : 'reject';
  }
}
