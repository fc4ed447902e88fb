// A unikernel in a worker thread of its own, on a port made in this thread: the guest's whole
// path (stack, driver, device, and its sync loop inline) runs in the worker, as a VM on its own
// CPU, while this thread keeps the port's control plane. The two sides share only the port's
// memory (region, krings, switch state): a VALE sender in either thread fills the other's RX kring
// under that kring's lock and rings its doorbell. Requests and replies are messages; counters
// the parent reads while traffic runs are shared words, never a message per packet.
import { EventEmitter } from 'node:events';
import { Worker } from 'node:worker_threads';
import type { ConnReport, TcpSendResult } from '../apps/index.ts';
import { portHandle, releaseOrphanedKloop, type NetmapPort } from '../host/index.ts';
import { UnikernelError, type UnikernelErrorCode } from './errors.ts';
import type { UnikernelStats } from './unikernel.ts';
import type {
  ErrorData,
  UnikernelWorkerData,
  WorkerBootOptions,
  WorkerEvent,
  WorkerReplies,
  WorkerRequest,
  WorkerSendOptions,
  WorkerService,
} from './worker-protocol.ts';

export interface SpawnOptions extends WorkerBootOptions {
  /** A VALE port or a pipe end made in this thread (a TAP port is refused: HostError HOST_ARG). */
  port: NetmapPort;
  /** Services the unikernel runs from boot on. */
  services?: WorkerService[];
  /**
   * The worker's entry module. Default: `worker-main.js` beside this module once compiled (the
   * `ptnet-ts/unikernel-worker` export, for a bundle to ship beside itself), or its tsx loader run
   * from the sources.
   */
  workerUrl?: URL | string;
}

/** How long close() waits for the thread to leave on its own before it is terminated. */
const CLOSE_WAIT_MS = 10_000;

function defaultWorkerUrl(): URL {
  return import.meta.url.endsWith('.ts')
    ? new URL('./worker-boot.mjs', import.meta.url)
    : new URL('./worker-main.js', import.meta.url);
}

/** Every UnikernelError code (a Record, so that a new code cannot be forgotten here). */
const UNIKERNEL_CODES: Record<UnikernelErrorCode, true> = {
  BAD_OPTION: true,
  IPV6_DUPLICATE: true,
  IPV6_DAD_TIMEOUT: true,
  SHUT_DOWN: true,
  WORKER_START: true,
  WORKER_FAILED: true,
  WORKER_REQUEST: true,
};

/** The worker's error as the parent's: the thread's own error (class name, code) is the cause. */
function fromData(code: UnikernelErrorCode, d: ErrorData, prefix = ''): UnikernelError {
  const cause = Object.assign(
    new Error(d.message),
    { name: d.name },
    d.code === undefined ? {} : { code: d.code },
  );
  return new UnikernelError(code, `${prefix}${d.message}`, { cause });
}

/** A boot failure: a UnikernelError keeps its code (BAD_OPTION, IPV6_DUPLICATE…), others WORKER_START. */
function bootError(d: ErrorData): UnikernelError {
  if (d.name === 'UnikernelError' && d.code !== undefined && Object.hasOwn(UNIKERNEL_CODES, d.code)) {
    const code = d.code as UnikernelErrorCode;
    return fromData(code, { ...d, message: d.message.replace(`${code}: `, '') });
  }
  return fromData('WORKER_START', d);
}

interface Pending {
  resolve(v: unknown): void;
  reject(e: unknown): void;
}

/**
 * A unikernel booted in its own worker thread, on `port` made in this thread (`spawn`). Emits
 * 'conn' (ConnReport) for each closed connection of its standard services, and 'error'
 * (UnikernelError WORKER_FAILED) if the thread dies while running; with no 'error' listener that
 * error is thrown, as EventEmitter does. Requests in flight reject with the same error, or with
 * SHUT_DOWN when close() ended the thread before they were answered.
 */
export class UnikernelWorker extends EventEmitter<{ conn: [ConnReport]; error: [UnikernelError] }> {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private failure: UnikernelError | null = null;
  private closing: Promise<void> | null = null;
  private readonly exited: Promise<void>;
  private readonly counters: BigInt64Array;
  private readonly sinkIndex = new Map<number, number>();

  private constructor(
    private readonly worker: Worker,
    readonly port: NetmapPort,
    data: UnikernelWorkerData,
  ) {
    super();
    this.counters = new BigInt64Array(data.counters);
    let i = 0;
    for (const s of data.services) if (s.kind === 'sink') this.sinkIndex.set(s.port, i++);
    this.exited = new Promise((r) => worker.once('exit', () => r()));
  }

