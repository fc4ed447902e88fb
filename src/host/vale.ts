// The VALE software switch's datapath (netmap_vale.c; the control plane is vale-switch.ts, as
// netmap_bdg.c): N ports sharing one netmap region, forwarding in the
// sender's txsync (nm_vale_preflush → nm_vale_flush): learn the source MAC, look up the
// destination, then per destination port take its RX kring lock once and copy the batch in,
// converting the virtio-net header where the two ports' lengths differ (docs/SPEC.md §5). All switch state
// (port table, krings, forwarding table) lives in one SharedArrayBuffer, so the sender's txsync
// runs the same in the guest's thread (inline kloop) or in a kloop worker.

import { CSUM_MANGLED_0, csumAdd, csumFinish, csumPartial, swab16 } from '../checksum/index.ts';
import { COPY_SITE, countCopy } from '../copycount/index.ts';
import { NETMAP_MAX_FRAGS, NS_MOREFRAG, NS_NO_LEARN } from '../netmap/constants.ts';
import { RING_SLOTS } from '../netmap/layout.ts';
import { SLOT_WORDS, SLOT_W_BUF_IDX, SLOT_W_LEN_FLAGS } from '../netmap/ring-view.ts';
import { type GsoHeader, SegmentList, gsoSegment } from '../tso/index.ts';
import { HostError } from './errors.ts';
import { KR, type Kring } from './kring.ts';
import { DROP, PC } from './port-layout.ts';
import { type ValeShared, PortDatapath } from './port.ts';
import { RegionView, type RingsShared } from './region-view.ts';
import { FDB_FLOOD, ForwardingTable } from './vale-fdb.ts';
import {
  type Geometry,
  R_ACTIVE,
  R_GEN,
  R_NIFP,
  R_NRX,
  R_NTX,
  R_RINGS,
  R_RXSLOTS,
  R_TXSLOTS,
  SW_GEN,
  VALE_BATCH,
  VALE_MAX_SLOTS,
  geometry,
} from './vale-layout.ts';
import {
  VIRTIO_NET_HDR_F_NEEDS_CSUM,
  VIRTIO_NET_HDR_GSO_NONE,
  VNET_OFF_CSUM_OFFSET,
  VNET_OFF_CSUM_START,
  VNET_OFF_FLAGS,
  VNET_OFF_GSO_SIZE,
  VNET_OFF_GSO_TYPE,
  VNET_OFF_HDR_LEN,
} from '../vnethdr/constants.ts';
import { convertVnetHdr, vnetHdrIsBad } from './vnet-convert.ts';
import { GsoScratch } from './vale-gso-scratch.ts';
import { ETH_HLEN } from '../wire/constants.ts';

/** One thread's view of a switch: the shared words plus datapaths built lazily per port. */
export class ValeView {
  readonly words: Int32Array;
  readonly view: RegionView;
  readonly fdb: ForwardingTable;
  readonly g: Geometry;
  /** Segmentation scratch in the region's memory, when the switch made one (vale-gso-scratch.ts). */
  readonly gso: GsoScratch | null;
  private readonly cache: (ValeDatapath | null)[];
  private readonly cacheGen: Int32Array;
  private seenGen = -1;
  /** Active port indices, rebuilt when the switch generation moves. */
  private active: number[] = [];

  constructor(readonly shared: Omit<ValeShared, 'port' | 'kind'>) {
    this.g = geometry(shared.maxPorts, shared.maxRings);
    this.words = new Int32Array(shared.switchState);
    this.view = new RegionView(shared.region);
    this.gso =
      shared.gsoScratch === undefined ? null : new GsoScratch(shared.region.buffer, shared.gsoScratch);
    this.fdb = new ForwardingTable(this.words, this.g.fdbBase);
    this.cache = new Array<ValeDatapath | null>(shared.maxPorts).fill(null);
    this.cacheGen = new Int32Array(shared.maxPorts);
  }

  rec(p: number): number {
    return this.g.recBase + p * this.g.recWords;
  }
  ctl(p: number): number {
    return this.g.stateBase + p * this.g.stateWords;
  }

  /** Ports attached now (the array is reused until the switch changes). */
  ports(): readonly number[] {
    const gen = Atomics.load(this.words, SW_GEN);
    if (gen !== this.seenGen) {
      this.seenGen = gen;
      const a: number[] = [];
      for (let p = 0; p < this.g.maxPorts; p++)
        if (Atomics.load(this.words, this.rec(p) + R_ACTIVE) !== 0) a.push(p);
      this.active = a;
    }
    return this.active;
  }

