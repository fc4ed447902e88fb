// A reusable output list for segmentation: one byte store in a thread-local packet memory (so
// segments are copied and summed by the SIMD kernel, src/checksum) and a start/end table, so that
// segmenting a stream of super-frames allocates only when a frame needs more room than any before.
// Segments start on 8-byte boundaries: a consumer copying one into a shared buffer (netmap slots)
// then copies words, not bytes (V8 copies shared buffers with relaxed atomics, bytewise unless
// both ends share their alignment).
import {
  copierFor,
  createLocalPacketMemory,
  csumCopierFor,
  unregisterPacketMemory,
  type CopyKernel,
  type CsumCopyKernel,
  type LocalPacketMemory,
} from '../checksum/index.ts';

/** Unregisters a list's packet memory once the list itself is collected. */
const release = new FinalizationRegistry<LocalPacketMemory>((pm) => unregisterPacketMemory(pm.memory));

function align8(n: number): number {
  return (n + 7) & ~7;
}

export class SegmentList {
  /** Backing store; segment i is data[start(i), end(i)). Replaced (not resized) when it grows. */
  data: Uint8Array;
  /** Number of segments produced by the last call. */
  count = 0;
  /** Total bytes of all segments. */
  byteLength = 0;
  /** Where the next pushed segment starts (8-byte aligned). */
  next = 0;
  /**
   * The kernels bound to `data`'s memory, for the segmenter's per-segment copies: called straight
   * (offsets into `data` are addresses in it), without csumPartialCopy's and packetCopy's view
   * lookup and range checks, the ranges being ones reset() reserved.
   */
  copy: CopyKernel;
  csumCopy: CsumCopyKernel;
  private starts: Uint32Array;
  private ends: Uint32Array;
  private pm: LocalPacketMemory;

  constructor(bytes = 256 * 1024, segments = 256) {
    this.pm = createLocalPacketMemory(bytes);
    release.register(this, this.pm, this);
    this.data = new Uint8Array(this.pm.buffer);
    this.copy = copierFor(this.pm.buffer)!;
    this.csumCopy = csumCopierFor(this.pm.buffer)!;
    this.starts = new Uint32Array(segments);
    this.ends = new Uint32Array(segments);
  }

  /**
   * Empties the list and makes room for `bytes` bytes in `segments` segments after a staged copy of
   * a frame of `stageLen` bytes (alignment padding included).
   */
  reset(bytes: number, segments: number, stageLen = 0): void {
    this.ensure(stageLen + bytes + 8 * (segments + 1));
    if (segments > this.starts.length) {
      const n = Math.max(segments, this.starts.length * 2);
      this.starts = new Uint32Array(n);
      this.ends = new Uint32Array(n);
    }
    this.count = 0;
    this.byteLength = 0;
    this.next = 0;
  }

  /** Grows the store (a new memory: earlier views of `data` keep the old one) to `need` bytes. */
  private ensure(need: number): void {
    if (need <= this.data.length) return;
    release.unregister(this);
    unregisterPacketMemory(this.pm.memory);
    this.pm = createLocalPacketMemory(Math.max(need, this.data.length * 2));
    release.register(this, this.pm, this);
    this.data = new Uint8Array(this.pm.buffer);
    this.copy = copierFor(this.pm.buffer)!;
    this.csumCopy = csumCopierFor(this.pm.buffer)!;
  }

  /**
   * A window of `len` bytes at the start of the store where a caller can gather a super-frame
   * (VALE collects a frame's slots): segmenting that view reads it in place, without the staging
   * copy. The room for its segments is reserved as for a 64-byte header per segment of at least
   * 1 KiB; a smaller gso_size grows the store, and the frame is then copied as any other.
   */
  frameRoom(len: number): Uint8Array {
    this.ensure(2 * len + 64 * Math.ceil(len / 1024) + 64);
    return this.data.subarray(0, len);
  }

  /**
   * Copies `frame` in at `next`, shifted so that it has the same 8-byte alignment as its source
   * (a word copy even out of a shared buffer); returns where it starts. Not a segment until pushed.
   * A frame already in the store (frameRoom, or an earlier segment) is used where it lies.
   */
  stage(frame: Uint8Array): number {
    if (frame.buffer === this.data.buffer) {
      const end = align8(frame.byteOffset + frame.length);
      if (end > this.next) this.next = end;
      return frame.byteOffset;
    }
    const at = this.next + (frame.byteOffset & 7);
    this.data.set(frame, at);
    this.next = align8(at + frame.length);
    return at;
  }

  /** Appends the segment data[next, next + len) (the caller writes its bytes). */
  push(len: number): void {
    this.pushAt(this.next, len);
  }

  /** Appends the segment data[start, start + len), e.g. a staged frame sent as it is. */
  pushAt(start: number, len: number): void {
    const end = start + len;
    this.starts[this.count] = start;
    this.ends[this.count] = end;
    this.count++;
    this.byteLength += len;
    if (end > this.next) this.next = align8(end);
  }

  start(i: number): number {
    return this.starts[i]!;
  }

  end(i: number): number {
    return this.ends[i]!;
  }

  length(i: number): number {
    return this.ends[i]! - this.starts[i]!;
  }

  /** A view of segment i (allocates a view; for tests and tools, not the datapath). */
  segment(i: number): Uint8Array {
    if (i < 0 || i >= this.count) throw new RangeError(`segment ${i} of ${this.count}`);
    return this.data.subarray(this.starts[i]!, this.ends[i]!);
  }

  /** Copies of every segment (for tests and tools). */
  toArray(): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (let i = 0; i < this.count; i++) out.push(this.segment(i).slice());
    return out;
  }
}
