// The one address parser at the API boundary (src/wire/address.ts on ip-num, wrapped for boot
// options by src/unikernel/address.ts): what it accepts, what it refuses with which typed error,
// and that formatting and parsing round-trip, with and without a prefix length.
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { ValeSwitch } from '../../src/host/index.ts';
import { checkAddressOptions } from '../../src/unikernel/address.ts';
import { Unikernel, UnikernelError } from '../../src/unikernel/index.ts';
import {
  WireError,
  ipFamilyOf,
  ipv4ToString,
  ipv6ToString,
  parseIp,
  parseIpv4,
  parseIpv4Prefixed,
  parseIpv6,
  parseIpv6Prefixed,
} from '../../src/wire/index.ts';

function wireError(f: () => unknown): WireError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(WireError);
    return e as WireError;
  }
  throw new Error('did not throw');
}

const booted: Unikernel[] = [];
afterEach(() => {
  for (const u of booted.splice(0)) u.shutdown();
});

describe('address parser: valid input', () => {
  it('parses interface addresses with prefix lengths', () => {
    expect(parseIpv4Prefixed('10.0.0.1/24')).toEqual({ addr: 0x0a000001, prefixLen: 24 });
    expect(parseIpv4Prefixed('0.0.0.0/0')).toEqual({ addr: 0, prefixLen: 0 });
    expect(parseIpv4Prefixed('255.255.255.255/32')).toEqual({ addr: 0xffffffff, prefixLen: 32 });
    expect(parseIpv4Prefixed('10.0.0.1', 32)).toEqual({ addr: 0x0a000001, prefixLen: 32 });
    const v6 = parseIpv6Prefixed('fd00::1/64');
    expect(ipv6ToString(v6.addr)).toBe('fd00::1');
    expect(v6.prefixLen).toBe(64);
    expect(parseIpv6Prefixed('::1/128').prefixLen).toBe(128);
    expect(parseIpv6Prefixed('::/0').prefixLen).toBe(0);
    expect(parseIpv6Prefixed('fe80::1', 128).prefixLen).toBe(128);
    // inet_pton6: up to four hex digits per group, upper case, a dotted-quad tail.
    expect(ipv6ToString(parseIpv6('FD00:0000::0001'))).toBe('fd00::1');
    expect(ipv6ToString(parseIpv6('::ffff:10.0.0.1'))).toBe('::ffff:10.0.0.1');
  });

  it('tells the families apart as node:net isIP does', () => {
    expect(parseIp('10.0.0.1')).toEqual({ family: 4, addr: 0x0a000001 });
    expect(parseIp('::1').family).toBe(6);
    expect(ipFamilyOf('10.0.0.1')).toBe(4);
    expect(ipFamilyOf('fd00::1')).toBe(6);
    expect(ipFamilyOf('example.com')).toBe(0);
    expect(ipFamilyOf('010.0.0.1')).toBe(0);
  });
});