  /** This thread's datapath of port p, or null if p is not attached. */
  get(p: number): ValeDatapath | null {
    const r = this.rec(p);
    if (Atomics.load(this.words, r + R_ACTIVE) === 0) return null;
    const gen = Atomics.load(this.words, r + R_GEN);
    let dp = this.cache[p] ?? null;
    if (dp === null || this.cacheGen[p] !== gen) {
      dp = new ValeDatapath(this, p, this.ringsOf(p));
      this.cache[p] = dp;
      this.cacheGen[p] = gen;
    }
    return dp;
  }

  /** Installs a datapath built by the switch owner (so its localWake is the one used here). */
  adopt(dp: ValeDatapath): void {
    this.cache[dp.port] = dp;
    this.cacheGen[dp.port] = Atomics.load(this.words, this.rec(dp.port) + R_GEN);
  }

  ringsOf(p: number): RingsShared {
    const w = this.words;
    const r = this.rec(p);
    const ntx = w[r + R_NTX]!;
    const nrx = w[r + R_NRX]!;
    const tx: number[] = [];
    const rx: number[] = [];
    for (let i = 0; i < ntx; i++) tx.push(w[r + R_RINGS + i]!);
    for (let i = 0; i < nrx; i++) rx.push(w[r + R_RINGS + this.g.maxRings + i]!);
    return {
      nifpOfs: w[r + R_NIFP]!,
      txRingOfs: tx,
      rxRingOfs: rx,
      txSlots: w[r + R_TXSLOTS]!,
      rxSlots: w[r + R_RXSLOTS]!,
    };
  }
}

/** The datapath of one VALE port. */
export class ValeDatapath extends PortDatapath {
  // Batch of packets taken from one TX ring (nm_vale_preflush's ft[]), allocated once.
  private readonly bFirst = new Int32Array(VALE_BATCH);
  private readonly bFrags = new Int32Array(VALE_BATCH);
  private readonly bLen = new Int32Array(VALE_BATCH);
  private readonly bDst = new Int32Array(VALE_BATCH);
  /** The first slot's buffer index and length as preflush validated them (ft_buf / ft_len). */
  private readonly bBuf = new Int32Array(VALE_BATCH);
  private readonly bLen0 = new Int32Array(VALE_BATCH);
  /**
   * Every fragment's buffer index and length as preflush validated them, per TX ring and slot
   * (netmap's ft_buf / ft_len per slot): the copies use these, never a second read of a slot
   * the guest may rewrite meanwhile from another thread.
   */
  private readonly ftBufs: Int32Array[] = [];
  private readonly ftLens: Uint16Array[] = [];
  /** Offload verdict toward header-less ports: source-side drops are counted once per packet. */
  private readonly bBad = new Uint8Array(VALE_BATCH);
  private bCount = 0;
  // Per flush: this port's header length, and the destination's values read once under its lock
  // (btail and free room are kept here and stored back before unlock).
  private shl = 0;
  private dHdr = 0;
  private dMfs = 0;
  private dTail = 0;
  private dFree = 0;
  /** Frame bytes flushVerbatim delivered (its second result). */
  private fBytes = 0;
  // netmap's last_smac: a burst from one source learns once.
  private lastSrcLo = 0;
  private lastSrcHi = -1;
  /** The table's generation when this port last learnt (or found) its source there. */
  private lastSrcGen = -1;
  // The last destination looked up, valid for one table generation.
  private lastDstLo = 0;
  private lastDstHi = -1;
  private lastGen = -1;
  private lastDst = FDB_FLOOD;
  // Software segmentation state, made on the first GSO frame toward a header-less port.
  private gsoOut: SegmentList | undefined;
  /** The receiver's slot buffers offered to the segmenter (region buffer offsets). */
  private gsoPlaces: Int32Array | undefined;
  private readonly gsoHdr: GsoHeader = {
    flags: 0,
    gsoType: 0,
    hdrLen: 0,
    gsoSize: 0,
    csumStart: 0,
    csumOffset: 0,
  };

  constructor(
    readonly sw: ValeView,
    readonly port: number,
    rings: RingsShared,
  ) {
    super(sw.view, rings, sw.shared.switchState, sw.ctl(port));
  }

  /** VALE never back-pressures: a full destination ring drops (nm_vale_flush). */
  override get rxDropsWhenFull(): boolean {
    return true;
  }

