// A netmap port whose other side is a Linux TAP interface (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR,
// 12-byte header, TUNSETOFFLOAD CSUM|TSO4|TSO6|TSO_ECN|USO4|USO6): what QEMU's tap backend is to
// a virtio-net NIC, with netmap rings in place of the virtqueues. TX ring → one write() per packet;
// tap → RX ring, one read() per frame, GSO super-frames spread over NS_MOREFRAG slots with the
// vnet header in front of the first one (as VALE delivers to a 12-byte-header port).
//
// Threads: txsync/rxsync run wherever the kloop runs (inline: the guest's thread; worker: the
// kloop worker) and use the fd non-blocking, so nothing ever blocks an event loop. A sleeping
// kloop learns that frames wait in the tap (or that a full tap queue has room again) from a
// readiness source armed by the datapath when it ran dry:
// - 'worker' (what 'auto', the default, picks for a worker kloop): the kloop worker watches the fd
//   itself, between its doorbell polls and, asleep, in poll(2) on the fd and an eventfd that guest
//   kicks write (KickFd) — netmap_sync_kloop's event mode. No other thread, no extra wake-up.
// - 'uv' (what 'auto' picks for an inline kloop in the main thread): that thread's event loop
//   watches the fd (a uv_poll_t, tap/uv-poll.ts) for what the datapath armed, and keeps it in
//   epoll while frames flow; it sleeps in epoll anyway, so a frame costs no other thread and no
//   cross-thread wake-up. With busyPollUs set, after a frame, when the loop is next about to
//   sleep, the thread busy-polls the fd for an adaptive window first (tap-busy-poll.ts).
// - 'thread' (what 'auto' picks for an inline kloop in another thread, whose event loop must not
//   block and cannot be reached): a small worker blocked in poll(2) on the fd
//   (tap-port-waiter.mjs). It only rings the port's doorbell; reading stays in rxsync, so there
//   is one reader and frame order is the tap's. Latency: one more futex wake (tens of µs).
// - 'timer': a 1 ms setTimeout in the port owner's thread that polls the fd with a zero timeout.
//   Single-threaded, but an idle port answers up to ~1 ms late (Node timers are ms-grained).
// A frame that needs more slots than the user has returned stays staged (rxHeld): the kloop then
// sleeps with guest kicks on, and the next slots returned deliver it.

import { Worker } from 'node:worker_threads';
import createDebug from 'debug';
import { NETMAP_MAX_FRAGS, NS_MOREFRAG } from '../netmap/constants.ts';
import type { NetmapPortLayout, NetmapRegion } from '../netmap/region.ts';
import { HostError } from './errors.ts';
import { type IdleFd, PollWindow } from './kloop-idle.ts';
import { TapBusyPoll } from './tap-busy-poll.ts';
import { KR, type Kring } from './kring.ts';
import { DROP, PC } from './port-layout.ts';
import {
  LaidOutPort,
  type NetmapPort,
  PortDatapath,
  type TapShared,
  makeMac,
  portWords,
  storeVnetHdrLen,
} from './port.ts';
import { RegionView, type RegionShared, type RingsShared, regionShared, ringsShared } from './region-view.ts';
import { smallRegion } from './pipe.ts';
import {
  FdPoll,
  KickFd,
  LinuxTap,
  TAP_ERRNO,
  TAP_IOV_MAX,
  TAP_POLL,
  UV_POLL,
  UvBeforePoll,
  UvPoll,
} from './tap/index.ts';
import { VNET_OFF_NUM_BUFFERS } from '../vnethdr/constants.ts';
import { ETH_HLEN } from '../wire/constants.ts';
import { setLe16 } from '../wire/index.ts';

export type { TapShared } from './port.ts';

/** The only vnet header length a TAP port has (virtio_net_hdr_v1: TUNSETVNETHDRSZ 12). */
export const TAP_VNET_HDR_LEN = 12;
/** Smallest read buffer that holds any frame the kernel hands over (gso_max_size 65 536 + headers). */
export const TAP_READ_MIN = 65_601;
/** Default slots per ring: room for ~30 maximal super-frames of 33 buffers of 2 KiB. */
export const TAP_DEFAULT_SLOTS = 1024;

/** Words after the krings: readiness handshake and TAP-specific counters (Int32, Atomics). */
export const TW = {
  /** Bits the readiness source watches: 1 = RX ran dry (wait for POLLIN), 2 = TX got EAGAIN. */
  WANT: 0,
  /** The readiness thread is told to leave (1) and says it has (STOPPED = 1). */
  STOP: 1,
  STOPPED: 2,
  /** The kernel refused a written header (EINVAL from tun_get_user / virtio_net_hdr_to_skb). */
  REJECTED: 3,
  /** A read filled the whole buffer: the frame may have been cut. */
  RX_TRUNCATED: 4,
  /** A frame needing more than NETMAP_MAX_FRAGS slots, or more than the ring holds. */
  RX_OVERSIZE: 5,
  /** A frame shorter than the vnet header plus an Ethernet header. */
  RX_RUNT: 6,
  /** Any other read/write errno. */
  IO_ERRORS: 7,
  /** Writes the kernel deferred with EAGAIN (back-pressure: retried, not lost). */
  TX_EAGAIN: 8,
  /** 1 while the kloop worker serving the port watches the fd itself (readiness 'worker'). */
  SELF: 9,
} as const;
export const TAP_WORDS = 16;
export const WANT_RX = 1;
export const WANT_TX = 2;

