// VALE: learning and flooding, multi-slot packets, the §5 header conversions, checksum completion
// and segmentation toward header-less ports, and every drop counted by reason.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { csumValid, ipv4HeaderValid, pseudoV4 } from '../../src/checksum/index.ts';
import {
  ForwardingTable,
  HostError,
  ValeSwitch,
  convertVnetHdr,
  smallRegion,
  vnetHdrIsBad,
} from '../../src/host/index.ts';
import { NS_MOREFRAG, NS_NO_LEARN } from '../../src/netmap/constants.ts';
import { SegmentList, gsoSegment } from '../../src/tso/index.ts';
import { frame, inlineGuest, seqOf } from './guest.ts';

const BCAST = new Uint8Array(6).fill(0xff);
const IP_A = 0x0a000001;
const IP_B = 0x0a000002;

function vnetHdr(
  len: number,
  f: {
    flags?: number;
    gsoType?: number;
    hdrLen?: number;
    gsoSize?: number;
    csumStart?: number;
    csumOffset?: number;
    numBuffers?: number;
  } = {},
): Uint8Array {
  const h = new Uint8Array(len);
  if (len === 0) return h;
  const dv = new DataView(h.buffer);
  h[0] = f.flags ?? 0;
  h[1] = f.gsoType ?? 0;
  dv.setUint16(2, f.hdrLen ?? 0, true);
  dv.setUint16(4, f.gsoSize ?? 0, true);
  dv.setUint16(6, f.csumStart ?? 0, true);
  dv.setUint16(8, f.csumOffset ?? 0, true);
  if (len === 12) dv.setUint16(10, f.numBuffers ?? 0, true);
  return h;
}

function cat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Ethernet + IPv4 + UDP or TCP; the L4 checksum field holds `seed` (a NEEDS_CSUM partial). */
function ipv4Frame(
  dst: Uint8Array,
  src: Uint8Array,
  proto: 6 | 17,
  payload: number,
  seed: number,
): Uint8Array {
  const l4h = proto === 6 ? 20 : 8;
  const f = new Uint8Array(14 + 20 + l4h + payload);
  const dv = new DataView(f.buffer);
  f.set(dst, 0);
  f.set(src, 6);
  dv.setUint16(12, 0x0800);
  f[14] = 0x45;
  dv.setUint16(16, 20 + l4h + payload);
  dv.setUint16(18, 0x1234);
  dv.setUint16(20, 0x4000);
  f[22] = 64;
  f[23] = proto;
  dv.setUint32(26, IP_A);
  dv.setUint32(30, IP_B);
  let s = 0;
  for (let i = 14; i < 34; i += 2) s += dv.getUint16(i);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  dv.setUint16(24, ~s & 0xffff);
  dv.setUint16(34, 1000);
  dv.setUint16(36, 2000);
  if (proto === 17) {
    dv.setUint16(38, 8 + payload);
    dv.setUint16(40, seed);
  } else {
    dv.setUint32(38, 1_000_000);
    dv.setUint32(42, 1);
    f[46] = 5 << 4;
    f[47] = 0x18; // PSH|ACK
    dv.setUint16(48, 65535);
    dv.setUint16(50, seed);
  }
  for (let i = 14 + 20 + l4h; i < f.length; i++) f[i] = (i * 7) & 0xff;
  return f;
}

type Guest = ReturnType<typeof inlineGuest>;
type Port = ReturnType<ValeSwitch['attach']>;

/** Three ports on one switch (header lengths `hdr`) and an inline guest on each, as tuples. */
function threePorts(hdr = [0, 0, 0]): {
  vale: ValeSwitch;
  ports: [Port, Port, Port];
  guests: [Guest, Guest, Guest];
} {
  const vale = new ValeSwitch('vale1', { maxPorts: 8 });
  const q: (() => void)[] = [];
  const ports = hdr.map((h, i) => vale.attach(`p${i}`, { vnetHdrLen: h, txSlots: 128, rxSlots: 128 }));
  const guests = ports.map((p) => inlineGuest(p, q));
  return { vale, ports: ports as [Port, Port, Port], guests: guests as [Guest, Guest, Guest] };
}

