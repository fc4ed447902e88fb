// The fast segmenter (headers once per super-frame, RFC 1624 checksums, copy-and-sum in packet
// memory) against a slow one written from the definitions: each segment built alone, every field
// written with a DataView, every checksum summed over the whole header and segment from scratch
// with the RFC 1071 loop. Both must agree byte for byte over random MSS, payload lengths, flags,
// IPv4/IPv6 with options and extension headers, VLAN tags, with and without NEEDS_CSUM.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SegmentList, gsoSegment, type GsoHeader } from '../../src/tso/index.ts';
import { buildFrame, rng, type FrameSpec } from '../oracle/lib/gen.ts';

/** RFC 1071 §4.1, one word at a time, folded; 0 only for all-zero data. */
function sum(b: Uint8Array, off: number, len: number, seed = 0): number {
  let s = seed;
  for (let i = 0; i + 1 < len; i += 2) s += (b[off + i]! << 8) | b[off + i + 1]!;
  if (len & 1) s += b[off + len - 1]! << 8;
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return s;
}

const FIN = 0x01;
const PSH = 0x08;
const CWR = 0x80;

interface Shape {
  nh: number;
  th: number;
  v6: boolean;
}

function pseudo(f: Uint8Array, s: Shape, proto: number, l4len: number): number {
  const a = s.v6 ? sum(f, s.nh + 8, 32) : sum(f, s.nh + 12, 8);
  return sum(new Uint8Array(0), 0, 0, a + proto + (l4len >>> 16) + (l4len & 0xffff));
}

/** One segment of `f`: headers [0, hl) and payload [from, from + chunk). */
function cut(f: Uint8Array, hl: number, from: number, chunk: number): { seg: Uint8Array; v: DataView } {
  const seg = new Uint8Array(hl + chunk);
  seg.set(f.subarray(0, hl));
  seg.set(f.subarray(from, from + chunk), hl);
  return { seg, v: new DataView(seg.buffer) };
}

/** inet_gso_segment / ipv6_gso_segment per segment: lengths, id, a recomputed header checksum. */
function ipFields(seg: Uint8Array, v: DataView, s: Shape, id: number): void {
  if (s.v6) {
    v.setUint16(s.nh + 4, seg.length - s.nh - 40);
    return;
  }
  v.setUint16(s.nh + 2, seg.length - s.nh);
  v.setUint16(s.nh + 4, id & 0xffff);
  v.setUint16(s.nh + 10, 0);
  v.setUint16(s.nh + 10, ~sum(seg, s.nh, (seg[s.nh]! & 15) * 4) & 0xffff);
}

/** tcp_gso_segment, each segment alone. */
function refTcp(f: Uint8Array, h: GsoHeader, s: Shape, needsCsum: boolean): Uint8Array[] {
  const fv = new DataView(f.buffer, f.byteOffset, f.length);
  const thlen = (f[s.th + 12]! >> 4) * 4;
  const hl = s.th + thlen;
  const l4len = f.length - s.th;
  const check = needsCsum ? fv.getUint16(s.th + 16) : pseudo(f, s, 6, l4len);
  const payload = f.length - hl;
  const n = Math.ceil(payload / h.gsoSize);
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const chunk = Math.min(h.gsoSize, payload - i * h.gsoSize);
    const { seg, v } = cut(f, hl, hl + i * h.gsoSize, chunk);
    ipFields(seg, v, s, s.v6 ? 0 : fv.getUint16(s.nh + 4) + i);
    v.setUint32(s.th + 4, (fv.getUint32(s.th + 4) + i * h.gsoSize) >>> 0);
    let fl = f[s.th + 13]!;
    if (i < n - 1) fl &= ~(FIN | PSH);
    if (i > 0) fl &= ~CWR;
    seg[s.th + 13] = fl;
    const delta = ((~l4len >>> 0) + thlen + chunk) >>> 0;
    v.setUint16(s.th + 16, sum(new Uint8Array(0), 0, 0, check + (delta >>> 16) + (delta & 0xffff)));
    v.setUint16(s.th + 16, ~sum(seg, s.th, thlen + chunk) & 0xffff);
    out.push(seg);
  }
  return out;
}