/** What one read from the fd gave (TapDatapath.rxVerdict): a frame, nothing to keep, or stop. */
const RX_FRAME = 0;
const RX_SKIP = 1;
const RX_STOP = 2;

/** TAP-specific counters (the generic DROP_REASONS count the same drops by class). */
export interface TapStats {
  rejected: number;
  rxTruncated: number;
  rxOversize: number;
  rxRunt: number;
  ioErrors: number;
  txEagain: number;
}

/** The datapath calls of LinuxTap (length or −errno, never throwing). */
export interface TapIo {
  recv(buf: Uint8Array, len: number): number;
  send(buf: Uint8Array, len: number): number;
  /** readv: one frame over mem[offs[i], offs[i] + segLen), i < cnt in turn. */
  recvScatter(mem: Uint8Array, offs: Int32Array, cnt: number, segLen: number): number;
  /** writev: mem[offs[i], offs[i] + lens[i]), i < cnt, as one frame. */
  sendGather(mem: Uint8Array, offs: Int32Array, lens: Int32Array, cnt: number): number;
}

/** The datapath of a TAP port in one thread: 1 TX ring (krings[0]) and 1 RX ring (krings[1]). */
export class TapDatapath extends PortDatapath {
  /** One frame read but not yet delivered (the RX ring had no room): its length, 0 if none. */
  private staged = 0;
  private stage: Uint8Array | null = null;
  /** stage cut in buffer-sized views, made once, so the scatter copy allocates nothing. */
  private stageViews: Uint8Array[] = [];
  /** Region offsets (and TX lengths) of the slot buffers a readv fills or a writev sends. */
  private readonly iovOffs = new Int32Array(TAP_IOV_MAX);
  private readonly iovLens = new Int32Array(TAP_IOV_MAX);
  /** One view per region buffer, made on first use (single-slot writes go out without a copy). */
  private readonly bufViews: (Uint8Array | undefined)[] = [];
  /** Readiness 'uv': tells this thread's event-loop watch that a want was armed. */
  onArm: (() => void) | null = null;

  constructor(
    region: RegionShared | RegionView,
    rings: RingsShared,
    state: SharedArrayBuffer,
    ctl: number,
    /** First word of the TW block in `state`. */
    readonly tapCtl: number,
    readonly io: TapIo,
    /** The descriptor, for a kloop worker that polls it itself (−1: not pollable here). */
    private readonly fd = -1,
    /** The eventfd that wakes such a worker from poll(2), or null. */
    private readonly kick: KickFd | null = null,
  ) {
    super(region, rings, state, ctl);
  }

  /** A kloop asleep in poll(2) on the descriptor: the eventfd wakes it. */
  protected override kickFd(): void {
    this.kick?.signal();
  }

  /** Readiness 'worker': the fd and the kick eventfd for the worker's idle path. */
  override idleFd(): IdleFd | null {
    if (Atomics.load(this.state, this.tapCtl + TW.SELF) === 0 || this.fd < 0 || this.kick === null)
      return null;
    return new TapIdleFd(this, new FdPoll(this.fd, this.kick));
  }

  /**
   * Doorbell bits for what `revents` shows of what was wanted (`want`, WANT_RX / WANT_TX), clearing
   * those wants: a ready fd is not looked at again until the datapath arms it again (it ran dry or
   * got EAGAIN), so a guest slow to return slots does not make the kloop spin on it.
   */
  readyBits(want: number, revents: number): number {
    let bits = 0;
    const w = this.tapCtl + TW.WANT;
    if ((want & WANT_RX) !== 0 && (revents & TAP_POLL.IN) !== 0) {
      Atomics.and(this.state, w, ~WANT_RX);
      bits |= 1 << this.numTx;
    }
    if ((want & WANT_TX) !== 0 && (revents & TAP_POLL.OUT) !== 0) {
      Atomics.and(this.state, w, ~WANT_TX);
      bits |= 1;
    }
    return bits;
  }

  /** What the datapath armed (WANT_RX / WANT_TX). */
  get want(): number {
    return Atomics.load(this.state, this.tapCtl + TW.WANT);
  }

