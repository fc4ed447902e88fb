import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  META_F_DATA_VALID,
  META_F_NEEDS_CSUM,
  META_GSO_ECN,
  META_GSO_TCPV4,
  META_GSO_TCPV6,
  META_GSO_UDP,
  META_GSO_UDP_L4,
  Mempool,
  PacketMeta,
} from '../../src/mbuf/index.ts';
import {
  TapWriteInfo,
  VnetHdr,
  applyRxHdr,
  buildTxHdr,
  buildTxHdrMbuf,
  decodeVnetHdr,
  encodeVnetHdr,
  rxErrorOffset,
  validateTapWrite,
  type TxHdrOptions,
} from '../../src/vnethdr/index.ts';
import { buildFrame, type Frame, type FrameSpec } from './frames.ts';

function meta(flags: number, gsoType = 0, gsoSize = 0, csumOffset = 0): PacketMeta {
  const m = new PacketMeta();
  m.flags = flags;
  m.gsoType = gsoType;
  m.gsoSize = gsoSize;
  m.csumOffset = csumOffset;
  return m;
}

const out = new VnetHdr();

function build(
  m: PacketMeta,
  f: Frame,
  opts?: TxHdrOptions,
  headLen = f.bytes.length,
  frameLen = f.bytes.length,
) {
  return buildTxHdr(m, f.bytes, 0, headLen, frameLen, out, opts);
}