  /**
   * netmap_vale_vp_txsync: consume [hwcur, rhead) in batches, forwarding each packet; VALE never
   * back-pressures, so the TX ring is always completed (hwtail = prev(hwcur)) and packets that
   * find no room are dropped. A chain still open at rhead stays for the next sync.
   * @mirrors netmap_vale.c:netmap_vale_vp_txsync
   */
  txsync(ring: number, _flags: number): void {
    const tx = this.krings[ring]!;
    // The kloop's own words (Kring.ownHwcur).
    const head = tx.ownRhead;
    let j = tx.ownHwcur;
    let taken = 0;
    this.shl = this.vnetHdrLen;
    while (j !== head) {
      j = this.preflush(ring, tx, j, head);
      taken += this.bCount;
      this.flush(ring);
      // A batch that is not full stopped at head, or at a chain still open at head.
      if (this.bCount < VALE_BATCH) break;
    }
    if (taken !== 0) Atomics.add(this.state, tx.base + KR.PKTS, taken);
    tx.hwcur = j;
    tx.hwtail = tx.prev(j);
  }

  /**
   * Fills the batch from slot j; returns where it stopped. Slot fields are read once, straight
   * from the region's words and halves, and the first slot's buffer and length kept for the
   * flush (netmap's ft_buf / ft_len), so a slot the guest rewrites meanwhile is never read back.
   * @mirrors netmap_vale.c:nm_vale_preflush
   */
  private preflush(ring: number, tx: Kring, j: number, head: number): number {
    const v = this.view;
    const u8 = v.u8;
    const u16 = v.u16;
    const u32 = v.u32;
    const bufCount = v.bufCount;
    const bufSize = v.bufSize;
    const sw = (this.ringOfs[ring]! + RING_SLOTS) >>> 2;
    const lim = tx.lim;
    const shl = this.shl;
    const fdb = this.sw.fdb;
    // The table's generation once per batch, again after this batch learns: the cached lookup
    // of the last destination stays good while it has not moved.
    let gen = fdb.generation();
    let ftb = this.ftBufs[ring];
    let ftl = this.ftLens[ring];
    if (ftb === undefined || ftl === undefined || ftb.length !== lim + 1) {
      ftb = this.ftBufs[ring] = new Int32Array(lim + 1);
      ftl = this.ftLens[ring] = new Uint16Array(lim + 1);
    }
    let n = 0;
    while (j !== head && n < VALE_BATCH) {
      const first = j;
      let k = 0;
      let total = 0;
      let bad = -1;
      let open = false;
      let idx0 = 0;
      let len0 = 0;
      let flags0 = 0;
      let idx1 = 0;
      let len1 = 0;
      for (;;) {
        const w = sw + j * SLOT_WORDS;
        const idx = u32[w + SLOT_W_BUF_IDX]!;
        // len and flags as the one word they share (little-endian: len is the low half).
        const lf = u32[w + SLOT_W_LEN_FLAGS]!;
        const len = lf & 0xffff;
        const flags = lf >>> 16;
        k++;
        if (k === 1) {
          idx0 = idx;
          len0 = len;
          flags0 = flags;
        } else if (k === 2) {
          idx1 = idx;
          len1 = len;
        }
        if (idx < 2 || idx >= bufCount) bad = DROP.BAD_BUF_IDX;
        else if (len > bufSize) bad = DROP.BAD_LEN;
        ftb[j] = idx;
        ftl[j] = len;
        total += len;
        j = j === lim ? 0 : j + 1;
        if ((flags & NS_MOREFRAG) === 0) break;
        if (k >= NETMAP_MAX_FRAGS && bad < 0) bad = DROP.BAD_FRAGS;
        if (j === head) {
          open = true;
          break;
        }
      }
      if (open && bad < 0) {
        j = first;
        break;
      }
      if (bad >= 0) {
        this.drop(bad);
        continue;
      }
      // The header must sit in the first fragment; the frame may start in the second.
      if (len0 < shl) {
        this.drop(DROP.BAD_VNET_HDR);
        continue;
      }
      let eth: number;
      let ethAvail: number;
      if (len0 === shl && k > 1) {
        eth = v.buf(idx1);
        ethAvail = len1;
      } else {
        eth = v.buf(idx0) + shl;
        ethAvail = len0 - shl;
      }
      if (ethAvail < ETH_HLEN) {
        this.drop(DROP.RUNT);
        continue;
      }
      // The MACs compared with the cached ones as int32 keys: the destination's bytes 0–1 (dHi)
      // and 2–5 (dLo), the source's 6–7 (sHi) and 8–11 (sLo); read as three words when the
      // frame starts on a word (a 12-byte header or none), else as six halves (eth is even:
      // buffers are aligned and header lengths even). The table itself hashes bytes.
      let dLo: number;
      let dHi: number;
      let sLo: number;
      let sHi: number;
      if ((eth & 3) === 0) {
        const q = eth >>> 2;
        const w0 = u32[q]!;
        const w1 = u32[q + 1]!;
        dHi = w0 & 0xffff;
        dLo = (w0 >>> 16) | (w1 << 16);
        sHi = w1 >>> 16;
        sLo = u32[q + 2]! | 0;
      } else {
        const e = eth >>> 1;
        dHi = u16[e]!;
        dLo = u16[e + 1]! | (u16[e + 2]! << 16);
        sHi = u16[e + 3]!;
        sLo = u16[e + 4]! | (u16[e + 5]! << 16);
      }
      // Learnt again unless the source is the one this port learnt last and the table has not
      // changed since: another port may have taken the address over (a moved MAC) or evicted it
      // (a colliding one), and netmap learns from every frame.
      if (
        (flags0 & NS_NO_LEARN) === 0 &&
        (sLo !== this.lastSrcLo || sHi !== this.lastSrcHi || gen !== this.lastSrcGen)
      ) {
        fdb.learn(u8, eth, this.port);
        this.lastSrcLo = sLo;
        this.lastSrcHi = sHi;
        gen = fdb.generation();
        this.lastSrcGen = gen;
      }
      // Bursts go to one destination: reuse the last lookup while the table is unchanged.
      if (dLo !== this.lastDstLo || dHi !== this.lastDstHi || gen !== this.lastGen) {
        this.lastDst = fdb.lookup(u8, eth);
        this.lastDstLo = dLo;
        this.lastDstHi = dHi;
        this.lastGen = gen;
      }
      const dst = this.lastDst;
      if (dst === this.port) continue; // never back out of the port it came in on
      this.bFirst[n] = first;
      this.bFrags[n] = k;
      this.bLen[n] = total;
      this.bDst[n] = dst;
      this.bBuf[n] = idx0;
      this.bLen0[n] = len0;
      this.bBad[n] = 0;
      n++;
    }
    this.bCount = n;
    return j;
  }

