// A sync-loop worker thread as its owner sees it: the thread that worker-mode kloops run on.
// By default each kloop gets a thread of its own (QEMU's "ptnetmap-sync-kloop" thread per port).
// A KloopThread passed to several kloops serves all their ports from one thread, as a vhost
// worker may serve several virtqueues: on a machine with few cores, the guests' thread and one
// sync-loop thread can both poll, where one thread per port leaves a thread asleep and every
// hand-off between two ports of one switch a futex wake-up. The ports must share their state
// memory (one VALE switch, or the two ends of a pipe): their doorbells then ring the first port's
// GROUP block (PC.BELL), which the thread sleeps on.

import { availableParallelism } from 'node:os';
import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';
import createDebug from 'debug';
import { HostError } from './errors.ts';
import type { CsbWindow } from './kloop-core.ts';
import { KLOOP_POLL_MAX_US, POLL_MAX_US } from './kloop-idle.ts';
import { KC, TC, TC_WORDS, type KloopMemberData, type KloopThreadData } from './kloop-words.ts';
import type { NetmapPort } from './port.ts';
import { PC } from './port-layout.ts';

const log = createDebug('ptnet:host');

/** Kloop threads of this process polling right now, the guests' interrupt polls included (kloop-idle.ts PollerSlots). */
export const POLLERS = new SharedArrayBuffer(4);

/** How long a leave waits for the worker to let go of a port (it includes tsx boot time). */
const STOP_WAIT_MS = 10_000;

/** Threads of the process that may poll at once by default: cores − 1, one core left to the guests' thread. */
export function defaultPollers(): number {
  return Math.max(0, availableParallelism() - 1);
}

/**
 * Throws HostError HOST_ARG for poll settings no window can use: a µs bound that is not a finite
 * number ≥ 0, a poller count that is not an integer ≥ 0.
 */
export function checkPollOptions(o: { spinUs?: number; pollers?: number; busyPollUs?: number }): void {
  for (const k of ['spinUs', 'busyPollUs'] as const) {
    const v = o[k];
    if (v !== undefined && !(Number.isFinite(v) && v >= 0))
      throw new HostError('HOST_ARG', `${k} must be a finite number of µs ≥ 0, not ${String(v)}`);
  }
  if (o.pollers !== undefined && !(Number.isInteger(o.pollers) && o.pollers >= 0))
    throw new HostError('HOST_ARG', `pollers must be an integer ≥ 0, not ${String(o.pollers)}`);
}

/** Waits (blocking, 50 ms at a time) until `done()` or the deadline: a leave is synchronous. */
function waitUntil(ta: Int32Array, index: number, done: () => boolean): void {
  const deadline = Date.now() + STOP_WAIT_MS;
  while (!done() && Date.now() < deadline) Atomics.wait(ta, index, 0, 50);
}

/**
 * The worker's entry module. Compiled (dist/host/kloop-thread.js): kloop-worker.js beside it. Run
 * from the TypeScript sources (tsx, vitest): kloop-boot.mjs, which registers tsx in the worker
 * first. A bundle that inlines this module finds `kloop-worker.js` beside the bundle (bundle the
 * package's `ptnet-ts/kloop-worker` export there) unless the options say otherwise.
 */
function defaultWorkerUrl(): URL {
  return import.meta.url.endsWith('.ts')
    ? new URL('./kloop-boot.mjs', import.meta.url)
    : new URL('./kloop-worker.js', import.meta.url);
}

export interface KloopThreadOptions {
  /**
   * The longest the thread polls its doorbell before sleeping, µs (default KLOOP_POLL_MAX_US, or
   * POLL_MAX_US for a `single` thread). The window adapts below it (kloop-idle.ts PollWindow); 0
   * never polls.
   */
  spinUs?: number;
  /**
   * How many threads of this process may poll at once, guest threads' interrupt polls included
   * (default: cores − 1, so one core stays for the guests' thread; 0 on one core).
   */
  pollers?: number;
  /** The worker's entry module (default: the one beside this module, see defaultWorkerUrl). */
  workerUrl?: URL | string;
  /**
   * Serve one port only, asleep on that port's own doorbell words (and, for a TAP port, in poll(2)
   * on its descriptor). What a worker kloop gets when it is given no thread. Default false: any
   * number of ports that share their state memory; no TAP port.
   */
  single?: boolean;
}

