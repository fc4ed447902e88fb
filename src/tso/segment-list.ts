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

/**
 * Part of a registered packet memory a list may use as its store (VALE: a slice of scratch space
 * in the netmap region's own memory, so that gathering a frame from slots, segmenting it and
 * scattering the segments into slots are all Wasm copies within one memory). Byte offsets are
 * the buffer's.
 */
export interface MemoryWindow {
  buffer: ArrayBufferLike;
  base: number;
  size: number;
}

export class SegmentList {
  /**
   * Backing store; segment i is data[start(i), end(i)). Replaced (not resized) when it grows, or
   * when the list moves between its window and its own memory.
   */
  data!: Uint8Array;
  /** data.buffer, kept (node 20 reads a typed array's .buffer through a call, ~35 ns). */
  storage!: ArrayBufferLike;
  /** Where in `data` (and its buffer: data starts at 0) the last frameRoom() starts. */
  frameStart = 0;
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
  copy!: CopyKernel;
  csumCopy!: CsumCopyKernel;
  private starts: Uint32Array;
  private ends: Uint32Array;
  /** This list's own memory: made at once without a window, else when a frame outgrows it. */
  private pm: LocalPacketMemory | null = null;
  /** The part of `data` the list may use: [lo, hi). */
  private lo = 0;
  private hi = 0;
  /** Places a caller offered for the segments (place()): their offsets, how many, bytes each. */
  private places: Int32Array | null = null;
  private placeCount = 0;
  private placeCap = 0;
  /**
   * Whether the last reset() chose the offered places: segment i is then written at the i-th
   * place (a destination's slot buffer), not after the frame.
   */
  placed = false;
  /** The window's whole buffer, its kernels and its range, when the list has one. */
  private readonly win: {
    data: Uint8Array;
    copy: CopyKernel;
    csumCopy: CsumCopyKernel;
    lo: number;
    hi: number;
  } | null;

  /**
   * A list with its own packet memory of `bytes`, or, given `window`, one that works inside that
   * part of a registered packet memory and takes a memory of its own only for a frame that needs
   * more room than the window has.
   */
  constructor(
    private readonly bytes = 256 * 1024,
    segments = 256,
    window?: MemoryWindow,
  ) {
    this.starts = new Uint32Array(segments);
    this.ends = new Uint32Array(segments);
    if (window === undefined) {
      this.win = null;
      this.own(bytes);
      return;
    }
    const copy = copierFor(window.buffer);
    const csumCopy = csumCopierFor(window.buffer);
    const b = window.base;
    if (
      copy === undefined ||
      csumCopy === undefined ||
      b % 8 !== 0 ||
      b + window.size > window.buffer.byteLength
    )
      throw new RangeError(`segment window [${b}, +${window.size}) of an unregistered or smaller memory`);
    this.win = { data: new Uint8Array(window.buffer), copy, csumCopy, lo: b, hi: b + window.size };
    this.use(this.win.data, copy, csumCopy, b, b + window.size);
  }

  /** Whether the store is now the window (so its offsets are the window memory's). */
  get inWindow(): boolean {
    return this.win !== null && this.data === this.win.data;
  }

  /**
   * Empties the list and makes room for `bytes` bytes in `segments` segments after a staged copy of
   * a frame of `stageLen` bytes (alignment padding included). `maxSegment`, the longest segment's
   * length, lets the segments go to the places offered (place()) when every one fits there.
   */
  reset(bytes: number, segments: number, stageLen = 0, maxSegment = Infinity): void {
    this.ensure(stageLen + bytes + 8 * (segments + 1));
    if (segments > this.starts.length) {
      const n = Math.max(segments, this.starts.length * 2);
      this.starts = new Uint32Array(n);
      this.ends = new Uint32Array(n);
    }
    this.count = 0;
    this.byteLength = 0;
    // The places lie in the window's memory: in the list's own memory they cannot be reached.
    this.placed =
      this.places !== null && this.inWindow && segments <= this.placeCount && maxSegment <= this.placeCap;
    this.next = this.placed ? this.places![0]! : this.lo;
  }

