// The virtio_net_hdr values (include/uapi/linux/virtio_net.h) and kernel limits the GSO code
// reads, defined once in src/vnethdr; and the header the engine takes.

export {
  GSO_BY_FRAGS,
  UDP_MAX_SEGMENTS,
  VIRTIO_NET_HDR_F_NEEDS_CSUM,
  VIRTIO_NET_HDR_GSO_ECN,
  VIRTIO_NET_HDR_GSO_NONE,
  VIRTIO_NET_HDR_GSO_TCPV4,
  VIRTIO_NET_HDR_GSO_TCPV6,
  VIRTIO_NET_HDR_GSO_UDP,
  VIRTIO_NET_HDR_GSO_UDP_L4,
} from '../vnethdr/constants.ts';

/** The fields of struct virtio_net_hdr the engine reads (same names as the pcap vnet comment). */
export interface GsoHeader {
  flags: number;
  gsoType: number;
  hdrLen: number;
  gsoSize: number;
  csumStart: number;
  csumOffset: number;
}
