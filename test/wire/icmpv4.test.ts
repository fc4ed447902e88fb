import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  Icmpv4Repr,
  Icmpv4View,
  IcmpType,
  Ipv4View,
  UdpView,
  type Icmpv4Repr as R,
} from '../../src/wire/index.ts';
import { embed, hex } from './util.ts';

// Echo request ident 0x1234 seq 1 "abcdefgh"; checksum 0x5435 summed by hand.
const ECHO = hex('0800 5435 1234 0001 6162636465666768');
// Fragmentation needed, next-hop MTU 1400, quoting an IPv4/UDP header (checksum 0xf21d).
const FRAG_NEEDED = hex(
  '0304 f21d 0000 0578 4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7 04d2 0035 005f 0000',
);

describe('Icmpv4View', () => {
  it('reads an echo request and emits it byte for byte', () => {
    const v = new Icmpv4View(ECHO);
    expect(v.check()).toBeNull();
    expect(v.verifyChecksum()).toBe(true);
    const r = Icmpv4Repr.parse(v);
    expect(r).toEqual({ kind: 'echoRequest', ident: 0x1234, seq: 1, data: hex('6162636465666768') });
    const out = new Uint8Array(Icmpv4Repr.bufferLen(r));
    expect(Icmpv4Repr.emit(r, out, 0)).toBe(16);
    expect(out).toEqual(ECHO);
  });

  it('reads fragmentation-needed with its MTU and the quoted IPv4 + UDP header', () => {
    const v = new Icmpv4View(FRAG_NEEDED).checked();
    expect(v.verifyChecksum()).toBe(true);
    expect(v.type).toBe(IcmpType.DEST_UNREACH);
    expect(v.nextHopMtu).toBe(1400);
    const q = new Ipv4View(v.buf, v.dataOff, v.dataLen);
    expect(q.check()).toBe('TRUNCATED'); // tot_len 0x73 is beyond the quote
    expect(q.checkHeader()).toBeNull();
    expect(q.dst).toBe(0xc0a800c7);
    const u = new UdpView(v.buf, q.payloadOff, 8);
    expect(u.srcPort).toBe(1234);
    expect(u.dstPort).toBe(53);
    const r = Icmpv4Repr.parse(v);
    expect(r).toMatchObject({ kind: 'destUnreachable', code: 4, nextHopMtu: 1400 });
    const out = new Uint8Array(Icmpv4Repr.bufferLen(r));
    Icmpv4Repr.emit(r, out, 0);
    expect(out).toEqual(FRAG_NEEDED);
  });

  it('keeps messages the typed forms cannot hold as other', () => {
    const b = ECHO.slice();
    b[1] = 1; // echo with a non-zero code
    expect(Icmpv4Repr.parse(new Icmpv4View(b))).toMatchObject({
      kind: 'other',
      type: 8,
      code: 1,
      rest: 0x12340001,
    });
    const t = hex('0b00 0000 00000001 4500');
    expect(Icmpv4Repr.parse(new Icmpv4View(t))).toMatchObject({ kind: 'other', type: 11, rest: 1 });
  });

  it('every truncation below 8 bytes is TRUNCATED; longer prefixes parse', () => {
    for (let k = 0; k < 8; k++) expect(new Icmpv4View(ECHO, 0, k).check()).toBe('TRUNCATED');
    for (let k = 8; k <= ECHO.length; k++) {
      const r = Icmpv4Repr.parse(new Icmpv4View(ECHO, 0, k));
      expect(r.data.length).toBe(k - 8);
    }
  });

  it('round-trips repr → emit → parse', () => {
    const data = fc.uint8Array({ maxLength: 40 });
    const arb: fc.Arbitrary<R> = fc.oneof(
      fc.record({
        kind: fc.constantFrom('echoRequest' as const, 'echoReply' as const),
        ident: fc.nat(0xffff),
        seq: fc.nat(0xffff),
        data,
      }),
      fc
        .record({ kind: fc.constant('destUnreachable' as const), code: fc.nat(255), data })
        .chain((r) => fc.nat(r.code === 4 ? 0xffff : 0).map((nextHopMtu) => ({ ...r, nextHopMtu }))),
      fc.record({ kind: fc.constant('timeExceeded' as const), code: fc.nat(255), data }),
      fc.record({
        kind: fc.constant('other' as const),
        type: fc.nat(255).filter((t) => ![0, 3, 8, 11].includes(t)),
        code: fc.nat(255),
        rest: fc.nat(0xffffffff),
        data,
      }),
    );
    fc.assert(
      fc.property(arb, (r) => {
        const buf = new Uint8Array(Icmpv4Repr.bufferLen(r));
        Icmpv4Repr.emit(r, buf, 0);
        const v = new Icmpv4View(buf);
        expect(v.verifyChecksum()).toBe(true);
        expect(Icmpv4Repr.parse(v)).toEqual(r);
      }),
    );
  });

  it('garbage: typed error or a parse that stays in the window', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.nat(255), (g, fill) => {
        const t = new Icmpv4View(g);
        const e = t.check();
        const l = new Icmpv4View(embed(g, 3, 8, fill), 3, g.length);
        expect(l.check()).toBe(e);
        if (e === null) expect(Icmpv4Repr.parse(l)).toEqual(Icmpv4Repr.parse(t));
        else expect(e).toBe('TRUNCATED');
      }),
    );
  });
});
