// struct virtio_net_hdr constants (Linux uapi virtio_net.h, virtio spec "Device Operation").

/** struct virtio_net_hdr: the legacy header without num_buffers. */
export const VNET_HDR_LEN = 10;
/** struct virtio_net_hdr_mrg_rxbuf / virtio_net_hdr_v1: what ptnet drivers always use. */
export const VNET_HDR_MRG_LEN = 12;

/** Byte offsets of the fields (all 16-bit fields little-endian). */
export const VNET_OFF_FLAGS = 0;
export const VNET_OFF_GSO_TYPE = 1;
export const VNET_OFF_HDR_LEN = 2;
export const VNET_OFF_GSO_SIZE = 4;
export const VNET_OFF_CSUM_START = 6;
export const VNET_OFF_CSUM_OFFSET = 8;
export const VNET_OFF_NUM_BUFFERS = 10;

/** flags */
export const VIRTIO_NET_HDR_F_NEEDS_CSUM = 1;
export const VIRTIO_NET_HDR_F_DATA_VALID = 2;
/** device→driver only: csum_start = coalesced segments, csum_offset = duplicate ACKs. */
export const VIRTIO_NET_HDR_F_RSC_INFO = 4;
export const VIRTIO_NET_HDR_F_UDP_TUNNEL_CSUM = 8;

/** gso_type */
export const VIRTIO_NET_HDR_GSO_NONE = 0;
export const VIRTIO_NET_HDR_GSO_TCPV4 = 1;
/** UFO: IP fragmentation of one UDP datagram (writer side only in Linux). */
export const VIRTIO_NET_HDR_GSO_UDP = 3;
export const VIRTIO_NET_HDR_GSO_TCPV6 = 4;
/** USO: UDP segmentation, IPv4 and IPv6. */
export const VIRTIO_NET_HDR_GSO_UDP_L4 = 5;
export const VIRTIO_NET_HDR_GSO_UDP_TUNNEL_IPV4 = 0x20;
export const VIRTIO_NET_HDR_GSO_UDP_TUNNEL_IPV6 = 0x40;
/** OR-ed into gso_type: the TCP super-frame carries CWR (SKB_GSO_TCP_ECN). */
export const VIRTIO_NET_HDR_GSO_ECN = 0x80;

/** Linux UDP_MAX_SEGMENTS: USO writes accepted up to this many segments (128 on 6.18, 64 before). */
export const UDP_MAX_SEGMENTS = 128;
/** Linux GSO_BY_FRAGS: a gso_size with special meaning inside the kernel, refused from userspace. */
export const GSO_BY_FRAGS = 0xffff;

/** Largest GSO frame: Ethernet + IPv6 header + 65 535 bytes of payload. */
export const VNET_MAX_GSO_FRAME = 14 + 40 + 65535;

/** Feature bits (virtio spec), for negotiation code and documentation. */
export const VirtioNetFeature = {
  CSUM: 0,
  GUEST_CSUM: 1,
  GUEST_TSO4: 7,
  GUEST_TSO6: 8,
  GUEST_ECN: 9,
  GUEST_UFO: 10,
  HOST_TSO4: 11,
  HOST_TSO6: 12,
  HOST_ECN: 13,
  HOST_UFO: 14,
  MRG_RXBUF: 15,
  GUEST_USO4: 54,
  GUEST_USO6: 55,
  HOST_USO: 56,
  HASH_REPORT: 57,
  GUEST_HDRLEN: 59,
} as const;

/** TUNSETOFFLOAD flags (linux/if_tun.h; USO and tunnel bits missing from older headers). */
export const TunOffload = {
  CSUM: 0x01,
  TSO4: 0x02,
  TSO6: 0x04,
  TSO_ECN: 0x08,
  UFO: 0x10,
  USO4: 0x20,
  USO6: 0x40,
  UDP_TUNNEL_GSO: 0x80,
  UDP_TUNNEL_GSO_CSUM: 0x100,
} as const;
