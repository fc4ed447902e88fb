// Busy polling of an inline TAP port's descriptor (src/host/tap-busy-poll.ts), deterministically: a
// clock stepped by the test per read and a descriptor that becomes readable at a chosen instant.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MISS_LIMIT, PREEMPT_GAP_US, PREEMPT_LIMIT, PollWindow } from '../../src/host/kloop-idle.ts';
import { TapBusyPoll } from '../../src/host/tap-busy-poll.ts';

/** A clock that advances `step` µs per read, and a frame that arrives at `arrival` µs (or never). */
function world(step = 1): {
  now: () => number;
  look: () => boolean;
  arriveIn: (us: number) => void;
  jumpAfter: (reads: number, us: number) => void;
  advance: (us: number) => void;
  looks: () => number;
} {
  let t = 0;
  let arrival = Infinity;
  let looks = 0;
  let jumpAt = -1;
  let jumpBy = 0;
  let reads = 0;
  return {
    now: () => {
      if (++reads === jumpAt) t += jumpBy;
      const v = t;
      t += step;
      return v;
    },
    look: () => {
      looks++;
      return t >= arrival;
    },
    arriveIn: (us) => (arrival = t + us),
    jumpAfter: (n, us) => {
      jumpAt = reads + n;
      jumpBy = us;
    },
    advance: (us) => (t += us),
    looks: () => looks,
  };
}

describe('TapBusyPoll', () => {
  it('starts shut: no look until an idle period the window could have covered opens it', () => {
    const w = world();
    const bp = new TapBusyPoll(new PollWindow(50), w.look, w.now, () => true);
    expect(bp.spin()).toBe('shut');
    expect(w.looks()).toBe(0);
    w.advance(30); // the frame came 30 µs after the ring ran dry, seen by the event loop's watch
    bp.woke();
    expect(bp.window.us).toBeGreaterThanOrEqual(30);
    w.arriveIn(10);
    expect(bp.spin()).toBe('hit');
    expect(bp.hits).toBe(1);
    // The hit ended its idle period: a watch firing afterwards does not count it again.
    const us = bp.window.us;
    w.advance(1000);
    bp.woke();
    expect(bp.window.us).toBe(us);
  });

  it('runs out after its window, which halves after each long idle period and shuts after MISS_LIMIT misses', () => {
    const w = world();
    const bp = new TapBusyPoll(new PollWindow(64, 8), w.look, w.now, () => true);
    bp.spin();
    w.advance(40);
    bp.woke();
    expect(bp.window.us).toBe(64);
    const windows: number[] = [];
    for (let i = 0; i < MISS_LIMIT; i++) {
      const win = bp.window.us;
      windows.push(win);
      const t0 = w.now();
      expect(bp.spin()).toBe('miss');
      const spent = w.now() - t0;
      // Never shorter nor longer than the window (plus the clock reads around it).
      expect(spent).toBeGreaterThanOrEqual(win);
      expect(spent).toBeLessThanOrEqual(win + 4);
      // The frame came much later, seen by the watch: longer than the max, the window halves.
      w.advance(10_000);
      bp.woke();
    }
    expect(windows).toEqual([64, 32, 16, 8]);
    expect(bp.misses).toBe(MISS_LIMIT);
    expect(bp.window.us).toBe(0);
    expect(bp.spin()).toBe('shut');
  });

  it("never polls past the cap (the event loop's next timer), and a cap of 0 does not poll", () => {
    const w = world();
    const bp = new TapBusyPoll(new PollWindow(500), w.look, w.now, () => true);
    bp.spin();
    w.advance(300);
    bp.woke();
    expect(bp.window.us).toBeGreaterThanOrEqual(300);
    const t0 = w.now();
    expect(bp.spin(40)).toBe('miss');
    expect(w.now() - t0).toBeLessThanOrEqual(44);
    w.advance(100);
    bp.woke();
    const looks = w.looks();
    expect(bp.spin(0)).toBe('shut');
    expect(w.looks()).toBe(looks);
  });

  it('gives the CPU back when preempted while polling; PREEMPT_LIMIT such spins in a row shut the window', () => {
    const w = world();
    const bp = new TapBusyPoll(new PollWindow(50), w.look, w.now, () => true);
    bp.spin();
    w.advance(40);
    bp.woke();
    for (let i = 1; i <= PREEMPT_LIMIT; i++) {
      expect(bp.window.us).toBeGreaterThan(0);
      w.jumpAfter(5, PREEMPT_GAP_US + 1);
      expect(bp.spin()).toBe('preempted');
      expect(bp.preemptions).toBe(i);
    }
    expect(bp.window.us).toBe(0);
    expect(bp.window.cooldown).toBeGreaterThan(0);
  });

  it('a gap that was no run-queue wait (an interrupt, the host taking the vCPU) is not a preemption', () => {
    const w = world();
    let asked = 0;
    const bp = new TapBusyPoll(new PollWindow(5000), w.look, w.now, () => (asked++, false));
    bp.spin();
    w.advance(2000);
    bp.woke();
    expect(bp.window.us).toBeGreaterThanOrEqual(2000);
    // A 2 ms wait with gaps in it, as a paced ping over a VM's TAP: each gap is asked about once.
    w.jumpAfter(5, PREEMPT_GAP_US + 30);
    w.arriveIn(1500);
    expect(bp.spin()).toBe('hit');
    expect(asked).toBe(1);
    expect(bp.interrupted).toBe(1);
    expect(bp.preemptions).toBe(0);
  });

  it('property: a spin never outlasts its window; it hits exactly when the frame comes within it', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 500 }),
        fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 1, max: 3 }),
        (maxUs, arrivals, step) => {
          const w = world(step);
          const bp = new TapBusyPoll(new PollWindow(maxUs), w.look, w.now, () => true);
          for (const a of arrivals) {
            const win = bp.window.us;
            w.arriveIn(a);
            const t0 = w.now();
            const end = bp.spin();
            const spent = w.now() - t0;
            if (end === 'shut') {
              expect(win).toBe(0);
              w.advance(a);
              bp.woke();
            } else {
              expect(spent).toBeLessThanOrEqual(Math.max(win, maxUs) + 4 * step);
              if (end === 'hit') expect(a).toBeLessThanOrEqual(spent);
              else {
                expect(end).toBe('miss');
                expect(a).toBeGreaterThan(spent - 4 * step);
                w.advance(a);
                bp.woke();
              }
            }
            expect(bp.window.us).toBeLessThanOrEqual(maxUs);
          }
        },
      ),
    );
  });
});
