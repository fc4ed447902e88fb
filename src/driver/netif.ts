// The ptnet network-interface mode (docs/SPEC.md §4): packets go between mbufs and netmap slots with
// the virtio-net header in front of the first slot of each packet. When the port lends extra
// buffers (extra-bufs.ts) the mbufs are netmap buffers and nothing is copied: a received slot's
// buffer goes up inside an mbuf and a free one takes its place, a transmitted mbuf's buffers are
// swapped into the TX slots, both marked NS_BUF_CHANGED (docs/SPEC.md §4.6; netmap's zero-copy
// buffer swapping, as Linux page flipping); otherwise the driver copies (ptnet_copy_to_ring).
// Transmit follows Linux ptnet_start_xmit (fill-and-chain with NS_MOREFRAG, publish per batch and at the end, kick
// only when the host asked, stop the queue and arm the TX interrupt when fewer than min_tx_slots
// are free, as FreeBSD's drain loop checks before each packet); receive follows ptnet_rx_poll
// (NAPI: budgeted, rewind to the packet's first slot when its fragments are not all there or no
// mbuf is free, re-arm the interrupt then re-check when the budget was not used up).

import { COPY_SITE, countCopy } from '../copycount/index.ts';
import { META_F_NEEDS_CSUM, META_GSO_NONE } from '../mbuf/index.ts';
import type { Mbuf, Mempool } from '../mbuf/index.ts';
import type { DeliverFn, NetIf, NetIfEvents, NetIfOffloads, TxResult } from '../netif/index.ts';
import { NO_OFFLOADS } from '../netif/index.ts';
import {
  NAF_FORCE_READ,
  NAF_FORCE_RECLAIM,
  NKR_PENDINTR,
  NS_BUF_CHANGED,
  NS_MOREFRAG,
  SLOT_WORDS,
  SLOT_W_BUF_IDX,
  SLOT_W_LEN_FLAGS,
  nmPrev,
  nmRingNext,
  nmRingSpace,
} from '../netmap/index.ts';
import {
  VNET_MAX_GSO_FRAME,
  VnetHdr,
  applyRxHdr,
  buildTxHdrMbuf,
  txHdrFromMeta,
  decodeVnetHdr,
  encodeVnetHdr,
} from '../vnethdr/index.ts';
import type { TxHdrOptions } from '../vnethdr/index.ts';
import { ETH_HLEN } from '../wire/index.ts';
import type { PtnetAdapter } from './adapter.ts';
import { returnExtraBufs, takeExtraBufs } from './extra-bufs.ts';
import type { GuestKring } from './kring.ts';
import { txQueueOf } from './netif-hash.ts';

/** Largest frame either way: a 64 KiB super-frame plus two VLAN tags. */
const MAX_FRAME = VNET_MAX_GSO_FRAME + 8;
/** A slot's flags as the high half of its len/flags word. */
const CHANGED_HI = NS_BUF_CHANGED << 16;
const CHANGED_MOREFRAG_HI = (NS_BUF_CHANGED | NS_MOREFRAG) << 16;
/** FreeBSD PTNET_TX_BATCH: publish at least every 64 packets of a burst. */
export const PTNET_TX_BATCH = 64;
/** After a poll that ran out of mbufs, rxReady comes back this much later (FreeBSD reschedules). */
export const PTNET_RX_RETRY_MS = 1;

export interface PtnetNetIfOptions {
  /**
   * Where received packets are copied to: all of them when the port lends no extra buffers (see
   * `pool`), else those that cannot be swapped (odd slot chains, or `pool` has run out of buffers
   * because the stack holds them).
   */
  rxPool: Mempool;
  name?: string;
  /** Default 1500. */
  mtu?: number;
  /** Packets between publications within a burst (default PTNET_TX_BATCH). */
  txBatch?: number;
  /** TSO frames with CWR go out with the ECN gso bit (Linux) instead of being dropped (FreeBSD). Default true. */
  allowEcn?: boolean;
  /**
   * NetIf.concurrentPeer (default false): the host side or the peer runs while this thread does.
   * The driver cannot see that through its registers; whoever plugs the device knows (Unikernel).
   */
  concurrentPeer?: boolean;
}

