// The guest's view of the hardware: what a driver may touch (BAR register spaces, memory BARs,
// guest-physical memory, MSI-X, a PCI function list) and the register map of netmap_virt.h.
// This is the only file of src/device the driver imports; it holds no implementation.

/** PCI identity (netmap_virt.h). */
export const PTNETMAP_PCI_VENDOR_ID = 0x1b36;
/** ptnetmap-memdev. */
export const PTNETMAP_PCI_DEVICE_ID = 0x000c;
/** ptnet NIC. */
export const PTNETMAP_PCI_NETIF_ID = 0x000d;
export const PCI_CLASS_NETWORK_ETHERNET = 0x0200;
export const PCI_CLASS_OTHERS = 0xff;

/** BAR numbers (netmap_virt.h). */
export const PTNETMAP_IO_PCI_BAR = 0;
export const PTNETMAP_MEM_PCI_BAR = 1;
export const PTNETMAP_MSIX_PCI_BAR = 2;

/** ptnet BAR0 registers (docs/SPEC.md §2.2). */
export const PTNET_IO_PTFEAT = 0;
export const PTNET_IO_PTCTL = 4;
export const PTNET_IO_MAC_LO = 8;
export const PTNET_IO_MAC_HI = 12;
export const PTNET_IO_CSBBAH = 16;
export const PTNET_IO_CSBBAL = 20;
export const PTNET_IO_NIFP_OFS = 24;
export const PTNET_IO_NUM_TX_RINGS = 28;
export const PTNET_IO_NUM_RX_RINGS = 32;
export const PTNET_IO_NUM_TX_SLOTS = 36;
export const PTNET_IO_NUM_RX_SLOTS = 40;
export const PTNET_IO_VNET_HDR_LEN = 44;
export const PTNET_IO_HOSTMEMID = 48;
export const PTNET_IO_CSB_GH_BAH = 52;
export const PTNET_IO_CSB_GH_BAL = 56;
export const PTNET_IO_CSB_HG_BAH = 60;
export const PTNET_IO_CSB_HG_BAL = 64;
export const PTNET_IO_END = 68;
export const PTNET_IO_KICK_BASE = 128;
export const PTNET_IO_MASK = 0xff;
/** Rings that have a kick register: (BAR0 size − KICK_BASE) / 4. */
export const PTNET_MAX_KICK_RINGS = (PTNET_IO_MASK + 1 - PTNET_IO_KICK_BASE) / 4;

/** PTFEAT bits. */
export const PTNETMAP_F_VNET_HDR = 1;
/** PTCTL commands. */
export const PTNETMAP_PTCTL_CREATE = 1;
export const PTNETMAP_PTCTL_DELETE = 2;

/** memdev BAR0 registers (docs/SPEC.md §2.3). */
export const PTNET_MDEV_IO_MEMSIZE_LO = 0;
export const PTNET_MDEV_IO_MEMSIZE_HI = 4;
export const PTNET_MDEV_IO_MEMID = 8;
export const PTNET_MDEV_IO_IF_POOL_OFS = 64;
export const PTNET_MDEV_IO_IF_POOL_OBJNUM = 68;
export const PTNET_MDEV_IO_IF_POOL_OBJSZ = 72;
export const PTNET_MDEV_IO_RING_POOL_OFS = 76;
export const PTNET_MDEV_IO_RING_POOL_OBJNUM = 80;
export const PTNET_MDEV_IO_RING_POOL_OBJSZ = 84;
export const PTNET_MDEV_IO_BUF_POOL_OFS = 88;
export const PTNET_MDEV_IO_BUF_POOL_OBJNUM = 92;
export const PTNET_MDEV_IO_BUF_POOL_OBJSZ = 96;
export const PTNET_MDEV_IO_END = 100;

/** Positive errno values the PTCTL status register reports. */
export const ENXIO = 6;
export const EBUSY = 16;
export const EINVAL = 22;

/** Guest page size; the CSB arrays hold PAGE_SIZE / 64 entries each. */
export const GUEST_PAGE_SIZE = 4096;

/** An I/O BAR: aligned 32-bit little-endian accesses only; anything else is ignored or reads 0. */
export interface RegisterSpace {
  read32(offset: number): number;
  write32(offset: number, value: number): void;
}

/** Bytes of a memory BAR as the guest maps them: [byteOffset, byteOffset + size) of buffer. */
export interface MemoryBar {
  readonly buffer: SharedArrayBuffer;
  readonly byteOffset: number;
  /** Bytes backed (the memdev's MEMSIZE). */
  readonly size: number;
  /** The BAR aperture (a power of two ≥ size). */
  readonly barSize: number;
}

export type PciBar =
  | { readonly kind: 'io'; readonly size: number; readonly regs: RegisterSpace }
  | { readonly kind: 'mem'; readonly size: number; readonly mem: MemoryBar };

/** Where a guest-physical range lives in host memory. */
export interface GuestMapping {
  readonly buffer: SharedArrayBuffer;
  readonly byteOffset: number;
}

/** Guest-physical memory (addresses are plain numbers; ranges beyond 2^53 never map). */
export interface GuestMemory {
  /** Allocate `pages` zeroed, contiguous, page-aligned pages; returns the guest-physical address. */
  allocPages(pages: number): number;
  freePages(gpa: number, pages: number): void;
  /** The host location of [gpa, gpa + length), or undefined unless it is all guest RAM. */
  map(gpa: number, length: number): GuestMapping | undefined;
}

/** The MSI-X capability of a function, one handler per vector. */
export interface MsixCapability {
  readonly vectors: number;
  readonly enabled: boolean;
  enable(): void;
  disable(): void;
  /** Install (or with null remove) the handler of `vector`. */
  setHandler(vector: number, handler: (() => void) | null): void;
}

/** One PCI function as the driver's probe sees it. */
export interface PciFunction {
  readonly vendorId: number;
  readonly deviceId: number;
  readonly classCode: number;
  /** BARs by number (PTNETMAP_IO_PCI_BAR, PTNETMAP_MEM_PCI_BAR); undefined where none. */
  readonly bars: readonly (PciBar | undefined)[];
  /** Present on functions with MSI-X (the ptnet NIC; its table lives in BAR2). */
  readonly msix: MsixCapability | undefined;
}

/** What a guest kernel is given: the functions found on the bus and its physical memory. */
export interface GuestPlatform {
  readonly functions: readonly PciFunction[];
  readonly memory: GuestMemory;
}