  /**
   * nm_vale_flush: per destination, lock its RX ring once and deliver its share of the batch.
   * @mirrors netmap_vale.c:nm_vale_flush
   */
  private flush(ring: number): void {
    const n = this.bCount;
    if (n === 0) return;
    const ports = this.sw.ports();
    for (let pi = 0; pi < ports.length; pi++) {
      const d = ports[pi]!;
      if (d === this.port) continue;
      let any = false;
      for (let i = 0; i < n; i++) {
        const t = this.bDst[i]!;
        if (t === d || t === FDB_FLOOD) {
          any = true;
          break;
        }
      }
      if (!any) continue;
      const dst = this.sw.get(d);
      if (dst === null || dst.numRx === 0) continue;
      const rxRing = dst.numTx + (ring % dst.numRx);
      const rx = dst.krings[rxRing]!;
      let delivered = 0;
      let bytes = 0;
      rx.lock();
      // Detached since get(): its rings may already be freed (detach waits for this lock).
      if (Atomics.load(dst.state, dst.ctl + PC.ACTIVE) === 0) {
        rx.unlock();
        continue;
      }
      this.dHdr = dst.vnetHdrLen;
      this.dMfs = dst.mfs;
      this.dTail = rx.btail;
      this.dFree = rx.dist(this.dTail, rx.prev(rx.hwcur));
      if (this.shl === this.dHdr) {
        delivered = this.flushVerbatim(d, dst, rxRing, rx, ring);
        bytes = this.fBytes;
      } else {
        for (let i = 0; i < n; i++) {
          const t = this.bDst[i]!;
          if (t !== d && t !== FDB_FLOOD) continue;
          const len = this.deliver(ring, i, dst, rxRing, rx);
          if (len >= 0) {
            delivered++;
            bytes += len;
          }
        }
      }
      rx.btail = this.dTail;
      if (delivered !== 0) {
        Atomics.add(rx.state, rx.base + KR.PKTS, delivered);
        Atomics.add(rx.state, rx.base + KR.BYTES, bytes);
      }
      rx.unlock();
      if (delivered !== 0) dst.wake(rxRing);
    }
  }

