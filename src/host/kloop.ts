// The host sync kloop (netmap_sync_kloop), in two modes sharing KloopCore:
// - inline: a kick runs that ring's procedure synchronously (netmap's "direct" mode), and so does
//   a backend wake-up (a VALE or pipe peer delivered, a TAP became readable): the ring runs in the
//   waker's context, as direct mode's wait-queue callbacks do, or right after the ring procedure
//   that woke it; its interrupt goes to the device the same way (MSI-X defers the delivery to the
//   guest). A test may pass a scheduler that queues both and drain it in an order of its choosing.
// - worker: the port is served by a sync-loop worker thread (kloop-thread.ts): one of its own, like
//   QEMU's "ptnetmap-sync-kloop" thread, or one shared with other ports of the same switch. Kicks
//   and backend wake-ups set a bit in the port's pending word and ring the thread's doorbell; the
//   thread polls for an adaptive window (kloop-idle.ts), then sleeps (Atomics.wait, or poll(2) on
//   a TAP descriptor it serves itself). Interrupts come back the same way on control words the
//   guest's thread watches with Atomics.waitAsync.

import createDebug from 'debug';
import { HostError } from './errors.ts';
import { KloopCore, type CsbWindow } from './kloop-core.ts';
import { POLL_MAX_US, PollWindow, SLEEPING_FUTEX, SLEEPING_NO } from './kloop-idle.ts';
import { type IrqSource, IrqPoller } from './kloop-irq-poll.ts';
import { KloopThread, POLLERS, type ThreadMember, checkPollOptions, defaultPollers } from './kloop-thread.ts';
import { KC, KC_WORDS } from './kloop-words.ts';
import { PC } from './port-layout.ts';
import type { NetmapPort, PortDatapath } from './port.ts';

const log = createDebug('ptnet:host');

export type { CsbWindow } from './kloop-core.ts';
export type KloopMode = 'inline' | 'worker';

/**
 * The inline default scheduler, shared by this thread's inline kloops: a backend wake-up runs the
 * woken ring at once (direct mode: sync_kloop_rx_kick_wake_fun runs netmap_sync_kloop_rx_ring in
 * the wake-up callback itself), unless it comes from inside a ring procedure of this thread (a VALE
 * flush into a local port, a pipe peer returning slots while it holds its kring lock): then it runs
 * as soon as the outermost procedure returns, with every kring lock released, still before control
 * goes back to the caller. An interrupt takes the same path to the device, whose MSI-X defers the
 * delivery to the guest. Before, each of the two was a microtask hop per frame (~0.1 µs and a few
 * hundred bytes each, bench/rt-budget.ts).
 */
const procedures = { depth: 0, draining: false, after: [] as (() => void)[], queued: 0 };

const afterProcedures = (fn: () => void): void => {
  if (procedures.depth === 0) fn();
  else procedures.after[procedures.queued++] = fn;
};

/**
 * Runs what ring procedures queued, once the outermost has returned. The queue is an array kept
 * with a count, never shortened: an Array#splice per drain returned a new array each time.
 */
function drainAfterProcedures(): void {
  const p = procedures;
  if (p.draining) return;
  p.draining = true;
  let i = 0;
  try {
    // A run queues more at the end of the queue; the loop takes it too.
    for (; i < p.queued; i++) p.after[i]!();
  } finally {
    // After a throw, the one that threw and those after it move to the front.
    const left = p.queued - i;
    for (let k = 0; k < left; k++) p.after[k] = p.after[i + k]!;
    p.queued = left;
    p.draining = false;
  }
}

