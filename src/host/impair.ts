// Impairment of a port's RX path (for the stack's tests): drop, corrupt, duplicate, reorder or
// delay a seeded fraction of the packets the backend delivers. It works in place on the RX ring's
// host-owned slots [hwtail, btail), under the RX kring lock, before they are published, so it
// serves every port type in any thread: packets move by swapping slot entries (zero copy), and
// only duplicates copy bytes. The PRNG state is per ring in shared memory: one seed gives one
// outcome for a given arrival order.

import { NS_MOREFRAG } from '../netmap/constants.ts';
import { KR, type Kring } from './kring.ts';
import { DROP, IMP, PC } from './port-layout.ts';
import type { RegionView } from './region-view.ts';

/** What impairment reads and writes of a port's datapath (port.ts's PortDatapath is one). */
export interface ImpairedDatapath {
  readonly view: RegionView;
  readonly state: Int32Array;
  readonly krings: readonly Kring[];
  readonly numTx: number;
  readonly numRx: number;
  readonly ringOfs: readonly number[];
  readonly ctl: number;
  readonly vnetHdrLen: number;
  clock: ImpairClock;
  drop(reason: number): void;
}

/** Milliseconds, monotonic enough for delays (Date.now by default). */
export type ImpairClock = () => number;

export interface ImpairConfig {
  /** PRNG seed (any integer; 0 is mapped to a fixed nonzero value). */
  seed: number;
  /**
   * Fractions in [0, 1] of packets to drop, corrupt (one bit), duplicate, swap with the next,
   * delay. Reorder swaps with a packet already queued behind, so its outcome (unlike the others)
   * also depends on how arrivals were batched.
   */
  drop?: number;
  corrupt?: number;
  duplicate?: number;
  reorder?: number;
  delay?: number;
  /** How long a delayed packet (and, FIFO, those behind it) is held. Default 10 ms. */
  delayMs?: number;
}

const PPM = 1_000_000;

function ppm(f: number | undefined): number {
  if (f === undefined || !(f > 0)) return 0;
  return f >= 1 ? PPM : Math.round(f * PPM);
}

/** xorshift32 step on the ring's shared PRNG word; returns a value in [0, 2^32). */
function nextRand(st: Int32Array, w: number): number {
  let x = Atomics.load(st, w);
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  Atomics.store(st, w, x);
  return x >>> 0;
}

function hit(st: Int32Array, w: number, p: number): boolean {
  return p > 0 && nextRand(st, w) % PPM < p;
}

/**
 * Enables (or with null disables) impairment on every RX ring of a port. Each ring's PRNG starts
 * from the seed mixed with the ring number; pending packets are judged from the next rxsync on.
 */
export function configureImpairment(
  target: ImpairedDatapath | { readonly datapath: ImpairedDatapath },
  cfg: ImpairConfig | null,
): void {
  const dp = 'datapath' in target ? target.datapath : target;
  const st = dp.state;
  const c = dp.ctl + PC.IMP;
  Atomics.store(st, c + IMP.ENABLED, 0);
  for (let r = dp.numTx; r < dp.numTx + dp.numRx; r++) {
    const kr = dp.krings[r]!;
    kr.lock();
    Atomics.store(st, kr.base + KR.IMP_HOLD, 0);
    Atomics.store(st, kr.base + KR.IMP_JUDGED, kr.hwtail);
    const seed = ((cfg?.seed ?? 0) ^ Math.imul(r + 1, 0x9e3779b9)) | 0;
    Atomics.store(st, kr.base + KR.IMP_RNG, seed === 0 ? 0x6d2b79f5 : seed);
    kr.unlock();
  }
  if (cfg === null) return;
  Atomics.store(st, c + IMP.DROP, ppm(cfg.drop));
  Atomics.store(st, c + IMP.CORRUPT, ppm(cfg.corrupt));
  Atomics.store(st, c + IMP.DUPLICATE, ppm(cfg.duplicate));
  Atomics.store(st, c + IMP.REORDER, ppm(cfg.reorder));
  Atomics.store(st, c + IMP.DELAY, ppm(cfg.delay));
  Atomics.store(st, c + IMP.DELAY_MS, Math.max(0, Math.round(cfg.delayMs ?? 10)));
  Atomics.store(st, c + IMP.ENABLED, 1);
}

/** Milliseconds until the held packet of an RX kring is due (0 if overdue), −1 if none is held. */
export function holdRemaining(st: Int32Array, kr: Kring, clock: ImpairClock): number {
  if (Atomics.load(st, kr.base + KR.IMP_HOLD) === 0) return -1;
  const left = (Atomics.load(st, kr.base + KR.IMP_UNTIL) - (clock() | 0)) | 0;
  return left > 0 ? left : 0;
}

/** Swaps two slot entries (buf_idx, len, flags): moves packets without copying them. */
function swapSlots(dp: ImpairedDatapath, ringOfs: number, a: number, b: number): void {
  const v = dp.view;
  const sa = v.slot(ringOfs, a);
  const sb = v.slot(ringOfs, b);
  const idx = v.bufIdx(sa);
  const len = v.len(sa);
  const fl = v.flags(sa);
  v.setBufIdx(sa, v.bufIdx(sb));
  v.setLen(sa, v.len(sb));
  v.setFlags(sa, v.flags(sb));
  v.setBufIdx(sb, idx);
  v.setLen(sb, len);
  v.setFlags(sb, fl);
}

