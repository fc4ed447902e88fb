// The ptnetmap-memdev PCI function (1b36:000c, QEMU hw/net/ptnetmap-memdev.c): read-only info
// registers in BAR0 describing the host allocator, and BAR1 mapping the netmap region itself.

import type { NetmapRegion } from '../netmap/index.ts';
import type { MemoryBar, MsixCapability, PciBar, PciFunction, RegisterSpace } from './interface.ts';
import {
  PCI_CLASS_OTHERS,
  PTNETMAP_PCI_DEVICE_ID,
  PTNETMAP_PCI_VENDOR_ID,
  PTNET_MDEV_IO_BUF_POOL_OBJNUM,
  PTNET_MDEV_IO_BUF_POOL_OBJSZ,
  PTNET_MDEV_IO_BUF_POOL_OFS,
  PTNET_MDEV_IO_END,
  PTNET_MDEV_IO_IF_POOL_OBJNUM,
  PTNET_MDEV_IO_IF_POOL_OBJSZ,
  PTNET_MDEV_IO_IF_POOL_OFS,
  PTNET_MDEV_IO_MEMID,
  PTNET_MDEV_IO_MEMSIZE_HI,
  PTNET_MDEV_IO_MEMSIZE_LO,
  PTNET_MDEV_IO_RING_POOL_OBJNUM,
  PTNET_MDEV_IO_RING_POOL_OBJSZ,
  PTNET_MDEV_IO_RING_POOL_OFS,
} from './interface.ts';

/** BAR0 size: the next power of two above the register end. */
export const MEMDEV_IO_SIZE = 128;

/** The smallest power of two ≥ n (PCI BAR sizes). */
export function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

export class PtnetmapMemdev implements PciFunction, RegisterSpace {
  readonly vendorId = PTNETMAP_PCI_VENDOR_ID;
  readonly deviceId = PTNETMAP_PCI_DEVICE_ID;
  readonly classCode = PCI_CLASS_OTHERS;
  readonly msix: MsixCapability | undefined = undefined;
  readonly bars: readonly (PciBar | undefined)[];
  readonly memBar: MemoryBar;
  /** Register values, computed once: the region's geometry never changes. */
  private readonly regs = new Uint32Array(PTNET_MDEV_IO_END >> 2);

  constructor(readonly region: NetmapRegion) {
    const g = region.geometry;
    const set = (off: number, v: number): void => {
      this.regs[off >> 2] = v;
    };
    set(PTNET_MDEV_IO_MEMSIZE_LO, g.size >>> 0);
    set(PTNET_MDEV_IO_MEMSIZE_HI, Math.floor(g.size / 2 ** 32));
    set(PTNET_MDEV_IO_MEMID, region.memId);
    set(PTNET_MDEV_IO_IF_POOL_OFS, g.if.offset);
    set(PTNET_MDEV_IO_IF_POOL_OBJNUM, g.if.objTotal);
    set(PTNET_MDEV_IO_IF_POOL_OBJSZ, g.if.objSize);
    set(PTNET_MDEV_IO_RING_POOL_OFS, g.ring.offset);
    set(PTNET_MDEV_IO_RING_POOL_OBJNUM, g.ring.objTotal);
    set(PTNET_MDEV_IO_RING_POOL_OBJSZ, g.ring.objSize);
    set(PTNET_MDEV_IO_BUF_POOL_OFS, g.buf.offset);
    set(PTNET_MDEV_IO_BUF_POOL_OBJNUM, g.buf.objTotal);
    set(PTNET_MDEV_IO_BUF_POOL_OBJSZ, g.buf.objSize);
    this.memBar = { buffer: region.buffer, byteOffset: region.base, size: g.size, barSize: nextPow2(g.size) };
    this.bars = [
      { kind: 'io', size: MEMDEV_IO_SIZE, regs: this },
      { kind: 'mem', size: this.memBar.barSize, mem: this.memBar },
    ];
  }

  /** Aligned reads below the register end return the register; everything else reads 0. */
  read32(offset: number): number {
    if (offset >>> 0 !== offset || (offset & 3) !== 0 || offset >= PTNET_MDEV_IO_END) return 0;
    return this.regs[offset >> 2] ?? 0;
  }

  /** All memdev registers are read-only: writes are ignored. */
  write32(_offset: number, _value: number): void {}
}