/** A port served by the thread, as its kloop sees it. */
export interface ThreadMember {
  readonly port: NetmapPort;
  readonly csb: CsbWindow;
  /** The port's KC control words. */
  readonly ctrl: Int32Array;
  /** Whether the thread must keep the process alive for this port. */
  holdsRef(): boolean;
  /** Whether the thread failed to start for this port (fail was called). */
  failed(): boolean;
  /** The thread could not start, or died before serving this port. */
  fail(e: unknown): void;
}

export class KloopThread {
  readonly spinUs: number;
  readonly pollers: number;
  readonly workerUrl: URL | string;
  readonly single: boolean;
  private worker: Worker | null = null;
  private mail: MessagePort | null = null;
  private tctrl = new Int32Array(new SharedArrayBuffer(TC_WORDS * 4));
  private readonly members: ThreadMember[] = [];
  /** Settles when the current worker has exited. */
  private exited: Promise<void> = Promise.resolve();
  private dead = true;

  /** Throws HostError HOST_ARG for a bad spinUs or pollers (checkPollOptions). */
  constructor(opts: KloopThreadOptions = {}) {
    checkPollOptions(opts);
    this.single = opts.single ?? false;
    this.spinUs = opts.spinUs ?? (this.single ? POLL_MAX_US : KLOOP_POLL_MAX_US);
    this.pollers = opts.pollers ?? defaultPollers();
    this.workerUrl = opts.workerUrl ?? defaultWorkerUrl();
  }

  /** Ports served now. */
  get size(): number {
    return this.members.length;
  }

  /** Throws HostError HOST_ARG if this thread cannot serve `port` beside the ports it has. */
  check(port: NetmapPort): void {
    const first = this.members[0];
    if (first !== undefined && this.single)
      throw new HostError('HOST_ARG', `${port.name}: this sync-loop thread serves ${first.port.name} only`);
    if (!this.single && port.shared().kind === 'tap')
      throw new HostError(
        'HOST_ARG',
        `${port.name}: a TAP port's kloop watches its descriptor: it needs a thread of its own`,
      );
    if (first !== undefined && first.port.datapath.state.buffer !== port.datapath.state.buffer)
      throw new HostError(
        'HOST_ARG',
        `${port.name}: a sync-loop thread serves ports whose doorbells share memory (one switch or pipe); ${first.port.name} is elsewhere`,
      );
  }

  /**
   * @internal SyncKloop.start calls it.
   * Starts serving `m`'s port (the worker starts with the first port). Throws HostError HOST_ARG
   * for a port this thread cannot serve beside the ones it has. A worker that fails to start
   * reports through `m.fail`.
   */
  join(m: ThreadMember): void {
    this.check(m.port);
    const dp = m.port.datapath;
    const first = this.members[0];
    const st = dp.state;
    if (!this.single) {
      const bell = (first?.port.datapath ?? dp).ctl + PC.GROUP;
      if (first === undefined) {
        Atomics.store(st, bell + PC.PENDING, 0);
        Atomics.store(st, bell + PC.SLEEPING, 0);
      }
      Atomics.store(st, dp.ctl + PC.BELL, bell + 1);
    }
    this.members.push(m);
    const data: KloopMemberData = {
      port: m.port.shared(),
      csb: m.csb,
      ctrl: m.ctrl.buffer as SharedArrayBuffer,
    };
    if (this.worker === null) {
      this.spawn(data);
    } else if (this.dead) {
      m.fail(new Error('the sync-loop thread has died'));
    } else {
      this.mail!.postMessage(data);
      Atomics.add(this.tctrl, TC.MAIL, 1);
      dp.doorbell(0);
      // Until the port is served, its owner may have nothing else keeping the process alive.
      this.updateRef();
    }
  }