describe('buildTxHdr (virtio_net_tx_offload)', () => {
  it('gives an all-zero header without offloads', () => {
    out.flags = 9;
    expect(build(meta(0), buildFrame())).toBeNull();
    expect(out).toEqual(new VnetHdr());
  });

  it('checksum offload: csum_start at the L4 header, csum_offset by protocol, no hdr_len', () => {
    const cases: [FrameSpec, number, number][] = [
      [{}, 34, 16],
      [{ proto: 'udp' }, 34, 6],
      [{ v6: true }, 54, 16],
      [{ v6: true, proto: 'udp', v6Ext: 24 }, 78, 6],
      [{ vlans: [100] }, 38, 16],
      [{ vlans: [1, 2], proto: 'udp' }, 42, 6],
      [{ ipOpts: 8 }, 42, 16],
    ];
    for (const [spec, start, off] of cases) {
      const f = buildFrame(spec);
      expect(build(meta(META_F_NEEDS_CSUM), f)).toBeNull();
      expect([out.flags, out.csumStart, out.csumOffset, out.hdrLen, out.gsoType, out.gsoSize]).toEqual([
        1,
        start,
        off,
        0,
        0,
        0,
      ]);
      expect(out.csumStart).toBe(f.l4);
    }
    // Another protocol with an explicit csum_offset (ICMPv6: 2)
    expect(build(meta(META_F_NEEDS_CSUM, 0, 0, 2), buildFrame({ v6: true, proto: 'icmp' }))).toBeNull();
    expect([out.csumStart, out.csumOffset]).toEqual([54, 2]);
    expect(build(meta(META_F_NEEDS_CSUM), buildFrame({ proto: 'icmp' }))).toBe('TX_NO_L4');
  });

  it('TSO: exact hdr_len including TCP options, type from the frame, gso_size from meta', () => {
    const f = buildFrame({ tcpOpts: 12, payload: 3000 });
    expect(build(meta(META_F_NEEDS_CSUM, META_GSO_TCPV4, 1448), f)).toBeNull();
    expect([out.flags, out.gsoType, out.hdrLen, out.gsoSize, out.csumStart, out.csumOffset]).toEqual([
      1, 1, 66, 1448, 34, 16,
    ]);
    const g = buildFrame({ v6: true, v6Ext: 16, vlans: [7], tcpOpts: 20, payload: 3000 });
    // GSO implies NEEDS_CSUM even when meta forgot it
    expect(build(meta(0, META_GSO_TCPV6, 1440), g)).toBeNull();
    expect([out.flags, out.gsoType, out.hdrLen, out.csumStart]).toEqual([1, 4, 18 + 56 + 40, 18 + 56]);
  });

  it('USO and UFO: hdr_len covers the UDP header', () => {
    const f = buildFrame({ proto: 'udp', v6: true, payload: 3000 });
    expect(build(meta(META_F_NEEDS_CSUM, META_GSO_UDP_L4, 1000), f)).toBeNull();
    expect([out.gsoType, out.hdrLen, out.csumStart, out.csumOffset]).toEqual([5, 62, 54, 6]);
    expect(
      build(meta(META_F_NEEDS_CSUM, META_GSO_UDP, 1480), buildFrame({ proto: 'udp', payload: 3000 })),
    ).toBeNull();
    expect([out.gsoType, out.hdrLen]).toEqual([3, 42]);
  });

  it('ECN: a CWR segment needs allowEcn or an ECN meta; FreeBSD drops it otherwise', () => {
    const f = buildFrame({ tcpFlags: 0x90, payload: 3000 });
    expect(build(meta(META_F_NEEDS_CSUM, META_GSO_TCPV4, 1000), f)).toBe('TX_TSO_CWR');
    expect(build(meta(META_F_NEEDS_CSUM, META_GSO_TCPV4, 1000), f, { allowEcn: true })).toBeNull();
    expect(out.gsoType).toBe(0x81);
    expect(build(meta(META_F_NEEDS_CSUM, META_GSO_TCPV4 | META_GSO_ECN, 1000), f)).toBeNull();
    expect(out.gsoType).toBe(0x81);
    expect(
      build(meta(META_F_NEEDS_CSUM, META_GSO_UDP_L4 | META_GSO_ECN, 1000), buildFrame({ proto: 'udp' })),
    ).toBe('TX_GSO_MISMATCH');
  });

  it('reports frames it cannot describe', () => {
    const tcp = buildFrame({ payload: 3000 });
    expect(build(meta(0, META_GSO_UDP_L4, 1000), tcp)).toBe('TX_GSO_MISMATCH');
    expect(build(meta(0, META_GSO_TCPV6, 1000), tcp)).toBe('TX_GSO_MISMATCH');
    expect(build(meta(0, 2, 1000), tcp)).toBe('TX_GSO_MISMATCH');
    expect(build(meta(0, META_GSO_TCPV4, 0), tcp)).toBe('TX_GSO_SIZE');
    expect(build(meta(META_F_NEEDS_CSUM), buildFrame({ etherType: 0x0806 }))).toBe('TX_NO_L4');
    // headers not all in the contiguous head
    expect(build(meta(0, META_GSO_TCPV4, 1000), tcp, undefined, 40)).toBe('TX_UNPARSABLE');
    expect(build(meta(META_F_NEEDS_CSUM), tcp, undefined, 10)).toBe('TX_UNPARSABLE');
    expect(build(meta(META_F_NEEDS_CSUM), tcp, undefined, 5000)).toBe('TX_UNPARSABLE');
    // more than 65 535 bytes of IPv4 packet
    expect(build(meta(0, META_GSO_TCPV4, 1000), tcp, undefined, tcp.bytes.length, 14 + 65536)).toBe(
      'TX_GSO_TOO_LONG',
    );
    expect(build(meta(0, META_GSO_TCPV4, 1000), tcp, undefined, tcp.bytes.length, 14 + 65535)).toBeNull();
    const bad = buildFrame();
    bad.bytes[14] = 0x65; // version 6 in an IPv4 EtherType
    expect(build(meta(META_F_NEEDS_CSUM), bad)).toBe('TX_UNPARSABLE');
  });

  it('headers it builds are accepted by the Linux TAP model and segmented', () => {
    const info = new TapWriteInfo();
    const spec = fc.record({
      v6: fc.boolean(),
      proto: fc.constantFrom('tcp' as const, 'udp' as const),
      vlans: fc.array(fc.nat(4095), { maxLength: 2 }),
      tcpOpts: fc.constantFrom(0, 4, 12, 40),
      ipOpts: fc.constantFrom(0, 4, 40),
      v6Ext: fc.constantFrom(0, 8, 16),
      payload: fc.integer({ min: 1, max: 9000 }),
    });
    fc.assert(
      fc.property(spec, fc.integer({ min: 1, max: 1500 }), fc.boolean(), (s, mss, gso) => {
        const f = buildFrame(s);
        const type = s.proto === 'udp' ? META_GSO_UDP_L4 : s.v6 ? META_GSO_TCPV6 : META_GSO_TCPV4;
        const segs = Math.ceil(s.payload / mss);
        const m = gso ? meta(META_F_NEEDS_CSUM, type, mss) : meta(META_F_NEEDS_CSUM);
        const e = build(m, f);
        if (gso && s.proto === 'udp' && segs > 128) {
          expect(e).toBe('TX_GSO_TOO_LONG');
          return;
        }
        expect(e).toBeNull();
        expect(out.csumStart).toBe(f.l4);
        const superFrame = gso && s.payload > mss;
        expect(out.hdrLen).toBe(superFrame ? f.hdrEnd : 0);
        expect(out.gsoType).toBe(superFrame ? type : 0);
        const w = new Uint8Array(12 + f.bytes.length);
        encodeVnetHdr(out, w, 0, 12);
        w.set(f.bytes, 12);
        expect(validateTapWrite(w, 0, w.length, 12, info)).toBeNull();
        expect(info.gso).toBe(superFrame);
      }),
      { numRuns: 400 },
    );
  });

  it('buildTxHdrMbuf pulls the headers of a chained mbuf together first', () => {
    const pool = new Mempool({ segments: 64, segmentSize: 128, headroom: 0 });
    const f = buildFrame({ v6: true, v6Ext: 16, tcpOpts: 12, vlans: [3], payload: 500 });
    const m = pool.alloc()!;
    for (let i = 0; i < f.bytes.length; i += 10) m.append(f.bytes, i, Math.min(10, f.bytes.length - i));
    m.meta.flags = META_F_NEEDS_CSUM;
    m.meta.gsoType = META_GSO_TCPV6;
    m.meta.gsoSize = 100;
    expect(buildTxHdrMbuf(m, out)).toBeNull();
    expect([out.csumStart, out.hdrLen, out.gsoType]).toEqual([f.l4, f.hdrEnd, 4]);
    const copy = new Uint8Array(m.length);
    m.copyTo(copy);
    expect([...copy]).toEqual([...f.bytes]);
    m.free();
  });
});

