// Hostile inputs: truncation at every byte, huge lengths, bad magic, inconsistent blocks and
// random corruption all end in a typed PcapError at the right offset, never anything else.
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { PcapError, PcapWriter, PcapngWriter, type PcapErrorCode } from '../../src/pcap/index.ts';
import { Blocks, epbBody, idbBody, readAll, removeTmp, shbBody, writeBytes, writeWith } from './helpers.ts';

afterAll(removeTmp);

/** The PcapError reading `bytes` throws (fails the test if it reads cleanly or throws otherwise). */
function errorOf(bytes: Uint8Array): PcapError {
  try {
    readAll(writeBytes(bytes));
  } catch (e) {
    expect(e).toBeInstanceOf(PcapError);
    return e as PcapError;
  }
  throw new Error('expected a PcapError');
}

function expectError(bytes: Uint8Array, code: PcapErrorCode, offset: number): void {
  const e = errorOf(bytes);
  expect([e.code, e.offset]).toEqual([code, offset]);
}

const pcapFile = readFileSync(
  writeWith((fd) => {
    const w = new PcapWriter(fd, { byteOrder: 'be', nanosecond: true });
    w.write(Uint8Array.of(1, 2, 3, 4, 5), 1, 2);
    w.write(new Uint8Array(0), 3, 4);
    w.write(Uint8Array.of(6, 7), 5, 6);
    w.flush();
  }),
);

const pcapngFile = readFileSync(
  writeWith((fd) => {
    const w = new PcapngWriter(fd);
    w.addInterface({ tsresol: 6 });
    w.addInterface({ tsresol: 9, linktype: 101 });
    w.write(0, Uint8Array.of(1, 2, 3, 4, 5), 1, 2000, 5, 'first');
    w.write(1, Uint8Array.of(6, 7), 3, 4);
    w.flush();
  }),
);

/** Offsets where a record/block starts, given the header length and the file. */
function recordStarts(bytes: Uint8Array, first: number, lengthOf: (at: number) => number): number[] {
  const starts: number[] = [];
  for (let at = first; at < bytes.length; at += lengthOf(at)) starts.push(at);
  return starts;
}

describe('truncation at every byte', () => {
  it('pcap: a clean end at record boundaries, else TRUNCATED at the cut record', () => {
    const dv = new DataView(pcapFile.buffer, pcapFile.byteOffset);
    const starts = recordStarts(pcapFile, 24, (at) => 16 + dv.getUint32(at + 8, false));
    expect(starts).toEqual([24, 45, 61]);
    for (let cut = 0; cut < pcapFile.length; cut++) {
      const bytes = pcapFile.subarray(0, cut);
      if (starts.includes(cut)) {
        expect(readAll(writeBytes(bytes)).length).toBe(starts.indexOf(cut));
        continue;
      }
      const at = cut < 24 ? 0 : Math.max(...starts.filter((s) => s < cut));
      expectError(bytes, 'TRUNCATED', at);
    }
  });

  it('pcapng: a clean end at block boundaries, else TRUNCATED at the cut block', () => {
    const dv = new DataView(pcapngFile.buffer, pcapngFile.byteOffset);
    const starts = recordStarts(pcapngFile, 0, (at) => dv.getUint32(at + 4, true));
    expect(starts.length).toBe(5); // SHB, 2 IDB, 2 EPB
    const packetsBefore = (cut: number) => starts.filter((s) => s < cut).length - 3;
    for (let cut = 0; cut < pcapngFile.length; cut++) {
      const bytes = pcapngFile.subarray(0, cut);
      if (cut > 0 && starts.includes(cut)) {
        expect(readAll(writeBytes(bytes)).length).toBe(Math.max(0, packetsBefore(cut)));
        continue;
      }
      expectError(bytes, 'TRUNCATED', Math.max(0, ...starts.filter((s) => s < cut)));
    }
  });
});

