// A packet-buffer pool over one region of storage, in the spirit of DPDK's rte_mempool +
// rte_pktmbuf and FreeBSD's mbuf clusters: fixed-size segments carved out of a caller-supplied
// buffer (so the pool can live in a shared WebAssembly.Memory next to the checksum kernels) or an
// ArrayBuffer of its own. Segment metadata lives in typed arrays indexed by segment number; free
// lists are typed-array stacks; Mbuf objects are created once. Alloc/free allocate nothing.
//
// A pool can also be laid over a netmap buffer pool (segment s = netmap buffer s), where most
// buffers belong to ring slots: each segment is then free, live (in an mbuf) or lent (someone
// else's: a ring slot, another port). The driver hands a received slot's buffer up inside an mbuf
// (wrapLent / chainLent) and lends a free one into the slot (lendSeg), and on transmit lends an
// mbuf's segments to the TX slots (lendChain) and takes the slots' old buffers back (reclaimSeg):
// netmap's buffer swapping with NS_BUF_CHANGED. A segment changes hands only through these calls,
// so one can never be free, live and lent at once.
import { registerCopyViews } from './copy.ts';
import { MbufError } from './errors.ts';
import { Mbuf, type MbufPool } from './mbuf.ts';

export interface MempoolOptions {
  /** Number of segments. Default: as many as the supplied buffer holds (required without a buffer). */
  segments?: number;
  /** Data bytes per segment (default 2048, like MCLBYTES). */
  segmentSize?: number;
  /** Bytes kept free in front of a fresh mbuf for prepending headers (default 128, at most half a segment). */
  headroom?: number;
  /** Number of Mbuf objects (packets), default = segments. */
  mbufs?: number;
  /** Storage to carve segments from (ArrayBuffer, SharedArrayBuffer, WebAssembly.Memory#buffer). */
  buffer?: ArrayBufferLike;
  byteOffset?: number;
  /** Bytes of `buffer` the pool may use (default: the rest of the buffer). */
  byteLength?: number;
  /** Every segment starts lent out (a netmap buffer pool whose buffers sit in rings); reclaimSeg takes them in. */
  lent?: boolean;
}

/** segState values: in the free stack, in a live mbuf's chain, lent out of the pool. */
export const SEG_FREE = 0;
export const SEG_LIVE = 1;
export const SEG_LENT = 2;

/** How far down takeFree looks for the start of a free run (a 64 KiB frame is 32 segments of 2 KiB). */
const RUN_LOOKBACK = 64;

/** Bytes of storage `segments` segments of `segmentSize` bytes need. */
export function mempoolBytes(segments: number, segmentSize = 2048): number {
  return segments * segmentSize;
}

export class Mempool implements MbufPool {
  /** The whole pool storage; segment s owns data[s*segmentSize, (s+1)*segmentSize). */
  readonly data: Uint8Array;
  /** `data` as a node Buffer (its fill is a memcpy whatever the alignment; see Mbuf.copyTo). */
  readonly bytes: Buffer;
  readonly segmentSize: number;
  readonly segmentCount: number;
  readonly headroom: number;
  readonly mbufCount: number;
  /** Index into `data` of the first byte held by segment s. */
  readonly segStart: Uint32Array;
  /** Bytes held by segment s. */
  readonly segLen: Uint32Array;
  /** Next segment of the chain, -1 at the end. */
  readonly segNext: Int32Array;
  /** SEG_FREE, SEG_LIVE or SEG_LENT, per segment. */
  readonly segState: Uint8Array;
  /** viewFrom's views: from a buffer's first byte, and from a later one (the last asked for). */
  private readonly baseViews: (Uint8Array | undefined)[];
  private readonly tailViews: (Uint8Array | undefined)[];
  /** The later start last asked of viewFrom per buffer, while it has no view. */
  private readonly tailWanted: Uint16Array;
  /** The start of the last later view made: another buffer asked for it gets its view at once. */
  private tailUsual = -1;

  /** Successful mbuf allocations. */
  allocs = 0;
  /** Mbufs returned to the pool. */
  frees = 0;
  /** Mbuf allocations refused because no mbuf or no segment was free. */
  failures = 0;
  /** Grow operations (append/prepend) refused because segments ran out. */
  segFailures = 0;
  /** Double frees detected (each also throws DOUBLE_FREE). */
  doubleFrees = 0;
  /** Mbufs currently allocated. */
  inUse = 0;
  /** Largest inUse seen. */
  highWater = 0;
  /** Segments currently lent out. */
  segmentsLent = 0;

