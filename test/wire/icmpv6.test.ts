import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  Icmpv6Repr,
  Icmpv6View,
  WireError,
  parseIpv6,
  pseudoSum,
  type Icmpv6Repr as R,
  type NdpOption,
} from '../../src/wire/index.ts';
import { embed, hex } from './util.ts';

const LL = parseIpv6('fe80::1');
const SNM = parseIpv6('ff02::1:ff00:2');
const ALL = parseIpv6('ff02::1');
const TGT = 'fe800000000000000000000000000002';

// Neighbour solicitation for fe80::2 with a source link-layer address option (checksum 0x7a97).
const NS = hex(`8700 7a97 00000000 ${TGT} 0101 020000000001`);
// Router advertisement: hop limit 64, M|O, lifetime 1800; SLLA, MTU 1500, prefix 2001:db8:0:1::/64.
const RA = hex(`8600 ed28 40 c0 0708 00000000 00000000 0101 020000000001 0501 0000 000005dc
  0304 40 c0 00278d00 00093a80 00000000 20010db8000000010000000000000000`);

describe('Icmpv6View / NDP', () => {
  it('parses a neighbour solicitation and emits it byte for byte', () => {
    const v = new Icmpv6View(NS);
    expect(v.check()).toBeNull();
    expect(v.verifyChecksum(pseudoSum(LL, SNM, 58, NS.length))).toBe(true);
    const r = Icmpv6Repr.parse(v);
    expect(r).toEqual({
      kind: 'neighborSolicit',
      target: hex(TGT),
      options: [{ type: 'sourceLinkAddr', addr: 0x020000000001 }],
    });
    const out = new Uint8Array(Icmpv6Repr.bufferLen(r));
    expect(Icmpv6Repr.emit(r, out, 0, LL, SNM)).toBe(32);
    expect(out).toEqual(NS);
  });

  it('parses a router advertisement with prefix, MTU and SLLA options', () => {
    const v = new Icmpv6View(RA).checked();
    expect(v.verifyChecksum(pseudoSum(LL, ALL, 58, RA.length))).toBe(true);
    const r = Icmpv6Repr.parse(v);
    expect(r).toEqual({
      kind: 'routerAdvert',
      curHopLimit: 64,
      flags: 0xc0,
      routerLifetime: 1800,
      reachableTime: 0,
      retransTimer: 0,
      options: [
        { type: 'sourceLinkAddr', addr: 0x020000000001 },
        { type: 'mtu', mtu: 1500 },
        {
          type: 'prefixInfo',
          prefixLen: 64,
          flags: 0xc0,
          validLifetime: 2592000,
          preferredLifetime: 604800,
          prefix: parseIpv6('2001:db8:0:1::'),
        },
      ],
    });
    const out = new Uint8Array(Icmpv6Repr.bufferLen(r));
    Icmpv6Repr.emit(r, out, 0, LL, ALL);
    expect(out).toEqual(RA);
  });

  it('keeps unknown options and known types of odd length verbatim', () => {
    const msg = hex(`8800 0000 60000000 ${TGT} 0402 000000000000 1122334455667788 0201 0a0b0c0d0e0f`);
    const r = Icmpv6Repr.parse(new Icmpv6View(msg));
    expect(r).toMatchObject({ kind: 'neighborAdvert', flags: 0x60000000 });
    const opts = (r as { options: NdpOption[] }).options;
    expect(opts[0]).toEqual({ type: 'unknown', optType: 4, data: hex('000000000000 1122334455667788') });
    expect(opts[1]).toEqual({ type: 'targetLinkAddr', addr: 0x0a0b0c0d0e0f });
    const out = new Uint8Array(msg.length);
    Icmpv6Repr.emit(r, out, 0, LL, LL);
    expect(out.subarray(4)).toEqual(msg.subarray(4));
    expect(() =>
      Icmpv6Repr.emit(
        { kind: 'routerSolicit', options: [{ type: 'unknown', optType: 1, data: new Uint8Array(6) }] },
        new Uint8Array(16),
        0,
        LL,
        LL,
      ),
    ).toThrow(WireError);
  });

  it('rejects zero-length options, options past the end and short NDP messages', () => {
    const zero = new Icmpv6View(hex(`8500 0000 00000000 0100 000000000000`));
    expect(zero.check()).toBe('BAD_OPTION');
    expect(zero.errorOffset).toBe(8);
    const past = new Icmpv6View(hex(`8500 0000 00000000 0102 000000000000`));
    expect(past.check()).toBe('BAD_OPTION');
    const half = new Icmpv6View(hex(`8500 0000 00000000 01`));
    expect(half.check()).toBe('BAD_OPTION');
    for (let k = 0; k < 24; k++) expect(new Icmpv6View(NS, 0, k).check()).toBe('TRUNCATED');
    // the same bytes with a non-zero code are not NDP: no fixed length, parse as other
    const b = NS.slice(0, 12);
    b[1] = 1;
    expect(new Icmpv6View(b).check()).toBeNull();
    expect(Icmpv6Repr.parse(new Icmpv6View(b))).toMatchObject({ kind: 'other', type: 135, code: 1 });
  });

  it('every prefix of NS and RA is a typed error or a correct parse', () => {
    for (const m of [NS, RA])
      for (let k = 0; k <= m.length; k++) {
        const v = new Icmpv6View(m, 0, k);
        const e = v.check();
        if (e === null) expect(Icmpv6Repr.parse(v).kind).not.toBe('other');
        else expect(['TRUNCATED', 'BAD_OPTION']).toContain(e);
      }
  });

  it('round-trips every message kind', () => {
    const data = fc.uint8Array({ maxLength: 24 });
    const a16 = fc.uint8Array({ minLength: 16, maxLength: 16 });
    const u32 = fc.nat(0xffffffff);
    const opt: fc.Arbitrary<NdpOption> = fc.oneof(
      fc.record({
        type: fc.constantFrom('sourceLinkAddr' as const, 'targetLinkAddr' as const),
        addr: fc.nat(0xffffffffffff),
      }),
      fc.record({ type: fc.constant('mtu' as const), mtu: u32 }),
      fc.record({
        type: fc.constant('prefixInfo' as const),
        prefixLen: fc.nat(128),
        flags: fc.nat(255),
        validLifetime: u32,
        preferredLifetime: u32,
        prefix: a16,
      }),
      fc.record({
        type: fc.constant('unknown' as const),
        optType: fc.integer({ min: 6, max: 255 }),
        data: fc.nat(3).chain((k) => fc.uint8Array({ minLength: 8 * k + 6, maxLength: 8 * k + 6 })),
      }),
    );
    const options = fc.array(opt, { maxLength: 3 });
    const arb: fc.Arbitrary<R> = fc.oneof(
      fc.record({
        kind: fc.constantFrom('echoRequest' as const, 'echoReply' as const),
        ident: fc.nat(0xffff),
        seq: fc.nat(0xffff),
        data,
      }),
      fc.record({ kind: fc.constant('destUnreachable' as const), code: fc.nat(255), data }),
      fc.record({ kind: fc.constant('packetTooBig' as const), mtu: u32, data }),
      fc.record({ kind: fc.constant('timeExceeded' as const), code: fc.nat(255), data }),
      fc.record({ kind: fc.constant('paramProblem' as const), code: fc.nat(255), pointer: u32, data }),
      fc.record({ kind: fc.constant('routerSolicit' as const), options }),
      fc.record({
        kind: fc.constant('routerAdvert' as const),
        curHopLimit: fc.nat(255),
        flags: fc.nat(255),
        routerLifetime: fc.nat(0xffff),
        reachableTime: u32,
        retransTimer: u32,
        options,
      }),
      fc.record({ kind: fc.constant('neighborSolicit' as const), target: a16, options }),
      fc.record({ kind: fc.constant('neighborAdvert' as const), flags: u32, target: a16, options }),
      fc.record({ kind: fc.constant('redirect' as const), target: a16, destination: a16, options }),
      fc.record({
        kind: fc.constant('other' as const),
        type: fc.integer({ min: 5, max: 127 }),
        code: fc.nat(255),
        rest: u32,
        data,
      }),
    );
    fc.assert(
      fc.property(arb, a16, a16, (r, s, d) => {
        const buf = new Uint8Array(Icmpv6Repr.bufferLen(r));
        Icmpv6Repr.emit(r, buf, 0, s, d);
        const v = new Icmpv6View(buf);
        expect(v.check()).toBeNull();
        expect(v.verifyChecksum(pseudoSum(s, d, 58, buf.length))).toBe(true);
        expect(Icmpv6Repr.parse(v)).toEqual(r);
      }),
    );
  });

  it('garbage: typed error or a parse that stays in the window', () => {
    const arb = fc.oneof(
      fc.uint8Array({ maxLength: 64 }),
      fc
        .tuple(fc.integer({ min: 133, max: 137 }), fc.uint8Array({ minLength: 8, maxLength: 64 }))
        .map(([t, b]) => {
          b[0] = t;
          b[1] = 0;
          return b;
        }),
    );
    fc.assert(
      fc.property(arb, fc.nat(255), (g, fill) => {
        const t = new Icmpv6View(g);
        const e = t.check();
        const l = new Icmpv6View(embed(g, 7, 24, fill), 7, g.length);
        expect(l.check()).toBe(e);
        if (e === null) expect(Icmpv6Repr.parse(l)).toEqual(Icmpv6Repr.parse(t));
        else expect(['TRUNCATED', 'BAD_OPTION']).toContain(e);
      }),
      { numRuns: 2000 },
    );
  });
});