  /**
   * TX: each packet [hwcur, rhead) — one slot, or a NS_MOREFRAG chain — is one write() (a writev
   * over the chain's buffers, as tap_receive_iov hands QEMU's iovec to the tap: no copy). A refused header is a counted drop; EAGAIN stops here with the packet kept
   * (hwcur stays on it) and arms the readiness source, which wakes this ring when the tap has room.
   */
  txsync(ring: number, _flags: number): void {
    const tx = this.krings[ring]!;
    const v = this.view;
    const bs = v.bufSize;
    const ofs = this.ringOfs[ring]!;
    const head = tx.rhead;
    let k = tx.hwcur;
    let pkts = 0;
    let bytes = 0;
    while (k !== head) {
      const first = k;
      let frags = 0;
      let total = 0;
      let bad = -1;
      let open = false;
      let out: Uint8Array | null = null;
      let chain = false;
      for (;;) {
        const s = v.slot(ofs, k);
        const len = v.len(s);
        const idx = v.bufIdx(s);
        const more = (v.flags(s) & NS_MOREFRAG) !== 0;
        frags++;
        k = tx.next(k);
        if (bad < 0) {
          if (!v.validBuf(idx)) bad = DROP.BAD_BUF_IDX;
          else if (len > bs) bad = DROP.BAD_LEN;
          else if (frags > NETMAP_MAX_FRAGS) bad = DROP.BAD_FRAGS;
          else if (frags === 1 && len < TAP_VNET_HDR_LEN) bad = DROP.BAD_VNET_HDR;
          else if (frags === 1 && !more) out = this.bufView(idx);
          else {
            this.iovOffs[frags - 1] = v.buf(idx);
            this.iovLens[frags - 1] = len;
            chain = true;
          }
        }
        total += len;
        if (!more) break;
        if (k === head) {
          open = true;
          break;
        }
      }
      if (open) {
        // A chain the user has not finished (netmap waits for the rest); a hostile one that never
        // ends is bounded by the ring: it stays here until head moves.
        k = first;
        break;
      }
      if (bad >= 0 || (out === null && !chain)) {
        this.drop(bad >= 0 ? bad : DROP.BAD_LEN);
        continue;
      }
      if (total < TAP_VNET_HDR_LEN + ETH_HLEN) {
        this.drop(DROP.RUNT);
        continue;
      }
      const r = chain
        ? this.io.sendGather(v.u8, this.iovOffs, this.iovLens, frags)
        : this.io.send(out!, total);
      if (r === -TAP_ERRNO.EAGAIN) {
        this.count(TW.TX_EAGAIN);
        this.arm(WANT_TX);
        k = first;
        break;
      }
      if (r < 0) {
        if (r === -TAP_ERRNO.EINVAL) {
          this.count(TW.REJECTED);
          this.drop(DROP.BAD_VNET_HDR);
        } else {
          // EIO (interface down), ENOMEM…: no generic reason fits, the TAP counter names it.
          this.count(TW.IO_ERRORS);
        }
        continue;
      }
      pkts++;
      bytes += total - TAP_VNET_HDR_LEN;
    }
    if (pkts !== 0) {
      Atomics.add(tx.state, tx.base + KR.PKTS, pkts);
      Atomics.add(tx.state, tx.base + KR.BYTES, bytes);
      this.reapAfterWrite();
    }
    tx.hwcur = k;
    tx.hwtail = tx.prev(k);
  }

  /**
   * After frames went out, a look at the tap before the readiness source would: an answer the
   * kernel makes in its own softirq (an ICMP echo reply, a TCP ACK or SYN-ACK of a local socket,
   * an ARP reply) is queued on the tap before write() returns, and waiting for epoll to say so
   * costs a loop turn and a task. Only while RX waits for a frame (WANT_RX armed): the RX ring is
   * woken as the readiness source would wake it; a read that finds nothing arms WANT_RX again.
   */
  private reapAfterWrite(): void {
    const w = this.tapCtl + TW.WANT;
    // The load spares the store while frames flow (RX not armed). The want is taken with the
    // value it had: a readiness thread that took it first has rung the ring already.
    if ((Atomics.load(this.state, w) & WANT_RX) === 0) return;
    if ((Atomics.and(this.state, w, ~WANT_RX) & WANT_RX) !== 0) this.wake(this.numTx);
  }

  /** RX: frames waiting in the tap go into the slots the user returned, then the common rxsync. */
  override rxsync(ring: number, flags: number): void {
    this.pull(ring);
    super.rxsync(ring, flags);
  }

  /** A frame is staged: the kloop must sleep with kicks on until the user returns slots. */
  override rxHeld(_ring: number): boolean {
    return this.staged !== 0;
  }

  /** Nothing to do: rxsync itself refills the returned slots from the tap. */
  protected rxReturned(_ring: number): void {}