  /**
   * Offers `count` places of `cap` bytes each, at offsets `addrs[0..count)` of the window's memory
   * (VALE: the destination's RX slot buffers), for the segments of the next segmentation: they are
   * written straight there when all of them fit and the list works in its window (netmap segments
   * into the destination's slots), after the frame otherwise; `placed` says which, after it. The
   * offer holds until unplace().
   */
  place(addrs: Int32Array, count: number, cap: number): void {
    this.places = addrs;
    this.placeCount = count;
    this.placeCap = cap;
  }

  /** Withdraws the places: segments go after the frame again. */
  unplace(): void {
    this.places = null;
    this.placeCount = 0;
    this.placed = false;
  }

  /**
   * Makes the store hold `need` bytes: the window when it is large enough, else the list's own
   * memory, grown (a new memory: earlier views of `data` keep the old one) when too small.
   */
  private ensure(need: number): void {
    const w = this.win;
    if (w !== null && need <= w.hi - w.lo) {
      if (this.data !== w.data) this.use(w.data, w.copy, w.csumCopy, w.lo, w.hi);
      return;
    }
    const have = this.pm === null ? 0 : this.pm.buffer.byteLength;
    if (need > have) this.own(Math.max(need, this.bytes, 2 * have));
    else if (this.storage !== this.pm!.buffer) this.own(0);
  }

  /** Switches the store to the list's own memory, made (or remade) to `bytes` unless 0. */
  private own(bytes: number): void {
    if (bytes > 0) {
      if (this.pm !== null) {
        release.unregister(this);
        unregisterPacketMemory(this.pm.memory);
      }
      this.pm = createLocalPacketMemory(bytes);
      release.register(this, this.pm, this);
    }
    const buf = this.pm!.buffer;
    this.use(new Uint8Array(buf), copierFor(buf)!, csumCopierFor(buf)!, 0, buf.byteLength);
  }

  private use(data: Uint8Array, copy: CopyKernel, csumCopy: CsumCopyKernel, lo: number, hi: number): void {
    this.data = data;
    this.storage = data.buffer;
    this.copy = copy;
    this.csumCopy = csumCopy;
    this.lo = lo;
    this.hi = hi;
    this.next = lo;
  }

  /**
   * A window of `len` bytes near the start of the store where a caller can gather a super-frame
   * (VALE collects a frame's slots): segmenting that view reads it in place, without the staging
   * copy. It starts at `align` (0..7): the 8-byte alignment of where the caller's first byte lies,
   * so that a copy out of a shared buffer moves words (V8 copies shared memory byte by byte unless
   * both ends share their alignment). The room for its segments is reserved as for a 64-byte header
   * per segment of at least 1 KiB; a smaller gso_size grows the store, and the frame is then
   * copied as any other.
   */
  frameRoom(len: number, align = 0): Uint8Array {
    const a = align & 7;
    this.ensure(a + 2 * len + 64 * Math.ceil(len / 1024) + 64);
    // After ensure(), which may have moved the store.
    const start = this.lo + a;
    this.frameStart = start;
    return this.data.subarray(start, start + len);
  }

  /**
   * Copies `frame` in at `next`, shifted so that it has the same 8-byte alignment as its source
   * (a word copy even out of a shared buffer); returns where it starts. Not a segment until pushed.
   * A frame already in the store (frameRoom, or an earlier segment) is used where it lies.
   */
  stage(frame: Uint8Array): number {
    if (
      frame.buffer === this.storage &&
      frame.byteOffset >= this.lo &&
      frame.byteOffset + frame.length <= this.hi
    ) {
      const end = align8(frame.byteOffset + frame.length);
      if (!this.placed && end > this.next) this.next = end;
      return frame.byteOffset;
    }
    // With places, the frame is staged at the window's start (the segments go elsewhere).
    const at = (this.placed ? this.lo : this.next) + (frame.byteOffset & 7);
    this.data.set(frame, at);
    if (!this.placed) this.next = align8(at + frame.length);
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
    if (this.placed) this.next = this.count < this.placeCount ? this.places![this.count]! : this.hi;
    else if (end > this.next) this.next = align8(end);
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
