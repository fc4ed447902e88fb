// §1.6 prologue checks: hostile head/cur never pass and are never used as an index.
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KR, KRING_WORDS, Kring, SyncKloop, createPipe } from '../../src/host/index.ts';
import { rxsyncPrologueOk, txsyncPrologueOk } from '../../src/netmap/index.ts';
import { GuestRing, frame, guestTxRing, makeCsb, ringsFromIf } from './guest.ts';

/** The circular range [a, b] walked slot by slot (the reference for the range checks). */
function walk(a: number, b: number, n: number): Set<number> {
  const s = new Set<number>();
  for (let i = a; ; i = (i + 1) % n) {
    s.add(i);
    if (i === b) break;
  }
  return s;
}

const u32 = fc.oneof(
  fc.nat(70),
  fc.constantFrom(0xffffffff, 0x80000000, 2 ** 31 - 1),
  fc.integer({ min: -5, max: -1 }),
);

describe('txsync/rxsync prologue', () => {
  it('accepts exactly head in [rhead, rtail] and cur in [head, rtail] (TX)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 64 }),
        fc.nat(),
        fc.nat(),
        fc.nat(),
        fc.nat(),
        u32,
        u32,
        (n, a, b, c, d, head, cur) => {
          const [hwcur, hwtail, rhead, rtail] = [a % n, b % n, c % n, d % n];
          const ok = txsyncPrologueOk(n, hwcur, hwtail, rhead, rtail, head, cur);
          const inRange = head >= 0 && head < n && cur >= 0 && cur < n;
          const ref = inRange && walk(rhead, rtail, n).has(head) && walk(head, rtail, n).has(cur);
          expect(ok).toBe(ref);
        },
      ),
    );
  });

  it('accepts exactly head in [hwcur, hwtail] and cur in [head, hwtail] (RX)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 64 }), fc.nat(), fc.nat(), u32, u32, (n, a, b, head, cur) => {
        const [hwcur, hwtail] = [a % n, b % n];
        const ok = rxsyncPrologueOk(n, hwcur, hwtail, head, cur);
        const inRange = head >= 0 && head < n && cur >= 0 && cur < n;
        expect(ok).toBe(inRange && walk(hwcur, hwtail, n).has(head) && walk(head, hwtail, n).has(cur));
      }),
    );
  });

  it('rejects corrupted kernel indices', () => {
    expect(txsyncPrologueOk(8, 8, 0, 0, 7, 0, 0)).toBe(false);
    expect(txsyncPrologueOk(8, 0, 0, 0, 9, 0, 0)).toBe(false);
    expect(rxsyncPrologueOk(8, 0, 8, 0, 0)).toBe(false);
  });

  it('a kring keeps its shadow indices in range whatever the guest writes, and counts reinits', () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.integer({ min: 2, max: 32 }),
        fc.array(fc.tuple(u32, u32), { maxLength: 40 }),
        (tx, n, steps) => {
          const kr = new Kring(new Int32Array(KRING_WORDS), 0, n, tx);
          kr.reset();
          let bad = 0;
          for (const [head, cur] of steps) {
            if (!kr.prologue(head, cur)) bad++;
            for (const v of [kr.rhead, kr.rcur, kr.rtail, kr.hwcur, kr.hwtail]) {
              expect(v >= 0 && v < n).toBe(true);
            }
          }
          expect(kr.reinits).toBe(bad);
        },
      ),
    );
  });

  it('a refused prologue also repairs the ring slots, like netmap_ring_reinit', () => {
    const [pa] = createPipe('ri', { slots: 8 });
    const k = new SyncKloop(pa, makeCsb(), () => {}, 'inline');
    const csb = k.csb;
    k.start();
    const tx = guestTxRing(pa, csb, () => {});
    const good = tx.bufIdx(4);
    tx.setBufIdx(3, 1);
    new DataView(pa.region.buffer, pa.region.base).setUint16(tx.slot(4) + 4, 5000, true);
    tx.atok.head = 9; // out of range
    k.kick(0);
    expect(pa.datapath.krings[0]!.reinits).toBe(1);
    expect([tx.bufIdx(3), tx.len(3), tx.bufIdx(4), tx.len(4)]).toEqual([0, 0, good, 0]);
    k.stop();
  });

  it('reinit returns the shadow to what the host last published', () => {
    const kr = new Kring(new Int32Array(KRING_WORDS), 0, 8, true);
    kr.reset();
    expect(kr.prologue(3, 3)).toBe(true);
    kr.hwcur = 3;
    kr.hwtail = 2;
    expect(kr.prologue(1, 1)).toBe(false); // backwards
    expect([kr.rhead, kr.rcur, kr.rtail, kr.reinits]).toEqual([3, 3, 2, 1]);
  });
});