  /**
   * The flush toward a port with this port's header length: one-slot packets are copied verbatim
   * in one loop over the batch, from the buffer preflush validated into the next RX slot whose
   * buffer is valid here (a bad one is a counted drop, the batch goes on); chains go through
   * deliver(). Returns the packets delivered, their frame bytes in fBytes. Lock held.
   * @mirrors netmap_vale.c:nm_vale_flush
   */
  private flushVerbatim(d: number, dst: ValeDatapath, rxRing: number, rx: Kring, ring: number): number {
    const v = this.view;
    const u32 = v.u32;
    const bufCount = v.bufCount;
    const rw0 = (dst.ringOfs[rxRing]! + RING_SLOTS) >>> 2;
    const lim = rx.lim;
    const shl = this.shl;
    const n = this.bCount;
    let tail = this.dTail;
    let free = this.dFree;
    let delivered = 0;
    let bytes = 0;
    let copied = 0;
    let noSpace = 0;
    let badBuf = 0;
    for (let i = 0; i < n; i++) {
      const t = this.bDst[i]!;
      if (t !== d && t !== FDB_FLOOD) continue;
      if (this.bFrags[i] !== 1) {
        this.dTail = tail;
        this.dFree = free;
        const len = this.deliver(ring, i, dst, rxRing, rx);
        tail = this.dTail;
        free = this.dFree;
        if (len >= 0) {
          delivered++;
          bytes += len;
        }
        continue;
      }
      if (free === 0) {
        noSpace++;
        continue;
      }
      const rw = rw0 + tail * SLOT_WORDS;
      const di = u32[rw + SLOT_W_BUF_IDX]!;
      if (di < 2 || di >= bufCount) {
        badBuf++;
        continue;
      }
      const len = this.bLen0[i]!;
      v.copy(v.buf(di), v.buf(this.bBuf[i]!), len);
      // len, and flags = one fragment (nd << 8), as one word.
      u32[rw + SLOT_W_LEN_FLAGS] = len | (1 << 24);
      tail = tail === lim ? 0 : tail + 1;
      free--;
      delivered++;
      bytes += len - shl;
      copied += len;
    }
    this.dTail = tail;
    this.dFree = free;
    if (noSpace !== 0) dst.dropN(DROP.NO_SPACE, noSpace);
    if (badBuf !== 0) dst.dropN(DROP.BAD_BUF_IDX, badBuf);
    if (copied !== 0) countCopy(COPY_SITE.host, copied);
    this.fBytes = bytes;
    return delivered;
  }

