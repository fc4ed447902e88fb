// The kloop worker's idle path (src/host/kloop-idle.ts) in one thread, deterministically: a clock
// that advances one µs per read, and an Atomics stand-in that lets the test run a waker between
// any two shared-memory accesses of the sleeper (the lost wake-up race of netmap's
// csb_*_kick_enable re-check).
import fc from 'fast-check';
import { InterposedAtomics } from './interposed-atomics.ts';
import { describe, expect, it } from 'vitest';
import {
  type Doorbell,
  type IdleFd,
  KloopIdle,
  POLL_START_US,
  MISS_LIMIT,
  SHUT_COOLDOWN,
  SHUT_COOLDOWN_MAX,
  PREEMPT_GAP_US,
  PREEMPT_LIMIT,
  PROBE_EVERY,
  type PollerSlots,
  PollWindow,
  SLEEPING_FD,
  SLEEPING_FUTEX,
  SLEEPING_NO,
} from '../../src/host/kloop-idle.ts';

const PENDING = 0;
const SEQ = 1;
const SLEEPING = 2;

function bell(): Doorbell {
  return { st: new Int32Array(new SharedArrayBuffer(16)), pending: PENDING, seq: SEQ, sleeping: SLEEPING };
}

/** The waker's side, as PortDatapath.doorbell: bit in, SEQ moved, notify only if a sleep is announced. */
function kick(b: Doorbell, bit: number, world: World): void {
  Atomics.or(b.st, PENDING, bit);
  Atomics.add(b.st, SEQ, 1);
  if (Atomics.load(b.st, SLEEPING) !== SLEEPING_NO) world.notified = true;
}

/**
 * Atomics with a hook before every access, and a wait() that never blocks: a value that already
 * changed returns 'not-equal' (the kernel's futex check), a notify issued after the sleep began
 * returns 'ok' (the test's `duringSleep` does that), and anything else is a sleep that nothing will
 * end: 'timed-out', recorded as lost if a kick's bit is pending by then.
 */
class World extends InterposedAtomics {
  notified = false;
  sleeps = 0;
  lost = 0;
  duringSleep: () => void = () => {};

  wait(ta: Int32Array, i: number, v: number): 'ok' | 'not-equal' | 'timed-out' {
    this.step();
    if (Atomics.load(ta, i) !== v) return 'not-equal';
    this.sleeps++;
    // A notify sent before this point found no waiter: the futex forgets it.
    this.notified = false;
    this.duringSleep();
    if (this.notified) return 'ok';
    if (Atomics.load(ta, PENDING) !== 0) this.lost++;
    return 'timed-out';
  }
}

/** A clock that advances 1 µs per read (so a poll of N µs makes about N passes). */
function stepClock(): { now: () => number; reads: () => number; jump: (us: number) => void } {
  let t = 0;
  let reads = 0;
  return {
    now: () => {
      reads++;
      return t++;
    },
    reads: () => reads,
    jump: (us) => (t += us),
  };
}

function idleOf(
  b: Doorbell,
  world: World,
  clock: { now: () => number },
  opts: {
    slots?: PollerSlots | null;
    stop?: () => boolean;
    fd?: IdleFd | null;
    /** Whether a gap was a run-queue wait (default: every gap is a preemption). */
    waited?: () => boolean;
  } = {},
): KloopIdle {
  return new KloopIdle(
    b,
    opts.slots ?? null,
    opts.stop ?? (() => false),
    clock.now,
    opts.fd ?? null,
    world,
    opts.waited ?? (() => true),
  );
}