describe('applyRxHdr (virtio_net_hdr_to_skb on receive)', () => {
  function hdr(v: Partial<VnetHdr>): VnetHdr {
    return Object.assign(new VnetHdr(), v);
  }
  const pm = new PacketMeta();

  it('maps NEEDS_CSUM + GSO into partial-checksum and super-frame metadata', () => {
    pm.flowHash = 42;
    pm.rxQueue = 3;
    const h = hdr({ flags: 1, gsoType: 0x81, hdrLen: 66, gsoSize: 1448, csumStart: 34, csumOffset: 16 });
    expect(applyRxHdr(h, 65226, pm)).toBeNull();
    expect([pm.flags, pm.csumStart, pm.csumOffset, pm.gsoType, pm.gsoSize, pm.hdrLen]).toEqual([
      META_F_NEEDS_CSUM,
      34,
      16,
      0x81,
      1448,
      66,
    ]);
    expect([pm.flowHash, pm.rxQueue]).toEqual([42, 3]); // left to the driver
  });

  it('DATA_VALID marks the checksum verified; NEEDS_CSUM wins over it', () => {
    expect(applyRxHdr(hdr({ flags: 2 }), 60, pm)).toBeNull();
    expect(pm.flags).toBe(META_F_DATA_VALID);
    expect(applyRxHdr(hdr({ flags: 3, csumStart: 34, csumOffset: 16 }), 60, pm)).toBeNull();
    expect(pm.flags).toBe(META_F_NEEDS_CSUM);
    expect(applyRxHdr(hdr({ flags: 4 }), 60, pm)).toBeNull(); // RSC_INFO alone means nothing here
    expect(pm.flags).toBe(0);
  });

  it('a GSO header on a frame not larger than gso_size is an ordinary frame', () => {
    // TCP payload counted from csum_start + 20: 1502 - 54 = 1448 is not larger than gso_size
    const h = hdr({ flags: 1, gsoType: 1, gsoSize: 1448, csumStart: 34, csumOffset: 16 });
    expect(applyRxHdr(h, 1502, pm)).toBeNull();
    expect([pm.flags, pm.gsoType, pm.gsoSize]).toEqual([META_F_NEEDS_CSUM, 0, 0]);
    expect(applyRxHdr(h, 1503, pm)).toBeNull();
    expect([pm.flags, pm.gsoType, pm.gsoSize]).toEqual([META_F_NEEDS_CSUM, 1, 1448]);
  });

  it('a header Linux refuses clears the metadata and says why', () => {
    pm.flags = 1;
    pm.gsoType = 1;
    expect(
      applyRxHdr(hdr({ flags: 1, gsoType: 1, gsoSize: 0, csumStart: 34, csumOffset: 16 }), 3000, pm),
    ).toBe('GSO_SIZE_ZERO');
    expect(rxErrorOffset()).toBe(4);
    expect([pm.flags, pm.gsoType]).toEqual([0, 0]);
    expect(applyRxHdr(hdr({ flags: 1, csumStart: 1500, csumOffset: 16 }), 1514, pm)).toBe(
      'CSUM_BEYOND_FRAME',
    );
    expect(
      applyRxHdr(hdr({ flags: 1, gsoType: 5, gsoSize: 100, csumStart: 34, csumOffset: 16 }), 3000, pm),
    ).toBe('USO_BAD_CSUM_OFFSET');
    expect(applyRxHdr(hdr({}), 14 + 40 + 65535 + 9, pm)).toBe('RX_FRAME_TOO_LONG');
    expect(applyRxHdr(hdr({}), 14 + 40 + 65535 + 8, pm)).toBeNull();
  });

  it('never throws on hostile headers; accepted metadata stays inside the frame', () => {
    fc.assert(
      fc.property(
        fc.record({
          flags: fc.nat(0xff),
          gsoType: fc.nat(0xff),
          hdrLen: fc.nat(0xffff),
          gsoSize: fc.nat(0xffff),
          csumStart: fc.nat(0xffff),
          csumOffset: fc.nat(0xffff),
        }),
        fc.nat(70000),
        (v, len) => {
          const e = applyRxHdr(hdr(v), len, pm);
          if (e === null && (pm.flags & META_F_NEEDS_CSUM) !== 0) {
            expect(pm.csumStart + pm.csumOffset + 2).toBeLessThanOrEqual(len);
          }
          if (e === null && pm.gsoType !== 0) expect(pm.gsoSize).toBeGreaterThan(0);
        },
      ),
    );
  });
});

