// The VALE forwarding table (netmap_vale.c netmap_vale_learning / nm_vale_rthash): a bounded,
// direct-mapped hash of MAC → port, learnt from source addresses. A colliding MAC simply evicts
// the older entry, so the table never grows. It lives in shared Int32 words so that every sender
// thread learns into, and looks up from, the same table.

import { HostError } from './errors.ts';

/** Buckets (NM_BDG_HASH). */
export const FDB_BUCKETS = 1024;
/** Int32 words per bucket: MAC bytes 2..5, then (MAC bytes 0..1 << 16) | (port + 1). */
export const FDB_WORDS = 2;
/** Words the table takes: the buckets, then a generation counter bumped by every change. */
export const FDB_TOTAL_WORDS = FDB_BUCKETS * FDB_WORDS + 1;
/** lookup() result when the frame must be flooded (broadcast, multicast or unknown unicast). */
export const FDB_FLOOD = -1;

/**
 * Bucket of the 6-byte MAC at buf[off]: an FNV-1a style mix, reduced to the table size.
 * @mirrors netmap_vale.c:nm_vale_rthash
 */
function bucket(buf: Uint8Array, off: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < 6; i++) h = Math.imul(h ^ buf[off + i]!, 0x01000193);
  return (h ^ (h >>> 16)) & (FDB_BUCKETS - 1);
}

function macLo(buf: Uint8Array, off: number): number {
  return (buf[off + 2]! << 24) | (buf[off + 3]! << 16) | (buf[off + 4]! << 8) | buf[off + 5]! | 0;
}
function macHi(buf: Uint8Array, off: number): number {
  return (buf[off]! << 8) | buf[off + 1]!;
}

export class ForwardingTable {
  private readonly gen: number;

  /** `words` must hold FDB_TOTAL_WORDS Int32 words from `base` (zeroed = empty). */
  constructor(
    readonly words: Int32Array,
    readonly base: number,
  ) {
    this.gen = base + FDB_BUCKETS * FDB_WORDS;
  }

  /**
   * The bucket of the MAC at mac[off]: two MACs in one bucket evict each other. Throws HostError
   * HOST_ARG when mac holds no 6 bytes at off.
   */
  static bucketOf(mac: Uint8Array, off = 0): number {
    if (!Number.isInteger(off) || off < 0 || off + 6 > mac.length)
      throw new HostError('HOST_ARG', `bucketOf: no MAC at ${off} of ${mac.length} bytes`, off);
    return bucket(mac, off);
  }

  /** Changes with every entry written or forgotten: a lookup cached under one value still holds. */
  generation(): number {
    return Atomics.load(this.words, this.gen);
  }

  /**
   * Learns the source MAC at buf[off + 6] for `port` unless it is a group address (netmap learns
   * only unicast sources). The low word is written between an invalidation and the final high word
   * so a concurrent reader sees either the old entry, the new one, or a miss.
   * @mirrors netmap_vale.c:netmap_vale_learning
   */
  learn(buf: Uint8Array, off: number, port: number): void {
    const src = off + 6;
    if ((buf[src]! & 1) !== 0) return;
    const w = this.base + bucket(buf, src) * FDB_WORDS;
    const lo = macLo(buf, src);
    const hiPort = (macHi(buf, src) << 16) | (port + 1) | 0;
    if (Atomics.load(this.words, w) === lo && Atomics.load(this.words, w + 1) === hiPort) return;
    Atomics.store(this.words, w + 1, 0);
    Atomics.store(this.words, w, lo);
    Atomics.store(this.words, w + 1, hiPort);
    Atomics.add(this.words, this.gen, 1);
  }

  /**
   * Destination port of the frame at buf[off] (destination MAC first), or FDB_FLOOD.
   * @mirrors netmap_vale.c:netmap_vale_learning
   */
  lookup(buf: Uint8Array, off: number): number {
    if ((buf[off]! & 1) !== 0) return FDB_FLOOD;
    const w = this.base + bucket(buf, off) * FDB_WORDS;
    const hiPort = Atomics.load(this.words, w + 1);
    if (hiPort === 0) return FDB_FLOOD;
    const lo = Atomics.load(this.words, w);
    if (Atomics.load(this.words, w + 1) !== hiPort) return FDB_FLOOD;
    if (lo !== macLo(buf, off) || hiPort >>> 16 !== macHi(buf, off)) return FDB_FLOOD;
    return (hiPort & 0xffff) - 1;
  }

  /** Forgets every entry of `port` (port detach, like netmap_vale's hash cleanup). */
  forgetPort(port: number): void {
    for (let i = 0; i < FDB_BUCKETS; i++) {
      const w = this.base + i * FDB_WORDS + 1;
      const v = Atomics.load(this.words, w);
      if (v !== 0 && (v & 0xffff) - 1 === port) Atomics.compareExchange(this.words, w, v, 0);
    }
    Atomics.add(this.words, this.gen, 1);
  }
}
