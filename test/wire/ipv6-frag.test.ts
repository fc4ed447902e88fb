// The Fragment header view and the options-header view (the fields UFO and the stack write):
// setters round-trip through getters and through Ipv6Repr's parse of a whole packet.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { get16, Ipv6FragView, Ipv6OptHdrView, Ipv6Repr, Ipv6View, IpProto } from '../../src/wire/index.ts';

describe('Ipv6FragView', () => {
  it('property: written fields read back, and Ipv6Repr parses the same fragment header', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0x1fff }),
        fc.boolean(),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.integer({ min: 0, max: 0xff }),
        (units, more, ident, junk) => {
          // A non-first fragment stops the walk, so the packet ends at the fragment header + 8.
          const pkt = new Uint8Array(40 + 8 + 8).fill(junk);
          const ip = new Ipv6View(pkt);
          pkt[0] = 0x60;
          ip.payloadLength = 16;
          ip.nextHeader = IpProto.IPV6_FRAGMENT;
          const f = new Ipv6FragView(pkt, 40, 8);
          expect(f.check()).toBeNull();
          f.nextHeader = IpProto.UDP;
          f.reserved = 0;
          f.fragWord = (units << 3) | (more ? 1 : 0);
          f.ident = ident;
          expect([f.nextHeader, f.fragOffset, f.moreFrags, f.ident]).toEqual([17, units * 8, more, ident]);
          expect(get16(pkt, 42) & 6).toBe(0);
          const r = Ipv6Repr.parse(ip);
          expect(r.extHeaders).toEqual([{ type: 44, fragOffset: units * 8, moreFrags: more, ident }]);
        },
      ),
    );
  });

  it('check() needs 8 bytes inside the buffer', () => {
    expect(new Ipv6FragView(new Uint8Array(8)).check()).toBeNull();
    expect(new Ipv6FragView(new Uint8Array(7)).check()).toBe('TRUNCATED');
    expect(new Ipv6FragView(new Uint8Array(10), 4).check()).toBe('TRUNCATED');
  });
});

describe('Ipv6OptHdrView', () => {
  it('property: next header written in a hop-by-hop header is what the packet walk follows', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 3 }), fc.constantFrom(6, 17, 58), (k, proto) => {
        const len = 8 * (k + 1);
        const pkt = new Uint8Array(40 + len + 8);
        pkt[0] = 0x60;
        const ip = new Ipv6View(pkt);
        ip.payloadLength = len + 8;
        ip.nextHeader = IpProto.HOPOPTS;
        pkt[41] = k; // hdr_ext_len
        pkt[42] = 1; // PadN over the rest
        pkt[43] = len - 4;
        const o = new Ipv6OptHdrView(pkt, 40, len);
        expect(o.check()).toBeNull();
        expect(o.headerLen).toBe(len);
        o.nextHeader = proto;
        expect(o.nextHeader).toBe(proto);
        expect(ip.check()).toBeNull();
        expect(ip.upperProto).toBe(proto);
        expect(ip.upperOff).toBe(40 + len);
      }),
    );
  });

  it('check() refuses a header whose length runs past the window', () => {
    const b = new Uint8Array(16);
    b[1] = 1; // 16 bytes
    expect(new Ipv6OptHdrView(b, 0, 16).check()).toBeNull();
    expect(new Ipv6OptHdrView(b, 0, 8).check()).toBe('TRUNCATED');
    expect(new Ipv6OptHdrView(b, 0, 4).check()).toBe('TRUNCATED');
  });
});
