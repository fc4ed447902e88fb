// The host's datapath view of a netmap region: typed arrays made once over the region's
// SharedArrayBuffer, and the trusted geometry of one port's rings. The host never reads ring
// geometry (num_slots, buf_ofs) back from shared memory, where the guest could have changed it:
// like the kernel's krings, it keeps its own copy taken when the port was created.

import { NETMAP_SLOT_SIZE, RING_SLOTS, SLOT_BUF_IDX, SLOT_FLAGS, SLOT_LEN } from '../netmap/layout.ts';
import { copierFor, type CopyKernel, type WasmMemory } from '../checksum/index.ts';
import type { NetmapPortLayout, NetmapRegion } from '../netmap/region.ts';
import { adoptPacketMemory, packetMemoryOf } from './packet-region.ts';

/** Everything a thread needs to address a region: structured-cloneable (worker_threads). */
export interface RegionShared {
  buffer: SharedArrayBuffer;
  /** Byte offset of region offset 0 in `buffer`. */
  base: number;
  size: number;
  bufPoolOfs: number;
  bufSize: number;
  bufCount: number;
  memId: number;
  /** The shared WebAssembly.Memory behind `buffer` when it is a packet memory (see packet-region.ts). */
  memory?: WasmMemory;
}

/** A port's rings as the host trusts them (netmap_kring's ring pointer and nkr_num_slots). */
export interface RingsShared {
  nifpOfs: number;
  txRingOfs: number[];
  rxRingOfs: number[];
  txSlots: number;
  rxSlots: number;
}

export function regionShared(r: NetmapRegion): RegionShared {
  return {
    buffer: r.buffer,
    base: r.base,
    size: r.size,
    bufPoolOfs: r.geometry.buf.offset,
    bufSize: r.bufSize,
    bufCount: r.bufCount,
    memId: r.memId,
    memory: packetMemoryOf(r.buffer),
  };
}

export function ringsShared(l: NetmapPortLayout): RingsShared {
  return {
    nifpOfs: l.nifpOfs,
    txRingOfs: [...l.txRingOfs],
    rxRingOfs: [...l.rxRingOfs],
    txSlots: l.txSlots,
    rxSlots: l.rxSlots,
  };
}

const W_BUF_IDX = SLOT_BUF_IDX >>> 2;
const H_LEN = SLOT_LEN >>> 1;
const H_FLAGS = SLOT_FLAGS >>> 1;

/** Slot and buffer access by region offset. Slot offsets come from `slot()`, never from the guest. */
export class RegionView {
  readonly u8: Uint8Array;
  readonly u16: Uint16Array;
  readonly u32: Uint32Array;
  readonly bufPoolOfs: number;
  readonly bufSize: number;
  readonly bufCount: number;
  /**
   * u8's storage and its offset there (u8.buffer, u8.byteOffset), kept: node 20 reads either
   * through a call (~25–35 ns), and the switch needs them per slot of a GSO frame.
   */
  readonly buffer: ArrayBufferLike;
  readonly base: number;
  /** memory.copy over the region's packet memory, if it is one (see copy()). */
  private readonly wcopy: CopyKernel | undefined;

  constructor(readonly shared: RegionShared) {
    adoptPacketMemory(shared.memory);
    this.u8 = new Uint8Array(shared.buffer, shared.base, shared.size);
    this.u16 = new Uint16Array(shared.buffer, shared.base, shared.size >>> 1);
    this.u32 = new Uint32Array(shared.buffer, shared.base, shared.size >>> 2);
    this.bufPoolOfs = shared.bufPoolOfs;
    this.bufSize = shared.bufSize;
    this.bufCount = shared.bufCount;
    this.buffer = shared.buffer;
    this.base = shared.base;
    this.wcopy = copierFor(shared.buffer);
  }

  /**
   * Moves region bytes [src, src+len) to dst (both in range: the callers checked the buffers):
   * Wasm memory.copy when the region is a packet memory, ~18x faster than copyWithin on shared
   * memory, which V8 does element by element.
   */
  copy(dst: number, src: number, len: number): void {
    const c = this.wcopy;
    if (c !== undefined) c(this.shared.base + dst, this.shared.base + src, len);
    else this.u8.copyWithin(dst, src, src + len);
  }

  /** Region offset of slot i of the ring at `ringOfs`. */
  slot(ringOfs: number, i: number): number {
    return ringOfs + RING_SLOTS + i * NETMAP_SLOT_SIZE;
  }
  bufIdx(slot: number): number {
    return this.u32[(slot >>> 2) + W_BUF_IDX]!;
  }
  setBufIdx(slot: number, v: number): void {
    this.u32[(slot >>> 2) + W_BUF_IDX] = v;
  }
  len(slot: number): number {
    return this.u16[(slot >>> 1) + H_LEN]!;
  }
  setLen(slot: number, v: number): void {
    this.u16[(slot >>> 1) + H_LEN] = v;
  }
  flags(slot: number): number {
    return this.u16[(slot >>> 1) + H_FLAGS]!;
  }
  setFlags(slot: number, v: number): void {
    this.u16[(slot >>> 1) + H_FLAGS] = v;
  }
  /** A buffer index the host may use: not reserved (0, 1) and inside the pool. */
  validBuf(idx: number): boolean {
    return idx >= 2 && idx < this.bufCount;
  }
  /** Region offset of a buffer; only for indices that passed validBuf(). */
  buf(idx: number): number {
    return this.bufPoolOfs + idx * this.bufSize;
  }
}