  /**
   * Copies batch packet i (a chain, or a header to convert) into dst's RX ring at btail (lock
   * held), converting the header (docs/SPEC.md §5).
   * Returns the bytes delivered, or −1 when the packet was dropped (and counted).
   * @mirrors netmap_vale.c:nm_vale_flush
   * @mirrors netmap_offloadings.c:bdg_mismatch_datapath
   */
  private deliver(ring: number, i: number, dst: ValeDatapath, rxRing: number, rx: Kring): number {
    const v = this.view;
    const u8 = v.u8;
    const bs = v.bufSize;
    const rxOfs = dst.ringOfs[rxRing]!;
    const first = this.bFirst[i]!;
    const k = this.bFrags[i]!;
    const shl = this.shl;
    const dhl = this.dHdr;
    const frameLen = this.bLen[i]! - shl;
    // The first buffer as preflush validated it, not read back from the slot.
    const hdr = v.buf(this.bBuf[i]!);
    let csumStart = -1;
    let csumOffset = 0;
    if (shl !== dhl && dhl === 0) {
      // Software offload toward a header-less port: the only case that reads the header.
      if (this.bBad[i] !== 0) return -1;
      let bad = -1;
      if (vnetHdrIsBad(u8, hdr)) bad = DROP.BAD_VNET_HDR;
      else if (u8[hdr + VNET_OFF_GSO_TYPE] !== VIRTIO_NET_HDR_GSO_NONE)
        return this.gsoDeliver(ring, i, dst, rxRing, rx);
      else if ((u8[hdr + VNET_OFF_FLAGS]! & VIRTIO_NET_HDR_F_NEEDS_CSUM) !== 0) {
        csumStart = u8[hdr + VNET_OFF_CSUM_START]! | (u8[hdr + VNET_OFF_CSUM_START + 1]! << 8);
        csumOffset = u8[hdr + VNET_OFF_CSUM_OFFSET]! | (u8[hdr + VNET_OFF_CSUM_OFFSET + 1]! << 8);
        // The field must lie inside the first destination buffer and the frame.
        if (csumStart + csumOffset + 2 > Math.min(frameLen, bs)) bad = DROP.BAD_CSUM_OFFSET;
      }
      if (bad >= 0) {
        this.bBad[i] = 1;
        this.drop(bad);
        return -1;
      }
      if (frameLen > this.dMfs) {
        dst.drop(DROP.NO_SPACE);
        return -1;
      }
    }
    const total = dhl + frameLen;
    const nd = total === 0 ? 1 : Math.ceil(total / bs);
    if (nd > NETMAP_MAX_FRAGS || nd > this.dFree) {
      dst.drop(DROP.NO_SPACE);
      return -1;
    }
    // The receiver's buffers come from slots the guest could have rewritten: check them all first.
    for (let m = 0, j = this.dTail; m < nd; m++, j = rx.next(j)) {
      if (!v.validBuf(v.bufIdx(v.slot(rxOfs, j)))) {
        dst.drop(DROP.BAD_BUF_IDX);
        return -1;
      }
    }
    const j0 = this.dTail;
    const i0 = v.bufIdx(v.slot(rxOfs, j0));
    if (!v.validBuf(i0)) {
      dst.drop(DROP.BAD_BUF_IDX);
      return -1;
    }
    const d0 = v.buf(i0);
    // Equal lengths: verbatim, header included. Otherwise the source header is skipped and the
    // destination gets its converted one (or none).
    let skip = shl === dhl ? 0 : shl;
    if (dhl !== 0 && shl !== dhl) convertVnetHdr(u8, hdr, shl, d0, dhl);
    // Gather-scatter copy: source fragments (after `skip`) into full destination buffers.
    let j = j0;
    let ds = v.slot(rxOfs, j);
    let dBuf = d0;
    let dOff = shl === dhl ? 0 : dhl;
    let si = first;
    const ftb = this.ftBufs[ring]!;
    const ftl = this.ftLens[ring]!;
    // The copy not made yet: pieces contiguous at both ends (consecutive buffers on both sides,
    // as the guests' pools hand them out) go in one call.
    let cDst = 0;
    let cSrc = 0;
    let cLen = 0;
    for (let m = 0; m < k; m++, si = this.krings[ring]!.next(si)) {
      const len = ftl[si]!;
      const sBuf = v.buf(ftb[si]!);
      let off = 0;
      if (skip > 0) {
        off = skip < len ? skip : len;
        skip -= off;
      }
      while (off < len) {
        if (dOff === bs) {
          v.setLen(ds, bs);
          v.setFlags(ds, (nd << 8) | NS_MOREFRAG);
          j = rx.next(j);
          ds = v.slot(rxOfs, j);
          // Checked above, but the receiver's guest may have rewritten it since.
          const di = v.bufIdx(ds);
          if (!v.validBuf(di)) {
            dst.drop(DROP.BAD_BUF_IDX);
            return -1;
          }
          dBuf = v.buf(di);
          dOff = 0;
        }
        const c = len - off < bs - dOff ? len - off : bs - dOff;
        if (cLen !== 0 && cDst + cLen === dBuf + dOff && cSrc + cLen === sBuf + off) {
          cLen += c;
        } else {
          if (cLen !== 0) v.copy(cDst, cSrc, cLen);
          cDst = dBuf + dOff;
          cSrc = sBuf + off;
          cLen = c;
        }
        off += c;
        dOff += c;
      }
    }
    if (cLen !== 0) v.copy(cDst, cSrc, cLen);
    v.setLen(ds, dOff);
    v.setFlags(ds, nd << 8);
    countCopy(COPY_SITE.host, total);
    if (csumStart >= 0 && !this.completeCsum(rxOfs, rx, j0, nd, frameLen, csumStart, csumOffset)) {
      dst.drop(DROP.BAD_BUF_IDX);
      return -1;
    }
    this.dTail = rx.next(j);
    this.dFree -= nd;
    return frameLen;
  }

  /**
   * docs/SPEC.md §5.3: the one's-complement sum from csum_start to the end of the frame (spread over nd
   * destination buffers), complemented into csum_start + csum_offset, which already holds the
   * pseudo-header sum the sender seeded (virtio NEEDS_CSUM semantics; Linux skb_checksum_help).
   * @mirrors netmap_offloadings.c:bdg_mismatch_datapath
   */
  private completeCsum(
    rxOfs: number,
    rx: Kring,
    j0: number,
    nd: number,
    frameLen: number,
    start: number,
    offset: number,
  ): boolean {
    const v = this.view;
    const bs = v.bufSize;
    let sum = 0;
    let pos = 0; // frame offset of the current buffer
    for (let m = 0, j = j0; m < nd; m++, j = rx.next(j)) {
      const bi = v.bufIdx(v.slot(rxOfs, j));
      // The receiver's slots again, read after the copy: a guest may have rewritten them since.
      if (!v.validBuf(bi)) return false;
      const b = v.buf(bi);
      const len = Math.min(bs, frameLen - pos);
      const from = Math.max(start, pos);
      if (from < pos + len) {
        const part = csumPartial(v.u8, b + (from - pos), pos + len - from);
        // A chunk starting at an odd distance from csum_start sums with its bytes swapped.
        sum = csumAdd(sum, ((from - start) & 1) === 0 ? part : swab16(part));
      }
      pos += len;
    }
    const i0 = v.bufIdx(v.slot(rxOfs, j0));
    if (!v.validBuf(i0)) return false;
    const b0 = v.buf(i0);
    // skb_checksum_help: a computed 0 goes out as 0xFFFF (CSUM_MANGLED_0).
    const c = csumFinish(sum) || CSUM_MANGLED_0;
    v.u8[b0 + start + offset] = c >>> 8;
    v.u8[b0 + start + offset + 1] = c & 0xff;
    return true;
  }

