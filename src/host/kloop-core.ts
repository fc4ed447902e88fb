// The per-ring procedures of the host sync kloop (netmap_kloop.c netmap_sync_kloop_tx_ring /
// netmap_sync_kloop_rx_ring), over the CSB entries of docs/SPEC.md §2.4 with the publication order of §3.1.
// Mode-agnostic: the inline kloop calls them from a kick, the worker from its event loop.

import { NAF_FORCE_RECLAIM } from '../netmap/constants.ts';
import {
  type ApplIndices,
  CsbAtok,
  CsbKtoa,
  syncKloopKernelRead,
  syncKloopKernelWrite,
} from '../netmap/csb.ts';
import { NM_CSB_ATOK_SIZE, NM_CSB_KTOA_SIZE } from '../netmap/layout.ts';
import createDebug from 'debug';
import { HostError } from './errors.ts';
import type { PortDatapath } from './port.ts';

/** Where the CSB arrays are: guest memory, GH (atok) and HG (ktoa) arrays, 64-byte entries. */
export interface CsbWindow {
  csb: SharedArrayBuffer;
  ghOffset: number;
  hgOffset: number;
}

const log = createDebug('ptnet:host');

/** SYNC_LOOP_RX_DRY_CYCLES_MAX. */
export const RX_DRY_CYCLES_MAX = 2;

export class KloopCore {
  readonly atok: CsbAtok[] = [];
  readonly ktoa: CsbKtoa[] = [];
  private readonly shadow: ApplIndices = { head: 0, cur: 0, syncFlags: 0 };
  /** Times a ring procedure ran (for tests and stats). */
  runs = 0;

  constructor(
    readonly dp: PortDatapath,
    w: CsbWindow,
    /** Raises the guest interrupt of ring i (MSI-X vector i). */
    private readonly irq: (ring: number) => void,
    /**
     * Passes in a row that receive nothing before an RX procedure returns. A worker waits
     * RX_DRY_CYCLES_MAX of them for the guest, which runs in another thread, to return slots. An
     * inline procedure runs in the guest's own thread, which cannot consume in between: a second
     * dry pass there is the first one again, so it stops after one (the backend's wake-up brings
     * anything that arrives later, as it does for a worker asleep).
     */
    private readonly dryCycles: number = RX_DRY_CYCLES_MAX,
  ) {
    const rings = dp.numTx + dp.numRx;
    for (const [off, size] of [
      [w.ghOffset, NM_CSB_ATOK_SIZE],
      [w.hgOffset, NM_CSB_KTOA_SIZE],
    ] as const) {
      if (off >>> 0 !== off || off % size !== 0 || off + rings * size > w.csb.byteLength) {
        throw new HostError(
          'HOST_CSB',
          `CSB array at ${off} (${rings} entries) unaligned or outside ${w.csb.byteLength} bytes`,
          off,
        );
      }
    }
    for (let i = 0; i < rings; i++) {
      this.atok.push(new CsbAtok(w.csb, w.ghOffset + i * NM_CSB_ATOK_SIZE));
      this.ktoa.push(new CsbKtoa(w.csb, w.hgOffset + i * NM_CSB_KTOA_SIZE));
    }
  }

  /**
   * netmap_csb_validate: CSB mode starts from the krings. ktoa gets hwcur/hwtail and
   * kern_need_kick = 1; atok gets head/cur = rhead/rcur, appl_need_kick = 1, sync_flags = 1.
   * @mirrors netmap.c:netmap_csb_validate
   */
  validate(): void {
    for (let i = 0; i < this.atok.length; i++) {
      const kr = this.dp.krings[i]!;
      const a = this.atok[i]!;
      const k = this.ktoa[i]!;
      k.kernNeedKick = 0;
      syncKloopKernelWrite(k, kr.hwcur, kr.hwtail);
      k.kernNeedKick = 1;
      a.cur = kr.rcur;
      a.head = kr.rhead;
      a.applNeedKick = 1;
      a.syncFlags = 1;
    }
  }

  /** Runs ring i's procedure (TX for i < T, RX otherwise). */
  run(i: number): void {
    if (i < this.dp.numTx) this.txRing(i);
    else this.rxRing(i);
  }