  private readonly segFree: Uint32Array;
  private segFreeTop: number;
  /** Where free segment s sits in segFree (meaningless for a segment that is not free). */
  private readonly segFreePos: Uint32Array;
  private readonly mbufs: Mbuf[];
  private readonly mbufFree: Uint32Array;
  private mbufFreeTop: number;

  constructor(opts: MempoolOptions) {
    const segmentSize = opts.segmentSize ?? 2048;
    const headroom = opts.headroom ?? Math.min(128, segmentSize >> 1);
    if (!Number.isInteger(segmentSize) || segmentSize < 64 || segmentSize > 0x10000) {
      throw new MbufError('BAD_CONFIG', `segmentSize ${segmentSize} not in 64..65536`);
    }
    if (!Number.isInteger(headroom) || headroom < 0 || headroom >= segmentSize) {
      throw new MbufError('BAD_CONFIG', `headroom ${headroom} not in 0..${segmentSize - 1}`);
    }
    let data: Uint8Array;
    let segments: number;
    if (opts.buffer !== undefined) {
      const off = opts.byteOffset ?? 0;
      const avail = opts.buffer.byteLength - off;
      const len = opts.byteLength ?? avail;
      if (!Number.isInteger(off) || off < 0 || !Number.isInteger(len) || len < 0 || len > avail) {
        throw new MbufError('BAD_CONFIG', `byteOffset ${off} / byteLength ${len} outside the buffer`);
      }
      segments = opts.segments ?? Math.floor(len / segmentSize);
      if (segments * segmentSize > len) {
        throw new MbufError(
          'BUFFER_TOO_SMALL',
          `${segments} segments of ${segmentSize} B need ${segments * segmentSize} B, have ${len}`,
        );
      }
      data = new Uint8Array(opts.buffer, off, segments * segmentSize);
    } else {
      if (opts.segments === undefined)
        throw new MbufError('BAD_CONFIG', 'segments is required without a buffer');
      segments = opts.segments;
      if (!Number.isInteger(segments) || segments < 0) {
        throw new MbufError('BAD_CONFIG', `segments ${segments} is not a count`);
      }
      data = new Uint8Array(mempoolBytes(segments, segmentSize));
    }
    if (segments < 1 || segments > 0x7fffffff) throw new MbufError('BAD_CONFIG', `segments ${segments} < 1`);
    const mbufCount = opts.mbufs ?? segments;
    if (!Number.isInteger(mbufCount) || mbufCount < 1) {
      throw new MbufError('BAD_CONFIG', `mbufs ${mbufCount} < 1`);
    }

    this.data = data;
    this.bytes = Buffer.from(data.buffer, data.byteOffset, data.length);
    // Packet data is copied to and from socket buffers on every packet: word copies, no views.
    registerCopyViews(data);
    this.segmentSize = segmentSize;
    this.segmentCount = segments;
    this.headroom = headroom;
    this.mbufCount = mbufCount;
    this.segStart = new Uint32Array(segments);
    this.segLen = new Uint32Array(segments);
    this.segNext = new Int32Array(segments).fill(-1);
    this.segState = new Uint8Array(segments);
    this.baseViews = new Array<Uint8Array | undefined>(segments);
    this.tailViews = new Array<Uint8Array | undefined>(segments);
    this.tailWanted = new Uint16Array(segments);
    // Stacks popped from the top: fill so that low indices come out first (deterministic, cache-friendly).
    this.segFree = new Uint32Array(segments);
    this.segFreePos = new Uint32Array(segments);
    if (opts.lent === true) {
      this.segState.fill(SEG_LENT);
      this.segmentsLent = segments;
      this.segFreeTop = 0;
    } else {
      for (let i = 0; i < segments; i++) {
        this.segFree[i] = segments - 1 - i;
        this.segFreePos[segments - 1 - i] = i;
      }
      this.segFreeTop = segments;
    }
    this.mbufs = new Array<Mbuf>(mbufCount);
    this.mbufFree = new Uint32Array(mbufCount);
    for (let i = 0; i < mbufCount; i++) {
      this.mbufs[i] = new Mbuf(this, i);
      this.mbufFree[i] = mbufCount - 1 - i;
    }
    this.mbufFreeTop = mbufCount;
  }

  /** Segments currently free. */
  get segmentsFree(): number {
    return this.segFreeTop;
  }