/** __udp_gso_segment, each segment alone. */
function refUdp(f: Uint8Array, h: GsoHeader, s: Shape): Uint8Array[] {
  const fv = new DataView(f.buffer, f.byteOffset, f.length);
  const hl = s.th + 8;
  const payload = f.length - hl;
  const add = (a: number, b: number): number => sum(new Uint8Array(0), 0, 0, a + b);
  const partial = add(fv.getUint16(s.th + 6), ~fv.getUint16(s.th + 4) & 0xffff);
  const n = Math.ceil(payload / h.gsoSize);
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const chunk = Math.min(h.gsoSize, payload - i * h.gsoSize);
    const { seg, v } = cut(f, hl, hl + i * h.gsoSize, chunk);
    ipFields(seg, v, s, s.v6 ? 0 : fv.getUint16(s.nh + 4) + i);
    v.setUint16(s.th + 4, 8 + chunk);
    v.setUint16(s.th + 6, add(partial, 8 + chunk));
    v.setUint16(s.th + 6, ~sum(seg, s.th, 8 + chunk) & 0xffff || 0xffff);
    out.push(seg);
  }
  return out;
}

/** skb_checksum_help on a frame that is not GSO. */
function refCsum(f: Uint8Array, h: GsoHeader): Uint8Array[] {
  const seg = f.slice();
  const s = sum(seg, h.csumStart, seg.length - h.csumStart);
  new DataView(seg.buffer).setUint16(h.csumStart + h.csumOffset, ~s & 0xffff || 0xffff);
  return [seg];
}

/** Byte equality (vitest's deep equality walks a 64 KiB array element by element, slowly). */
function same(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(a, b) === 0;
}

const spec = fc.record({
  v6: fc.boolean(),
  vlans: fc.constantFrom<number[]>([], [5], [7, 100]),
  udp: fc.boolean(),
  needsCsum: fc.boolean(),
  ipOpts: fc.constantFrom(0, 4, 12, 40),
  ext: fc.constantFrom<[number, number][]>(
    [],
    [[0, 8]],
    [
      [0, 16],
      [60, 8],
    ],
    [[43, 24]],
  ),
  tcpOpts: fc.constantFrom(0, 4, 12, 40),
  mss: fc.oneof(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 500, max: 9000 })),
  extra: fc.integer({ min: 1, max: 20_000 }),
  flags: fc.integer({ min: 0, max: 0xff }),
  seq: fc.integer({ min: 0, max: 0xffffffff }),
  id: fc.integer({ min: 0, max: 0xffff }),
  tos: fc.integer({ min: 0, max: 0xff }),
  seed: fc.integer(),
  badCheck: fc.option(fc.integer({ min: 0, max: 0xffff }), { nil: undefined }),
});