describe('PollWindow (KVM halt-polling adaptation)', () => {
  it('opens to the first doubling of the start value that covers a short idle period, keeps on a hit', () => {
    const w = new PollWindow(50);
    expect(w.us).toBe(0);
    w.update(3); // slept 3 µs: the start value would have caught it
    expect(w.us).toBe(POLL_START_US);
    w.update(30); // 10, 20, 40 covers 30
    expect(w.us).toBe(40);
    w.update(30); // caught by the 40 µs poll: keep
    expect(w.us).toBe(40);
    w.update(45);
    expect(w.us).toBe(50); // capped
  });

  it('probes a shut window at its maximum once every PROBE_EVERY idle periods, never while cooling', () => {
    const w = new PollWindow(50);
    const seen: number[] = [];
    for (let i = 0; i < 2 * PROBE_EVERY; i++) seen.push(w.next());
    expect(seen.filter((x) => x !== 0)).toEqual([50, 50]);
    expect(seen[PROBE_EVERY - 1]).toBe(50);
    for (let i = 0; i < PREEMPT_LIMIT; i++) w.preempted();
    for (let i = 0; i < 2 * PROBE_EVERY; i++) expect(w.next()).toBe(0);
    w.us = 20;
    expect(w.next()).toBe(20);
  });

  it('halves after an idle period longer than the maximum, and shuts from the start value', () => {
    const w = new PollWindow(64, 8);
    w.update(60); // 8, 16, 32, 64
    expect(w.us).toBe(64);
    w.update(1000);
    expect(w.us).toBe(32);
    w.update(1000);
    w.update(1000);
    expect(w.us).toBe(8);
    w.update(1000);
    expect(w.us).toBe(0);
  });

  it('never opens with a maximum of 0', () => {
    const w = new PollWindow(0);
    for (const idle of [0, 1, 5, 100]) w.update(idle);
    expect(w.us).toBe(0);
  });

  it('stays shut for SHUT_COOLDOWN idle periods after PREEMPT_LIMIT preempted polls in a row', () => {
    const w = new PollWindow(50);
    w.update(10);
    w.update(10);
    expect(w.us).toBeGreaterThan(0);
    // A poll that ends otherwise breaks the streak: a hit, or one that ran out.
    for (let i = 0; i < PREEMPT_LIMIT - 1; i++) w.preempted();
    w.hit();
    for (let i = 0; i < PREEMPT_LIMIT - 1; i++) w.preempted();
    w.missed();
    for (let i = 0; i < PREEMPT_LIMIT - 1; i++) w.preempted();
    expect(w.us).toBe(10);
    w.preempted();
    expect(w.us).toBe(0);
    for (let i = 0; i < SHUT_COOLDOWN; i++) {
      w.update(10);
      expect(w.us).toBe(0);
    }
    w.update(10);
    expect(w.us).toBe(10);
  });

  it('shuts after MISS_LIMIT polls in a row ran out, for longer each time until a poll hits', () => {
    const w = new PollWindow(50);
    const shutFor = (): number => {
      w.update(10); // opens (or is one of the cooldown's idle periods)
      let n = 0;
      while (w.us === 0 && n < 10_000) {
        w.update(10);
        n++;
      }
      return n;
    };
    w.update(10);
    expect(w.us).toBe(10);
    for (let i = 0; i < MISS_LIMIT - 1; i++) w.missed();
    w.hit(); // a hit breaks the streak
    for (let i = 0; i < MISS_LIMIT - 1; i++) w.missed();
    expect(w.us).toBe(10);
    w.missed();
    expect(w.us).toBe(0);
    expect(w.cooldown).toBe(SHUT_COOLDOWN);
    expect(shutFor()).toBe(SHUT_COOLDOWN); // the cooldown's idle periods, then one that opens it
    for (let i = 0; i < MISS_LIMIT; i++) w.missed();
    expect(w.cooldown).toBe(2 * SHUT_COOLDOWN);
    shutFor();
    w.hit();
    for (let i = 0; i < MISS_LIMIT; i++) w.missed();
    expect(w.cooldown).toBe(SHUT_COOLDOWN);
  });

  it('property: the window stays within [0, max] and an idle period inside it changes nothing', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 500 }),
        fc.array(fc.oneof(fc.integer({ min: 0, max: 2000 }), fc.constantFrom(-1, -2, -3)), {
          maxLength: 300,
        }),
        (max, idles) => {
          const w = new PollWindow(max);
          for (const idle of idles) {
            if (idle < 0) {
              if (idle === -1) w.preempted();
              else if (idle === -2) w.missed();
              else w.hit();
              expect(w.cooldown).toBeLessThanOrEqual(SHUT_COOLDOWN_MAX);
              continue;
            }
            const before = w.us;
            const cooling = w.cooldown > 0;
            w.update(idle);
            expect(w.us).toBeGreaterThanOrEqual(0);
            expect(w.us).toBeLessThanOrEqual(max);
            if (idle <= before || cooling) expect(w.us).toBe(before);
          }
        },
      ),
    );
  });
});