export interface KloopOptions {
  /**
   * inline: how backend wake-ups and interrupts run (default: at once, or after the ring
   * procedure running in this thread, see afterProcedures); a test may collect and drain them.
   */
  schedule?: (fn: () => void) => void;
  /**
   * worker: the thread that serves the port, shared with other kloops (their ports must share
   * state memory: one VALE switch, or a pipe's two ends; kloop-thread.ts). Default: a thread of
   * its own, made with spinUs, pollers and workerUrl, which must not be given with this.
   */
  thread?: KloopThread;
  /**
   * worker: the longest the loop polls its doorbell before sleeping, µs (default POLL_MAX_US). The
   * window adapts below it (kloop-idle.ts PollWindow); 0 never polls.
   */
  spinUs?: number;
  /**
   * worker: how many kloop threads of this process may poll at once (default: cores − 1, so one
   * core stays for the guests' thread; 0 on one core). Others sleep at once.
   */
  pollers?: number;
  /**
   * worker: the longest the guest thread polls for an interrupt after a kick, µs (default
   * POLL_MAX_US; 0 never). One poller serves every worker kloop of the thread; the first one
   * started sets its window.
   */
  guestPollUs?: number;
  /**
   * inline: after a kick, the longest the guest thread polls the port's doorbell for a wake-up from
   * another thread, µs (default 0: never). For a port whose peer runs in another thread (a
   * UnikernelWorker on the same switch): its answer then skips the event loop's wake-up. Adaptive
   * like guestPollUs, and shares that poller and its `pollers` limit (default cores − 1).
   */
  busyPollUs?: number;
  /** worker: the worker's entry module (default: the one beside kloop-thread.ts). */
  workerUrl?: URL | string;
  /**
   * worker: once running, the thread does not keep the process alive for this port (default
   * false). For a guest whose stack holds process refs itself (node:net semantics: open servers
   * and sockets do); raw netmap users waiting on the rings leave it ref'd.
   */
  unrefWorker?: boolean;
}

/** This thread's interrupt poller (guest side), made by the first worker kloop that wants one. */
let irqPoller: IrqPoller | null = null;
function threadIrqPoller(maxUs: number, pollers: number): IrqPoller {
  irqPoller ??= new IrqPoller(
    new PollWindow(maxUs),
    { ta: new Int32Array(POLLERS), index: 0, limit: pollers },
    () => performance.now() * 1000,
  );
  return irqPoller;
}

interface WaitAsyncResult {
  async: boolean;
  value: Promise<'ok' | 'timed-out'> | 'not-equal' | 'timed-out';
}
type WaitAsync = (ta: Int32Array, index: number, value: number, timeout?: number) => WaitAsyncResult;
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

/**
 * Watches `word` of `ta` with Atomics.waitAsync and calls `onChange` after every change until
 * `alive()` is false. The only async piece of the host: it runs in the guest's thread.
 */
function watch(ta: Int32Array, word: number, alive: () => boolean, onChange: () => void): void {
  const loop = (): void => {
    while (alive()) {
      const seen = Atomics.load(ta, word);
      onChange();
      const r = waitAsync(ta, word, seen);
      if (r.async) {
        void (r.value as Promise<unknown>).then(loop);
        return;
      }
    }
  };
  loop();
}

export class SyncKloop {
  private state: 'idle' | 'running' | 'stopped' = 'idle';
  private readonly dp: PortDatapath;
  private core: KloopCore | null = null;
  /** worker: the thread serving the port, once started. */
  private thread: KloopThread | null = null;
  private readonly threadOpt: KloopThread | undefined;
  /** Why the worker could not start (set before it entered its loop), for ready() to reject with. */
  private failure: HostError | null = null;
  /** Settles when the worker no longer serves the port (resolved at once inline, or before start). */
  private exited: Promise<void> = Promise.resolve();
  private readonly workerUrl: URL | string | undefined;
  private readonly ctrl = new Int32Array(new SharedArrayBuffer(KC_WORDS * 4));
  /** worker: the port as its thread sees it, while the thread serves it. */
  private member: ThreadMember | null = null;
  private readonly schedule: (fn: () => void) => void;
  private readonly spinUs: number | undefined;
  private readonly pollers: number | undefined;
  private readonly guestPollUs: number;
  private readonly busyPollUs: number;
  /** worker: this kloop in the thread's interrupt poller, or null. */
  private irqSource: IrqSource | null = null;
  private poller: IrqPoller | null = null;
  private readonly unrefWorker: boolean;
  /** worker: the port's kloop has entered its loop and, with unrefWorker, let go of the process. */
  private served = false;
  // inline: rings waiting for a queued run, interrupts waiting for delivery, hold timers.
  private wakeBits = 0;
  // Rings to run by the running procedure loop (see runRing), and whether it is running.
  private deferred = 0;
  private busy = false;
  private irqBits = 0;
  private readonly timers = new Map<number, ReturnType<typeof setTimeout>>();
  private readonly drainWakes = (): void => this.runWakes();
  private readonly drainIrqs = (): void => this.deliverIrqs();

