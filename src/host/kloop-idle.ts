// The idle path of a kloop worker: poll the port's doorbell for an adaptive window, then announce
// the sleep, look once more and Atomics.wait. The window follows KVM's halt polling (a sleep that
// ended sooner than the longest window would have been caught by polling: grow; one that lasted
// longer wasted the poll: shrink), which is also what Linux busy_poll budgets do for a socket.
//
// On a machine with few cores a polling thread takes the core another thread needs (the guest's
// own thread, the peer's kloop, Linux behind a TAP), so at most `pollers` threads of the process
// poll at once; the others sleep at once. The count lives in a SharedArrayBuffer every kloop of
// the process gets.

import { type RunQueueWaited, threadRunWait } from './run-wait.ts';

/** What the idle path needs of `Atomics` (the global itself; a test interposes on every access). */
export interface AtomicsLike {
  load(ta: Int32Array, index: number): number;
  store(ta: Int32Array, index: number, value: number): number;
  exchange(ta: Int32Array, index: number, value: number): number;
  compareExchange(ta: Int32Array, index: number, expected: number, value: number): number;
  sub(ta: Int32Array, index: number, value: number): number;
  wait(ta: Int32Array, index: number, value: number, timeout?: number): 'ok' | 'not-equal' | 'timed-out';
}

/**
 * Default longest poll window, µs, of the guest thread's interrupt poller (KloopOptions.guestPollUs)
 * and of a kloop thread serving one port (KloopOptions.spinUs): see docs/ARCHITECTURE.md "Threads".
 */
export const POLL_MAX_US = 50;
/**
 * Default longest poll window of a kloop thread serving several ports (KloopThread's spinUs), µs:
 * KVM's default halt_poll_ns. A stream's idle periods between kicks last ~100–250 µs here, so a
 * 50 µs window shrank to nothing and every kick woke a sleeping thread: `bench/perf-e2e.ts --mode
 * worker --one-thread`, alternated four times, alone, 50 / 1000 µs: 11.7–15.0 / 16.2–18.8 Gbps;
 * 200 µs: 16.0–17.7. Not for a thread per port: two unikernels then make three busy threads on two
 * cores, and `bench/wake-latency.ts --mode worker` with 200 µs fell to 9.0 K tps and a 158 µs ping
 * median in one run of three (24–25 K tps and 63–76 µs at 50).
 */
export const KLOOP_POLL_MAX_US = 200;
/** First window after a sleep that polling would have caught (KVM's halt_poll_ns_grow_start). */
export const POLL_START_US = 5;
/**
 * A gap this long between two clock reads of the poll loop (one pass takes well under 1 µs, a TAP
 * look 1–2) means the thread lost its CPU while polling: to another runnable thread, a preemption,
 * if the thread waited on a run queue meanwhile (run-wait.ts); else to an interrupt, and polling
 * goes on.
 */
export const PREEMPT_GAP_US = 20;

/**
 * A poll loop's test for a lost CPU, shared by the three loops (the worker's idle poll, the guest
 * thread's interrupt poll, the TAP busy poll): a gap of more than PREEMPT_GAP_US between two of
 * its clock reads, and a run-queue wait that grew meanwhile. A gap without that wait is counted
 * as an interrupt, and the loop goes on.
 */
export class CpuLoss {
  /** Gaps that were not preemptions (an interrupt, the host taking the vCPU). */
  interrupted = 0;
  constructor(private readonly waited: RunQueueWaited) {}

  /** Whether the thread lost its CPU to another task between clock reads `last` and `now` (µs). */
  between(last: number, now: number): boolean {
    if (now - last <= PREEMPT_GAP_US) return false;
    if (this.waited()) return true;
    this.interrupted++;
    return false;
  }
}
/**
 * Idle periods a window stays shut after a preempted poll or MISS_LIMIT polls in a row that ran
 * out; doubled each time it shuts again before a poll hits, up to SHUT_COOLDOWN_MAX.
 */
export const SHUT_COOLDOWN = 64;
export const SHUT_COOLDOWN_MAX = 4096;
/** Polls in a row that ran out before the window shuts (polling does not pay here). */
export const MISS_LIMIT = 4;
/**
 * Polls in a row cut short by preemption before the window shuts. One in a while is another
 * process or V8's own helper threads taking the core; on a machine with fewer cores than busy
 * threads nearly every long poll is, and the window shuts within a few. Shutting on the first
 * (as it did) cost the threads that do have a core each: 1-byte TCP_RR between a guest in a
 * UnikernelWorker and one in the main thread, both busy-polling, 67–77 K against 94–98 K tps
 * with four (bench/thread-each.ts, alternated, alone), and a kloop thread per port 31 K against
 * 37–41 K (bench/wake-latency.ts).
 */
