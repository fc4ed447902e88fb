import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { PcapError, formatVnetComment, parseVnetComment } from '../../src/pcap/index.ts';

describe('vnet comment', () => {
  it('parses the convention example', () => {
    expect(
      parseVnetComment('vnet flags=0x01 gso_type=0x81 hdr_len=66 gso_size=1448 csum_start=34 csum_offset=16'),
    ).toEqual({
      flags: 1,
      gsoType: 0x81,
      hdrLen: 66,
      gsoSize: 1448,
      csumStart: 34,
      csumOffset: 16,
    });
  });

  it('takes decimal or hex in any order; a missing key is 0', () => {
    expect(parseVnetComment('vnet  csum_offset=0x10\tflags=1 csum_start=0X22')).toEqual({
      flags: 1,
      gsoType: 0,
      hdrLen: 0,
      gsoSize: 0,
      csumStart: 34,
      csumOffset: 16,
    });
    expect(parseVnetComment('vnet')).toEqual({
      flags: 0,
      gsoType: 0,
      hdrLen: 0,
      gsoSize: 0,
      csumStart: 0,
      csumOffset: 0,
    });
  });

  it('returns null for other comments', () => {
    for (const s of ['', 'hello', 'vnetx flags=1', ' vnet flags=1', 'VNET flags=1'])
      expect(parseVnetComment(s)).toBeNull();
  });

  it.each([
    ['vnet flags=1 color=3', 13],
    ['vnet flags', 5],
    ['vnet flags=', 5],
    ['vnet flags=1=2', 5],
    ['vnet flags=0x', 5],
    ['vnet flags=-1', 5],
    ['vnet flags=1.5', 5],
    ['vnet flags=256', 5],
    ['vnet gso_type=0x100', 5],
    ['vnet hdr_len=65536', 5],
    ['vnet csum_start=1 csum_start=1', 18],
    ['vnet flags=0xzz', 5],
  ])('rejects %j with BAD_VNET_COMMENT at character %i', (s, at) => {
    let err: unknown;
    try {
      parseVnetComment(s);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PcapError);
    expect([(err as PcapError).code, (err as PcapError).offset]).toEqual(['BAD_VNET_COMMENT', at]);
  });

  it('formats flags and gso_type in hex and round-trips any header', () => {
    expect(
      formatVnetComment({
        flags: 1,
        gsoType: 0x81,
        hdrLen: 66,
        gsoSize: 1448,
        csumStart: 34,
        csumOffset: 16,
      }),
    ).toBe('vnet flags=0x01 gso_type=0x81 hdr_len=66 gso_size=1448 csum_start=34 csum_offset=16');
    const u8 = fc.integer({ min: 0, max: 0xff });
    const u16 = fc.integer({ min: 0, max: 0xffff });
    fc.assert(
      fc.property(
        fc.record({ flags: u8, gsoType: u8, hdrLen: u16, gsoSize: u16, csumStart: u16, csumOffset: u16 }),
        (h) => {
          expect(parseVnetComment(formatVnetComment(h))).toEqual(h);
        },
      ),
    );
    expect(() =>
      formatVnetComment({ flags: 256, gsoType: 0, hdrLen: 0, gsoSize: 0, csumStart: 0, csumOffset: 0 }),
    ).toThrow(RangeError);
  });
});
