// The shared-memory structs of sys/net/netmap.h (LP64), each declared once with buffer-layout.
// Every offset and size the rest of the code uses is derived from these declarations.

import { blob, ns64, nu64, seq, struct, u16, u32 } from '@solana/buffer-layout';
import type { Structure } from '@solana/buffer-layout';

/** Byte offset of `field` in `s`; throws at module load if the declaration lacks it. */
function offsetOf<T>(s: Structure<T>, field: string): number {
  const o = s.offsetOf(field);
  if (o === undefined || o < 0) throw new Error(`layout: no fixed field ${field}`);
  return o;
}

/** Decoded forms (what buffer-layout's decode returns; tests and tools use them, hot paths do not). */
export interface NetmapSlot {
  buf_idx: number;
  len: number;
  flags: number;
  ptr: number;
}
export interface Timeval {
  tv_sec: number;
  tv_usec: number;
}
export interface NetmapRing {
  buf_ofs: number;
  num_slots: number;
  nr_buf_size: number;
  ringid: number;
  dir: number;
  head: number;
  cur: number;
  tail: number;
  flags: number;
  pad0: Uint8Array;
  ts: Timeval;
  offset_mask: number;
  buf_align: number;
  pad1: Uint8Array;
  sem: Uint8Array;
}
export interface NetmapIf {
  ni_name: Uint8Array;
  ni_version: number;
  ni_flags: number;
  ni_tx_rings: number;
  ni_rx_rings: number;
  ni_bufs_head: number;
  ni_host_tx_rings: number;
  ni_host_rx_rings: number;
  ni_spare1: number[];
}
export interface NmCsbAtok {
  head: number;
  cur: number;
  appl_need_kick: number;
  sync_flags: number;
  pad: number[];
}
export interface NmCsbKtoa {
  hwcur: number;
  hwtail: number;
  kern_need_kick: number;
  pad: number[];
}

/** `struct netmap_slot`. */
export const netmapSlot = struct<NetmapSlot>(
  [u32('buf_idx'), u16('len'), u16('flags'), nu64('ptr')],
  'netmap_slot',
);

/** `struct timeval` on LP64. */
const timeval = struct<Timeval>([ns64('tv_sec'), ns64('tv_usec')], 'ts');

/**
 * `struct netmap_ring` header; `slot[]` (a flexible array) follows at NETMAP_RING_SIZE. The pads
 * reproduce the compiler's: 4 bytes to align `ts`, and `sem` aligned to NM_CACHE_ALIGN (128).
 */
export const netmapRing = struct<NetmapRing>(
  [
    ns64('buf_ofs'),
    u32('num_slots'),
    u32('nr_buf_size'),
    u16('ringid'),
    u16('dir'),
    u32('head'),
    u32('cur'),
    u32('tail'),
    u32('flags'),
    blob(4, 'pad0'),
    timeval,
    nu64('offset_mask'),
    nu64('buf_align'),
    blob(56, 'pad1'),
    blob(128, 'sem'),
  ],
  'netmap_ring',
);

/** `struct netmap_if` header; `ring_ofs[]` (ssize_t, a flexible array) follows at NETMAP_IF_SIZE. */
export const netmapIf = struct<NetmapIf>(
  [
    blob(16, 'ni_name'),
    u32('ni_version'),
    u32('ni_flags'),
    u32('ni_tx_rings'),
    u32('ni_rx_rings'),
    u32('ni_bufs_head'),
    u32('ni_host_tx_rings'),
    u32('ni_host_rx_rings'),
    seq(u32(), 3, 'ni_spare1'),
  ],
  'netmap_if',
);

/** One `ring_ofs[]` entry (ssize_t). */
export const netmapIfRingOfs = ns64('ring_ofs');

/** `struct nm_csb_atok` (application → kernel, "GH"). */
export const nmCsbAtok = struct<NmCsbAtok>(
  [u32('head'), u32('cur'), u32('appl_need_kick'), u32('sync_flags'), seq(u32(), 12, 'pad')],
  'nm_csb_atok',
);

