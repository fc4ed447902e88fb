// Host-side kernel rings (netmap_kern.h `struct netmap_kring`): the host's private copy of the
// indices of one ring and the docs/SPEC.md §1.6 prologue checks that stand between guest-written
// head/cur and any use of them as an index. The state lives in a SharedArrayBuffer (Int32 words,
// Atomics) so that a VALE sender running in another thread can fill an RX kring under its lock.

import { rxsyncPrologueOk, txsyncPrologueOk } from '../netmap/prologue.ts';
import { nmKrSpace, nmNext, nmPrev } from '../netmap/ring-index.ts';

/** Int32 words per kring (64 bytes: one cache line, like the CSB entries). */
export const KRING_WORDS = 16;

/** Word offsets inside one kring block. */
export const KR = {
  /** nr_hwcur: first slot not yet consumed by the host (TX: next to send; RX: first not returned). */
  HWCUR: 0,
  /** nr_hwtail: first slot not yet available to the user. */
  HWTAIL: 1,
  /** rhead / rcur / rtail: last validated user values. */
  RHEAD: 2,
  RCUR: 3,
  RTAIL: 4,
  /** Per-kring lock (VALE's q_lock / the RX kring lock taken by senders), 0 free, 1 held. */
  LOCK: 5,
  /** netmap_ring_reinit count: hostile or stale head/cur seen by a prologue. */
  REINITS: 6,
  /** RX only: where the backend appends next (VALE's nkr_hwlease); hwtail trails it while impaired. */
  BTAIL: 7,
  /** Packets and bytes moved through this kring (RX: delivered; TX: taken from the ring). */
  PKTS: 8,
  BYTES: 9,
  /** Impairment: seeded PRNG state and the end of the already-judged RX range. */
  IMP_RNG: 10,
  IMP_JUDGED: 11,
  /** Impairment delay: 1 + the slot where publication stops, 0 if nothing is held; due time. */
  IMP_HOLD: 12,
  IMP_UNTIL: 13,
} as const;

/** One kring: a typed view on its block of the port state. All index words go through Atomics. */
export class Kring {
  readonly lim: number;
  constructor(
    readonly state: Int32Array,
    /** First word of this kring's block. */
    readonly base: number,
    readonly numSlots: number,
    readonly tx: boolean,
  ) {
    this.lim = numSlots - 1;
  }

  get hwcur(): number {
    return Atomics.load(this.state, this.base + KR.HWCUR);
  }
  set hwcur(v: number) {
    Atomics.store(this.state, this.base + KR.HWCUR, v);
  }
  get hwtail(): number {
    return Atomics.load(this.state, this.base + KR.HWTAIL);
  }
  set hwtail(v: number) {
    Atomics.store(this.state, this.base + KR.HWTAIL, v);
  }
  get rhead(): number {
    return Atomics.load(this.state, this.base + KR.RHEAD);
  }
  get rcur(): number {
    return Atomics.load(this.state, this.base + KR.RCUR);
  }
  get rtail(): number {
    return Atomics.load(this.state, this.base + KR.RTAIL);
  }
  set rtail(v: number) {
    Atomics.store(this.state, this.base + KR.RTAIL, v);
  }
  get btail(): number {
    return Atomics.load(this.state, this.base + KR.BTAIL);
  }
  set btail(v: number) {
    Atomics.store(this.state, this.base + KR.BTAIL, v);
  }
  get reinits(): number {
    return Atomics.load(this.state, this.base + KR.REINITS);
  }

  // The owner's reads. hwcur, hwtail, rhead, rcur and rtail are written only by the thread that
  // runs this port's ring procedures (its kloop: txsync, rxsync, the prologue, reinit), and before
  // that by the thread that reset the kring, which the owner synchronised with when it started
  // (new Worker, or the STOPPED word an earlier owner stored). A thread's plain read sees its own
  // last store, so the owner reads these words without Atomics, as netmap's kloop reads its kring
  // fields as plain memory; every store stays Atomics.store, because senders (hwcur of an RX
  // kring, under its lock), the pipe peer (rhead, hwcur of a TX kring) and the guest thread
  // (stats, tests) read them from elsewhere. docs/SPEC.md §3.1 is about the CSB and the ring,
  // whose words both sides write; these are host-private.
  get ownHwcur(): number {
    return this.state[this.base + KR.HWCUR]!;
  }
  get ownHwtail(): number {
    return this.state[this.base + KR.HWTAIL]!;
  }
  get ownRhead(): number {
    return this.state[this.base + KR.RHEAD]!;
  }
  get ownRtail(): number {
    return this.state[this.base + KR.RTAIL]!;
  }

