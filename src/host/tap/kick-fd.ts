// The eventfd that wakes a kloop thread asleep in poll(2) on its TAP descriptor: the role of the
// ioeventfd a guest kick signals in QEMU/KVM, next to the netmap file netmap_sync_kloop polls in
// its event mode. Wakers write it only when the kloop announced such a sleep (SLEEPING_FD).
import { TapError } from './errors.ts';
import { loadLibc, type Libc } from './linux-tap.ts';

const EFD_NONBLOCK = 0o4000;
const EFD_CLOEXEC = 0o2000000;
const POLLIN = 0x1;

/** An eventfd (non-blocking): signal() adds 1, drain() reads the count back to 0. */
export class KickFd {
  private closed = false;
  private readonly one = new Uint8Array(8);
  private readonly sink = new Uint8Array(8);

  private constructor(
    readonly fd: number,
    private readonly c: Libc,
    /** false for a descriptor borrowed from another thread (fromFd): close() leaves it open. */
    private readonly owned: boolean,
  ) {
    this.one[0] = 1;
  }

  /** A new eventfd. Throws TapError IO_ERROR (or the libc loading errors) when it cannot. */
  static create(): KickFd {
    const c = loadLibc();
    const fd = c.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd < 0) {
      const e = c.errno();
      throw new TapError('IO_ERROR', `eventfd failed (errno ${e})`, e);
    }
    return new KickFd(fd, c, true);
  }

  /** The same eventfd seen from another thread of this process. */
  static fromFd(fd: number): KickFd {
    if (!Number.isInteger(fd) || fd < 0) throw new TapError('BAD_FD', `eventfd: bad descriptor ${fd}`);
    return new KickFd(fd, loadLibc(), false);
  }

  /** Wakes whoever polls it (a full counter, EAGAIN, is already awake: nothing is lost). */
  signal(): void {
    if (!this.closed) this.c.write(this.fd, this.one, 8);
  }

  /** Resets the count, so that the next poll(2) sleeps until the next signal(). */
  drain(): void {
    if (!this.closed) this.c.read(this.fd, this.sink, 8);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.owned) this.c.close(this.fd);
  }
}

/**
 * poll(2) over a data descriptor (events chosen per call) and a KickFd (POLLIN). One struct pollfd
 * array made once: a call allocates nothing.
 */
export class FdPoll {
  /** Whether the last poll() found the kick fd readable (it was drained). */
  kicked = false;
  private readonly fds = new Uint8Array(16);
  private readonly dv: DataView;
  private readonly c: Libc;

  constructor(
    private readonly fd: number,
    private readonly kick: KickFd,
  ) {
    this.c = loadLibc();
    this.dv = new DataView(this.fds.buffer);
    this.dv.setInt32(0, fd, true);
    this.dv.setInt32(8, kick.fd, true);
    this.dv.setInt16(12, POLLIN, true);
  }

  /**
   * Waits up to `timeoutMs` (0: a look) for `events` on the data descriptor or a signal on the kick
   * fd. Returns the data descriptor's revents, or −1 on a timeout. Blocks the calling thread.
   */
  poll(events: number, timeoutMs: number): number {
    const dv = this.dv;
    // fd −1 makes poll(2) skip the entry: nothing is wanted from the data descriptor.
    dv.setInt32(0, events === 0 ? -1 : this.fd, true);
    dv.setInt16(4, events, true);
    dv.setInt16(6, 0, true);
    dv.setInt16(14, 0, true);
    const n = this.c.poll(this.fds, 2, timeoutMs);
    this.kicked = n > 0 && (dv.getUint16(14, true) & POLLIN) !== 0;
    if (this.kicked) this.kick.drain();
    if (n <= 0) return n === 0 ? -1 : 0;
    return dv.getUint16(6, true);
  }
}
