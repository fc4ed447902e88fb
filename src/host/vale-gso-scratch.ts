// Scratch space for VALE's software segmentation, inside the netmap region's own packet memory.
// A GSO frame toward a header-less port is gathered from its TX slots into a window here, then
// segmented straight into the receiver's RX slot buffers (netmap_offloadings.c's
// bdg_mismatch_datapath), or after the frame and scattered when a segment does not fit a buffer.
// With the segment list in the same Wasm memory as the slots, every step is a Wasm copy (memmove,
// and the SIMD kernel's copy-and-sum) instead of a JavaScript copy out of or into shared memory,
// which V8 makes element by element and which needs a view object per slot.
//
// The switch that made its region puts `slices` windows after the region's end, each large enough
// for the largest frame a port can send (NETMAP_MAX_FRAGS slots) at gso_size 1 KiB or more. A
// sender claims a free window for one frame with a compare-and-swap on its word: several threads
// may forward at once (each port's sync loop in its own worker), and none waits. When every window
// is taken, or in a region the caller gave the switch (no scratch), the sender segments in its own
// memory as before. A guest that writes into the scratch (it shares the buffer) can corrupt frames
// in flight but not what the host reads as offsets or lengths: those stay in this thread's lists.
import { NETMAP_MAX_FRAGS } from '../netmap/constants.ts';
import { SegmentList } from '../tso/index.ts';

/** Where the windows are: byte offsets in the region's buffer. Structured-cloneable. */
export interface GsoScratchShared {
  /** The claim words (one Int32 per window), then the windows. 64-byte aligned. */
  base: number;
  slices: number;
  /** Bytes per window, a multiple of 64. */
  slice: number;
}

/** Windows per switch: more senders than cores at once fall back to their own memory. */
export const VALE_GSO_SLICES = 8;

/** Bytes of the claim words before the first window. */
const CLAIMS = 64;

/**
 * Bytes per window for slots of `bufSize`: a gathered frame of NETMAP_MAX_FRAGS slots and its
 * segments at gso_size ≥ 1 KiB, as SegmentList.frameRoom reserves them.
 */
export function gsoSliceBytes(bufSize: number): number {
  const frame = NETMAP_MAX_FRAGS * bufSize;
  return (8 + 2 * frame + 64 * Math.ceil(frame / 1024) + 64 + 63) & ~63;
}

/** Scratch bytes a switch adds after its region for `slices` windows, gsoScratchAt's rounding included. */
export function gsoScratchBytes(bufSize: number, slices = VALE_GSO_SLICES): number {
  return 63 + CLAIMS + slices * gsoSliceBytes(bufSize);
}

/** The layout of scratch placed at `regionEnd` (rounded up to 64) of the region's buffer. */
export function gsoScratchAt(regionEnd: number, bufSize: number, slices = VALE_GSO_SLICES): GsoScratchShared {
  return { base: (regionEnd + 63) & ~63, slices, slice: gsoSliceBytes(bufSize) };
}

/** One thread's handle on the windows: the claim words and a segment list per window. */
export class GsoScratch {
  private readonly claims: Int32Array;
  private readonly lists: (SegmentList | null)[];

  constructor(
    private readonly buffer: SharedArrayBuffer,
    readonly shared: GsoScratchShared,
  ) {
    if (shared.slices > CLAIMS / 4 || shared.base + CLAIMS + shared.slices * shared.slice > buffer.byteLength)
      throw new RangeError('VALE GSO scratch does not fit its buffer');
    this.claims = new Int32Array(buffer, shared.base, shared.slices);
    this.lists = new Array<SegmentList | null>(shared.slices).fill(null);
  }

  /** A free window, now this thread's until release(); −1 when all are taken. */
  claim(): number {
    const c = this.claims;
    for (let k = 0; k < c.length; k++) if (Atomics.compareExchange(c, k, 0, 1) === 0) return k;
    return -1;
  }

  release(k: number): void {
    Atomics.store(this.claims, k, 0);
  }

  /** The segment list over window k (made on first use in this thread). */
  list(k: number): SegmentList {
    const s = this.shared;
    return (this.lists[k] ??= new SegmentList(256 * 1024, 256, {
      buffer: this.buffer,
      base: s.base + CLAIMS + k * s.slice,
      size: s.slice,
    }));
  }
}
