// Neighbour cache: the RFC 4861 §7.3 state machine (INCOMPLETE, REACHABLE, STALE, DELAY, PROBE)
// shared by ARP and NDP, as Linux shares net/core/neighbour.c between arp_tbl and nd_tbl. Packets
// awaiting resolution wait in a per-entry queue bounded in bytes like Linux's unres_qlen_bytes
// (and in packets). The protocol (ARP request or Neighbour
// Solicitation) is the owner's: the cache calls `solicit`, `flush` and `drop` hooks.
import type { Mbuf } from '../mbuf/index.ts';
import { StackError } from './errors.ts';
import type { Timer, TimerQueue } from './timer.ts';

export type NeighbourState = 'INCOMPLETE' | 'REACHABLE' | 'STALE' | 'DELAY' | 'PROBE';

export interface NeighbourParams {
  /** RFC 4861 §10 MAX_MULTICAST_SOLICIT (Linux mcast_solicit): 3. */
  maxMulticastSolicit: number;
  /** RFC 4861 §10 MAX_UNICAST_SOLICIT (Linux ucast_solicit): 3. */
  maxUnicastSolicit: number;
  /** RetransTimer, ms: 1000. */
  retransTimer: number;
  /** BaseReachableTime, ms: 30000; the actual value is randomised in [0.5, 1.5) of it. */
  baseReachableTime: number;
  /** DELAY_FIRST_PROBE_TIME, ms: 5000. */
  delayFirstProbeTime: number;
  /**
   * Packets queued per unresolved entry, oldest dropped first (RFC 4861 §7.2.2): Linux's unres_qlen
   * as derived from the byte bound, 212992 / SKB_TRUESIZE(1514) = 101.
   */
  queueLen: number;
  /**
   * Bytes of packet storage (the `truesize` hook) queued per unresolved entry: Linux's
   * unres_qlen_bytes, SK_WMEM_MAX = 212992 (__neigh_event_send drops from the head above it).
   */
  queueBytes: number;
  /** Entries held at most; a new entry evicts a STALE one or fails. */
  maxEntries: number;
}

export const DEFAULT_NEIGHBOUR_PARAMS: Readonly<NeighbourParams> = {
  maxMulticastSolicit: 3,
  maxUnicastSolicit: 3,
  retransTimer: 1000,
  baseReachableTime: 30000,
  delayFirstProbeTime: 5000,
  queueLen: 101,
  queueBytes: 212992,
  maxEntries: 1024,
};

export interface NeighbourHooks<K, P> {
  /** Send a solicitation for `key`: to `lladdr` (unicast probe) or broadcast/multicast when null. */
  solicit(key: K, lladdr: Uint8Array | null): void;
  /** Resolution succeeded: transmit a queued packet to `lladdr`. */
  flush(key: K, packet: P, lladdr: Uint8Array): void;
  /** A queued packet is discarded (queue overflow or failed resolution; RFC 4861 §7.2.2 ICMP unreachable). */
  drop(key: K, packet: P, reason: 'overflow' | 'failed'): void;
  /** Storage a queued packet pins (skb->truesize), charged against queueBytes; 0 when absent. */
  truesize?(packet: P): number;
}

/** The packet storage an mbuf pins (its segments), the queue charge Linux takes as skb->truesize. */
export function mbufTruesize(m: Mbuf): number {
  return m.segCount * m.pool.segmentSize;
}

export class NeighbourEntry<K, P> {
  state: NeighbourState = 'INCOMPLETE';
  /** 6-byte link-layer address, valid unless INCOMPLETE. */
  readonly lladdr = new Uint8Array(6);
  /** Solicitations sent in the current INCOMPLETE or PROBE phase. */
  probes = 0;
  /** REACHABLE lasts until this time (ms). */
  reachableUntil = 0;
  /** Whether the neighbour is a router (NDP IsRouter flag). */
  isRouter = false;
  /** Removed from the cache (Linux neigh->dead): a holder of the entry must look it up again. */
  dead = false;
  readonly queue: P[] = [];
  /** Sum of the queued packets' truesize (arp_queue_len_bytes). */
  queueBytes = 0;
  readonly timer: Timer;

  constructor(
    readonly key: K,
    timers: TimerQueue,
    onTimer: (e: NeighbourEntry<K, P>, now: number) => void,
  ) {
    this.timer = timers.timer((now) => onTimer(this, now));
  }
}

export interface NeighbourCounters {
  resolved: number;
  failed: number;
  queueDrops: number;
  evictions: number;
  /** Entries that could not be made because the cache was full of non-STALE entries. */
  tableFull: number;
}

