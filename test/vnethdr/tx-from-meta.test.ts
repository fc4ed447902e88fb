// txHdrFromMeta (virtio_net_hdr_from_skb) writes the stack's offload fields into the header's
// bytes without parsing the frame. Its contract: whenever it accepts, the bytes equal the header
// buildTxHdr derives by parsing (virtio_net_tx_offload), encoded — for any frame and any metadata,
// consistent or not; when it refuses it writes nothing; and for the frames the stack builds
// (metadata consistent with the frame) it accepts.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  META_F_NEEDS_CSUM,
  META_GSO_ECN,
  META_GSO_NONE,
  META_GSO_TCPV4,
  META_GSO_TCPV6,
  META_GSO_UDP_L4,
  PacketMeta,
} from '../../src/mbuf/index.ts';
import { VnetHdr, buildTxHdr, encodeVnetHdr, txHdrFromMeta } from '../../src/vnethdr/index.ts';
import { buildFrame, type FrameSpec } from './frames.ts';

const CWR = 0x80;
const parsed = new VnetHdr();
/** The header as txHdrFromMeta wrote it, 12 bytes behind 4 guard bytes it must not touch. */
const out = new Uint8Array(4 + 12 + 4);
const FILL = 0xa5;
const written = (): Uint8Array => out.subarray(4, 16);
const expected = new Uint8Array(12);
function parsedBytes(): Uint8Array {
  encodeVnetHdr(parsed, expected, 0, 12);
  return expected;
}
function fromMeta(
  meta: PacketMeta,
  buf: Uint8Array,
  headLen: number,
  frameLen: number,
  opts?: { allowEcn: boolean },
): boolean {
  out.fill(FILL);
  const ok = txHdrFromMeta(meta, buf, 0, headLen, frameLen, out, 4, 12, opts);
  // Only the header's own bytes may change, and nothing at all on a refusal.
  expect(out.subarray(0, 4).every((b) => b === FILL) && out.subarray(16).every((b) => b === FILL)).toBe(true);
  if (!ok) expect(written().every((b) => b === FILL)).toBe(true);
  return ok;
}

const specArb = fc.record({
  v6: fc.boolean(),
  proto: fc.constantFrom<'tcp' | 'udp' | 'icmp'>('tcp', 'udp', 'icmp'),
  payload: fc.integer({ min: 0, max: 9000 }),
  tcpOpts: fc.constantFrom(0, 4, 12, 40),
  ipOpts: fc.constantFrom(0, 0, 4, 8),
  v6Ext: fc.constantFrom(0, 0, 8),
  vlans: fc.constantFrom<number[]>([], [], [5]),
  tcpFlags: fc.constantFrom(0x10, 0x18, 0x10 | CWR),
  etherType: fc.constantFrom<number | undefined>(undefined, undefined, 0x0806),
});

/** The metadata the stack sets for a frame it built (tcp.ts sendSegment, udp.ts). */
function honestMeta(spec: FrameSpec, l4: number, hdrEnd: number, gsoSize: number, ecn: boolean): PacketMeta {
  const m = new PacketMeta();
  m.flags = META_F_NEEDS_CSUM;
  m.csumStart = l4;
  m.csumOffset = spec.proto === 'udp' ? 6 : 16;
  if (spec.proto === 'tcp' && gsoSize > 0) {
    m.gsoType = (spec.v6 ? META_GSO_TCPV6 : META_GSO_TCPV4) | (ecn ? META_GSO_ECN : 0);
    m.gsoSize = gsoSize;
    m.hdrLen = hdrEnd;
  }
  return m;
}