describe('gsoSegment equals a from-the-definitions segmenter', () => {
  const out = new SegmentList(4096, 4); // small, so growing is exercised too

  it('property: TCP and USO over IPv4/IPv6, VLAN, options, any MSS, with and without NEEDS_CSUM', () => {
    fc.assert(
      fc.property(spec, (p) => {
        const udp = p.udp;
        // USO needs NEEDS_CSUM and at most 64 segments; TCP mss stays within a 64 KiB IP packet.
        const needsCsum = udp || p.needsCsum;
        const mss = udp ? Math.max(p.mss, 1 + Math.ceil(p.extra / 64)) : p.mss;
        // At most ~100 segments, so a run stays quick.
        const payload = Math.min(mss + Math.min(p.extra, 100 * mss), 60_000);
        const fs: FrameSpec = {
          v6: p.v6,
          vlans: p.vlans,
          proto: udp ? 17 : 6,
          ipOptions: p.v6 || p.ipOpts === 0 ? undefined : new Uint8Array(p.ipOpts).fill(1),
          ext: p.v6 ? p.ext : undefined,
          tcpOptions: udp || p.tcpOpts === 0 ? undefined : new Uint8Array(p.tcpOpts).fill(1),
          payload,
          flags: p.flags & ~(0x02 | 0x04), // a SYN or RST super-frame is not what TSO sends
          seq: p.seq,
          id: p.id,
          tos: p.tos,
          check: needsCsum ? 'pseudo' : p.badCheck,
        };
        const b = buildFrame(fs, rng(p.seed));
        const h: GsoHeader = {
          flags: needsCsum ? 1 : 0,
          gsoType: udp ? 5 : (p.v6 ? 4 : 1) | (fs.flags! & CWR ? 0x80 : 0),
          hdrLen: b.th + b.thlen,
          gsoSize: mss,
          csumStart: needsCsum ? b.th : 0,
          csumOffset: needsCsum ? (udp ? 6 : 16) : 0,
        };
        const s: Shape = { nh: b.nh, th: b.th, v6: p.v6 };
        const want = udp ? refUdp(b.frame, h, s) : refTcp(b.frame, h, s, needsCsum);
        const n = gsoSegment(h, b.frame, out);
        expect(n).toBe(want.length);
        for (let i = 0; i < n; i++) expect(same(out.segment(i), want[i]!), `segment ${i}`).toBe(true);
        expect(out.byteLength).toBe(want.reduce((a, x) => a + x.length, 0));
      }),
      { numRuns: 300 },
    );
  });

  it('property: a frame that is not GSO gets its checksum completed like skb_checksum_help', () => {
    fc.assert(
      fc.property(spec, (p) => {
        const b = buildFrame(
          { v6: p.v6, vlans: p.vlans, proto: p.udp ? 17 : 6, payload: p.extra, seq: p.seq },
          rng(p.seed),
        );
        const h: GsoHeader = {
          flags: 1,
          gsoType: 0,
          hdrLen: 0,
          gsoSize: 0,
          csumStart: b.th,
          csumOffset: p.udp ? 6 : 16,
        };
        expect(gsoSegment(h, b.frame, out)).toBe(1);
        expect(same(out.segment(0), refCsum(b.frame, h)[0]!)).toBe(true);
      }),
      { numRuns: 100 },
    );
  });

  it('property: a frame gathered in frameRoom() is segmented in place, with the same result', () => {
    const room = new SegmentList(4096, 4);
    fc.assert(
      fc.property(spec, (p) => {
        const b = buildFrame(
          { v6: p.v6, vlans: p.vlans, proto: 6, payload: 3000 + p.extra, seq: p.seq },
          rng(p.seed),
        );
        const h: GsoHeader = {
          flags: 1,
          gsoType: p.v6 ? 4 : 1,
          hdrLen: b.th + b.thlen,
          gsoSize: 1000 + (p.mss % 500),
          csumStart: b.th,
          csumOffset: 16,
        };
        const want = refTcp(b.frame, h, { nh: b.nh, th: b.th, v6: p.v6 }, true);
        // Any 8-byte alignment the caller's source has (VALE: where a slot's frame starts).
        const align = p.extra & 7;
        const f = room.frameRoom(b.frame.length, align);
        f.set(b.frame);
        expect(f.buffer).toBe(room.data.buffer);
        expect(f.byteOffset).toBe(align);
        expect(gsoSegment(h, f, room)).toBe(want.length);
        for (let i = 0; i < want.length; i++) {
          expect(same(room.segment(i), want[i]!), `segment ${i}`).toBe(true);
          expect(room.start(i)).toBeGreaterThanOrEqual(align + f.length);
        }
      }),
      { numRuns: 50 },
    );
  });

  it('starts every segment on an 8-byte boundary and leaves no segment overlapping another', () => {
    const b = buildFrame({ proto: 6, payload: 10_000, fill: 3 });
    const h: GsoHeader = { flags: 1, gsoType: 1, hdrLen: 54, gsoSize: 999, csumStart: 34, csumOffset: 16 };
    const n = gsoSegment(h, b.frame, out);
    expect(n).toBe(11);
    for (let i = 0; i < n; i++) {
      expect(out.start(i) % 8).toBe(0);
      if (i > 0) expect(out.start(i)).toBeGreaterThanOrEqual(out.end(i - 1));
    }
  });
});
