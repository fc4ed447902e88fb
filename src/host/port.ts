// What every host port shares: a control block and krings in a SharedArrayBuffer (so the same
// port can be driven from the guest's thread or from a kloop worker), drop counters by reason,
// the wake-up path toward whichever kloop serves the port, and the common RX sync.

import type { NetmapPortLayout, NetmapRegion } from '../netmap/region.ts';
import { DROP_REASONS, type DropReason } from './errors.ts';
import { impairRx, holdRemaining, type ImpairClock } from './impair.ts';
import { KR, KRING_WORDS, Kring } from './kring.ts';
import { type IdleFd, SLEEPING_FD, SLEEPING_NO } from './kloop-idle.ts';
import { IMP, PC, PC_WORDS } from './port-layout.ts';
import { RegionView, type RegionShared, type RingsShared } from './region-view.ts';
import type { TapFdShared } from './tap/index.ts';
import type { GsoScratchShared } from './vale-gso-scratch.ts';

/** NM_BDG_MFS_DEFAULT. */
export const MFS_DEFAULT = 1514;
/** Valid virtio-net header lengths (NETMAP_REQ_PORT_HDR_SET). */
export function validVnetHdrLen(n: number): boolean {
  return n === 0 || n === 10 || n === 12;
}

/** Words a port with `rings` krings needs in its state buffer. */
export function portWords(rings: number): number {
  return PC_WORDS + rings * KRING_WORDS;
}

/** The shared part every port descriptor carries. */
export interface PortSharedBase {
  region: RegionShared;
  rings: RingsShared;
  state: SharedArrayBuffer;
  /** First Int32 word of this port's control block in `state`. */
  ctl: number;
}

/**
 * The datapath of one port in one thread: txsync/rxsync over krings (ring numbering: 0..T−1 TX,
 * T..T+R−1 RX, as the CSB and the kick registers). Subclasses implement the backend.
 */
export abstract class PortDatapath {
  readonly view: RegionView;
  readonly state: Int32Array;
  readonly krings: Kring[] = [];
  readonly numTx: number;
  readonly numRx: number;
  /** Ring offsets by global ring number. */
  readonly ringOfs: number[];
  /** Set by an inline kloop running in this thread: backend wake-ups go to it directly. */
  localWake: ((ring: number) => void) | null = null;
  /** Clock for impairment delays (ms); replaceable by tests. */
  clock: ImpairClock = Date.now;

  constructor(
    region: RegionShared | RegionView,
    readonly rings: RingsShared,
    state: SharedArrayBuffer,
    readonly ctl: number,
  ) {
    this.view = region instanceof RegionView ? region : new RegionView(region);
    this.state = new Int32Array(state);
    this.numTx = rings.txRingOfs.length;
    this.numRx = rings.rxRingOfs.length;
    this.ringOfs = [...rings.txRingOfs, ...rings.rxRingOfs];
    for (let i = 0; i < this.numTx + this.numRx; i++) {
      const tx = i < this.numTx;
      this.krings.push(
        new Kring(this.state, ctl + PC_WORDS + i * KRING_WORDS, tx ? rings.txSlots : rings.rxSlots, tx),
      );
    }
  }

  /** The backend's txsync for TX ring `ring` (rhead/rcur already validated). */
  abstract txsync(ring: number, flags: number): void;

  /** Called by rxsync with the RX kring lock held, after the user returned slots. */
  protected abstract rxReturned(ring: number): void;

  get vnetHdrLen(): number {
    return Atomics.load(this.state, this.ctl + PC.VNET_HDR_LEN);
  }
  get mfs(): number {
    return Atomics.load(this.state, this.ctl + PC.MFS);
  }

  /**
   * Common rxsync: hwcur = rhead (slots returned by the user), then publish what backends
   * appended (or, when impaired, what the impairment lets through). Mirrors netmap_vp_rxsync /
   * netmap_pipe_rxsync, which differ only in what returning slots means for the peer.
   * @mirrors netmap_bdg.c:netmap_vp_rxsync
   * @mirrors netmap_pipe.c:netmap_pipe_rxsync
   */
  rxsync(ring: number, _flags: number): void {
    const kr = this.krings[ring]!;
    kr.lock();
    // hwcur, rhead and hwtail are this thread's own words (Kring.ownHwcur); btail is the senders'.
    // Unchanged words are not stored again: the senders read hwcur under the lock, which orders
    // everything this sync did before they look.
    const rhead = kr.ownRhead;
    const returned = kr.ownHwcur !== rhead;
    if (returned) kr.hwcur = rhead;
    if (Atomics.load(this.state, this.ctl + PC.IMP + IMP.ENABLED) !== 0) {
      impairRx(this, ring, kr);
    } else {
      const btail = kr.btail;
      if (kr.ownHwtail !== btail) kr.hwtail = btail;
    }
    if (returned) this.rxReturned(ring);
    kr.unlock();
  }