  constructor(
    readonly port: NetmapPort,
    readonly csb: CsbWindow,
    private readonly irq: (ring: number) => void,
    readonly mode: KloopMode,
    opts: KloopOptions = {},
  ) {
    this.dp = port.datapath;
    this.schedule = opts.schedule ?? afterProcedures;
    this.threadOpt = opts.thread;
    if (opts.thread !== undefined && (opts.spinUs ?? opts.pollers ?? opts.workerUrl) !== undefined)
      throw new HostError('HOST_ARG', 'spinUs, pollers and workerUrl belong to the KloopThread given');
    checkPollOptions(opts);
    this.spinUs = opts.spinUs;
    this.pollers = opts.pollers;
    this.guestPollUs = opts.guestPollUs ?? POLL_MAX_US;
    this.busyPollUs = opts.busyPollUs ?? 0;
    this.unrefWorker = opts.unrefWorker ?? false;
    this.workerUrl = opts.workerUrl;
    // Validate the CSB window now: the device reports a bad address at CREATE.
    new KloopCore(this.dp, csb, () => {});
  }

  /** Ring procedure runs so far (inline: this thread; worker: the worker's count). */
  get runs(): number {
    return this.mode === 'inline' ? (this.core?.runs ?? 0) : Atomics.load(this.ctrl, KC.RUNS);
  }
  /**
   * This thread's interrupt polls after kicks (kloop-irq-poll.ts): answered, ran out, preempted,
   * and gaps in a poll that were interrupts, not preemptions (run-wait.ts).
   */
  static guestPollStats(): { hits: number; misses: number; preempted: number; interrupted: number } {
    const p = irqPoller;
    return {
      hits: p?.hits ?? 0,
      misses: p?.misses ?? 0,
      preempted: p?.preemptions ?? 0,
      interrupted: p?.interrupted ?? 0,
    };
  }
  /**
   * Worker idle periods ended by polling, sleeps taken, polls preempted, gaps in a poll that were
   * interrupts (always 0 inline).
   */
  get idleStats(): { polled: number; sleeps: number; preempted: number; interrupted: number } {
    return {
      polled: Atomics.load(this.ctrl, KC.POLLED),
      sleeps: Atomics.load(this.ctrl, KC.SLEEPS),
      preempted: Atomics.load(this.ctrl, KC.PREEMPTED),
      interrupted: Atomics.load(this.ctrl, KC.INTERRUPTED),
    };
  }
  /** Worker passes where only the timeout found work (a lost wake-up); always 0 inline. */
  get rescues(): number {
    return Atomics.load(this.ctrl, KC.RESCUES);
  }

