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