  /**
   * Reads frames into RX ring `ring` from btail up to the slot before rhead (the user has given
   * back everything before rhead; rxsync will make it hwcur). Each frame, header included, lies
   * verbatim over ceil(len / bufSize) slots, NS_MOREFRAG on all but the last, and the fragment
   * count in the flags' high byte like VALE. While the ring has room for the largest frame, a
   * readv puts it straight into the slots' buffers (as tap_send's readv fills QEMU's iovec, no
   * copy); with less room a read goes to the stage, and a frame with no room yet stays there.
   */
  private pull(ring: number): void {
    const rx = this.krings[ring]!;
    const v = this.view;
    const u8 = v.u8;
    const bs = v.bufSize;
    const ofs = this.ringOfs[ring]!;
    let stage = this.stage;
    if (stage === null) {
      stage = this.stage = new Uint8Array(Math.ceil(TAP_READ_MIN / bs + 1) * bs);
      for (let o = 0; o < stage.length; o += bs) this.stageViews.push(stage.subarray(o, o + bs));
    }
    let pkts = 0;
    let bytes = 0;
    rx.lock();
    let j = rx.btail;
    const stop = rx.prev(rx.rhead);
    const want = this.tapCtl + TW.WANT;
    // Slots a readv offers: enough for the largest frame (the stage's size).
    const sc = stage.length / bs;
    const scatter = sc <= NETMAP_MAX_FRAGS && sc <= TAP_IOV_MAX && sc <= rx.lim ? sc : 0;
    for (;;) {
      let n = this.staged;
      if (n === 0) {
        // The tap was found empty and the readiness source watches it (it clears WANT_RX and
        // wakes this ring when a frame comes): another read would only return EAGAIN again.
        // Once per frame this spared two system calls, from the guest's syncs that return slots.
        if ((Atomics.load(this.state, want) & WANT_RX) !== 0) break;
        if (scatter !== 0 && rx.dist(j, stop) >= scatter && this.offer(ofs, j, scatter)) {
          n = this.io.recvScatter(u8, this.iovOffs, scatter, bs);
          const got = this.rxVerdict(n, scatter * bs);
          if (got === RX_STOP) break;
          if (got === RX_SKIP) continue;
          // The slots' buffers past n keep what they held, never counted in a len.
          j = this.place(rx, ofs, j, n);
          pkts++;
          bytes += n - TAP_VNET_HDR_LEN;
          continue;
        }
        n = this.io.recv(stage, stage.length);
        const got = this.rxVerdict(n, stage.length);
        if (got === RX_STOP) break;
        if (got === RX_SKIP) continue;
      }
      const nd = Math.ceil(n / bs);
      if (nd > NETMAP_MAX_FRAGS || nd > rx.lim) {
        this.staged = 0;
        this.count(TW.RX_OVERSIZE);
        this.drop(DROP.NO_SPACE);
        continue;
      }
      if (nd > rx.dist(j, stop)) {
        this.staged = n; // wait for the user to return slots (the next rxsync retries)
        break;
      }
      this.staged = 0;
      // The buffers come from slots the guest could have rewritten: check them all first.
      if (!this.offer(ofs, j, nd)) {
        this.drop(DROP.BAD_BUF_IDX);
        continue;
      }
      // Whole views (no per-packet subarray); a short last fragment carries stale stage bytes
      // past len, inside the slot's own buffer and never counted in len.
      for (let m = 0; m < nd; m++) u8.set(this.stageViews[m]!, this.iovOffs[m]!);
      j = this.place(rx, ofs, j, n);
      pkts++;
      bytes += n - TAP_VNET_HDR_LEN;
    }
    if (pkts !== 0) {
      rx.btail = j;
      Atomics.add(rx.state, rx.base + KR.PKTS, pkts);
      Atomics.add(rx.state, rx.base + KR.BYTES, bytes);
    }
    rx.unlock();
  }

  /** TAP counters (snapshot). */
  tapStats(): TapStats {
    const w = (i: number): number => Atomics.load(this.state, this.tapCtl + i);
    return {
      rejected: w(TW.REJECTED),
      rxTruncated: w(TW.RX_TRUNCATED),
      rxOversize: w(TW.RX_OVERSIZE),
      rxRunt: w(TW.RX_RUNT),
      ioErrors: w(TW.IO_ERRORS),
      txEagain: w(TW.TX_EAGAIN),
    };
  }

  /**
   * The region offsets of the buffers of `cnt` slots from `j` into iovOffs, or false if one of
   * them is not a valid buffer (the guest could have rewritten it: the stage path then drops).
   */
  private offer(ofs: number, j: number, cnt: number): boolean {
    const v = this.view;
    const lim = this.krings[this.numTx]!.lim;
    for (let m = 0, i = j; m < cnt; m++, i = i === lim ? 0 : i + 1) {
      const idx = v.bufIdx(v.slot(ofs, i));
      if (!v.validBuf(idx)) return false;
      this.iovOffs[m] = v.buf(idx);
    }
    return true;
  }

  /**
   * A frame of n bytes now in the buffers of the slots from j (their offsets in iovOffs, from
   * offer): num_buffers zeroed (tun_put_user writes the 10 legacy bytes only, so it is whatever
   * the buffer held), each slot's len, NS_MOREFRAG on all but the last and the fragment count in
   * the flags' high byte as VALE sets it. The slot after the last.
   */
  private place(rx: Kring, ofs: number, j: number, n: number): number {
    const v = this.view;
    const bs = v.bufSize;
    setLe16(v.u8, this.iovOffs[0]! + VNET_OFF_NUM_BUFFERS, 0);
    const nd = Math.ceil(n / bs);
    for (let m = 0; m < nd; m++) {
      const s = v.slot(ofs, j);
      const last = m === nd - 1;
      v.setLen(s, last ? n - m * bs : bs);
      v.setFlags(s, last ? nd << 8 : (nd << 8) | NS_MOREFRAG);
      j = rx.next(j);
    }
    return j;
  }

