import fc from 'fast-check';
import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crc32 } from '../../src/checksum/index.ts';

describe('crc32 (IEEE 802.3 / zlib)', () => {
  it('gives the check value of the standard test vector and of the empty input', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
  });

  it('agrees with zlib for any bytes, and continues across a split', () => {
    const ref = (zlib as { crc32?: (b: Uint8Array, v?: number) => number }).crc32;
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.nat(), (b, at) => {
        const k = b.length === 0 ? 0 : at % b.length;
        expect(crc32(b.subarray(k), crc32(b.subarray(0, k)))).toBe(crc32(b));
        // node:zlib has crc32 from Node 20.15; older runtimes check the vector above only.
        if (ref !== undefined) expect(crc32(b)).toBe(ref(b));
      }),
    );
  });
});
