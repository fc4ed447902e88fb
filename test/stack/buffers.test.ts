import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { COPY_SITE, copyBytes, resetCopyCounts } from '../../src/copycount/index.ts';
import { Mempool } from '../../src/mbuf/index.ts';
import { RecvBuffer, SendBuffer, seqAdd, seqDiff } from '../../src/stack/index.ts';

function pattern(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

/** Reads up to `max` bytes into out[at...] through views; returns the new fill level. */
function readInto(rb: RecvBuffer, out: Uint8Array, at: number, max: number): number {
  let want = max;
  for (let v = rb.read(want); v !== null; v = rb.read(want)) {
    out.set(v, at);
    at += v.length;
    want -= v.length;
  }
  return at;
}

describe('RecvBuffer (reassembly)', () => {
  it('reassembles any permutation of segments, with duplicates, across the seq wrap', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 0, max: 1000 }),
        (irs, sizes, seed) => {
          const total = sizes.reduce((a, b) => a + b, 0);
          const data = pattern(total, seed);
          const segs: [number, number][] = [];
          let o = 0;
          for (const s of sizes) {
            segs.push([o, s]);
            o += s;
          }
          // Deterministic shuffle + a duplicate of every third segment.
          const order = segs.map((s, i) => ({ s, k: (i * 7919 + seed) % 101 })).sort((a, b) => a.k - b.k);
          const all = order.map((x) => x.s).concat(segs.filter((_, i) => i % 3 === 0));
          const rb = new RecvBuffer(1 << 13, 64);
          rb.init(irs);
          const out = new Uint8Array(total);
          let got = 0;
          let advanced = 0;
          for (const [off, len] of all) {
            const n = rb.write(seqAdd(irs, off), data, off, len);
            expect(n).toBeGreaterThanOrEqual(0);
            advanced += n;
            got = readInto(rb, out, got, 97);
          }
          got = readInto(rb, out, got, total);
          expect(advanced).toBe(total);
          expect(got).toBe(total);
          expect(out).toEqual(data);
          expect(rb.ooo.count).toBe(0);
          expect(rb.rcvNxt).toBe(seqAdd(irs, total));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('matches a reference model; the views it hands out never change afterwards', () => {
    // Writes land around RCV.NXT (behind it, at it, beyond it, past the window), so the stream moves on.
    type Op = { w: true; rel: number; len: number; edge: number } | { w: false; max: number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({
        w: fc.constant(true as const),
        rel: fc.integer({ min: -300, max: 600 }),
        len: fc.integer({ min: 0, max: 400 }),
        edge: fc.integer({ min: -1, max: 600 }),
      }),
      fc.record({ w: fc.constant(false as const), max: fc.integer({ min: 0, max: 500 }) }),
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.integer({ min: 1, max: 512 }),
        fc.integer({ min: 1, max: 700 }),
        fc.integer({ min: 0, max: 0xffff }),
        fc.array(op, { minLength: 1, maxLength: 150 }),
        (irs, cap, chunk, seed, ops) => {
          const total = 6000;
          // Not periodic, so a byte written at another chunk's place would show.
          const data = new Uint8Array(total);
          for (let i = 0, x = seed + 1; i < total; i++) {
            x = (Math.imul(x, 1103515245) + 12345) >>> 0;
            data[i] = x >>> 24;
          }
          const rb = new RecvBuffer(cap, 4096, chunk);
          rb.init(irs);
          // The model: which stream offsets are held, RCV.NXT and the read point as offsets.
          const held = new Uint8Array(total);
          let nxt = 0;
          let rd = 0;
          const views: { v: Uint8Array; at: number }[] = [];
          for (const o of ops) {
            if (o.w) {
              const off = Math.min(Math.max(nxt + o.rel, 0), total);
              const len = Math.min(o.len, total - off);
              // Bytes below RCV.NXT are sent corrupted: they are old, and must never be stored.
              const src = data.slice();
              for (let i = 0; i < nxt; i++) src[i] = src[i]! ^ 0xa5;
              const edge = o.edge < 0 ? undefined : nxt + o.edge;
              const n = rb.write(
                seqAdd(irs, off),
                src,
                off,
                len,
                edge === undefined ? undefined : seqAdd(irs, edge),
              );
              const s = Math.max(off, nxt);
              const e = Math.min(off + len, rd + cap, edge ?? Infinity);
              const before = nxt;
              if (s < e) {
                held.fill(1, s, e);
                if (s === nxt) while (nxt < total && held[nxt] === 1) nxt++;
              }
              expect(n).toBe(nxt - before);
            } else {
              const v = rb.read(o.max);
              if (o.max === 0 || nxt === rd) {
                expect(v).toBeNull();
              } else {
                expect(v).not.toBeNull();
                expect(v!.length).toBeGreaterThan(0);
                expect(v!.length).toBeLessThanOrEqual(Math.min(o.max, nxt - rd));
                expect(v!).toEqual(Buffer.from(data.subarray(rd, rd + v!.length)));
                views.push({ v: v!, at: rd });
                rd += v!.length;
              }
            }
            expect(rb.rcvNxt).toBe(seqAdd(irs, nxt));
            expect(rb.readSeq).toBe(seqAdd(irs, rd));
            expect(rb.readable).toBe(nxt - rd);
            expect(rb.window).toBe(cap - (nxt - rd));
          }
          for (const { v, at } of views) expect(v).toEqual(Buffer.from(data.subarray(at, at + v.length)));
          // Each chunk of the stream allocated at most once (never again after it was retired).
          expect(rb.chunksAllocated).toBeLessThanOrEqual(Math.ceil((held.lastIndexOf(1) + 1) / chunk));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('allocates one chunk per chunk of stream, however it is segmented', () => {
    const rb = new RecvBuffer(256 * 1024);
    rb.init(0xfffff000);
    const d = new Uint8Array(1448);
    let seq = 0xfffff000;
    let total = 0;
    for (let i = 0; i < 2000; i++) {
      expect(rb.write(seq, d, 0, d.length)).toBe(d.length);
      seq = seqAdd(seq, d.length);
      total += d.length;
      while (rb.read(100000) !== null);
    }
    expect(rb.chunksAllocated).toBe(Math.ceil(total / rb.chunkSize));
  });

  it('trims to the window and drops when the out-of-order map is full', () => {
    const rb = new RecvBuffer(100, 2);
    rb.init(1000);
    const d = pattern(200, 1);
    expect(rb.write(1000, d, 0, 150)).toBe(100);
    expect(rb.window).toBe(0);
    expect(rb.write(1100, d, 0, 10)).toBe(0);
    const tmp = new Uint8Array(100);
    expect(readInto(rb, tmp, 0, 100)).toBe(100);
    expect(tmp).toEqual(d.subarray(0, 100));
    // Three separate holes but room for two out-of-order ranges.
    expect(rb.write(1110, d, 0, 5)).toBe(0);
    expect(rb.write(1130, d, 0, 5)).toBe(0);
    expect(rb.write(1150, d, 0, 5)).toBe(-1);
    expect(rb.oooDrops).toBe(1);
    // Old duplicate: nothing new.
    expect(rb.write(900, d, 0, 50)).toBe(0);
  });

  it('reports SACK blocks with the latest segment first (RFC 2018 §4)', () => {
    const rb = new RecvBuffer(1000);
    rb.init(0);
    const d = pattern(100, 0);
    rb.write(100, d, 0, 10);
    rb.write(300, d, 0, 10);
    rb.write(200, d, 0, 10);
    const out = new Int32Array(8);
    expect(rb.sackBlocks(out, 4)).toBe(3);
    expect(Array.from(out.subarray(0, 6))).toEqual([200, 210, 300, 310, 100, 110]);
    expect(rb.sackBlocks(out, 2)).toBe(2);
    expect(rb.inWindow(999)).toBe(true);
    expect(rb.inWindow(1000)).toBe(false);
  });
});

describe('SendBuffer', () => {
  it('keeps bytes until ACKed, across ring and seq wrap', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0xffff0000, max: 0xffffffff }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 700 }), fc.integer({ min: 0, max: 700 })), {
          maxLength: 40,
        }),
        (iss, steps) => {
          const sb = new SendBuffer(1000);
          sb.init(iss);
          const src = pattern(100000, 3);
          let written = 0;
          let acked = 0;
          for (const [w, a] of steps) {
            const n = sb.write(src, written, w);
            expect(n).toBe(Math.min(w, 1000 - (written - acked)));
            written += n;
            const len = Math.min(a, written - acked);
            sb.markSent(sb.una, written - acked);
            const copy = new Uint8Array(written - acked);
            sb.copyOut(sb.una, copy.length, copy, 0);
            expect(copy).toEqual(src.subarray(acked, written));
            expect(sb.ack(seqAdd(sb.una, len))).toBe(len);
            acked += len;
            expect(sb.length).toBe(written - acked);
            expect(seqDiff(sb.una, iss)).toBe(acked);
          }
        },
      ),
    );
  });

  it("appendTo: the bytes of any range after any headers, later segments from their buffers' first byte", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(4096, 5000, 8192),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.integer({ min: 0, max: 9000 }),
        fc.integer({ min: 1, max: 4096 }),
        fc.integer({ min: 0, max: 5000 }),
        fc.integer({ min: 14, max: 200 }),
        fc.boolean(),
        (cap, iss, skip, want, off, hdr, shared) => {
          const size = 1024;
          const pool = new Mempool({
            segments: 16,
            segmentSize: size,
            headroom: 12,
            ...(shared ? { buffer: new SharedArrayBuffer(16 * size) } : {}),
          });
          const sb = new SendBuffer(cap);
          sb.init(iss);
          const src = pattern(20000, 7);
          // Move the ring's start: write and acknowledge `skip` bytes first.
          let base = 0;
          while (base < skip) {
            const n = sb.write(src, base, Math.min(cap, skip - base));
            sb.markSent(sb.una, n);
            sb.ack(seqAdd(sb.una, n));
            base += n;
          }
          const held = sb.write(src, base, cap);
          const at = Math.min(off, held - 1);
          const len = Math.min(want, held - at);
          const m = pool.alloc()!;
          expect(m.extend(hdr)).toBe(true);
          expect(sb.appendTo(m, seqAdd(sb.una, at), len)).toBe(true);
          expect(m.length).toBe(hdr + len);
          const out = new Uint8Array(len);
          m.copyTo(out, 0, hdr, len);
          expect(Buffer.from(out).equals(Buffer.from(src.subarray(base + at, base + at + len)))).toBe(true);
          // After the first segment, each starts at its buffer's first byte (a netmap slot has no
          // offset), holds bytes, and pieces are cut no finer than the ring's blocks: one more
          // segment than a packed chain at most, plus one where the ring wraps.
          for (let s = pool.segNext[m.firstSeg]!; s >= 0; s = pool.segNext[s]!) {
            expect(pool.segStart[s]).toBe(s * size);
            expect(pool.segLen[s]).toBeGreaterThan(0);
          }
          expect(m.segCount).toBeLessThanOrEqual(Math.ceil((hdr + 12 + len) / size) + 2);
          m.free();
        },
      ),
      { numRuns: 300 },
    );
  });

  it('zero-copy writes: references mixed with copies read back exactly, and are let go once acknowledged', () => {
    type Op =
      | { k: 'copy'; n: number }
      | { k: 'ref'; n: number; off: number }
      | { k: 'ack'; n: number }
      | { k: 'read'; at: number; len: number; hdr: number }
      | { k: 'materialize' };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ k: fc.constant('copy' as const), n: fc.integer({ min: 0, max: 900 }) }),
      fc.record({
        k: fc.constant('ref' as const),
        n: fc.integer({ min: 0, max: 1500 }),
        off: fc.integer({ min: 0, max: 7 }),
      }),
      fc.record({ k: fc.constant('ack' as const), n: fc.integer({ min: 0, max: 1200 }) }),
      fc.record({
        k: fc.constant('read' as const),
        at: fc.nat(),
        len: fc.integer({ min: 1, max: 3000 }),
        hdr: fc.integer({ min: 14, max: 90 }),
      }),
      fc.record({ k: fc.constant('materialize' as const) }),
    );
    fc.assert(
      fc.property(
        fc.constantFrom(2000, 3001, 4096),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.array(op, { maxLength: 60 }),
        (cap, iss, ops) => {
          const pool = new Mempool({
            segments: 8,
            segmentSize: 1024,
            headroom: 12,
            buffer: new SharedArrayBuffer(8 * 1024),
          });
          const sb = new SendBuffer(cap);
          sb.init(iss);
          // The model: every byte held, in order, as it was when written.
          let model: number[] = [];
          // Referenced caller memory not yet let go, with the offset (from SND.UNA) one past its bytes.
          let live: { buf: Uint8Array; end: number }[] = [];
          let seed = 1;
          for (const o of ops) {
            if (o.k === 'copy') {
              const src = pattern(o.n, seed++);
              const n = sb.write(src, 0, o.n);
              expect(n).toBe(Math.min(o.n, cap - model.length));
              model.push(...src.subarray(0, n));
            } else if (o.k === 'ref') {
              const buf = pattern(o.off + o.n, seed++);
              const n = sb.writeRef(buf, o.off, o.n);
              expect(n).toBe(Math.min(o.n, cap - model.length));
              model.push(...buf.subarray(o.off, o.off + n));
              if (n > 0) live.push({ buf, end: model.length });
            } else if (o.k === 'ack') {
              const n = Math.min(o.n, model.length);
              sb.markSent(sb.una, model.length);
              expect(sb.ack(seqAdd(sb.una, n))).toBe(n);
              model = model.slice(n);
              // Memory whose bytes were all acknowledged is the caller's again: spoil it.
              for (const l of live) l.end -= n;
              for (const l of live.filter((x) => x.end <= 0)) l.buf.fill(0xee);
              live = live.filter((x) => x.end > 0);
            } else if (o.k === 'materialize') {
              sb.materialize();
              for (const l of live) l.buf.fill(0xee);
              live = [];
            } else if (model.length > 0) {
              const at = o.at % model.length;
              const len = Math.min(o.len, model.length - at);
              const want = Buffer.from(model.slice(at, at + len));
              const out = new Uint8Array(len);
              sb.copyOut(seqAdd(sb.una, at), len, out, 0);
              expect(Buffer.from(out).equals(want)).toBe(true);
              // Into packet memory as a segment's payload, both ways tcp.ts puts it there.
              const m = pool.alloc()!;
              expect(m.extend(o.hdr)).toBe(true);
              if (sb.appendTo(m, seqAdd(sb.una, at), len)) {
                const got = new Uint8Array(len);
                m.copyTo(got, 0, o.hdr, len);
                expect(Buffer.from(got).equals(want)).toBe(true);
              }
              m.free();
              const w = pool.alloc()!;
              if (w.extend(Math.min(len, 900))) {
                const k = Math.min(len, 900);
                sb.writeInto(w, 0, seqAdd(sb.una, at), k);
                const got = new Uint8Array(k);
                w.copyTo(got, 0, 0, k);
                expect(Buffer.from(got).equals(want.subarray(0, k))).toBe(true);
              }
              w.free();
            }
            expect(sb.length).toBe(model.length);
            expect(sb.space).toBe(cap - model.length);
            expect(pool.segmentsFree).toBe(8);
          }
        },
      ),
      { numRuns: 400 },
    );
  });

  it('zero-copy bytes are not counted as a send-buffer copy', () => {
    resetCopyCounts();
    const sb = new SendBuffer(1 << 16);
    sb.init(1);
    sb.writeRef(pattern(10000, 1), 0, 10000);
    expect(copyBytes[COPY_SITE.sndbufIn]).toBe(0);
    sb.write(pattern(100, 2), 0, 100);
    expect(copyBytes[COPY_SITE.sndbufIn]).toBe(100);
    expect(sb.referenced).toBe(10000);
    sb.markSent(1, 10100);
    sb.ack(10001);
    expect(sb.referenced).toBe(0);
    expect(sb.length).toBe(100);
  });

  it('appendTo reports a pool run dry', () => {
    const pool = new Mempool({ segments: 2, segmentSize: 1024, headroom: 12 });
    const sb = new SendBuffer(8192);
    sb.init(1);
    sb.write(pattern(8192, 1), 0, 8192);
    const m = pool.alloc()!;
    expect(m.extend(66)).toBe(true);
    expect(sb.appendTo(m, 1, 4000)).toBe(false);
    expect(pool.segFailures).toBe(1);
    // What was appended before the pool ran dry holds the ring's bytes (a run copied on the way out).
    const got = m.length - 66;
    expect(got).toBe(1024);
    const out = new Uint8Array(got);
    m.copyTo(out, 0, 66, got);
    expect(Buffer.from(out).equals(Buffer.from(pattern(8192, 1).subarray(0, got)))).toBe(true);
    m.free();
    expect(pool.segmentsFree).toBe(2);
  });

  it('counts retransmissions and rewinds on RTO', () => {
    const sb = new SendBuffer(100);
    sb.init(10);
    sb.write(pattern(50, 0), 0, 50);
    sb.markSent(10, 30);
    expect(sb.flightSize).toBe(30);
    expect(sb.unsent).toBe(20);
    sb.markSent(10, 10);
    expect(sb.retransmits).toBe(1);
    expect(sb.retransmittedBytes).toBe(10);
    sb.markRetransmit(10);
    expect(sb.retransmits).toBe(2);
    expect(sb.retransmittedBytes).toBe(20);
    expect(sb.max).toBe(40);
    sb.rewind();
    expect(sb.nxt).toBe(10);
    expect(sb.max).toBe(40);
    sb.ack(25);
    expect(sb.nxt).toBe(25);
  });
});
