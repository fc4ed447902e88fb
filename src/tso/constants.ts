// The virtio_net_hdr values (include/uapi/linux/virtio_net.h) and kernel limits of src/vnethdr,
// and the Ethernet/IP numbers of src/wire, under the kernel names the GSO code uses.
import { EtherType, IpProto } from '../wire/constants.ts';

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
export { ETH_HLEN } from '../wire/constants.ts';

export const ETH_P_IP = EtherType.IPV4;
export const ETH_P_IPV6 = EtherType.IPV6;
export const ETH_P_8021Q = EtherType.VLAN;
export const ETH_P_8021AD = EtherType.QINQ;
export const IPPROTO_TCP = IpProto.TCP;
export const IPPROTO_UDP = IpProto.UDP;

/** The fields of struct virtio_net_hdr the engine reads (same names as the pcap vnet comment). */
export interface GsoHeader {
  flags: number;
  gsoType: number;
  hdrLen: number;
  gsoSize: number;
  csumStart: number;
  csumOffset: number;
}
