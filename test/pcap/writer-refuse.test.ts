// The writers refuse what their format cannot hold with a typed PcapError, before writing any
// byte of the record (issue 14 item 4: a RangeError used to escape from the gso command), and the
// file stays readable up to the record before.
import { afterAll, describe, expect, it } from 'vitest';
import { PcapError, PcapWriter, PcapngWriter, type PcapErrorCode } from '../../src/pcap/index.ts';
import { readAll, removeTmp, writeWith } from './helpers.ts';

afterAll(removeTmp);

function refusal(f: () => void): [PcapErrorCode, number] {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(PcapError);
    return [(e as PcapError).code, (e as PcapError).offset];
  }
  throw new Error('expected a PcapError');
}

describe('PcapWriter refuses', () => {
  it.each([
    ['seconds past 2^32-1', 2 ** 32, 0, 1],
    ['a time before the epoch', -1, 0, 1],
    ['a fractional second', 1.5, 0, 1],
    ['nanoseconds of a whole second', 1, 1_000_000_000, 1],
    ['an original length past 2^32-1', 1, 0, 2 ** 32],
  ])('%s: UNREPRESENTABLE at the record, the earlier records intact', (_, sec, nsec, origlen) => {
    let got: [PcapErrorCode, number] | undefined;
    const path = writeWith((fd) => {
      const w = new PcapWriter(fd);
      w.write(Uint8Array.of(1, 2), 7, 8000);
      got = refusal(() => w.write(Uint8Array.of(3), sec, nsec, origlen));
      w.flush();
    });
    expect(got).toEqual(['UNREPRESENTABLE', 24 + 16 + 2]);
    expect(readAll(path).map((p) => [p.tsSec, p.tsNsec, [...p.data]])).toEqual([[7, 8000, [1, 2]]]);
  });

  it('a bad snaplen or linktype at construction, at offset 0', () => {
    writeWith((fd) => {
      expect(refusal(() => new PcapWriter(fd, { snaplen: -1 }))).toEqual(['UNREPRESENTABLE', 0]);
      expect(refusal(() => new PcapWriter(fd, { linktype: 2 ** 32 }))).toEqual(['UNREPRESENTABLE', 0]);
    });
  });

  it('writes the largest pcap second, 2^32-1', () => {
    const path = writeWith((fd) => {
      const w = new PcapWriter(fd, { nanosecond: true });
      w.write(Uint8Array.of(1), 0xffffffff, 999_999_999);
      w.flush();
    });
    expect(readAll(path).map((p) => [p.tsSec, p.tsNsec])).toEqual([[0xffffffff, 999_999_999]]);
  });
});

describe('PcapngWriter refuses', () => {
  it('an interface it did not add, a comment over 65535 bytes, units beyond 64 bits, a bad if_tsresol', () => {
    let got: [PcapErrorCode, number][] = [];
    const path = writeWith((fd) => {
      const w = new PcapngWriter(fd);
      w.addInterface({ tsresol: 9 });
      w.write(0, Uint8Array.of(1), 5, 6);
      // SHB 28, IDB with if_tsresol 32, one EPB of 1 byte 36.
      const at = 28 + 32 + 36;
      got = [
        refusal(() => w.write(1, Uint8Array.of(1), 5, 6)),
        refusal(() => w.write(0, Uint8Array.of(1), 5, 6, 1, 'x'.repeat(65536))),
        // 2^64 ns is about 1.8e10 s.
        refusal(() => w.write(0, Uint8Array.of(1), 2e10, 0)),
        refusal(() => w.write(0, Uint8Array.of(1), 5, -1)),
        refusal(() => w.addInterface({ tsresol: 256 })),
        refusal(() => w.addInterface({ linktype: 65536 })),
      ];
      expect(got.map(([, off]) => off)).toEqual(new Array<number>(6).fill(at));
      w.flush();
    });
    expect(got.map(([code]) => code)).toEqual([
      'UNKNOWN_INTERFACE',
      'UNREPRESENTABLE',
      'UNREPRESENTABLE',
      'UNREPRESENTABLE',
      'UNREPRESENTABLE',
      'UNREPRESENTABLE',
    ]);
    expect(readAll(path).map((p) => [p.tsSec, p.tsNsec])).toEqual([[5, 6]]);
  });

  it('holds seconds far past 2^32 at a coarse resolution (0x81: half seconds)', () => {
    const path = writeWith((fd) => {
      const w = new PcapngWriter(fd);
      w.addInterface({ tsresol: 0x81 });
      w.write(0, Uint8Array.of(1), 2 ** 40 + 1, 500_000_000);
      w.flush();
    });
    expect(readAll(path).map((p) => [p.tsSec, p.tsNsec])).toEqual([[2 ** 40 + 1, 500_000_000]]);
  });
});
