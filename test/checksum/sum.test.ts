// Every sum variant equals the RFC 1071 reference loop, on any offset/length/seed and the corner
// cases where one's-complement zero has two faces (0x0000 for all-zero data, 0xFFFF otherwise).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ChecksumError,
  createPacketMemory,
  csumAdd,
  csumFold,
  csumPartial,
} from '../../src/checksum/index.ts';
import { sumBytes } from '../../src/checksum/js-bytes.ts';
import { sumJs } from '../../src/checksum/partial.ts';
import { sumWide } from '../../src/checksum/js-wide.ts';
import { sumNaive } from '../../src/checksum/naive.ts';
import { kernelFor } from '../../src/checksum/packet-memory.ts';

const pm = createPacketMemory(2 * 1024 * 1024);
const shared = new Uint8Array(pm.buffer);
const kernel = kernelFor(pm.buffer)!;

type Variant = (buf: Uint8Array, off: number, len: number) => number;
const variants: Record<string, Variant> = {
  bytes: sumBytes,
  wide: sumWide,
  js: sumJs,
  wasm: (buf, off, len) => kernel(buf.byteOffset + off, len),
  csumPartial: (buf, off, len) => csumPartial(buf, off, len),
};

/** Copies `data` into the packet memory at `at` and returns a view of it (what packets are). */
function place(data: Uint8Array, at: number): Uint8Array {
  shared.set(data, at);
  return shared.subarray(at, at + data.length);
}

describe('sum variants equal the naive reference', () => {
  it('on random data, offsets, lengths (shared memory and plain buffers)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 3000 }),
        fc.nat(64),
        fc.nat(64),
        fc.nat(64),
        (data, base, offRaw, trim) => {
          const off = Math.min(offRaw, data.length);
          const len = Math.max(0, data.length - off - trim);
          const ref = sumNaive(data, off, len);
          const inShared = place(data, base);
          const plain = new Uint8Array(new ArrayBuffer(data.length + base)).subarray(base);
          plain.set(data);
          for (const [name, f] of Object.entries(variants)) {
            expect([name, f(inShared, off, len)]).toEqual([name, ref]);
            if (name !== 'wasm') expect([name, f(plain, off, len)]).toEqual([name, ref]);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('on all-0x00 and all-0xFF ranges of every small length and alignment', () => {
    for (const fill of [0x00, 0xff]) {
      shared.fill(fill, 0, 4096);
      for (let off = 0; off < 20; off++) {
        for (let len = 0; len < 300; len++) {
          const ref = sumNaive(shared, off, len);
          // Zero data is +0 (0x0000); any nonzero data never folds to 0x0000.
          expect(ref).toBe(fill === 0 || len === 0 ? 0 : ref === 0 ? -1 : ref);
          for (const [name, f] of Object.entries(variants))
            expect([name, off, len, f(shared, off, len)]).toEqual([name, off, len, ref]);
        }
      }
    }
  });

  it('on data summing to -0 (0xFFFF) and +0 (0x0000)', () => {
    // 0x1234 + 0xEDCB = 0xFFFF: nonzero data whose sum is zero in one's complement.
    const cases = [
      [0x12, 0x34, 0xed, 0xcb],
      [0xff, 0xff, 0xff, 0xff],
      [0x00, 0x00, 0x00, 0x00],
      [0x00, 0x01, 0xff, 0xfe],
    ];
    for (const c of cases) {
      const buf = place(Uint8Array.from(c), 7);
      const ref = sumNaive(buf, 0, 4);
      for (const f of Object.values(variants)) expect(f(buf, 0, 4)).toBe(ref);
    }
    expect(sumNaive(Uint8Array.from(cases[0]!), 0, 4)).toBe(0xffff);
    expect(sumNaive(Uint8Array.from(cases[2]!), 0, 4)).toBe(0);
  });

  it('across the kernel and float64 chunk boundaries (long all-0xFF and random runs)', () => {
    shared.fill(0xff, 0, shared.length);
    for (const [off, len] of [
      [0, 256 * 1024],
      [1, 256 * 1024 + 63],
      [3, 600 * 1024 + 5],
      [0, shared.length],
    ] as const) {
      const ref = sumNaive(shared, off, len);
      expect(ref).toBe((len & 1) === 0 ? 0xffff : 0xff00);
      for (const [name, f] of Object.entries(variants))
        if (name !== 'bytes') expect([name, f(shared, off, len)]).toEqual([name, ref]);
    }
    for (let i = 0; i < shared.length; i++) shared[i] = (i * 2654435761) >>> 24;
    for (const [off, len] of [
      [5, 1_000_001],
      [0, shared.length],
      [2, 4 * 1024 * 1024 - 2],
    ] as const) {
      const l = Math.min(len, shared.length - off);
      const ref = sumNaive(shared, off, l);
      for (const [name, f] of Object.entries(variants))
        if (name !== 'bytes') expect([name, f(shared, off, l)]).toEqual([name, ref]);
    }
  });

  it('beyond one float64 run (4 MiB) in JS, and over many kernel chunks in Wasm', () => {
    const n = 4 * 1024 * 1024 + 4099;
    const plain = new Uint8Array(n);
    for (let i = 0; i < n; i++) plain[i] = (i * 2246822519) >>> 24;
    const big = createPacketMemory(n + 16);
    const inMemory = new Uint8Array(big.buffer, 5, n);
    inMemory.set(plain);
    for (const [off, len] of [
      [3, n - 3],
      [0, n],
    ] as const) {
      const ref = sumNaive(plain, off, len);
      expect(sumJs(plain, off, len)).toBe(ref);
      expect(csumPartial(plain, off, len)).toBe(ref);
      expect(csumPartial(inMemory, off, len)).toBe(ref);
    }
    plain.fill(0xff);
    expect(sumJs(plain, 1, n - 1)).toBe(sumNaive(plain, 1, n - 1));
  });

  it('seed: csumPartial(..., seed) = csumAdd(sum, fold(seed))', () => {
    fc.assert(
      // Seeds stay below 2^53 - 2^24 so the reference's float64 addition is exact.
      fc.property(
        fc.uint8Array({ maxLength: 200 }),
        fc.integer({ min: 0, max: 2 ** 53 - 2 ** 24 }),
        (data, seed) => {
          const ref = csumFold(sumNaive(data, 0, data.length) + seed);
          expect(csumPartial(data, 0, data.length, seed)).toBe(ref);
          expect(csumPartial(place(data, 1), 0, data.length, seed)).toBe(ref);
          expect(ref).toBe(
            seed === 0 && ref === 0 ? 0 : csumAdd(sumNaive(data, 0, data.length), csumFold(seed)),
          );
        },
      ),
    );
  });

  it('splits compose: sum(a ++ b) = sum(a) + sum(b) when a has even length (and swapped if odd)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 600 }), fc.nat(600), (data, cut) => {
        const k = Math.min(cut, data.length);
        const whole = csumPartial(data, 0, data.length);
        const tail = csumPartial(data, k, data.length - k);
        const joined = (k & 1) === 0 ? tail : ((tail & 0xff) << 8) | (tail >>> 8);
        expect(csumFold(csumPartial(data, 0, k) + joined)).toBe(whole);
      }),
    );
  });
});

