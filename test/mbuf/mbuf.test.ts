import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createPacketMemory, csumPartial } from '../../src/checksum/index.ts';
import type { Mbuf } from '../../src/mbuf/index.ts';
import { MbufError, Mempool, PacketMeta, META_F_NEEDS_CSUM, mempoolBytes } from '../../src/mbuf/index.ts';

/** Chain invariants: lengths add up, lastSeg is the end, only an empty packet has an empty first segment. */
function checkChain(m: Mbuf): void {
  const p = m.pool;
  let total = 0;
  let count = 0;
  let last = -1;
  for (let s = m.firstSeg; s >= 0; s = p.segNext[s]!) {
    const l = p.segLen[s]!;
    // Each segment's bytes stay inside that segment.
    expect(p.segStart[s]!).toBeGreaterThanOrEqual(s * p.segmentSize);
    expect(p.segStart[s]! + l).toBeLessThanOrEqual((s + 1) * p.segmentSize);
    if (count > 0 || m.length > 0) expect(l).toBeGreaterThan(0);
    total += l;
    count++;
    last = s;
  }
  expect(total).toBe(m.length);
  expect(count).toBe(m.segCount);
  expect(last).toBe(m.lastSeg);
}

function bytesOf(m: Mbuf): number[] {
  const out = new Uint8Array(m.length);
  m.copyTo(out, 0);
  return [...out];
}

type Op =
  | { k: 'prepend'; n: number; seed: number }
  | { k: 'append'; n: number; seed: number }
  | { k: 'adj'; n: number }
  | { k: 'trim'; n: number }
  | { k: 'pullup'; n: number }
  | { k: 'write'; off: number; n: number; seed: number }
  | { k: 'copyFrom'; n: number; seed: number }
  | { k: 'setU16'; off: number; v: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ k: fc.constant('prepend' as const), n: fc.integer({ min: 0, max: 80 }), seed: fc.nat(255) }),
  fc.record({ k: fc.constant('append' as const), n: fc.integer({ min: 0, max: 300 }), seed: fc.nat(255) }),
  fc.record({ k: fc.constant('adj' as const), n: fc.integer({ min: 0, max: 200 }) }),
  fc.record({ k: fc.constant('trim' as const), n: fc.integer({ min: 0, max: 200 }) }),
  fc.record({ k: fc.constant('pullup' as const), n: fc.integer({ min: 0, max: 80 }) }),
  fc.record({
    k: fc.constant('write' as const),
    off: fc.nat(400),
    n: fc.integer({ min: 0, max: 100 }),
    seed: fc.nat(255),
  }),
  fc.record({ k: fc.constant('copyFrom' as const), n: fc.integer({ min: 0, max: 200 }), seed: fc.nat(255) }),
  fc.record({ k: fc.constant('setU16' as const), off: fc.nat(300), v: fc.nat(0xffff) }),
);

function pattern(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (seed + i * 7) & 0xff;
  return b;
}