  /**
   * Starts a worker thread, boots a unikernel in it on `port` with its sync loop inline there, and
   * resolves once it serves. Rejects with a UnikernelError: the boot's own code (BAD_OPTION for a
   * bad address…), or WORKER_START with the thread's error as `cause`; the thread is gone by then.
   */
  static async spawn(o: SpawnOptions): Promise<UnikernelWorker> {
    const { port, services = [], workerUrl, ...boot } = o;
    const data: UnikernelWorkerData = {
      port: portHandle(port),
      boot,
      services,
      counters: new SharedArrayBuffer(8 * Math.max(1, services.filter((s) => s.kind === 'sink').length)),
    };
    let worker: Worker;
    try {
      worker = new Worker(workerUrl ?? defaultWorkerUrl(), { workerData: data });
    } catch (e) {
      throw new UnikernelError('WORKER_START', e instanceof Error ? e.message : String(e), { cause: e });
    }
    const w = new UnikernelWorker(worker, port, data);
    // Until the boot answers: its outcome; listeners removed one by one (removeAllListeners would
    // also take the Worker's own, which ref its message port as 'message' listeners come and go).
    let onMessage: (m: WorkerEvent) => void = () => {};
    let onError: (e: Error) => void = () => {};
    let onExit: (code: number) => void = () => {};
    try {
      await new Promise<void>((resolve, reject) => {
        onMessage = (m) => {
          if (m.type === 'ready') resolve();
          else if (m.type === 'boot-failed') reject(bootError(m.error));
        };
        onError = (e) => reject(new UnikernelError('WORKER_START', e.message, { cause: e }));
        onExit = (code) =>
          reject(new UnikernelError('WORKER_START', `worker exited with code ${code} before serving`));
        worker.on('message', onMessage).on('error', onError).on('exit', onExit);
      });
    } catch (e) {
      // Nothing of a failed spawn outlives its rejection.
      await worker.terminate();
      throw e;
    } finally {
      worker.off('message', onMessage).off('error', onError).off('exit', onExit);
    }
    worker.on('message', (m: WorkerEvent) => w.onEvent(m));
    worker.on('error', (e) => w.fail(new UnikernelError('WORKER_FAILED', e.message, { cause: e })));
    worker.once('exit', (code) => {
      // The thread that served the port is gone: after close() its loop had stopped; after a
      // crash it died with the thread, and the port is ours to detach or serve again.
      releaseOrphanedKloop(port);
      // Expected only after close(): requests still unanswered then (a ping in flight) end with it.
      if (w.closing === null) w.fail(new UnikernelError('WORKER_FAILED', `worker exited with code ${code}`));
      else w.rejectPending(new UnikernelError('SHUT_DOWN', 'the unikernel worker was closed'));
    });
    // Like a kloop worker: the thread does not keep the process alive by itself; a request in
    // flight does (ref'd until its reply).
    worker.unref();
    return w;
  }

  /** Bytes the 'sink' service on `port` has read so far (a shared counter: no message). */
  sinkBytes(port: number): number {
    const i = this.sinkIndex.get(port);
    if (i === undefined) throw new UnikernelError('BAD_OPTION', `no sink service on port ${port}`);
    return Number(Atomics.load(this.counters, i));
  }

  /** The worker's unikernel sends one ICMP echo request; resolves with the round trip in ms. */
  ping(host: string, opts: { timeout?: number; size?: number } = {}): Promise<number> {
    return this.request<'ping'>({ id: 0, op: 'ping', host, ...opts });
  }

  /** The worker's unikernel's counters. */
  stats(): Promise<UnikernelStats> {
    return this.request<'stats'>({ id: 0, op: 'stats' });
  }

  /** The worker's unikernel sends bytes of the apps' pattern (tcpSend) and reports. */
  send(o: WorkerSendOptions): Promise<TcpSendResult> {
    return this.request<'send'>({ id: 0, op: 'send', o });
  }

  /**
   * Shuts the unikernel down (its kloop stopped, so the port may be detached or attached again)
   * and resolves once the thread has exited. Idempotent; after a failure it only waits for the exit.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.failure === null) {
        await this.request<'close'>({ id: 0, op: 'close' });
        const guard = new Promise<boolean>((r) => setTimeout(() => r(false), CLOSE_WAIT_MS).unref());
        if (!(await Promise.race([this.exited.then(() => true), guard]))) {
          this.worker.ref();
          await this.worker.terminate();
        }
      }
      await this.exited;
    })();
    return this.closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private request<K extends keyof WorkerReplies>(r: WorkerRequest): Promise<WorkerReplies[K]> {
    if (this.failure !== null) return Promise.reject(this.failure);
    if (this.closing !== null && r.op !== 'close')
      return Promise.reject(new UnikernelError('SHUT_DOWN', `${r.op} after close`));
    const id = this.nextId++;
    this.worker.ref();
    return new Promise<WorkerReplies[K]>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ ...r, id });
    });
  }

  private onEvent(m: WorkerEvent): void {
    if (m.type === 'conn') {
      this.emit('conn', m.report);
      return;
    }
    if (m.type !== 'reply') return;
    const p = this.pending.get(m.id);
    if (p === undefined) return;
    this.pending.delete(m.id);
    if (this.pending.size === 0 && this.closing === null) this.worker.unref();
    if ('error' in m) p.reject(fromData('WORKER_REQUEST', m.error));
    else p.resolve(m.value);
  }

  private fail(e: UnikernelError): void {
    if (this.failure !== null) return;
    this.failure = e;
    this.rejectPending(e);
    this.emit('error', e);
  }

  private rejectPending(e: UnikernelError): void {
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }
}
