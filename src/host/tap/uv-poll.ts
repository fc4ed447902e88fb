// A descriptor watched by the event loop of this thread: a uv_poll_t on Node's own libuv loop
// (uv_default_loop, the main thread's), reached through koffi like the libc calls. It lets an
// inline kloop learn that the tap has frames without a second thread and the futex wake-up plus
// Atomics.waitAsync hop that costs (tens of µs): epoll in the loop that already sleeps anyway,
// as QEMU's main loop watches its tap fd. libuv's symbols come from the node executable itself.
import { createRequire } from 'node:module';
import { isMainThread } from 'node:worker_threads';
import type Koffi from 'koffi';
import type { TypeObject } from 'koffi';
import { TapError } from './errors.ts';

/** uv_poll_event (uv.h). */
export const UV_POLL = { READABLE: 1, WRITABLE: 2 } as const;
/** uv_handle_type UV_POLL (uv.h's UV_HANDLE_TYPE_MAP: the eighth entry). */
const UV_POLL_HANDLE = 8;
/** uv_handle_type UV_PREPARE (the ninth entry). */
const UV_PREPARE_HANDLE = 9;

interface Uv {
  koffi: typeof Koffi;
  loop: unknown;
  handleSize: number;
  pollCb: TypeObject;
  closeCb: TypeObject;
  init: (loop: unknown, handle: unknown, fd: number) => number;
  start: (handle: unknown, events: number, cb: unknown) => number;
  stop: (handle: unknown) => number;
  close: (handle: unknown, cb: unknown) => void;
  unref: (handle: unknown) => void;
  prepareSize: number;
  prepareCb: TypeObject;
  prepareInit: (loop: unknown, handle: unknown) => number;
  prepareStart: (handle: unknown, cb: unknown) => number;
  prepareStop: (handle: unknown) => number;
  backendTimeout: (loop: unknown) => number;
}

let uv: Uv | null | undefined;

/** libuv through koffi, or null where it cannot be had (no koffi, symbols not exported). */
function loadUv(): Uv | null {
  if (uv !== undefined) return uv;
  try {
    const koffi = createRequire(import.meta.url)('koffi') as typeof Koffi;
    // The process itself: node exports libuv for native addons.
    const lib = koffi.load(null);
    const pollCb = koffi.proto('void ptnet_uv_poll_cb(void *handle, int status, int events)');
    const closeCb = koffi.proto('void ptnet_uv_close_cb(void *handle)');
    const prepareCb = koffi.proto('void ptnet_uv_prepare_cb(void *handle)');
    uv = {
      koffi,
      loop: lib.func('void *uv_default_loop(void)')(),
      handleSize: Number(lib.func('size_t uv_handle_size(int type)')(UV_POLL_HANDLE)),
      pollCb,
      closeCb,
      init: lib.func('int uv_poll_init(void *loop, void *handle, int fd)'),
      start: lib.func('int uv_poll_start(void *handle, int events, ptnet_uv_poll_cb *cb)'),
      stop: lib.func('int uv_poll_stop(void *handle)'),
      close: lib.func('void uv_close(void *handle, ptnet_uv_close_cb *cb)'),
      unref: lib.func('void uv_unref(void *handle)'),
      prepareSize: Number(lib.func('size_t uv_handle_size(int type)')(UV_PREPARE_HANDLE)),
      prepareCb,
      prepareInit: lib.func('int uv_prepare_init(void *loop, void *handle)'),
      prepareStart: lib.func('int uv_prepare_start(void *handle, ptnet_uv_prepare_cb *cb)'),
      prepareStop: lib.func('int uv_prepare_stop(void *handle)'),
      backendTimeout: lib.func('int uv_backend_timeout(const void *loop)'),
    };
  } catch {
    uv = null;
  }
  return uv;
}

/**
 * Watches `fd` for the UV_POLL events last asked for (level-triggered, like poll(2)) and calls
 * `onEvents(events)` from the event loop of the main thread. `onEvents` runs outside any Node
 * callback scope, where queued microtasks do not run: it must hand work on with setImmediate.
 */
export class UvPoll {
  private readonly handle: unknown;
  private readonly cb: bigint;
  private events = 0;
  private closed = false;
  /** uv_poll_start / uv_poll_stop calls so far: each is an epoll_ctl (two for a start). */
  changes = 0;

