import { isIPv4, isIPv6 } from 'node:net';
import fc from 'fast-check';
import { IPv4, IPv6 } from 'ip-num';
import { describe, expect, it } from 'vitest';
import {
  WireError,
  ipv4FromIpNum,
  ipv4ToIpNum,
  ipv4ToString,
  ipv6FromIpNum,
  ipv6ToIpNum,
  ipv6ToString,
  macToBytes,
  macToString,
  parseIpv4,
  parseIpv6,
  parseMac,
} from '../../src/wire/index.ts';

const a16 = fc.uint8Array({ minLength: 16, maxLength: 16 });
// addresses with zero runs, so "::" placement gets exercised
const sparse16 = fc
  .array(fc.oneof(fc.constant(0), fc.constant(0), fc.nat(0xffff)), { minLength: 8, maxLength: 8 })
  .map((w) => {
    const b = new Uint8Array(16);
    w.forEach((x, i) => {
      b[2 * i] = x >> 8;
      b[2 * i + 1] = x & 0xff;
    });
    return b;
  });

describe('IPv4 text', () => {
  it('parses and formats', () => {
    expect(parseIpv4('10.0.0.1')).toBe(0x0a000001);
    expect(parseIpv4('255.255.255.255')).toBe(0xffffffff);
    expect(ipv4ToString(0xc0a800c7)).toBe('192.168.0.199');
    for (const s of ['1.2.3', '1.2.3.4.5', '256.0.0.1', '01.2.3.4', '1.2.3.', 'a.b.c.d', '', ' 1.2.3.4']) {
      expect(() => parseIpv4(s)).toThrow(WireError);
    }
  });
  it('round-trips and agrees with node:net on what is valid', () => {
    fc.assert(
      fc.property(fc.nat(0xffffffff), (n) => {
        expect(parseIpv4(ipv4ToString(n))).toBe(n);
      }),
    );
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9.]{0,16}$/), (s) => {
        let ok = true;
        try {
          parseIpv4(s);
        } catch {
          ok = false;
        }
        expect(ok).toBe(isIPv4(s));
      }),
    );
  });
});

describe('IPv6 text (RFC 5952)', () => {
  it('formats the RFC 5952 cases', () => {
    const cases: Array<[string, string]> = [
      ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
      ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
      ['2001:db8::0:1', '2001:db8::1'],
      ['2001:DB8::AbCd', '2001:db8::abcd'],
      ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
      ['0:0:0:0:0:0:0:0', '::'],
      ['::1', '::1'],
      ['1::', '1::'],
      ['::ffff:192.0.2.1', '::ffff:192.0.2.1'],
      ['0:0:0:0:0:ffff:c000:0201', '::ffff:192.0.2.1'],
      ['1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:102:304'],
      ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'],
    ];
    for (const [i, o] of cases) expect(ipv6ToString(parseIpv6(i))).toBe(o);
  });
  it('rejects malformed text', () => {
    for (const s of [
      ':::',
      '1::2::3',
      '12345::',
      'g::',
      '1:2:3:4:5:6:7:8:9',
      '1:2:3:4:5:6:7',
      '::1.2.3',
      ':1::',
      '1::2:',
      '1:2:3:4:5:6:7:8::',
      '1.2.3.4::',
      '',
    ])
      expect(() => parseIpv6(s), s).toThrow(WireError);
  });
  it('round-trips and matches the WHATWG URL serializer (same compression rule)', () => {
    fc.assert(
      fc.property(fc.oneof(a16, sparse16), (b) => {
        const s = ipv6ToString(b);
        expect(parseIpv6(s)).toEqual(b);
        const mapped = b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff;
        if (!mapped) expect(new URL(`http://[${s}]/`).hostname).toBe(`[${s}]`);
      }),
    );
  });
  it('agrees with node:net on validity of random strings', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9a-fA-F:.]{0,24}$/), (s) => {
        let ok = true;
        try {
          parseIpv6(s);
        } catch {
          ok = false;
        }
        expect(ok, s).toBe(isIPv6(s));
      }),
      { numRuns: 3000 },
    );
  });
});

describe('MAC and ip-num interop', () => {
  it('MAC text and bytes', () => {
    expect(parseMac('02:00:5E:10:00:01')).toBe(0x02005e100001);
    expect(parseMac('02-00-5e-10-00-01')).toBe(0x02005e100001);
    expect(macToString(0x02005e100001)).toBe('02:00:5e:10:00:01');
    expect(macToString(0)).toBe('00:00:00:00:00:00');
    for (const s of ['02:00:5e:10:00', '02:00:5e:10:00:01:02', 'zz:00:00:00:00:00', '0200.5e10.0001'])
      expect(() => parseMac(s)).toThrow(WireError);
    const b = new Uint8Array(7);
    macToBytes(0xffeeddccbbaa, b, 1);
    expect(Array.from(b)).toEqual([0, 0xff, 0xee, 0xdd, 0xcc, 0xbb, 0xaa]);
    fc.assert(
      fc.property(fc.nat(0xffffffffffff), (m) => {
        expect(parseMac(macToString(m))).toBe(m);
      }),
    );
  });
  it('converts to and from ip-num', () => {
    fc.assert(
      fc.property(fc.nat(0xffffffff), a16, (v4, v6) => {
        expect(ipv4ToIpNum(v4).toString()).toBe(ipv4ToString(v4));
        expect(ipv4FromIpNum(IPv4.fromString(ipv4ToString(v4)))).toBe(v4);
        expect(ipv6FromIpNum(ipv6ToIpNum(v6))).toEqual(v6);
        expect(ipv6FromIpNum(IPv6.fromString(ipv6ToString(v6)))).toEqual(v6);
      }),
    );
  });
});