  /**
   * docs/SPEC.md §5.2, with the deliberate difference from netmap: a GSO frame toward a header-less port is
   * segmented at the header's gso_size, byte for byte as Linux's skb_gso_segment (src/tso), not at
   * the destination mfs. All segments must fit, or the packet is dropped whole.
   * @mirrors netmap_offloadings.c:bdg_mismatch_datapath
   * @mirrors netmap_offloadings.c:gso_fix_segment
   */
  private gsoDeliver(ring: number, i: number, dst: ValeDatapath, rxRing: number, rx: Kring): number {
    // A window of the region's memory when one is free (all copies then stay in Wasm), else this
    // port's own list.
    const sc = this.sw.gso;
    const k = sc === null ? -1 : sc.claim();
    try {
      const out = k < 0 ? (this.gsoOut ??= new SegmentList()) : sc!.list(k);
      return this.segmentInto(out, ring, i, dst, rxRing, rx);
    } finally {
      if (k >= 0) sc!.release(k);
    }
  }

  /** gsoDeliver's work, with the segment list it got. */
  private segmentInto(
    out: SegmentList,
    ring: number,
    i: number,
    dst: ValeDatapath,
    rxRing: number,
    rx: Kring,
  ): number {
    const v = this.view;
    const u8 = v.u8;
    const bs = v.bufSize;
    const rxOfs = dst.ringOfs[rxRing]!;
    const shl = this.shl;
    const frameLen = this.bLen[i]! - shl;
    const tx = this.krings[ring]!;
    const ftb = this.ftBufs[ring]!;
    const ftl = this.ftLens[ring]!;
    const first = this.bFirst[i]!;
    // Gather the frame (GSO frames only: one copy per super-frame) where gsoSegment reads it in
    // place, in the list's packet memory, whose SIMD kernel then copies and sums each segment. In
    // a window of the region's memory the slots are copied by Wasm; in the list's own memory by
    // JavaScript, placed with the 8-byte alignment of the frame's first byte in its slot so that V8
    // copies words out of the shared region (full slots keep that alignment from one to the next;
    // misaligned, it copied byte by byte, ~12x slower).
    const frags = this.bFrags[i]!;
    const lead = ftl[first]! > shl || frags === 1 ? v.buf(ftb[first]!) + shl : v.buf(ftb[tx.next(first)]!);
    const frame = out.frameRoom(frameLen, v.base + lead);
    const inRegion = out.storage === v.buffer;
    // The frame's region offset, for the Wasm copies into it.
    const frameAt = inRegion ? out.frameStart - v.base : 0;
    let skip = shl;
    let pos = 0;
    // Pieces contiguous in the region (consecutive buffers, as the guests' pools hand them out)
    // go in one copy: the run not copied yet starts at region offset runSrc, frame offset runPos.
    let runSrc = 0;
    let runPos = 0;
    for (let m = 0, si = first; m < frags; m++, si = tx.next(si)) {
      const b = v.buf(ftb[si]!);
      const len = ftl[si]!;
      const off = skip < len ? skip : len;
      skip -= off;
      if (b + off !== runSrc + pos - runPos) {
        this.gatherRun(frame, frameAt, inRegion, runPos, runSrc, pos - runPos);
        runSrc = b + off;
        runPos = pos;
      }
      pos += len - off;
    }
    this.gatherRun(frame, frameAt, inRegion, runPos, runSrc, pos - runPos);
    const h = this.gsoHdr;
    const hb = v.buf(this.bBuf[i]!);
    h.flags = u8[hb + VNET_OFF_FLAGS]!;
    h.gsoType = u8[hb + VNET_OFF_GSO_TYPE]!;
    h.hdrLen = u8[hb + VNET_OFF_HDR_LEN]! | (u8[hb + VNET_OFF_HDR_LEN + 1]! << 8);
    h.gsoSize = u8[hb + VNET_OFF_GSO_SIZE]! | (u8[hb + VNET_OFF_GSO_SIZE + 1]! << 8);
    h.csumStart = u8[hb + VNET_OFF_CSUM_START]! | (u8[hb + VNET_OFF_CSUM_START + 1]! << 8);
    h.csumOffset = u8[hb + VNET_OFF_CSUM_OFFSET]! | (u8[hb + VNET_OFF_CSUM_OFFSET + 1]! << 8);
    // In the region's memory the segments can be written straight into the receiver's slot
    // buffers, one segment each, as netmap's bdg_mismatch_datapath does: offer the free slots'
    // buffers (as many as gso_size allows segments, stopping at a bad index), each as long as the
    // receiver's mfs and a buffer allow. The segmenter takes them if every segment fits.
    if (inRegion && h.gsoSize > 0) {
      const places = (this.gsoPlaces ??= new Int32Array(VALE_MAX_SLOTS));
      const lim = Math.min(this.dFree, Math.ceil(frameLen / h.gsoSize), places.length);
      let k = 0;
      for (let j = this.dTail; k < lim; k++, j = rx.next(j)) {
        const di = v.bufIdx(v.slot(rxOfs, j));
        if (!v.validBuf(di)) break;
        places[k] = v.base + v.buf(di);
      }
      out.place(places, k, Math.min(bs, this.dMfs));
    }
    let count: number;
    let placed: boolean;
    try {
      count = gsoSegment(h, frame, out, { vnetHdrSz: shl });
      placed = out.placed;
    } catch {
      // TsoError: what Linux would reject or drop in skb_gso_segment.
      this.bBad[i] = 1;
      this.drop(DROP.GSO_BAD);
      return -1;
    } finally {
      out.unplace();
    }
    if (placed) {
      // Each segment is in its slot's buffer already (offered above from valid indices).
      let j = this.dTail;
      for (let k = 0; k < count; k++, j = rx.next(j)) {
        const ds = v.slot(rxOfs, j);
        v.setLen(ds, out.length(k));
        v.setFlags(ds, 1 << 8);
      }
      this.dTail = j;
      this.dFree -= count;
      // Gathered, then spread out by gsoSegment into the receiver's buffers.
      countCopy(COPY_SITE.host, frameLen + out.byteLength);
      return out.byteLength;
    }
    let need = 0;
    for (let k = 0; k < count; k++) {
      const len = out.length(k);
      if (len > this.dMfs) {
        dst.drop(DROP.NO_SPACE);
        return -1;
      }
      need += len === 0 ? 1 : Math.ceil(len / bs);
    }
    if (need > this.dFree) {
      dst.drop(DROP.NO_SPACE);
      return -1;
    }
    for (let m = 0, j = this.dTail; m < need; m++, j = rx.next(j)) {
      if (!v.validBuf(v.bufIdx(v.slot(rxOfs, j)))) {
        dst.drop(DROP.BAD_BUF_IDX);
        return -1;
      }
    }
    let j = this.dTail;
    // gsoSegment may have moved the list out of its window (a frame that needed more room).
    const segsInRegion = out.storage === v.buffer;
    for (let k = 0; k < count; k++) {
      let from = out.start(k);
      const end = out.end(k);
      const nd = end === from ? 1 : Math.ceil((end - from) / bs);
      for (let m = 0; m < nd; m++) {
        const ds = v.slot(rxOfs, j);
        const c = end - from < bs ? end - from : bs;
        // Checked above, but the receiver's guest may have rewritten it since.
        const di = v.bufIdx(ds);
        if (!v.validBuf(di)) {
          dst.drop(DROP.BAD_BUF_IDX);
          return -1;
        }
        if (segsInRegion) v.copy(v.buf(di), from - v.base, c);
        else u8.set(out.data.subarray(from, from + c), v.buf(di));
        v.setLen(ds, c);
        v.setFlags(ds, m === nd - 1 ? nd << 8 : (nd << 8) | NS_MOREFRAG);
        from += c;
        j = rx.next(j);
      }
    }
    this.dTail = j;
    this.dFree -= need;
    // Gathered, spread out by gsoSegment, scattered.
    countCopy(COPY_SITE.host, frameLen + 2 * out.byteLength);
    return out.byteLength;
  }

  /**
   * Copies region bytes [src, src + len) to frame[pos...] (nothing for len 0): by Wasm when the
   * frame lies in the region's memory (at region offset frameAt), else with one view of the region.
   */
  private gatherRun(
    frame: Uint8Array,
    frameAt: number,
    inRegion: boolean,
    pos: number,
    src: number,
    len: number,
  ): void {
    if (len === 0) return;
    const v = this.view;
    if (inRegion) v.copy(frameAt + pos, src, len);
    else frame.set(v.u8.subarray(src, src + len), pos);
  }

  protected rxReturned(_ring: number): void {
    // VALE senders never wait for RX room: nothing to wake.
  }
}

/** Rebuilds a VALE port's datapath (and a fresh view of its switch) in this thread. */
export function openValeDatapath(s: ValeShared): ValeDatapath {
  const sw = new ValeView(s);
  const dp = sw.get(s.port);
  if (dp === null) throw new HostError('HOST_STATE', `VALE port ${s.port} is not attached`);
  return dp;
}
