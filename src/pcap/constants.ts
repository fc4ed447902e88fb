// File-format constants (draft-ietf-opsawg-pcap, draft-ietf-opsawg-pcapng, tcpdump.org linktypes).

/** pcap magic for microsecond timestamps, as read in the writer's byte order. */
export const PCAP_MAGIC_US = 0xa1b2c3d4;
/** pcap magic for nanosecond timestamps. */
export const PCAP_MAGIC_NS = 0xa1b23c4d;
export const PCAP_HEADER_LEN = 24;
export const PCAP_RECORD_HEADER_LEN = 16;

export const BT_SHB = 0x0a0d0d0a;
export const BT_IDB = 0x00000001;
/** Obsolete Packet Block. */
export const BT_PB = 0x00000002;
export const BT_SPB = 0x00000003;
export const BT_NRB = 0x00000004;
export const BT_ISB = 0x00000005;
export const BT_EPB = 0x00000006;
export const BYTE_ORDER_MAGIC = 0x1a2b3c4d;

export const OPT_ENDOFOPT = 0;
export const OPT_COMMENT = 1;
export const IF_TSRESOL = 9;
export const IF_TSOFFSET = 14;

/** if_tsresol default: 10^-6 s. */
export const TSRESOL_US = 6;
export const TSRESOL_NS = 9;
/** if_tsresol high bit: the rest is a power of 2 instead of a power of 10. */
export const TSRESOL_POW2 = 0x80;

/** tcpdump's default snaplen and the record bound when a file's snaplen is smaller. */
export const DEFAULT_SNAPLEN = 262144;
export const MIN_RECORD_BOUND = 262144;
/**
 * Hard cap on a record or block, whatever a (hostile) snaplen says: Wireshark's largest
 * per-encapsulation packet size and its pcapng MAX_BLOCK_SIZE are both 16 MiB.
 */
export const MAX_RECORD_BOUND = 16 * 1024 * 1024;

export const LINKTYPE_NULL = 0;
export const LINKTYPE_ETHERNET = 1;
export const LINKTYPE_RAW = 101;
export const LINKTYPE_LOOP = 108;
export const LINKTYPE_LINUX_SLL = 113;
export const LINKTYPE_IPV4 = 228;
export const LINKTYPE_IPV6 = 229;
export const LINKTYPE_LINUX_SLL2 = 276;
