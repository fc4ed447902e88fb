// netmap pipes: zero copy by buffer swapping, back-pressure instead of loss.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HostError, createPipe } from '../../src/host/index.ts';
import { NS_BUF_CHANGED } from '../../src/netmap/constants.ts';
import { frame, inlineGuest, seqOf } from './guest.ts';

describe('pipe', () => {
  it('swaps buffer indices (NS_BUF_CHANGED on both sides) instead of copying', () => {
    const [pa, pb] = createPipe('s', { slots: 32 });
    const q: (() => void)[] = [];
    const a = inlineGuest(pa, q);
    const b = inlineGuest(pb, q);
    const slot = a.tx.head;
    const idx = a.tx.bufIdx(slot);
    a.send(frame(pb.mac, pa.mac, 42));
    expect(a.tx.bufIdx(slot)).not.toBe(idx);
    expect(a.tx.flags(slot) & NS_BUF_CHANGED).toBe(NS_BUF_CHANGED);
    b.rx.rxsync();
    expect(b.rx.bufIdx(b.rx.head)).toBe(idx);
    expect(b.rx.flags(b.rx.head) & NS_BUF_CHANGED).toBe(NS_BUF_CHANGED);
    expect(seqOf(b.rx.take()!.data)).toBe(42);
    // No buffer was lost or duplicated: every index in the four rings is distinct.
    const all = new Set<number>();
    for (const r of [a.tx, a.rx, b.tx, b.rx]) for (let i = 0; i < r.n; i++) all.add(r.bufIdx(i));
    expect(all.size).toBe(4 * 32);
  });

  it('back-pressures the sender when the receiver is full, losing nothing', () => {
    const [pa, pb] = createPipe('bp', { slots: 16 });
    const q: (() => void)[] = [];
    const a = inlineGuest(pa, q);
    const b = inlineGuest(pb, q);
    let sent = 0;
    for (let round = 0; round < 3; round++) {
      a.tx.txsync();
      while (a.tx.space() > 0) a.tx.put(frame(pb.mac, pa.mac, sent++));
      a.tx.txsync();
      a.drain();
    }
    // 15 in B's RX ring, 15 waiting in A's TX ring, and A's ring is full.
    expect(sent).toBe(30);
    expect(a.tx.space()).toBe(0);
    const got: number[] = [];
    for (let i = 0; i < 4 && got.length < 30; i++) for (const p of b.recv()) got.push(seqOf(p.data));
    expect(got).toEqual(Array.from({ length: 30 }, (_, i) => i));
    expect(Object.values(pa.datapath.drops()).every((n) => n === 0)).toBe(true);
    // The blocked TX ring was woken by B returning slots, and A was interrupted for the space.
    a.tx.txsync();
    expect(a.tx.space()).toBe(15);
  });

  it('skips and counts slots with a bad buffer index or length', () => {
    const [pa, pb] = createPipe('bad', { slots: 8 });
    const q: (() => void)[] = [];
    const a = inlineGuest(pa, q);
    const b = inlineGuest(pb, q);
    a.tx.txsync();
    a.tx.put(frame(pb.mac, pa.mac, 1));
    const s = (a.tx.head + a.tx.n - 1) % a.tx.n;
    const idx = a.tx.bufIdx(s);
    a.tx.setBufIdx(s, 1);
    a.tx.put(frame(pb.mac, pa.mac, 2));
    a.tx.txsync();
    a.drain();
    a.tx.setBufIdx(s, idx);
    expect(b.recv().map((p) => seqOf(p.data))).toEqual([2]);
    expect(pa.datapath.drops().BAD_BUF_IDX).toBe(1);
  });

  it('never hands a sender a buffer index the receiving guest broke', () => {
    const [pa, pb] = createPipe('rxbad', { slots: 8 });
    const q: (() => void)[] = [];
    const a = inlineGuest(pa, q);
    const b = inlineGuest(pb, q);
    const idx = b.rx.bufIdx(0);
    b.rx.setBufIdx(0, 0);
    a.send(frame(pb.mac, pa.mac, 1));
    expect(b.recv()).toEqual([]);
    expect(pb.datapath.drops().BAD_BUF_IDX).toBeGreaterThan(0);
    for (let i = 0; i < a.tx.n; i++) expect(a.tx.bufIdx(i)).toBeGreaterThanOrEqual(2);
    // Repaired: the waiting packet goes through on the next kick.
    b.rx.setBufIdx(0, idx);
    a.tx.txsync(2);
    a.drain();
    expect(b.recv().map((p) => seqOf(p.data))).toEqual([1]);
  });

  it('refuses impossible geometries', () => {
    expect(() => createPipe('x', { rings: 0 })).toThrow(HostError);
    expect(() => createPipe('x', { slots: 1 })).toThrow(HostError);
    expect(() => createPipe('x', { slots: 5000 })).toThrow(HostError);
  });

  it('batches with bad slots mid-batch: each bad one counted and skipped, the rest delivered byte for byte in order, no buffer lost', () => {
    // Per slot: a frame, a reserved buffer index, an index past the pool, a length past the buffer.
    const kind = fc.constantFrom('ok', 'ok', 'ok', 'idx1', 'idxHuge', 'badLen');
    fc.assert(
      fc.property(
        fc.array(fc.array(kind, { minLength: 1, maxLength: 20 }), { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 60, max: 300 }),
        (batches, len) => {
          const [pa, pb] = createPipe('pp', { slots: 32 });
          const q: (() => void)[] = [];
          const a = inlineGuest(pa, q);
          const b = inlineGuest(pb, q);
          const want: Uint8Array[] = [];
          const got: Uint8Array[] = [];
          let bad = 0;
          let badLen = 0;
          let seq = 0;
          const dv = new DataView(pa.region.buffer, pa.region.base);
          for (const batch of batches) {
            a.tx.txsync();
            const broken: [number, number][] = [];
            for (const k of batch) {
              if (a.tx.space() === 0) break;
              const f = frame(pb.mac, pa.mac, seq++, len);
              const slot = a.tx.head;
              a.tx.put(f);
              if (k === 'ok') want.push(f);
              else if (k === 'badLen') {
                dv.setUint16(a.tx.slot(slot) + 4, 4000, true);
                badLen++;
              } else {
                broken.push([slot, a.tx.bufIdx(slot)]);
                a.tx.setBufIdx(slot, k === 'idx1' ? 1 : 0x7fffffff);
                bad++;
              }
            }
            a.tx.txsync();
            a.drain();
            // The skipped slots keep what the guest wrote; it repairs them to keep its buffers.
            for (const [slot, idx] of broken) a.tx.setBufIdx(slot, idx);
            for (const p of b.recv()) got.push(p.data);
          }
          expect(got).toEqual(want);
          expect(pa.datapath.drops().BAD_BUF_IDX).toBe(bad);
          expect(pa.datapath.drops().BAD_LEN).toBe(badLen);
          const all = new Set<number>();
          for (const r of [a.tx, a.rx, b.tx, b.rx]) for (let i = 0; i < r.n; i++) all.add(r.bufIdx(i));
          expect(all.size).toBe(4 * 32);
        },
      ),
      { numRuns: 80 },
    );
  });
});
