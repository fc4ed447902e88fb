// The guest driver's private ring state (the netmap_kring of a ptnet ring in the guest): the
// shared ring view, the CSB entries and kick register of ring i, and the indices the driver
// trusts (rhead/rcur/rtail, hwcur/hwtail). Host-written indices are checked before use.

import type { CsbAtok, CsbKtoa, HwIndices, NetmapRingView } from '../netmap/index.ts';
import { nmSyncKloopApplRead } from '../netmap/index.ts';

export interface GuestKringCounters {
  /** hwcur/hwtail published by the host outside [0, N): ignored. */
  badHostIndex: number;
  /** Application head/cur rejected by the prologue (ring reinitialised). */
  ringReinit: number;
  /** Kick register writes. */
  kicks: number;
  /** MSI-X interrupts taken. */
  interrupts: number;
}

export class GuestKring implements HwIndices {
  /** Ring index in the ptnet numbering: TX 0..T−1, RX T..T+R−1 (CSB entry, kick, vector). */
  readonly id: number;
  readonly tx: boolean;
  readonly numSlots: number;
  readonly lim: number;
  rhead = 0;
  rcur = 0;
  rtail = 0;
  hwcur = 0;
  hwtail = 0;
  /** NKR_PENDINTR / NKR_NOINTR. */
  flags = 0;
  readonly counters: GuestKringCounters = { badHostIndex: 0, ringReinit: 0, kicks: 0, interrupts: 0 };
  /** Scratch for appl_read, checked before it is copied into hwcur/hwtail. */
  private readonly seen: HwIndices = { hwcur: 0, hwtail: 0 };

  constructor(
    id: number,
    tx: boolean,
    readonly ring: NetmapRingView,
    readonly atok: CsbAtok,
    readonly ktoa: CsbKtoa,
    /** BAR0 offset of this ring's kick register. */
    readonly kickOffset: number,
  ) {
    this.id = id;
    this.tx = tx;
    this.numSlots = ring.numSlots;
    this.lim = ring.numSlots - 1;
  }

  /** nm_sync_kloop_appl_read into hwtail/hwcur, refusing values that are not ring indices. */
  applRead(): void {
    nmSyncKloopApplRead(this.ktoa, this.seen);
    const n = this.numSlots;
    if (this.seen.hwtail >= n || this.seen.hwcur >= n) {
      this.counters.badHostIndex++;
      return;
    }
    this.hwtail = this.seen.hwtail;
    this.hwcur = this.seen.hwcur;
  }

  /** ktoa.hwcur alone (txsync step 2), checked. */
  readHwcur(): void {
    const c = this.ktoa.hwcur;
    if (c >= this.numSlots) this.counters.badHostIndex++;
    else this.hwcur = c;
  }

  /**
   * nm_kr_wouldblock.
   * @mirrors netmap_kern.h:nm_kr_wouldblock
   */
  wouldBlock(): boolean {
    return this.rcur === this.hwtail;
  }
}
