// Property tests: what the writers write, the readers read back equal (timestamps truncated to
// the file's resolution exactly as a BigInt reference model says).
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { PcapWriter, PcapngWriter, openCapture } from '../../src/pcap/index.ts';
import { Blocks, epbBody, idbBody, readAll, removeTmp, shbBody, writeBytes, writeWith } from './helpers.ts';

afterAll(removeTmp);

const packetArb = fc.record({
  data: fc.uint8Array({ maxLength: 300 }),
  extra: fc.nat({ max: 2000 }),
  tsSec: fc.nat({ max: 0xffffffff }),
  tsNsec: fc.nat({ max: 999_999_999 }),
  comment: fc.option(fc.string({ maxLength: 40, unit: 'grapheme' }), { nil: null }),
});

/** Reference model: ts truncated to units of `tsresol`, then converted back with BigInt. */
function viaUnits(sec: number, nsec: number, tsresol: number): [number, number] {
  const e = BigInt(tsresol & 0x7f);
  const u = tsresol & 0x80 ? 1n << e : 10n ** e;
  const units = BigInt(sec) * u + (BigInt(nsec) * u) / 1_000_000_000n;
  return [Number(units / u), Number(((units % u) * 1_000_000_000n) / u)];
}

describe('pcap writer → reader', () => {
  it('round-trips packets in both byte orders, µs and ns', () => {
    fc.assert(
      fc.property(
        fc.array(packetArb, { maxLength: 20 }),
        fc.constantFrom('le' as const, 'be' as const),
        fc.boolean(),
        fc.constantFrom(1, 101, 113, 276),
        (pkts, byteOrder, nanosecond, linktype) => {
          const path = writeWith((fd) => {
            const w = new PcapWriter(fd, { byteOrder, nanosecond, linktype });
            for (const p of pkts) w.write(p.data, p.tsSec, p.tsNsec, p.data.length + p.extra);
            w.flush();
          });
          const got = readAll(path);
          expect(got.length).toBe(pkts.length);
          pkts.forEach((p, i) => {
            const g = got[i]!;
            expect(g.data).toEqual(p.data);
            expect([g.tsSec, g.tsNsec]).toEqual([
              p.tsSec,
              nanosecond ? p.tsNsec : p.tsNsec - (p.tsNsec % 1000),
            ]);
            expect([g.caplen, g.origlen, g.linktype, g.interfaceId, g.comment]).toEqual([
              p.data.length,
              p.data.length + p.extra,
              linktype,
              0,
              null,
            ]);
          });
        },
      ),
      { numRuns: 60 },
    );
  });

  it('cuts packets to the snaplen and keeps the original length', () => {
    const path = writeWith((fd) => {
      const w = new PcapWriter(fd, { snaplen: 10 });
      w.write(new Uint8Array(30).fill(7), 1, 2);
      w.flush();
    });
    const [p] = readAll(path);
    expect([p!.caplen, p!.origlen]).toEqual([10, 30]);
    expect(p!.data).toEqual(new Uint8Array(10).fill(7));
  });
});

