import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Machine } from '../../src/device/index.ts';
import { PtnetAdapter, PtnetNetmapPort } from '../../src/driver/index.ts';
import { NAF_FORCE_READ, NAF_FORCE_RECLAIM, NKR_NOINTR, nmRingNext } from '../../src/netmap/index.ts';
import { FakeKloop, FakePort } from '../device/fake-backend.ts';

/** An attached adapter whose "host" is the test itself, writing ktoa by hand. */
function rig(txSlots = 64, rxSlots = 128) {
  const machine = new Machine({ size: 16 * 4096 });
  const loops: FakeKloop[] = [];
  machine.addPtnet(new FakePort('p', 1, 1, txSlots, rxSlots), (p, c, i) => {
    const l = new FakeKloop(p, c, i);
    loops.push(l);
    return l;
  });
  const a = PtnetAdapter.attach(machine);
  return { a, loop: loops[0]!, tx: a.krings[0]!, rx: a.krings[1]! };
}

describe('guest txsync (§3.2)', () => {
  it('publishes cur/head and kicks a sleeping host; suppresses kicks when it is awake', () => {
    const { a, loop, tx } = rig();
    tx.ring.head = tx.ring.cur = 3;
    expect(a.txsync(tx, 0)).toBe(true);
    expect([tx.atok.head, tx.atok.cur, tx.rhead, tx.rcur]).toEqual([3, 3, 3, 3]);
    expect(loop.kicks).toEqual([0]);
    expect(tx.atok.syncFlags).toBe(0);
    // Host awake (kern_need_kick = 0): no kick for new work...
    tx.ktoa.kernNeedKick = 0;
    tx.ring.head = tx.ring.cur = 5;
    a.txsync(tx, 0);
    expect(loop.kicks).toEqual([0]);
    // ...but FORCE_RECLAIM always kicks and carries its flags.
    a.txsync(tx, NAF_FORCE_RECLAIM);
    expect(loop.kicks).toEqual([0, 0]);
    expect(tx.atok.syncFlags).toBe(NAF_FORCE_RECLAIM);
  });

  it('reclaims: tail follows the host hwtail; interrupt armed only when full', () => {
    const { a, tx } = rig(8, 8);
    // Fill all 7 usable slots: would block.
    tx.ring.head = tx.ring.cur = 7;
    a.txsync(tx, 0);
    expect(tx.ring.tail).toBe(7);
    expect(tx.atok.applNeedKick).toBe(1);
    // The host transmitted 4 slots: hwcur 4, hwtail 3 (free again: 7, 0, 1, 2).
    tx.ktoa.hwcur = 4;
    tx.ktoa.hwtail = 3;
    a.txsync(tx, NAF_FORCE_RECLAIM);
    expect([tx.hwcur, tx.hwtail, tx.ring.tail, tx.rtail]).toEqual([4, 3, 3, 3]);
    expect(tx.atok.applNeedKick).toBe(0);
  });

  it('NKR_NOINTR never arms the interrupt', () => {
    const { a, tx } = rig(8, 8);
    tx.flags |= NKR_NOINTR;
    tx.ring.head = tx.ring.cur = 7;
    a.txsync(tx, 0);
    expect(tx.atok.applNeedKick).toBe(0);
  });

  it('ignores and counts host indices outside the ring', () => {
    const { a, tx } = rig(8, 8);
    tx.ktoa.hwtail = 8;
    tx.ktoa.hwcur = 0xffffffff;
    a.txsync(tx, NAF_FORCE_RECLAIM);
    expect([tx.hwcur, tx.hwtail, tx.ring.tail]).toEqual([0, 7, 7]);
    expect(tx.counters.badHostIndex).toBeGreaterThanOrEqual(2);
  });

  it('an application head outside [rhead, rtail] reinitialises the ring and syncs nothing', () => {
    const { a, loop, tx } = rig(8, 8);
    tx.ring.head = tx.ring.cur = 2;
    a.txsync(tx, 0);
    const kicks = loop.kicks.length;
    tx.ring.setSlotBufIdx(5, 1);
    tx.ring.setSlotLen(6, 60000);
    tx.ring.head = 1; // backwards
    tx.ring.cur = 3;
    tx.ring.tail = 0;
    expect(a.txsync(tx, NAF_FORCE_RECLAIM)).toBe(false);
    expect([tx.ring.head, tx.ring.cur, tx.ring.tail]).toEqual([2, 2, 7]);
    expect([tx.ring.slotBufIdx(5), tx.ring.slotLen(5), tx.ring.slotLen(6)]).toEqual([0, 0, 0]);
    expect(tx.counters.ringReinit).toBe(1);
    expect(loop.kicks.length).toBe(kicks);
    expect(tx.atok.head).toBe(2);
    // cur beyond tail, and indices ≥ N, are refused the same way.
    tx.ring.head = 3;
    tx.ring.cur = 2;
    expect(a.txsync(tx)).toBe(false);
    tx.ring.head = 8;
    tx.ring.cur = 8;
    expect(a.txsync(tx)).toBe(false);
    expect(tx.counters.ringReinit).toBe(3);
  });
});