export class NeighbourCache<K, P> {
  readonly entries = new Map<K, NeighbourEntry<K, P>>();
  readonly params: NeighbourParams;
  readonly counters: NeighbourCounters = {
    resolved: 0,
    failed: 0,
    queueDrops: 0,
    evictions: 0,
    tableFull: 0,
  };
  private readonly onTimer = (e: NeighbourEntry<K, P>, now: number): void => this.timeout(e, now);

  constructor(
    private readonly timers: TimerQueue,
    private readonly hooks: NeighbourHooks<K, P>,
    params: Partial<NeighbourParams> = {},
    /** Uniform [0,1) source for ReachableTime (RFC 4861 §6.3.2); injectable for tests. */
    private readonly random: () => number = Math.random,
  ) {
    this.params = { ...DEFAULT_NEIGHBOUR_PARAMS, ...params };
    const p = this.params;
    if (p.queueLen < 1 || p.maxEntries < 1 || !(p.queueBytes > 0)) {
      throw new StackError(
        'STACK_ARG',
        'neighbour cache needs queueLen >= 1, queueBytes > 0 and maxEntries >= 1',
      );
    }
  }

  get(key: K): NeighbourEntry<K, P> | undefined {
    return this.entries.get(key);
  }

  /** ReachableTime: BaseReachableTime times a uniform factor in [0.5, 1.5). */
  reachableTime(): number {
    return this.params.baseReachableTime * (0.5 + this.random());
  }

  /**
   * Output path (RFC 4861 §7.2.2 and §7.3.3): returns the link-layer address to send `packet` to
   * now, or null when the packet was queued (or dropped) pending resolution. A STALE entry moves
   * to DELAY and is used at once.
   */
  resolve(key: K, packet: P, now: number): Uint8Array | null {
    let e = this.entries.get(key);
    if (e === undefined) {
      e = this.create(key);
      if (e === undefined) {
        this.counters.queueDrops++;
        this.hooks.drop(key, packet, 'failed');
        return null;
      }
      e.state = 'INCOMPLETE';
      e.probes = 1;
      e.timer.arm(this.params.retransTimer);
      this.hooks.solicit(key, null);
    }
    switch (e.state) {
      case 'INCOMPLETE':
        this.enqueue(e, packet);
        return null;
      case 'REACHABLE':
        // Reachability is confirmed by time only: past its deadline the entry is STALE (Linux
        // neigh_timer_handler does the same lazily).
        if (now >= e.reachableUntil) this.toDelay(e);
        return e.lladdr;
      case 'STALE':
        this.toDelay(e);
        return e.lladdr;
      default:
        return e.lladdr;
    }
  }

  /** Upper-layer reachability confirmation (RFC 4861 §7.3.1, e.g. an ACK of new data). */
  confirm(key: K, now: number): void {
    const e = this.entries.get(key);
    if (e === undefined || e.state === 'INCOMPLETE') return;
    this.toReachable(e, now);
  }

  /**
   * A solicited or unsolicited advertisement (NDP NA per RFC 4861 §7.2.5; an ARP reply maps to
   * solicited=true, override=true). `lladdr` is null when the NA carried no target link-layer option.
   */
  advertisement(
    key: K,
    lladdr: Uint8Array | null,
    solicited: boolean,
    override: boolean,
    isRouter: boolean,
    now: number,
  ): void {
    const e = this.entries.get(key);
    if (e === undefined) return; // §7.2.5: no entry, silently discard.
    if (e.state === 'INCOMPLETE') {
      if (lladdr === null) return;
      e.lladdr.set(lladdr);
      e.isRouter = isRouter;
      if (solicited) this.toReachable(e, now);
      else this.toStale(e);
      this.counters.resolved++;
      this.flushQueue(e);
      return;
    }
    const different = lladdr !== null && !sameAddr(e.lladdr, lladdr);
    if (!override && different) {
      // §7.2.5: keep the cached address; a REACHABLE entry becomes STALE.
      if (e.state === 'REACHABLE') this.toStale(e);
      return;
    }
    if (different) e.lladdr.set(lladdr);
    e.isRouter = isRouter;
    if (solicited) this.toReachable(e, now);
    else if (different) this.toStale(e);
  }

  /**
   * A link-layer address learned from a solicitation (NS source option, RS, Redirect, or an ARP
   * request aimed at us), RFC 4861 §7.2.3 / Linux neigh_event_ns: create or update as STALE.
   */
  learned(key: K, lladdr: Uint8Array): void {
    let e = this.entries.get(key);
    if (e === undefined) {
      e = this.create(key);
      if (e === undefined) return;
      e.lladdr.set(lladdr);
      this.toStale(e);
      return;
    }
    if (e.state === 'INCOMPLETE') {
      e.lladdr.set(lladdr);
      this.toStale(e);
      this.counters.resolved++;
      this.flushQueue(e);
      return;
    }
    if (!sameAddr(e.lladdr, lladdr)) {
      e.lladdr.set(lladdr);
      this.toStale(e);
    }
  }