describe('transmit → wire → receive', () => {
  it('a header built for transmit, encoded and decoded, gives the receiver the same offload metadata', () => {
    fc.assert(
      fc.property(
        fc.record({
          v6: fc.boolean(),
          proto: fc.constantFrom('tcp' as const, 'udp' as const),
          vlans: fc.array(fc.nat(4095), { maxLength: 2 }),
          tcpOpts: fc.constantFrom(0, 12),
          payload: fc.integer({ min: 1, max: 6000 }),
        }),
        fc.integer({ min: 64, max: 1500 }),
        fc.constantFrom(10, 12),
        (s, mss, size) => {
          const f = buildFrame(s);
          const type = s.proto === 'udp' ? META_GSO_UDP_L4 : s.v6 ? META_GSO_TCPV6 : META_GSO_TCPV4;
          const tx = meta(META_F_NEEDS_CSUM, type, mss);
          expect(build(tx, f)).toBeNull();
          const wire = new Uint8Array(size);
          encodeVnetHdr(out, wire, 0, size);
          const got = new VnetHdr();
          expect(decodeVnetHdr(wire, 0, size, got)).toBeNull();
          const rx = new PacketMeta();
          expect(applyRxHdr(got, f.bytes.length, rx)).toBeNull();
          const gso = s.payload > mss;
          expect([rx.flags, rx.csumStart, rx.csumOffset]).toEqual([
            META_F_NEEDS_CSUM,
            f.l4,
            s.proto === 'udp' ? 6 : 16,
          ]);
          expect([rx.gsoType, rx.gsoSize, rx.hdrLen]).toEqual(gso ? [type, mss, f.hdrEnd] : [0, 0, 0]);
        },
      ),
    );
  });
});