describe('guest rxsync (§3.3)', () => {
  it('sees received slots, returns consumed ones, arms the interrupt before kicking', () => {
    const { a, loop, rx } = rig(8, 8);
    rx.ktoa.kernNeedKick = 0;
    rx.ktoa.hwtail = 5;
    a.rxsync(rx);
    expect([rx.ring.tail, rx.atok.applNeedKick]).toEqual([5, 0]);
    expect(loop.kicks).toEqual([]);
    rx.ring.head = rx.ring.cur = 5;
    rx.ktoa.kernNeedKick = 1;
    a.rxsync(rx);
    expect([rx.atok.head, rx.atok.cur, rx.atok.applNeedKick]).toEqual([5, 5, 1]);
    expect(loop.kicks).toEqual([1]);
    expect(rx.atok.syncFlags).toBe(NAF_FORCE_READ);
  });

  it('head outside [hwcur, hwtail] is refused', () => {
    const { a, rx } = rig(8, 8);
    rx.ktoa.hwtail = 3;
    a.rxsync(rx);
    rx.ring.head = rx.ring.cur = 4;
    expect(a.rxsync(rx)).toBe(false);
    expect([rx.ring.head, rx.ring.cur, rx.ring.tail]).toEqual([0, 0, 3]);
  });

  it('property: any host/app interleaving keeps indices valid and the flags consistent', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 16 }),
        fc.array(
          fc.oneof(
            fc.record({ op: fc.constant('host' as const), n: fc.nat(20), kick: fc.boolean() }),
            fc.record({ op: fc.constant('app' as const), n: fc.nat(20) }),
            fc.record({ op: fc.constant('hostile' as const), v: fc.integer({ min: 16, max: 2 ** 32 - 1 }) }),
          ),
          { maxLength: 60 },
        ),
        (n, ops) => {
          const { a, loop, rx } = rig(8, n);
          // The host's own view: it has filled up to hwtail and never fills prev(head).
          let hwtail = 0;
          for (const o of ops) {
            if (o.op === 'host') {
              for (let k = 0; k < o.n && nmRingNext(hwtail, n) !== rx.atok.head; k++)
                hwtail = nmRingNext(hwtail, n);
              rx.ktoa.hwcur = rx.atok.head;
              rx.ktoa.hwtail = hwtail;
              rx.ktoa.kernNeedKick = o.kick ? 1 : 0;
            } else if (o.op === 'hostile') {
              rx.ktoa.hwtail = o.v;
            } else {
              // Consume up to n received slots, then sync.
              let h = rx.ring.head;
              for (let k = 0; k < o.n && h !== rx.ring.tail; k++) h = nmRingNext(h, n);
              rx.ring.head = rx.ring.cur = h;
              const before = loop.kicks.length;
              const wantKick = rx.ktoa.kernNeedKick !== 0;
              expect(a.rxsync(rx)).toBe(true);
              const wouldBlock = rx.rcur === rx.hwtail;
              expect(rx.atok.applNeedKick).toBe(wouldBlock ? 1 : 0);
              expect(loop.kicks.length - before).toBe(
                wantKick && (rx.rhead !== rx.hwcur || wouldBlock) ? 1 : 0,
              );
              expect(rx.ring.tail).toBe(rx.hwtail);
            }
            for (const v of [rx.ring.head, rx.ring.cur, rx.ring.tail, rx.hwcur, rx.hwtail])
              expect(v).toBeLessThan(n);
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('PtnetNetmapPort', () => {
  it('pollRx sleeps until the RX interrupt and wakes with data', async () => {
    const { a, loop, rx } = rig(8, 8);
    const port = new PtnetNetmapPort(a);
    expect(port.rxRing(0)).toBe(rx.ring);
    let done = false;
    const p = port.pollRx(0).then(() => (done = true));
    await Promise.resolve();
    expect(done).toBe(false);
    expect(rx.atok.applNeedKick).toBe(1); // armed because the ring would block
    rx.ktoa.hwtail = 2;
    loop.irq(1);
    await p;
    expect(done).toBe(true);
    expect(port.rxRing(0).tail).toBe(2);
    expect(() => port.rxRing(1)).toThrow(expect.objectContaining({ code: 'BAD_RING' }));
  });

  it('pollTx returns at once when there is room', async () => {
    const { a } = rig(8, 8);
    const port = new PtnetNetmapPort(a);
    await port.pollTx(0);
    expect(port.txRing(0).tail).toBe(7);
  });
});