export interface PtnetNetIfCounters {
  txPackets: number;
  txBytes: number;
  /** transmit answered 'busy' (queue stopped). */
  txBusy: number;
  /**
   * Frames whose virtio-net header could not be built from their meta (FreeBSD drops these), or
   * that ask for an offload on a port without the header (none is advertised there).
   */
  txDropHdr: number;
  /** Frames shorter than Ethernet, over 64 KiB, or needing more slots than the ring has. */
  txDropSize: number;
  rxPackets: number;
  rxBytes: number;
  /** First slot shorter than the virtio-net header, or a frame shorter than Ethernet. */
  rxDropRunt: number;
  /** A slot length over the buffer size, or a packet over 64 KiB (host bug or hostile host). */
  rxDropBadLen: number;
  /** The received header was refused (virtio_net_hdr_to_skb). */
  rxDropHdr: number;
  /** A packet whose last fragment had not arrived: left in the ring for the next poll. */
  rxIncomplete: number;
  /** A NS_MOREFRAG chain filling every slot the host may write: its end can never come. */
  rxDropFrags: number;
  /** No mbuf or segment for a packet: left in the ring, rxReady raised again PTNET_RX_RETRY_MS later. */
  rxNoMbuf: number;
  /** Packets whose slot buffers went up inside the mbuf (no copy). */
  rxBorrowed: number;
  /** A slot buffer index given twice in one packet (a host bug): dropped. */
  rxDropBadBuf: number;
  /** Packets whose mbuf buffers were swapped into the TX slots (no copy). */
  txSwapped: number;
  /** A TX slot's old buffer was not one the driver lent (a host bug): forgotten, not reused. */
  txBadSlotBuf: number;
}

// rxOne results besides a new head index.
const RX_INCOMPLETE = -1;
const RX_NOMBUF = -2;

export class PtnetNetIf implements NetIf {
  readonly name: string;
  readonly mac: Uint8Array;
  readonly mtu: number;
  readonly offloads: Readonly<NetIfOffloads>;
  readonly concurrentPeer: boolean;
  /** TX/RX ring pairs used (Linux: min(T, R)). */
  readonly numQueues: number;
  readonly counters: PtnetNetIfCounters = {
    txPackets: 0,
    txBytes: 0,
    txBusy: 0,
    txDropHdr: 0,
    txDropSize: 0,
    rxPackets: 0,
    rxBytes: 0,
    rxDropRunt: 0,
    rxDropBadLen: 0,
    rxDropHdr: 0,
    rxIncomplete: 0,
    rxDropFrags: 0,
    rxNoMbuf: 0,
    rxBorrowed: 0,
    rxDropBadBuf: 0,
    txSwapped: 0,
    txBadSlotBuf: 0,
  };
  /**
   * The pool over the port's extra buffers, or null when the port lends none: mbufs the stack
   * allocates from it are transmitted without a copy, and received packets arrive in it.
   */
  readonly pool: Mempool | null;
  private readonly hdrLen: number;
  private readonly bufSize: number;
  private readonly rxPool: Mempool;
  private readonly txBatch: number;
  /** Free slots a TX ring must have to take a packet: min_tx_slots, or the whole ring if smaller. */
  private readonly txMinSpace: number;
  private readonly txHdrOpts: TxHdrOptions;
  private readonly txHdr = new VnetHdr();
  /** The header of a frame that is copied into its slots, until the ring has room for it. */
  private readonly hdrScratch: Uint8Array;
  private readonly rxHdr = new VnetHdr();
  /** Packets written but not yet published, per TX queue. */
  private readonly txPending: Uint32Array;
  private readonly txStopped: Uint8Array;
  private events: NetIfEvents | null = null;
  /** No poll is expected: the next RX interrupt raises rxReady. */
  private rxArmed = true;
  private rxNext = 0;
  private delivered = false;
  /** The current poll left a packet in a ring for want of an mbuf. */
  private rxStarved = false;
  private rxRetry: ReturnType<typeof setTimeout> | undefined;