  /** Entries with a link-layer address (every state but INCOMPLETE), for a snapshot. */
  resolvedEntries(): NeighbourEntry<K, P>[] {
    const out: NeighbourEntry<K, P>[] = [];
    for (const e of this.entries.values()) if (e.state !== 'INCOMPLETE') out.push(e);
    return out;
  }

  /** Removes an entry; queued packets are dropped as failed. */
  delete(key: K): void {
    const e = this.entries.get(key);
    if (e === undefined) return;
    this.fail(e);
  }

  private create(key: K): NeighbourEntry<K, P> | undefined {
    if (this.entries.size >= this.params.maxEntries && !this.evictStale()) {
      this.counters.tableFull++;
      return undefined;
    }
    const e = new NeighbourEntry<K, P>(key, this.timers, this.onTimer);
    this.entries.set(key, e);
    return e;
  }

  /** Forced garbage collection (Linux neigh_forced_gc): drop one STALE entry. */
  private evictStale(): boolean {
    for (const e of this.entries.values()) {
      if (e.state === 'STALE') {
        e.timer.cancel();
        this.entries.delete(e.key);
        e.dead = true;
        this.counters.evictions++;
        return true;
      }
    }
    return false;
  }

  /** Queues behind resolution, dropping the oldest while over either bound (__neigh_event_send). */
  private enqueue(e: NeighbourEntry<K, P>, packet: P): void {
    const p = this.params;
    const size = this.hooks.truesize?.(packet) ?? 0;
    while (e.queue.length > 0 && (e.queue.length >= p.queueLen || e.queueBytes + size > p.queueBytes)) {
      const old = e.queue.shift()!;
      e.queueBytes -= this.hooks.truesize?.(old) ?? 0;
      this.counters.queueDrops++;
      this.hooks.drop(e.key, old, 'overflow');
    }
    e.queue.push(packet);
    e.queueBytes += size;
  }

  private flushQueue(e: NeighbourEntry<K, P>): void {
    e.queueBytes = 0;
    while (e.queue.length > 0) this.hooks.flush(e.key, e.queue.shift()!, e.lladdr);
  }

  private toReachable(e: NeighbourEntry<K, P>, now: number): void {
    e.state = 'REACHABLE';
    e.probes = 0;
    e.reachableUntil = now + this.reachableTime();
    e.timer.armAt(e.reachableUntil);
  }

  private toStale(e: NeighbourEntry<K, P>): void {
    e.state = 'STALE';
    e.probes = 0;
    // A STALE entry needs no timer: it changes only when used (RFC 4861 §7.3.3).
    e.timer.cancel();
  }

  private toDelay(e: NeighbourEntry<K, P>): void {
    e.state = 'DELAY';
    e.probes = 0;
    e.timer.arm(this.params.delayFirstProbeTime);
  }

  private fail(e: NeighbourEntry<K, P>): void {
    e.timer.cancel();
    this.entries.delete(e.key);
    e.dead = true;
    e.queueBytes = 0;
    while (e.queue.length > 0) this.hooks.drop(e.key, e.queue.shift()!, 'failed');
  }

  private timeout(e: NeighbourEntry<K, P>, now: number): void {
    const p = this.params;
    switch (e.state) {
      case 'INCOMPLETE':
        if (e.probes >= p.maxMulticastSolicit) {
          this.counters.failed++;
          this.fail(e);
          return;
        }
        e.probes++;
        e.timer.arm(p.retransTimer);
        this.hooks.solicit(e.key, null);
        return;
      case 'REACHABLE':
        if (now >= e.reachableUntil) this.toStale(e);
        else e.timer.armAt(e.reachableUntil);
        return;
      case 'DELAY':
        // §7.3.3: no confirmation within DELAY_FIRST_PROBE_TIME: start unicast probes.
        e.state = 'PROBE';
        e.probes = 1;
        e.timer.arm(p.retransTimer);
        this.hooks.solicit(e.key, e.lladdr);
        return;
      case 'PROBE':
        if (e.probes >= p.maxUnicastSolicit) {
          this.counters.failed++;
          this.fail(e);
          return;
        }
        e.probes++;
        e.timer.arm(p.retransTimer);
        this.hooks.solicit(e.key, e.lladdr);
        return;
      case 'STALE':
        return;
    }
  }
}

function sameAddr(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