export const PREEMPT_LIMIT = 4;
/**
 * A shut window still polls for its maximum once every this many idle periods: when both sides of
 * a pipeline sleep, each one's idle periods include the other's wake-up and stay too long to open
 * either window; a probe that catches the answer opens it.
 */
export const PROBE_EVERY = 32;

/** The poll window of one kloop thread, adapted after each idle period. */
export class PollWindow {
  /** The current window, µs (0: sleep at once). */
  us: number;
  /** Idle periods left before the window may open again after it was shut. */
  cooldown = 0;
  /** The next shut's cooldown, and polls in a row that ran out. */
  private backoff = SHUT_COOLDOWN;
  private misses = 0;
  private preempts = 0;
  /** Idle periods since the window shut (for PROBE_EVERY). */
  private shut = 0;

  constructor(
    /** Longest window, µs; 0 turns polling off. */
    readonly maxUs: number,
    readonly startUs: number = Math.min(POLL_START_US, maxUs),
  ) {
    this.us = 0;
  }

  /**
   * How long to poll this time: the window, or the maximum for a probe while it is shut.
   */
  next(): number {
    if (this.us !== 0 || this.maxUs === 0 || this.cooldown > 0) return this.us;
    if (++this.shut < PROBE_EVERY) return 0;
    this.shut = 0;
    return this.maxUs;
  }

  /**
   * An idle period ended after `idleUs` (polling and sleeping together, as KVM's block_ns). Within
   * the window: keep it. Longer than the longest window: polling could not have caught it, halve.
   * In between: a longer window would have, so grow to the first of startUs, 2·startUs, 4·startUs…
   * that covers it (KVM doubles once per halt; jumping converges in one idle period).
   * @mirrors kvm_main.c:grow_halt_poll_ns
   * @mirrors kvm_main.c:shrink_halt_poll_ns
   */
  update(idleUs: number): void {
    if (this.cooldown > 0) {
      this.cooldown--;
      return;
    }
    if (idleUs <= this.us) return;
    if (idleUs > this.maxUs) {
      this.us = this.us <= this.startUs ? 0 : this.us >>> 1;
      return;
    }
    let w = Math.max(this.us * 2, this.startUs, 1);
    while (w < idleUs) w *= 2;
    this.us = Math.min(w, this.maxUs);
  }

  /** A poll found its work. */
  hit(): void {
    this.misses = 0;
    this.preempts = 0;
    this.backoff = SHUT_COOLDOWN;
  }

  /** A poll ran out: MISS_LIMIT in a row shut the window. */
  missed(): void {
    this.preempts = 0;
    if (++this.misses >= MISS_LIMIT) this.shutDown();
  }

  /**
   * The poll was preempted: the cores may all be wanted (the guests' thread, the peer's kloop, other
   * processes), and polling then only delays them. PREEMPT_LIMIT in a row shut the window; a poll
   * that ends otherwise (hit or miss) breaks the streak.
   */
  preempted(): void {
    if (++this.preempts >= PREEMPT_LIMIT) this.shutDown();
  }

  private shutDown(): void {
    this.us = 0;
    this.misses = 0;
    this.cooldown = this.backoff;
    this.backoff = Math.min(this.backoff * 2, SHUT_COOLDOWN_MAX);
  }
}

/** The words of the port's doorbell (PortDatapath.wake and SyncKloop.kick ring it). */
export interface Doorbell {
  st: Int32Array;
  pending: number;
  seq: number;
  sleeping: number;
}

/** The process-wide count of polling threads and its limit. */
export interface PollerSlots {
  ta: Int32Array;
  index: number;
  limit: number;
}

/**
 * A descriptor the kloop thread watches itself while idle (a TAP port served by a worker): polled
 * with the doorbell, and slept on in poll(2) together with an eventfd the wakers write when they
 * find SLEEPING = SLEEPING_FD.
 */
