// The emit helpers the stack writes headers through: the TCP option writer (round-tripped through
// the parser over random option sets), the data-offset setter, the NDP link-layer option, the IPv6
// fragment header, the IPv4 version/IHL setter and the ARP fixed fields.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ArpView,
  Ipv4View,
  Ipv6View,
  NdpOptType,
  parseNdpOptions,
  parseTcpOptions,
  TcpOptionWriter,
  TcpOptions,
  TcpView,
  writeIpv6FragmentHeader,
  writeLinkLayerOption,
} from '../../src/wire/index.ts';

describe('TcpOptionWriter', () => {
  it('writes what parseTcpOptions reads back, in Linux order, for any option set', () => {
    fc.assert(
      fc.property(
        fc.record({
          mss: fc.option(fc.integer({ min: 0, max: 0xffff }), { nil: undefined }),
          sackOk: fc.boolean(),
          ts: fc.option(
            fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff })),
            {
              nil: undefined,
            },
          ),
          ws: fc.option(fc.integer({ min: 0, max: 14 }), { nil: undefined }),
          sack: fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 6 }),
        }),
        (o) => {
          const buf = new Uint8Array(80).fill(0xee);
          const w = new TcpOptionWriter().reset(buf, 20);
          if (o.mss !== undefined) w.mss(o.mss);
          if (o.sackOk) w.nop().nop().sackPermitted();
          if (o.ts !== undefined) w.nop().nop().timestamp(o.ts[0], o.ts[1]);
          if (o.ws !== undefined) w.nop().windowScale(o.ws);
          const n = o.sack.length >> 1;
          if (n > 0) w.nop().nop().sack(Uint32Array.from(o.sack), n);
          const end = w.at;
          expect((end - 20) % 4).toBe(0);
          const out = new TcpOptions();
          expect(parseTcpOptions(buf, 20, end, out)).toBeNull();
          expect(out.mss).toBe(o.mss ?? -1);
          expect(out.sackPermitted).toBe(o.sackOk);
          expect(out.hasTimestamp).toBe(o.ts !== undefined);
          if (o.ts !== undefined) expect([out.tsVal, out.tsEcr]).toEqual(o.ts);
          expect(out.wscale).toBe(o.ws ?? -1);
          expect(out.sackCount).toBe(n);
          // Nothing past the list was touched.
          expect(buf[end]).toBe(0xee);
        },
      ),
    );
  });

  it('the data-offset setter writes the offset and clears the reserved bits; flags keep it', () => {
    const b = new Uint8Array(60).fill(0xff);
    const v = new TcpView(b, 0, 60);
    v.headerLen = 32;
    v.flags = 0x012;
    expect(b[12]).toBe(0x80);
    expect(v.headerLen).toBe(32);
    expect(v.flags).toBe(0x012);
  });
});

describe('header emit helpers', () => {
  it('NDP link-layer address option: 8 bytes, length 1, the MAC', () => {
    const b = new Uint8Array(16);
    const mac = Uint8Array.of(2, 0, 0, 0, 0, 7);
    expect(writeLinkLayerOption(b, 4, NdpOptType.TARGET_LL_ADDR, mac)).toBe(12);
    expect(parseNdpOptions(b, 4, 12)).toEqual([{ type: 'targetLinkAddr', addr: 0x020000000007 }]);
  });

  it('IPv6 fragment header: offset with M, identification', () => {
    const b = new Uint8Array(8);
    writeIpv6FragmentHeader(b, 0, 17, 1448, true, 0xdeadbeef);
    expect(Array.from(b)).toEqual([17, 0, 0x05, 0xa9, 0xde, 0xad, 0xbe, 0xef]);
  });

  it('IPv4 version/IHL, IPv6 first word, ARP fixed fields', () => {
    const b = new Uint8Array(40);
    new Ipv4View(b, 0, 20).headerLen = 24;
    expect(b[0]).toBe(0x46);
    const v6 = new Ipv6View(b, 0, 40);
    v6.initFirstWord(0xb8);
    expect(Array.from(b.subarray(0, 4))).toEqual([0x6b, 0x80, 0, 0]);
    expect(v6.trafficClass).toBe(0xb8);
    const a = new ArpView(b, 0, 28);
    a.initEthernetIpv4();
    expect(a.isEthernetIpv4).toBe(true);
  });
});
