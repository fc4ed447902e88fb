import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ArpOp, ArpRepr, ArpView, WireError, parseIpv4, parseMac } from '../../src/wire/index.ts';
import { embed, hex } from './util.ts';

// who-has 10.0.0.2 tell 10.0.0.1
const REQ = hex('0001 0800 06 04 0001 020000000001 0a000001 000000000000 0a000002');

describe('ArpView', () => {
  it('reads and emits an Ethernet/IPv4 request byte for byte', () => {
    const v = new ArpView(REQ);
    expect(v.check()).toBeNull();
    expect(v.isEthernetIpv4).toBe(true);
    const r = ArpRepr.parse(v);
    expect(r).toEqual({
      op: ArpOp.REQUEST,
      senderHw: parseMac('02:00:00:00:00:01'),
      senderIp: parseIpv4('10.0.0.1'),
      targetHw: 0,
      targetIp: parseIpv4('10.0.0.2'),
    });
    const out = new Uint8Array(28);
    expect(ArpRepr.emit(r, out, 0)).toBe(28);
    expect(out).toEqual(REQ);
  });

  it('sizes other hardware/protocol pairs and refuses to parse them', () => {
    const b = hex('0006 0800 08 04 0001'); // hlen 8 → 8 + 2*12 = 32 bytes needed
    const v = new ArpView(b);
    expect(v.check()).toBe('TRUNCATED');
    const full = new Uint8Array(32);
    full.set(b);
    v.reset(full);
    expect(v.check()).toBeNull();
    expect(v.isEthernetIpv4).toBe(false);
    try {
      ArpRepr.parse(v);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(WireError);
      expect((e as WireError).code).toBe('UNSUPPORTED');
    }
  });

  it('every truncation is TRUNCATED', () => {
    for (let k = 0; k < 28; k++) expect(new ArpView(REQ, 0, k).check()).toBe('TRUNCATED');
  });

  it('round-trips and tolerates garbage', () => {
    const arb = fc.record({
      op: fc.nat(0xffff),
      senderHw: fc.nat(0xffffffffffff),
      senderIp: fc.nat(0xffffffff),
      targetHw: fc.nat(0xffffffffffff),
      targetIp: fc.nat(0xffffffff),
    });
    fc.assert(
      fc.property(arb, (r) => {
        const b = new Uint8Array(28);
        ArpRepr.emit(r, b, 0);
        expect(ArpRepr.parse(new ArpView(b))).toEqual(r);
      }),
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.nat(255), (g, fill) => {
        const t = new ArpView(g);
        const e = t.check();
        const l = new ArpView(embed(g, 1, 30, fill), 1, g.length);
        expect(l.check()).toBe(e);
        if (e === null && t.isEthernetIpv4) expect(ArpRepr.parse(l)).toEqual(ArpRepr.parse(t));
        if (e !== null) expect(e).toBe('TRUNCATED');
      }),
    );
  });
});