describe('VALE forwarding', () => {
  it('floods unknown and broadcast destinations, learns sources, switches known ones', () => {
    const { ports, guests } = threePorts();
    const [a, b, c] = guests;
    const [pa, pb, pc] = ports;
    const unknown = new Uint8Array([0x02, 9, 9, 9, 9, 9]);
    a.send(frame(unknown, pa.mac, 1));
    expect(b.recv().map((p) => seqOf(p.data))).toEqual([1]);
    expect(c.recv().map((p) => seqOf(p.data))).toEqual([1]);
    expect(a.recv()).toEqual([]);
    // a is learnt: b → a goes to a only.
    b.send(frame(pa.mac, pb.mac, 2));
    expect(a.recv().map((p) => seqOf(p.data))).toEqual([2]);
    expect(c.recv()).toEqual([]);
    a.send(frame(pb.mac, pa.mac, 3));
    expect(b.recv().map((p) => seqOf(p.data))).toEqual([3]);
    expect(c.recv()).toEqual([]);
    // Broadcast and multicast flood.
    c.send(frame(BCAST, pc.mac, 4), frame(new Uint8Array([0x01, 0, 0x5e, 0, 0, 1]), pc.mac, 5));
    expect(a.recv().map((p) => seqOf(p.data))).toEqual([4, 5]);
    expect(b.recv().map((p) => seqOf(p.data))).toEqual([4, 5]);
    expect(c.recv()).toEqual([]);
  });

  it('does not learn from NS_NO_LEARN slots, and never sends a frame back out of its port', () => {
    const { ports, guests } = threePorts();
    const [a, b, c] = guests;
    const pa = ports[0]!;
    const y = new Uint8Array([0x02, 1, 2, 3, 4, 5]);
    c.tx.txsync();
    c.tx.put(frame(BCAST, y, 1), NS_NO_LEARN);
    c.tx.txsync();
    c.drain();
    a.recv();
    b.recv();
    a.send(frame(y, pa.mac, 2));
    expect(b.recv().length).toBe(1); // still unknown: flooded
    expect(c.recv().length).toBe(1);
    // A frame to a's own (learnt) address sent by a is filtered, not reflected.
    a.send(frame(pa.mac, pa.mac, 3));
    expect(a.recv()).toEqual([]);
    expect(b.recv()).toEqual([]);
  });

  it('a destination flooded once is switched as soon as it is learnt (no stale cached lookup)', () => {
    const { ports, guests } = threePorts();
    const [a, b, c] = guests;
    const pc = ports[2]!;
    a.send(frame(pc.mac, ports[0]!.mac, 1), frame(pc.mac, ports[0]!.mac, 2));
    expect(b.recv().length).toBe(2);
    expect(c.recv().length).toBe(2);
    c.send(frame(BCAST, pc.mac, 3));
    a.recv();
    b.recv();
    a.send(frame(pc.mac, ports[0]!.mac, 4));
    expect(b.recv()).toEqual([]);
    expect(c.recv().map((p) => seqOf(p.data))).toEqual([4]);
  });

  it('tells apart MACs differing in any one bit, at every header length (the cached lookups)', () => {
    // preflush keys its cached learn and lookup on the MACs read as words (a 0- or 12-byte header)
    // or halves (10): a key that lost a bit would send one of two such addresses to the other's
    // port, or skip learning it. Bit 0 of byte 0 is the group bit: flipping it floods. Cases where
    // two of the addresses share a bucket are skipped: the table keeps one of them, as netmap's.
    let skipped = 0;
    for (const h of [0, 10, 12]) {
      const { guests } = threePorts([h, 0, 0]);
      const [a, b, c] = guests;
      const withHdr = (f: Uint8Array): Uint8Array => cat(vnetHdr(h), f);
      const me = new Uint8Array([0x02, 0xaa, 0, 0, 0, 1]);
      const macB = new Uint8Array([0x02, 0x10, 0x20, 0x30, 0x40, 0x50]);
      const x = new Uint8Array([0x02, 0x60, 0x70, 0x80, 0x90, 0xa0]);
      for (let bit = 1; bit < 48; bit++) {
        const macC = macB.slice();
        const y = x.slice();
        macC[bit >> 3]! ^= 1 << (bit & 7);
        y[bit >> 3]! ^= 1 << (bit & 7);
        const buckets = [me, macB, macC, x, y].map((m) => ForwardingTable.bucketOf(m));
        if (new Set(buckets).size < buckets.length) {
          skipped++;
          continue;
        }
        const what = `h ${h} bit ${bit}`;
        b.send(frame(BCAST, macB, 1));
        c.send(frame(BCAST, macC, 2));
        a.recv();
        b.recv();
        c.recv();
        // Destinations: alternating in one batch, each to its own port.
        a.send(...[macB, macC, macB, macC].map((d, i) => withHdr(frame(d, me, 10 + i))));
        expect(
          b.recv().map((f) => seqOf(f.data)),
          what,
        ).toEqual([10, 12]);
        expect(
          c.recv().map((f) => seqOf(f.data)),
          what,
        ).toEqual([11, 13]);
        // Sources: two addresses learnt in one batch are both switched to a afterwards.
        a.send(withHdr(frame(BCAST, x, 20)), withHdr(frame(BCAST, y, 21)));
        b.recv();
        c.recv();
        b.send(frame(y, macB, 22), frame(x, macB, 23));
        expect(
          a.recv().map((f) => seqOf(f.data, h + 14)),
          what,
        ).toEqual([22, 23]);
        expect(c.recv(), `${what}: flooded`).toEqual([]);
      }
    }
    expect(skipped).toBeLessThan(10);
  });

  it('learns a source again once another port took it over (a moved MAC), as netmap learns every frame', () => {
    const { ports, guests } = threePorts();
    const [a, b, c] = guests;
    const m = new Uint8Array([0x02, 0x33, 0x44, 0x55, 0x66, 0x77]);
    a.send(frame(BCAST, m, 1));
    b.send(frame(BCAST, m, 2));
    // a sends from m again: its cached source must not stop it from taking m back.
    a.send(frame(BCAST, m, 3));
    for (const g of guests) g.recv();
    c.send(frame(m, ports[2]!.mac, 4));
    expect(a.recv().map((f) => seqOf(f.data))).toEqual([4]);
    expect(b.recv()).toEqual([]);
  });

  it('forwards multi-slot packets with the fragment count in the high byte of flags', () => {
    const { ports, guests } = threePorts();
    const [a, b] = guests;
    const big = frame(ports[1]!.mac, ports[0]!.mac, 9, 5000);
    a.send(big);
    const got = b.recv();
    expect(got.length).toBe(1);
    expect(got[0]!.data).toEqual(big);
    expect(got[0]!.flags).toEqual([(3 << 8) | NS_MOREFRAG, (3 << 8) | NS_MOREFRAG, 3 << 8]);
  });

  it('leaves a chain still open at head for the next sync, then forwards it whole', () => {
    const { ports, guests } = threePorts();
    const [a, b] = guests;
    const big = frame(ports[1]!.mac, ports[0]!.mac, 3, 3000);
    a.tx.txsync();
    a.tx.put(frame(ports[1]!.mac, ports[0]!.mac, 1));
    a.tx.put(big.subarray(0, 2048), NS_MOREFRAG);
    a.tx.txsync();
    a.drain();
    expect(b.recv().map((p) => seqOf(p.data))).toEqual([1]);
    expect(ports[0]!.datapath.krings[0]!.hwcur).toBe(1);
    a.tx.put(big.subarray(2048));
    a.tx.txsync();
    a.drain();
    const got = b.recv();
    expect(got.map((p) => p.data)).toEqual([big]);
  });

  it('forwards more than a batch (1024 packets) in one txsync', () => {
    const vale = new ValeSwitch('vbatch', { maxPorts: 2, region: smallRegion(4 * 2048 + 64, 4) });
    const pa = vale.attach('a', { txSlots: 2048, rxSlots: 2048 });
    const pb = vale.attach('b', { txSlots: 2048, rxSlots: 2048 });
    const q: (() => void)[] = [];
    const a = inlineGuest(pa, q);
    const b = inlineGuest(pb, q);
    a.send(...Array.from({ length: 1500 }, (_, i) => frame(pb.mac, pa.mac, i)));
    expect(b.recv().map((p) => seqOf(p.data))).toEqual(Array.from({ length: 1500 }, (_, i) => i));
  });

  it('drops chains longer than 64 slots whole', () => {
    const { ports, guests } = threePorts();
    const [a, b] = guests;
    a.tx.txsync();
    const f = frame(ports[1]!.mac, ports[0]!.mac, 1);
    for (let i = 0; i < 65; i++) a.tx.put(f, i < 64 ? NS_MOREFRAG : 0);
    a.tx.put(frame(ports[1]!.mac, ports[0]!.mac, 2));
    a.tx.txsync();
    a.drain();
    expect(b.recv().map((p) => seqOf(p.data))).toEqual([2]);
    expect(ports[0]!.datapath.drops().BAD_FRAGS).toBe(1);
  });

  it('counts bad buffer indices, runts and a full receiver', () => {
    const { ports, guests } = threePorts();
    const [a, b] = guests;
    const [pa, pb] = [ports[0]!, ports[1]!];
    a.tx.txsync();
    a.tx.put(frame(pb.mac, pa.mac, 1));
    const bad = (a.tx.head + a.tx.n - 1) % a.tx.n;
    const idx = a.tx.bufIdx(bad);
    a.tx.setBufIdx(bad, 0xfffffff);
    a.tx.put(new Uint8Array(10));
    a.tx.txsync();
    a.drain();
    a.tx.setBufIdx(bad, idx);
    expect(pa.datapath.drops().BAD_BUF_IDX).toBe(1);
    expect(pa.datapath.drops().RUNT).toBe(1);
    // 127 slots of room: the rest of 200 is dropped, nothing blocks the sender.
    for (let i = 0; i < 200; i += 50)
      a.send(...Array.from({ length: 50 }, (_, k) => frame(pb.mac, pa.mac, i + k)));
    expect(b.recv().length).toBe(127);
    expect(pb.datapath.drops().NO_SPACE).toBe(73);
  });

  it('accepts only 0, 10 and 12 as vnet header lengths, mfs following', () => {
    const vale = new ValeSwitch('vale2', { maxPorts: 2 });
    const p = vale.attach('x');
    for (const n of [1, 8, 11, 13, 20, -1, 12.5]) expect(p.setVnetHdrLen(n)).toBe(false);
    expect(p.setVnetHdrLen(12)).toBe(true);
    expect([p.vnetHdrLen, p.datapath.mfs]).toEqual([12, 2048]);
    expect(p.setVnetHdrLen(0)).toBe(true);
    expect([p.vnetHdrLen, p.datapath.mfs]).toEqual([0, 1514]);
    vale.attach('y');
    expect(() => vale.attach('z')).toThrow(HostError);
    expect(() => vale.attach('y')).toThrow(HostError);
  });
});

