// IP fragment reassembly shared by IPv4 and IPv6, as Linux shares inet_fragment.c between
// ip_fragment.c and reassembly.c. Each datagram is a queue keyed by (src, dst, id, proto) holding
// the received byte ranges (RFC 815's hole list, inverted) and a payload buffer. Policy follows
// Linux inet_frag_queue_insert: a fragment wholly inside received data is a duplicate and is
// dropped alone; any other overlap kills the whole datagram (RFC 5722; Linux does the same for
// IPv4 since 4.19). Memory is bounded per datagram (64 KiB of payload, a fragment count) and
// globally (ipfrag_high_thresh: new fragments are refused above it); a queue lives `timeout` ms
// from its first fragment (ip_expire), and the owner is told so it can send ICMP time exceeded
// when the first fragment had arrived.
import { StackError } from './errors.ts';
import type { Timer, TimerQueue } from './timer.ts';

export interface ReasmParams {
  /** Queue lifetime from the first fragment, ms (IPv4 ipfrag_time 30 s; IPv6 RFC 8200 60 s). */
  timeout: number;
  /** Global memory bound in bytes (Linux ipfrag_high_thresh: 4 MiB). */
  highThresh: number;
  /** Largest reassembled payload (IPv4: 65535 - header; IPv6: 65535). */
  maxPayload: number;
  /** Fragments one datagram may take before it is dropped (a bound on tiny-fragment floods). */
  maxFragments: number;
  /** Datagrams in reassembly at once. */
  maxQueues: number;
}

export const DEFAULT_REASM_PARAMS: Readonly<ReasmParams> = {
  timeout: 30_000,
  highThresh: 4 << 20,
  maxPayload: 65535,
  maxFragments: 512,
  maxQueues: 1024,
};

/** Named drop and event counters (IPSTATS_MIB_REASM*). */
export class ReasmCounters {
  /** Fragments received (ReasmReqds). */
  reqds = 0;
  /** Datagrams reassembled (ReasmOKs). */
  oks = 0;
  /** Datagrams abandoned for any reason below (ReasmFails). */
  fails = 0;
  timeouts = 0;
  /** Datagrams killed because a fragment partly overlapped received data (ReasmOverlaps). */
  overlaps = 0;
  /** Fragments wholly inside received data, dropped alone. */
  duplicates = 0;
  /** Fragments refused because global memory was over highThresh or the queue table was full. */
  memoryDrops = 0;
  /** Fragments ending past maxPayload. */
  tooBig = 0;
  /** Non-last fragments whose length is not a multiple of 8, or empty ones. */
  badLength = 0;
  /** Datagrams whose fragments disagree on the total length. */
  badTotal = 0;
  /** Datagrams over maxFragments. */
  tooManyFragments = 0;
}

export class ReasmQueue {
  /** Received ranges as sorted, merged [start, end) pairs. */
  ranges: number[] = [];
  /** Total payload length, -1 until the last fragment arrived. */
  total = -1;
  data: Uint8Array = EMPTY;
  fragments = 0;
  /** The first fragment's packet (headers and start of data), kept for the rebuilt header and ICMP quotes. */
  first: Uint8Array | null = null;
  /** Bytes of header (IPv4 header; IPv6 unfragmentable part + fragment header) in `first`. */
  firstHdrLen = 0;
  /** Upper protocol / next header the fragments carry. */
  proto = 0;
  mem = 0;
  readonly timer: Timer;
  constructor(
    readonly key: string,
    timers: TimerQueue,
    onTimer: (q: ReasmQueue) => void,
  ) {
    this.timer = timers.timer(() => onTimer(this));
  }
  /** All bytes [0, total) are in and the first fragment's header is known. */
  get complete(): boolean {
    return (
      this.total >= 0 &&
      this.first !== null &&
      this.ranges.length === 2 &&
      this.ranges[0] === 0 &&
      this.ranges[1] === this.total
    );
  }
}

const EMPTY = new Uint8Array(0);

export type ReasmResult = 'queued' | 'complete' | 'dropped';

export class Reassembler {
  readonly params: ReasmParams;
  readonly counters = new ReasmCounters();
  private readonly queues = new Map<string, ReasmQueue>();
  /** Bytes held by all queues. */
  mem = 0;
  private readonly onTimer = (q: ReasmQueue): void => this.expire(q);

  constructor(
    private readonly timers: TimerQueue,
    /** Called when a datagram times out, before its memory is released. */
    private readonly onTimeout: (q: ReasmQueue) => void,
    params: Partial<ReasmParams> = {},
  ) {
    this.params = { ...DEFAULT_REASM_PARAMS, ...params };
    const p = this.params;
    if (!(p.timeout > 0 && p.highThresh > 0 && p.maxPayload > 0 && p.maxFragments > 0 && p.maxQueues > 0)) {
      throw new StackError('STACK_ARG', 'reassembly limits must be positive');
    }
  }

  get queueCount(): number {
    return this.queues.size;
  }

