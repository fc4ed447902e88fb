// A SegmentList working inside a window of a registered packet memory (VALE's scratch in the
// region's memory): the same segments as a list with its own memory, never a byte written outside
// the window, a frame that needs more room segmented in the list's own memory, and back.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createLocalPacketMemory,
  createPacketMemory,
  unregisterPacketMemory,
} from '../../src/checksum/index.ts';
import { SegmentList, gsoSegment, type GsoHeader } from '../../src/tso/index.ts';
import { buildFrame, rng } from '../oracle/lib/gen.ts';

const KiB = 1024;
const PATTERN = 0xa5;

/** A shared packet memory of 1 MiB filled with PATTERN, and a window of `size` at `base` in it. */
function windowed(base: number, size: number): { mem: Uint8Array; list: SegmentList } {
  const pm = createPacketMemory(1024 * KiB);
  const mem = new Uint8Array(pm.buffer);
  mem.fill(PATTERN);
  return { mem, list: new SegmentList(64 * KiB, 16, { buffer: pm.buffer, base, size }) };
}

/** Whether mem outside [lo, hi) still holds PATTERN. */
function untouchedOutside(mem: Uint8Array, lo: number, hi: number): boolean {
  for (let i = 0; i < mem.length; i++) if ((i < lo || i >= hi) && mem[i] !== PATTERN) return false;
  return true;
}

function tcpCase(payload: number, mss: number, seed: number): { frame: Uint8Array; h: GsoHeader } {
  const b = buildFrame({ proto: 6, payload }, rng(seed));
  return {
    frame: b.frame,
    h: { flags: 1, gsoType: 1, hdrLen: b.th + b.thlen, gsoSize: mss, csumStart: b.th, csumOffset: 16 },
  };
}

