import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  Ipv6Repr,
  Ipv6View,
  WireError,
  type Ipv6ExtHeader,
  type WireErrorCode,
} from '../../src/wire/index.ts';
import { UDP6_EXT } from './frames.ts';
import { embed, hex } from './util.ts';

const PKT = UDP6_EXT.subarray(14);
const CODES: WireErrorCode[] = ['TRUNCATED', 'BAD_VERSION', 'BAD_EXT_HEADER', 'BAD_OPTION'];

function fixed(nh: number, payload: Uint8Array): Uint8Array {
  const b = new Uint8Array(40 + payload.length);
  b.set(PKT.subarray(0, 40));
  b[4] = payload.length >> 8;
  b[5] = payload.length & 0xff;
  b[6] = nh;
  b.set(payload, 40);
  return b;
}

describe('Ipv6View', () => {
  it('reads the fixed header and walks hop-by-hop + destination options', () => {
    const v = new Ipv6View(PKT);
    expect(v.check()).toBeNull();
    expect(v.version).toBe(6);
    expect(v.payloadLength).toBe(28);
    expect(v.nextHeader).toBe(0);
    expect(v.hopLimit).toBe(64);
    expect(v.ext.count).toBe(2);
    expect(v.ext.hdrLen).toBe(16);
    expect(v.upperProto).toBe(17);
    expect(v.ext.nextHeaderOff).toBe(48);
    expect(v.upperOff).toBe(56);
    expect(v.upperLen).toBe(12);
    expect(v.ext.isFragment).toBe(false);
  });

  it('traffic class and flow label setters keep each other', () => {
    const b = PKT.slice();
    const v = new Ipv6View(b);
    v.trafficClass = 0xab;
    v.flowLabel = 0xcdef1;
    expect(v.trafficClass).toBe(0xab);
    expect(v.flowLabel).toBe(0xcdef1);
    expect(v.version).toBe(6);
    expect(Array.from(b.subarray(0, 4))).toEqual([0x6a, 0xbc, 0xde, 0xf1]);
  });

  it('stops at a non-first fragment, at ESP, AH and no-next-header', () => {
    // fragment header, offset 8, next header TCP
    const frag = fixed(44, hex('06 00 0009 deadbeef 0102030405060708'));
    const v = new Ipv6View(frag);
    expect(v.check()).toBeNull();
    expect(v.ext).toMatchObject({
      fragOffset: 8,
      moreFrags: true,
      fragIdent: 0xdeadbeef,
      nextHeader: 6,
      hdrLen: 8,
    });
    expect(v.ext.fragHdrOff).toBe(40);
    for (const nh of [50, 51, 59]) {
      const p = new Ipv6View(fixed(0, hex(`${nh.toString(16)} 00 0104 00000000 ffffffff`)));
      expect(p.check()).toBeNull();
      expect(p.upperProto).toBe(nh);
      expect(p.upperLen).toBe(4);
    }
  });

  it('rejects hop-by-hop after another header, bad TLVs, and lengths past the payload', () => {
    const late = new Ipv6View(fixed(60, hex('00 00 0104 00000000 11 00 0104 00000000')));
    expect(late.check()).toBe('BAD_EXT_HEADER');
    expect(late.errorOffset).toBe(40);
    const tlv = new Ipv6View(fixed(0, hex('11 00 0105 00000000')));
    expect(tlv.check()).toBe('BAD_OPTION');
    expect(tlv.errorOffset).toBe(42);
    const long = new Ipv6View(fixed(43, hex('11 01 0000 00000000')));
    expect(long.check()).toBe('TRUNCATED');
    const ver = PKT.slice();
    ver[0] = 0x40;
    expect(new Ipv6View(ver).check()).toBe('BAD_VERSION');
  });

  it('every truncation is TRUNCATED', () => {
    for (let k = 0; k < PKT.length; k++) expect(new Ipv6View(PKT, 0, k).check()).toBe('TRUNCATED');
  });

  it('parses and emits the captured header byte for byte', () => {
    const r = Ipv6Repr.parse(new Ipv6View(PKT));
    expect(r.extHeaders).toEqual([
      { type: 0, options: hex('0104 00000000') },
      { type: 60, options: hex('0104 00000000') },
    ]);
    const out = new Uint8Array(Ipv6Repr.bufferLen(r));
    expect(Ipv6Repr.emit(r, out, 0)).toBe(56);
    expect(out).toEqual(PKT.subarray(0, 56));
  });

  it('round-trips repr → emit → parse with extension headers', () => {
    const padN = (k: number): Uint8Array => {
      const n = 8 * k + 6;
      const o = new Uint8Array(n);
      o[0] = 1;
      o[1] = n - 2;
      return o;
    };
    const arbAddr = fc.uint8Array({ minLength: 16, maxLength: 16 });
    const arbExt: fc.Arbitrary<Ipv6ExtHeader> = fc.oneof(
      fc.nat(2).map((k) => ({ type: 60 as const, options: padN(k) })),
      fc.record({
        type: fc.constant(43 as const),
        routingType: fc.nat(255),
        segmentsLeft: fc.nat(255),
        data: fc.nat(3).chain((k) => fc.uint8Array({ minLength: 8 * k + 4, maxLength: 8 * k + 4 })),
      }),
      fc.record({
        type: fc.constant(44 as const),
        fragOffset: fc.constant(0),
        moreFrags: fc.boolean(),
        ident: fc.nat(0xffffffff),
      }),
    );
    const arb = fc.record({
      src: arbAddr,
      dst: arbAddr,
      nextHeader: fc.constantFrom(6, 17, 58, 50, 59, 255),
      hopLimit: fc.nat(255),
      trafficClass: fc.nat(255),
      flowLabel: fc.nat(0xfffff),
      hbh: fc.option(fc.nat(2)),
      extHeaders: fc.array(arbExt, { maxLength: 4 }),
      payloadLen: fc.nat(64),
    });
    fc.assert(
      fc.property(arb, ({ hbh, ...r0 }) => {
        const r = {
          ...r0,
          extHeaders:
            hbh === null ? r0.extHeaders : [{ type: 0 as const, options: padN(hbh) }, ...r0.extHeaders],
        };
        const buf = new Uint8Array(Ipv6Repr.bufferLen(r) + r.payloadLen);
        Ipv6Repr.emit(r, buf, 0);
        const v = new Ipv6View(buf);
        expect(v.check()).toBeNull();
        expect(Ipv6Repr.parse(v)).toEqual(r);
      }),
    );
  });

  it('garbage: typed error or a parse that stays in the window', () => {
    const arb = fc.oneof(
      fc.uint8Array({ maxLength: 100 }),
      fc
        .tuple(fc.nat(255), fc.uint8Array({ maxLength: 60 }))
        .map(([nh, p]) => fixed([0, 43, 44, 60][nh % 4]!, p)),
    );
    fc.assert(
      fc.property(arb, fc.nat(255), (g, fill) => {
        const t = new Ipv6View(g);
        const e = t.check();
        const l = new Ipv6View(embed(g, 5, 32, fill), 5, g.length);
        expect(l.check()).toBe(e);
        if (e === null) expect(Ipv6Repr.parse(l)).toEqual(Ipv6Repr.parse(t));
        else expect(CODES).toContain(e);
      }),
      { numRuns: 2000 },
    );
  });

  it('checkQuoted walks what an ICMPv6 error quotes, payload length beyond the quote', () => {
    const quote = PKT.subarray(0, 60); // fixed + HBH + DST + the UDP header, not the payload
    const v = new Ipv6View(quote);
    expect(v.check()).toBe('TRUNCATED');
    expect(v.checkQuoted()).toBeNull();
    expect(v.upperProto).toBe(17);
    expect(v.upperOff).toBe(56);
    expect(new Ipv6View(PKT, 0, 50).checkQuoted()).toBe('TRUNCATED'); // DST header cut
  });

  it('address copies and setters', () => {
    const b = PKT.slice();
    const v = new Ipv6View(b).checked();
    const out = new Uint8Array(20);
    v.copySrc(out, 2);
    expect(out.subarray(2, 18)).toEqual(PKT.subarray(8, 24));
    v.copyDst(out, 4);
    expect(out.subarray(4)).toEqual(PKT.subarray(24, 40));
    v.setSrc(PKT, 24);
    v.setDst(PKT.subarray(8, 24));
    expect(b.subarray(8, 24)).toEqual(PKT.subarray(24, 40));
    expect(b.subarray(24, 40)).toEqual(PKT.subarray(8, 24));
  });

  it('emit refuses malformed extension headers', () => {
    const r = Ipv6Repr.parse(new Ipv6View(PKT));
    const out = new Uint8Array(100);
    const badTlv = { ...r, extHeaders: [{ type: 0 as const, options: hex('0105 00000000') }] };
    expect(() => Ipv6Repr.emit(badTlv, out, 0)).toThrow(WireError);
    const late = { ...r, extHeaders: [r.extHeaders[1]!, r.extHeaders[0]!] };
    expect(() => Ipv6Repr.emit(late, out, 0)).toThrow(WireError);
    const odd = { ...r, extHeaders: [{ type: 60 as const, options: new Uint8Array(5) }] };
    expect(() => Ipv6Repr.emit(odd, out, 0)).toThrow(WireError);
  });
});