describe('VALE header mismatch (§5)', () => {
  const cases: [number, number][] = [
    [0, 10],
    [0, 12],
    [10, 12],
    [12, 10],
    [10, 10],
    [12, 12],
  ];
  it.each(cases)('%i → %i: the destination header follows §5.1 and the frame is intact', (shl, dhl) => {
    const { ports, guests } = threePorts([shl, dhl, dhl]);
    const [a, b] = guests;
    const f = frame(ports[1]!.mac, ports[0]!.mac, 5, 3000);
    const h = vnetHdr(shl, {
      flags: 2,
      gsoType: 0,
      hdrLen: 54,
      gsoSize: 1448,
      csumStart: 34,
      csumOffset: 6,
      numBuffers: 7,
    });
    a.send(cat(h, f));
    const got = b.recv();
    expect(got.length).toBe(1);
    const d = got[0]!.data;
    expect(d.subarray(dhl)).toEqual(f);
    const want = new Uint8Array(dhl);
    if (shl === dhl) want.set(h);
    else if (shl !== 0) {
      want.set(h.subarray(0, 10));
    }
    expect(d.subarray(0, dhl)).toEqual(want);
  });

  it('convertVnetHdr zeroes num_buffers from 10 to 12 and copies 10 bytes from 12 to 10', () => {
    const buf = new Uint8Array(64).fill(0xaa);
    buf.set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], 0);
    convertVnetHdr(buf, 0, 10, 20, 12);
    expect([...buf.subarray(20, 32)]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0, 0]);
    convertVnetHdr(buf, 0, 12, 40, 10);
    expect([...buf.subarray(40, 51)]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0xaa]);
    convertVnetHdr(buf, 0, 0, 0, 12);
    expect([...buf.subarray(0, 12)]).toEqual(new Array(12).fill(0));
  });

  it('vnetHdrIsBad accepts gso 0/1/3/4 (±ECN) with flags ⊆ {1, 2} only', () => {
    const b = new Uint8Array(12);
    for (let gso = 0; gso < 256; gso++) {
      for (const flags of [0, 1, 2, 3, 4, 0x80]) {
        b[0] = flags;
        b[1] = gso;
        const ok = [0, 1, 3, 4].includes(gso & 0x7f) && (flags & ~3) === 0;
        expect(vnetHdrIsBad(b, 0)).toBe(!ok);
      }
    }
  });

  it('completes a NEEDS_CSUM checksum toward a header-less port, also over several slots', () => {
    for (const payload of [100, 1400]) {
      const { vale, ports, guests } = threePorts([12, 0, 0]);
      void vale;
      const [a, b] = guests;
      const udpLen = 8 + payload;
      const f = ipv4Frame(ports[1]!.mac, ports[0]!.mac, 17, payload, pseudoV4(IP_A, IP_B, 17, udpLen));
      a.send(cat(vnetHdr(12, { flags: 1, csumStart: 34, csumOffset: 6 }), f));
      const got = b.recv();
      expect(got.length).toBe(1);
      const d = got[0]!.data;
      expect(d.length).toBe(f.length);
      expect(d.subarray(0, 40)).toEqual(f.subarray(0, 40));
      expect(d.subarray(42)).toEqual(f.subarray(42));
      expect(csumValid(d, 34, udpLen, pseudoV4(IP_A, IP_B, 17, udpLen))).toBe(true);
    }
  });

  it('segments a TSO frame toward a header-less port exactly like src/tso (Linux), checksums valid', () => {
    const { ports, guests } = threePorts([12, 0, 0]);
    const [a, b] = guests;
    // Linux seeds a TSO frame's field with the pseudo-header over the whole L4 length.
    const f = ipv4Frame(ports[1]!.mac, ports[0]!.mac, 6, 3000, pseudoV4(IP_A, IP_B, 6, 3020));
    const hdr = { flags: 1, gsoType: 1, hdrLen: 54, gsoSize: 1000, csumStart: 34, csumOffset: 16 };
    a.send(cat(vnetHdr(12, hdr), f));
    const got = b.recv();
    const want = new SegmentList();
    gsoSegment(hdr, f, want, { vnetHdrSz: 12 });
    expect(got.map((p) => p.data)).toEqual(want.toArray());
    expect(got.length).toBe(3);
    for (const p of got) {
      expect(p.data.length).toBe(14 + 20 + 20 + 1000);
      expect(ipv4HeaderValid(p.data, 14)).toBe(true);
      expect(csumValid(p.data, 34, 1020, pseudoV4(IP_A, IP_B, 6, 1020))).toBe(true);
      expect(p.flags).toEqual([1 << 8]);
    }
  });

  it('between header ports a TSO frame travels whole, as a multi-slot chain', () => {
    const { ports, guests } = threePorts([12, 12, 12]);
    const [a, b] = guests;
    const pkt = cat(
      vnetHdr(12, { flags: 1, gsoType: 1, hdrLen: 54, gsoSize: 1448, csumStart: 34, csumOffset: 16 }),
      ipv4Frame(ports[1]!.mac, ports[0]!.mac, 6, 30000, 0),
    );
    a.send(pkt);
    const got = b.recv();
    expect(got.length).toBe(1);
    expect(got[0]!.data).toEqual(pkt);
    expect(got[0]!.flags.length).toBe(Math.ceil(pkt.length / 2048));
  });

  it('drops, by reason and once per packet even when flooded, what a header-less port cannot take', () => {
    const { ports, guests } = threePorts([12, 0, 0]);
    const [a, b] = guests;
    const [pa, pb] = [ports[0]!, ports[1]!];
    const small = frame(pb.mac, pa.mac, 1, 100);
    a.send(cat(vnetHdr(12, { flags: 0x10 }), small)); // unknown flag
    a.send(cat(vnetHdr(12, { gsoType: 5 }), small)); // USO: not a netmap gso_type
    a.send(cat(vnetHdr(12), frame(pb.mac, pa.mac, 2, 2000))); // over the 1514 mfs
    a.send(cat(vnetHdr(12, { flags: 1, csumStart: 90, csumOffset: 16 }), small)); // field past the end
    a.send(cat(vnetHdr(12, { gsoType: 1, gsoSize: 0, hdrLen: 54 }), small)); // Linux rejects gso_size 0
    a.send(new Uint8Array(8)); // shorter than its header
    expect(b.recv()).toEqual([]);
    expect(pa.datapath.drops()).toMatchObject({ BAD_VNET_HDR: 3, BAD_CSUM_OFFSET: 1, GSO_BAD: 1 });
    expect(pb.datapath.drops().NO_SPACE).toBe(1);
  });
});

