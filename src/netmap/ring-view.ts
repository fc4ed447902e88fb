// Views of a netmap_ring and a netmap_if in shared memory, made once per ring and reused: index
// words through Atomics (they are what the other side polls), slot fields and buffers as plain
// accesses made before the index store that publishes them (docs/SPEC.md §3.1).

import { NetmapError } from './errors.ts';
import {
  IF_BUFS_HEAD,
  IF_HOST_RX_RINGS,
  IF_HOST_TX_RINGS,
  IF_NAME,
  IF_NAME_SIZE,
  IF_RING_OFS,
  IF_RX_RINGS,
  IF_TX_RINGS,
  NETMAP_IF_RING_OFS_SIZE,
  NETMAP_IF_SIZE,
  NETMAP_RING_SIZE,
  NETMAP_SLOT_SIZE,
  RING_BUF_OFS,
  RING_CUR,
  RING_DIR,
  RING_FLAGS,
  RING_HEAD,
  RING_NR_BUF_SIZE,
  RING_NUM_SLOTS,
  RING_RINGID,
  RING_SLOTS,
  RING_TAIL,
  SLOT_BUF_IDX,
  SLOT_FLAGS,
  SLOT_LEN,
} from './layout.ts';

/** A slot's size in Uint32 words and in Uint16 halves, and its fields' indices in them. */
export const SLOT_WORDS = NETMAP_SLOT_SIZE >> 2;
export const SLOT_HALVES = NETMAP_SLOT_SIZE >> 1;
export const SLOT_W_BUF_IDX = SLOT_BUF_IDX >> 2;
export const SLOT_H_LEN = SLOT_LEN >> 1;
export const SLOT_H_FLAGS = SLOT_FLAGS >> 1;
/** The word holding len (low half) and flags (high half) on a little-endian host. */
export const SLOT_W_LEN_FLAGS = SLOT_LEN >> 2;

/**
 * One netmap_ring at byte `ringOffset` of `buffer`, whose buffer pool holds `bufCount` buffers.
 * The constant header fields are read and checked once: a ring whose slots or buffer pool would
 * fall outside the memory is refused (NM_RANGE). A slot buffer index ≥ bufCount maps to buffer 0,
 * as the kernel's NMB() does, so a hostile index never reaches outside the pool.
 */
export class NetmapRingView {
  readonly ringOffset: number;
  readonly numSlots: number;
  readonly bufSize: number;
  readonly bufCount: number;
  readonly ringid: number;
  readonly dir: number;
  /** Byte offset in `buffer` of buffer 0 (ring + buf_ofs). */
  readonly bufBase: number;
  /** The whole backing memory; a slot's data is bytes[slotBufOffset(i) ...]. */
  readonly bytes: Uint8Array;
  private readonly idx: Uint32Array;
  /**
   * The slot array as words and halves, for loops over a batch of slots (slot i's buf_idx is
   * slots32[i * SLOT_WORDS + SLOT_W_BUF_IDX], its len slots16[i * SLOT_HALVES + SLOT_H_LEN]).
   */
  readonly slots32: Uint32Array;
  readonly slots16: Uint16Array;

  constructor(buffer: SharedArrayBuffer, ringOffset: number, bufCount: number) {
    if (
      ringOffset >>> 0 !== ringOffset ||
      ringOffset % 8 !== 0 ||
      ringOffset + NETMAP_RING_SIZE > buffer.byteLength
    ) {
      throw new NetmapError('NM_RANGE', `ring at ${ringOffset} outside memory or misaligned`, ringOffset);
    }
    const dv = new DataView(buffer, ringOffset, NETMAP_RING_SIZE);
    this.ringOffset = ringOffset;
    this.numSlots = dv.getUint32(RING_NUM_SLOTS, true);
    this.bufSize = dv.getUint32(RING_NR_BUF_SIZE, true);
    this.ringid = dv.getUint16(RING_RINGID, true);
    this.dir = dv.getUint16(RING_DIR, true);
    this.bufCount = bufCount;
    const bufOfs = Number(dv.getBigInt64(RING_BUF_OFS, true));
    this.bufBase = ringOffset + bufOfs;
    const slotsEnd = ringOffset + RING_SLOTS + this.numSlots * NETMAP_SLOT_SIZE;
    if (this.numSlots === 0 || slotsEnd > buffer.byteLength) {
      throw new NetmapError(
        'NM_RANGE',
        `ring at ${ringOffset}: ${this.numSlots} slots do not fit`,
        ringOffset + RING_NUM_SLOTS,
      );
    }
    if (
      !Number.isSafeInteger(this.bufBase) ||
      this.bufBase < 0 ||
      this.bufSize === 0 ||
      bufCount < 1 ||
      this.bufBase + bufCount * this.bufSize > buffer.byteLength
    ) {
      throw new NetmapError(
        'NM_RANGE',
        `ring at ${ringOffset}: buffer pool outside memory`,
        ringOffset + RING_BUF_OFS,
      );
    }
    this.bytes = new Uint8Array(buffer);
    this.idx = new Uint32Array(buffer, ringOffset, NETMAP_RING_SIZE >> 2);
    this.slots32 = new Uint32Array(buffer, ringOffset + RING_SLOTS, this.numSlots * SLOT_WORDS);
    this.slots16 = new Uint16Array(buffer, ringOffset + RING_SLOTS, this.numSlots * SLOT_HALVES);
  }

