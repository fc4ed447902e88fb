// The guest thread's interrupt poll (src/host/kloop-irq-poll.ts) in one thread, deterministically:
// a clock that advances one µs per read and an Atomics stand-in that runs the worker's interrupt
// (IRQ_PENDING, IRQ_SEQ, notify unless GUEST_POLL) between any two accesses of the poll.
import { describe, expect, it } from 'vitest';
import { InterposedAtomics } from './interposed-atomics.ts';
import {
  SHUT_COOLDOWN,
  PREEMPT_GAP_US,
  PREEMPT_LIMIT,
  PROBE_EVERY,
  type PollerSlots,
  PollWindow,
} from '../../src/host/kloop-idle.ts';
import { type IrqSource, IrqPoller } from '../../src/host/kloop-irq-poll.ts';

const PENDING = 0;
const SEQ = 1;
const GUEST_POLL = 2;

class Interposer extends InterposedAtomics {
  wait(): 'timed-out' {
    throw new Error('the guest thread never blocks');
  }
}

/** A worker kloop's control words and what reached the guest. */
class FakeKloop implements IrqSource {
  readonly ctrl = new Int32Array(new SharedArrayBuffer(16));
  readonly pending = PENDING;
  readonly quiet = GUEST_POLL;
  readonly quietOn = 1;
  readonly quietOff = 0;
  delivered = 0;
  notified = 0;
  deliver(bits: number): void {
    this.delivered |= bits;
  }
  /** kloop-worker.ts's interrupt: the notify is skipped while the guest polls. */
  raise(bit: number): void {
    Atomics.or(this.ctrl, PENDING, bit);
    Atomics.add(this.ctrl, SEQ, 1);
    if (Atomics.load(this.ctrl, GUEST_POLL) === 0) this.notified++;
  }
}

function setup(
  windowUs: number,
  slots: PollerSlots | null = null,
  /** Whether a gap was a run-queue wait (default: every gap is a preemption). */
  waited: () => boolean = () => true,
): {
  poller: IrqPoller;
  A: Interposer;
  clock: { now: () => number; reads: () => number; jump: (us: number) => void };
  queued: (() => void)[];
  w: PollWindow;
} {
  let t = 0;
  let reads = 0;
  const clock = {
    now: () => {
      reads++;
      return t++;
    },
    reads: () => reads,
    jump: (us: number) => (t += us),
  };
  const A = new Interposer();
  const w = new PollWindow(100);
  w.us = windowUs;
  const queued: (() => void)[] = [];
  const poller = new IrqPoller(w, slots, clock.now, (fn) => queued.push(fn), A, waited);
  return { poller, A, clock, queued, w };
}