describe('csumPartial view cache', () => {
  it('gives each of more views than cache slots its own buffer and offset', () => {
    const other = createPacketMemory(65536);
    const views = [
      shared.subarray(0, 4096),
      shared.subarray(1, 4097),
      new Uint8Array(other.buffer, 3, 4000),
      new Uint8Array(new ArrayBuffer(5000), 7, 4000),
      new Uint8Array(new SharedArrayBuffer(5000), 2, 4000),
      new Uint8Array(other.buffer, 0, 4096),
    ];
    for (const v of views) for (let i = 0; i < v.length; i++) v[i] = (i * 13 + v.byteOffset) & 0xff;
    for (let round = 0; round < 5; round++) {
      for (const [k, v] of views.entries()) {
        for (const len of [64, 200, 1500, 3999]) {
          expect([k, len, csumPartial(v, 1, len)]).toEqual([k, len, sumNaive(v, 1, len)]);
        }
      }
    }
  });
});

describe('csumPartial range checks', () => {
  it('rejects ranges outside the buffer with CSUM_RANGE and reads nothing', () => {
    const buf = new Uint8Array(100);
    for (const [off, len] of [
      [-1, 10],
      [0, 101],
      [99, 2],
      [101, 0],
      [1.5, 2],
      [0, Number.NaN],
      [2 ** 32, 0],
    ] as const) {
      expect(() => csumPartial(buf, off, len)).toThrow(ChecksumError);
      try {
        csumPartial(buf, off, len);
      } catch (e) {
        expect((e as ChecksumError).code).toBe('CSUM_RANGE');
      }
    }
    expect(csumPartial(buf, 100, 0)).toBe(0);
  });
});

describe('csumPartial on a resizable buffer', () => {
  it('sees bytes added by a resize through a length-tracking view', () => {
    const Rab = ArrayBuffer as unknown as new (
      n: number,
      o: { maxByteLength: number },
    ) => ArrayBuffer & {
      resize(n: number): void;
    };
    const rab = new Rab(1024, { maxByteLength: 16384 });
    const view = new Uint8Array(rab);
    view.fill(0x5a);
    expect(csumPartial(view, 1, 1000)).toBe(sumNaive(view, 1, 1000));
    rab.resize(16384);
    for (let i = 0; i < view.length; i++) view[i] = (i * 7) & 0xff;
    expect(csumPartial(view, 1, 16000)).toBe(sumNaive(view, 1, 16000));
    rab.resize(512);
    expect(() => csumPartial(view, 0, 1000)).toThrow(ChecksumError);
    expect(csumPartial(view, 3, 500)).toBe(sumNaive(view, 3, 500));
  });
});
