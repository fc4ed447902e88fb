// csumPartialCopy and packetCopy: in a shared or a local packet memory the kernels copy (memmove,
// overlapping ranges included) and sum the copy; in any other buffer the JS fallback does the
// same. Every result must equal copyWithin followed by csumPartial on an ordinary array.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ChecksumError,
  createLocalPacketMemory,
  createPacketMemory,
  csumPartial,
  csumPartialCopy,
  packetCopy,
  unregisterPacketMemory,
} from '../../src/checksum/index.ts';
import { kernelFor } from '../../src/checksum/packet-memory.ts';
import { sumNaive } from '../../src/checksum/naive.ts';

const SIZE = 8192;
const shared = createPacketMemory(65536);
const local = createLocalPacketMemory(65536);
const places: [string, Uint8Array][] = [
  ['shared packet memory', new Uint8Array(shared.buffer, 8, SIZE)],
  ['local packet memory', new Uint8Array(local.buffer, 3, SIZE)],
  ['ordinary buffer', new Uint8Array(SIZE)],
];

const op = fc.record({
  seed: fc.integer({ min: 0, max: 255 }),
  src: fc.integer({ min: 0, max: SIZE - 1 }),
  dst: fc.integer({ min: 0, max: SIZE - 1 }),
  len: fc.integer({ min: 0, max: 3000 }),
});

function fill(b: Uint8Array, seed: number): void {
  for (let i = 0; i < b.length; i++) b[i] = (i * 131 + seed * 7 + (i >> 5)) & 0xff;
}

describe('csumPartialCopy / packetCopy', () => {
  it('a local packet memory is an ordinary ArrayBuffer the kernels serve', () => {
    expect(local.buffer).toBeInstanceOf(ArrayBuffer);
    expect(kernelFor(local.buffer)).toBeTypeOf('function');
  });

  for (const [name, buf] of places) {
    it(`property (${name}): the copy is a memmove and the result its sum`, () => {
      fc.assert(
        fc.property(op, ({ seed, src, dst, len }) => {
          len = Math.min(len, SIZE - src, SIZE - dst);
          fill(buf, seed);
          const want = buf.slice();
          want.copyWithin(dst, src, src + len);
          const s = csumPartialCopy(buf, dst, src, len);
          expect(Buffer.compare(buf, want)).toBe(0);
          expect(s).toBe(sumNaive(want, dst, len));
          fill(buf, seed + 1);
          const want2 = buf.slice();
          want2.copyWithin(dst, src, src + len);
          packetCopy(buf, dst, src, len);
          expect(Buffer.compare(buf, want2)).toBe(0);
        }),
        { numRuns: 150 },
      );
    });
  }

  it('refuses ranges outside the buffer and copies nothing then', () => {
    const [, buf] = places[0]!;
    fill(buf, 1);
    const before = buf.slice();
    for (const [d, s, l] of [
      [SIZE - 1, 0, 2],
      [0, SIZE - 1, 2],
      [-1, 0, 1],
      [0, 0.5, 1],
    ] as const) {
      expect(() => csumPartialCopy(buf, d, s, l)).toThrow(ChecksumError);
      expect(() => packetCopy(buf, d, s, l)).toThrow(ChecksumError);
    }
    expect(Buffer.compare(buf, before)).toBe(0);
  });

  it('after unregistering a local memory, the fallback gives the same bytes and sum', () => {
    const pm = createLocalPacketMemory(65536);
    const b = new Uint8Array(pm.buffer, 1, 4000);
    fill(b, 9);
    const viaKernel = csumPartialCopy(b, 7, 1000, 2001);
    const after = b.slice();
    expect(unregisterPacketMemory(pm.memory)).toBe(true);
    fill(b, 9);
    expect(csumPartialCopy(b, 7, 1000, 2001)).toBe(viaKernel);
    expect(Buffer.compare(b, after)).toBe(0);
    expect(csumPartial(b, 7, 2001)).toBe(viaKernel);
  });
});