describe('pcapng writer → reader', () => {
  // 10^-12 only with seconds small enough that the unit count fits in 64 bits.
  const resolutions = [6, 9, 3, 0, 0x80 | 20, 0x80 | 10, 0x80 | 32, 0x80 | 31];

  it('round-trips packets, comments and several interfaces and resolutions', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(packetArb, fc.nat({ max: resolutions.length - 1 })), { maxLength: 20 }),
        fc.constantFrom('le' as const, 'be' as const),
        (pkts, byteOrder) => {
          const path = writeWith((fd) => {
            const w = new PcapngWriter(fd, { byteOrder });
            resolutions.forEach((tsresol, i) => w.addInterface({ tsresol, linktype: i + 1, snaplen: 0 }));
            for (const [p, i] of pkts)
              w.write(i, p.data, p.tsSec, p.tsNsec, p.data.length + p.extra, p.comment);
            w.flush();
          });
          const got = readAll(path);
          expect(got.length).toBe(pkts.length);
          pkts.forEach(([p, i], k) => {
            const g = got[k]!;
            expect(g.data).toEqual(p.data);
            expect([g.tsSec, g.tsNsec]).toEqual(viaUnits(p.tsSec, p.tsNsec, resolutions[i]!));
            expect([g.interfaceId, g.linktype, g.origlen, g.comment]).toEqual([
              i,
              i + 1,
              p.data.length + p.extra,
              p.comment,
            ]);
          });
        },
      ),
      { numRuns: 60 },
    );
  });

  it('reads units finer than 2^-32 / 10^-9 exactly (BigInt path) while they fit in 64 bits', () => {
    const path = writeWith((fd) => {
      const w = new PcapngWriter(fd);
      w.addInterface({ tsresol: 12 });
      w.addInterface({ tsresol: 0x80 | 40 });
      w.write(0, new Uint8Array(1), 18_000_000, 999_999_999);
      w.write(1, new Uint8Array(1), 16_000_000, 123_456_789);
      w.flush();
    });
    expect(readAll(path).map((p) => [p.tsSec, p.tsNsec])).toEqual([
      [18_000_000, 999_999_999],
      viaUnits(16_000_000, 123_456_789, 0x80 | 40),
    ]);
    expect(() =>
      writeWith((fd) => {
        const w = new PcapngWriter(fd);
        w.addInterface({ tsresol: 12 });
        w.write(0, new Uint8Array(1), 19_000_000, 0);
      }),
    ).toThrow(/^UNREPRESENTABLE at offset 60: timestamp 19000000\.0 does not fit in 64 bits/);
  });

  it('gives each packet the Interface ID its section writes, its section and its index across the file', () => {
    const path = writeWith((fd) => {
      const a = new PcapngWriter(fd, { byteOrder: 'be' });
      a.addInterface({ linktype: 1, tsresol: 6 });
      a.addInterface({ linktype: 101 });
      a.write(1, Uint8Array.of(1, 2, 3), 10, 5000);
      a.flush();
      const b = new PcapngWriter(fd, { byteOrder: 'le' });
      b.addInterface({ linktype: 228 });
      b.write(0, Uint8Array.of(4), 11, 7);
      b.flush();
    });
    const got = readAll(path);
    // interfaceId is per section (pcapng spec, tshark's frame.interface_id); interfaceIndex
    // points into r.interfaces, which counts the IDBs of all sections.
    expect(
      got.map((g) => [g.interfaceId, g.section, g.interfaceIndex, g.linktype, g.tsSec, g.tsNsec]),
    ).toEqual([
      [1, 0, 1, 101, 10, 5000],
      [0, 1, 2, 228, 11, 7],
    ]);
    const r = openCapture(path);
    expect([...r].length).toBe(2);
    expect(r.interfaces.map((i) => [i.section, i.linktype, i.tsresol])).toEqual([
      [0, 1, 6],
      [0, 101, 9],
      [1, 228, 9],
    ]);
    r.close();
  });

  it('reads packets larger than the read buffer and many small ones', () => {
    const big = new Uint8Array(200_000).map((_, i) => i & 0xff);
    const path = writeWith((fd) => {
      const w = new PcapngWriter(fd);
      w.addInterface({ snaplen: 0 });
      for (let i = 0; i < 3000; i++) w.write(0, Uint8Array.of(i & 0xff, i >> 8), i, 0);
      w.write(0, big, 5, 6, big.length, 'big');
      w.write(0, Uint8Array.of(9), 7, 8);
      w.flush();
    });
    const got = readAll(path);
    expect(got.length).toBe(3002);
    // one record object, reused for every packet
    const r = openCapture(path);
    expect(r.read()).toBe(r.read());
    r.close();
    expect(got[2999]!.data).toEqual(Uint8Array.of(2999 & 0xff, 2999 >> 8));
    expect(got[3000]!.data).toEqual(big);
    expect(got[3000]!.comment).toBe('big');
    expect(got[3001]!.data).toEqual(Uint8Array.of(9));
  });
});

describe('pcapng blocks the writer does not make', () => {
  it.each([true, false])(
    'reads SPB (caplen = min(orig, snaplen)), obsolete PB, skips NRB/ISB/unknown (le=%s)',
    (le) => {
      const b = new Blocks(le);
      const options = new Blocks(le).u16(1).u16(2).u8(0x68, 0x69, 0, 0).u16(0).u16(0).body();
      const tsres = new Blocks(le).u16(9).u16(1).u8(3, 0, 0, 0).u16(0).u16(0).body();
      b.block(0x0a0d0d0a, shbBody(le));
      b.block(1, idbBody(1, 4, le, tsres));
      b.block(4, [0, 0, 0, 0]); // NRB (just end of records)
      b.block(3, [...new Blocks(le).u32(6).body(), 1, 2, 3, 4]); // SPB orig 6, snaplen 4
      b.block(5, new Blocks(le).u32(0).u32(0).u32(0).body()); // ISB
      b.block(0x12345678, [9, 9, 9, 9]); // unknown
      const pb = new Blocks(le).u16(0).u16(0).u32(0).u32(1234).u32(3).u32(3).body();
      b.block(2, [...pb, 7, 8, 9, 0, ...options]);
      b.block(3, [...new Blocks(le).u32(2).body(), 5, 6, 0, 0]); // SPB orig 2 < snaplen
      const got = readAll(writeBytes(b.bytes()));
      expect(got.map((g) => [g.caplen, g.origlen, g.tsSec, g.tsNsec, g.comment, [...g.data]])).toEqual([
        [4, 6, 0, 0, null, [1, 2, 3, 4]],
        [3, 3, 1, 234_000_000, 'hi', [7, 8, 9]],
        [2, 2, 0, 0, null, [5, 6]],
      ]);
    },
  );

  it('applies if_tsoffset', () => {
    const b = new Blocks();
    const off = new Blocks().u16(14).u16(8).u32(100).u32(0).u16(0).u16(0).body();
    b.block(0x0a0d0d0a, shbBody())
      .block(1, idbBody(1, 0, true, off))
      .block(6, epbBody(0, 1, 1, [1]));
    // units 1_000_000 at the default µs resolution = 1 s, plus 100 s
    expect(readAll(writeBytes(b.bytes())).map((g) => [g.tsSec, g.tsNsec])).toEqual([[101, 0]]);
  });
});
