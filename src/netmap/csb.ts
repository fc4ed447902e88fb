// Views of one CSB entry (struct nm_csb_atok / nm_csb_ktoa, docs/SPEC.md §2.4) over any SharedArrayBuffer,
// and the publication helpers of §3.1. Every index word goes through Atomics.load/store, which are
// sequentially consistent: they subsume the kernel's smp_wmb / smp_rmb / smp_mb, so the helpers
// only have to keep the spec's order of accesses (and nm_stld_barrier needs no extra operation).

import {
  ATOK_APPL_NEED_KICK,
  ATOK_CUR,
  ATOK_HEAD,
  ATOK_SYNC_FLAGS,
  KTOA_HWCUR,
  KTOA_HWTAIL,
  KTOA_KERN_NEED_KICK,
  NM_CSB_ATOK_SIZE,
  NM_CSB_KTOA_SIZE,
} from './layout.ts';
import { NetmapError } from './errors.ts';

const HEAD = ATOK_HEAD >> 2;
const CUR = ATOK_CUR >> 2;
const APPL_NEED_KICK = ATOK_APPL_NEED_KICK >> 2;
const SYNC_FLAGS = ATOK_SYNC_FLAGS >> 2;
const HWCUR = KTOA_HWCUR >> 2;
const HWTAIL = KTOA_HWTAIL >> 2;
const KERN_NEED_KICK = KTOA_KERN_NEED_KICK >> 2;

function entryWords(buffer: SharedArrayBuffer, byteOffset: number, size: number, what: string): Uint32Array {
  // netmap_csb_validate requires entry alignment; we need at least word alignment for Atomics.
  if (byteOffset >>> 0 !== byteOffset || byteOffset % 4 !== 0 || byteOffset + size > buffer.byteLength) {
    throw new NetmapError(
      'NM_RANGE',
      `${what} at ${byteOffset} outside ${buffer.byteLength} bytes or unaligned`,
      byteOffset,
    );
  }
  return new Uint32Array(buffer, byteOffset, size >> 2);
}

/** One `nm_csb_atok` entry (guest writes, host reads). */
export class CsbAtok {
  private readonly w: Uint32Array;
  constructor(buffer: SharedArrayBuffer, byteOffset: number) {
    this.w = entryWords(buffer, byteOffset, NM_CSB_ATOK_SIZE, 'nm_csb_atok');
  }
  get head(): number {
    return Atomics.load(this.w, HEAD);
  }
  set head(v: number) {
    Atomics.store(this.w, HEAD, v);
  }
  get cur(): number {
    return Atomics.load(this.w, CUR);
  }
  set cur(v: number) {
    Atomics.store(this.w, CUR, v);
  }
  get applNeedKick(): number {
    return Atomics.load(this.w, APPL_NEED_KICK);
  }
  set applNeedKick(v: number) {
    Atomics.store(this.w, APPL_NEED_KICK, v);
  }
  get syncFlags(): number {
    return Atomics.load(this.w, SYNC_FLAGS);
  }
  set syncFlags(v: number) {
    Atomics.store(this.w, SYNC_FLAGS, v);
  }
}

/** One `nm_csb_ktoa` entry (host writes, guest reads). */
export class CsbKtoa {
  private readonly w: Uint32Array;
  constructor(buffer: SharedArrayBuffer, byteOffset: number) {
    this.w = entryWords(buffer, byteOffset, NM_CSB_KTOA_SIZE, 'nm_csb_ktoa');
  }
  get hwcur(): number {
    return Atomics.load(this.w, HWCUR);
  }
  set hwcur(v: number) {
    Atomics.store(this.w, HWCUR, v);
  }
  get hwtail(): number {
    return Atomics.load(this.w, HWTAIL);
  }
  set hwtail(v: number) {
    Atomics.store(this.w, HWTAIL, v);
  }
  get kernNeedKick(): number {
    return Atomics.load(this.w, KERN_NEED_KICK);
  }
  set kernNeedKick(v: number) {
    Atomics.store(this.w, KERN_NEED_KICK, v);
  }
}

/** Where appl_read puts what it loads (a kring, typically); reused, never allocated per call. */
export interface HwIndices {
  hwcur: number;
  hwtail: number;
}

/** Where kernel_read puts what it loads (the host's shadow ring). */
export interface ApplIndices {
  head: number;
  cur: number;
  syncFlags: number;
}

/**
 * nm_sync_kloop_appl_write (guest): slot writes before, then cur, then head, so the host never sees
 * a head newer than cur (its prologue would reject head beyond cur).
 * @mirrors netmap.h:nm_sync_kloop_appl_write
 */
export function nmSyncKloopApplWrite(atok: CsbAtok, cur: number, head: number): void {
  atok.cur = cur;
  atok.head = head;
}

/**
 * nm_sync_kloop_appl_read (guest): hwtail first, then hwcur; slot reads come after both.
 * @mirrors netmap.h:nm_sync_kloop_appl_read
 */
export function nmSyncKloopApplRead(ktoa: CsbKtoa, out: HwIndices): void {
  out.hwtail = ktoa.hwtail;
  out.hwcur = ktoa.hwcur;
}

/**
 * sync_kloop_kernel_write (host): hwcur first, then hwtail.
 * @mirrors netmap_kloop.c:sync_kloop_kernel_write
 */
export function syncKloopKernelWrite(ktoa: CsbKtoa, hwcur: number, hwtail: number): void {
  ktoa.hwcur = hwcur;
  ktoa.hwtail = hwtail;
}

/**
 * sync_kloop_kernel_read (host): head, then cur and sync_flags.
 * @mirrors netmap_kloop.c:sync_kloop_kernel_read
 */
export function syncKloopKernelRead(atok: CsbAtok, shadow: ApplIndices): void {
  shadow.head = atok.head;
  shadow.cur = atok.cur;
  shadow.syncFlags = atok.syncFlags;
}
