// Guest-side ring synchronisation over the CSB (docs/SPEC.md §3.2–§3.4): netmap_pt_guest_txsync /
// netmap_pt_guest_rxsync of netmap_kloop.c, the prologue checks the guest netmap core runs on the
// shared ring before them (nm_txsync_prologue / nm_rxsync_prologue, netmap.c), and
// ptnet_ring_update, the drivers' fast path. None of these throw; bad indices are counted.

import {
  NAF_FORCE_RECLAIM,
  NKR_NOINTR,
  NKR_PENDINTR,
  nmSyncKloopApplWrite,
  rxsyncPrologueOk,
  txsyncPrologueOk,
} from '../netmap/index.ts';
import type { GuestKring } from './kring.ts';

/**
 * netmap_pt_guest_txsync: publish rhead/rcur, decide whether the host needs a kick, refresh
 * hwtail when short of space, and arm the interrupt only if still blocked. Returns "kick".
 * @mirrors netmap_kloop.c:netmap_pt_guest_txsync
 */
export function ptGuestTxsync(kr: GuestKring, flags: number): boolean {
  const atok = kr.atok;
  // We are active: no interrupts needed while we run.
  atok.applNeedKick = 0;
  kr.readHwcur();
  nmSyncKloopApplWrite(atok, kr.rcur, kr.rhead);
  let notify = false;
  // Kick if there is new work (or we are out of space) and the host sleeps; always on reclaim.
  if (
    ((kr.rhead !== kr.hwcur || kr.wouldBlock()) && kr.ktoa.kernNeedKick !== 0) ||
    (flags & NAF_FORCE_RECLAIM) !== 0
  ) {
    atok.syncFlags = flags;
    notify = true;
  }
  if (kr.wouldBlock() || (flags & NAF_FORCE_RECLAIM) !== 0) kr.applRead();
  // Enable the interrupt, then re-check (Atomics are sequentially consistent: nm_stld_barrier).
  if (kr.wouldBlock() && (kr.flags & NKR_NOINTR) === 0) {
    atok.applNeedKick = 1;
    kr.applRead();
    if (!kr.wouldBlock()) atok.applNeedKick = 0;
  }
  return notify;
}

/**
 * netmap_pt_guest_rxsync: read what the host published, give back released slots, arm the
 * interrupt if nothing is left to read, and only then decide the kick. Returns "kick".
 * @mirrors netmap_kloop.c:netmap_pt_guest_rxsync
 */
export function ptGuestRxsync(kr: GuestKring, flags: number): boolean {
  const atok = kr.atok;
  atok.applNeedKick = 0;
  kr.applRead();
  kr.flags &= ~NKR_PENDINTR;
  if (kr.rhead !== kr.hwcur) nmSyncKloopApplWrite(atok, kr.rcur, kr.rhead);
  if (kr.wouldBlock() && (kr.flags & NKR_NOINTR) === 0) {
    atok.applNeedKick = 1;
    kr.applRead();
    if (!kr.wouldBlock()) atok.applNeedKick = 0;
  }
  if ((kr.rhead !== kr.hwcur || kr.wouldBlock()) && kr.ktoa.kernNeedKick !== 0) {
    atok.syncFlags = flags;
    return true;
  }
  return false;
}

/**
 * nm_txsync_prologue on the shared ring (src/netmap/prologue.ts's check, as the host krings run
 * it); then rhead/rcur take head/cur and a tail the application overwrote is restored. False =
 * reinit needed.
 */
export function txsyncPrologue(kr: GuestKring): boolean {
  const ring = kr.ring;
  const head = ring.head;
  const cur = ring.cur;
  if (!txsyncPrologueOk(kr.numSlots, kr.hwcur, kr.hwtail, kr.rhead, kr.rtail, head, cur)) return false;
  if (ring.tail !== kr.rtail) ring.tail = kr.rtail;
  kr.rhead = head;
  kr.rcur = cur;
  return true;
}

/** nm_rxsync_prologue on the shared ring, then as txsyncPrologue. */
export function rxsyncPrologue(kr: GuestKring): boolean {
  const ring = kr.ring;
  const head = ring.head;
  const cur = ring.cur;
  if (!rxsyncPrologueOk(kr.numSlots, kr.hwcur, kr.hwtail, head, cur)) return false;
  if (ring.tail !== kr.rtail) ring.tail = kr.rtail;
  kr.rhead = head;
  kr.rcur = cur;
  return true;
}

/**
 * netmap_ring_reinit: slots with a reserved or out-of-pool buffer get buffer 0 and length 0,
 * oversized lengths become 0, and head/cur/tail go back to the kring's values.
 * @mirrors netmap.c:netmap_ring_reinit
 */
export function ringReinit(kr: GuestKring): void {
  const ring = kr.ring;
  kr.counters.ringReinit++;
  for (let i = 0; i < kr.numSlots; i++) {
    const idx = ring.slotBufIdx(i);
    if (idx < 2 || idx >= ring.bufCount) {
      ring.setSlotBufIdx(i, 0);
      ring.setSlotLen(i, 0);
    } else if (ring.slotLen(i) > ring.bufSize) {
      ring.setSlotLen(i, 0);
    }
  }
  ring.head = kr.rhead;
  ring.cur = kr.rcur;
  ring.tail = kr.rtail;
}

/**
 * nm_sync_finalize: the user sees the host's hwtail as the ring tail.
 * @mirrors netmap.c:nm_sync_finalize
 */
export function syncFinalize(kr: GuestKring): void {
  kr.rtail = kr.hwtail;
  kr.ring.tail = kr.hwtail;
}