describe('pcap header and record faults', () => {
  const header = (magic: number, major = 2, snaplen = 65535) =>
    new Blocks().u32(magic).u16(major).u16(4).u32(0).u32(0).u32(snaplen).u32(1);
  const record = (b: Blocks, incl: number) => b.u32(0).u32(0).u32(incl).u32(incl);

  it('rejects unknown magics, including the byte-swapped pcapng one', () => {
    expectError(Uint8Array.of(1, 2, 3, 4, 0, 0, 0, 0), 'BAD_MAGIC', 0);
    expectError(header(0xa1b2cd34).bytes(), 'BAD_MAGIC', 0); // "modified" pcap: not supported
    expectError(new Uint8Array(0), 'TRUNCATED', 0);
    expectError(Uint8Array.of(0xd4, 0xc3), 'TRUNCATED', 0);
  });

  it('rejects a major version other than 2', () => {
    expectError(header(0xa1b2c3d4, 3).bytes(), 'BAD_VERSION', 4);
  });

  it('rejects huge captured lengths before reading or allocating', () => {
    expectError(record(header(0xa1b2c3d4), 0x7fffffff).bytes(), 'RECORD_TOO_LARGE', 24);
    expectError(record(header(0xa1b2c3d4), 262145).bytes(), 'RECORD_TOO_LARGE', 24);
    // a snaplen above 256 KiB raises the bound; the record then runs past the end of the file
    expectError(record(header(0xa1b2c3d4, 2, 1 << 20), 300_000).bytes(), 'TRUNCATED', 24);
    // ...but never above 16 MiB, whatever the snaplen says
    expectError(record(header(0xa1b23c4d, 2, 0xffffffff), 0x7fffffff).bytes(), 'RECORD_TOO_LARGE', 24);
  });

  it('accepts a 256 KiB record', () => {
    const b = record(header(0xa1b2c3d4), 262144).bytes();
    const full = new Uint8Array(b.length + 262144);
    full.set(b);
    expect(readAll(writeBytes(full))[0]!.caplen).toBe(262144);
  });
});

