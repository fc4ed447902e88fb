import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  nmInRange,
  nmKrSpace,
  nmKrTxEmpty,
  nmKrWouldBlock,
  nmNext,
  nmPrev,
  nmRingEmpty,
  nmRingNext,
  nmRingSpace,
  nmTxPending,
} from '../../src/netmap/ring-index.ts';

/** A ring size and two indices in it. */
const ringAndTwo = fc
  .integer({ min: 1, max: 4096 })
  .chain((n) => fc.tuple(fc.constant(n), fc.nat(n - 1), fc.nat(n - 1)));

describe('ring index arithmetic (§1.6)', () => {
  it('next/prev wrap and are inverse', () => {
    fc.assert(
      fc.property(ringAndTwo, ([n, i]) => {
        expect(nmRingNext(i, n)).toBe((i + 1) % n);
        expect(nmNext(i, n - 1)).toBe((i + 1) % n);
        expect(nmPrev(i, n - 1)).toBe((i - 1 + n) % n);
        expect(nmPrev(nmNext(i, n - 1), n - 1)).toBe(i);
      }),
    );
  });

  it('space is the number of next() steps from head to tail', () => {
    fc.assert(
      fc.property(ringAndTwo, ([n, head, tail]) => {
        let steps = 0;
        for (let i = head; i !== tail; i = nmRingNext(i, n)) steps++;
        expect(nmRingSpace(head, tail, n)).toBe(steps);
        expect(nmKrSpace(head, tail, n)).toBe(steps);
        expect(nmRingEmpty(head, tail)).toBe(steps === 0);
        expect(nmKrTxEmpty(head, tail)).toBe(steps === 0);
        expect(nmKrWouldBlock(head, tail)).toBe(steps === 0);
      }),
    );
  });

  it('TX pending unless tail == head − 1', () => {
    expect(nmTxPending(0, 7, 8)).toBe(false);
    expect(nmTxPending(5, 4, 8)).toBe(false);
    expect(nmTxPending(5, 3, 8)).toBe(true);
    expect(nmTxPending(0, 0, 8)).toBe(true);
  });

  it('nmInRange matches walking the circular range', () => {
    fc.assert(
      fc.property(
        ringAndTwo.chain(([n, lo, hi]) =>
          fc.tuple(fc.constant(n), fc.constant(lo), fc.constant(hi), fc.nat(n - 1)),
        ),
        ([n, lo, hi, x]) => {
          let inside = false;
          for (let i = lo; ; i = nmRingNext(i, n)) {
            if (i === x) inside = true;
            if (i === hi) break;
          }
          expect(nmInRange(lo, x, hi)).toBe(inside);
        },
      ),
    );
  });
});
