// Busy polling of a TAP descriptor by the thread that owns it, after its RX ring ran dry and
// before it goes back to sleep in epoll: Linux's busy_poll (sk_busy_loop polls the NIC queue for
// net.core.busy_poll µs before the socket sleeps) with the window KVM's halt polling adapts
// (kloop-idle.ts PollWindow). A frame that comes within the window is taken without the thread
// having slept, so without the wake-up of an idle CPU (on a VM: a halted vCPU, tens of µs).

import { CpuLoss, type PollWindow } from './kloop-idle.ts';
import { type RunQueueWaited, threadRunWait } from './run-wait.ts';

/** How a window ended: a frame came, it ran out, or the thread lost its CPU meanwhile. */
export type BusyPollEnd = 'hit' | 'miss' | 'preempted' | 'shut';

/** One thread's busy polls of one descriptor, and the window they adapt. */
export class TapBusyPoll {
  /** Windows that found a frame, ran out, and were cut short by preemption. */
  hits = 0;
  misses = 0;
  preemptions = 0;
  private readonly cpu: CpuLoss;
  /** When the ring last ran dry (µs), until the idle period it started has been counted. */
  private dryAt = -1;

  constructor(
    readonly window: PollWindow,
    /** Whether the descriptor has a frame now (poll(2) with a zero timeout). */
    private readonly look: () => boolean,
    /** Microseconds, monotonic (performance.now() × 1000; a test steps it). */
    private readonly nowUs: () => number,
    /** Asked after a gap in a window: whether the thread waited on a run queue (run-wait.ts). */
    waited: RunQueueWaited = threadRunWait(),
  ) {
    this.cpu = new CpuLoss(waited);
  }

  /** Gaps in a window that were not preemptions (an interrupt, the host taking the vCPU). */
  get interrupted(): number {
    return this.cpu.interrupted;
  }

  /**
   * The ring ran dry and the thread is about to sleep: looks at the descriptor until a frame comes
   * or the window (at most `capUs`: the loop's next timer) runs out, blocking the thread that long
   * at most. A hit ends the idle period here; otherwise woke() ends it when the event loop's
   * watch sees the frame.
   * @mirrors dev.c:napi_busy_loop
   */
  spin(capUs = Infinity): BusyPollEnd {
    const t0 = this.nowUs();
    this.dryAt = t0;
    const w = Math.min(this.window.next(), capUs);
    if (w === 0) return 'shut';
    let last = t0;
    for (;;) {
      if (this.look()) {
        this.hits++;
        this.window.hit();
        this.window.update(this.nowUs() - t0);
        this.dryAt = -1;
        return 'hit';
      }
      const now = this.nowUs();
      if (this.cpu.between(last, now)) {
        this.preemptions++;
        this.window.preempted();
        return 'preempted';
      }
      if (now - t0 >= w) {
        this.misses++;
        this.window.missed();
        return 'miss';
      }
      last = now;
    }
  }

  /** The event loop's watch found a frame: the idle period that began when the ring ran dry ended. */
  woke(): void {
    if (this.dryAt < 0) return;
    this.window.update(this.nowUs() - this.dryAt);
    this.dryAt = -1;
  }
}
