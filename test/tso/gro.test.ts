// GRO: coalescing follows tcp_gro_receive's rules, and segmenting a GRO super-frame gives back
// exactly the segments that went in (property test over generated flows).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GroEngine, GroOutput, SegmentList, gsoSegment, type GsoHeader } from '../../src/tso/index.ts';
import { buildFrame, pseudoSum, type FrameSpec } from '../oracle/lib/gen.ts';

const hdrOf = (out: GroOutput, i: number): GsoHeader =>
  out.header(i, { flags: 0, gsoType: 0, hdrLen: 0, gsoSize: 0, csumStart: 0, csumOffset: 0 });

/** The wire segments of a super-frame, as Linux's GSO would send them. */
function segmentsOf(spec: FrameSpec, mss: number): Uint8Array[] {
  const b = buildFrame({ ...spec, fill: 7 });
  const h: GsoHeader = {
    flags: 1,
    gsoType: spec.v6 ? 4 : 1,
    hdrLen: b.th + b.thlen,
    gsoSize: mss,
    csumStart: b.th,
    csumOffset: 16,
  };
  const out = new SegmentList();
  gsoSegment(h, b.frame, out);
  return out.toArray();
}

function runGro(frames: Uint8Array[]): GroOutput {
  const gro = new GroEngine();
  const out = new GroOutput();
  out.clear();
  for (const f of frames) gro.receive(f, out);
  gro.flush(out);
  return out;
}

function resegment(out: GroOutput): Uint8Array[] {
  const seg = new SegmentList();
  const all: Uint8Array[] = [];
  for (let i = 0; i < out.count; i++) {
    gsoSegment(hdrOf(out, i), out.frame(i).slice(), seg);
    all.push(...seg.toArray());
  }
  return all;
}

function resegment1(out: GroOutput, i: number): Uint8Array[] {
  const seg = new SegmentList();
  gsoSegment(hdrOf(out, i), out.frame(i).slice(), seg);
  return seg.toArray();
}

