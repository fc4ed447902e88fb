import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  IF_BUFS_HEAD,
  NETMAP_DEFAULT_PARAMS,
  NetmapError,
  NetmapIfView,
  NetmapRegion,
  NetmapRingView,
  NR_RX,
  NR_TX,
  netmapIf,
  netmapRing,
  netmapSlot,
  poolGeometry,
  regionGeometry,
} from '../../src/netmap/index.ts';
import type { NetmapMemParams } from '../../src/netmap/index.ts';

const small: NetmapMemParams = {
  if: { objSize: 1024, objNum: 16 },
  ring: { objSize: 4 * 4096, objNum: 16 },
  buf: { objSize: 2048, objNum: 1024 },
};

describe('pool geometry (netmap_config_obj_allocator)', () => {
  it('netmap defaults', () => {
    const g = regionGeometry(NETMAP_DEFAULT_PARAMS);
    expect(g.if).toMatchObject({
      offset: 0,
      objSize: 1024,
      objTotal: 100,
      clustEntries: 4,
      memTotal: 100 * 1024,
    });
    expect(g.ring).toMatchObject({
      offset: 102400,
      objSize: 36864,
      clustEntries: 1,
      objTotal: 200,
      memTotal: 200 * 36864,
    });
    expect(g.buf).toMatchObject({
      offset: 102400 + 200 * 36864,
      objSize: 2048,
      objTotal: 163840,
      clustEntries: 2,
    });
    expect(g.size).toBe(102400 + 200 * 36864 + 163840 * 2048);
  });

  it('rounds sizes to 64 and counts to whole clusters', () => {
    const g = poolGeometry('buf', { objSize: 2000, objNum: 5 }, 0);
    expect(g.objSize).toBe(2048);
    expect(g.objTotal).toBe(6);
    const odd = poolGeometry('buf', { objSize: 2112, objNum: 4 }, 0);
    // 2112 = 33·64: the first multiple of a page is 64 objects.
    expect(odd.clustEntries).toBe(64);
    expect(odd.clustSize % 4096).toBe(0);
    expect(odd.objTotal).toBe(64);
  });

  it('enforces netmap limits', () => {
    const bad: [keyof NetmapMemParams, number, number][] = [
      ['buf', 0, 100],
      ['buf', 65600, 100],
      ['buf', 2048, 3],
      ['buf', 2048, 1_000_001],
      ['if', 4160, 100],
      ['if', 1024, 9],
      ['ring', 33 * 4096, 10],
      ['ring', 4096, 1],
    ];
    for (const [pool, objSize, objNum] of bad) {
      expect(() => poolGeometry(pool, { objSize, objNum }, 0)).toThrow(
        expect.objectContaining({ code: 'NM_POOL_PARAM' }),
      );
    }
  });
});

