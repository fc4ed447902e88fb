// Timers driven by an injectable clock. The core never calls setTimeout: every timer lives in a
// TimerQueue (a binary min-heap keyed by deadline, like the kernel's timer wheel keyed by jiffies)
// and fires only when its owner calls run(now). A VirtualClock advances time by hand for
// deterministic tests; RealTimeDriver is the thin adapter that binds the queue to wall time.
// The stack reads time through its queue (TimerQueue.now): inside a turn (one received frame, one
// user call, one timer run) the clock is read once and that value serves every layer, as Linux
// stamps a segment batch once (tcp_mstamp_refresh) instead of reading the clock per use.
import { StackError } from './errors.ts';

/** Milliseconds on some monotonic scale. */
export interface Clock {
  now(): number;
}

/**
 * One restartable timer. Made once per owner (a connection, a neighbour entry) with its callback,
 * so arming and cancelling allocate nothing.
 */
export class Timer {
  /** Absolute deadline in clock milliseconds; meaningful only while armed. */
  deadline = 0;
  /** Position in the owning heap, -1 when not armed. */
  heapIndex = -1;
  constructor(
    private readonly queue: TimerQueue,
    readonly callback: (now: number) => void,
  ) {}

  get armed(): boolean {
    return this.heapIndex >= 0;
  }

  /** (Re)arms the timer to fire `delay` ms after the queue's current time (kernel mod_timer). */
  arm(delay: number): void {
    // Not armAt(now + delay): the sum would cross a call as a heap number (see armAt).
    const deadline = this.queue.now() + delay;
    if (!Number.isFinite(deadline)) throw new StackError('STACK_ARG', `timer deadline ${deadline}`);
    this.deadline = deadline;
    this.queue.place(this);
  }

  /**
   * (Re)arms the timer at an absolute deadline. The deadline is stored here and the queue reads it
   * back: a double passed to a call V8 does not inline is boxed, one allocation per arm.
   */
  armAt(deadline: number): void {
    if (!Number.isFinite(deadline)) throw new StackError('STACK_ARG', `timer deadline ${deadline}`);
    this.deadline = deadline;
    this.queue.place(this);
  }

  /** Disarms the timer if armed (kernel del_timer). */
  cancel(): void {
    if (this.heapIndex >= 0) this.queue.remove(this);
  }
}

export class TimerQueue {
  private heap: Timer[] = [];
  /**
   * Called when a timer becomes the earliest one (the driver re-aims its host timer at
   * nextDeadline()): arming from anywhere needs no separate "poke", as mod_timer needs no call to
   * the timer wheel's owner.
   */
  onEarliest: (() => void) | null = null;
  private turnDepth = 0;
  /**
   * The clock value the turn's first now() read, null until then. Kept as the number object the
   * clock returned: V8 then hands the same one to every reader. A field that only ever held
   * numbers is stored unboxed, and each now() not inlined would allocate a new heap number to
   * return it (one per layer per packet).
   */
  private turnNow: number | null = null;

  constructor(readonly clock: Clock) {}

  /**
   * The time for the stack's layers: outside a turn, the clock now; inside one, the value the
   * turn's first call read (tcp_mstamp_refresh: one read per segment or user call, not one per
   * layer that wants it). Never goes backwards on a monotonic clock: a turn's value was read before
   * anything read after the turn, and every reader in the turn gets the same one.
   * @mirrors tcp_output.c:tcp_mstamp_refresh
   */
  now(): number {
    if (this.turnDepth === 0) return this.clock.now();
    let t = this.turnNow;
    if (t === null) {
      t = this.clock.now();
      this.turnNow = t;
    }
    return t;
  }

  /** A turn starts (a received frame, a user call, a timer run). Turns nest; the outermost counts. */
  enterTurn(): void {
    this.turnDepth++;
  }

  /** The turn ends: the next now() reads the clock again. */
  leaveTurn(): void {
    if (--this.turnDepth === 0) this.turnNow = null;
  }

  /** Makes a timer bound to this queue. */
  timer(callback: (now: number) => void): Timer {
    return new Timer(this, callback);
  }

  get size(): number {
    return this.heap.length;
  }

  /** Earliest deadline, or Infinity when nothing is armed. */
  nextDeadline(): number {
    return this.heap.length === 0 ? Infinity : this.heap[0]!.deadline;
  }