describe('SegmentList in a window of a packet memory', () => {
  it('refuses a window of an unregistered memory, a misaligned base, or one past the buffer', () => {
    const plain = new SharedArrayBuffer(4096);
    expect(() => new SegmentList(4096, 4, { buffer: plain, base: 0, size: 4096 })).toThrow(RangeError);
    const pm = createPacketMemory(64 * KiB);
    expect(() => new SegmentList(4096, 4, { buffer: pm.buffer, base: 4, size: 4096 })).toThrow(RangeError);
    expect(() => new SegmentList(4096, 4, { buffer: pm.buffer, base: 0, size: 64 * KiB + 8 })).toThrow(
      RangeError,
    );
    expect(new SegmentList(4096, 4, { buffer: pm.buffer, base: 8, size: 4096 }).inWindow).toBe(true);
  });

  it('property: frames gathered in the window give the own-memory list’s segments, inside the window only', () => {
    const base = 256 * KiB;
    const size = 320 * KiB;
    const { mem, list } = windowed(base, size);
    const ref = new SegmentList();
    fc.assert(
      fc.property(
        fc.integer({ min: 1449, max: 62_000 }),
        fc.integer({ min: 536, max: 9000 }),
        fc.integer({ min: 0, max: 7 }),
        fc.integer(),
        (payload, mss, align, seed) => {
          const { frame, h } = tcpCase(payload, mss, seed);
          const n = gsoSegment(h, frame, ref);
          const room = list.frameRoom(frame.length, align);
          expect(room.buffer).toBe(mem.buffer);
          expect(room.byteOffset).toBe(base + align);
          room.set(frame);
          expect(gsoSegment(h, room, list)).toBe(n);
          expect(list.inWindow).toBe(true);
          for (let i = 0; i < n; i++) {
            // Not GSO after all (payload ≤ gso_size): the frame goes as it is, from where it lies.
            if (payload <= mss) expect(list.start(i)).toBe(room.byteOffset);
            else expect(list.start(i)).toBeGreaterThanOrEqual(base + align + frame.length);
            expect(list.end(i)).toBeLessThanOrEqual(base + size);
            expect(list.segment(i)).toEqual(ref.segment(i));
          }
        },
      ),
      { numRuns: 40 },
    );
    expect(untouchedOutside(mem, base, base + size)).toBe(true);
  });

  it('segments a frame that needs more than the window in its own memory, then returns to the window', () => {
    const base = 64 * KiB;
    const size = 96 * KiB;
    const { mem, list } = windowed(base, size);
    // 60 000 B at gso_size 100: 600 segments of 154 B after a staged 60 KB frame, ~160 KB.
    const big = tcpCase(60_000, 100, 1);
    const ref = new SegmentList();
    const room = list.frameRoom(big.frame.length);
    room.set(big.frame);
    const n = gsoSegment(big.h, room, list);
    expect(n).toBe(600);
    expect(list.inWindow).toBe(false);
    expect(list.data.buffer).not.toBe(mem.buffer);
    gsoSegment(big.h, big.frame, ref);
    for (let i = 0; i < n; i++) expect(list.segment(i)).toEqual(ref.segment(i));
    // The frame was gathered in the window; the segments went elsewhere.
    expect(untouchedOutside(mem, base, base + size)).toBe(true);
    const small = tcpCase(20_000, 1448, 2);
    const r2 = list.frameRoom(small.frame.length, 3);
    expect(list.inWindow).toBe(true);
    r2.set(small.frame);
    const m = gsoSegment(small.h, r2, list);
    gsoSegment(small.h, small.frame, ref);
    for (let i = 0; i < m; i++) expect(list.segment(i)).toEqual(ref.segment(i));
    expect(untouchedOutside(mem, base, base + size)).toBe(true);
  });

  it('copies a frame of the same memory that lies outside the window instead of writing after it', () => {
    const base = 128 * KiB;
    const size = 256 * KiB;
    const { mem, list } = windowed(base, size);
    const { frame, h } = tcpCase(30_000, 1448, 3);
    // The frame sits above the window: segments must not follow it there.
    const at = 512 * KiB;
    mem.set(frame, at);
    const n = gsoSegment(h, mem.subarray(at, at + frame.length), list);
    const ref = new SegmentList();
    expect(gsoSegment(h, frame, ref)).toBe(n);
    for (let i = 0; i < n; i++) {
      expect(list.start(i)).toBeGreaterThanOrEqual(base);
      expect(list.end(i)).toBeLessThanOrEqual(base + size);
      expect(list.segment(i)).toEqual(ref.segment(i));
    }
    mem.fill(PATTERN, at, at + frame.length);
    expect(untouchedOutside(mem, base, base + size)).toBe(true);
  });

  it('property: offered places take every segment when all fit, none otherwise; nothing else is written', () => {
    // Places: 2 KiB buffers in [0, 256 KiB), in a shuffled order; the window above them.
    const base = 512 * KiB;
    const size = 320 * KiB;
    const { mem, list } = windowed(base, size);
    const ref = new SegmentList();
    const places = new Int32Array(128);
    fc.assert(
      fc.property(
        fc.integer({ min: 1449, max: 62_000 }),
        fc.integer({ min: 536, max: 3000 }),
        fc.constantFrom(1514, 2048),
        fc.integer({ min: 0, max: 128 }),
        fc.integer(),
        (payload, mss, cap, count, seed) => {
          mem.fill(PATTERN);
          const r = rng(seed);
          const order = Array.from({ length: 128 }, (_, i) => i);
          for (let i = order.length - 1; i > 0; i--) {
            const j = Math.floor(r() * (i + 1));
            [order[i], order[j]] = [order[j]!, order[i]!];
          }
          for (let i = 0; i < 128; i++) places[i] = order[i]! * 2048;
          const { frame, h } = tcpCase(payload, mss, seed);
          const n = gsoSegment(h, frame, ref);
          const room = list.frameRoom(frame.length);
          room.set(frame);
          list.place(places, count, cap);
          try {
            expect(gsoSegment(h, room, list)).toBe(n);
            const fits = payload > mss && n <= count && ref.length(0) <= cap;
            expect(list.placed).toBe(fits);
            for (let i = 0; i < n; i++) {
              if (fits) expect(list.start(i)).toBe(places[i]);
              expect(list.segment(i)).toEqual(ref.segment(i));
            }
            // Outside the window, only the places that took a segment changed.
            for (let i = 0; i < 128; i++) {
              const used = fits && i < n;
              const at = places[i]!;
              const len = used ? ref.length(i) : 0;
              for (let k = at + len; k < at + 2048; k++)
                if (mem[k] !== PATTERN) expect.fail(`place ${i} byte ${k}`);
            }
            expect(untouchedOutside(mem.subarray(256 * KiB), base - 256 * KiB, base - 256 * KiB + size)).toBe(
              true,
            );
          } finally {
            list.unplace();
          }
          expect(list.placed).toBe(false);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('works in a window of a local (unshared) packet memory too', () => {
    const pm = createLocalPacketMemory(512 * KiB);
    try {
      const list = new SegmentList(64 * KiB, 16, { buffer: pm.buffer, base: 128 * KiB, size: 256 * KiB });
      const { frame, h } = tcpCase(40_000, 1448, 4);
      const ref = new SegmentList();
      const room = list.frameRoom(frame.length);
      room.set(frame);
      const n = gsoSegment(h, room, list);
      expect(gsoSegment(h, frame, ref)).toBe(n);
      for (let i = 0; i < n; i++) expect(list.segment(i)).toEqual(ref.segment(i));
    } finally {
      unregisterPacketMemory(pm.memory);
    }
  });
});
