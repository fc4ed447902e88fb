// The receive path against a host the test plays itself: random slot streams (lengths up to past
// the buffer size, first slots shorter than the header, NS_MOREFRAG chains with garbage in the other
// flag bits, chains cut by hwtail) published in random steps between polls of random budgets. A
// model of the stream says which packets must come up, with which bytes, and which must be counted
// as drops; the driver must never throw, never pass hwtail, never leak an mbuf.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Machine } from '../../src/device/index.ts';
import { PtnetAdapter, PtnetNetIf } from '../../src/driver/index.ts';
import { Mempool } from '../../src/mbuf/index.ts';
import type { Mbuf } from '../../src/mbuf/index.ts';
import { NS_MOREFRAG, nmRingSpace } from '../../src/netmap/index.ts';
import { FakeKloop, FakePort } from '../device/fake-backend.ts';

const SLOTS = 16;
const HDR = 12;

interface Slot {
  len: number;
  more: boolean;
  /** Other flag bits the driver must ignore (VALE's fragment count, NS_BUF_CHANGED). */
  junk: number;
}

const slotArb: fc.Arbitrary<Slot> = fc.record({
  len: fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: 0, max: 2048 }) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: HDR + 14 }) },
    { weight: 1, arbitrary: fc.integer({ min: 2049, max: 0xffff }) },
  ),
  more: fc.boolean(),
  junk: fc.constantFrom(0, 0x0100, 0x0300, 0x4000, 0x0001),
});

/** Chains of at most 8 slots: never a whole ring, so no chain is dropped for filling it. */
function chains(raw: Slot[]): Slot[] {
  let run = 0;
  return raw.map((s) => {
    run = s.more ? run + 1 : 0;
    if (run >= 8) {
      run = 0;
      return { ...s, more: false };
    }
    return s;
  });
}

/** Byte k of stream slot i (after the header on first slots). */
const fill = (i: number, k: number): number => (i * 7 + k * 13) & 0xff;

interface Expected {
  /** Delivered frames, in order. */
  frames: Uint8Array[];
  drops: number;
  /** Slots consumed by complete chains. */
  consumed: number;
}

/** What the driver must make of the stream (complete chains only; the tail chain waits). */
function model(stream: Slot[]): Expected {
  const out: Expected = { frames: [], drops: 0, consumed: 0 };
  let i = 0;
  while (i < stream.length) {
    let j = i;
    while (j < stream.length && stream[j]!.more) j++;
    if (j === stream.length) break; // incomplete: stays in the ring
    const chain = stream.slice(i, j + 1);
    const bad = chain.some((s) => s.len > 2048) || chain[0]!.len < HDR;
    const total = chain.reduce((a, s) => a + s.len, 0) - HDR;
    if (bad || total < 14) out.drops++;
    else {
      const f = new Uint8Array(total);
      let o = 0;
      chain.forEach((s, c) => {
        const from = c === 0 ? HDR : 0;
        for (let k = from; k < s.len; k++) f[o++] = fill(i + c, k);
      });
      out.frames.push(f);
    }
    out.consumed = j + 1;
    i = j + 1;
  }
  return out;
}

describe('receive: random slot streams from a hand-driven host', () => {
  it('delivers exactly the complete, valid packets, counts the rest, never passes hwtail or leaks', () => {
    fc.assert(
      fc.property(
        fc.array(slotArb, { minLength: 1, maxLength: 120 }),
        fc.array(
          fc.record({ publish: fc.integer({ min: 0, max: 15 }), budget: fc.integer({ min: 1, max: 9 }) }),
          {
            minLength: 1,
            maxLength: 60,
          },
        ),
        (raw, steps) => {
          const stream = chains(raw);
          const machine = new Machine({ size: 16 * 4096 });
          machine.addPtnet(new FakePort('p', 1, 1, SLOTS, SLOTS), (p, c, i) => new FakeKloop(p, c, i));
          const pool = new Mempool({ segments: 512 });
          const nif = new PtnetNetIf(PtnetAdapter.attach(machine), { rxPool: pool });
          const rx = nif.adapter.krings[1]!;
          const ring = rx.ring;
          const got: Uint8Array[] = [];
          const deliver = (m: Mbuf): void => {
            const b = new Uint8Array(m.length);
            m.copyTo(b);
            got.push(b);
            m.free();
          };
          let written = 0; // stream slots published so far
          let consumed = 0; // slots the guest gave back
          let hwtail = 0;
          const publish = (k: number): void => {
            // The host never fills the slot before the guest's head.
            const room = nmRingSpace(hwtail, (rx.atok.head + SLOTS - 1) % SLOTS, SLOTS);
            for (let n = 0; n < Math.min(k, room) && written < stream.length; n++, written++) {
              const s = stream[written]!;
              const off = ring.slotBufOffset(hwtail);
              const stored = Math.min(s.len, 2048);
              // A first slot starts with a zero header; continuation slots carry data from byte 0.
              const first = written === 0 || !stream[written - 1]!.more;
              const from = first ? Math.min(HDR, stored) : 0;
              ring.bytes.fill(0, off, off + from);
              for (let b = from; b < stored; b++) ring.bytes[off + b] = fill(written, b);
              ring.setSlotLen(hwtail, s.len);
              ring.setSlotFlags(hwtail, (s.more ? NS_MOREFRAG : 0) | s.junk);
              hwtail = (hwtail + 1) % SLOTS;
            }
            rx.ktoa.hwcur = rx.atok.head;
            rx.ktoa.hwtail = hwtail;
          };
          const poll = (budget: number): void => {
            const before = rx.rhead;
            const n = nif.poll(budget, deliver);
            expect(n).toBeLessThanOrEqual(budget);
            // Never past what the host published; the published head is what the ring says.
            const advanced = nmRingSpace(before, rx.rhead, SLOTS);
            expect(advanced).toBeLessThanOrEqual(nmRingSpace(before, hwtail, SLOTS));
            expect(rx.atok.head).toBe(rx.rhead);
            consumed += advanced;
          };
          for (const st of steps) {
            publish(st.publish);
            poll(st.budget);
          }
          // Drain: publish the rest while polling, then once more.
          for (let guard = 0; guard < 10 * stream.length + 10; guard++) {
            publish(SLOTS);
            poll(64);
            if (written === stream.length && rx.rhead === hwtail) break;
          }
          poll(64);
          const want = model(stream);
          expect(consumed).toBe(want.consumed);
          const c = nif.counters;
          expect(c.rxDropRunt + c.rxDropBadLen + c.rxDropHdr).toBe(want.drops);
          expect(c.rxDropFrags).toBe(0);
          expect(c.rxPackets).toBe(want.frames.length);
          expect(got.length).toBe(want.frames.length);
          got.forEach((g, k) => expect(Buffer.from(g).equals(Buffer.from(want.frames[k]!))).toBe(true));
          expect(pool.mbufsFree).toBe(pool.mbufCount);
        },
      ),
      { numRuns: 150 },
    );
  });
});