  private constructor(
    private readonly u: Uv,
    fd: number,
    onEvents: (events: number) => void,
  ) {
    this.handle = u.koffi.alloc('uint8_t', u.handleSize);
    this.cb = u.koffi.register((_h: unknown, status: number, events: number) => {
      // A negative status (e.g. EBADF) reports every event so the owner looks and finds out.
      onEvents(status < 0 ? this.events : events);
    }, u.koffi.pointer(u.pollCb));
    const r = u.init(u.loop, this.handle, fd);
    if (r !== 0) {
      u.koffi.unregister(this.cb);
      u.koffi.free(this.handle);
      throw new TapError('IO_ERROR', `uv_poll_init(${fd}) failed (${r})`, -r);
    }
    // The watch must not keep the process alive by itself (as the readiness thread is unref'd).
    u.unref(this.handle);
  }

  /**
   * Whether this thread can watch descriptors in its event loop: only Node's main thread, whose
   * loop is uv_default_loop (a worker's loop is not reachable), and only with koffi.
   */
  static available(): boolean {
    return isMainThread && loadUv() !== null;
  }

  /** A watch on `fd`, idle until want(). Throws TapError when libuv cannot be reached. */
  static open(fd: number, onEvents: (events: number) => void): UvPoll {
    const u = loadUv();
    if (u === null || !isMainThread)
      throw new TapError('NATIVE_UNAVAILABLE', 'libuv is not reachable through koffi in this thread', 0);
    return new UvPoll(u, fd, onEvents);
  }

  /** What the watch waits for now (UV_POLL bits). */
  get watching(): number {
    return this.events;
  }

  /** Watches for `events` (UV_POLL bits) from now on; 0 stops watching. */
  want(events: number): void {
    if (this.closed || events === this.events) return;
    this.events = events;
    this.changes++;
    if (events === 0) this.u.stop(this.handle);
    else this.u.start(this.handle, events, this.cb);
  }

  /** Stops and releases the watch (the handle's memory once libuv has closed it). Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.u.stop(this.handle);
    const u = this.u;
    const handle = this.handle;
    const pollCb = this.cb;
    const done = u.koffi.register(() => {
      // Not from inside the callback being released.
      setImmediate(() => {
        u.koffi.unregister(pollCb);
        u.koffi.unregister(done);
        u.koffi.free(handle);
      });
    }, u.koffi.pointer(u.closeCb));
    u.close(handle, done);
  }
}

/**
 * A hook on the main thread's event loop just before it polls (a uv_prepare_t): `beforePoll`
 * gets how long the loop is about to sleep in epoll (uv_backend_timeout: ms, −1 for no limit, 0
 * when work is pending and it will not sleep). Armed only when wanted: each call into JavaScript
 * costs. Like UvPoll's callback, `beforePoll` runs outside any Node callback scope.
 */
export class UvBeforePoll {
  private readonly handle: unknown;
  private readonly cb: bigint;
  private armed = false;
  private closed = false;

  private constructor(
    private readonly u: Uv,
    beforePoll: (timeoutMs: number) => void,
  ) {
    this.handle = u.koffi.alloc('uint8_t', u.prepareSize);
    this.cb = u.koffi.register(() => beforePoll(u.backendTimeout(u.loop)), u.koffi.pointer(u.prepareCb));
    const r = u.prepareInit(u.loop, this.handle);
    if (r !== 0) {
      u.koffi.unregister(this.cb);
      u.koffi.free(this.handle);
      throw new TapError('IO_ERROR', `uv_prepare_init failed (${r})`, -r);
    }
    // An armed hook must not keep the process alive.
    u.unref(this.handle);
  }

  /** A hook, disarmed. Throws TapError where libuv cannot be reached (see UvPoll.available). */
  static open(beforePoll: (timeoutMs: number) => void): UvBeforePoll {
    const u = loadUv();
    if (u === null || !isMainThread)
      throw new TapError('NATIVE_UNAVAILABLE', 'libuv is not reachable through koffi in this thread', 0);
    return new UvBeforePoll(u, beforePoll);
  }

  /** Calls beforePoll before each poll of the loop from now on (no system call). */
  arm(): void {
    if (this.armed || this.closed) return;
    this.armed = true;
    this.u.prepareStart(this.handle, this.cb);
  }

  disarm(): void {
    if (!this.armed || this.closed) return;
    this.armed = false;
    this.u.prepareStop(this.handle);
  }

  /** Stops and releases the hook. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.disarm();
    this.closed = true;
    const u = this.u;
    const handle = this.handle;
    const cb = this.cb;
    const done = u.koffi.register(() => {
      setImmediate(() => {
        u.koffi.unregister(cb);
        u.koffi.unregister(done);
        u.koffi.free(handle);
      });
    }, u.koffi.pointer(u.closeCb));
    u.close(handle, done);
  }
}