  /**
   * NETMAP_REQ_SYNC_KLOOP_START: CSB mode on (netmap_csb_validate), then serve kicks.
   * @mirrors netmap_kloop.c:netmap_sync_kloop
   */
  start(): void {
    if (this.state !== 'idle') throw new HostError('HOST_STATE', 'kloop already started');
    // A port the given thread cannot serve is refused before anything changes.
    if (this.mode === 'worker') this.threadOpt?.check(this.port);
    const st = this.dp.state;
    if (Atomics.compareExchange(st, this.dp.ctl + PC.KLOOP, 0, 1) !== 0) {
      throw new HostError('HOST_STATE', `${this.port.name} already has a kloop (EBUSY)`);
    }
    this.state = 'running';
    // A TAP port picks its readiness source here: a worker watches the descriptor itself.
    this.port.kloopStarting?.(this.mode);
    if (this.mode === 'inline') {
      const core = new KloopCore(this.dp, this.csb, (r) => this.queueIrq(r), 1);
      core.validate();
      this.core = core;
      this.dp.localWake = (r) => this.queueWake(r);
      Atomics.store(st, this.dp.ctl + PC.SLEEPING, 1);
      if (log.enabled)
        log('%s: kloop start (inline, %d+%d rings)', this.port.name, this.dp.numTx, this.dp.numRx);
      // Wake-ups from senders in other threads arrive on the shared pending word.
      watch(
        st,
        this.dp.ctl + PC.SEQ,
        () => this.state === 'running',
        () => {
          const bits = Atomics.exchange(st, this.dp.ctl + PC.PENDING, 0);
          if (bits !== 0) this.takeWakes(bits);
        },
      );
      const pollers = this.pollers ?? defaultPollers();
      if (this.busyPollUs > 0 && pollers > 0) {
        // The thread's poller watches the doorbell too; wakers skip the notify while SLEEPING is 0.
        this.poller = threadIrqPoller(this.busyPollUs, pollers);
        this.irqSource = {
          ctrl: st,
          pending: this.dp.ctl + PC.PENDING,
          quiet: this.dp.ctl + PC.SLEEPING,
          quietOn: SLEEPING_NO,
          quietOff: SLEEPING_FUTEX,
          deliver: (bits) => this.takeWakes(bits),
        };
        this.poller.add(this.irqSource);
      }
      return;
    }
    new KloopCore(this.dp, this.csb, () => {}).validate();
    Atomics.store(st, this.dp.ctl + PC.PENDING, 0);
    Atomics.store(st, this.dp.ctl + PC.SLEEPING, 0);
    const thread =
      this.threadOpt ??
      new KloopThread({
        single: true,
        ...(this.spinUs === undefined ? {} : { spinUs: this.spinUs }),
        ...(this.pollers === undefined ? {} : { pollers: this.pollers }),
        ...(this.workerUrl === undefined ? {} : { workerUrl: this.workerUrl }),
      });
    const member: ThreadMember = {
      port: this.port,
      csb: this.csb,
      ctrl: this.ctrl,
      holdsRef: () => !(this.unrefWorker && this.served),
      failed: () => this.failure !== null,
      fail: (e) => this.fail(e),
    };
    this.member = member;
    this.thread = thread;
    thread.join(member);
    if (log.enabled)
      log('%s: kloop start (worker, %d+%d rings)', this.port.name, this.dp.numTx, this.dp.numRx);
    if (this.guestPollUs > 0 && thread.pollers > 0) {
      this.poller = threadIrqPoller(this.guestPollUs, thread.pollers);
      this.irqSource = {
        ctrl: this.ctrl,
        pending: KC.IRQ_PENDING,
        quiet: KC.GUEST_POLL,
        quietOn: 1,
        quietOff: 0,
        deliver: (bits) => this.deliverIrqBits(bits),
      };
      this.poller.add(this.irqSource);
    }
    watch(
      this.ctrl,
      KC.IRQ_SEQ,
      () => this.state === 'running',
      () => {
        const bits = Atomics.exchange(this.ctrl, KC.IRQ_PENDING, 0);
        if (bits !== 0) this.deliverIrqBits(bits);
      },
    );
  }

  /** Worker interrupts taken from IRQ_PENDING (by the watcher or the thread's poller). */
  private deliverIrqBits(bits: number): void {
    if (this.state !== 'running') return;
    this.poller?.answered();
    for (let b = bits; b !== 0; b &= b - 1) this.irq(31 - Math.clz32(b & -b));
  }

  /**
   * Guest kick on ring i (a write to KICK[i]). Inline: runs the ring now. Worker: rings the
   * doorbell. Ignored when not running, like a kick register with no kloop behind it.
   */
  kick(ring: number): void {
    if (this.state !== 'running' || !(ring >= 0 && ring < this.dp.numTx + this.dp.numRx)) return;
    if (this.core !== null) {
      this.runRing(ring);
      this.poller?.kicked();
      return;
    }
    this.dp.doorbell(1 << ring);
    this.poller?.kicked();
  }

  /**
   * NETMAP_REQ_SYNC_KLOOP_STOP, synchronous: when it returns the host no longer touches the CSB
   * (the worker has left its loop; inline, nothing is queued to run any more).
   * @mirrors netmap_kloop.c:netmap_sync_kloop_stop
   */
  stop(): void {
    if (this.state !== 'running') {
      this.state = 'stopped';
      return;
    }
    this.state = 'stopped';
    if (log.enabled) log('%s: kloop stop (%s, %d ring runs)', this.port.name, this.mode, this.runs);
    const st = this.dp.state;
    if (this.member !== null) {
      // The thread lets go of the port before leave returns (the last port stops the thread).
      this.exited = this.thread!.leave(this.member);
      this.member = null;
      this.thread = null;
      if (this.irqSource !== null) this.poller?.delete(this.irqSource);
      this.poller = null;
      this.irqSource = null;
      // Release the interrupt watcher (it sees the kloop stopped and delivers nothing more).
      Atomics.add(this.ctrl, KC.IRQ_SEQ, 1);
      Atomics.notify(this.ctrl, KC.IRQ_SEQ);
    } else {
      this.dp.localWake = null;
      if (this.irqSource !== null) this.poller?.delete(this.irqSource);
      this.poller = null;
      this.irqSource = null;
      for (const t of this.timers.values()) clearTimeout(t);
      this.timers.clear();
      // Release the cross-thread watcher.
      Atomics.add(st, this.dp.ctl + PC.SEQ, 1);
      Atomics.notify(st, this.dp.ctl + PC.SEQ);
    }
    Atomics.store(st, this.dp.ctl + PC.KLOOP, 0);
  }