describe('txHdrFromMeta (virtio_net_hdr_from_skb)', () => {
  it('accepts what the stack builds, and agrees with the parser', () => {
    fc.assert(
      fc.property(
        fc.record({
          v6: fc.boolean(),
          proto: fc.constantFrom<'tcp' | 'udp'>('tcp', 'udp'),
          payload: fc.integer({ min: 0, max: 60000 }),
          tcpOpts: fc.constantFrom(0, 12, 40),
          tcpFlags: fc.constantFrom(0x10, 0x18, 0x10 | CWR),
        }),
        fc.integer({ min: 0, max: 9000 }),
        fc.boolean(),
        fc.boolean(),
        (spec, gsoSize, ecn, allowEcn) => {
          const f = buildFrame(spec);
          const meta = honestMeta(spec, f.l4, f.hdrEnd, gsoSize, ecn);
          const n = f.bytes.length;
          const ok = fromMeta(meta, f.bytes, n, n, { allowEcn });
          const err = buildTxHdr(meta, f.bytes, 0, n, n, parsed, { allowEcn });
          expect(ok).toBe(err === null);
          if (ok) expect(written()).toEqual(parsedBytes());
        },
      ),
      { numRuns: 400 },
    );
  });

  it('never disagrees with the parser, whatever the metadata claims', () => {
    fc.assert(
      fc.property(
        specArb,
        fc.record({
          flags: fc.constantFrom(0, META_F_NEEDS_CSUM),
          csumStart: fc.oneof(fc.constantFrom(0, 14, 34, 38, 42, 54, 62), fc.integer({ min: 0, max: 200 })),
          csumOffset: fc.constantFrom(0, 6, 16, 10),
          gsoType: fc.constantFrom(
            META_GSO_NONE,
            META_GSO_TCPV4,
            META_GSO_TCPV6,
            META_GSO_UDP_L4,
            META_GSO_TCPV4 | META_GSO_ECN,
            0x42,
          ),
          gsoSize: fc.constantFrom(0, 1, 536, 1448, 0xffff),
          hdrLen: fc.integer({ min: 0, max: 140 }),
        }),
        fc.integer({ min: 0, max: 200 }),
        fc.boolean(),
        (spec, fields, headCut, allowEcn) => {
          const f = buildFrame(spec);
          const meta = new PacketMeta();
          Object.assign(meta, fields);
          const n = f.bytes.length;
          // Headers may be cut short of the frame (a chained mbuf whose pullup was not done).
          const head = Math.max(0, n - headCut);
          if (fromMeta(meta, f.bytes, head, n, { allowEcn })) {
            expect(buildTxHdr(meta, f.bytes, 0, n, n, parsed, { allowEcn })).toBeNull();
            expect(written()).toEqual(parsedBytes());
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('leaves to the parser what needs parsing', () => {
    const cases: [string, FrameSpec, Partial<PacketMeta>][] = [
      ['a VLAN tag', { vlans: [5] }, { csumStart: 38, csumOffset: 16 }],
      ['an IPv6 extension header', { v6: true, v6Ext: 8 }, { csumStart: 62, csumOffset: 16 }],
      ['ARP with a checksum request', { etherType: 0x0806 }, { csumStart: 34, csumOffset: 16 }],
      ['csum_start not at the L4 header', {}, { csumStart: 38, csumOffset: 16 }],
      [
        'UDP segmentation',
        { proto: 'udp', payload: 4000 },
        { csumStart: 34, csumOffset: 6, gsoType: META_GSO_UDP_L4, gsoSize: 1000, hdrLen: 42 },
      ],
      [
        'hdr_len that is not the TCP header end',
        { payload: 4000, tcpOpts: 12 },
        { csumStart: 34, csumOffset: 16, gsoType: META_GSO_TCPV4, gsoSize: 1000, hdrLen: 54 },
      ],
      [
        'CWR in a super-frame without the ECN bit',
        { payload: 4000, tcpFlags: 0x10 | CWR },
        { csumStart: 34, csumOffset: 16, gsoType: META_GSO_TCPV4, gsoSize: 1000, hdrLen: 54 },
      ],
    ];
    for (const [what, spec, fields] of cases) {
      const f = buildFrame(spec);
      const meta = Object.assign(new PacketMeta(), { flags: META_F_NEEDS_CSUM }, fields);
      const n = f.bytes.length;
      expect(fromMeta(meta, f.bytes, n, n), what).toBe(false);
    }
  });
});

describe('txHdrFromMeta destination', () => {
  it('writes 10 or 12 bytes and refuses a destination without room or an odd size', () => {
    const f = buildFrame({ payload: 100 });
    const meta = Object.assign(new PacketMeta(), {
      flags: META_F_NEEDS_CSUM,
      csumStart: f.l4,
      csumOffset: 16,
    });
    const n = f.bytes.length;
    const dst = new Uint8Array(12).fill(FILL);
    expect(txHdrFromMeta(meta, f.bytes, 0, n, n, dst, 2, 10)).toBe(true);
    expect([...dst.subarray(0, 2)]).toEqual([FILL, FILL]);
    expect([...dst.subarray(2, 12)]).toEqual([1, 0, 0, 0, 0, 0, f.l4, 0, 16, 0]);
    for (const [at, size] of [
      [3, 10],
      [1, 12],
      [-1, 10],
      [0, 11],
      [0, 0],
    ] as const) {
      dst.fill(FILL);
      expect(txHdrFromMeta(meta, f.bytes, 0, n, n, dst, at, size), `at ${at} size ${size}`).toBe(false);
      expect(dst.every((b) => b === FILL)).toBe(true);
    }
  });
});
