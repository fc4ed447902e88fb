// Pins every struct offset and size to the C values (spec §1.2–§1.4, §2.4; gcc x86_64 LP64).
import { describe, expect, it } from 'vitest';
import * as L from '../../src/netmap/layout.ts';

describe('netmap layouts (LP64)', () => {
  it('netmap_slot', () => {
    expect(L.NETMAP_SLOT_SIZE).toBe(16);
    expect([L.SLOT_BUF_IDX, L.SLOT_LEN, L.SLOT_FLAGS, L.SLOT_PTR]).toEqual([0, 4, 6, 8]);
  });

  it('netmap_ring', () => {
    expect(L.NETMAP_RING_SIZE).toBe(256);
    expect(L.RING_SLOTS).toBe(256);
    expect({
      buf_ofs: L.RING_BUF_OFS,
      num_slots: L.RING_NUM_SLOTS,
      nr_buf_size: L.RING_NR_BUF_SIZE,
      ringid: L.RING_RINGID,
      dir: L.RING_DIR,
      head: L.RING_HEAD,
      cur: L.RING_CUR,
      tail: L.RING_TAIL,
      flags: L.RING_FLAGS,
      ts: L.RING_TS,
      offset_mask: L.RING_OFFSET_MASK,
      buf_align: L.RING_BUF_ALIGN,
      sem: L.RING_SEM,
    }).toEqual({
      buf_ofs: 0,
      num_slots: 8,
      nr_buf_size: 12,
      ringid: 16,
      dir: 18,
      head: 20,
      cur: 24,
      tail: 28,
      flags: 32,
      ts: 40,
      offset_mask: 56,
      buf_align: 64,
      sem: 128,
    });
    expect(L.netmapRing.layoutFor('ts')?.span).toBe(16);
  });

  it('netmap_if', () => {
    expect(L.NETMAP_IF_SIZE).toBe(56);
    expect(L.IF_RING_OFS).toBe(56);
    expect(L.NETMAP_IF_RING_OFS_SIZE).toBe(8);
    expect(L.IF_NAME_SIZE).toBe(16);
    expect([
      L.IF_NAME,
      L.IF_VERSION,
      L.IF_FLAGS,
      L.IF_TX_RINGS,
      L.IF_RX_RINGS,
      L.IF_BUFS_HEAD,
      L.IF_HOST_TX_RINGS,
      L.IF_HOST_RX_RINGS,
      L.IF_SPARE1,
    ]).toEqual([0, 16, 20, 24, 28, 32, 36, 40, 44]);
  });

  it('nm_csb_atok / nm_csb_ktoa', () => {
    expect(L.NM_CSB_ATOK_SIZE).toBe(64);
    expect([L.ATOK_HEAD, L.ATOK_CUR, L.ATOK_APPL_NEED_KICK, L.ATOK_SYNC_FLAGS]).toEqual([0, 4, 8, 12]);
    expect(L.NM_CSB_KTOA_SIZE).toBe(64);
    expect([L.KTOA_HWCUR, L.KTOA_HWTAIL, L.KTOA_KERN_NEED_KICK]).toEqual([0, 4, 8]);
  });

  it('encodes little-endian at the declared offsets', () => {
    const b = new Uint8Array(16);
    L.netmapSlot.encode({ buf_idx: 0x01020304, len: 0x0506, flags: 0x0708, ptr: 9 }, b);
    expect(Array.from(b)).toEqual([4, 3, 2, 1, 6, 5, 8, 7, 9, 0, 0, 0, 0, 0, 0, 0]);
  });
});