  constructor(
    readonly adapter: PtnetAdapter,
    o: PtnetNetIfOptions,
  ) {
    this.name = o.name ?? 'ptnet0';
    this.mac = adapter.mac;
    this.mtu = o.mtu ?? 1500;
    this.concurrentPeer = o.concurrentPeer ?? false;
    this.hdrLen = adapter.vnetHdrLen;
    this.hdrScratch = new Uint8Array(this.hdrLen);
    this.bufSize = adapter.bufSize;
    // Headroom = the header: a frame built from offset hdrLen gets its header at buffer offset 0.
    this.pool = takeExtraBufs(adapter, adapter.vnetHdrLen);
    this.rxPool = o.rxPool;
    this.txBatch = o.txBatch ?? PTNET_TX_BATCH;
    // min_tx_slots = 65536 / buf_size + 2 holds any packet we send (64 KiB + header); on a ring
    // smaller than that, where the kernel would never transmit, one packet at a time.
    this.txMinSpace = Math.min(adapter.minTxSlots, adapter.numTxSlots - 1);
    const allowEcn = o.allowEcn ?? true;
    this.txHdrOpts = { allowEcn };
    this.numQueues = Math.min(adapter.numTxRings, adapter.numRxRings);
    // With the header: checksum offload and TSO both ways (VALE has no USO: gso_type 5 is "bad").
    this.offloads = Object.freeze(
      this.hdrLen === 0
        ? { ...NO_OFFLOADS }
        : { txCsum: true, rxCsum: true, tso4: true, tso6: true, tsoEcn: allowEcn, uso: false, rxGso: true },
    );
    this.txPending = new Uint32Array(this.numQueues);
    this.txStopped = new Uint8Array(this.numQueues);
    // Refused (MODE_BUSY) while a netmap-native port holds the rings.
    adapter.claim('netif');
    adapter.setInterruptCallback((ring) => this.interrupt(ring));
    // As when the last netmap client leaves (docs/SPEC.md §2.5 step 9): RX interrupts on, TX interrupts off.
    for (let q = 0; q < adapter.numTxRings; q++) adapter.krings[q]!.atok.applNeedKick = 0;
    for (let q = 0; q < adapter.numRxRings; q++)
      adapter.krings[adapter.numTxRings + q]!.atok.applNeedKick = 1;
  }

  /**
   * Installs the handlers. Packets already waiting (they arrived before, or while a netmap-native
   * port held the rings) are announced with one rxReady, outside this call.
   */
  setEvents(events: NetIfEvents | null): void {
    this.events = events;
    if (events === null || !this.rxArmed) return;
    for (let q = 0; q < this.adapter.numRxRings; q++) {
      const kr = this.adapter.krings[this.adapter.numTxRings + q]!;
      syncTail(kr);
      if (kr.rhead !== kr.hwtail) {
        this.rxArmed = false;
        queueMicrotask(this.retryRx);
        return;
      }
    }
  }

  /** Gives the rings back (a netmap-native port may open them); the NetIf is unusable after. */
  close(): void {
    this.publishAll();
    if (this.pool !== null) returnExtraBufs(this.adapter, this.pool);
    clearTimeout(this.rxRetry);
    this.rxRetry = undefined;
    this.events = null;
    this.adapter.release('netif');
  }