  private bufView(idx: number): Uint8Array {
    let b = this.bufViews[idx];
    if (b === undefined) {
      const o = this.view.buf(idx);
      b = this.bufViews[idx] = this.view.u8.subarray(o, o + this.view.bufSize);
    }
    return b;
  }

  private count(word: number): void {
    Atomics.add(this.state, this.tapCtl + word, 1);
  }

  /**
   * A read of n bytes (−errno on failure) into `room` bytes: a frame (RX_FRAME); a frame cut to
   * the room or shorter than a vnet header and an Ethernet header, dropped and counted (RX_SKIP);
   * or no more to read now, EAGAIN arming the watch (RX_STOP). tun_do_read truncates silently.
   */
  private rxVerdict(n: number, room: number): number {
    if (n < 0) {
      if (n === -TAP_ERRNO.EAGAIN) this.arm(WANT_RX);
      else this.count(TW.IO_ERRORS);
      return RX_STOP;
    }
    if (n >= room) {
      this.count(TW.RX_TRUNCATED);
      this.drop(DROP.NO_SPACE);
      return RX_SKIP;
    }
    if (n < TAP_VNET_HDR_LEN + ETH_HLEN) {
      this.count(TW.RX_RUNT);
      this.drop(DROP.RUNT);
      return RX_SKIP;
    }
    return RX_FRAME;
  }

  /** Asks the readiness source to watch for `bit` (WANT_RX / WANT_TX). */
  private arm(bit: number): void {
    const w = this.tapCtl + TW.WANT;
    if ((Atomics.or(this.state, w, bit) & bit) !== 0) return;
    Atomics.notify(this.state, w);
    this.onArm?.();
  }
}

/** poll(2) events for what the datapath armed. */
function pollEvents(want: number): number {
  return (want & WANT_RX ? TAP_POLL.IN : 0) | (want & WANT_TX ? TAP_POLL.OUT : 0);
}
/** UV_POLL events for what the datapath armed. */
function uvEvents(want: number): number {
  return (want & WANT_RX ? UV_POLL.READABLE : 0) | (want & WANT_TX ? UV_POLL.WRITABLE : 0);
}
/** poll(2) events for UV_POLL events. */
function pollEventsOf(events: number): number {
  return (events & UV_POLL.READABLE ? TAP_POLL.IN : 0) | (events & UV_POLL.WRITABLE ? TAP_POLL.OUT : 0);
}
const POLL_BAD = 0x8 | 0x10 | 0x20; // POLLERR | POLLHUP | POLLNVAL

/**
 * Readiness 'worker': the kloop worker's own watch on the descriptor (kloop-idle.ts IdleFd). A
 * look is poll(2) with a zero timeout; a sleep also wakes on the kick eventfd.
 */
class TapIdleFd implements IdleFd {
  timedOut = false;
  constructor(
    private readonly dp: TapDatapath,
    private readonly fds: FdPoll,
  ) {}

  probe(): number {
    const want = this.dp.want;
    if (want === 0) return 0;
    const ev = this.fds.poll(pollEvents(want), 0);
    return ev > 0 ? this.dp.readyBits(want, ev) : 0;
  }

  sleep(timeoutMs: number): number {
    const want = this.dp.want;
    const ev = this.fds.poll(pollEvents(want), timeoutMs);
    this.timedOut = ev < 0;
    if (ev <= 0) return 0;
    const bits = this.dp.readyBits(want, ev);
    if (bits === 0 && (ev & POLL_BAD) !== 0 && !this.fds.kicked) {
      // A detached tap reports POLLERR at once, over and over: sleep on the doorbell instead (a
      // kick still wakes it: SLEEPING is set, so wakers notify), then look again.
      const st = this.dp.state;
      const seq = this.dp.bell() + PC.SEQ;
      Atomics.wait(st, seq, Atomics.load(st, seq), WAITER_POLL_MS);
    }
    return bits;
  }
}

/** Rebuilds a TAP port's datapath in this thread (the fd is shared by the process's threads). */
export function openTapDatapath(s: TapShared): TapDatapath {
  return new TapDatapath(
    new RegionView(s.region),
    s.rings,
    s.state,
    s.ctl,
    s.tapCtl,
    LinuxTap.fromFd(s.tap),
    s.tap.fd,
    s.kickFd >= 0 ? KickFd.fromFd(s.kickFd) : null,
  );
}

/**
 * Readiness source: 'auto' (default) lets the kloop that serves the port choose (a worker polls
 * the fd itself; an inline kloop in the main thread gets the event-loop watch, elsewhere the
 * readiness thread); 'thread' and 'timer' force one.
 */
export type TapWake = 'auto' | 'thread' | 'timer';

/** What serves the port's readiness now. */
export type TapReadiness = 'none' | 'thread' | 'timer' | 'worker' | 'uv';

