import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { copyBytes, registerCopyViews, wordViews } from '../../src/mbuf/index.ts';

/** A byte array of `len` bytes at `byteOffset` in a larger buffer, filled with a pattern of `seed`. */
function array(shared: boolean, byteOffset: number, len: number, seed: number): Uint8Array {
  const size = byteOffset + len + 7;
  const buf = shared ? new SharedArrayBuffer(size) : new ArrayBuffer(size);
  const all = new Uint8Array(buf);
  for (let i = 0; i < size; i++) all[i] = (i * 131 + seed * 17 + (i >> 8)) & 0xff;
  return new Uint8Array(buf, byteOffset, len);
}

describe('copyBytes', () => {
  it('word views of a Buffer take its bytes as a plain Uint8Array (one map in the byte loops)', () => {
    for (const b of [Buffer.allocUnsafeSlow(4096), Buffer.alloc(100), new Uint8Array(64)]) {
      const v = wordViews(b);
      expect(Object.getPrototypeOf(v.bytes)).toBe(Uint8Array.prototype);
      expect(v.bytes.buffer).toBe(b.buffer);
      expect(v.base).toBe(b.byteOffset);
      // The same storage: a byte written through one is read through the other.
      b[3] = 0xa5;
      expect(v.bytes[v.base + 3]).toBe(0xa5);
    }
  });

  it('copies exactly the range, whatever the alignment, sharing and registration of either side', () => {
    const side = fc.record({
      shared: fc.boolean(),
      registered: fc.boolean(),
      byteOffset: fc.integer({ min: 0, max: 11 }),
      // Short copies take the word loop; from MEMMOVE_MIN (512) on, ends aligned alike take `set`.
      len: fc.oneof(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 500, max: 2600 })),
    });
    fc.assert(
      fc.property(side, side, fc.nat(), fc.nat(), fc.nat(), (ds, ss, a, b, c) => {
        const dst = array(ds.shared, ds.byteOffset, ds.len, 1);
        const src = array(ss.shared, ss.byteOffset, ss.len, 2);
        if (ds.registered) registerCopyViews(dst);
        if (ss.registered) registerCopyViews(src);
        const len = c % (Math.min(dst.length, src.length) + 1);
        const dstOff = a % (dst.length - len + 1);
        const srcOff = b % (src.length - len + 1);
        // Everything around the destination range, in the whole buffer, must stay as it was.
        const whole = new Uint8Array(dst.buffer);
        const want = Uint8Array.from(whole);
        want.set(src.subarray(srcOff, srcOff + len), dst.byteOffset + dstOff);
        copyBytes(dst, dstOff, src, srcOff, len);
        expect(Array.from(whole)).toEqual(Array.from(want));
      }),
      { numRuns: 2000 },
    );
  });

  it('long copies between shared memory and a registered array, ends aligned alike or not', () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.integer({ min: 0, max: 64 }),
        fc.integer({ min: 0, max: 64 }),
        fc.integer({ min: 512, max: 5000 }),
        (toShared, dOff, sOff, len) => {
          const dst = array(toShared, 0, len + 80, 4);
          const src = array(!toShared, 0, len + 80, 5);
          registerCopyViews(dst);
          registerCopyViews(src);
          const whole = new Uint8Array(dst.buffer);
          const want = Uint8Array.from(whole);
          want.set(src.subarray(sOff, sOff + len), dOff);
          copyBytes(dst, dOff, src, sOff, len);
          expect(Buffer.from(whole).equals(Buffer.from(want))).toBe(true);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('copies inside one buffer as memmove does, overlapping ranges included, whichever views are known', () => {
    // Known views take the registered path (their storage and offsets cached), unknown ones the
    // path that reads them; a copy of ≤ 16 bytes is staged. Each must be a memmove.
    const how = fc.constantFrom('none', 'src', 'dst', 'both', 'dstViews');
    fc.assert(
      fc.property(
        fc.boolean(),
        how,
        fc.nat(200),
        fc.nat(200),
        fc.oneof(fc.nat(16), fc.nat(200)),
        (shared, known, a, b, n) => {
          const all = array(shared, 0, 512, 3);
          const dst = all.subarray(8);
          if (known === 'src' || known === 'both' || known === 'dstViews') registerCopyViews(all);
          if (known === 'dst' || known === 'both') registerCopyViews(dst);
          const want = Uint8Array.from(all);
          want.copyWithin(8 + a, b, b + n);
          copyBytes(dst, a, all, b, n, known === 'dstViews' ? wordViews(dst) : undefined);
          expect(Array.from(all)).toEqual(Array.from(want));
        },
      ),
      { numRuns: 1000 },
    );
  });
});
