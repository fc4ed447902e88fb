import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Ipv6View, UdpRepr, UdpView, pseudoSum } from '../../src/wire/index.ts';
import { UDP6_EXT } from './frames.ts';
import { embed } from './util.ts';

const DGRAM = UDP6_EXT.subarray(70);

describe('UdpView', () => {
  it('reads the datagram and verifies its hand-computed checksum (0xda93)', () => {
    const v = new UdpView(DGRAM);
    expect(v.check()).toBeNull();
    expect(v.srcPort).toBe(1234);
    expect(v.dstPort).toBe(53);
    expect(v.length).toBe(12);
    expect(v.checksum).toBe(0xda93);
    expect(v.payloadOff).toBe(8);
    expect(v.payloadLen).toBe(4);
    const ip = new Ipv6View(UDP6_EXT, 14).checked();
    expect(v.verifyChecksum(ip.pseudoSum(17, v.length))).toBe(true);
    const r = UdpRepr.parse(v);
    const out = new Uint8Array(12);
    out.set(DGRAM.subarray(8), 8);
    const src = UDP6_EXT.slice(22, 38);
    const dst = UDP6_EXT.slice(38, 54);
    expect(UdpRepr.emit(r, out, 0, src, dst)).toBe(8);
    expect(out).toEqual(DGRAM);
    expect(pseudoSum(src, dst, 17, 12)).toBe(ip.pseudoSum(17, 12));
  });

  it('length checks and every truncation', () => {
    const b = DGRAM.slice();
    b[5] = 7;
    expect(new UdpView(b).check()).toBe('BAD_LENGTH');
    b[5] = 13;
    expect(new UdpView(b).check()).toBe('TRUNCATED');
    for (let k = 0; k < DGRAM.length; k++) expect(new UdpView(DGRAM, 0, k).check()).toBe('TRUNCATED');
  });

  it('a computed zero checksum is sent as 0xFFFF', () => {
    // Pick the payload word so the sum folds to 0xFFFF: checksum field would be 0.
    const buf = new Uint8Array(10);
    const r = { srcPort: 0, dstPort: 0, payloadLen: 2 };
    UdpRepr.emit(r, buf, 0, 0, 0);
    const field = (buf[6]! << 8) | buf[7]!;
    // the payload word that cancels everything else
    const w = field === 0xffff ? 0 : field;
    buf[8] = w >> 8;
    buf[9] = w & 0xff;
    UdpRepr.emit(r, buf, 0, 0, 0);
    expect((buf[6]! << 8) | buf[7]!).toBe(0xffff);
    expect(new UdpView(buf).verifyChecksum(pseudoSum(0, 0, 17, 10))).toBe(true);
  });

  it('round-trips repr → emit → parse', () => {
    const arb = fc.record({ srcPort: fc.nat(0xffff), dstPort: fc.nat(0xffff), payloadLen: fc.nat(64) });
    fc.assert(
      fc.property(arb, fc.nat(0xffffffff), fc.nat(0xffffffff), (r, s, d) => {
        const buf = new Uint8Array(8 + r.payloadLen).fill(0x5a);
        UdpRepr.emit(r, buf, 0, s, d);
        const v = new UdpView(buf);
        expect(v.check()).toBeNull();
        expect(UdpRepr.parse(v)).toEqual(r);
        expect(v.verifyChecksum(pseudoSum(s, d, 17, buf.length))).toBe(true);
        const hdr = new Uint8Array(8);
        UdpRepr.emit(r, hdr, 0, s, d, true); // header only: the payload lives elsewhere
        expect(hdr.subarray(0, 6)).toEqual(buf.subarray(0, 6));
        expect((hdr[6]! << 8) | hdr[7]!).toBe(pseudoSum(s, d, 17, buf.length));
      }),
    );
  });

  it('garbage: typed error or a parse that stays in the window', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 30 }), fc.nat(255), (g, fill) => {
        const t = new UdpView(g);
        const e = t.check();
        const l = new UdpView(embed(g, 2, 8, fill), 2, g.length);
        expect(l.check()).toBe(e);
        if (e === null) expect(UdpRepr.parse(l)).toEqual(UdpRepr.parse(t));
        else expect(['TRUNCATED', 'BAD_LENGTH']).toContain(e);
      }),
    );
  });
});