describe('address parser: invalid input', () => {
  it("refuses leading zeros ('010.0.0.1/24'), as inet_pton does", () => {
    for (const s of ['010.0.0.1/24', '10.0.0.01/24', '00.0.0.0/0']) {
      const e = wireError(() => parseIpv4Prefixed(s));
      expect(e.code).toBe('BAD_ADDRESS');
      expect(e.offset).toBe(0);
    }
    expect(wireError(() => parseIpv4('010.0.0.1')).code).toBe('BAD_ADDRESS');
    // A prefix length with a leading zero is refused too (iproute2 would read "024" as octal 20).
    expect(wireError(() => parseIpv4Prefixed('10.0.0.1/024')).offset).toBe('10.0.0.1/'.length);
  });

  it("refuses prefix lengths past the family ('10.0.0.1/33', '::1/129'), pointing at the prefix", () => {
    const e4 = wireError(() => parseIpv4Prefixed('10.0.0.1/33'));
    expect(e4.code).toBe('BAD_ADDRESS');
    expect(e4.offset).toBe('10.0.0.1/'.length);
    const e6 = wireError(() => parseIpv6Prefixed('::1/129'));
    expect(e6.code).toBe('BAD_ADDRESS');
    expect(e6.offset).toBe('::1/'.length);
    for (const s of [
      '10.0.0.1/',
      '10.0.0.1/-1',
      '10.0.0.1/24/1',
      '10.0.0.1/ 24',
      '10.0.0.1/2x',
      '10.0.0.1/1e1',
    ])
      expect(wireError(() => parseIpv4Prefixed(s)).offset, s).toBeGreaterThan(0);
    // No prefix where one is required.
    expect(wireError(() => parseIpv4Prefixed('10.0.0.1')).code).toBe('BAD_ADDRESS');
    expect(wireError(() => parseIpv6Prefixed('fd00::1')).code).toBe('BAD_ADDRESS');
  });

  it("refuses malformed IPv6 text ('fd00::g'), zones, and IPv4 in an IPv6 field", () => {
    for (const s of [
      'fd00::g',
      'fd00::g/64',
      'fe80::1%eth0',
      '10.0.0.1/24',
      '1:2:3:4:5:6:7:8:9/64',
      '::010.0.0.1',
    ]) {
      const e = wireError(() => parseIpv6Prefixed(s));
      expect(e.code, s).toBe('BAD_ADDRESS');
      expect(e.offset, s).toBe(0);
    }
    expect(wireError(() => parseIpv6('fd00::g')).code).toBe('BAD_ADDRESS');
  });

  it('refuses the same strings through Unikernel.boot: BAD_OPTION with the WireError as cause', async () => {
    const vale = new ValeSwitch('vale0');
    const port = vale.attach('a');
    for (const o of [
      { ipv4: '010.0.0.1/24' },
      { ipv4: '10.0.0.1/33' },
      { ipv4: '10.0.0.1/24', ipv6: '::1/129' },
      { ipv4: '10.0.0.1/24', ipv6: 'fd00::g/64' },
      { ipv4: '10.0.0.1/24', gateway: '010.0.0.254' },
      { ipv4: '10.0.0.1/24', gateway6: 'fd00::g' },
    ]) {
      const e = await Unikernel.boot({ port, ...o }).catch((x: unknown) => x);
      expect(e, JSON.stringify(o)).toBeInstanceOf(UnikernelError);
      expect((e as UnikernelError).code).toBe('BAD_OPTION');
      expect((e as UnikernelError).cause).toBeInstanceOf(WireError);
      expect(((e as UnikernelError).cause as WireError).code).toBe('BAD_ADDRESS');
    }
    const bad = await Unikernel.boot({ port, ipv4: 42 as never }).catch((x: unknown) => x);
    expect((bad as UnikernelError).code).toBe('BAD_OPTION');
    // The parsed options are what the stack runs with.
    const u = await Unikernel.boot({ port, ipv4: '10.0.0.7/16', gateway: '10.0.255.254' });
    booted.push(u);
    expect(u.stack.addr).toBe(0x0a000007);
    expect(u.stack.ipv4.prefixLen).toBe(16);
    expect(u.stack.ipv4.gateway).toBe(0x0a00fffe);
  });

  it('the boot-option helper returns the parsed addresses', () => {
    const r = checkAddressOptions({ ipv4: '192.168.1.2/24', ipv6: 'fd00::2/64', gateway6: 'fe80::1' });
    expect(r.ipv4).toEqual({ addr: 0xc0a80102, prefixLen: 24 });
    expect(r.ipv6?.prefixLen).toBe(64);
    expect(ipv6ToString(r.gateway6!)).toBe('fe80::1');
    expect(r.gateway).toBeUndefined();
  });
});

describe('address parser: round trips (fast-check)', () => {
  it('IPv4 address/prefix: format then parse gives the same address and length', () => {
    fc.assert(
      fc.property(fc.nat(0xffffffff), fc.integer({ min: 0, max: 32 }), (a, len) => {
        const s = `${ipv4ToString(a)}/${len}`;
        expect(parseIpv4Prefixed(s)).toEqual({ addr: a, prefixLen: len });
        expect(parseIp(ipv4ToString(a))).toEqual({ family: 4, addr: a });
      }),
    );
  });

  it('IPv6 address/prefix: format (RFC 5952) then parse gives the same bytes and length', () => {
    const words = fc.array(fc.oneof(fc.constant(0), fc.constant(0), fc.nat(0xffff)), {
      minLength: 8,
      maxLength: 8,
    });
    fc.assert(
      fc.property(words, fc.integer({ min: 0, max: 128 }), (w, len) => {
        const b = new Uint8Array(16);
        w.forEach((x, i) => {
          b[2 * i] = x >> 8;
          b[2 * i + 1] = x & 0xff;
        });
        const s = `${ipv6ToString(b)}/${len}`;
        const r = parseIpv6Prefixed(s);
        expect(r.addr).toEqual(b);
        expect(r.prefixLen).toBe(len);
        // Text → bytes → text is canonical: parsing the canonical form again is a fixed point.
        expect(ipv6ToString(parseIpv6(ipv6ToString(r.addr)))).toBe(ipv6ToString(b));
      }),
    );
  });

  it('a prefix length out of range or with a leading zero is always refused', () => {
    fc.assert(
      fc.property(
        fc.nat(0xffffffff),
        fc.oneof(
          fc.integer({ min: 33, max: 9999 }).map(String),
          fc.integer({ min: 0, max: 32 }).map((n) => `0${n}`),
        ),
        (a, p) => {
          const s = `${ipv4ToString(a)}/${p}`;
          expect(wireError(() => parseIpv4Prefixed(s)).offset).toBe(s.indexOf('/') + 1);
        },
      ),
    );
  });
});