describe('VALE with hostile slots', () => {
  it('never throws or writes outside buffers whatever the guest puts in its TX slots', () => {
    const hdr = fc.constantFrom(0, 10, 12);
    const slot = fc.record({
      idx: fc.oneof(fc.nat(0xffffffff), fc.integer({ min: 0, max: 64 })),
      len: fc.oneof(fc.nat(0xffff), fc.integer({ min: 0, max: 2048 })),
      flags: fc.oneof(fc.nat(0xffff), fc.constantFrom(0, NS_MOREFRAG)),
      bytes: fc.uint8Array({ minLength: 0, maxLength: 64 }),
    });
    fc.assert(
      fc.property(hdr, hdr, fc.array(slot, { minLength: 1, maxLength: 40 }), (shl, dhl, slots) => {
        const { ports, guests } = threePorts([shl, dhl, 0]);
        const [a, b, c] = guests;
        const region = ports[0]!.region;
        const before = region.bytes.slice(0, region.geometry.buf.offset);
        a.tx.txsync();
        for (const s of slots) {
          if (a.tx.space() === 0) break;
          const i = a.tx.head;
          // Plausible bytes in the slot's own buffer first (a frame to b, maybe a vnet header).
          const f = new Uint8Array(64);
          f.set(s.bytes);
          f.set(ports[1]!.mac, shl);
          region.bytes.set(f, a.tx.buf(i));
          a.tx.put(new Uint8Array(0));
          const dv = new DataView(region.buffer, region.base);
          const so = a.tx.slot(i);
          dv.setUint32(so, s.idx, true);
          dv.setUint16(so + 4, s.len, true);
          dv.setUint16(so + 6, s.flags, true);
        }
        a.tx.txsync();
        a.drain();
        b.recv();
        c.recv();
        // Rings and the if live below the buffer pool: only slot words of the rings may change.
        const after = region.bytes.subarray(0, region.geometry.buf.offset);
        for (let o = 0; o < before.length; o++) {
          if (before[o] !== after[o]) {
            expect(o).toBeGreaterThanOrEqual(region.geometry.ring.offset);
          }
        }
      }),
      { numRuns: 120 },
    );
  });
});