describe('pcapng block faults', () => {
  const shb = (le = true) => new Blocks(le).block(0x0a0d0d0a, shbBody(le));
  const withIdb = (opts: number[] = []) => shb().block(1, idbBody(1, 65535, true, opts));

  it('rejects a bad byte-order magic', () => {
    const b = new Blocks().block(0x0a0d0d0a, [...new Blocks().u32(0x11223344).body(), ...shbBody().slice(4)]);
    expectError(b.bytes(), 'BAD_BYTE_ORDER', 8);
  });

  it('rejects an unsupported major version', () => {
    const body = shbBody();
    body[4] = 2;
    expectError(new Blocks().block(0x0a0d0d0a, body).bytes(), 'BAD_VERSION', 12);
  });

  it('rejects block lengths that are short, unaligned, huge or disagree', () => {
    const base = shb().bytes().length;
    expectError(shb().block(1, idbBody(1, 0), 13).bytes(), 'BAD_BLOCK_LENGTH', base + 4);
    expectError(shb().block(1, idbBody(1, 0), 8).bytes(), 'BAD_BLOCK_LENGTH', base + 4);
    expectError(shb().block(1, [], 12).bytes(), 'BAD_BLOCK_LENGTH', base + 4); // IDB needs 20
    expectError(shb().block(1, idbBody(1, 0), 0xfffffff0).bytes(), 'RECORD_TOO_LARGE', base);
    expectError(shb().block(1, idbBody(1, 0), undefined, 24).bytes(), 'BLOCK_LENGTH_MISMATCH', base + 16);
    expectError(new Blocks().block(0x0a0d0d0a, shbBody(), 24).bytes(), 'BAD_BLOCK_LENGTH', 4);
    // a 1 MiB block in a file of a few bytes: truncated, read as far as the data goes
    expectError(
      shb()
        .block(4, [0, 0, 0, 0], 1 << 20)
        .bytes(),
      'TRUNCATED',
      base,
    );
  });

  it('rejects options that overrun their block and impossible option lengths', () => {
    const base = withIdb().bytes().length;
    const idbOpts = shb().bytes().length + 16;
    expectError(withIdb(new Blocks().u16(2).u16(9).u32(0).body()).bytes(), 'OPTION_OVERRUN', idbOpts);
    expectError(withIdb(new Blocks().u16(9).u16(2).u32(0).body()).bytes(), 'BAD_OPTION', idbOpts);
    expectError(withIdb(new Blocks().u16(14).u16(4).u32(0).body()).bytes(), 'BAD_OPTION', idbOpts);
    const epbOpts = base + 28 + 4;
    const bad = new Blocks().u16(1).u16(200).u32(0).body();
    expectError(
      withIdb()
        .block(6, epbBody(0, 2, 2, [1, 2], true, bad))
        .bytes(),
      'OPTION_OVERRUN',
      epbOpts,
    );
    // an empty comment is still a comment
    const frag = new Blocks().u16(1).u16(0).body();
    expect(
      readAll(
        writeBytes(
          withIdb()
            .block(6, epbBody(0, 2, 2, [1, 2], true, frag))
            .bytes(),
        ),
      )[0]!.comment,
    ).toBe('');
  });

  it('rejects captured lengths beyond the block or the bound, and missing interfaces', () => {
    const base = withIdb().bytes().length;
    expectError(
      withIdb()
        .block(6, epbBody(0, 9, 9, [1, 2, 3, 4]))
        .bytes(),
      'CAPLEN_EXCEEDS_BLOCK',
      base + 20,
    );
    expectError(
      withIdb()
        .block(6, epbBody(0, 300_000, 9, [1]))
        .bytes(),
      'RECORD_TOO_LARGE',
      base + 20,
    );
    expectError(
      withIdb()
        .block(6, epbBody(1, 1, 1, [1]))
        .bytes(),
      'UNKNOWN_INTERFACE',
      base + 8,
    );
    expectError(
      shb()
        .block(6, epbBody(0, 1, 1, [1]))
        .bytes(),
      'UNKNOWN_INTERFACE',
      28 + 8,
    );
    expectError(shb().block(3, [0, 0, 0, 1, 0, 0, 0, 0]).bytes(), 'UNKNOWN_INTERFACE', 28);
    const spb = new Blocks().u32(8).body();
    expectError(
      withIdb()
        .block(3, [...spb, 1, 2, 3, 4])
        .bytes(),
      'CAPLEN_EXCEEDS_BLOCK',
      base + 8,
    );
    // interfaces of an earlier section are gone after a new SHB
    const b = withIdb().block(0x0a0d0d0a, shbBody());
    expectError(b.block(6, epbBody(0, 1, 1, [1])).bytes(), 'UNKNOWN_INTERFACE', base + 28 + 8);
  });

  it('rejects timestamps whose seconds do not fit in a double', () => {
    const tsres = new Blocks().u16(9).u16(1).u8(0, 0, 0, 0).body(); // 1-second units
    const epb = new Blocks().u32(0).u32(0xffffffff).u32(0xffffffff).u32(0).u32(0).body();
    const base = withIdb(tsres).bytes().length;
    expectError(withIdb(tsres).block(6, epb).bytes(), 'TIMESTAMP_RANGE', base + 12);
  });
});

describe('random corruption', () => {
  it('either reads or throws a PcapError, for any byte changes of valid files', () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
        (ng, edits) => {
          const bytes = Uint8Array.from(ng ? pcapngFile : pcapFile);
          for (const [i, v] of edits) bytes[i % bytes.length] = v;
          try {
            readAll(writeBytes(bytes));
          } catch (e) {
            expect(e).toBeInstanceOf(PcapError);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