/** Reverses the circular slot range of `len` slots starting at `a`. */
function reverse(dp: ImpairedDatapath, ringOfs: number, kr: Kring, a: number, len: number): void {
  const n = kr.numSlots;
  let i = a;
  let j = (a + len - 1) % n;
  for (let m = len >> 1; m > 0; m--) {
    swapSlots(dp, ringOfs, i, j);
    i = kr.next(i);
    j = kr.prev(j);
  }
}

/** Rotates the circular range of `len` slots at `a` left by `k` (three reversals). */
function rotateLeft(
  dp: ImpairedDatapath,
  ringOfs: number,
  kr: Kring,
  a: number,
  len: number,
  k: number,
): void {
  if (k === 0 || k === len) return;
  reverse(dp, ringOfs, kr, a, k);
  reverse(dp, ringOfs, kr, (a + k) % kr.numSlots, len - k);
  reverse(dp, ringOfs, kr, a, len);
}

/** Slots of the packet starting at p, bounded by `end` (0 if the chain is cut there). */
function chainLen(dp: ImpairedDatapath, ringOfs: number, kr: Kring, p: number, end: number): number {
  let k = 1;
  for (let i = p; i !== end; i = kr.next(i), k++) {
    if ((dp.view.flags(dp.view.slot(ringOfs, i)) & NS_MOREFRAG) === 0) return k;
  }
  return 0;
}

/**
 * Judges the packets delivered since the last call and publishes hwtail. Called by rxsync with
 * the RX kring lock held. Never throws; a malformed chain (cut by btail) is left unjudged.
 */
export function impairRx(dp: ImpairedDatapath, ring: number, kr: Kring): void {
  const st = dp.state;
  const b = kr.base;
  const c = dp.ctl + PC.IMP;
  const rng = b + KR.IMP_RNG;
  const ringOfs = dp.ringOfs[ring]!;
  const v = dp.view;
  const pDrop = Atomics.load(st, c + IMP.DROP);
  const pCorrupt = Atomics.load(st, c + IMP.CORRUPT);
  const pDup = Atomics.load(st, c + IMP.DUPLICATE);
  const pReorder = Atomics.load(st, c + IMP.REORDER);
  const pDelay = Atomics.load(st, c + IMP.DELAY);
  const hdr = dp.vnetHdrLen;
  let btail = kr.btail;
  let p = Atomics.load(st, b + KR.IMP_JUDGED);
  while (p !== btail) {
    const k = chainLen(dp, ringOfs, kr, p, btail);
    if (k === 0) break;
    const rest = kr.dist(p, btail);
    if (hit(st, rng, pDrop)) {
      rotateLeft(dp, ringOfs, kr, p, rest, k);
      btail = (btail - k + kr.numSlots) % kr.numSlots;
      dp.drop(DROP.IMPAIRED);
      continue;
    }
    let next = (p + k) % kr.numSlots;
    if (hit(st, rng, pCorrupt)) {
      const s = v.slot(ringOfs, p);
      const len = v.len(s);
      const idx = v.bufIdx(s);
      if (len > hdr && v.validBuf(idx) && len <= v.bufSize) {
        const r = nextRand(st, rng);
        v.u8[v.buf(idx) + hdr + (r % (len - hdr))]! ^= 1 << (r >>> 29);
      }
    }
    if (hit(st, rng, pDup) && kr.dist(btail, kr.prev(kr.hwcur)) >= k) {
      let ok = true;
      for (let m = 0, i = p, j = btail; m < k; m++, i = kr.next(i), j = kr.next(j)) {
        const si = v.slot(ringOfs, i);
        const sj = v.slot(ringOfs, j);
        const bi = v.bufIdx(si);
        const bj = v.bufIdx(sj);
        const len = v.len(si);
        if (!v.validBuf(bi) || !v.validBuf(bj) || len > v.bufSize) {
          ok = false;
          break;
        }
        v.u8.copyWithin(v.buf(bj), v.buf(bi), v.buf(bi) + len);
        v.setLen(sj, len);
        v.setFlags(sj, v.flags(si));
      }
      if (ok) {
        // Bring the copy right behind the original.
        rotateLeft(dp, ringOfs, kr, next, rest, rest - k);
        btail = (btail + k) % kr.numSlots;
        next = (next + k) % kr.numSlots;
      }
    }
    if (hit(st, rng, pReorder) && next !== btail) {
      const k2 = chainLen(dp, ringOfs, kr, next, btail);
      if (k2 !== 0) {
        rotateLeft(dp, ringOfs, kr, p, k + k2, k);
        next = (p + k + k2) % kr.numSlots;
      }
    }
    if (hit(st, rng, pDelay) && Atomics.load(st, b + KR.IMP_HOLD) === 0) {
      Atomics.store(st, b + KR.IMP_HOLD, p + 1);
      Atomics.store(st, b + KR.IMP_UNTIL, ((dp.clock() | 0) + Atomics.load(st, c + IMP.DELAY_MS)) | 0);
    }
    p = next;
  }
  kr.btail = btail;
  Atomics.store(st, b + KR.IMP_JUDGED, p);
  const hold = Atomics.load(st, b + KR.IMP_HOLD);
  if (hold !== 0 && holdRemaining(st, kr, dp.clock) > 0) {
    kr.hwtail = hold - 1;
  } else {
    Atomics.store(st, b + KR.IMP_HOLD, 0);
    kr.hwtail = p;
  }
}
