// Packet buffers: segment chains over pooled storage with PacketMeta, and the pool.
export { FILL_MIN, copyBytes, registerCopyViews, wordViews, type WordViews } from './copy.ts';
export { MbufError, type MbufErrorCode } from './errors.ts';
export { Mbuf, type MbufPool } from './mbuf.ts';
export { Mempool, mempoolBytes, type MempoolOptions, SEG_FREE, SEG_LIVE, SEG_LENT } from './mempool.ts';
export {
  PacketMeta,
  META_F_NEEDS_CSUM,
  META_F_DATA_VALID,
  META_GSO_NONE,
  META_GSO_TCPV4,
  META_GSO_UDP,
  META_GSO_TCPV6,
  META_GSO_UDP_L4,
  META_GSO_ECN,
} from './packet-meta.ts';
