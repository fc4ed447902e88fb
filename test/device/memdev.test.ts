import { describe, expect, it } from 'vitest';
import {
  GuestPhysMemory,
  Machine,
  PtnetmapMemdev,
  PTNET_MDEV_IO_BUF_POOL_OBJNUM,
  PTNET_MDEV_IO_BUF_POOL_OBJSZ,
  PTNET_MDEV_IO_BUF_POOL_OFS,
  PTNET_MDEV_IO_IF_POOL_OBJNUM,
  PTNET_MDEV_IO_IF_POOL_OBJSZ,
  PTNET_MDEV_IO_IF_POOL_OFS,
  PTNET_MDEV_IO_MEMID,
  PTNET_MDEV_IO_MEMSIZE_HI,
  PTNET_MDEV_IO_MEMSIZE_LO,
  PTNET_MDEV_IO_RING_POOL_OBJNUM,
  PTNET_MDEV_IO_RING_POOL_OBJSZ,
  PTNET_MDEV_IO_RING_POOL_OFS,
  nextPow2,
} from '../../src/device/index.ts';
import { NetmapRegion } from '../../src/netmap/index.ts';
import { FakeKloop, FakePort, smallParams } from './fake-backend.ts';

describe('memdev (§2.3)', () => {
  it('registers describe the region; BAR1 maps it', () => {
    const r = new NetmapRegion({ params: smallParams, memId: 3 });
    const md = new PtnetmapMemdev(r);
    const g = r.geometry;
    expect([md.vendorId, md.deviceId]).toEqual([0x1b36, 0x000c]);
    expect(md.read32(PTNET_MDEV_IO_MEMSIZE_LO)).toBe(g.size);
    expect(md.read32(PTNET_MDEV_IO_MEMSIZE_HI)).toBe(0);
    expect(md.read32(PTNET_MDEV_IO_MEMID)).toBe(3);
    expect(
      [
        PTNET_MDEV_IO_IF_POOL_OFS,
        PTNET_MDEV_IO_IF_POOL_OBJNUM,
        PTNET_MDEV_IO_IF_POOL_OBJSZ,
        PTNET_MDEV_IO_RING_POOL_OFS,
        PTNET_MDEV_IO_RING_POOL_OBJNUM,
        PTNET_MDEV_IO_RING_POOL_OBJSZ,
        PTNET_MDEV_IO_BUF_POOL_OFS,
        PTNET_MDEV_IO_BUF_POOL_OBJNUM,
        PTNET_MDEV_IO_BUF_POOL_OBJSZ,
      ].map((o) => md.read32(o)),
    ).toEqual([0, 16, 1024, g.ring.offset, 16, 16384, g.buf.offset, 512, 2048]);
    expect(md.bars[1]).toMatchObject({ kind: 'mem', size: nextPow2(g.size) });
    expect(md.memBar).toEqual({
      buffer: r.buffer,
      byteOffset: r.base,
      size: g.size,
      barSize: nextPow2(g.size),
    });
    // Read-only, 32-bit aligned only, zero past the end.
    md.write32(PTNET_MDEV_IO_MEMID, 99);
    expect(md.read32(PTNET_MDEV_IO_MEMID)).toBe(3);
    expect(md.read32(PTNET_MDEV_IO_MEMID + 1)).toBe(0);
    expect(md.read32(12)).toBe(0);
    expect(md.read32(100)).toBe(0);
    expect(md.read32(-4)).toBe(0);
    expect(nextPow2(5000)).toBe(8192);
    expect(nextPow2(4096)).toBe(4096);
  });

  it('reports sizes above 4 GiB in MEMSIZE_HI', () => {
    // A region whose geometry claims 16 GiB + 5 pages (never allocated).
    const r = new NetmapRegion({ params: smallParams });
    const huge = { ...r, geometry: { ...r.geometry, size: 2 ** 34 + 5 * 4096 } } as unknown as NetmapRegion;
    const md = new PtnetmapMemdev(huge);
    expect(md.read32(PTNET_MDEV_IO_MEMSIZE_HI)).toBe(4);
    expect(md.read32(PTNET_MDEV_IO_MEMSIZE_LO)).toBe(5 * 4096);
    expect(md.memBar.barSize).toBe(2 ** 35);
  });
});

describe('guest-physical memory', () => {
  it('allocates zeroed contiguous pages above 4 GiB, maps only RAM, frees', () => {
    const m = new GuestPhysMemory({ size: 8 * 4096 });
    expect(m.base).toBe(2 ** 32);
    const a = m.allocPages(2);
    expect(a % 4096).toBe(0);
    const map = m.map(a, 8192)!;
    new Uint8Array(map.buffer, map.byteOffset, 8192).fill(7);
    m.freePages(a, 2);
    const b = m.allocPages(3);
    expect(b).toBe(a);
    const mb = m.map(b, 3 * 4096)!;
    expect(new Uint8Array(mb.buffer, mb.byteOffset, 3 * 4096).every((x) => x === 0)).toBe(true);
    expect(m.map(m.base - 1, 4)).toBeUndefined();
    expect(m.map(m.base + m.size - 4, 8)).toBeUndefined();
    expect(m.map(0, 64)).toBeUndefined();
    expect(m.map(m.base + m.size - 4, 4)).toBeDefined();
    expect(() => m.allocPages(6)).toThrow(expect.objectContaining({ code: 'DEV_MEM_NOMEM' }));
    expect(() => m.freePages(b + 4096 * 3, 1)).toThrow(expect.objectContaining({ code: 'DEV_MEM_FREE' }));
    expect(() => m.freePages(b + 1, 1)).toThrow(expect.objectContaining({ code: 'DEV_MEM_FREE' }));
    expect(() => new GuestPhysMemory({ size: 1000 })).toThrow(
      expect.objectContaining({ code: 'DEV_MEM_ARG' }),
    );
  });
});

describe('Machine', () => {
  it('one memdev per host allocator, shared by the NICs on it', () => {
    const machine = new Machine({ size: 16 * 4096 });
    const a = new FakePort('a', 1, 1, 8, 8);
    const b = new FakePort('b', 1, 1, 8, 8, [0, 10, 12], a.region);
    const c = new FakePort('c', 1, 1, 8, 8);
    const mk = (p: FakePort, csb: ConstructorParameters<typeof FakeKloop>[1], irq: (r: number) => void) =>
      new FakeKloop(p, csb, irq);
    machine.addPtnet(a, mk);
    machine.addPtnet(b, mk);
    machine.addPtnet(c, mk);
    expect(machine.functions.map((f) => f.deviceId)).toEqual([0x0c, 0x0d, 0x0d, 0x0c, 0x0d]);
    const spoof = new FakePort('d', 1, 1, 8, 8);
    Object.defineProperty(spoof, 'memId', { value: a.memId });
    expect(() => machine.addPtnet(spoof, mk)).toThrow(expect.objectContaining({ code: 'DEV_BACKEND' }));
  });
});
