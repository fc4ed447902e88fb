import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { formatTimestamp, timestampToUnits, unitsToTimestamp } from '../../src/pcap/index.ts';

const resolArb = fc.oneof(fc.integer({ min: 0, max: 19 }), fc.integer({ min: 0x80, max: 0x80 + 63 }));

function units(tsresol: number): bigint {
  return tsresol & 0x80 ? 1n << BigInt(tsresol & 0x7f) : 10n ** BigInt(tsresol);
}

describe('pcapng timestamp units', () => {
  it('split into seconds and truncated nanoseconds like a BigInt reference', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), resolArb, (ts, tsresol) => {
        const u = units(tsresol);
        const sec = ts / u;
        const out = { tsSec: -1, tsNsec: -1 };
        if (sec > BigInt(Number.MAX_SAFE_INTEGER)) {
          expect(() =>
            unitsToTimestamp(Number(ts >> 32n), Number(ts & 0xffffffffn), tsresol, 0, out, 7),
          ).toThrow(/TIMESTAMP_RANGE at offset 7/);
          return;
        }
        unitsToTimestamp(Number(ts >> 32n), Number(ts & 0xffffffffn), tsresol, 0, out, 0);
        expect([out.tsSec, out.tsNsec]).toEqual([Number(sec), Number(((ts % u) * 1_000_000_000n) / u)]);
      }),
      { numRuns: 2000 },
    );
  });

  it('are made from seconds and nanoseconds like a BigInt reference', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 0xffffffff }),
        fc.nat({ max: 999_999_999 }),
        resolArb,
        (sec, nsec, tsresol) => {
          const u = units(tsresol);
          const want = BigInt(sec) * u + (BigInt(nsec) * u) / 1_000_000_000n;
          const out = { hi: -1, lo: -1 };
          if (want >= 1n << 64n) {
            expect(() => timestampToUnits(sec, nsec, tsresol, out)).toThrow(/^UNREPRESENTABLE at offset 0: /);
            return;
          }
          timestampToUnits(sec, nsec, tsresol, out);
          expect((BigInt(out.hi) << 32n) | BigInt(out.lo)).toBe(want);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('add if_tsoffset seconds', () => {
    const out = { tsSec: 0, tsNsec: 0 };
    unitsToTimestamp(0, 1_500_000, 6, -10, out, 0);
    expect(out).toEqual({ tsSec: -9, tsNsec: 500_000_000 });
    expect(formatTimestamp(out.tsSec, out.tsNsec)).toBe('-8.500000000');
  });

  it('format with nine fractional digits', () => {
    expect(formatTimestamp(1700000000, 5)).toBe('1700000000.000000005');
    expect(formatTimestamp(0, 0)).toBe('0.000000000');
    expect(formatTimestamp(-1, 0)).toBe('-1.000000000');
  });
});