describe('NetmapRegion', () => {
  it('lays a port out like netmap (rings, if, buf_ofs, initial indices)', () => {
    const r = new NetmapRegion({ params: small, memId: 7 });
    expect(r.memId).toBe(7);
    const p = r.createPort({ name: 'vale0:a', txRings: 2, rxRings: 3, txSlots: 64, rxSlots: 128 });
    const nif = netmapIf.decode(r.bytes, p.nifpOfs);
    expect(new TextDecoder().decode(nif.ni_name.subarray(0, 7))).toBe('vale0:a');
    expect(nif.ni_name[7]).toBe(0);
    expect([nif.ni_tx_rings, nif.ni_rx_rings, nif.ni_host_tx_rings, nif.ni_host_rx_rings]).toEqual([
      2, 3, 1, 1,
    ]);
    const view = new NetmapIfView(r.buffer, p.nifpOfs);
    expect(view.name).toBe('vale0:a');
    // ring_ofs: TX0 TX1 hostTX RX0 RX1 RX2 hostRX; unbound host rings are 0.
    const dv = new DataView(r.buffer);
    const ofs = Array.from({ length: 7 }, (_, k) => Number(dv.getBigInt64(p.nifpOfs + 56 + 8 * k, true)));
    expect(ofs[2]).toBe(0);
    expect(ofs[6]).toBe(0);
    expect(p.txRingOfs.map((o) => o - p.nifpOfs)).toEqual([ofs[0], ofs[1]]);
    expect(p.rxRingOfs.map((o) => o - p.nifpOfs)).toEqual([ofs[3], ofs[4], ofs[5]]);
    for (let i = 0; i < 3; i++) expect(view.ringOffset('rx', i)).toBe(p.rxRingOfs[i]);
    expect(() => view.ringOffset('tx', 2)).toThrow(NetmapError);

    const seen = new Set<number>();
    const rings = [
      ...p.txRingOfs.map((o, i) => [o, NR_TX, i, 64] as const),
      ...p.rxRingOfs.map((o, i) => [o, NR_RX, i, 128] as const),
    ];
    for (const [o, dir, id, n] of rings) {
      expect(o % 64).toBe(0);
      const h = netmapRing.decode(r.bytes, o);
      expect(h).toMatchObject({
        num_slots: n,
        nr_buf_size: 2048,
        ringid: id,
        dir,
        head: 0,
        cur: 0,
        tail: dir === NR_TX ? n - 1 : 0,
      });
      // ring + buf_ofs is the buffer pool.
      expect(o + h.buf_ofs).toBe(r.geometry.buf.offset);
      const rv = new NetmapRingView(r.buffer, o, r.bufCount);
      for (let i = 0; i < n; i++) {
        const s = netmapSlot.decode(r.bytes, o + 256 + 16 * i);
        expect(s).toEqual({ buf_idx: rv.slotBufIdx(i), len: 2048, flags: 0, ptr: 0 });
        expect(s.buf_idx).toBeGreaterThanOrEqual(2);
        expect(seen.has(s.buf_idx)).toBe(false);
        seen.add(s.buf_idx);
        expect(rv.slotBufOffset(i)).toBe(r.bufOffset(s.buf_idx));
        expect(r.isBufAllocated(s.buf_idx)).toBe(true);
      }
    }
    expect(r.bufFree).toBe(1024 - 2 - seen.size);
    r.deletePort(p);
    expect(r.bufFree).toBe(1022);
  });

  it('allocation property: every buffer distinct, in range, never 0/1, no overlaps, all returned', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            txRings: fc.integer({ min: 1, max: 3 }),
            rxRings: fc.integer({ min: 1, max: 3 }),
            txSlots: fc.integer({ min: 1, max: 200 }),
            rxSlots: fc.integer({ min: 1, max: 200 }),
            extraBufs: fc.integer({ min: 0, max: 20 }),
          }),
          { minLength: 1, maxLength: 4 },
        ),
        fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
        (ports, dels) => {
          const r = new NetmapRegion({ params: small });
          const made = [];
          for (const [k, o] of ports.entries()) {
            try {
              made.push(r.createPort({ name: `p${k}`, ...o }));
            } catch (e) {
              expect((e as NetmapError).code).toBe('NM_NOMEM');
            }
          }
          made.forEach((p, k) => dels[k] && r.deletePort(p));
          const live = made.filter((_, k) => !dels[k]);
          const owners = new Map<number, string>();
          const objs: [number, number][] = [];
          let held = 0;
          for (const p of live) {
            objs.push([p.nifpOfs, r.geometry.if.objSize]);
            for (const o of [...p.txRingOfs, ...p.rxRingOfs]) {
              objs.push([o, r.geometry.ring.objSize]);
              const rv = new NetmapRingView(r.buffer, o, r.bufCount);
              expect(o + 256 + 16 * rv.numSlots).toBeLessThanOrEqual(
                r.geometry.ring.offset + r.geometry.ring.memTotal,
              );
              for (let i = 0; i < rv.numSlots; i++) {
                const b = rv.slotBufIdx(i);
                expect(b >= 2 && b < r.bufCount).toBe(true);
                expect(owners.has(b)).toBe(false);
                owners.set(b, p.name);
                const off = r.bufOffset(b);
                expect(off).toBeGreaterThanOrEqual(r.geometry.buf.offset);
                expect(off + r.bufSize).toBeLessThanOrEqual(r.size);
                held++;
              }
            }
            // Extra buffers: a 0-terminated chain through each buffer's first word.
            for (let b = new DataView(r.buffer).getUint32(p.nifpOfs + IF_BUFS_HEAD, true); b !== 0;) {
              expect(owners.has(b)).toBe(false);
              owners.set(b, p.name);
              held++;
              b = new DataView(r.buffer).getUint32(r.bufOffset(b), true);
            }
          }
          objs.sort((a, b) => a[0] - b[0]);
          for (let k = 1; k < objs.length; k++)
            expect(objs[k]![0]).toBeGreaterThanOrEqual(objs[k - 1]![0] + objs[k - 1]![1]);
          expect(r.bufFree).toBe(r.bufCount - 2 - held);
          for (const p of live) r.deletePort(p);
          expect(r.bufFree).toBe(r.bufCount - 2);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('reserves buffers 0 and 1 and refuses bad frees', () => {
    const r = new NetmapRegion({ params: small });
    expect(r.allocBuf()).toBe(2);
    for (const bad of [0, 1, 3, r.bufCount, -1, 2.5])
      expect(() => r.freeBuf(bad)).toThrow(expect.objectContaining({ code: 'NM_BAD_BUF' }));
    r.freeBuf(2);
    expect(() => r.freeBuf(2)).toThrow(NetmapError);
    const all: number[] = [];
    for (;;) {
      try {
        all.push(r.allocBuf());
      } catch (e) {
        expect((e as NetmapError).code).toBe('NM_NOMEM');
        break;
      }
    }
    expect(all.length).toBe(r.bufCount - 2);
    expect(Math.min(...all)).toBe(2);
  });

  it('extra buffers chain, stop at exhaustion, and free bounded on a cyclic chain', () => {
    const r = new NetmapRegion({ params: small });
    const { head, count } = r.allocExtraBufs(5);
    expect(count).toBe(5);
    expect(r.freeExtraBufs(head)).toBe(5);
    const big = r.allocExtraBufs(5000);
    expect(big.count).toBe(r.bufCount - 2);
    r.freeExtraBufs(big.head);
    const c = r.allocExtraBufs(3);
    // Hostile: make the last buffer point back to the head.
    const dv = new DataView(r.buffer);
    let last = c.head;
    while (dv.getUint32(r.bufOffset(last), true) !== 0) last = dv.getUint32(r.bufOffset(last), true);
    dv.setUint32(r.bufOffset(last), c.head, true);
    expect(r.freeExtraBufs(c.head)).toBe(3);
    expect(r.bufFree).toBe(r.bufCount - 2);
  });

  it('refuses rings larger than the ring object and gives back what it took', () => {
    const r = new NetmapRegion({ params: small });
    // 4 pages hold (16384 − 256) / 16 = 1008 slots.
    expect(() => r.createPort({ name: 'x', txRings: 1, rxRings: 1, txSlots: 1008, rxSlots: 1009 })).toThrow(
      expect.objectContaining({ code: 'NM_OBJ_SIZE' }),
    );
    expect(r.bufFree).toBe(1022);
    expect(() =>
      r.createPort({ name: 'a-very-long-name', txRings: 1, rxRings: 1, txSlots: 8, rxSlots: 8 }),
    ).toThrow(expect.objectContaining({ code: 'NM_ARG' }));
  });

  it('lives inside an injected SharedArrayBuffer at an offset', () => {
    const g = regionGeometry(small);
    const sab = new SharedArrayBuffer(g.size + 4096);
    const r = new NetmapRegion({ params: small, backing: { buffer: sab, byteOffset: 4096 } });
    const p = r.createPort({ name: 'w', txRings: 1, rxRings: 1, txSlots: 8, rxSlots: 8 });
    const rv = new NetmapRingView(sab, 4096 + p.txRingOfs[0]!, r.bufCount);
    expect(rv.tail).toBe(7);
    expect(rv.slotBufOffset(0)).toBe(4096 + r.bufOffset(rv.slotBufIdx(0)));
    expect(() => new NetmapRegion({ params: small, backing: { buffer: sab, byteOffset: 4100 } })).toThrow(
      NetmapError,
    );
    expect(() => new NetmapRegion({ params: small, backing: { buffer: sab, byteOffset: 8192 } })).toThrow(
      NetmapError,
    );
  });
});