  /**
   * @mirrors netmap_ptnet.c:ptnet_start_xmit
   * @mirrors if_ptnet.c:ptnet_drain_transmit_queue
   */
  transmit(m: Mbuf, more = false): TxResult {
    // netdev_core_pick_tx: a single queue needs no flow hash.
    const q = this.numQueues === 1 ? 0 : txQueueOf(m, this.numQueues);
    const kr = this.adapter.krings[q]!;
    const len = m.length;
    let swap = m.pool === this.pool && this.swappable(m);
    const need = swap ? m.segCount : Math.ceil((this.hdrLen + len) / this.bufSize);
    if (len < ETH_HLEN || len > MAX_FRAME || need > kr.lim) {
      this.counters.txDropSize++;
      return this.dropTx(m, more);
    }
    if (this.hdrLen !== 0) {
      const fit = this.writeTxHdr(m, swap);
      if (fit < 0) {
        this.counters.txDropHdr++;
        return this.dropTx(m, more);
      }
      swap = fit === 1;
    } else if ((m.meta.flags & META_F_NEEDS_CSUM) !== 0 || m.meta.gsoType !== META_GSO_NONE) {
      this.counters.txDropHdr++;
      return this.dropTx(m, more);
    }
    // PTNET_TX_NOSPACE (FreeBSD ptnet_drain_transmit_queue): the space check before every packet.
    const minSpace = this.txMinSpace;
    if (nmRingSpace(kr.rhead, kr.hwtail, kr.numSlots) < minSpace) {
      syncTail(kr);
      if (nmRingSpace(kr.rhead, kr.hwtail, kr.numSlots) < minSpace) {
        // Stop the queue: publish what we hold, arm the interrupt, then look once more.
        this.publishAll();
        this.txStopped[q] = 1;
        kr.atok.applNeedKick = 1;
        syncTail(kr);
        if (nmRingSpace(kr.rhead, kr.hwtail, kr.numSlots) < minSpace) {
          this.counters.txBusy++;
          return 'busy';
        }
      }
    }
    if (this.txStopped[q] === 1) {
      // Room came back before the TX interrupt (netif_tx_wake_queue): no txRestart owed.
      this.txStopped[q] = 0;
      kr.atok.applNeedKick = 0;
    }
    if (swap) this.swapToRing(kr, m);
    else this.copyToRing(kr, m);
    this.counters.txPackets++;
    this.counters.txBytes += len;
    if (++this.txPending[q]! >= this.txBatch) this.publishTx(kr, q);
    if (!more) this.publishAll();
    return 'ok';
  }

  /**
   * The frame's virtio-net header, written where it goes: into the headroom of a frame lent as it
   * is (`swap`), else into hdrScratch, which copyToRing puts in the slot once the ring has room.
   * Copied from the stack's offload fields when they describe the frame (virtio_net_hdr_from_skb),
   * else built by parsing its headers, which may pull them up (m_pullup) and end the frame's fit.
   * Returns 1 when the frame is still lent as it is, 0 when it is to be copied, -1 to drop it.
   */
  private writeTxHdr(m: Mbuf, swap: boolean): number {
    const p = m.pool;
    const hl = this.hdrLen;
    const dst = swap ? p.data : this.hdrScratch;
    const at = swap ? m.firstSeg * p.segmentSize : 0;
    if (txHdrFromMeta(m.meta, p.data, m.dataOffset, m.headLength, m.length, dst, at, hl, this.txHdrOpts))
      return swap ? 1 : 0;
    if (buildTxHdrMbuf(m, this.txHdr, this.txHdrOpts) !== null) return -1;
    if (swap && this.swappable(m)) {
      encodeVnetHdr(this.txHdr, p.data, m.firstSeg * p.segmentSize, hl);
      return 1;
    }
    encodeVnetHdr(this.txHdr, this.hdrScratch, 0, hl);
    return 0;
  }

  /**
   * Whether m's buffers can go into TX slots as they are: the frame starts hdrLen bytes into its
   * first buffer (room for the header, which must sit at offset 0 as in any netmap slot) and
   * every further segment is a non-empty buffer from offset 0.
   */
  private swappable(m: Mbuf): boolean {
    const p = m.pool;
    const size = p.segmentSize;
    let s = m.firstSeg;
    if (p.segStart[s]! - s * size !== this.hdrLen) return false;
    for (s = p.segNext[s]!; s >= 0; s = p.segNext[s]!) {
      if (p.segStart[s] !== s * size || p.segLen[s] === 0) return false;
    }
    return true;
  }