describe('kring lock', () => {
  it('serialises three threads doing non-atomic updates', async () => {
    const sab = new SharedArrayBuffer(4 * (KRING_WORDS + 4));
    const st = new Int32Array(sab);
    const [counter, ready, go] = [KRING_WORDS, KRING_WORDS + 1, KRING_WORDS + 2];
    const n = 100_000;
    const workers = [0, 1].map(
      () =>
        new Worker(new URL('./lock-worker.mjs', import.meta.url), {
          workerData: { sab, counter, ready, go, n },
        }),
    );
    const done = workers.map(
      (w) => new Promise((resolve, reject) => w.on('exit', resolve).on('error', reject)),
    );
    while (Atomics.load(st, ready) < 2) await new Promise((r) => setTimeout(r, 5));
    const kr = new Kring(st, 0, 8, false);
    Atomics.store(st, go, 1);
    Atomics.notify(st, go);
    for (let i = 0; i < n; i++) {
      kr.lock();
      const v = st[counter]!;
      for (let k = 0; k < 16; k++) st[counter + 3] = k;
      st[counter] = v + 1;
      kr.unlock();
    }
    await Promise.all(done);
    expect(st[counter]).toBe(3 * n);
    expect(st[KR.LOCK]).toBe(0);
  }, 30_000);
});

describe('hostile guest indices through the kloop', () => {
  it('never crash the host, keep every kring index in range, and are counted', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(u32, u32), { minLength: 1, maxLength: 30 }), (steps) => {
        const [pa, pb] = createPipe('h', { slots: 16 });
        const csbA = makeCsb();
        const csbB = makeCsb();
        const queue: (() => void)[] = [];
        const opts = { schedule: (f: () => void) => queue.push(f) };
        const ka = new SyncKloop(pa, csbA, () => {}, 'inline', opts);
        const kb = new SyncKloop(pb, csbB, () => {}, 'inline', opts);
        ka.start();
        kb.start();
        const ra = ringsFromIf(pa.region, pa.nifpOffset);
        const tx = new GuestRing(pa.region, ra.tx[0]!, csbA, 0, true, (r) => ka.kick(r));
        tx.syncFromCsb();
        // One good packet first, so there is something a bad index could misuse.
        tx.put(frame(pb.mac, pa.mac, 7));
        tx.txsync();
        while (queue.length > 0) queue.shift()!();
        let hostile = 0;
        for (const [head, cur] of steps) {
          tx.atok.cur = cur >>> 0;
          tx.atok.head = head >>> 0;
          const n = 16;
          const kr = pa.datapath.krings[0]!;
          if (!txsyncPrologueOk(n, kr.hwcur, kr.hwtail, kr.rhead, kr.rtail, head, cur)) hostile++;
          ka.kick(0);
          kb.kick(1);
          while (queue.length > 0) queue.shift()!();
          for (const k of [...pa.datapath.krings, ...pb.datapath.krings]) {
            for (const w of [KR.HWCUR, KR.HWTAIL, KR.RHEAD, KR.RCUR, KR.RTAIL]) {
              const v = Atomics.load(k.state, k.base + w);
              expect(v >= 0 && v < n).toBe(true);
            }
          }
        }
        expect(pa.datapath.krings[0]!.reinits).toBe(hostile);
        ka.stop();
        kb.stop();
      }),
      { numRuns: 60 },
    );
  });
});
