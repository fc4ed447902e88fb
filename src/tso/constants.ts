// Values from include/uapi/linux/virtio_net.h and the kernel limits the GSO code applies.

export const VIRTIO_NET_HDR_F_NEEDS_CSUM = 1;
export const VIRTIO_NET_HDR_GSO_NONE = 0;
export const VIRTIO_NET_HDR_GSO_TCPV4 = 1;
export const VIRTIO_NET_HDR_GSO_UDP = 3;
export const VIRTIO_NET_HDR_GSO_TCPV6 = 4;
export const VIRTIO_NET_HDR_GSO_UDP_L4 = 5;
export const VIRTIO_NET_HDR_GSO_ECN = 0x80;

/** __udp_gso_segment's limit on segments per USO frame (128 on 6.18, measured). */
export const UDP_MAX_SEGMENTS = 128;
/** GSO_BY_FRAGS: a gso_size the kernel reserves for SCTP; refused from userspace. */
export const GSO_BY_FRAGS = 0xffff;

export const ETH_HLEN = 14;
export const ETH_P_IP = 0x0800;
export const ETH_P_IPV6 = 0x86dd;
export const ETH_P_8021Q = 0x8100;
export const ETH_P_8021AD = 0x88a8;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;

/** The fields of struct virtio_net_hdr the engine reads (same names as the pcap vnet comment). */
export interface GsoHeader {
  flags: number;
  gsoType: number;
  hdrLen: number;
  gsoSize: number;
  csumStart: number;
  csumOffset: number;
}