  /**
   * Zero-copy transmit: the header goes into the headroom, then each of m's buffers replaces the
   * buffer of the next free slot (NS_BUF_CHANGED, NS_MOREFRAG on all but the last). The slot's old
   * buffer comes back to the pool: a slot in [head, hwtail) is the driver's, so the host is done
   * with whatever it holds (VALE copied it out, a pipe swapped it for the receiver's spare). m's
   * buffers return the same way when their slots come round again after hwtail has passed them,
   * which is netmap's txsync reclaim, without completions to track.
   */
  private swapToRing(kr: GuestKring, m: Mbuf): void {
    const p = this.pool!;
    const ring = kr.ring;
    // The header is already in the headroom at buffer offset 0 (swappable() checked it is exactly
    // that; transmit wrote it); the first slot's length covers it. The mbuf is lent as it is.
    const hdr = this.hdrLen;
    const first = m.firstSeg;
    // The slot's words straight, as the C driver writes slot->buf_idx and slot->len: buf_idx, and
    // len with flags above it in one word (a little-endian host, as SLOT_W_LEN_FLAGS says).
    const s32 = ring.slots32;
    let h = kr.rhead;
    for (let s = first; ;) {
      const w = h * SLOT_WORDS;
      const old = s32[w + SLOT_W_BUF_IDX]!;
      if (!(old >= NETMAP_RESERVED_BUFS && p.reclaimSeg(old))) this.counters.txBadSlotBuf++;
      s32[w + SLOT_W_BUF_IDX] = s;
      const len = s === first ? hdr + p.segLen[s]! : p.segLen[s]!;
      const next = p.segNext[s]!;
      if (next < 0) {
        s32[w + SLOT_W_LEN_FLAGS] = len | CHANGED_HI;
        break;
      }
      s32[w + SLOT_W_LEN_FLAGS] = len | CHANGED_MOREFRAG_HI;
      s = next;
      h = nmRingNext(h, kr.numSlots);
    }
    kr.rhead = kr.rcur = nmRingNext(h, kr.numSlots);
    p.lendChain(m);
    this.counters.txSwapped++;
  }

  /** ptnet_copy_to_ring: fill each buffer, NS_MOREFRAG on all but the last slot; m is freed. */
  private copyToRing(kr: GuestKring, m: Mbuf): void {
    const len = m.length;
    const ring = kr.ring;
    const bs = this.bufSize;
    let h = kr.rhead;
    let off = ring.slotBufOffset(h);
    let used = this.hdrLen;
    if (used !== 0) ring.bytes.set(this.hdrScratch, off);
    let src = 0;
    for (;;) {
      const k = bs - used < len - src ? bs - used : len - src;
      m.copyTo(ring.bytes, off + used, src, k);
      src += k;
      used += k;
      if (src === len) break;
      ring.setSlotLen(h, bs);
      ring.setSlotFlags(h, NS_MOREFRAG);
      h = nmRingNext(h, kr.numSlots);
      off = ring.slotBufOffset(h);
      used = 0;
    }
    ring.setSlotLen(h, used);
    ring.setSlotFlags(h, 0);
    countCopy(COPY_SITE.driverTx, len);
    kr.rhead = kr.rcur = nmRingNext(h, kr.numSlots);
    // The data was copied: no completion to track (Linux frees the skb at once).
    m.pool.free(m);
  }

  /** The end of a burst the stack sent with more = true: one publication and kick per queue. */
  flush(): void {
    this.publishAll();
  }