  /** Mbufs currently free. */
  get mbufsFree(): number {
    return this.mbufFreeTop;
  }

  /**
   * The pool's memory from byte `at` to its end, as a view kept per buffer: one from the buffer's
   * first byte, and one from a later start once the same start is asked for twice in a row, or
   * is the start the last such view was made for (a received frame's payload starts at the same
   * offset frame after frame; a copy cut at a receive chunk's edge starts anywhere and gets null,
   * so no view is made per copy). Mbuf.copyTo fills a
   * Buffer from it with node's memcpy, which needs a source that starts at the copy's first byte
   * but may run on past its last.
   */
  viewFrom(at: number): Uint8Array | null {
    const size = this.segmentSize;
    const s = Math.floor(at / size);
    const off = at - s * size;
    if (off === 0) {
      let v = this.baseViews[s];
      if (v === undefined) {
        v = this.data.subarray(at);
        this.baseViews[s] = v;
      }
      return v;
    }
    const v = this.tailViews[s];
    if (v !== undefined && v.byteOffset === this.data.byteOffset + at) return v;
    if (this.tailWanted[s] !== off && off !== this.tailUsual) {
      this.tailWanted[s] = off;
      return null;
    }
    const w = this.data.subarray(at);
    this.tailViews[s] = w;
    this.tailUsual = off;
    return w;
  }

  /** An empty mbuf (one segment, `headroom` bytes reserved in front), or null when the pool is empty. */
  alloc(): Mbuf | null {
    if (this.mbufFreeTop === 0 || this.segFreeTop === 0) {
      this.failures++;
      return null;
    }
    const m = this.mbufs[this.mbufFree[--this.mbufFreeTop]!]!;
    const s = this.popSeg();
    this.segStart[s] = s * this.segmentSize + this.headroom;
    m.attach(s);
    this.allocs++;
    if (++this.inUse > this.highWater) this.highWater = this.inUse;
    return m;
  }