export interface TapPortOptions {
  /** Region for the rings; a private one with 4096 buffers of 2 KiB if absent. */
  region?: NetmapRegion;
  /** Slots per ring (2..4096), default TAP_DEFAULT_SLOTS. */
  slots?: number;
  /**
   * Buffers chained on ni_bufs_head for the guest driver's packet pool (0..65536), default
   * TAP_DEFAULT_EXTRA_BUFS with a private region, 0 with a given one. With none the driver copies
   * every frame between its mbufs and the slots instead of swapping buffers.
   */
  extraBufs?: number;
  /** Readiness source (see the top of this file). Default 'auto'. */
  wake?: TapWake;
  /**
   * Readiness 'uv' only: the longest the main thread busy-polls the fd after the RX ring ran dry,
   * before it sleeps in epoll, µs (adaptive below it, tap-busy-poll.ts); 0 never. Default
   * TAP_BUSY_POLL_US.
   */
  busyPollUs?: number;
  mac?: Uint8Array;
}

/**
 * Extra buffers of a TAP port with a private region: the guest driver's packet pool, as a VALE
 * port's (VALE_DEFAULT_EXTRA_BUFS). Without them the driver copied each received frame out of
 * its slots and each sent one into them: the kernel → unikernel stream spent a quarter of its
 * time in that copy (`node --cpu-prof`, bench/e2e-tap.ts --app).
 */
export const TAP_DEFAULT_EXTRA_BUFS = 2048;

/**
 * Default longest busy poll of an inline port's fd (TapPortOptions.busyPollUs), µs: off. On the
 * 2-core VM it was measured on, a poll takes the CPU the Linux peer needs to answer (a sink's
 * ACKs): the unikernel's TCP_STREAM into the kernel fell, and no other measure moved beyond the
 * noise (bench/tap-latency.ts --busy-poll). 50 is the guest poller's window (POLL_MAX_US).
 */
export const TAP_BUSY_POLL_US = 0;

/** Longest the readiness thread sleeps in poll(2) before looking at STOP again. */
const WAITER_POLL_MS = 50;
const TIMER_MS = 1;

const log = createDebug('ptnet:host');

/** A TAP interface as a NetmapPort: one TX and one RX ring, vnet header length 12. */
export class TapPort extends LaidOutPort implements NetmapPort {
  readonly datapath: TapDatapath;
  private readonly base: { region: RegionShared; rings: RingsShared; state: SharedArrayBuffer };
  private waiter: Worker | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private closed = false;
  private exited: Promise<void> = Promise.resolve();
  /** The eventfd guest kicks write while a worker sleeps in poll(2) on the fd ('auto' only). */
  private readonly kick: KickFd | null;
  private serving: TapReadiness = 'none';
  /** Readiness 'uv': the fd watched by this thread's event loop, and the doorbell bits it owes. */
  private uv: UvPoll | null = null;
  private uvBits = 0;
  /** Readiness 'uv': busy polls after the RX ring ran dry (null: busyPollUs 0), run from a hook before the loop sleeps. */
  private busy: TapBusyPoll | null = null;
  private beforeSleep: UvBeforePoll | null = null;

  constructor(
    readonly name: string,
    readonly region: NetmapRegion,
    readonly layout: NetmapPortLayout,
    readonly tap: LinuxTap,
    readonly mac: Uint8Array,
    private readonly wake: TapWake,
    private readonly busyPollUs: number = TAP_BUSY_POLL_US,
  ) {
    super();
    const rs = regionShared(region);
    const rings = ringsShared(layout);
    const state = new SharedArrayBuffer((portWords(2) + TAP_WORDS) * 4);
    this.base = { region: rs, rings, state };
    this.kick = wake === 'auto' ? KickFd.create() : null;
    const dp = new TapDatapath(rs, rings, state, 0, portWords(2), tap, tap.fd, this.kick);
    for (const kr of dp.krings) kr.reset();
    storeVnetHdrLen(dp.state, 0, TAP_VNET_HDR_LEN, region.bufSize);
    Atomics.store(dp.state, PC.ACTIVE, 1);
    // Nothing read yet: the first frame must wake whoever serves the port.
    Atomics.store(dp.state, dp.tapCtl + TW.WANT, WANT_RX);
    this.datapath = dp;
    if (log.enabled) log('%s: TAP open (fd %d, %d slots, readiness %s)', name, tap.fd, layout.txSlots, wake);
    if (wake === 'thread') this.startWaiter();
    else if (wake === 'timer') this.tick();
  }

  /** What watches the fd now: 'none' until a kloop starts on an 'auto' port. */
  get readiness(): TapReadiness {
    return this.serving;
  }

  /**
   * 'auto': a worker kloop watches the fd itself (TW.SELF, read by TapDatapath.idleFd in the
   * worker); an inline kloop gets the readiness thread, which then stays until close().
   */
  kloopStarting(mode: 'inline' | 'worker'): void {
    if (this.wake !== 'auto' || this.closed) return;
    const worker = mode === 'worker';
    Atomics.store(this.datapath.state, this.datapath.tapCtl + TW.SELF, worker ? 1 : 0);
    if (worker) {
      this.serving = 'worker';
      // The worker watches the fd itself; the event loop's watch would only race it.
      this.datapath.onArm = null;
      this.uv?.want(0);
      this.beforeSleep?.disarm();
    } else if (this.waiter === null) {
      if (UvPoll.available()) this.startUv();
      else this.startWaiter();
    }
  }