  /** Inserts `t`, or moves it, to its place for the deadline it now holds (Timer.armAt). */
  place(t: Timer): void {
    if (t.heapIndex >= 0) {
      // The deadline moved either way: one of the two walks stays put.
      this.up(t.heapIndex);
      this.down(t.heapIndex);
    } else {
      t.heapIndex = this.heap.length;
      this.heap.push(t);
      this.up(t.heapIndex);
    }
    if (t.heapIndex === 0 && this.onEarliest !== null) this.onEarliest();
  }

  remove(t: Timer): void {
    const i = t.heapIndex;
    const last = this.heap.pop()!;
    t.heapIndex = -1;
    if (last === t) return;
    this.heap[i] = last;
    last.heapIndex = i;
    this.up(i);
    this.down(last.heapIndex);
  }

  /**
   * Fires, in deadline order, every timer due at or before `now`. A callback may re-arm its own or
   * other timers; one re-armed at or before `now` fires again in this call.
   * Returns the number fired.
   */
  run(now: number): number {
    let fired = 0;
    while (this.heap.length > 0 && this.heap[0]!.deadline <= now) {
      const t = this.heap[0]!;
      this.remove(t);
      fired++;
      t.callback(now);
    }
    return fired;
  }

  private up(i: number): void {
    const h = this.heap;
    const t = h[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pt = h[p]!;
      if (pt.deadline <= t.deadline) break;
      h[i] = pt;
      pt.heapIndex = i;
      i = p;
    }
    h[i] = t;
    t.heapIndex = i;
  }

  private down(i: number): void {
    const h = this.heap;
    const n = h.length;
    const t = h[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && h[r]!.deadline < h[l]!.deadline ? r : l;
      const ct = h[c]!;
      if (ct.deadline >= t.deadline) break;
      h[i] = ct;
      ct.heapIndex = i;
      i = c;
    }
    h[i] = t;
    t.heapIndex = i;
  }
}

/** What drives a TimerQueue: virtual time moved by hand, or wall time through one host timer. */
export interface TimerHost {
  readonly timers: TimerQueue;
}

/** A clock that moves only when told to; advance() fires due timers on the way. */
export class VirtualClock implements Clock, TimerHost {
  private t: number;
  readonly timers: TimerQueue;

  constructor(start = 0) {
    this.t = start;
    this.timers = new TimerQueue(this);
  }

  now(): number {
    return this.t;
  }

  /**
   * Moves time forward by `ms`, stopping at each timer deadline on the way so callbacks observe
   * the time they were due at.
   */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new StackError('STACK_ARG', `advance(${ms})`);
    const end = this.t + ms;
    for (;;) {
      const d = this.timers.nextDeadline();
      if (d > end) break;
      if (d > this.t) this.t = d;
      this.timers.run(this.t);
    }
    this.t = end;
  }
}

/** Wall-clock time in milliseconds (performance.now(), monotonic). */
export const realClock: Clock = { now: () => performance.now() };

/**
 * Binds a TimerQueue on realClock to setTimeout: one host timer, always aimed at the earliest
 * deadline (the queue says when a timer becomes the earliest).
 */
export class RealTimeDriver implements TimerHost {
  readonly timers = new TimerQueue(realClock);
  private handle: ReturnType<typeof setTimeout> | undefined;
  private handleAt = Infinity;
  private firing = false;
  private readonly fire = (): void => {
    this.handle = undefined;
    this.handleAt = Infinity;
    this.firing = true;
    const q = this.timers;
    q.enterTurn();
    try {
      q.run(q.now());
    } finally {
      q.leaveTurn();
      this.firing = false;
    }
    this.aim();
  };

  constructor() {
    // While the queue runs, callbacks re-arm freely: the driver aims once when the run ends.
    this.timers.onEarliest = () => {
      if (!this.firing) this.aim();
    };
  }

  /** Re-aims the host timer at the earliest deadline if it moved earlier or the timer is idle. */
  private aim(): void {
    const d = this.timers.nextDeadline();
    if (d === Infinity) {
      if (this.handle !== undefined) clearTimeout(this.handle);
      this.handle = undefined;
      this.handleAt = Infinity;
      return;
    }
    if (this.handle !== undefined && this.handleAt <= d) return;
    if (this.handle !== undefined) clearTimeout(this.handle);
    this.handleAt = d;
    this.handle = setTimeout(this.fire, Math.max(0, d - this.timers.now()));
    // Timers must not keep the process alive on their own (like an idle kernel).
    this.handle.unref?.();
  }

  stop(): void {
    if (this.handle !== undefined) clearTimeout(this.handle);
    this.handle = undefined;
    this.handleAt = Infinity;
  }
}