  poll(budget: number, deliver: DeliverFn): number {
    let n = 0;
    // Every RX ring, not only min(T, R) of them: Linux leaves extra RX rings without a NAPI
    // context (their packets would sit there forever); polling them costs nothing when empty.
    const nq = this.adapter.numRxRings;
    this.rxStarved = false;
    for (let k = 0; k < nq && n < budget; k++) n += this.rxPoll((this.rxNext + k) % nq, budget - n, deliver);
    this.rxNext = this.rxNext + 1 === nq ? 0 : this.rxNext + 1;
    if (n < budget) {
      // Below the budget every queue ran dry with its interrupt armed (the NAPI contract), unless
      // the pool ran out: the packet is still in the ring and no interrupt will announce it again,
      // so rxReady is raised later instead (ptnet_rx_eof's taskqueue reschedule).
      if (!this.rxStarved) {
        this.rxArmed = true;
        if (this.rxRetry !== undefined) {
          clearTimeout(this.rxRetry);
          this.rxRetry = undefined;
        }
      } else if (this.rxRetry === undefined) {
        this.rxRetry = setTimeout(this.retryRx, PTNET_RX_RETRY_MS);
        this.rxRetry.unref?.();
      }
    }
    return n;
  }

  private readonly retryRx = (): void => {
    this.rxRetry = undefined;
    if (this.events === null) this.rxArmed = true;
    else this.events.rxReady();
  };

  /** A dropped frame still ends a burst: publish if this was its last frame. */
  private dropTx(m: Mbuf, more: boolean): TxResult {
    m.pool.free(m);
    if (!more) this.publishAll();
    return 'ok';
  }

  /** The end of a burst: every queue publishes what it holds (the burst may span queues). */
  private publishAll(): void {
    for (let q = 0; q < this.numQueues; q++) this.publishTx(this.adapter.krings[q]!, q);
  }

  /** ptnet_ring_update with NAF_FORCE_RECLAIM, if anything is waiting. */
  private publishTx(kr: GuestKring, q: number): void {
    if (this.txPending[q] === 0) return;
    this.txPending[q] = 0;
    this.adapter.ringUpdate(kr, kr.rhead, NAF_FORCE_RECLAIM);
  }

  /**
   * ptnet_rx_poll for RX queue q.
   * @mirrors netmap_ptnet.c:ptnet_rx_poll
   */
  private rxPoll(q: number, budget: number, deliver: DeliverFn): number {
    const kr = this.adapter.krings[this.adapter.numTxRings + q]!;
    kr.flags &= ~NKR_PENDINTR;
    syncTail(kr);
    let head = kr.rhead;
    let n = 0;
    for (;;) {
      let stop = 0;
      while (n < budget && head !== kr.hwtail) {
        const r = this.pool !== null ? this.rxBorrow(kr, head, q, deliver) : this.rxOne(kr, head, q, deliver);
        if (r < 0) {
          stop = r;
          break;
        }
        head = r;
        if (this.delivered) n++;
      }
      if (n >= budget) break;
      // Ran dry (or stuck on a partial packet or no mbufs): arm the interrupt, then re-check.
      const seen = kr.hwtail;
      kr.atok.applNeedKick = 1;
      syncTail(kr);
      if (stop === RX_NOMBUF) {
        this.rxStarved = true;
        break;
      }
      if (kr.hwtail === seen) break;
      kr.atok.applNeedKick = 0;
    }
    if (head !== kr.rhead) this.adapter.ringUpdate(kr, head, NAF_FORCE_READ);
    return n;
  }