  /**
   * @internal SyncKloop.stop calls it.
   * Stops serving `m`'s port, synchronously: when it returns the thread no longer touches that
   * port or its CSB. The last port stops the worker; the promise settles once it has exited.
   */
  leave(m: ThreadMember): Promise<void> {
    const i = this.members.indexOf(m);
    if (i < 0) return this.exited;
    const dp = m.port.datapath;
    if (!this.dead) {
      Atomics.store(m.ctrl, KC.STOP, 1);
      Atomics.add(this.tctrl, TC.MAIL, 1);
      dp.doorbell(0);
      // A worker still booting (tsx) checks its mail first thing. Bounded: a worker that crashed
      // never answers, and one that failed to start is not waited for at all.
      waitUntil(m.ctrl, KC.STOPPED, () => m.failed() || this.dead || Atomics.load(m.ctrl, KC.STOPPED) !== 0);
    }
    this.members.splice(i, 1);
    Atomics.store(dp.state, dp.ctl + PC.BELL, 0);
    if (this.members.length !== 0) {
      this.updateRef();
      return Promise.resolve();
    }
    const w = this.worker;
    if (w !== null) {
      const t = this.tctrl;
      waitUntil(t, TC.STOPPED, () => this.dead || Atomics.load(t, TC.STOPPED) !== 0);
      this.worker = null;
      this.dead = true;
      this.mail?.close();
      this.mail = null;
      // exited settles on the 'exit' event, which terminate() brings about; ref'd until then so
      // that an awaited close() is not cut short by the process ending.
      w.ref();
      void w.terminate();
    }
    return this.exited;
  }

  /** @internal Keeps the process alive while any port served wants it (see ThreadMember.holdsRef). */
  updateRef(): void {
    if (this.worker === null) return;
    if (this.members.some((m) => m.holdsRef())) this.worker.ref();
    else this.worker.unref();
  }

  private spawn(first: KloopMemberData): void {
    this.tctrl = new Int32Array(new SharedArrayBuffer(TC_WORDS * 4));
    const { port1, port2 } = new MessageChannel();
    const workerData: KloopThreadData = {
      first,
      tctrl: this.tctrl.buffer as SharedArrayBuffer,
      mail: port2,
      group: !this.single,
      spinUs: this.spinUs,
      pollers: POLLERS,
      pollerLimit: this.pollers,
    };
    let worker: Worker;
    try {
      worker = new Worker(this.workerUrl, { workerData, transferList: [port2] });
    } catch (e) {
      // A URL the Worker constructor refuses (bad scheme, no such file on some Node versions).
      port1.close();
      for (const m of this.members) m.fail(e);
      return;
    }
    this.worker = worker;
    this.mail = port1;
    this.dead = false;
    // Nothing is ever received on the owner's end; it must not keep the process alive either.
    port1.unref();
    const name = this.members[0]!.port.name;
    worker.once('online', () => {
      if (log.enabled) log('%s: kloop worker %d started', name, worker.threadId);
    });
    this.exited = new Promise((resolve) =>
      worker.once('exit', (code) => {
        if (log.enabled) log('%s: kloop worker exited (code %d)', name, code);
        // A worker that ended on its own (a crash): ports it had not served yet learn why.
        if (this.worker === worker) {
          this.dead = true;
          for (const m of this.members)
            if (Atomics.load(m.ctrl, KC.STARTED) === 0)
              m.fail(new Error(`worker exited with code ${code} before serving`));
        }
        resolve();
      }),
    );
    worker.on('error', (e) => {
      log('kloop worker for %s failed: %O', name, e);
      if (this.worker !== worker) return;
      // An uncaught exception ends the worker: nobody is left to answer a leave.
      this.dead = true;
      for (const m of this.members) if (Atomics.load(m.ctrl, KC.STARTED) === 0) m.fail(e);
    });
  }
}