describe('Mbuf chain operations against a byte-array model', () => {
  it('random sequences of prepend/append/adj/trim/pullup/write keep the same bytes', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 40 }), fc.boolean(), (ops, shared) => {
        // Small segments and a small pool, so chains grow long and the pool runs dry.
        const buffer = shared ? new SharedArrayBuffer(64 * 24 + 100) : undefined;
        const pool = shared
          ? new Mempool({ buffer, byteOffset: 100, segmentSize: 64, headroom: 16, mbufs: 2 })
          : new Mempool({ segments: 24, segmentSize: 64, headroom: 16, mbufs: 2 });
        const m = pool.alloc()!;
        let model: number[] = [];
        for (const op of ops) {
          switch (op.k) {
            case 'prepend': {
              const ok = m.prepend(op.n);
              if (op.n > pool.segmentSize) expect(ok).toBe(false);
              if (ok) {
                const b = pattern(op.n, op.seed);
                m.write(0, b, 0, op.n);
                model = [...b, ...model];
              }
              break;
            }
            case 'append': {
              const b = pattern(op.n, op.seed);
              const free = pool.segmentsFree;
              const ok = m.append(b);
              if (ok) model = [...model, ...b];
              else expect(pool.segmentsFree).toBe(free); // all or nothing
              break;
            }
            case 'adj':
              m.adj(op.n);
              model = model.slice(Math.min(op.n, model.length));
              break;
            case 'trim':
              m.trim(op.n);
              model = model.slice(0, Math.max(0, model.length - op.n));
              break;
            case 'pullup': {
              const ok = m.pullup(op.n);
              expect(ok).toBe(op.n <= model.length && (op.n <= pool.segmentSize || op.n <= m.headLength));
              if (ok) {
                expect(m.headLength).toBeGreaterThanOrEqual(op.n);
                const head = [...pool.data.subarray(m.dataOffset, m.dataOffset + op.n)];
                expect(head).toEqual(model.slice(0, op.n));
              }
              break;
            }
            case 'write': {
              const b = pattern(op.n, op.seed);
              if (op.off + op.n <= model.length) {
                m.write(op.off, b, 0, op.n);
                for (let i = 0; i < op.n; i++) model[op.off + i] = b[i]!;
              } else {
                expect(() => m.write(op.off, b, 0, op.n)).toThrow(RangeError);
              }
              break;
            }
            case 'copyFrom': {
              const b = pattern(op.n, op.seed);
              if (m.copyFrom(b, 0, op.n)) model = [...b];
              else model = [];
              break;
            }
            case 'setU16':
              if (op.off + 2 <= model.length) {
                m.setU16(op.off, op.v);
                model[op.off] = op.v >>> 8;
                model[op.off + 1] = op.v & 0xff;
                expect(m.getU16(op.off)).toBe(op.v);
              } else {
                expect(() => m.setU16(op.off, op.v)).toThrow(RangeError);
              }
              break;
          }
          checkChain(m);
          expect(bytesOf(m)).toEqual(model);
          // Every segment is either free or in this packet.
          expect(pool.segmentsFree + m.segCount).toBe(pool.segmentCount);
        }
        // copyTo of any sub-range matches the model too.
        if (model.length > 0) {
          const off = model.length >> 1;
          const out = new Uint8Array(model.length - off + 3);
          m.copyTo(out, 3, off);
          expect([...out.subarray(3)]).toEqual(model.slice(off));
        }
        m.free();
        expect(pool.segmentsFree).toBe(pool.segmentCount);
        expect(pool.inUse).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  it('viewFrom: a kept view from a buffer start, a later start once it repeats, null for a start seen once', () => {
    const pool = new Mempool({
      segments: 4,
      segmentSize: 256,
      headroom: 16,
      buffer: new SharedArrayBuffer(1024 + 64),
      byteOffset: 64,
    });
    const base = pool.viewFrom(256)!;
    expect(base.byteOffset).toBe(64 + 256);
    expect(base.length).toBe(1024 - 256);
    expect(pool.viewFrom(256)).toBe(base);
    // A later start: null the first time (a chunk-edge copy starts anywhere), kept from the second.
    expect(pool.viewFrom(256 + 78)).toBeNull();
    const tail = pool.viewFrom(256 + 78)!;
    expect(tail.byteOffset).toBe(64 + 256 + 78);
    expect(pool.viewFrom(256 + 78)).toBe(tail);
    // Another buffer asking for the start last kept gets its view at once; any other start waits.
    expect(pool.viewFrom(512 + 78)!.byteOffset).toBe(64 + 512 + 78);
    expect(pool.viewFrom(768 + 5)).toBeNull();
    expect(pool.viewFrom(768 + 6)).toBeNull();
    // The view runs to the pool's end: node's fill copies from its start as much as it is asked.
    pool.data.fill(9, 256 + 78, 700);
    const dst = Buffer.alloc(300);
    dst.fill(pool.viewFrom(256 + 78)!, 0, 300);
    expect(dst.every((b) => b === 9)).toBe(true);
  });

  it('appendSegment links a buffer from its first byte, refuses bad sizes and an empty packet, counts a dry pool', () => {
    const pool = new Mempool({ segments: 3, segmentSize: 256, headroom: 16 });
    const m = pool.alloc()!;
    expect(() => m.appendSegment(10)).toThrow(RangeError);
    expect(m.extend(40)).toBe(true);
    for (const bad of [0, -1, 257, 1.5]) expect(() => m.appendSegment(bad)).toThrow(RangeError);
    const at = m.appendSegment(100);
    expect(at % 256).toBe(0);
    expect(m.length).toBe(140);
    expect(m.segCount).toBe(2);
    expect(pool.segStart[m.lastSeg]).toBe(at);
    pool.data.fill(7, at, at + 100);
    const out = new Uint8Array(100);
    m.copyTo(out, 0, 40, 100);
    expect(out.every((b) => b === 7)).toBe(true);
    expect(m.appendSegment(256)).toBeGreaterThanOrEqual(0);
    expect(m.appendSegment(1)).toBe(-1);
    expect(pool.segFailures).toBe(1);
    expect(m.length).toBe(396);
    m.free();
    expect(pool.segmentsFree).toBe(3);
  });

  it('getU32/setU32 straddle segment boundaries', () => {
    const pool = new Mempool({ segments: 8, segmentSize: 64, headroom: 0 });
    const m = pool.alloc()!;
    expect(m.append(new Uint8Array(130))).toBe(true);
    expect(m.segCount).toBe(3);
    m.setU32(62, 0xdeadbeef);
    expect(m.getU32(62)).toBe(0xdeadbeef);
    expect(m.getU8(63)).toBe(0xad);
    expect(m.getU8(64)).toBe(0xbe);
    expect(() => m.getU32(127)).toThrow(RangeError);
    expect(() => m.getU8(-1)).toThrow(RangeError);
  });

  it('prepend uses the headroom first, then a new head segment with the bytes at its end', () => {
    const pool = new Mempool({ segments: 4, segmentSize: 256, headroom: 32 });
    const m = pool.alloc()!;
    m.append(new Uint8Array([1, 2, 3]));
    expect(m.leadingSpace).toBe(32);
    expect(m.prepend(32)).toBe(true);
    expect(m.segCount).toBe(1);
    expect(m.leadingSpace).toBe(0);
    expect(m.prepend(14)).toBe(true);
    expect(m.segCount).toBe(2);
    expect(m.headLength).toBe(14);
    expect(m.leadingSpace).toBe(256 - 14);
    expect(m.length).toBe(49);
  });

  it('copies between views of the same storage (netmap region and pool in one memory)', () => {
    const buffer = new SharedArrayBuffer(4096 + 1024);
    const region = new Uint8Array(buffer, 4096, 1024); // outside the pool's bytes
    for (let i = 0; i < region.length; i++) region[i] = i & 0xff;
    const pool = new Mempool({ buffer, byteOffset: 0, byteLength: 4096, segmentSize: 512 });
    expect(pool.segmentCount).toBe(8);
    const m = pool.alloc()!;
    expect(m.append(region, 10, 900)).toBe(true);
    const out = new Uint8Array(buffer, 4096 + 100, 900);
    const expected = region.slice(10, 910);
    m.copyTo(out, 0);
    expect([...out]).toEqual([...expected]);
  });

  it('copies through a view spanning the whole memory, both ways (the copyWithin paths)', () => {
    // A view over all of the storage contains the pool's own view: append copies with copyWithin on
    // that view, copyTo with copyWithin on it too (the destination lies inside it).
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1024 }),
        fc.integer({ min: 1, max: 1500 }),
        fc.integer({ min: 0, max: 1500 }),
        fc.integer({ min: 0, max: 127 }),
        (srcOff, len, dstOff, poolAt) => {
          const buffer = new SharedArrayBuffer(8192 + 8192);
          const all = new Uint8Array(buffer);
          const base = 8192; // bytes outside the pool, where the "region" data lives
          for (let i = 0; i < 4096; i++) all[base + i] = (i * 7 + 3) & 0xff;
          const expected = all.slice(base + srcOff, base + srcOff + len);
          const pool = new Mempool({ buffer, byteOffset: poolAt * 8, byteLength: 4096, segmentSize: 512 });
          const m = pool.alloc()!;
          expect(m.append(all, base + srcOff, len)).toBe(true);
          all.fill(0, base + 4096);
          expect(m.copyTo(all, base + 4096 + dstOff)).toBe(len);
          expect([...all.subarray(base + 4096 + dstOff, base + 4096 + dstOff + len)]).toEqual([...expected]);
          expect(bytesOf(m)).toEqual([...expected]);
          m.free();
        },
      ),
      { numRuns: 60 },
    );
  });

  it('holds a 64 KiB super-frame plus header with 2 KiB segments', () => {
    const pool = new Mempool({ segments: 40 });
    const m = pool.alloc()!;
    const frame = pattern(65601, 3);
    expect(m.append(frame)).toBe(true);
    expect(m.length).toBe(65601);
    expect(bytesOf(m)).toEqual([...frame]);
    expect(m.pullup(2048)).toBe(true);
    expect(m.pullup(2049)).toBe(false);
  });
});