  /**
   * Zero-copy receive of the packet at slot `first`: each slot's buffer is handed up in the mbuf
   * and a free one from the pool takes its place (NS_BUF_CHANGED). Anything unusual (an incomplete
   * or bad chain, an empty slot, a buffer index the pool does not have lent, too few free buffers)
   * goes to rxOne, which copies into rxPool or drops, and counts. Returns as rxOne.
   */
  private rxBorrow(kr: GuestKring, first: number, q: number, deliver: DeliverFn): number {
    const ring = kr.ring;
    const pool = this.pool!;
    const hdr = this.hdrLen;
    const bs = this.bufSize;
    // Pass 1, touching nothing: the chain's end, its size, and whether every slot can be swapped.
    let h = first;
    let slots = 1;
    let len = ring.slotLen(h) - hdr;
    let ok = len > 0 && len + hdr <= bs && lentBuf(pool, ring.slotBufIdx(h));
    while (ok && (ring.slotFlags(h) & NS_MOREFRAG) !== 0) {
      h = nmRingNext(h, kr.numSlots);
      const l = ring.slotLen(h);
      ok = h !== kr.hwtail && l > 0 && l <= bs && lentBuf(pool, ring.slotBufIdx(h));
      len += l;
      slots++;
    }
    if (!ok || len < ETH_HLEN || len > MAX_FRAME || pool.segmentsFree < slots || pool.mbufsFree === 0)
      return this.rxOne(kr, first, q, deliver);
    // Pass 2: hand each buffer up, put a free one in its slot.
    h = first;
    const off = ring.slotBufOffset(h);
    if (hdr !== 0) decodeVnetHdr(ring.bytes, off, hdr, this.rxHdr);
    const m = pool.wrapLent(ring.slotBufIdx(h), hdr, ring.slotLen(h) - hdr)!;
    // Each slot gets the buffer after the previous slot's when free (a hint the pool checks): a
    // frame the host spreads over consecutive slots then lies in one run of memory.
    let lent = pool.lendSeg(ring.slotBufIdx(nmPrev(h, kr.numSlots - 1)));
    ring.setSlotBufIdx(h, lent);
    ring.setSlotFlags(h, NS_BUF_CHANGED);
    let dup = false;
    for (let k = 1; k < slots; k++) {
      h = nmRingNext(h, kr.numSlots);
      // The same index twice in one packet (a host bug): the packet is dropped, and this slot
      // gets a fresh buffer too, so that no slot keeps pointing into the pool.
      if (!pool.chainLent(m, ring.slotBufIdx(h), ring.slotLen(h))) dup = true;
      lent = pool.lendSeg(lent);
      ring.setSlotBufIdx(h, lent);
      ring.setSlotFlags(h, NS_BUF_CHANGED);
    }
    const next = nmRingNext(h, kr.numSlots);
    this.delivered = false;
    if (dup) {
      pool.free(m);
      this.counters.rxDropBadBuf++;
      return next;
    }
    if (hdr !== 0) {
      if (applyRxHdr(this.rxHdr, m.length, m.meta) !== null) {
        pool.free(m);
        this.counters.rxDropHdr++;
        return next;
      }
    } else {
      m.meta.clear();
    }
    m.meta.rxQueue = q;
    this.counters.rxPackets++;
    this.counters.rxBytes += m.length;
    this.counters.rxBorrowed++;
    this.delivered = true;
    deliver(m);
    return next;
  }