export interface IdleFd {
  /** Doorbell bits the descriptor has now (non-blocking; 0 if none or none wanted). */
  probe(): number;
  /** Sleeps in poll(2) on the descriptor and the kick eventfd; the doorbell bits it found. */
  sleep(timeoutMs: number): number;
  /** Whether the last sleep() ended by its timeout. */
  readonly timedOut: boolean;
}

/** SLEEPING values: awake, asleep in Atomics.wait on SEQ, asleep in poll(2) (write the eventfd). */
export const SLEEPING_NO = 0;
export const SLEEPING_FUTEX = 1;
export const SLEEPING_FD = 2;

export class KloopIdle {
  /** The last wait() returned 0 because its sleep timed out (netmap's periodic pass is due). */
  timedOut = false;
  /** Idle periods ended while polling, sleeps, and sleeps ended before their timeout. */
  polled = 0;
  sleeps = 0;
  woken = 0;
  /** Polls cut short because the thread was preempted (CpuLoss). */
  preemptions = 0;
  private readonly cpu: CpuLoss;

  constructor(
    private readonly bell: Doorbell,
    private readonly slots: PollerSlots | null,
    /** True once the kloop must leave (checked while polling and before sleeping). */
    private readonly stopped: () => boolean,
    /** Microseconds, monotonic (performance.now() × 1000; a test steps it). */
    private readonly nowUs: () => number,
    private readonly fd: IdleFd | null = null,
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

  /**
   * Waits for doorbell bits and takes them (PENDING is cleared). Polls for `window`'s current
   * length if a poller slot is free, then sleeps for at most `timeoutMs`; the window then learns
   * how long the idle period was. Returns the bits, or 0 (woken for nothing, stopping, or
   * `timedOut`).
   */
  wait(timeoutMs: number, window: PollWindow): number {
    const { st, pending, seq, sleeping } = this.bell;
    const A = this.A;
    const fd = this.fd;
    const t0 = this.nowUs();
    this.timedOut = false;
    let bits = 0;
    let fdBits = 0;
    let timedOut = false;
    const w = window.next();
    if (w > 0 && this.takeSlot()) {
      const until = t0 + w;
      let last = t0;
      let now = t0;
      let preempted = false;
      while (
        (bits = A.load(st, pending)) === 0 &&
        (fd === null || (fdBits = fd.probe()) === 0) &&
        !this.stopped() &&
        (now = this.nowUs()) < until
      ) {
        if (this.cpu.between(last, now)) {
          this.preemptions++;
          window.preempted();
          preempted = true;
          break;
        }
        last = now;
      }
      this.releaseSlot();
      if ((bits | fdBits) === 0 && !preempted && !this.stopped()) window.missed();
      if ((bits | fdBits) !== 0) {
        window.hit();
        this.polled++;
        window.update(this.nowUs() - t0);
        return A.exchange(st, pending, 0) | fdBits;
      }
    }
    if (this.stopped()) return 0;
    // Announce the sleep, then look once more. A waker either sees SLEEPING and wakes us, or its
    // PENDING bit is seen here; SEQ read before SLEEPING also makes Atomics.wait return at once if
    // a kick came in between (all accesses sequentially consistent: nm_stld_barrier's role). An
    // eventfd keeps its count until read, so a write before poll(2) starts is not lost either.
    const s = A.load(st, seq);
    A.store(st, sleeping, fd === null ? SLEEPING_FUTEX : SLEEPING_FD);
    if (A.load(st, pending) === 0 && !this.stopped()) {
      this.sleeps++;
      if (fd === null) {
        timedOut = A.wait(st, seq, s, timeoutMs) === 'timed-out';
      } else {
        fdBits = fd.sleep(timeoutMs);
        timedOut = fd.timedOut;
      }
      A.store(st, sleeping, SLEEPING_NO);
      if (!timedOut) this.woken++;
    } else {
      A.store(st, sleeping, SLEEPING_NO);
    }
    bits = A.exchange(st, pending, 0) | fdBits;
    window.update(this.nowUs() - t0);
    this.timedOut = bits === 0 && timedOut && !this.stopped();
    return bits;
  }
  private takeSlot(): boolean {
    const s = this.slots;
    if (s === null) return true;
    const A = this.A;
    for (;;) {
      const n = A.load(s.ta, s.index);
      if (n >= s.limit) return false;
      if (A.compareExchange(s.ta, s.index, n, n + 1) === n) return true;
    }
  }

  private releaseSlot(): void {
    if (this.slots !== null) this.A.sub(this.slots.ta, this.slots.index, 1);
  }
}