describe('Mempool', () => {
  it('exhaustion returns null and counts, never throws', () => {
    const pool = new Mempool({ segments: 3, segmentSize: 128, headroom: 0 });
    const a = pool.alloc()!;
    const b = pool.alloc()!;
    const c = pool.alloc()!;
    expect(pool.alloc()).toBeNull();
    expect(pool.failures).toBe(1);
    expect(a.append(new Uint8Array(200))).toBe(false);
    expect(pool.segFailures).toBe(1);
    expect(a.prepend(10)).toBe(true); // empty packet: restarts its own segment
    expect(b.append(new Uint8Array(128))).toBe(true);
    expect(b.prepend(1)).toBe(false);
    expect(pool.segFailures).toBe(2);
    pool.free(c);
    expect(b.prepend(1)).toBe(true);
    expect(pool.alloc()).toBeNull();
    expect(pool.failures).toBe(2);
    expect(pool.allocs).toBe(3);
    expect(pool.highWater).toBe(3);
  });

  it('mbuf objects run out before segments when configured so', () => {
    const pool = new Mempool({ segments: 10, mbufs: 2, segmentSize: 64 });
    expect(pool.alloc()).not.toBeNull();
    expect(pool.alloc()).not.toBeNull();
    expect(pool.alloc()).toBeNull();
    expect(pool.segmentsFree).toBe(8);
  });

  it('bulk alloc is all or nothing; counters add up over random alloc/free', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 6 })), { maxLength: 60 }),
        (steps) => {
          const pool = new Mempool({ segments: 16, segmentSize: 64, headroom: 8 });
          const live: Mbuf[] = [];
          const out: Mbuf[] = [];
          let failures = 0;
          for (const [isAlloc, n] of steps) {
            if (isAlloc) {
              const want = n;
              const got = pool.allocBulk(want, out);
              if (want > 0 && pool.mbufsFree + got < want) {
                expect(got).toBe(0);
                failures++;
              } else expect(got).toBe(want);
              for (let i = 0; i < got; i++) {
                expect(out[i]!.length).toBe(0);
                expect(out[i]!.meta.flags).toBe(0);
                out[i]!.meta.flags = META_F_NEEDS_CSUM; // dirty, must be cleared on next alloc
                live.push(out[i]!);
              }
            } else {
              const k = Math.min(n, live.length);
              const victims = live.splice(0, k);
              pool.freeBulk(victims, k);
            }
            expect(pool.inUse).toBe(live.length);
            expect(pool.allocs - pool.frees).toBe(pool.inUse);
            expect(pool.failures).toBe(failures);
            expect(pool.mbufsFree + pool.inUse).toBe(pool.mbufCount);
            expect(pool.highWater).toBeGreaterThanOrEqual(pool.inUse);
            expect(new Set(live).size).toBe(live.length);
          }
        },
      ),
    );
  });

  it('detects double free and foreign mbufs with typed errors', () => {
    const p1 = new Mempool({ segments: 2, segmentSize: 64 });
    const p2 = new Mempool({ segments: 2, segmentSize: 64 });
    const m = p1.alloc()!;
    expect(() => p2.free(m)).toThrow(expect.objectContaining({ code: 'FOREIGN_MBUF' }));
    m.free();
    let err: unknown;
    try {
      m.free();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MbufError);
    expect((err as MbufError).code).toBe('DOUBLE_FREE');
    expect(p1.doubleFrees).toBe(1);
    expect(p1.frees).toBe(1);
    expect(p1.segmentsFree).toBe(2);
  });

  it('rejects bad configurations with BAD_CONFIG / BUFFER_TOO_SMALL', () => {
    const code = (f: () => unknown): string | undefined => {
      try {
        f();
      } catch (e) {
        return (e as MbufError).code;
      }
      return undefined;
    };
    expect(code(() => new Mempool({}))).toBe('BAD_CONFIG');
    expect(code(() => new Mempool({ segments: 4, segmentSize: 10 }))).toBe('BAD_CONFIG');
    expect(code(() => new Mempool({ segments: 4, headroom: 2048 }))).toBe('BAD_CONFIG');
    expect(code(() => new Mempool({ segments: 0 }))).toBe('BAD_CONFIG');
    expect(code(() => new Mempool({ buffer: new ArrayBuffer(100) }))).toBe('BAD_CONFIG');
    expect(code(() => new Mempool({ buffer: new ArrayBuffer(4096), segments: 3 }))).toBe('BUFFER_TOO_SMALL');
    expect(
      code(() => new Mempool({ buffer: new ArrayBuffer(4096), byteOffset: 4000, byteLength: 200 })),
    ).toBe('BAD_CONFIG');
    expect(mempoolBytes(3)).toBe(6144);
  });

  it('works over a WebAssembly.Memory buffer', () => {
    // lib ES2023 has no WebAssembly types; the runtime has the constructor.
    const Wasm = (
      globalThis as unknown as { WebAssembly: { Memory: new (d: object) => { buffer: SharedArrayBuffer } } }
    ).WebAssembly;
    const mem = new Wasm.Memory({ initial: 1, maximum: 1, shared: true });
    const pool = new Mempool({ buffer: mem.buffer, byteOffset: 1024, segmentSize: 2048 });
    expect(pool.segmentCount).toBe(31);
    const m = pool.alloc()!;
    m.append(new Uint8Array([9, 8, 7]));
    expect(new Uint8Array(mem.buffer)[1024 + 128]).toBe(9);
  });
});

