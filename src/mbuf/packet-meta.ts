// Per-packet offload metadata, mirroring the fields of struct virtio_net_hdr (and what Linux keeps
// in skb->ip_summed / csum_start / csum_offset / gso_*): the stack fills it for transmit, the driver
// fills it from a received header. Values use the virtio encoding so no translation is needed.

/** flags: the checksum from csumStart to the end is still to be computed (VIRTIO_NET_HDR_F_NEEDS_CSUM). */
export const META_F_NEEDS_CSUM = 1;
/** flags: the checksum was already validated (VIRTIO_NET_HDR_F_DATA_VALID, receive only). */
export const META_F_DATA_VALID = 2;

/** gsoType values (VIRTIO_NET_HDR_GSO_*): not a super-frame. */
export const META_GSO_NONE = 0;
export const META_GSO_TCPV4 = 1;
/** UFO: IP fragmentation of one UDP datagram. */
export const META_GSO_UDP = 3;
export const META_GSO_TCPV6 = 4;
/** USO: UDP segmentation, IPv4 or IPv6. */
export const META_GSO_UDP_L4 = 5;
/** OR-ed into gsoType: the super-frame carries CWR and segments must keep ECN semantics. */
export const META_GSO_ECN = 0x80;

export class PacketMeta {
  /** META_F_* bits. */
  flags = 0;
  /** Offset from the start of the Ethernet frame where checksumming starts. */
  csumStart = 0;
  /** Offset from csumStart where the 16-bit checksum is stored (TCP 16, UDP 6). */
  csumOffset = 0;
  /** META_GSO_* (optionally | META_GSO_ECN). */
  gsoType = 0;
  /** Payload bytes per segment (MSS) of a super-frame. */
  gsoSize = 0;
  /** Length of the headers to replicate per segment (Ethernet + IP + L4). */
  hdrLen = 0;
  /** Flow hash choosing a TX queue (0 = none). */
  flowHash = 0;
  /** Index of the RX queue the packet came from (-1 = not received). */
  rxQueue = -1;

  clear(): void {
    this.flags = 0;
    this.csumStart = 0;
    this.csumOffset = 0;
    this.gsoType = 0;
    this.gsoSize = 0;
    this.hdrLen = 0;
    this.flowHash = 0;
    this.rxQueue = -1;
  }

  copyFrom(o: PacketMeta): void {
    this.flags = o.flags;
    this.csumStart = o.csumStart;
    this.csumOffset = o.csumOffset;
    this.gsoType = o.gsoType;
    this.gsoSize = o.gsoSize;
    this.hdrLen = o.hdrLen;
    this.flowHash = o.flowHash;
    this.rxQueue = o.rxQueue;
  }
}
