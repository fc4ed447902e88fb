// Ring index arithmetic of netmap_user.h / netmap_kern.h (docs/SPEC.md §1.6). Indices live in [0, n);
// `lim` is n − 1 as in the kernel's nm_next/nm_prev. Nothing here validates: callers check
// indices coming from the other side with nmInRange / `< n` first.

/**
 * nm_ring_next: i + 1, wrapping to 0 at n.
 * @mirrors netmap_user.h:nm_ring_next
 */
export function nmRingNext(i: number, n: number): number {
  return i + 1 === n ? 0 : i + 1;
}

/**
 * nm_next(i, lim): the kernel form of nmRingNext.
 * @mirrors netmap_kern.h:nm_next
 */
export function nmNext(i: number, lim: number): number {
  return i === lim ? 0 : i + 1;
}

/**
 * nm_prev(i, lim): i − 1, wrapping 0 to lim.
 * @mirrors netmap_kern.h:nm_prev
 */
export function nmPrev(i: number, lim: number): number {
  return i === 0 ? lim : i - 1;
}

/**
 * nm_ring_space: slots the user owns, (tail − head) mod n.
 * @mirrors netmap_user.h:nm_ring_space
 */
export function nmRingSpace(head: number, tail: number, n: number): number {
  const d = tail - head;
  return d < 0 ? d + n : d;
}

/**
 * nm_ring_empty: the user owns no slot.
 * @mirrors netmap_user.h:nm_ring_empty
 */
export function nmRingEmpty(head: number, tail: number): boolean {
  return head === tail;
}

/**
 * nm_tx_pending: some TX slot is still owned by the kernel (next(tail) != head).
 * @mirrors netmap_user.h:nm_tx_pending
 */
export function nmTxPending(head: number, tail: number, n: number): boolean {
  return nmRingNext(tail, n) !== head;
}

/**
 * nm_kr_txspace / nm_kr_rxspace: (hwtail − hwcur) mod n.
 * @mirrors netmap_kern.h:nm_kr_txspace
 * @mirrors netmap_kern.h:nm_kr_rxspace
 */
export function nmKrSpace(hwcur: number, hwtail: number, n: number): number {
  const d = hwtail - hwcur;
  return d < 0 ? d + n : d;
}

/**
 * nm_kr_txempty: no TX space left for the user (rhead == hwtail).
 * @mirrors netmap_kern.h:nm_kr_txempty
 */
export function nmKrTxEmpty(rhead: number, hwtail: number): boolean {
  return rhead === hwtail;
}

/**
 * nm_kr_wouldblock: the user's cur reached hwtail, so a sync may block (rcur == hwtail).
 * @mirrors netmap_kern.h:nm_kr_wouldblock
 */
export function nmKrWouldBlock(rcur: number, hwtail: number): boolean {
  return rcur === hwtail;
}

/**
 * x lies in the circular closed range [lo, hi] (the comparisons of nm_txsync_prologue /
 * nm_rxsync_prologue). All three must already be < n.
 */
export function nmInRange(lo: number, x: number, hi: number): boolean {
  return lo <= hi ? x >= lo && x <= hi : x >= lo || x <= hi;
}