describe('PacketMeta', () => {
  it('clear() resets every field', () => {
    const a = new PacketMeta();
    a.flags = 3;
    a.csumStart = 34;
    a.csumOffset = 16;
    a.gsoType = 0x81;
    a.gsoSize = 1448;
    a.hdrLen = 66;
    a.flowHash = 7;
    a.rxQueue = 2;
    const b = new PacketMeta();
    b.copyFrom(a);
    expect(b).toEqual(a);
    b.clear();
    expect(b).toEqual(new PacketMeta());
    expect(b.rxQueue).toBe(-1);
  });
});

describe('Mempool in a checksum packet memory', () => {
  it('lets the checksum kernels sum mbuf bytes in place', () => {
    const mem = createPacketMemory(mempoolBytes(16));
    const pool = new Mempool({ buffer: mem.buffer, segments: 16 });
    const m = pool.alloc()!;
    const bytes = new Uint8Array(1501);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31 + 7) & 0xff;
    m.append(bytes);
    expect(m.segCount).toBe(1);
    expect(csumPartial(pool.data, m.dataOffset, m.length)).toBe(csumPartial(bytes, 0, bytes.length));
  });
});

describe('Mbuf argument checks', () => {
  it('refuses non-integer, negative and out-of-range sizes and offsets with RangeError', () => {
    const pool = new Mempool({ segments: 4, segmentSize: 128 });
    const m = pool.alloc()!;
    m.append(new Uint8Array(10));
    for (const bad of [NaN, -1, 1.5, Infinity]) {
      expect(() => m.prepend(bad)).toThrow(RangeError);
      expect(() => m.extend(bad)).toThrow(RangeError);
      expect(() => m.adj(bad)).toThrow(RangeError);
      expect(() => m.trim(bad)).toThrow(RangeError);
      expect(() => m.pullup(bad)).toThrow(RangeError);
      expect(() => m.getU8(bad)).toThrow(RangeError);
      expect(() => m.copyTo(new Uint8Array(20), 0, bad, 1)).toThrow(RangeError);
      expect(() => m.write(bad, new Uint8Array(4), 0, 1)).toThrow(RangeError);
      expect(() => m.append(new Uint8Array(4), bad, 1)).toThrow(RangeError);
      expect(() => pool.allocBulk(bad, [])).toThrow(RangeError);
    }
    expect(() => m.copyTo(new Uint8Array(5))).toThrow(RangeError);
    expect(m.length).toBe(10);
    expect(pool.segmentsFree + m.segCount).toBe(4);
  });
});