  /**
   * Allocates n mbufs into out[0..n) — all or nothing, like rte_pktmbuf_alloc_bulk — and returns n,
   * or 0 (one failure counted) when fewer than n are available.
   */
  allocBulk(n: number, out: Mbuf[]): number {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`allocBulk: count ${n}`);
    if (n === 0) return 0;
    if (this.mbufFreeTop < n || this.segFreeTop < n) {
      this.failures++;
      return 0;
    }
    for (let i = 0; i < n; i++) out[i] = this.alloc()!;
    return n;
  }

  /** Throws FOREIGN_MBUF unless m is this pool's, DOUBLE_FREE (counted) unless it is in use. */
  private checkOwned(m: Mbuf): void {
    if (m.pool !== this) throw new MbufError('FOREIGN_MBUF', `mbuf ${m.index} belongs to another pool`);
    if (!m.inUse) {
      this.doubleFrees++;
      throw new MbufError('DOUBLE_FREE', `mbuf ${m.index} is already free`);
    }
  }

  /** Returns m and all its segments to the pool. Throws DOUBLE_FREE / FOREIGN_MBUF on ownership bugs. */
  free(m: Mbuf): void {
    this.checkOwned(m);
    for (let s = m.firstSeg; s >= 0;) {
      const next = this.segNext[s]!;
      this.pushSeg(s);
      s = next;
    }
    m.detach();
    this.mbufFree[this.mbufFreeTop++] = m.index;
    this.frees++;
    this.inUse--;
  }

  /** Frees list[0..n). */
  freeBulk(list: readonly Mbuf[], n: number): void {
    for (let i = 0; i < n; i++) this.free(list[i]!);
  }

  /**
   * @internal Takes a free segment (caller checked segmentsFree) and makes it an empty chain end:
   * the one right after segment `after` in memory if that one is free, else the start of a free
   * run (takeFree).
   */
  popSeg(after = -1): number {
    const s = this.takeFree(after);
    this.segLen[s] = 0;
    this.segNext[s] = -1;
    this.segState[s] = SEG_LIVE;
    return s;
  }

  /** @internal Returns a segment to the free stack. */
  pushSeg(s: number): void {
    this.segNext[s] = -1;
    this.segState[s] = SEG_FREE;
    this.segFreePos[s] = this.segFreeTop;
    this.segFree[this.segFreeTop++] = s;
  }

  /**
   * Removes a free segment from the free stack (one is free): segment `after` + 1 when it is free,
   * else the lowest of the free run that holds the top of the stack. Chains built segment by segment (a TCP super-frame, the slots of one received
   * frame) then sit in consecutive buffers, so a copy of their bytes is one memcpy instead of one
   * per segment (Mbuf.run joins them): node's fill costs ~100 ns per call here, a third of the
   * time of 2 KiB copies. The allocator of a page pool prefers contiguous pages for the same reason.
   * `after` is a hint, any number: outside the pool it is ignored.
   */
  private takeFree(after: number): number {
    let n = after + 1;
    if (n < 1 || n >= this.segmentCount || this.segState[n] !== SEG_FREE) {
      // A new run: from the lowest free segment of the free run holding the top of the stack (a
      // bounded look down), so that the segments after it are free for the chain's next ones.
      const top = this.segFree[this.segFreeTop - 1]!;
      n = top;
      while (n > 0 && top - n < RUN_LOOKBACK && this.segState[n - 1] === SEG_FREE) n--;
      if (n === top) {
        this.segFreeTop--;
        return top;
      }
    }
    // Out of the middle of the stack: the top segment takes its place.
    const i = this.segFreePos[n]!;
    const top = this.segFree[--this.segFreeTop]!;
    this.segFree[i] = top;
    this.segFreePos[top] = i;
    return n;
  }

  /**
   * Lends a free segment out (a buffer put into a ring slot): its index, or -1 when none is free.
   * The one after segment `after` if that one is free (takeFree): a driver filling ring slots in
   * order passes the previous slot's buffer, so that a frame spanning slots lands in one run.
   */
  lendSeg(after = -1): number {
    if (this.segFreeTop === 0) return -1;
    const s = this.takeFree(after);
    this.segState[s] = SEG_LENT;
    this.segmentsLent++;
    return s;
  }

  /**
   * Takes a lent segment back into the free stack (a TX slot's old buffer). False, and nothing
   * changes, for an index outside the pool or a segment that is not lent (free or in an mbuf).
   */
  reclaimSeg(s: number): boolean {
    if (!this.isLent(s)) return false;
    this.segNext[s] = -1;
    this.segState[s] = SEG_FREE;
    this.segFreePos[s] = this.segFreeTop;
    this.segFree[this.segFreeTop++] = s;
    this.segmentsLent--;
    return true;
  }

  /** True if s is a segment of this pool that is lent out. */
  isLent(s: number): boolean {
    return s >>> 0 === s && s < this.segmentCount && this.segState[s] === SEG_LENT;
  }

  /**
   * An mbuf over lent segment s, holding its bytes [off, off + len) (a received slot's buffer
   * handed up). Null, and nothing changes, when no mbuf is free or s is not lent; off + len must
   * not exceed segmentSize.
   */
  wrapLent(s: number, off: number, len: number): Mbuf | null {
    if (this.mbufFreeTop === 0 || !this.isLent(s)) {
      this.failures++;
      return null;
    }
    const m = this.mbufs[this.mbufFree[--this.mbufFreeTop]!]!;
    this.takeLent(s, off, len);
    m.attach(s);
    m.length = len;
    this.allocs++;
    if (++this.inUse > this.highWater) this.highWater = this.inUse;
    return m;
  }

  /** Appends lent segment s, bytes [0, len), to m's chain (the next slot of a packet). False if s is not lent. */
  chainLent(m: Mbuf, s: number, len: number): boolean {
    if (m.pool !== this || !m.inUse || !this.isLent(s)) return false;
    this.takeLent(s, 0, len);
    this.segNext[m.lastSeg] = s;
    m.lastSeg = s;
    m.segCount++;
    m.length += len;
    return true;
  }

  /**
   * Lends every segment of m out (they now sit in TX slots) and returns the mbuf object: the
   * segments come back through reclaimSeg once their slots are reused.
   */
  lendChain(m: Mbuf): void {
    this.checkOwned(m);
    for (let s = m.firstSeg; s >= 0;) {
      const next = this.segNext[s]!;
      this.segNext[s] = -1;
      this.segState[s] = SEG_LENT;
      this.segmentsLent++;
      s = next;
    }
    m.detach();
    this.mbufFree[this.mbufFreeTop++] = m.index;
    this.frees++;
    this.inUse--;
  }

  private takeLent(s: number, off: number, len: number): void {
    this.segState[s] = SEG_LIVE;
    this.segmentsLent--;
    this.segStart[s] = s * this.segmentSize + off;
    this.segLen[s] = len;
    this.segNext[s] = -1;
  }
}