  /**
   * Adds one fragment: payload buf[off, off+len) at byte `offset`; `more` is the MF flag. When
   * offset is 0, `pkt[pktOff, pktOff + hdrLen)` is the header to keep (with up to `quoteLen` bytes
   * of the packet for ICMP quotes). Returns 'complete' with the queue in `done`, 'queued' or
   * 'dropped' (counted). A completed queue must be handed back with release().
   */
  add(
    key: string,
    proto: number,
    offset: number,
    more: boolean,
    buf: Uint8Array,
    off: number,
    len: number,
    pktOff: number,
    hdrLen: number,
    quoteLen: number,
  ): ReasmResult {
    const c = this.counters;
    const p = this.params;
    c.reqds++;
    const end = offset + len;
    let q = this.queues.get(key);
    if ((more && (len & 7) !== 0) || len === 0) {
      c.badLength++;
      if (q !== undefined) this.kill(q);
      return 'dropped';
    }
    if (end > p.maxPayload) {
      c.tooBig++;
      if (q !== undefined) this.kill(q);
      return 'dropped';
    }
    if (q === undefined) {
      if (this.queues.size >= p.maxQueues || this.mem >= p.highThresh) {
        c.memoryDrops++;
        return 'dropped';
      }
      q = new ReasmQueue(key, this.timers, this.onTimer);
      q.proto = proto;
      this.queues.set(key, q);
      q.timer.arm(p.timeout);
    }
    if (proto !== q.proto) {
      c.badTotal++;
      this.kill(q);
      return 'dropped';
    }
    // The last fragment fixes the length; data past it, or a second different end, is corrupt (ip_frag_queue).
    const r = q.ranges;
    const maxEnd = r.length === 0 ? 0 : r[r.length - 1]!;
    if (!more) {
      if ((q.total >= 0 && end !== q.total) || end < maxEnd) {
        c.badTotal++;
        this.kill(q);
        return 'dropped';
      }
    } else if (q.total >= 0 && end > q.total) {
      c.badTotal++;
      this.kill(q);
      return 'dropped';
    }
    // Overlap policy (inet_frag_queue_insert): duplicate or overlap.
    let at = 0;
    while (at < r.length && r[at + 1]! <= offset) at += 2;
    if (at < r.length && r[at]! < end) {
      if (offset >= r[at]! && end <= r[at + 1]!) {
        c.duplicates++;
        return 'dropped';
      }
      c.overlaps++;
      this.kill(q);
      return 'dropped';
    }
    if (q.fragments >= p.maxFragments) {
      c.tooManyFragments++;
      this.kill(q);
      return 'dropped';
    }
    // Memory: grow the payload buffer (powers of two up to maxPayload).
    let grow = 0;
    let size = q.data.length;
    if (end > size) {
      size = Math.max(size, 2048);
      while (size < end) size *= 2;
      if (size > p.maxPayload) size = p.maxPayload;
      grow = size - q.data.length;
    }
    // The whole header is kept even when it is longer than the quote (big IPv6 option headers).
    const firstCopy = offset === 0 ? Math.min(Math.max(quoteLen, hdrLen), buf.length - pktOff) : 0;
    if (this.mem + grow + firstCopy > p.highThresh) {
      c.memoryDrops++;
      return 'dropped';
    }
    q.fragments++;
    if (grow > 0) {
      const d = new Uint8Array(size);
      d.set(q.data);
      q.data = d;
      q.mem += grow;
      this.mem += grow;
    }
    q.data.set(buf.subarray(off, off + len), offset);
    if (offset === 0) {
      q.first = buf.slice(pktOff, pktOff + firstCopy);
      q.firstHdrLen = hdrLen;
      q.mem += firstCopy;
      this.mem += firstCopy;
    }
    if (!more) q.total = end;
    // Insert [offset, end) at `at`, merging with touching neighbours.
    const joinPrev = at > 0 && r[at - 1] === offset;
    const joinNext = at < r.length && r[at] === end;
    if (joinPrev && joinNext) r.splice(at - 1, 2);
    else if (joinPrev) r[at - 1] = end;
    else if (joinNext) r[at] = offset;
    else r.splice(at, 0, offset, end);
    if (!q.complete) return 'queued';
    c.oks++;
    this.done = q;
    return 'complete';
  }

  /** The queue add() completed last. */
  done: ReasmQueue | null = null;

  /** Frees a completed queue. */
  release(q: ReasmQueue): void {
    this.drop(q);
    if (this.done === q) this.done = null;
  }

  /** Abandons a datagram (counted as a failure). */
  private kill(q: ReasmQueue): void {
    this.counters.fails++;
    this.drop(q);
  }

  private drop(q: ReasmQueue): void {
    q.timer.cancel();
    if (this.queues.get(q.key) === q) this.queues.delete(q.key);
    this.mem -= q.mem;
    q.mem = 0;
  }

  private expire(q: ReasmQueue): void {
    this.counters.timeouts++;
    this.onTimeout(q);
    this.kill(q);
  }
}
