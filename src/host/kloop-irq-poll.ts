// The guest thread's half of busy polling. After a kick to a worker kloop the guest expects an
// interrupt back soon (the answer to what it sent); instead of going back to its event loop and
// being woken by Atomics.waitAsync (a task posted across threads and an epoll wake-up), it polls
// the interrupt words of every worker kloop of this thread for an adaptive window, as Linux's
// napi_busy_loop does for a socket waiting for data. While it polls, GUEST_POLL tells the workers
// to skip their notify; when it stops it clears the flag and looks once more, so an interrupt is
// either seen by the poll or notified (the same protocol as the worker's SLEEPING). An inline kloop
// whose peer runs in another thread (a UnikernelWorker on the same switch) is polled the same way
// on its port's doorbell: its answer comes as a doorbell from that thread, and SLEEPING at 0 tells
// the waker to skip its notify.

import { type AtomicsLike, CpuLoss, type PollerSlots, type PollWindow } from './kloop-idle.ts';
import { type RunQueueWaited, threadRunWait } from './run-wait.ts';

/**
 * One word the guest thread polls: a worker kloop's interrupts (IRQ_PENDING, whose raiser skips its
 * notify while GUEST_POLL is 1), or the doorbell of an inline kloop whose peer runs in another
 * thread (the port's PENDING, whose wakers skip their notify while SLEEPING is 0).
 */
export interface IrqSource {
  readonly ctrl: Int32Array;
  /** Index in ctrl of the bits the poll takes. */
  readonly pending: number;
  /** Index of the word that tells the other side not to notify, its value while polling and after. */
  readonly quiet: number;
  readonly quietOn: number;
  readonly quietOff: number;
  /** Delivers the bits taken from `pending`. */
  deliver(bits: number): void;
}

export class IrqPoller {
  private readonly sources = new Set<IrqSource>();
  private scheduled = false;
  /** When the last kick was (µs), −1 once an interrupt answered it. */
  private kickedAt = -1;
  /** Polls that ended with an interrupt, polls that ran out, polls cut short by preemption. */
  hits = 0;
  misses = 0;
  preemptions = 0;
  private readonly cpu: CpuLoss;
  /** The window the scheduled poll uses (taken when it was scheduled). */
  private nextUs = 0;
  private readonly run = (): void => {
    this.scheduled = false;
    this.poll(this.nextUs);
  };

  constructor(
    readonly window: PollWindow,
    private readonly slots: PollerSlots | null,
    /** Microseconds, monotonic. */
    private readonly nowUs: () => number,
    /** Runs the poll after the current task (setImmediate: after the NAPI turn that kicked). */
    private readonly schedule: (fn: () => void) => void = setImmediate,
    private readonly A: AtomicsLike = Atomics,
    /** Asked after a gap in a poll: whether the thread waited on a run queue (run-wait.ts). */
    waited: RunQueueWaited = threadRunWait(),
  ) {
    this.cpu = new CpuLoss(waited);
  }

  /** Gaps in a poll that were not preemptions (an interrupt, the host taking the vCPU). */
  get interrupted(): number {
    return this.cpu.interrupted;
  }

  add(s: IrqSource): void {
    this.sources.add(s);
  }

  delete(s: IrqSource): void {
    this.sources.delete(s);
  }

  /**
   * A kick went to a worker kloop: poll for the answer once the current task ends, if the window
   * is open (nothing is scheduled, so nothing allocated, while it is shut).
   */
  kicked(): void {
    if (this.kickedAt < 0) this.kickedAt = this.nowUs();
    if (this.scheduled || this.sources.size === 0) return;
    const w = this.window.next();
    if (w === 0) return;
    this.nextUs = w;
    this.scheduled = true;
    this.schedule(this.run);
  }

  /**
   * An interrupt was delivered (by the poll or by the waitAsync watcher): the window learns how
   * long the answer to the first kick since the last interrupt took.
   */
  answered(): void {
    if (this.kickedAt < 0) return;
    this.window.update(this.nowUs() - this.kickedAt);
    this.kickedAt = -1;
  }

  /**
   * Polls every source's IRQ_PENDING for `w` µs (default: the window now); delivers what it finds.
   * @mirrors dev.c:napi_busy_loop
   */
  poll(w: number = this.window.next()): void {
    if (w === 0 || !this.takeSlot()) return;
    const A = this.A;
    for (const s of this.sources) A.store(s.ctrl, s.quiet, s.quietOn);
    let last = this.nowUs();
    const until = last + w;
    let found = false;
    let preempted = false;
    for (;;) {
      for (const s of this.sources) if (A.load(s.ctrl, s.pending) !== 0) found = true;
      const now = this.nowUs();
      if (found || now >= until) break;
      if (this.cpu.between(last, now)) {
        // The workers wanted this core: polling only delays the answer (kloop-idle.ts).
        this.preemptions++;
        this.window.preempted();
        preempted = true;
        break;
      }
      last = now;
    }
    // Flag off, then one more look: an interrupt raised meanwhile either saw the flag off and
    // notified, or is seen here.
    for (const s of this.sources) A.store(s.ctrl, s.quiet, s.quietOff);
    this.releaseSlot();
    let any = false;
    for (const s of this.sources) {
      const bits = A.exchange(s.ctrl, s.pending, 0);
      if (bits !== 0) {
        any = true;
        s.deliver(bits);
      }
    }
    if (any) {
      this.hits++;
      this.window.hit();
    } else {
      this.misses++;
      if (!preempted) this.window.missed();
    }
  }

  private takeSlot(): boolean {
    const s = this.slots;
    if (s === null) return true;
    for (;;) {
      const n = this.A.load(s.ta, s.index);
      if (n >= s.limit) return false;
      if (this.A.compareExchange(s.ta, s.index, n, n + 1) === n) return true;
    }
  }

  private releaseSlot(): void {
    if (this.slots !== null) this.A.sub(this.slots.ta, this.slots.index, 1);
  }
}