  /** nm_next. */
  next(i: number): number {
    return nmNext(i, this.lim);
  }
  /** nm_prev. */
  prev(i: number): number {
    return nmPrev(i, this.lim);
  }
  /** (b − a) mod N (nm_kr_txspace's arithmetic). */
  dist(a: number, b: number): number {
    return nmKrSpace(a, b, this.numSlots);
  }

  /** Initial state of an attached ring: TX all free (tail = N−1), RX empty. */
  reset(): void {
    const s = this.state;
    const b = this.base;
    const tail = this.tx ? this.lim : 0;
    Atomics.store(s, b + KR.HWCUR, 0);
    Atomics.store(s, b + KR.HWTAIL, tail);
    Atomics.store(s, b + KR.RHEAD, 0);
    Atomics.store(s, b + KR.RCUR, 0);
    Atomics.store(s, b + KR.RTAIL, tail);
    Atomics.store(s, b + KR.BTAIL, 0);
    Atomics.store(s, b + KR.IMP_JUDGED, 0);
    Atomics.store(s, b + KR.IMP_HOLD, 0);
  }

  /**
   * Validates a head/cur pair read from the guest (txsync or rxsync prologue) and, if valid, makes
   * it the new rhead/rcur. On failure the kring is reinitialised and false returned: the caller
   * skips the sync, as netmap does after netmap_ring_reinit().
   */
  prologue(head: number, cur: number): boolean {
    const s = this.state;
    const b = this.base;
    const n = this.numSlots;
    // The owner's words, read plainly (see ownHwcur); a store is skipped when the word already
    // holds the value: its readers (see ownHwcur) learn nothing from it, and the data they act on
    // is published by the CSB and kring-lock operations around it.
    const hwcur = s[b + KR.HWCUR]!;
    const hwtail = s[b + KR.HWTAIL]!;
    const rhead = s[b + KR.RHEAD]!;
    const ok = this.tx
      ? txsyncPrologueOk(n, hwcur, hwtail, rhead, s[b + KR.RTAIL]!, head, cur)
      : rxsyncPrologueOk(n, hwcur, hwtail, head, cur);
    if (!ok) {
      this.reinit();
      return false;
    }
    if (rhead !== head) Atomics.store(s, b + KR.RHEAD, head);
    if (s[b + KR.RCUR] !== cur) Atomics.store(s, b + KR.RCUR, cur);
    if (!this.tx && s[b + KR.RTAIL] !== hwtail) Atomics.store(s, b + KR.RTAIL, hwtail);
    return true;
  }

  /**
   * netmap_ring_reinit for the shadow state: forget the user's head/cur and go back to what the
   * host last published (rhead = rcur = hwcur, rtail = hwtail). Counted; the guest sees the same
   * hwcur/hwtail as before and must resynchronise.
   * @mirrors netmap.c:netmap_ring_reinit
   */
  reinit(): void {
    const s = this.state;
    const b = this.base;
    const hwcur = Atomics.load(s, b + KR.HWCUR);
    Atomics.store(s, b + KR.RHEAD, hwcur);
    Atomics.store(s, b + KR.RCUR, hwcur);
    Atomics.store(s, b + KR.RTAIL, Atomics.load(s, b + KR.HWTAIL));
    Atomics.add(s, b + KR.REINITS, 1);
  }

  /**
   * Per-ring lock (VALE's q_lock), held only around slot reservation and publication. Futex-style:
   * 1 = held, 2 = held with waiters, so an uncontended unlock never calls notify.
   */
  lock(): void {
    const s = this.state;
    const w = this.base + KR.LOCK;
    if (Atomics.compareExchange(s, w, 0, 1) === 0) return;
    while (Atomics.exchange(s, w, 2) !== 0) Atomics.wait(s, w, 2, 1);
  }
  unlock(): void {
    if (Atomics.exchange(this.state, this.base + KR.LOCK, 0) === 2)
      Atomics.notify(this.state, this.base + KR.LOCK, 1);
  }
}