  /** The tap was opened with a 12-byte header; NETMAP_REQ_PORT_HDR_SET to anything else fails. */
  setVnetHdrLen(n: number): boolean {
    return n === TAP_VNET_HDR_LEN;
  }
  shared(): TapShared {
    return {
      kind: 'tap',
      ...this.base,
      ctl: 0,
      tapCtl: this.datapath.tapCtl,
      tap: this.tap.shared(),
      kickFd: this.kick?.fd ?? -1,
    };
  }
  tapStats(): TapStats {
    return this.datapath.tapStats();
  }

  /**
   * Stops the readiness source and closes the tap (carrier goes off); resolves once the readiness
   * thread has exited. The closing itself is done when close() returns, so a caller that does not
   * await (a signal handler) loses nothing. Stop any kloop serving the port first: its thread
   * uses the same descriptor. Idempotent.
   */
  close(): Promise<void> {
    if (this.closed) return this.exited;
    this.closed = true;
    const st = this.datapath.state;
    const t = this.datapath.tapCtl;
    if (this.timer !== null) clearTimeout(this.timer);
    // Before the fd closes: epoll must not watch a descriptor number that may be reused.
    this.datapath.onArm = null;
    this.uv?.close();
    this.uv = null;
    this.beforeSleep?.close();
    this.beforeSleep = null;
    if (this.waiter !== null) {
      Atomics.store(st, t + TW.STOP, 1);
      Atomics.notify(st, t + TW.WANT);
      // Bounded by the waiter's poll timeout; the fd must not be closed (and reused) under it.
      const deadline = Date.now() + 10 * WAITER_POLL_MS;
      while (Atomics.load(st, t + TW.STOPPED) === 0 && Date.now() < deadline)
        Atomics.wait(st, t + TW.STOPPED, 0, WAITER_POLL_MS);
      this.exited = this.waiter.terminate().then(() => undefined);
      this.waiter = null;
    }
    Atomics.store(st, PC.ACTIVE, 0);
    Atomics.store(st, t + TW.SELF, 0);
    this.serving = 'none';
    this.tap.close();
    this.kick?.close();
    this.region.deletePort(this.layout);
    if (log.enabled) log('%s: TAP close', this.name);
    return this.exited;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /**
   * Readiness 'uv': the main thread's event loop watches the fd (epoll, where it sleeps anyway)
   * for what the datapath armed; a ready fd rings the port's doorbell in a task of its own.
   */
  private startUv(): void {
    const dp = this.datapath;
    if (this.uv === null) {
      this.uv = UvPoll.open(this.tap.fd, (events) => {
        const want = dp.want;
        const bits = dp.readyBits(want, pollEventsOf(events));
        if ((bits & (1 << dp.numTx)) !== 0) this.busy?.woke();
        // Level-triggered: an event nothing waits for (the ring has not run dry: frames still
        // wait, the RX ring is full) fires again at every loop turn. Only then does the watch
        // drop it, until the datapath arms it again.
        const idle = events & ~uvEvents(want);
        if (idle !== 0) this.uv?.want(this.uv.watching & ~idle);
        if (bits === 0) return;
        // Outside any Node callback scope, microtasks would not run: the wake-up goes in a task.
        if (this.uvBits === 0) setImmediate(this.uvRing);
        this.uvBits |= bits;
      });
    }
    if (this.busyPollUs > 0 && this.busy === null) {
      const tap = this.tap;
      this.busy = new TapBusyPoll(
        new PollWindow(this.busyPollUs),
        () => (tap.poll(TAP_POLL.IN, 0) & TAP_POLL.IN) !== 0,
        () => performance.now() * 1000,
      );
      this.beforeSleep = UvBeforePoll.open(this.spin);
    }
    dp.onArm = this.uvWatch;
    this.serving = 'uv';
    this.uvWatch();
  }

  /**
   * Busy polls (readiness 'uv'): windows that found a frame, ran out, were preempted, and gaps in a
   * window that were interrupts, not preemptions (run-wait.ts).
   */
  get busyPollStats(): { hits: number; misses: number; preempted: number; interrupted: number } {
    const b = this.busy;
    return {
      hits: b?.hits ?? 0,
      misses: b?.misses ?? 0,
      preempted: b?.preemptions ?? 0,
      interrupted: b?.interrupted ?? 0,
    };
  }

  /**
   * Adds what the datapath has armed now to the watch, never removes: while frames flow the fd
   * stays in epoll's set, and a frame costs no epoll_ctl (the interrupt stays unmasked while a
   * NIC's traffic flows, and masked only while NAPI polls; here nothing needs masking, since the
   * watch wakes only this thread's loop).
   */
  private readonly uvWatch = (): void => {
    const uv = this.uv;
    if (uv === null) return;
    const add = uvEvents(this.datapath.want);
    if ((add & ~uv.watching) !== 0) uv.want(uv.watching | add);
  };

  /** epoll_ctl calls the event loop's watch has cost so far (readiness 'uv'; 0 otherwise). */
  get watchChanges(): number {
    return this.uv?.changes ?? 0;
  }

  private readonly uvRing = (): void => {
    const bits = this.uvBits;
    this.uvBits = 0;
    if (this.closed) return;
    const dp = this.datapath;
    if ((bits & (1 << dp.numTx)) !== 0) {
      dp.wake(dp.numTx);
      this.queueSpin();
    }
    if ((bits & 1) !== 0) dp.wake(0);
  };

  /**
   * A busy poll when the loop next goes to sleep: after this task's microtasks (the guest's NAPI
   * turn, the stack, the reply's write) and whatever else was pending, so that the window covers
   * the wait for the next frame only and never delays work (Linux busy-polls only a socket that
   * would block).
   */
  private queueSpin(): void {
    this.beforeSleep?.arm();
  }

  /**
   * Before the loop polls: if it is about to sleep and the RX ring is dry (WANT_RX armed: the
   * guest has room), busy-poll the fd, for no longer than the loop's next timer. A frame found
   * leaves the fd readable: the poll that follows returns at once and the watch serves it.
   */
  private readonly spin = (timeoutMs: number): void => {
    if (timeoutMs === 0) return; // work pending: the loop will not sleep this turn
    this.beforeSleep?.disarm();
    const dp = this.datapath;
    if (this.closed || this.serving !== 'uv' || (dp.want & WANT_RX) === 0) return;
    this.busy?.spin(timeoutMs < 0 ? Infinity : timeoutMs * 1000);
  };

  private startWaiter(): void {
    const dp = this.datapath;
    this.serving = 'thread';
    this.waiter = new Worker(new URL('./tap-port-waiter.mjs', import.meta.url), {
      workerData: {
        state: this.base.state,
        fd: this.tap.fd,
        want: dp.tapCtl + TW.WANT,
        stop: dp.tapCtl + TW.STOP,
        stopped: dp.tapCtl + TW.STOPPED,
        pending: PC.PENDING,
        seq: PC.SEQ,
        sleeping: PC.SLEEPING,
        rxBit: 1 << dp.numTx,
        txBit: 1,
        pollMs: WAITER_POLL_MS,
      },
    });
    // The port must not keep the process alive by itself.
    this.waiter.unref();
  }

  /** 'timer' readiness: look at the fd every millisecond while something is armed. */
  private readonly tick = (): void => {
    if (this.closed) return;
    this.serving = 'timer';
    const dp = this.datapath;
    const w = dp.tapCtl + TW.WANT;
    const want = Atomics.load(dp.state, w);
    if (want !== 0) {
      const ev = this.tap.poll((want & WANT_RX ? TAP_POLL.IN : 0) | (want & WANT_TX ? TAP_POLL.OUT : 0), 0);
      if ((want & WANT_RX) !== 0 && (ev & TAP_POLL.IN) !== 0) {
        Atomics.and(dp.state, w, ~WANT_RX);
        dp.wake(dp.numTx);
      }
      if ((want & WANT_TX) !== 0 && (ev & TAP_POLL.OUT) !== 0) {
        Atomics.and(dp.state, w, ~WANT_TX);
        dp.wake(0);
      }
    }
    this.timer = setTimeout(this.tick, TIMER_MS);
    this.timer.unref();
  };
}

/**
 * Attaches a netmap port to the existing TAP interface `name` (in this network namespace). Throws
 * TapError (TUN_UNAVAILABLE, NO_SUCH_INTERFACE, NOT_A_TAP, …) when it cannot be opened.
 */
export function openTapPort(name: string, opts: TapPortOptions = {}): TapPort {
  const slots = opts.slots ?? TAP_DEFAULT_SLOTS;
  if (!Number.isInteger(slots) || slots < 2 || slots > 4096)
    throw new HostError('HOST_ARG', 'tap port slots must be 2..4096');
  const busyPollUs = opts.busyPollUs ?? TAP_BUSY_POLL_US;
  // A poll blocks the event loop for its window: a second at most.
  if (!Number.isInteger(busyPollUs) || busyPollUs < 0 || busyPollUs > 1_000_000)
    throw new HostError('HOST_ARG', 'tap port busyPollUs must be an integer in 0..1000000');
  const extraBufs = opts.extraBufs ?? (opts.region === undefined ? TAP_DEFAULT_EXTRA_BUFS : 0);
  if (!Number.isInteger(extraBufs) || extraBufs < 0 || extraBufs > 65536)
    throw new HostError('HOST_ARG', 'tap port extraBufs must be an integer in 0..65536');
  const region = opts.region ?? smallRegion(Math.max(4096, 2 * slots + extraBufs + 64));
  const tap = LinuxTap.open(name, { vnetHdrLen: TAP_VNET_HDR_LEN, nonBlocking: true });
  try {
    const layout = region.createPort({
      name,
      txRings: 1,
      rxRings: 1,
      txSlots: slots,
      rxSlots: slots,
      extraBufs,
    });
    return new TapPort(name, region, layout, tap, opts.mac ?? makeMac(), opts.wake ?? 'auto', busyPollUs);
  } catch (e) {
    tap.close();
    throw e;
  }
}