  /**
   * netmap_sync_kloop_tx_ring.
   * @mirrors netmap_kloop.c:netmap_sync_kloop_tx_ring
   */
  txRing(i: number): void {
    const kr = this.dp.krings[i]!;
    const atok = this.atok[i]!;
    const ktoa = this.ktoa[i]!;
    const sh = this.shadow;
    const half = kr.numSlots >>> 1;
    let moreSpace = false;
    this.runs++;
    ktoa.kernNeedKick = 0;
    syncKloopKernelRead(atok, sh);
    for (;;) {
      let flags = sh.syncFlags;
      // The kring words are this thread's own (Kring.ownHwcur): plain reads.
      if (kr.dist(kr.ownHwcur, kr.ownHwtail) <= half) flags |= NAF_FORCE_RECLAIM;
      // What the prologue makes rhead.
      const rhead = sh.head;
      if (!kr.prologue(rhead, sh.cur)) {
        // Hostile or stale indices: the kring was reinitialised; wait for the next kick.
        if (log.enabled)
          log('ring %d: txsync prologue refused head %d cur %d: ring reinit', i, sh.head, sh.cur);
        this.dp.reinitSlots(i);
        ktoa.kernNeedKick = 1;
        break;
      }
      this.dp.txsync(i, flags);
      const hwtail = kr.ownHwtail;
      syncKloopKernelWrite(ktoa, kr.ownHwcur, hwtail);
      if (kr.ownRtail !== hwtail) {
        kr.rtail = hwtail;
        moreSpace = true;
      }
      if (moreSpace && atok.applNeedKick !== 0) {
        this.irq(i);
        moreSpace = false;
      }
      // Only head decides whether to go round again; the pass that does reads head, cur and
      // sync_flags afresh (sync_kloop_kernel_read) below, so a pass that ends loads head alone
      // (once, or twice around kern_need_kick) where it loaded all three. Any head read is at
      // least as new as the one before, and cur is still loaded after the head it goes with.
      // No new packets since this pass (netmap compares with hwcur; a backend that cannot take
      // everything, like a full pipe, would then spin: it wakes us when it has room instead).
      if (atok.head === rhead) {
        ktoa.kernNeedKick = 1;
        // Atomics are sequentially consistent: this store/load pair is nm_stld_barrier's.
        if (atok.head === rhead) break;
        ktoa.kernNeedKick = 0;
      } else if (rhead === hwtail) {
        break; // nm_kr_txempty: the backend wakes us on completion
      }
      syncKloopKernelRead(atok, sh);
    }
    if (moreSpace && atok.applNeedKick !== 0) this.irq(i);
  }

  /**
   * netmap_sync_kloop_rx_ring.
   * @mirrors netmap_kloop.c:netmap_sync_kloop_rx_ring
   */
  rxRing(i: number): void {
    const kr = this.dp.krings[i]!;
    const atok = this.atok[i]!;
    const ktoa = this.ktoa[i]!;
    const sh = this.shadow;
    let received = false;
    let dry = 0;
    this.runs++;
    ktoa.kernNeedKick = 0;
    syncKloopKernelRead(atok, sh);
    for (;;) {
      if (!kr.prologue(sh.head, sh.cur)) {
        if (log.enabled)
          log('ring %d: rxsync prologue refused head %d cur %d: ring reinit', i, sh.head, sh.cur);
        this.dp.reinitSlots(i);
        ktoa.kernNeedKick = 1;
        break;
      }
      const rhead = sh.head;
      this.dp.rxsync(i, sh.syncFlags);
      // hwtail once after the backend's sync: only this loop writes it (senders move btail), so
      // it and hwcur, rtail are plain reads (Kring.ownHwcur).
      const hwtail = kr.ownHwtail;
      syncKloopKernelWrite(ktoa, kr.ownHwcur, hwtail);
      if (kr.ownRtail !== hwtail) {
        kr.rtail = hwtail;
        received = true;
        dry = 0;
      } else {
        dry++;
      }
      if (received && atok.applNeedKick !== 0) {
        this.irq(i);
        received = false;
      }
      // As in txRing: head alone decides; a pass that goes round reloads all three below.
      let head = atok.head;
      // sync_kloop_norxslots: the guest has not returned a slot to fill; sleep until it kicks.
      // A backend holding a packet back for want of room (rxHeld) sleeps the same way, until the
      // guest returns more slots.
      const held = this.dp.rxHeld(i);
      if (held || hwtail === kr.prev(head)) {
        ktoa.kernNeedKick = 1;
        head = atok.head;
        if (held ? head === rhead : hwtail === kr.prev(head)) break;
        ktoa.kernNeedKick = 0;
      } else if (hwtail === rhead || dry >= this.dryCycles) {
        // Nothing more from the backend (it wakes us when it delivers), or enough dry passes.
        // A sender in another context measures its room from hwcur, which only this loop moves:
        // with less than half the ring free, the guest is asked to kick when it returns slots,
        // or a burst meets a stale hwcur and VALE drops it (NO_SPACE) though the guest has
        // emptied the ring. netmap asks only when no slot is free (sync_kloop_norxslots). A
        // backend that holds back instead (a pipe, a TAP port) is woken by the returns anyway.
        if (!this.dp.rxDropsWhenFull || kr.dist(hwtail, kr.prev(head)) >= kr.numSlots >>> 1) break;
        ktoa.kernNeedKick = 1;
        // The same store/load pair as above: slots returned meanwhile are taken now.
        if (atok.head === head) break;
        ktoa.kernNeedKick = 0;
      }
      syncKloopKernelRead(atok, sh);
    }
    if (received && atok.applNeedKick !== 0) this.irq(i);
  }
}