  /**
   * The slot half of netmap_ring_reinit, after a refused prologue: a slot with a reserved or
   * out-of-range buffer index gets index 0 and length 0, a length beyond the buffer gets 0.
   * @mirrors netmap.c:netmap_ring_reinit
   */
  reinitSlots(ring: number): void {
    const v = this.view;
    const ofs = this.ringOfs[ring]!;
    const kr = this.krings[ring]!;
    // RX slots are also written by senders in other threads.
    if (!kr.tx) kr.lock();
    for (let i = 0; i < kr.numSlots; i++) {
      const s = v.slot(ofs, i);
      if (!v.validBuf(v.bufIdx(s))) {
        v.setBufIdx(s, 0);
        v.setLen(s, 0);
      } else if (v.len(s) > v.bufSize) {
        v.setLen(s, 0);
      }
    }
    if (!kr.tx) kr.unlock();
  }

  /** Wakes the kloop serving this port for `ring` (backend progress: packets or completions). */
  wake(ring: number): void {
    if (this.localWake !== null) {
      this.localWake(ring);
      return;
    }
    this.doorbell(1 << ring);
  }

  /**
   * Rings the doorbell of a kloop in another thread (or of an inline kloop's watcher): ring bits
   * into PENDING (none for a bare wake-up, as stop() sends), SEQ moved, and the sleeper woken
   * only if it announced a sleep — with Atomics.notify, and through the kick eventfd when it
   * sleeps in poll(2) (SLEEPING_FD: a worker watching its TAP descriptor).
   */
  doorbell(bits: number): void {
    const st = this.state;
    if (bits !== 0) Atomics.or(st, this.ctl + PC.PENDING, bits);
    const bell = this.bell();
    // A thread serving several ports finds the bits by looking at each port's PENDING.
    if (bell !== this.ctl) Atomics.store(st, bell + PC.PENDING, 1);
    Atomics.add(st, bell + PC.SEQ, 1);
    const s = Atomics.load(st, bell + PC.SLEEPING);
    if (s === SLEEPING_NO) return;
    Atomics.notify(st, bell + PC.SEQ);
    if (s === SLEEPING_FD) this.kickFd();
  }

  /** First word of the doorbell block wakers ring for this port (PC.BELL). */
  bell(): number {
    const b = Atomics.load(this.state, this.ctl + PC.BELL);
    return b === 0 ? this.ctl : b - 1;
  }

  /** Wakes a kloop asleep in poll(2) on this port's descriptor (ports that have one). */
  protected kickFd(): void {}

  /**
   * What a kloop worker serving this port watches itself while idle besides its doorbell, built
   * in the worker's thread: null for ports whose backends ring the doorbell (pipe, VALE).
   */
  idleFd(): IdleFd | null {
    return null;
  }

  /** Counts one dropped packet. */
  drop(reason: number): void {
    Atomics.add(this.state, this.ctl + PC.DROPS + reason, 1);
  }

  /** Counts `n` dropped packets at once (a batch's drops, added after its loop). */
  dropN(reason: number, n: number): void {
    Atomics.add(this.state, this.ctl + PC.DROPS + reason, n);
  }

  /** One drop counter (reason index from DROP), without allocating. */
  dropped(reason: number): number {
    return Atomics.load(this.state, this.ctl + PC.DROPS + reason);
  }

  /** Drop counters by reason (snapshot). */
  drops(): Record<DropReason, number> {
    const out = {} as Record<DropReason, number>;
    DROP_REASONS.forEach((r, i) => (out[r] = Atomics.load(this.state, this.ctl + PC.DROPS + i)));
    return out;
  }

  /** Packets delivered on RX rings / taken from TX rings, summed over rings. */
  packets(dir: 'tx' | 'rx'): number {
    let n = 0;
    const [a, b] = dir === 'tx' ? [0, this.numTx] : [this.numTx, this.numTx + this.numRx];
    for (let i = a; i < b; i++) n += Atomics.load(this.state, this.krings[i]!.base + KR.PKTS);
    return n;
  }

