// Protocol numbers and field constants (IANA registries; Linux uapi names in comments).

/** EtherTypes (linux/if_ether.h ETH_P_*). */
export const EtherType = {
  IPV4: 0x0800, // ETH_P_IP
  ARP: 0x0806, // ETH_P_ARP
  VLAN: 0x8100, // ETH_P_8021Q
  IPV6: 0x86dd, // ETH_P_IPV6
  QINQ: 0x88a8, // ETH_P_8021AD
} as const;

/** IP protocol / IPv6 next-header numbers (IPPROTO_*). */
export const IpProto = {
  HOPOPTS: 0,
  ICMP: 1,
  IPIP: 4, // IPv4 in IP (IPPROTO_IPIP)
  TCP: 6,
  UDP: 17,
  IPV6: 41, // IPv6 in IP (IPPROTO_IPV6)
  IPV6_ROUTING: 43,
  IPV6_FRAGMENT: 44,
  GRE: 47,
  ESP: 50,
  AH: 51,
  ICMPV6: 58,
  IPV6_NONXT: 59,
  IPV6_DSTOPTS: 60,
  SCTP: 132,
} as const;

/** TCP flag bits as in the 16-bit word at offset 12, masked to the low 9 bits (NS/AE at bit 8). */
export const TcpFlags = {
  FIN: 0x001,
  SYN: 0x002,
  RST: 0x004,
  PSH: 0x008,
  ACK: 0x010,
  URG: 0x020,
  ECE: 0x040,
  CWR: 0x080,
  NS: 0x100,
} as const;

/** TCP option kinds (TCPOPT_*). */
export const TcpOptKind = {
  EOL: 0,
  NOP: 1,
  MSS: 2,
  WSCALE: 3,
  SACK_PERMITTED: 4,
  SACK: 5,
  TIMESTAMP: 8,
} as const;

/** IPv4 option types that have no length byte. */
export const Ipv4OptType = { EOL: 0, NOP: 1 } as const;

/** ICMPv4 types (RFC 792). */
export const IcmpType = {
  ECHO_REPLY: 0,
  DEST_UNREACH: 3,
  ECHO_REQUEST: 8,
  TIME_EXCEEDED: 11,
} as const;

/** ICMPv4 destination-unreachable codes. */
export const IcmpUnreachCode = {
  NET: 0,
  HOST: 1,
  PROTOCOL: 2,
  PORT: 3,
  FRAG_NEEDED: 4,
  SOURCE_ROUTE_FAILED: 5,
} as const;

/** ICMPv4 time-exceeded codes. */
export const IcmpTimeExceededCode = { TTL: 0, REASSEMBLY: 1 } as const;

/** ICMPv6 types (RFC 4443, RFC 4861). */
export const Icmpv6Type = {
  DEST_UNREACH: 1,
  PACKET_TOO_BIG: 2,
  TIME_EXCEEDED: 3,
  PARAM_PROBLEM: 4,
  ECHO_REQUEST: 128,
  ECHO_REPLY: 129,
  ROUTER_SOLICIT: 133,
  ROUTER_ADVERT: 134,
  NEIGHBOR_SOLICIT: 135,
  NEIGHBOR_ADVERT: 136,
  REDIRECT: 137,
} as const;

/** ICMPv6 destination-unreachable codes. */
export const Icmpv6UnreachCode = {
  NO_ROUTE: 0,
  ADMIN_PROHIBITED: 1,
  BEYOND_SCOPE: 2,
  ADDR_UNREACH: 3,
  PORT_UNREACH: 4,
} as const;

/** NDP option types (RFC 4861 §4.6, ND_OPT_*). */
export const NdpOptType = {
  SOURCE_LL_ADDR: 1,
  TARGET_LL_ADDR: 2,
  PREFIX_INFO: 3,
  REDIRECTED_HEADER: 4,
  MTU: 5,
} as const;

/** ARP operation codes and the only hardware/protocol pair handled. */
export const ArpOp = { REQUEST: 1, REPLY: 2 } as const;
export const ARP_HTYPE_ETHERNET = 1;

/** Fixed header lengths. */
export const ETH_HLEN = 14;
export const VLAN_HLEN = 4;
export const IPV4_MIN_HLEN = 20;
export const IPV6_HLEN = 40;
export const IPV6_FRAG_HLEN = 8;
export const UDP_HLEN = 8;
export const TCP_MIN_HLEN = 20;
export const ICMP_HLEN = 8;
export const ARP_ETH_IPV4_LEN = 28;
