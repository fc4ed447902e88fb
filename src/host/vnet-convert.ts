// §5.1 of the spec (netmap_offloadings.c bdg_mismatch_datapath): what the destination of a VALE
// forward gets as its virtio-net header when source and destination header lengths differ, and
// vnet_hdr_is_bad(). Raw bytes in the slot buffers (guest-native = little-endian), no allocation.

/** virtio_net_hdr field offsets and values (spec §4.1). */
export const VNET = {
  FLAGS: 0,
  GSO_TYPE: 1,
  HDR_LEN: 2,
  GSO_SIZE: 4,
  CSUM_START: 6,
  CSUM_OFFSET: 8,
  NUM_BUFFERS: 10,
  F_NEEDS_CSUM: 1,
  F_DATA_VALID: 2,
  GSO_NONE: 0,
  GSO_TCPV4: 1,
  GSO_UDP: 3,
  GSO_TCPV6: 4,
  GSO_ECN: 0x80,
} as const;

/** vnet_hdr_is_bad: gso_type without ECN ∉ {0, 1, 3, 4}, or flags outside NEEDS_CSUM|DATA_VALID. */
export function vnetHdrIsBad(buf: Uint8Array, off: number): boolean {
  const gso = buf[off + VNET.GSO_TYPE]! & ~VNET.GSO_ECN;
  const flags = buf[off + VNET.FLAGS]!;
  return (gso !== 0 && gso !== 1 && gso !== 3 && gso !== 4) || (flags & ~3) !== 0;
}

/**
 * Writes the destination header (dhl = 10 or 12 bytes at dst) for a source header of shl bytes at
 * src (shl = 0: no source header): 0 → all zero; 10 ↔ 12 → the first 10 bytes, num_buffers = 0.
 * `buf` holds both (the netmap region). Not for dhl = 0 (the software-offload path).
 */
export function convertVnetHdr(buf: Uint8Array, src: number, shl: number, dst: number, dhl: number): void {
  if (shl === 0) {
    buf.fill(0, dst, dst + dhl);
    return;
  }
  buf.copyWithin(dst, src, src + 10);
  if (dhl === 12) {
    buf[dst + 10] = 0;
    buf[dst + 11] = 0;
  }
}