describe('KloopIdle', () => {
  it('polls for the window, then announces the sleep and sleeps; the timeout is reported', () => {
    const b = bell();
    const world = new World();
    const clock = stepClock();
    const w = new PollWindow(40);
    w.us = 20;
    const idle = idleOf(b, world, clock);
    let sleepingSeen = -1;
    world.duringSleep = () => (sleepingSeen = Atomics.load(b.st, SLEEPING));
    expect(idle.wait(3000, w)).toBe(0);
    expect(idle.timedOut).toBe(true);
    expect(world.sleeps).toBe(1);
    expect(sleepingSeen).toBe(SLEEPING_FUTEX);
    expect(Atomics.load(b.st, SLEEPING)).toBe(SLEEPING_NO);
    // About one clock read per µs of the window before the sleep, and a few around it.
    expect(clock.reads()).toBeGreaterThanOrEqual(20);
    expect(clock.reads()).toBeLessThanOrEqual(25);
    expect(idle.polled).toBe(0);
  });

  it('a kick while polling ends the idle period without sleeping, and the window is kept', () => {
    const b = bell();
    const world = new World();
    const clock = stepClock();
    const w = new PollWindow(40);
    w.us = 20;
    const idle = idleOf(b, world, clock);
    world.before = (op) => {
      if (op === 12) kick(b, 1 << 3, world);
    };
    expect(idle.wait(3000, w)).toBe(1 << 3);
    expect(world.sleeps).toBe(0);
    expect(idle.polled).toBe(1);
    expect(w.us).toBe(20);
    expect(Atomics.load(b.st, PENDING)).toBe(0); // taken
  });

  it('a kick during the sleep wakes it (the waker saw SLEEPING) and the bits are returned', () => {
    const b = bell();
    const world = new World();
    const idle = idleOf(b, world, stepClock());
    world.duringSleep = () => kick(b, 1, world);
    expect(idle.wait(3000, new PollWindow(0))).toBe(1);
    expect(idle.timedOut).toBe(false);
    expect(idle.woken).toBe(1);
    expect(world.lost).toBe(0);
  });

  it('no kick is lost wherever it lands among the sleeper’s accesses', () => {
    // Every access index of one wait() (poll window on or off): a kick there must be returned by
    // this wait() and never leave it asleep with the bit pending.
    for (const windowUs of [0, 8]) {
      let total = 0;
      {
        const world = new World();
        const w = new PollWindow(16);
        w.us = windowUs;
        idleOf(bell(), world, stepClock()).wait(3000, w);
        total = world.ops;
      }
      expect(total).toBeGreaterThan(4);
      for (let k = 0; k < total; k++) {
        const b = bell();
        const world = new World();
        const w = new PollWindow(16);
        w.us = windowUs;
        world.before = (op) => {
          if (op === k) kick(b, 1 << 5, world);
        };
        const bits = idleOf(b, world, stepClock()).wait(3000, w);
        expect({ k, windowUs, bits, lost: world.lost }).toEqual({ k, windowUs, bits: 1 << 5, lost: 0 });
      }
    }
  });

  it('the same harness catches a sleeper that reads SEQ after its last look (it can fail)', () => {
    // A broken protocol: look at PENDING, then read SEQ and sleep on it. A kick between the two
    // reads moves SEQ before it is read, finds SLEEPING = 0 and does not notify: lost.
    const broken = (b: Doorbell, A: World): number => {
      if (A.load(b.st, PENDING) !== 0) return A.exchange(b.st, PENDING, 0);
      const s = A.load(b.st, SEQ);
      A.store(b.st, SLEEPING, SLEEPING_FUTEX);
      A.wait(b.st, SEQ, s);
      A.store(b.st, SLEEPING, SLEEPING_NO);
      return A.exchange(b.st, PENDING, 0);
    };
    const b = bell();
    const world = new World();
    world.before = (op) => {
      if (op === 1) kick(b, 1, world);
    };
    broken(b, world);
    expect(world.lost).toBe(1);
  });

  it('leaves at once when stopping, and does not sleep', () => {
    const b = bell();
    const world = new World();
    let stop = false;
    const w = new PollWindow(40);
    w.us = 30;
    const idle = idleOf(b, world, stepClock(), { stop: () => stop });
    world.before = (op) => {
      if (op === 5) stop = true;
    };
    expect(idle.wait(3000, w)).toBe(0);
    expect(idle.timedOut).toBe(false);
    expect(world.sleeps).toBe(0);
  });

  it('polls only with a free poller slot, and gives the slot back', () => {
    const b = bell();
    const slots: PollerSlots = { ta: new Int32Array(new SharedArrayBuffer(4)), index: 0, limit: 1 };
    const w = new PollWindow(40);
    // Another thread polls: this one sleeps at once (a handful of clock reads, not the window).
    Atomics.store(slots.ta, 0, 1);
    w.us = 30;
    const clock = stepClock();
    idleOf(b, new World(), clock, { slots }).wait(3000, w);
    expect(clock.reads()).toBeLessThan(5);
    expect(Atomics.load(slots.ta, 0)).toBe(1);
    // Free: it polls the window, and the count is back to 0 afterwards.
    Atomics.store(slots.ta, 0, 0);
    w.us = 30;
    const clock2 = stepClock();
    idleOf(b, new World(), clock2, { slots }).wait(3000, w);
    expect(clock2.reads()).toBeGreaterThanOrEqual(30);
    expect(Atomics.load(slots.ta, 0)).toBe(0);
  });

  it('a poll that loses its CPU stops; PREEMPT_LIMIT such polls in a row shut the window', () => {
    const b = bell();
    const world = new World();
    const clock = stepClock();
    const w = new PollWindow(200);
    w.us = 100;
    const idle = idleOf(b, world, clock);
    let ops = 0;
    world.before = () => {
      // Every poll loses its CPU a few loads in.
      if (++ops % 10 === 0) clock.jump(PREEMPT_GAP_US + 5);
    };
    for (let i = 0; i < PREEMPT_LIMIT - 1; i++) {
      w.us = 100;
      expect(idle.wait(3000, w)).toBe(0);
      expect(w.us).toBeGreaterThan(0);
    }
    expect(idle.preemptions).toBe(PREEMPT_LIMIT - 1);
    w.us = 100;
    expect(idle.wait(3000, w)).toBe(0);
    expect(idle.preemptions).toBe(PREEMPT_LIMIT);
    expect(w.us).toBe(0);
    expect(w.cooldown).toBe(SHUT_COOLDOWN - 1); // the sleep that followed used one
    expect(world.sleeps).toBe(PREEMPT_LIMIT);
  });

  it('a gap that was no run-queue wait (an interrupt) is not a preemption: the poll goes on and hits', () => {
    const b = bell();
    const world = new World();
    const clock = stepClock();
    const w = new PollWindow(400);
    w.us = 200;
    let asked = 0;
    const idle = idleOf(b, world, clock, { waited: () => (asked++, false) });
    let ops = 0;
    world.before = () => {
      ops++;
      if (ops % 10 === 0 && ops < 40) clock.jump(PREEMPT_GAP_US + 5);
      if (ops === 45) kick(b, 1 << 2, world);
    };
    expect(idle.wait(3000, w)).toBe(1 << 2);
    expect(asked).toBe(3);
    expect(idle.interrupted).toBe(3);
    expect(idle.preemptions).toBe(0);
    expect(idle.polled).toBe(1);
    expect(world.sleeps).toBe(0);
    expect(w.us).toBe(200);
  });

  it('with a descriptor: looks at it while polling, sleeps in it with SLEEPING_FD, and reports its timeout', () => {
    const b = bell();
    const world = new World();
    let looks = 0;
    let ready = 0;
    let sleptWith = -1;
    const fd: IdleFd & { timedOut: boolean } = {
      timedOut: false,
      probe: () => {
        looks++;
        return looks === 7 ? ready : 0;
      },
      sleep: () => {
        sleptWith = Atomics.load(b.st, SLEEPING);
        fd.timedOut = true;
        return 0;
      },
    };
    const w = new PollWindow(40);
    w.us = 20;
    ready = 1 << 1; // RX ring 1 ready on the 7th look
    expect(idleOf(b, world, stepClock(), { fd }).wait(3000, w)).toBe(1 << 1);
    expect(sleptWith).toBe(-1);
    // Nothing ready: it sleeps in the descriptor, announced as SLEEPING_FD.
    ready = 0;
    looks = 0;
    const idle = idleOf(b, world, stepClock(), { fd });
    expect(idle.wait(3000, w)).toBe(0);
    expect(sleptWith).toBe(SLEEPING_FD);
    expect(idle.timedOut).toBe(true);
    expect(Atomics.load(b.st, SLEEPING)).toBe(SLEEPING_NO);
  });
});
