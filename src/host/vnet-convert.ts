// docs/SPEC.md §5.1 (netmap_offloadings.c bdg_mismatch_datapath): what the destination of a VALE
// forward gets as its virtio-net header when source and destination header lengths differ, and
// vnet_hdr_is_bad(). Raw bytes in the slot buffers (guest-native = little-endian), no allocation.

import {
  VIRTIO_NET_HDR_F_DATA_VALID,
  VIRTIO_NET_HDR_F_NEEDS_CSUM,
  VIRTIO_NET_HDR_GSO_ECN,
  VIRTIO_NET_HDR_GSO_NONE,
  VIRTIO_NET_HDR_GSO_TCPV4,
  VIRTIO_NET_HDR_GSO_TCPV6,
  VIRTIO_NET_HDR_GSO_UDP,
  VNET_HDR_LEN,
  VNET_HDR_MRG_LEN,
  VNET_OFF_FLAGS,
  VNET_OFF_GSO_TYPE,
  VNET_OFF_NUM_BUFFERS,
} from '../vnethdr/constants.ts';

/**
 * vnet_hdr_is_bad: gso_type without ECN ∉ {0, 1, 3, 4}, or flags outside NEEDS_CSUM|DATA_VALID.
 * @mirrors netmap_offloadings.c:vnet_hdr_is_bad
 */
export function vnetHdrIsBad(buf: Uint8Array, off: number): boolean {
  const gso = buf[off + VNET_OFF_GSO_TYPE]! & ~VIRTIO_NET_HDR_GSO_ECN;
  const flags = buf[off + VNET_OFF_FLAGS]!;
  return (
    (gso !== VIRTIO_NET_HDR_GSO_NONE &&
      gso !== VIRTIO_NET_HDR_GSO_TCPV4 &&
      gso !== VIRTIO_NET_HDR_GSO_UDP &&
      gso !== VIRTIO_NET_HDR_GSO_TCPV6) ||
    (flags & ~(VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID)) !== 0
  );
}

/**
 * Writes the destination header (dhl = 10 or 12 bytes at dst) for a source header of shl bytes at
 * src (shl = 0: no source header): 0 → all zero; 10 ↔ 12 → the first 10 bytes, num_buffers = 0.
 * `buf` holds both (the netmap region). Not for dhl = 0 (the software-offload path).
 * @mirrors netmap_offloadings.c:bdg_mismatch_datapath
 */
export function convertVnetHdr(buf: Uint8Array, src: number, shl: number, dst: number, dhl: number): void {
  if (shl === 0) {
    buf.fill(0, dst, dst + dhl);
    return;
  }
  buf.copyWithin(dst, src, src + VNET_HDR_LEN);
  if (dhl === VNET_HDR_MRG_LEN) {
    buf[dst + VNET_OFF_NUM_BUFFERS] = 0;
    buf[dst + VNET_OFF_NUM_BUFFERS + 1] = 0;
  }
}