  /**
   * Resolves once a worker kloop has entered its loop (immediately inline). Rejects with HostError
   * HOST_WORKER (the worker's own error as `cause`) when the worker cannot start.
   */
  async ready(): Promise<void> {
    while (this.member !== null && Atomics.load(this.ctrl, KC.STARTED) === 0 && this.failure === null) {
      const r = waitAsync(this.ctrl, KC.STARTED, 0, 100);
      if (r.async) await r.value;
    }
    if (this.failure !== null) throw this.failure;
    // Running, the thread no longer keeps the process alive for this port: as in node:net, open
    // servers and sockets do (the stack's refs), and an idle guest lets the process exit.
    if (this.member !== null && !this.served) {
      this.served = true;
      this.thread!.updateRef();
    }
  }

  /**
   * Resolves once the worker no longer serves the port: after stop(), nothing of it is left (the
   * thread has exited, unless it serves other ports).
   */
  closed(): Promise<void> {
    return this.exited;
  }

  /** Records why the worker could not start and wakes ready(). */
  private fail(e: unknown): void {
    if (this.failure !== null) return;
    const why = e instanceof Error ? e.message : String(e);
    this.failure = new HostError(
      'HOST_WORKER',
      `${this.port.name}: kloop worker did not start: ${why}`,
      undefined,
      {
        cause: e,
      },
    );
    Atomics.notify(this.ctrl, KC.STARTED);
  }

  /**
   * Runs ring procedures, never nested: a ring asked for while one runs (a kick from an interrupt
   * handler called synchronously, a scheduler that does not defer) is run after it, in the same
   * call. Ascending ring order: TX rings first, then RX, as each pass of netmap_sync_kloop.
   */
  private runRing(ring: number): void {
    this.deferred |= 1 << ring;
    if (this.busy) return;
    this.busy = true;
    procedures.depth++;
    try {
      while (this.deferred !== 0 && this.state === 'running') {
        const bits = this.deferred;
        this.deferred = 0;
        for (let b = bits; b !== 0; b &= b - 1) {
          const r = 31 - Math.clz32(b & -b);
          this.core!.run(r);
          if (r >= this.dp.numTx) this.armHold(r);
        }
      }
    } finally {
      this.busy = false;
      procedures.depth--;
    }
    if (procedures.depth === 0 && procedures.queued !== 0) drainAfterProcedures();
  }

  /** Impairment delay: run the RX ring again when its held packet is due. */
  private armHold(ring: number): void {
    const left = this.dp.holdRemaining(ring);
    if (left < 0 || this.timers.has(ring)) return;
    this.timers.set(
      ring,
      setTimeout(() => {
        this.timers.delete(ring);
        if (this.state === 'running') this.runRing(ring);
      }, left + 1),
    );
  }

  /** Doorbell bits rung from another thread (taken by the watcher or the thread's poller). */
  private takeWakes(bits: number): void {
    this.poller?.answered();
    this.wakeBits |= bits;
    this.runWakes();
  }

  private queueWake(ring: number): void {
    if (this.state !== 'running') return;
    const was = this.wakeBits;
    this.wakeBits |= 1 << ring;
    if (was === 0) this.schedule(this.drainWakes);
  }

  private runWakes(): void {
    const bits = this.wakeBits;
    this.wakeBits = 0;
    for (let b = bits; b !== 0; b &= b - 1) this.runRing(31 - Math.clz32(b & -b));
  }

  private queueIrq(ring: number): void {
    const was = this.irqBits;
    this.irqBits |= 1 << ring;
    if (was === 0) this.schedule(this.drainIrqs);
  }

  private deliverIrqs(): void {
    const bits = this.irqBits;
    this.irqBits = 0;
    if (this.state !== 'running') return;
    for (let b = bits; b !== 0; b &= b - 1) this.irq(31 - Math.clz32(b & -b));
  }
}