/** `struct nm_csb_ktoa` (kernel → application, "HG"). */
export const nmCsbKtoa = struct<NmCsbKtoa>(
  [u32('hwcur'), u32('hwtail'), u32('kern_need_kick'), seq(u32(), 13, 'pad')],
  'nm_csb_ktoa',
);

export const NETMAP_SLOT_SIZE = netmapSlot.span;
export const SLOT_BUF_IDX = offsetOf(netmapSlot, 'buf_idx');
export const SLOT_LEN = offsetOf(netmapSlot, 'len');
export const SLOT_FLAGS = offsetOf(netmapSlot, 'flags');
export const SLOT_PTR = offsetOf(netmapSlot, 'ptr');

/** Size of the ring header = offset of slot[0]. */
export const NETMAP_RING_SIZE = netmapRing.span;
export const RING_BUF_OFS = offsetOf(netmapRing, 'buf_ofs');
export const RING_NUM_SLOTS = offsetOf(netmapRing, 'num_slots');
export const RING_NR_BUF_SIZE = offsetOf(netmapRing, 'nr_buf_size');
export const RING_RINGID = offsetOf(netmapRing, 'ringid');
export const RING_DIR = offsetOf(netmapRing, 'dir');
export const RING_HEAD = offsetOf(netmapRing, 'head');
export const RING_CUR = offsetOf(netmapRing, 'cur');
export const RING_TAIL = offsetOf(netmapRing, 'tail');
export const RING_FLAGS = offsetOf(netmapRing, 'flags');
export const RING_TS = offsetOf(netmapRing, 'ts');
export const RING_OFFSET_MASK = offsetOf(netmapRing, 'offset_mask');
export const RING_BUF_ALIGN = offsetOf(netmapRing, 'buf_align');
export const RING_SEM = offsetOf(netmapRing, 'sem');
export const RING_SLOTS = NETMAP_RING_SIZE;

/** Size of the if header = offset of ring_ofs[0]. */
export const NETMAP_IF_SIZE = netmapIf.span;
export const NETMAP_IF_RING_OFS_SIZE = netmapIfRingOfs.span;
export const IF_NAME = offsetOf(netmapIf, 'ni_name');
export const IF_NAME_SIZE = netmapIf.layoutFor('ni_name')?.span ?? 0;
export const IF_VERSION = offsetOf(netmapIf, 'ni_version');
export const IF_FLAGS = offsetOf(netmapIf, 'ni_flags');
export const IF_TX_RINGS = offsetOf(netmapIf, 'ni_tx_rings');
export const IF_RX_RINGS = offsetOf(netmapIf, 'ni_rx_rings');
export const IF_BUFS_HEAD = offsetOf(netmapIf, 'ni_bufs_head');
export const IF_HOST_TX_RINGS = offsetOf(netmapIf, 'ni_host_tx_rings');
export const IF_HOST_RX_RINGS = offsetOf(netmapIf, 'ni_host_rx_rings');
export const IF_SPARE1 = offsetOf(netmapIf, 'ni_spare1');
export const IF_RING_OFS = NETMAP_IF_SIZE;

export const NM_CSB_ATOK_SIZE = nmCsbAtok.span;
export const ATOK_HEAD = offsetOf(nmCsbAtok, 'head');
export const ATOK_CUR = offsetOf(nmCsbAtok, 'cur');
export const ATOK_APPL_NEED_KICK = offsetOf(nmCsbAtok, 'appl_need_kick');
export const ATOK_SYNC_FLAGS = offsetOf(nmCsbAtok, 'sync_flags');

export const NM_CSB_KTOA_SIZE = nmCsbKtoa.span;
export const KTOA_HWCUR = offsetOf(nmCsbKtoa, 'hwcur');
export const KTOA_HWTAIL = offsetOf(nmCsbKtoa, 'hwtail');
export const KTOA_KERN_NEED_KICK = offsetOf(nmCsbKtoa, 'kern_need_kick');
