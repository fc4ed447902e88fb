// Applying a received virtio_net_hdr to the packet's metadata, as Linux virtio-net / ptnet RX do
// (virtio_net_hdr_to_skb: NEEDS_CSUM → CHECKSUM_PARTIAL after the bounds checks, DATA_VALID →
// CHECKSUM_UNNECESSARY, a GSO type → an LRO-like super-frame passed up with its gso_size).
// A header Linux would refuse is reported so the driver drops and counts the frame.
import { META_F_DATA_VALID, META_F_NEEDS_CSUM, type PacketMeta } from '../mbuf/index.ts';
import { VIRTIO_NET_HDR_F_DATA_VALID, VNET_MAX_GSO_FRAME } from './constants.ts';
import type { VnetHdrErrorCode } from './errors.ts';
import { SkbState, virtioNetHdrToSkb } from './linux.ts';
import type { VnetHdr } from './vnet-hdr.ts';

/** Room for up to two VLAN tags in front of the largest super-frame. */
const RX_MAX_FRAME = VNET_MAX_GSO_FRAME + 8;

const st = new SkbState();
/** Upstream virtio_net_hdr_to_skb() never reads the frame on RX (no network header is set yet). */
const NO_FRAME = new Uint8Array(0);

/**
 * Sets meta's offload fields (flags, csumStart, csumOffset, gsoType, gsoSize, hdrLen) from h for
 * a received frame of frameLen bytes. flowHash and rxQueue are left to the driver. On error the
 * offload fields are cleared and the code says why the frame should be dropped.
 * @mirrors linux/virtio_net.h:virtio_net_hdr_to_skb
 */
export function applyRxHdr(h: VnetHdr, frameLen: number, meta: PacketMeta): VnetHdrErrorCode | null {
  meta.flags = 0;
  meta.csumStart = 0;
  meta.csumOffset = 0;
  meta.gsoType = 0;
  meta.gsoSize = 0;
  meta.hdrLen = 0;
  if (frameLen > RX_MAX_FRAME) return 'RX_FRAME_TOO_LONG';
  const e = virtioNetHdrToSkb(h, NO_FRAME, 0, frameLen, st);
  if (e !== null) return e;
  if (st.partial) {
    meta.flags = META_F_NEEDS_CSUM;
    meta.csumStart = h.csumStart;
    meta.csumOffset = h.csumOffset;
  } else if ((h.flags & VIRTIO_NET_HDR_F_DATA_VALID) !== 0) {
    meta.flags = META_F_DATA_VALID;
  }
  if (st.gso) {
    meta.gsoType = h.gsoType;
    meta.gsoSize = h.gsoSize;
    meta.hdrLen = h.hdrLen;
  }
  return null;
}

/** The last applyRxHdr() error's byte offset (header field, or frame offset). */
export function rxErrorOffset(): number {
  return st.errorOffset;
}