  /**
   * True while the backend holds a packet for RX ring `ring` that needs more free slots than the
   * user has returned (the TAP port's staged super-frame). The kloop then sleeps with kicks on.
   */
  rxHeld(_ring: number): boolean {
    return false;
  }

  /**
   * Senders into this port's RX rings drop what finds no room (VALE) instead of holding it back
   * (a pipe, a TAP port): the guest's returned slots must reach hwcur before the next burst does
   * (KloopCore.rxRing asks for kicks sooner).
   */
  get rxDropsWhenFull(): boolean {
    return false;
  }

  /** Milliseconds until an impairment-delayed packet of RX ring `ring` is due, or −1 if none. */
  holdRemaining(ring: number): number {
    const kr = this.krings[ring]!;
    return kr.tx ? -1 : holdRemaining(this.state, kr, this.clock);
  }
}

/** The public face of a port, as the device model and applications see it. */
export interface NetmapPort {
  readonly name: string;
  readonly region: NetmapRegion;
  /** Region offset of the port's netmap_if (ptnet NIFP_OFS). */
  readonly nifpOffset: number;
  readonly numTxRings: number;
  readonly numRxRings: number;
  readonly numTxSlots: number;
  readonly numRxSlots: number;
  readonly mac: Uint8Array;
  /** Host allocator id (ptnet HOSTMEMID = memdev MEMID). */
  readonly memId: number;
  readonly vnetHdrLen: number;
  /** NETMAP_REQ_PORT_HDR_SET: accepts 0, 10 or 12 and nothing else. */
  setVnetHdrLen(n: number): boolean;
  /** This thread's datapath. */
  readonly datapath: PortDatapath;
  /** What a worker needs to rebuild the datapath (see openDatapath). */
  shared(): PortShared;
  /**
   * A sync kloop is about to serve the port in `mode` (SyncKloop.start calls it before anything
   * runs). A port whose backend is a descriptor picks its readiness source here.
   */
  kloopStarting?(mode: 'inline' | 'worker'): void;
}

/**
 * The NetmapPort fields every port derives from its ring layout, its region and its datapath
 * (pipe ends, VALE ports and TAP ports share them; each adds its name, MAC and HDR_SET rule).
 */
export abstract class LaidOutPort {
  abstract readonly region: NetmapRegion;
  abstract readonly layout: NetmapPortLayout;
  abstract readonly datapath: PortDatapath;

  get nifpOffset(): number {
    return this.layout.nifpOfs;
  }
  get numTxRings(): number {
    return this.layout.txRings;
  }
  get numRxRings(): number {
    return this.layout.rxRings;
  }
  get numTxSlots(): number {
    return this.layout.txSlots;
  }
  get numRxSlots(): number {
    return this.layout.rxSlots;
  }
  get memId(): number {
    return this.region.memId;
  }
  get vnetHdrLen(): number {
    return this.datapath.vnetHdrLen;
  }
}

export interface PipeShared extends PortSharedBase {
  kind: 'pipe';
  /** The other end. */
  peer: PortSharedBase;
}

export interface ValeShared {
  kind: 'vale';
  region: RegionShared;
  switchState: SharedArrayBuffer;
  maxPorts: number;
  maxRings: number;
  port: number;
  /** Segmentation scratch after the region, when the switch made the region (vale-gso-scratch.ts). */
  gsoScratch?: GsoScratchShared;
}

/** A TAP port (tap-port.ts): its own words start at `tapCtl`; the fd is valid in every thread. */
export interface TapShared extends PortSharedBase {
  kind: 'tap';
  tapCtl: number;
  tap: TapFdShared;
  /** The eventfd that wakes a worker asleep in poll(2) on the fd (readiness 'worker'), or −1. */
  kickFd: number;
}

export type PortShared = PipeShared | ValeShared | TapShared;

let macCounter = 0;
/** A locally administered unicast MAC (02:…), distinct per port created in this process. */
export function makeMac(): Uint8Array {
  const n = ++macCounter;
  return new Uint8Array([0x02, 0x70, 0x74, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);
}

/**
 * Sets the vnet header length (and the mfs that follows from it) in a control block.
 * @mirrors netmap.c:netmap_ioctl
 */
export function storeVnetHdrLen(state: Int32Array, ctl: number, n: number, bufSize: number): boolean {
  if (!validVnetHdrLen(n)) return false;
  Atomics.store(state, ctl + PC.VNET_HDR_LEN, n);
  Atomics.store(state, ctl + PC.MFS, n === 0 ? MFS_DEFAULT : bufSize);
  return true;
}