  /**
   * One packet from slot `first`: returns the slot after it (this.delivered says whether a packet
   * went up or was dropped), or RX_INCOMPLETE / RX_NOMBUF with nothing consumed.
   */
  private rxOne(kr: GuestKring, first: number, q: number, deliver: DeliverFn): number {
    const ring = kr.ring;
    const hdr = this.hdrLen;
    const bs = this.bufSize;
    this.delivered = false;
    let h = first;
    let len = ring.slotLen(h);
    let flags = ring.slotFlags(h);
    let bad = len > bs ? 1 : hdr !== 0 && len < hdr ? 2 : 0;
    const m = bad === 0 ? this.rxPool.alloc() : null;
    if (bad === 0 && m === null) return this.noMbuf();
    let off = ring.slotBufOffset(h);
    if (m !== null) {
      if (hdr !== 0) decodeVnetHdr(ring.bytes, off, hdr, this.rxHdr);
      if (!m.append(ring.bytes, off + hdr, len - hdr)) {
        m.pool.free(m);
        return this.noMbuf();
      }
    }
    while ((flags & NS_MOREFRAG) !== 0) {
      h = nmRingNext(h, kr.numSlots);
      if (h === kr.hwtail) {
        if (m !== null) m.pool.free(m);
        if (first === kr.rhead && nmRingNext(h, kr.numSlots) === first) {
          // The chain holds every slot the host may write (it never fills the one before our
          // published head): its end can never come. Drop it rather than stall the ring.
          this.counters.rxDropFrags++;
          return h;
        }
        this.counters.rxIncomplete++;
        return RX_INCOMPLETE;
      }
      len = ring.slotLen(h);
      flags = ring.slotFlags(h);
      if (bad !== 0 || m === null) continue;
      if (len > bs || m.length + len > MAX_FRAME) {
        bad = 1;
        continue;
      }
      off = ring.slotBufOffset(h);
      if (!m.append(ring.bytes, off, len)) {
        m.pool.free(m);
        return this.noMbuf();
      }
    }
    const next = nmRingNext(h, kr.numSlots);
    if (m === null || bad !== 0) {
      if (m !== null) m.pool.free(m);
      if (bad === 1) this.counters.rxDropBadLen++;
      else this.counters.rxDropRunt++;
      return next;
    }
    if (m.length < ETH_HLEN) {
      m.pool.free(m);
      this.counters.rxDropRunt++;
      return next;
    }
    if (hdr !== 0) {
      if (applyRxHdr(this.rxHdr, m.length, m.meta) !== null) {
        m.pool.free(m);
        this.counters.rxDropHdr++;
        return next;
      }
    } else {
      m.meta.clear();
    }
    m.meta.rxQueue = q;
    countCopy(COPY_SITE.driverRx, m.length);
    this.counters.rxPackets++;
    this.counters.rxBytes += m.length;
    this.delivered = true;
    deliver(m);
    return next;
  }

  private noMbuf(): number {
    this.counters.rxNoMbuf++;
    return RX_NOMBUF;
  }

  /**
   * MSI-X vector i: TX rings restart a stopped queue, RX rings schedule a poll.
   * @mirrors netmap_ptnet.c:ptnet_rx_intr
   * @mirrors netmap_ptnet.c:ptnet_tx_intr
   */
  private interrupt(ring: number): void {
    const t = this.adapter.numTxRings;
    if (ring < t) {
      if (ring < this.numQueues && this.txStopped[ring] === 1) {
        const kr = this.adapter.krings[ring]!;
        // Restart only with min_tx_slots free; otherwise stay armed (appl_need_kick is still 1,
        // so the host interrupts again when it frees more).
        syncTail(kr);
        if (nmRingSpace(kr.rhead, kr.hwtail, kr.numSlots) < this.txMinSpace) return;
        this.txStopped[ring] = 0;
        kr.atok.applNeedKick = 0;
        this.events?.txRestart();
      }
      return;
    }
    const kr = this.adapter.krings[ring]!;
    if (this.rxArmed) {
      // napi_schedule_prep succeeded: the poll will look at every queue.
      this.rxArmed = false;
      kr.atok.applNeedKick = 0;
      this.events?.rxReady();
    } else {
      kr.atok.applNeedKick = 1;
    }
  }
}

/** Buffers 0 and 1 are netmap's reserved ones: never the driver's, whatever a slot says. */
const NETMAP_RESERVED_BUFS = 2;

/** A buffer index the driver may take from a slot: one it lent, not a reserved one. */
function lentBuf(pool: Mempool, idx: number): boolean {
  return idx >= NETMAP_RESERVED_BUFS && pool.isLent(idx);
}

/**
 * ptnet_sync_tail: hwtail/hwcur from the CSB, and the ring's tail with them.
 * @mirrors netmap_kern.h:ptnet_sync_tail
 */
function syncTail(kr: GuestKring): void {
  kr.applRead();
  kr.rtail = kr.hwtail;
  kr.ring.tail = kr.hwtail;
}