describe('IrqPoller (guest-side busy poll)', () => {
  it('a kick schedules one poll after the current task; an interrupt raised while it polls is delivered by it, unnotified', () => {
    const { poller, A, queued } = setup(30);
    const k = new FakeKloop();
    poller.add(k);
    poller.kicked();
    poller.kicked();
    expect(queued.length).toBe(1);
    A.before = (op) => {
      if (op === 9) k.raise(1 << 2);
    };
    queued.shift()!();
    expect(k.delivered).toBe(1 << 2);
    expect(k.notified).toBe(0);
    expect(poller.hits).toBe(1);
    expect(Atomics.load(k.ctrl, GUEST_POLL)).toBe(0);
    expect(Atomics.load(k.ctrl, PENDING)).toBe(0);
  });

  it('polls every kloop of the thread: the answer may come from another guest’s NIC', () => {
    const { poller, A } = setup(30);
    const a = new FakeKloop();
    const b = new FakeKloop();
    poller.add(a);
    poller.add(b);
    A.before = (op) => {
      if (op === 12) b.raise(1);
    };
    poller.poll();
    expect([a.delivered, b.delivered]).toEqual([0, 1]);
  });

  it('no interrupt is lost wherever it lands: delivered by the poll or notified to the watcher', () => {
    let total = 0;
    {
      const { poller, A } = setup(6);
      poller.add(new FakeKloop());
      poller.poll();
      total = A.ops;
    }
    expect(total).toBeGreaterThan(6);
    for (let k = 0; k <= total; k++) {
      const { poller, A } = setup(6);
      const kl = new FakeKloop();
      poller.add(kl);
      A.before = (op) => {
        if (op === k) kl.raise(1 << 4);
      };
      poller.poll();
      if (k === total) kl.raise(1 << 4); // after the poll ended
      const seen = kl.delivered !== 0 || kl.notified !== 0;
      expect({ k, seen, flag: Atomics.load(kl.ctrl, GUEST_POLL) }).toEqual({ k, seen: true, flag: 0 });
    }
  });

  it('runs out after its window and counts a miss; without a free poller slot it does not poll', () => {
    const slots: PollerSlots = { ta: new Int32Array(new SharedArrayBuffer(4)), index: 0, limit: 1 };
    const { poller, clock } = setup(25, slots);
    const k = new FakeKloop();
    poller.add(k);
    poller.poll();
    expect(poller.misses).toBe(1);
    expect(clock.reads()).toBeGreaterThanOrEqual(25);
    expect(Atomics.load(slots.ta, 0)).toBe(0);
    Atomics.store(slots.ta, 0, 1); // a worker polls
    const before = clock.reads();
    poller.poll();
    expect(clock.reads()).toBe(before);
    expect(poller.misses).toBe(1);
  });

  it('schedules nothing while the window is shut', () => {
    const { poller, queued, clock, w } = setup(0);
    poller.add(new FakeKloop());
    for (let i = 0; i < PROBE_EVERY - 1; i++) {
      poller.kicked();
      clock.jump(500); // answers slower than the longest window keep it shut
      poller.answered();
    }
    expect(w.us).toBe(0);
    expect(queued.length).toBe(0);
    poller.kicked(); // the probe
    expect(queued.length).toBe(1);
  });

  it('learns its window from how long the answer to a kick took', () => {
    const { poller, clock, w } = setup(0);
    poller.add(new FakeKloop());
    poller.kicked(); // kickedAt = t
    clock.jump(30);
    poller.answered();
    expect(w.us).toBe(40); // 5, 10, 20, 40 covers ~31 µs
    poller.answered(); // no kick since: nothing to learn
    expect(w.us).toBe(40);
  });

  it('a poll that loses its CPU stops; PREEMPT_LIMIT such polls in a row shut the window', () => {
    const { poller, A, clock, w } = setup(80);
    poller.add(new FakeKloop());
    let ops = 0;
    A.before = () => {
      if (++ops % 8 === 0) clock.jump(PREEMPT_GAP_US + 1);
    };
    for (let i = 1; i < PREEMPT_LIMIT; i++) {
      poller.poll();
      expect(poller.preemptions).toBe(i);
      expect(w.us).toBe(80);
    }
    poller.poll();
    expect(poller.preemptions).toBe(PREEMPT_LIMIT);
    expect(w.us).toBe(0);
    expect(w.cooldown).toBe(SHUT_COOLDOWN);
  });

  it('a gap that was no run-queue wait (an interrupt) is not a preemption: the poll finds the interrupt', () => {
    let asked = 0;
    const { poller, A, clock, w } = setup(100, null, () => (asked++, false));
    const k = new FakeKloop();
    poller.add(k);
    let ops = 0;
    A.before = () => {
      ops++;
      if (ops % 8 === 0 && ops < 30) clock.jump(PREEMPT_GAP_US + 1);
      if (ops === 34) k.raise(1);
    };
    poller.poll();
    expect(asked).toBeGreaterThanOrEqual(2);
    expect(poller.interrupted).toBe(asked);
    expect(poller.preemptions).toBe(0);
    expect(poller.hits).toBe(1);
    expect(k.delivered).toBe(1);
    expect(k.notified).toBe(0); // raised while the guest polled
    expect(w.us).toBe(100);
  });
});