describe('NetmapRingView', () => {
  it('index words and slot fields round-trip through the C layout', () => {
    const r = new NetmapRegion({ params: small });
    const p = r.createPort({ name: 'v', txRings: 1, rxRings: 1, txSlots: 16, rxSlots: 16 });
    const rv = new NetmapRingView(r.buffer, p.rxRingOfs[0]!, r.bufCount);
    rv.head = 3;
    rv.cur = 4;
    rv.tail = 5;
    rv.setSlotLen(15, 60);
    rv.setSlotFlags(15, 0x0320);
    rv.setSlotBufIdx(15, 9);
    const h = netmapRing.decode(r.bytes, rv.ringOffset);
    expect([h.head, h.cur, h.tail]).toEqual([3, 4, 5]);
    expect(netmapSlot.decode(r.bytes, rv.ringOffset + 256 + 15 * 16)).toMatchObject({
      buf_idx: 9,
      len: 60,
      flags: 0x0320,
    });
    expect([rv.slotLen(15), rv.slotFlags(15), rv.slotBufIdx(15)]).toEqual([60, 0x0320, 9]);
    // NMB(): an index beyond the pool maps to buffer 0.
    rv.setSlotBufIdx(0, r.bufCount + 5);
    expect(rv.slotBufOffset(0)).toBe(r.bufOffset(0));
  });

  it('refuses hostile headers (slots or buffer pool outside memory)', () => {
    const sab = new SharedArrayBuffer(8192);
    const dv = new DataView(sab);
    dv.setUint32(8, 1000, true);
    dv.setUint32(12, 2048, true);
    dv.setBigInt64(0, 4096n, true);
    expect(() => new NetmapRingView(sab, 0, 2)).toThrow(expect.objectContaining({ code: 'NM_RANGE' }));
    dv.setUint32(8, 10, true);
    expect(new NetmapRingView(sab, 0, 2).numSlots).toBe(10);
    dv.setBigInt64(0, -8n, true);
    expect(() => new NetmapRingView(sab, 0, 2)).toThrow(expect.objectContaining({ code: 'NM_RANGE' }));
    dv.setBigInt64(0, 4096n, true);
    dv.setUint32(8, 0, true);
    expect(() => new NetmapRingView(sab, 0, 2)).toThrow(NetmapError);
    expect(() => new NetmapRingView(sab, 4, 2)).toThrow(NetmapError);
    // netmap_if claiming more ring offsets than the memory holds.
    dv.setUint32(24, 0xffffffff, true);
    expect(() => new NetmapIfView(sab, 0)).toThrow(expect.objectContaining({ code: 'NM_RANGE' }));
  });
});
