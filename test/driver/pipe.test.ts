// The driver against the device model and the real host: two guests on the two ends of a netmap
// pipe, each attached through its own machine, the host sync loop inline (spec §3).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Machine } from '../../src/device/index.ts';
import { PtnetAdapter, PtnetNetmapPort } from '../../src/driver/index.ts';
import { SyncKloop, createPipe } from '../../src/host/index.ts';
import type { KloopMode, NetmapPort } from '../../src/host/index.ts';
import { nmRingNext } from '../../src/netmap/index.ts';

function guest(
  port: NetmapPort,
  mode: KloopMode,
): { a: PtnetAdapter; nm: PtnetNetmapPort; loops: SyncKloop[] } {
  const m = new Machine({ size: 16 * 4096 });
  const loops: SyncKloop[] = [];
  m.addPtnet(port, (p, csb, irq) => {
    const l = new SyncKloop(p, csb, irq, mode);
    loops.push(l);
    return l;
  });
  const a = PtnetAdapter.attach(m);
  return { a, nm: new PtnetNetmapPort(a), loops };
}

/** Fill TX ring 0 with as many of `frames` as fit, sync; returns how many went. */
function send(nm: PtnetNetmapPort, frames: Uint8Array[], from: number): number {
  const ring = nm.txRing(0);
  let h = ring.head;
  let k = from;
  while (k < frames.length && h !== ring.tail) {
    const f = frames[k++]!;
    ring.bytes.set(f, ring.slotBufOffset(h));
    ring.setSlotLen(h, f.length);
    ring.setSlotFlags(h, 0);
    h = nmRingNext(h, ring.numSlots);
  }
  ring.head = ring.cur = h;
  nm.txsync(0);
  return k - from;
}

/** Take every received slot of RX ring 0 and give the slots back. */
function receive(nm: PtnetNetmapPort, out: Uint8Array[]): void {
  const ring = nm.rxRing(0);
  let h = ring.head;
  while (h !== ring.tail) {
    const off = ring.slotBufOffset(h);
    out.push(ring.bytes.slice(off, off + ring.slotLen(h)));
    h = nmRingNext(h, ring.numSlots);
  }
  ring.head = ring.cur = h;
  nm.rxsync(0);
}

describe('ptnet guests on a pipe, host sync loop inline', () => {
  it('moves every frame, in order, intact, through full rings and interrupts', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 2048 }), { minLength: 1, maxLength: 300 }),
        fc.integer({ min: 2, max: 64 }),
        async (frames, slots) => {
          const [e0, e1] = createPipe('pt', { slots });
          const A = guest(e0, 'inline');
          const B = guest(e1, 'inline');
          const got: Uint8Array[] = [];
          let sent = 0;
          let spins = 0;
          while (got.length < frames.length) {
            if (sent < frames.length) {
              await A.nm.pollTx(0);
              sent += send(A.nm, frames, sent);
            }
            await B.nm.pollRx(0);
            receive(B.nm, got);
            expect(++spins).toBeLessThan(10 * frames.length + 100);
          }
          expect(got).toEqual(frames);
          for (const kr of [...A.a.krings, ...B.a.krings]) {
            expect(kr.counters.badHostIndex).toBe(0);
            expect(kr.counters.ringReinit).toBe(0);
          }
          A.a.detach();
          B.a.detach();
          expect(A.loops[0]!.runs).toBeGreaterThan(0);
        },
      ),
      { numRuns: 25 },
    );
  });

  it('a receiver asleep in poll is woken by the interrupt the host raises', async () => {
    const [e0, e1] = createPipe('wk', { slots: 8 });
    const A = guest(e0, 'inline');
    const B = guest(e1, 'inline');
    let woke = false;
    const p = B.nm.pollRx(0).then(() => (woke = true));
    await new Promise((r) => setImmediate(r));
    expect(woke).toBe(false);
    expect(B.a.krings[1]!.atok.applNeedKick).toBe(1);
    send(A.nm, [new Uint8Array([1, 2, 3])], 0);
    await p;
    expect(B.nm.rxRing(0).tail).toBe(1);
    expect(B.a.krings[1]!.counters.interrupts).toBeGreaterThan(0);
    A.a.detach();
    B.a.detach();
  });
});

describe('ptnet guests on a pipe, host sync loop in a worker', () => {
  it('moves 5000 frames in order with interrupts and kicks crossing threads', async () => {
    const [e0, e1] = createPipe('wr', { slots: 256 });
    const A = guest(e0, 'worker');
    const B = guest(e1, 'worker');
    await Promise.all([...A.loops, ...B.loops].map((l) => l.ready()));
    const frames = Array.from({ length: 5000 }, (_, k) => new Uint8Array([k & 0xff, k >>> 8, 60, 61]));
    const got: Uint8Array[] = [];
    let sent = 0;
    const tx = (async () => {
      while (sent < frames.length) {
        await A.nm.pollTx(0);
        sent += send(A.nm, frames, sent);
      }
    })();
    while (got.length < frames.length) {
      await B.nm.pollRx(0);
      receive(B.nm, got);
    }
    await tx;
    expect(got).toEqual(frames);
    A.a.detach();
    B.a.detach();
    expect([...A.loops, ...B.loops].map((l) => l.rescues)).toEqual([0, 0]);
  }, 30_000);
});
