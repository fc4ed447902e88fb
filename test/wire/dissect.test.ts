import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FrameInfo, dissectFrame, dissectL3, type WireErrorCode } from '../../src/wire/index.ts';
import { SYN_QINQ, UDP6_EXT } from './frames.ts';
import { embed, hex } from './util.ts';

const CODES: WireErrorCode[] = [
  'TRUNCATED',
  'BAD_VERSION',
  'BAD_IHL',
  'BAD_TOTAL_LENGTH',
  'BAD_OPTION',
  'BAD_DATA_OFFSET',
  'BAD_LENGTH',
  'BAD_EXT_HEADER',
];

function snapshot(f: FrameInfo): Record<string, unknown> {
  return { ...f, l3End: f.l3End };
}

describe('dissectFrame', () => {
  it('walks QinQ → IPv4 → TCP', () => {
    const f = new FrameInfo();
    expect(dissectFrame(SYN_QINQ, 0, SYN_QINQ.length, f)).toBeNull();
    expect(f).toMatchObject({
      l2Len: 22,
      vlanCount: 2,
      outerTci: 100,
      etherType: 0x0800,
      l3Kind: 'ipv4',
      l3Off: 22,
      l3HdrLen: 20,
      l3Len: 60,
      isFragment: false,
      l4Proto: 6,
      l4Off: 42,
      l4HdrLen: 40,
      payloadOff: 82,
      payloadLen: 0,
    });
  });

  it('walks IPv6 extension headers to UDP', () => {
    const f = new FrameInfo();
    expect(dissectFrame(UDP6_EXT, 0, UDP6_EXT.length, f)).toBeNull();
    expect(f).toMatchObject({
      l2Len: 14,
      l3Kind: 'ipv6',
      l3HdrLen: 56,
      l3Len: 68,
      l4Proto: 17,
      l4Off: 70,
      l4HdrLen: 8,
      payloadOff: 78,
      payloadLen: 4,
    });
  });

  it('starts at L3 by version nibble or given EtherType', () => {
    const f = new FrameInfo();
    expect(dissectL3(SYN_QINQ, 22, SYN_QINQ.length - 22, f)).toBeNull();
    expect(f).toMatchObject({ l2Len: 0, l3Off: 22, l4Off: 42, l4HdrLen: 40 });
    expect(dissectL3(UDP6_EXT, 14, UDP6_EXT.length - 14, f, 0x86dd)).toBeNull();
    expect(f.payloadOff).toBe(78);
    expect(dissectL3(hex('5000'), 0, 2, f)).toBe('BAD_VERSION');
  });

  it('ignores Ethernet padding after the IP length', () => {
    const padded = new Uint8Array(UDP6_EXT.length + 10);
    padded.set(UDP6_EXT);
    const f = new FrameInfo();
    expect(dissectFrame(padded, 0, padded.length, f)).toBeNull();
    expect(f.l3End).toBe(UDP6_EXT.length);
    expect(f.payloadLen).toBe(4);
  });

  it('marks IPv4 fragments; later fragments have no L4 header', () => {
    const b = SYN_QINQ.slice();
    b[22 + 6] = 0x20; // MF, offset 0
    const f = new FrameInfo();
    dissectFrame(b, 0, b.length, f);
    expect(f).toMatchObject({ isFragment: true, isFirstFragment: true, l4HdrLen: 40 });
    b[22 + 6] = 0x00;
    b[22 + 7] = 0x10; // offset 128
    expect(dissectFrame(b, 0, b.length, f)).toBeNull();
    expect(f).toMatchObject({ isFragment: true, isFirstFragment: false, fragOffset: 128, l4HdrLen: 0 });
    expect(f.payloadOff).toBe(42);
    expect(f.payloadLen).toBe(40);
  });

  it('every truncation of both frames is a typed error, never a throw', () => {
    const f = new FrameInfo();
    for (const fr of [SYN_QINQ, UDP6_EXT]) {
      for (let k = 0; k < fr.length; k++) {
        const e = dissectFrame(fr, 0, k, f);
        expect(e).toBe('TRUNCATED');
        expect(f.errorOffset).toBeLessThanOrEqual(k);
      }
    }
  });

  it('bad windows are TRUNCATED', () => {
    const f = new FrameInfo();
    expect(dissectFrame(SYN_QINQ, 10, SYN_QINQ.length, f)).toBe('TRUNCATED');
    expect(dissectL3(SYN_QINQ, -2, 4, f)).toBe('TRUNCATED');
  });

  it('garbage (raw and mutated frames) gives a typed error or a window-respecting result', () => {
    const seeds = [SYN_QINQ, UDP6_EXT];
    const arbFrame = fc.oneof(
      fc.uint8Array({ maxLength: 120 }),
      fc
        .tuple(
          fc.constantFrom(...seeds),
          fc.array(fc.tuple(fc.nat(200), fc.nat(255)), { maxLength: 4 }),
          fc.nat(100),
        )
        .map(([s, muts, cut]) => {
          const b = s.slice(0, Math.max(0, s.length - (cut % 8)));
          for (const [i, v] of muts) if (b.length > 0) b[i % b.length] = v;
          return b;
        }),
    );
    const tight = new FrameInfo();
    const loose = new FrameInfo();
    fc.assert(
      fc.property(arbFrame, fc.nat(6), fc.nat(255), (g, at, fill) => {
        const e = dissectFrame(g, 0, g.length, tight);
        expect(dissectFrame(embed(g, at, 64, fill), at, g.length, loose)).toBe(e);
        if (e !== null) expect(CODES).toContain(e);
        const shift = (f: FrameInfo, d: number): Record<string, unknown> => {
          const s = snapshot(f);
          for (const k of ['start', 'end', 'l3Off', 'l4Off', 'payloadOff', 'l3End'])
            if ((k === 'l3End' ? f.l3Off : (s[k] as number)) >= 0) s[k] = (s[k] as number) - d;
          if (f.error !== null) s.errorOffset = f.errorOffset - d;
          return s;
        };
        expect(shift(loose, at)).toEqual(shift(tight, 0));
        if (e === null && tight.l3Off >= 0) {
          expect(tight.payloadOff + tight.payloadLen).toBeLessThanOrEqual(g.length);
          expect(tight.payloadLen).toBeGreaterThanOrEqual(0);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('ARP, unknown EtherTypes, ICMP and protocols without an L4 header', () => {
    const f = new FrameInfo();
    const arp = hex(
      'ffffffffffff 020000000001 0806 0001 0800 06 04 0001 020000000001 0a000001 000000000000 0a000002',
    );
    expect(dissectFrame(arp, 0, arp.length, f)).toBeNull();
    expect(f).toMatchObject({ l3Kind: 'arp', l3Off: 14, l3HdrLen: 28, l4Off: -1, l4Proto: -1 });
    expect(dissectFrame(arp, 0, arp.length - 1, f)).toBe('TRUNCATED');
    const lldp = hex('0180c200000e 020000000001 88cc 0000');
    expect(dissectFrame(lldp, 0, lldp.length, f)).toBeNull();
    expect(f).toMatchObject({ l3Kind: 'other', etherType: 0x88cc, l3Off: 14 });
    // IPv4 ICMP echo, then the same header carrying protocol 47 (GRE): no L4 header length
    const icmp = hex(
      '020000000002 020000000001 0800 4500 001c 0000 0000 4001 0000 0a000001 0a000002 0800 f7ff 0000 0000',
    );
    expect(dissectFrame(icmp, 0, icmp.length, f)).toBeNull();
    expect(f).toMatchObject({ l4Proto: 1, l4Off: 34, l4HdrLen: 8, payloadOff: 42, payloadLen: 0 });
    expect(dissectFrame(icmp, 0, icmp.length - 1, f)).toBe('TRUNCATED');
    icmp[23] = 47;
    expect(dissectFrame(icmp, 0, icmp.length, f)).toBeNull();
    expect(f).toMatchObject({ l4Proto: 47, l4Off: 34, l4HdrLen: 0, payloadOff: 34, payloadLen: 8 });
  });

  it('reports TCP data offset and UDP length faults at their byte', () => {
    const f = new FrameInfo();
    const b = SYN_QINQ.slice();
    b[42 + 12] = 0x40;
    expect(dissectFrame(b, 0, b.length, f)).toBe('BAD_DATA_OFFSET');
    expect(f.errorOffset).toBe(54);
    const u = UDP6_EXT.slice();
    u[70 + 5] = 4;
    expect(dissectFrame(u, 0, u.length, f)).toBe('BAD_LENGTH');
    expect(f.errorOffset).toBe(74);
    u[70 + 5] = 13;
    expect(dissectFrame(u, 0, u.length, f)).toBe('TRUNCATED');
  });

  it('IPv6 fragments: the first carries the L4 header (UDP length not checked), later ones do not', () => {
    // fixed header + fragment header (next UDP) + UDP header whose length covers the whole datagram
    const first = hex(`020000000002 020000000001 86dd 6000 0000 0018 2c 40
      20010db8000000000000000000000001 20010db8000000000000000000000002
      11 00 0001 12345678  04d2 0035 0400 0000 6162636465666768`);
    const f = new FrameInfo();
    expect(dissectFrame(first, 0, first.length, f)).toBeNull();
    expect(f).toMatchObject({ isFragment: true, isFirstFragment: true, moreFrags: true, l4Proto: 17 });
    expect(f).toMatchObject({ l3HdrLen: 48, l4Off: 62, l4HdrLen: 8, payloadOff: 70, payloadLen: 8 });
    const later = first.slice();
    later[54 + 3] = 0xb8; // offset 0xb8 bytes, MF clear
    later[54 + 2] = 0x00;
    expect(dissectFrame(later, 0, later.length, f)).toBeNull();
    expect(f).toMatchObject({ isFragment: true, isFirstFragment: false, fragOffset: 0xb8, moreFrags: false });
    expect(f).toMatchObject({ l4Off: 62, l4HdrLen: 0, payloadOff: 62, payloadLen: 16 });
  });

  it('a capture cut inside the payload still reports the whole IP header', () => {
    const f = new FrameInfo();
    expect(dissectFrame(SYN_QINQ, 0, 50, f)).toBe('TRUNCATED');
    expect(f).toMatchObject({ l3Kind: 'ipv4', l3Off: 22, l3HdrLen: 20, l3Len: 60, l4Proto: 6, l4Off: -1 });
    expect(dissectFrame(UDP6_EXT, 0, 60, f)).toBe('TRUNCATED');
    expect(f).toMatchObject({ l3Kind: 'ipv6', l3Off: 14, l3HdrLen: 40, l3Len: 68, l4Proto: 0, l4Off: -1 });
    expect(dissectFrame(SYN_QINQ, 0, 41, f)).toBe('TRUNCATED');
    expect(f).toMatchObject({ l3Kind: 'ipv4', l3HdrLen: 0 });
  });
});