describe('GroEngine', () => {
  it('merges a TCPv4 train into one super-frame with the header Linux hands a TAP reader', () => {
    const segs = segmentsOf(
      { proto: 6, payload: 4500, id: 0xfffe, seq: 0xfffff000, flags: 0x18 | 0x80 },
      1000,
    );
    expect(segs.length).toBe(5);
    const out = runGro(segs);
    expect(out.count).toBe(1);
    const h = hdrOf(out, 0);
    expect(h).toEqual({ flags: 1, gsoType: 0x81, hdrLen: 54, gsoSize: 1000, csumStart: 34, csumOffset: 16 });
    const f = out.frame(0);
    expect(f.length).toBe(54 + 4500);
    const v = new DataView(f.buffer, f.byteOffset, f.byteLength);
    expect(v.getUint16(16)).toBe(4540); // tot_len
    expect(v.getUint16(18)).toBe(0xfffe); // first id
    expect(v.getUint32(38)).toBe(0xfffff000);
    expect(f[47]).toBe(0x18 | 0x80); // PSH from the last segment, CWR from the first
    expect(resegment(out)).toEqual(segs);
  });

  it('flushes on a sequence gap, a window change, an option change, SYN/RST/URG and CWR', () => {
    const a = segmentsOf({ proto: 6, payload: 3000, seq: 1000 }, 1000);
    const gap = segmentsOf({ proto: 6, payload: 3000, seq: 5000, id: 4 }, 1000);
    const out = runGro([...a, ...gap]);
    expect(out.count).toBe(2);
    const win: Uint8Array[] = a.map((s) => s.slice());
    win[1]![48] = 9; // window high byte
    // Re-complete the TCP checksum of an edited segment (NEEDS_CSUM on the pseudo-header sum).
    const redo = (f: Uint8Array): Uint8Array => {
      const one = new SegmentList();
      const v = new DataView(f.buffer, f.byteOffset, f.byteLength);
      v.setUint16(50, pseudoSum(f, 14, false, 6, f.length - 34));
      gsoSegment({ flags: 1, gsoType: 0, hdrLen: 0, gsoSize: 0, csumStart: 34, csumOffset: 16 }, f, one);
      return one.segment(0).slice();
    };
    win[1] = redo(win[1]!);
    expect(runGro(win).count).toBe(3);
    for (const flag of [0x02, 0x04, 0x20, 0x80]) {
      const t: Uint8Array[] = a.map((s) => s.slice());
      t[1]![47] = t[1]![47]! | flag;
      t[1] = redo(t[1]!);
      const n = runGro(t).count;
      // CWR starts a new packet; SYN/RST/URG end the packet they join (or stand alone).
      expect(n, `flag ${flag}`).toBeGreaterThan(1);
    }
  });

  it('passes a segment with a bad checksum as it is and leaves the held packet untouched', () => {
    const segs = segmentsOf({ proto: 6, payload: 3000, seq: 1000 }, 1000);
    const bad = segs.map((x) => x.slice());
    bad[1]![100] = bad[1]![100]! ^ 0x40; // a payload byte: the TCP checksum no longer holds
    const out = runGro(bad);
    // The bad one goes out at once, undigested; the third no longer follows the first, so the
    // first leaves alone and the third starts (and ends) a packet of its own.
    expect(out.count).toBe(3);
    expect(Buffer.compare(out.frame(0), bad[1]!)).toBe(0);
    expect(hdrOf(out, 0).flags).toBe(0);
    expect(Buffer.compare(out.frame(1), segs[0]!)).toBe(0);
    expect(Buffer.compare(out.frame(2), segs[2]!)).toBe(0);
    expect([hdrOf(out, 1).flags, hdrOf(out, 2).flags]).toEqual([2, 2]); // DATA_VALID
  });

  it('property: one flipped bit under a checksum (IPv4 header, TCP header or payload) passes that segment as it is', () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.integer({ min: 2, max: 8 }),
        fc.boolean(),
        fc.nat(),
        fc.boolean(),
        fc.nat(),
        fc.nat({ max: 7 }),
        (v6, n, ts, which, inHeaders, where, bit) => {
          const mss = 700;
          const segs = segmentsOf(
            {
              proto: 6,
              v6,
              payload: n * mss - 1,
              seq: 1,
              tcpOptions: ts ? new Uint8Array([1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2]) : undefined,
            },
            mss,
          );
          const k = which % segs.length;
          const bad = segs[k]!.slice();
          // IPv4's header is under its own checksum; IPv6's is not (a hop limit change is a
          // different packet, not a bad one), so there only the TCP segment is hit. Half the runs
          // hit the headers (the words summed apart from the payload's), half anywhere.
          const from = v6 ? 54 : 14;
          const to = inHeaders ? (v6 ? 54 : 34) + (ts ? 32 : 20) : bad.length;
          const at = from + (where % (to - from));
          bad[at] = bad[at]! ^ (1 << bit);
          const wire = segs.map((x, i) => (i === k ? bad : x));
          const out = runGro(wire);
          const plain: number[] = [];
          const rest: number[] = [];
          for (let i = 0; i < out.count; i++) (hdrOf(out, i).flags === 0 ? plain : rest).push(i);
          // The hit segment comes out alone, unchanged, with no checksum claim; the others are
          // coalesced (or pass, checked) around it and resegment to exactly themselves.
          expect(plain.map((i) => out.frame(i).slice())).toEqual([bad]);
          expect(rest.flatMap((i) => resegment1(out, i))).toEqual(segs.filter((_, i) => i !== k));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('stops a super-frame before 64 KiB of IP packet and starts the next one', () => {
    const a = segmentsOf({ proto: 6, payload: 40 * 1448, seq: 7, id: 100 }, 1448);
    const b = segmentsOf({ proto: 6, payload: 30 * 1448, seq: 7 + 40 * 1448, id: 140 }, 1448);
    const out = runGro([...a, ...b]);
    expect(out.count).toBe(2);
    // 45 segments: 20 + 20 + 45 × 1448 = 65200 bytes of IP packet; one more would pass 65535.
    expect(out.length(0) - 14).toBe(40 + 45 * 1448);
    expect(out.length(1) - 14).toBe(40 + 25 * 1448);
    expect(resegment(out)).toEqual([...a, ...b]);
  });

  it('behind 40 VLAN tags a packet stops at what its buffer holds, and nothing throws', () => {
    const vlans = Array.from({ length: 40 }, (_, i) => i + 1);
    const a = segmentsOf({ proto: 6, payload: 40 * 1455, seq: 1, id: 1, vlans }, 1455);
    const b = segmentsOf({ proto: 6, payload: 20 * 1455, seq: 1 + 40 * 1455, id: 41, vlans }, 1455);
    const out = runGro([...a, ...b]);
    // 45 segments would be a 65515-byte IP packet, under Linux's limit, but 174 bytes of
    // Ethernet header in front of it do not fit the held packet's buffer: 44 go in the first.
    expect(out.count).toBe(2);
    expect(out.length(0)).toBe(174 + 40 + 44 * 1455);
    expect(resegment(out)).toEqual([...a, ...b]);
  });

  it('lent packets stay intact until clear(), and their regions come back after it', () => {
    const gro = new GroEngine();
    const out = new GroOutput();
    const train = (k: number): Uint8Array[] =>
      segmentsOf({ proto: 6, payload: 5000 + k, seq: 1000 * k, sport: 1000 + k }, 1000);
    // Ten bursts into one uncleared output: the first few packets are lent, the rest copied.
    const trains = Array.from({ length: 10 }, (_, k) => train(k));
    for (const t of trains) {
      for (const f of t) gro.receive(f, out);
      gro.flush(out);
    }
    expect(out.count).toBe(10);
    expect(new Set(Array.from({ length: 10 }, (_, i) => out.buffer(i))).size).toBe(2);
    for (let i = 0; i < 10; i++) expect(resegment1(out, i)).toEqual(trains[i]);
    // Cleared after each burst, the engine keeps lending (and never runs out of regions).
    for (let k = 0; k < 30; k++) {
      out.clear();
      const t = train(k);
      for (const f of t) gro.receive(f, out);
      gro.flush(out);
      expect(out.count).toBe(1);
      expect(out.buffer(0)).not.toBe(out.data);
      expect(resegment1(out, 0)).toEqual(t);
    }
  });

  it('holds at most 8 flows, flushing the oldest', () => {
    const trains = Array.from({ length: 9 }, (_, i) =>
      segmentsOf({ proto: 6, payload: 3000, sport: 100 + i }, 1000),
    );
    const gro = new GroEngine();
    const out = new GroOutput();
    out.clear();
    for (const t of trains) gro.receive(t[0]!, out);
    expect(out.count).toBe(1); // the first flow's segment went out when the ninth arrived
    expect(out.frame(0)).toEqual(trains[0]![0]);
    expect(hdrOf(out, 0).flags).toBe(2); // DATA_VALID: a single segment, checksum checked
  });

  it('passes non-TCP, IPv4 options and bad checksums through unchanged', () => {
    const udp = buildFrame({ proto: 17, payload: 100 }).frame;
    const opts = buildFrame({ proto: 6, payload: 100, ipOptions: new Uint8Array([1, 1, 1, 0]) }).frame;
    const bad = segmentsOf({ proto: 6, payload: 2000 }, 1000)[0]!.slice();
    bad[60] = (bad[60]! + 1) & 0xff;
    const out = runGro([udp, opts, bad]);
    expect(out.count).toBe(3);
    expect(out.frame(0)).toEqual(udp);
    expect(out.frame(1)).toEqual(opts);
    expect(out.frame(2)).toEqual(bad);
    expect(hdrOf(out, 0).flags).toBe(0);
  });

  it('property: hostile frames never throw and each comes out again', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(fc.uint8Array({ minLength: 0, maxLength: 120 }), fc.constantFrom(0x0800, 0x86dd, 0x8100)),
          {
            maxLength: 20,
          },
        ),
        (raw) => {
          const frames = raw.map(([b, t]) => {
            const f = Uint8Array.from(b);
            if (f.length >= 14) {
              f[12] = t >>> 8;
              f[13] = t & 0xff;
            }
            return f;
          });
          const out = runGro(frames);
          expect(out.count).toBe(frames.length); // random bytes never form a mergeable train
          const gro = new GroEngine();
          const empty = new GroOutput();
          empty.clear();
          gro.flush(empty);
          expect(empty.count).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('property: GRO then GSO gives back the wire segments (v4/v6, several flows, up to 64 KiB)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            v6: fc.boolean(),
            mss: fc.integer({ min: 1, max: 9000 }),
            payload: fc.integer({ min: 2, max: 60000 }),
            seq: fc.nat({ max: 0xffffffff }),
            id: fc.nat({ max: 0xffff }),
            flags: fc.constantFrom(0x10, 0x18, 0x19, 0x90, 0x98, 0x50),
            ts: fc.boolean(),
          }),
          { minLength: 1, maxLength: 3 },
        ),
        (flows) => {
          const trains = flows.map((fl, i) => {
            const mss = Math.max(fl.mss, Math.ceil(fl.payload / 200));
            const payload = Math.max(fl.payload, mss + 1);
            const spec: FrameSpec = {
              proto: 6,
              v6: fl.v6,
              payload,
              seq: fl.seq,
              id: fl.id,
              flags: fl.flags,
              sport: 1000 + i,
              tcpOptions: fl.ts ? new Uint8Array([1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2]) : undefined,
            };
            return segmentsOf(spec, mss);
          });
          // Interleave the flows segment by segment, as a burst on the wire.
          const wire: Uint8Array[] = [];
          for (let k = 0; trains.some((t) => k < t.length); k++)
            for (const t of trains) if (k < t.length) wire.push(t[k]!);
          const out = runGro(wire);
          const back = resegment(out);
          // Per flow, the resegmented frames equal the originals in order.
          for (let i = 0; i < trains.length; i++) {
            const port = 1000 + i;
            const sel = (fs: Uint8Array[]): Uint8Array[] =>
              fs.filter((f) => {
                const th = f[12] === 0x86 ? 54 : 34;
                return ((f[th]! << 8) | f[th + 1]!) === port;
              });
            expect(sel(back)).toEqual(trains[i]);
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});
