// netmap constants (sys/net/netmap.h, sys/dev/netmap/netmap_kern.h, netmap_mem2.c).

export const NETMAP_API = 14;
export const NM_CACHE_ALIGN = 128;
export const IFNAMSIZ = 16;
export const PAGE_SIZE = 4096;
/** Buffer and object alignment (NM_BUF_ALIGN, netmap_mem2.c's LINE_ROUND). */
export const NM_BUF_ALIGN = 64;

/** Slot flags (netmap.h). */
export const NS_BUF_CHANGED = 0x0001;
export const NS_REPORT = 0x0002;
export const NS_FORWARD = 0x0004;
export const NS_NO_LEARN = 0x0008;
export const NS_INDIRECT = 0x0010;
export const NS_MOREFRAG = 0x0020;
export const NS_TXMON = 0x0040;
export const NS_PORT_SHIFT = 8;
export const NS_PORT_MASK = 0xff00;
export const NETMAP_MAX_FRAGS = 64;
/** Ring flags. */
export const NR_TIMESTAMP = 0x0002;
export const NR_FORWARD = 0x0004;

/** netmap_if flags. */
export const NI_PRIV_MEM = 0x1;

/** Ring direction (`netmap_ring.dir`). */
export const NR_TX = 0;
export const NR_RX = 1;

/** Sync flags passed through atok.sync_flags (netmap_kern.h NAF_*). */
export const NAF_FORCE_READ = 1;
export const NAF_FORCE_RECLAIM = 2;

/** Kring flags (netmap_kern.h NKR_*). */
export const NKR_PENDINTR = 0x1;
export const NKR_NOINTR = 0x10;
