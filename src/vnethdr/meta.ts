// Field-for-field copies between a virtio_net_hdr and PacketMeta, for tools that carry headers
// verbatim (pcap vnet comments, host-side conversions, tests). The datapath uses buildTxHdr() and
// applyRxHdr(), which check the values against the frame.
import type { PacketMeta } from '../mbuf/index.ts';
import type { VnetHdr } from './vnet-hdr.ts';

/** Copies h's offload fields into meta as they are (flowHash and rxQueue untouched). */
export function vnetHdrToMeta(h: VnetHdr, meta: PacketMeta): void {
  meta.flags = h.flags;
  meta.gsoType = h.gsoType;
  meta.hdrLen = h.hdrLen;
  meta.gsoSize = h.gsoSize;
  meta.csumStart = h.csumStart;
  meta.csumOffset = h.csumOffset;
}

/** Copies meta's offload fields into out as they are; num_buffers is 0 (transmit). */
export function metaToVnetHdr(meta: PacketMeta, out: VnetHdr): void {
  out.flags = meta.flags;
  out.gsoType = meta.gsoType;
  out.hdrLen = meta.hdrLen;
  out.gsoSize = meta.gsoSize;
  out.csumStart = meta.csumStart;
  out.csumOffset = meta.csumOffset;
  out.numBuffers = 0;
}