  get head(): number {
    return Atomics.load(this.idx, RING_HEAD >> 2);
  }
  set head(v: number) {
    Atomics.store(this.idx, RING_HEAD >> 2, v);
  }
  get cur(): number {
    return Atomics.load(this.idx, RING_CUR >> 2);
  }
  set cur(v: number) {
    Atomics.store(this.idx, RING_CUR >> 2, v);
  }
  get tail(): number {
    return Atomics.load(this.idx, RING_TAIL >> 2);
  }
  set tail(v: number) {
    Atomics.store(this.idx, RING_TAIL >> 2, v);
  }
  get flags(): number {
    return Atomics.load(this.idx, RING_FLAGS >> 2);
  }

  slotBufIdx(i: number): number {
    return this.slots32[i * SLOT_WORDS + SLOT_W_BUF_IDX] ?? 0;
  }
  setSlotBufIdx(i: number, v: number): void {
    this.slots32[i * SLOT_WORDS + SLOT_W_BUF_IDX] = v;
  }
  slotLen(i: number): number {
    return this.slots16[i * SLOT_HALVES + SLOT_H_LEN] ?? 0;
  }
  setSlotLen(i: number, v: number): void {
    this.slots16[i * SLOT_HALVES + SLOT_H_LEN] = v;
  }
  slotFlags(i: number): number {
    return this.slots16[i * SLOT_HALVES + SLOT_H_FLAGS] ?? 0;
  }
  setSlotFlags(i: number, v: number): void {
    this.slots16[i * SLOT_HALVES + SLOT_H_FLAGS] = v;
  }

  /**
   * Byte offset in the memory of buffer `idx` (NMB(): an out-of-range index gives buffer 0).
   * @mirrors netmap_kern.h:NMB
   */
  bufOffset(idx: number): number {
    return this.bufBase + (idx < this.bufCount ? idx : 0) * this.bufSize;
  }

  /** Byte offset in the memory of slot i's buffer. */
  slotBufOffset(i: number): number {
    return this.bufOffset(this.slotBufIdx(i));
  }
}

/** Which ring of a netmap_if: NIC TX/RX rings (host rings are unbound in this model). */
export type RingKind = 'tx' | 'rx';

/**
 * A netmap_if at byte `nifpOffset` of `buffer`: counts and ring offsets (netmap_mem_pt_guest_rings_create
 * reads exactly these). ring_ofs entries are relative to the if; absolute offsets are returned.
 */
export class NetmapIfView {
  readonly nifpOffset: number;
  readonly name: string;
  readonly txRings: number;
  readonly rxRings: number;
  readonly hostTxRings: number;
  readonly hostRxRings: number;
  private readonly dv: DataView;

  constructor(buffer: SharedArrayBuffer, nifpOffset: number) {
    if (
      nifpOffset >>> 0 !== nifpOffset ||
      nifpOffset % 8 !== 0 ||
      nifpOffset + NETMAP_IF_SIZE > buffer.byteLength
    ) {
      throw new NetmapError(
        'NM_RANGE',
        `netmap_if at ${nifpOffset} outside memory or misaligned`,
        nifpOffset,
      );
    }
    const hdr = new DataView(buffer, nifpOffset, NETMAP_IF_SIZE);
    this.nifpOffset = nifpOffset;
    this.txRings = hdr.getUint32(IF_TX_RINGS, true);
    this.rxRings = hdr.getUint32(IF_RX_RINGS, true);
    this.hostTxRings = hdr.getUint32(IF_HOST_TX_RINGS, true);
    this.hostRxRings = hdr.getUint32(IF_HOST_RX_RINGS, true);
    const name = new Uint8Array(buffer, nifpOffset + IF_NAME, IF_NAME_SIZE);
    const nul = name.indexOf(0);
    this.name = new TextDecoder().decode(name.slice(0, nul < 0 ? IF_NAME_SIZE : nul));
    const ntot = this.txRings + this.hostTxRings + this.rxRings + this.hostRxRings;
    const end = nifpOffset + IF_RING_OFS + ntot * NETMAP_IF_RING_OFS_SIZE;
    if (!Number.isSafeInteger(end) || end > buffer.byteLength) {
      throw new NetmapError(
        'NM_RANGE',
        `netmap_if at ${nifpOffset}: ${ntot} ring offsets do not fit`,
        nifpOffset + IF_TX_RINGS,
      );
    }
    this.dv = new DataView(buffer, nifpOffset, end - nifpOffset);
  }

  /** ni_bufs_head: the first extra buffer (0: none); extra buffers chain through their first u32. */
  get bufsHead(): number {
    return this.dv.getUint32(IF_BUFS_HEAD, true);
  }
  set bufsHead(v: number) {
    this.dv.setUint32(IF_BUFS_HEAD, v, true);
  }

  /** Absolute byte offset of NIC ring i of the given kind; NM_RANGE if i is not a ring of the if. */
  ringOffset(kind: RingKind, i: number): number {
    const n = kind === 'tx' ? this.txRings : this.rxRings;
    if (i >>> 0 !== i || i >= n) throw new NetmapError('NM_RANGE', `no ${kind} ring ${i}`);
    const k = kind === 'tx' ? i : this.txRings + this.hostTxRings + i;
    return this.nifpOffset + Number(this.dv.getBigInt64(IF_RING_OFS + k * NETMAP_IF_RING_OFS_SIZE, true));
  }
}
