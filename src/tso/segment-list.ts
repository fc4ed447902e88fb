// A reusable output list for segmentation: one growing byte store and an offset table, so that
// segmenting a stream of super-frames allocates only when a frame needs more room than any before.

export class SegmentList {
  /** Backing store; segment i is data[start(i), end(i)). Replaced (not resized) when it grows. */
  data: Uint8Array;
  /** Number of segments produced by the last call. */
  count = 0;
  private offsets: Uint32Array;

  constructor(bytes = 128 * 1024, segments = 256) {
    this.data = new Uint8Array(bytes);
    this.offsets = new Uint32Array(segments + 1);
  }

  /** Empties the list and makes room for `bytes` bytes in `segments` segments. */
  reset(bytes: number, segments: number): void {
    if (bytes > this.data.length) this.data = new Uint8Array(Math.max(bytes, this.data.length * 2));
    if (segments + 1 > this.offsets.length) {
      this.offsets = new Uint32Array(Math.max(segments + 1, this.offsets.length * 2));
    }
    this.count = 0;
    this.offsets[0] = 0;
  }

  /** Appends a segment of `len` bytes (the caller has written them at end of the list). */
  push(len: number): void {
    const end = this.offsets[this.count]! + len;
    this.count++;
    this.offsets[this.count] = end;
  }

  start(i: number): number {
    return this.offsets[i]!;
  }

  end(i: number): number {
    return this.offsets[i + 1]!;
  }

  length(i: number): number {
    return this.offsets[i + 1]! - this.offsets[i]!;
  }

  /** Total bytes of all segments. */
  get byteLength(): number {
    return this.offsets[this.count]!;
  }

  /** A view of segment i (allocates a view; for tests and tools, not the datapath). */
  segment(i: number): Uint8Array {
    if (i < 0 || i >= this.count) throw new RangeError(`segment ${i} of ${this.count}`);
    return this.data.subarray(this.offsets[i]!, this.offsets[i + 1]!);
  }

  /** Copies of every segment (for tests and tools). */
  toArray(): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (let i = 0; i < this.count; i++) out.push(this.segment(i).slice());
    return out;
  }
}
