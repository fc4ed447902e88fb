// The netmap core's checks on the indices the other side of a ring publishes, shared by the guest
// driver (the application's head/cur on the shared ring) and the host krings (the guest's head/cur
// read from the CSB): docs/SPEC.md §1.6. Pure predicates over numbers; the callers read their
// words (plain fields in the guest, Atomics loads on the host) and apply the result.
import { nmInRange } from './ring-index.ts';

/**
 * nm_txsync_prologue: the kernel indices must be < n, the new head in [rhead, rtail] and cur in
 * [head, rtail] (circularly). False for anything else: the caller reinitialises the ring.
 * @mirrors netmap.c:nm_txsync_prologue
 */
export function txsyncPrologueOk(
  n: number,
  hwcur: number,
  hwtail: number,
  rhead: number,
  rtail: number,
  head: number,
  cur: number,
): boolean {
  if (!(hwcur >>> 0 < n && hwtail >>> 0 < n && rhead >>> 0 < n && rtail >>> 0 < n)) return false;
  if (!(head >>> 0 < n && cur >>> 0 < n)) return false;
  return nmInRange(rhead, head, rtail) && nmInRange(head, cur, rtail);
}

/**
 * nm_rxsync_prologue: head in [hwcur, hwtail], cur in [head, hwtail].
 * @mirrors netmap.c:nm_rxsync_prologue
 */
export function rxsyncPrologueOk(
  n: number,
  hwcur: number,
  hwtail: number,
  head: number,
  cur: number,
): boolean {
  if (!(hwcur >>> 0 < n && hwtail >>> 0 < n && head >>> 0 < n && cur >>> 0 < n)) return false;
  return nmInRange(hwcur, head, hwtail) && nmInRange(head, cur, hwtail);
}