describe('VALE batch flush (one-slot packets copied per destination in one loop)', () => {
  it('a batch mixing destinations, floods and bad slots delivers each frame byte for byte, in order, and counts the rest', () => {
    // Per slot: to b, to c, broadcast, a bad TX buffer index, a length beyond the buffer.
    const kind = fc.constantFrom('b', 'c', 'bcast', 'badIdx', 'badLen');
    fc.assert(
      fc.property(
        fc.array(kind, { minLength: 1, maxLength: 100 }),
        fc.constantFrom(0, 10, 12),
        fc.integer({ min: 60, max: 200 }),
        (kinds, hdr, len) => {
          const { ports, guests } = threePorts([hdr, hdr, hdr]);
          const [a, b, c] = guests;
          const [pa, pb, pc] = ports;
          // b and c are learnt first, so that frames to them are switched, not flooded.
          b.send(cat(new Uint8Array(hdr), frame(BCAST, pb.mac, 1_000_000)));
          c.send(cat(new Uint8Array(hdr), frame(BCAST, pc.mac, 1_000_001)));
          a.recv();
          b.recv();
          c.recv();
          const wantB: number[] = [];
          const wantC: number[] = [];
          const sent: Uint8Array[] = [];
          let badIdx = 0;
          let badLen = 0;
          a.tx.txsync();
          const broken: [number, number][] = [];
          kinds.forEach((k, seq) => {
            const dst = k === 'c' ? pc.mac : k === 'b' ? pb.mac : BCAST;
            const f = cat(new Uint8Array(hdr), frame(dst, pa.mac, seq, len));
            sent[seq] = f;
            const slot = a.tx.head;
            a.tx.put(f);
            if (k === 'badIdx') {
              broken.push([slot, a.tx.bufIdx(slot)]);
              a.tx.setBufIdx(slot, 1);
              badIdx++;
            } else if (k === 'badLen') {
              new DataView(pa.region.buffer, pa.region.base).setUint16(a.tx.slot(slot) + 4, 4000, true);
              badLen++;
            } else {
              if (k !== 'c') wantB.push(seq);
              if (k !== 'b') wantC.push(seq);
            }
          });
          a.tx.txsync();
          a.drain();
          for (const [slot, idx] of broken) a.tx.setBufIdx(slot, idx);
          const got = (g: typeof b): number[] =>
            g.recv().map((p) => {
              const seq = seqOf(p.data, hdr + 14);
              expect(p.data).toEqual(sent[seq]);
              return seq;
            });
          expect(got(b)).toEqual(wantB);
          expect(got(c)).toEqual(wantC);
          expect(pa.datapath.drops().BAD_BUF_IDX).toBe(badIdx);
          expect(pa.datapath.drops().BAD_LEN).toBe(badLen);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('a receiver slot with a bad buffer drops (counted) what would go there; the other destination still gets its share', () => {
    const { ports, guests } = threePorts();
    const [a, b, c] = guests;
    const [pa, pb, pc] = ports;
    b.send(frame(BCAST, pb.mac, 100));
    c.send(frame(BCAST, pc.mac, 101));
    a.recv();
    b.recv();
    c.recv();
    // b's next free RX slot has a reserved buffer index: b's frames of the batch are dropped there.
    const slot = pb.datapath.krings[pb.datapath.numTx]!.btail;
    const idx = b.rx.bufIdx(slot);
    b.rx.setBufIdx(slot, 0);
    a.send(...[0, 1, 2, 3, 4, 5].map((s) => frame(s % 2 === 0 ? pb.mac : pc.mac, pa.mac, s)));
    expect(c.recv().map((p) => seqOf(p.data))).toEqual([1, 3, 5]);
    expect(b.recv()).toEqual([]);
    expect(pb.datapath.drops().BAD_BUF_IDX).toBe(3);
    // Repaired, the ring takes frames again.
    b.rx.setBufIdx(slot, idx);
    a.send(frame(pb.mac, pa.mac, 6));
    expect(b.recv().map((p) => seqOf(p.data))).toEqual([6]);
  });

  it('a slot rewritten after its check (a guest in another thread) is never used unchecked', () => {
    const { ports, guests } = threePorts();
    const [a, b] = guests;
    const [pa, pb] = ports;
    b.send(frame(BCAST, pb.mac, 100));
    a.recv();
    // A three-slot frame goes through deliver(). Just before it copies, the sender's guest
    // rewrites its TX slots: the copy must use what preflush validated.
    type Internals = { deliver: (...a: unknown[]) => number; view: { bufIdx(slot: number): number } };
    const dp = pa.datapath as unknown as Internals;
    const deliver = dp.deliver.bind(dp);
    const txRing = a.tx;
    dp.deliver = (...args: unknown[]): number => {
      const saved = Array.from({ length: 128 }, (_, k) => txRing.bufIdx(k));
      for (let k = 0; k < 128; k++) txRing.setBufIdx(k, 0x7fffffff);
      try {
        return deliver(...args);
      } finally {
        // The guest's own later sends write through these indices.
        saved.forEach((idx, k) => txRing.setBufIdx(k, idx));
      }
    };
    const big = frame(pb.mac, pa.mac, 7, 5000);
    expect(() => a.send(big)).not.toThrow();
    expect(b.recv().map((p) => p.data)).toEqual([big]);
    // And the receiver's slots, checked, then rewritten before their use: counted, nothing thrown.
    dp.deliver = deliver;
    const view = dp.view;
    const bufIdx = view.bufIdx.bind(view);
    const seen = new Set<number>();
    view.bufIdx = (slot: number): number => {
      const real = bufIdx(slot);
      if (!seen.has(slot)) {
        seen.add(slot);
        return real;
      }
      return 0x7fffffff;
    };
    const before = pb.datapath.drops().BAD_BUF_IDX ?? 0;
    expect(() => a.send(frame(pb.mac, pa.mac, 8, 5000))).not.toThrow();
    expect(b.recv()).toEqual([]);
    expect(pb.datapath.drops().BAD_BUF_IDX).toBe(before + 1);
  });
});
