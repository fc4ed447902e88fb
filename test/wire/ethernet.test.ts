import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EthernetRepr, EthernetView, WireError, vlanPop, vlanPush } from '../../src/wire/index.ts';
import { SYN_QINQ } from './frames.ts';
import { embed } from './util.ts';

describe('EthernetView', () => {
  it('reads addresses and walks stacked 802.1ad + 802.1Q tags', () => {
    const v = new EthernetView(SYN_QINQ);
    expect(v.check()).toBeNull();
    expect(v.dst).toBe(0x020000000002);
    expect(v.src).toBe(0x020000000001);
    expect(v.vlanCount).toBe(2);
    expect(v.outerType).toBe(0x88a8);
    expect(v.tpid(0)).toBe(0x88a8);
    expect(v.tci(0)).toBe(100);
    expect(v.tpid(1)).toBe(0x8100);
    expect(v.tci(1)).toBe(200);
    expect(v.etherType).toBe(0x0800);
    expect(v.headerLen).toBe(22);
    expect(v.payloadOff).toBe(22);
    expect(v.payloadLen).toBe(SYN_QINQ.length - 22);
  });

  it('emits the same header bytes', () => {
    const r = EthernetRepr.parse(new EthernetView(SYN_QINQ));
    const out = new Uint8Array(22);
    expect(EthernetRepr.emit(r, out, 0)).toBe(22);
    expect(out).toEqual(SYN_QINQ.subarray(0, 22));
  });

  it('every truncation is TRUNCATED', () => {
    for (let k = 0; k < 22; k++) {
      const v = new EthernetView(SYN_QINQ, 0, k);
      expect(v.check()).toBe('TRUNCATED');
      expect(() => v.checked()).toThrow(WireError);
    }
  });

  it('round-trips any tag stack', () => {
    const arb = fc.record({
      dst: fc.nat(0xffffffffffff),
      src: fc.nat(0xffffffffffff),
      vlans: fc.array(fc.record({ tpid: fc.constantFrom(0x8100, 0x88a8), tci: fc.nat(0xffff) }), {
        maxLength: 5,
      }),
      etherType: fc.nat(0xffff).filter((t) => t !== 0x8100 && t !== 0x88a8),
    });
    fc.assert(
      fc.property(arb, fc.nat(4), (r, at) => {
        const buf = new Uint8Array(at + EthernetRepr.bufferLen(r));
        expect(EthernetRepr.emit(r, buf, at)).toBe(14 + 4 * r.vlans.length);
        expect(EthernetRepr.parse(new EthernetView(buf, at))).toEqual(r);
      }),
    );
  });

  it('garbage: typed error or a parse that stays in the window', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.nat(255), (g, fill) => {
        const t = new EthernetView(g);
        const e = t.check();
        const l = new EthernetView(embed(g, 3, 8, fill), 3, g.length);
        expect(l.check()).toBe(e);
        if (e === null) expect(EthernetRepr.parse(l)).toEqual(EthernetRepr.parse(t));
        else expect(e).toBe('TRUNCATED');
      }),
    );
  });

  it('emit rejects a VLAN TPID as the final EtherType and bad tags', () => {
    const out = new Uint8Array(30);
    expect(() => EthernetRepr.emit({ dst: 0, src: 0, vlans: [], etherType: 0x8100 }, out, 0)).toThrow(
      WireError,
    );
    expect(() =>
      EthernetRepr.emit({ dst: 0, src: 0, vlans: [{ tpid: 0x0800, tci: 1 }], etherType: 0x0800 }, out, 0),
    ).toThrow(WireError);
    expect(() => EthernetRepr.emit({ dst: 2 ** 48, src: 0, vlans: [], etherType: 0x0800 }, out, 0)).toThrow(
      WireError,
    );
  });

  it('pushes and pops tags in place, like __vlan_insert_tag / skb_vlan_pop', () => {
    const frame = SYN_QINQ.slice(0, 30);
    const buf = new Uint8Array(4 + frame.length);
    buf.set(frame, 4);
    expect(vlanPop(buf, 4, frame.length)).toBe(100);
    expect(vlanPop(buf, 8, frame.length - 4)).toBe(200);
    expect(vlanPop(buf, 12, frame.length - 8)).toBe(-1); // untagged now
    const plain = buf.slice(12);
    expect(Array.from(plain.subarray(0, 14))).toEqual([...SYN_QINQ.subarray(0, 12), 0x08, 0x00]);
    expect(vlanPush(buf, 12, 200)).toBe(8);
    expect(vlanPush(buf, 8, 100, 0x88a8)).toBe(4);
    expect(buf.subarray(4)).toEqual(frame);
    expect(vlanPush(buf, 3, 1)).toBe(-1);
    expect(vlanPop(buf, 4, 17)).toBe(-1);
  });
});
