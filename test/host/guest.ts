// A netmap application written directly against src/netmap, as a ptnet guest would run it: it
// finds its rings through the netmap_if, fills and drains slots, and synchronises with the host
// kloop only through the CSB (guest txsync/rxsync of spec §3.2/§3.3). Used by the host tests
// and bench/host.bench.ts.

import { NAF_FORCE_READ, NAF_FORCE_RECLAIM, NS_MOREFRAG } from '../../src/netmap/constants.ts';
import { CsbAtok, CsbKtoa, nmSyncKloopApplRead, nmSyncKloopApplWrite } from '../../src/netmap/csb.ts';
import {
  IF_HOST_TX_RINGS,
  IF_RING_OFS,
  IF_RX_RINGS,
  IF_TX_RINGS,
  NETMAP_IF_RING_OFS_SIZE,
  NETMAP_RING_SIZE,
  NETMAP_SLOT_SIZE,
  NM_CSB_ATOK_SIZE,
  NM_CSB_KTOA_SIZE,
  RING_BUF_OFS,
  RING_NR_BUF_SIZE,
  RING_NUM_SLOTS,
  SLOT_BUF_IDX,
  SLOT_FLAGS,
  SLOT_LEN,
} from '../../src/netmap/layout.ts';
import type { NetmapRegion } from '../../src/netmap/region.ts';
import { type NetmapPort, SyncKloop } from '../../src/host/index.ts';

/** Region offsets of a port's rings, read from its netmap_if like NETMAP_TXRING/NETMAP_RXRING. */
export function ringsFromIf(region: NetmapRegion, nifp: number): { tx: number[]; rx: number[] } {
  const dv = new DataView(region.buffer, region.base, region.size);
  const ntx = dv.getUint32(nifp + IF_TX_RINGS, true);
  const nrx = dv.getUint32(nifp + IF_RX_RINGS, true);
  const htx = dv.getUint32(nifp + IF_HOST_TX_RINGS, true);
  const ofs = (k: number): number =>
    nifp + Number(dv.getBigInt64(nifp + IF_RING_OFS + k * NETMAP_IF_RING_OFS_SIZE, true));
  const tx: number[] = [];
  const rx: number[] = [];
  for (let i = 0; i < ntx; i++) tx.push(ofs(i));
  for (let i = 0; i < nrx; i++) rx.push(ofs(ntx + htx + i));
  return { tx, rx };
}

/** A CSB in "guest memory": GH array then HG array, one page each, like the drivers allocate. */
export function makeCsb(): { csb: SharedArrayBuffer; ghOffset: number; hgOffset: number } {
  return { csb: new SharedArrayBuffer(8192), ghOffset: 0, hgOffset: 4096 };
}

/** One guest ring: indices, slots and buffers through the shared ring, sync through the CSB. */
export class GuestRing {
  head = 0;
  cur = 0;
  tail: number;
  hwcur = 0;
  hwtail: number;
  readonly n: number;
  readonly bufSize: number;
  private readonly dv: DataView;
  readonly u8: Uint8Array;
  private readonly bufBase: number;
  readonly atok: CsbAtok;
  readonly ktoa: CsbKtoa;
  kicks = 0;

  constructor(
    region: NetmapRegion,
    readonly ringOfs: number,
    csb: { csb: SharedArrayBuffer; ghOffset: number; hgOffset: number },
    readonly index: number,
    readonly tx: boolean,
    private readonly kick: (ring: number) => void,
  ) {
    this.dv = new DataView(region.buffer, region.base, region.size);
    this.u8 = region.bytes;
    this.n = this.dv.getUint32(ringOfs + RING_NUM_SLOTS, true);
    this.bufSize = this.dv.getUint32(ringOfs + RING_NR_BUF_SIZE, true);
    this.bufBase = ringOfs + Number(this.dv.getBigInt64(ringOfs + RING_BUF_OFS, true));
    this.atok = new CsbAtok(csb.csb, csb.ghOffset + index * NM_CSB_ATOK_SIZE);
    this.ktoa = new CsbKtoa(csb.csb, csb.hgOffset + index * NM_CSB_KTOA_SIZE);
    this.tail = this.hwtail = tx ? this.n - 1 : 0;
  }

  /** ptnet_sync_from_csb after CREATE. */
  syncFromCsb(): void {
    this.head = this.cur = this.atok.head;
    this.hwcur = this.ktoa.hwcur;
    this.tail = this.hwtail = this.ktoa.hwtail;
  }

  next(i: number): number {
    return i + 1 === this.n ? 0 : i + 1;
  }
  space(): number {
    const d = this.tail - this.head;
    return d < 0 ? d + this.n : d;
  }
  slot(i: number): number {
    return this.ringOfs + NETMAP_RING_SIZE + i * NETMAP_SLOT_SIZE;
  }
  bufIdx(i: number): number {
    return this.dv.getUint32(this.slot(i) + SLOT_BUF_IDX, true);
  }
  setBufIdx(i: number, v: number): void {
    this.dv.setUint32(this.slot(i) + SLOT_BUF_IDX, v, true);
  }
  len(i: number): number {
    return this.dv.getUint16(this.slot(i) + SLOT_LEN, true);
  }
  flags(i: number): number {
    return this.dv.getUint16(this.slot(i) + SLOT_FLAGS, true);
  }
  /** NETMAP_BUF: region offset of slot i's buffer. */
  buf(i: number): number {
    return this.bufBase + this.bufIdx(i) * this.bufSize;
  }
  /** Writes one single-slot packet at head and advances head/cur. */
  put(data: Uint8Array, flags = 0): void {
    this.u8.set(data, this.buf(this.head));
    this.dv.setUint16(this.slot(this.head) + SLOT_LEN, data.length, true);
    this.dv.setUint16(this.slot(this.head) + SLOT_FLAGS, flags, true);
    this.head = this.cur = this.next(this.head);
  }
  /** Writes `data` over as many slots as needed (NS_MOREFRAG on all but the last). */
  putChain(data: Uint8Array): void {
    for (let off = 0; off < data.length || off === 0;) {
      const c = Math.min(this.bufSize, data.length - off);
      const last = off + c >= data.length;
      this.put(data.subarray(off, off + c), last ? 0 : NS_MOREFRAG);
      off += c;
      if (last) break;
    }
  }
  /** Reads the packet at head (following NS_MOREFRAG) and advances head/cur; null if none. */
  take(): { data: Uint8Array; flags: number[] } | null {
    if (this.head === this.tail) return null;
    const parts: Uint8Array[] = [];
    const flags: number[] = [];
    let i = this.head;
    for (;;) {
      if (i === this.tail) return null; // incomplete chain: leave it
      const f = this.flags(i);
      parts.push(this.u8.slice(this.buf(i), this.buf(i) + this.len(i)));
      flags.push(f);
      i = this.next(i);
      if ((f & NS_MOREFRAG) === 0) break;
    }
    this.head = this.cur = i;
    const total = parts.reduce((a, p) => a + p.length, 0);
    const data = new Uint8Array(total);
    let o = 0;
    for (const p of parts) {
      data.set(p, o);
      o += p.length;
    }
    return { data, flags };
  }

  /** netmap_pt_guest_txsync (§3.2), then ring.tail = hwtail. Returns whether it kicked. */
  txsync(flags = 0): boolean {
    const a = this.atok;
    const k = this.ktoa;
    a.applNeedKick = 0;
    this.hwcur = k.hwcur;
    nmSyncKloopApplWrite(a, this.cur, this.head);
    const notify =
      ((this.head !== this.hwcur || this.cur === this.hwtail) && k.kernNeedKick !== 0) ||
      (flags & NAF_FORCE_RECLAIM) !== 0;
    if (notify) a.syncFlags = flags;
    if (this.cur === this.hwtail || (flags & NAF_FORCE_RECLAIM) !== 0) nmSyncKloopApplRead(k, this);
    if (this.cur === this.hwtail) {
      a.applNeedKick = 1;
      nmSyncKloopApplRead(k, this);
      if (this.cur !== this.hwtail) a.applNeedKick = 0;
    }
    if (notify) this.doKick();
    this.tail = this.hwtail;
    return notify;
  }

  /** netmap_pt_guest_rxsync (§3.3), then ring.tail = hwtail. */
  rxsync(flags = NAF_FORCE_READ): boolean {
    const a = this.atok;
    const k = this.ktoa;
    a.applNeedKick = 0;
    nmSyncKloopApplRead(k, this);
    if (this.head !== this.hwcur) nmSyncKloopApplWrite(a, this.cur, this.head);
    const wouldBlock = this.cur === this.hwtail;
    if (wouldBlock) {
      a.applNeedKick = 1;
      nmSyncKloopApplRead(k, this);
      if (this.cur !== this.hwtail) a.applNeedKick = 0;
    }
    const notify = (this.head !== this.hwcur || wouldBlock) && k.kernNeedKick !== 0;
    if (notify) {
      a.syncFlags = flags;
      this.doKick();
    }
    this.tail = this.hwtail;
    return notify;
  }

  private doKick(): void {
    this.kicks++;
    this.kick(this.index);
  }
}

/** An Ethernet frame dst ← src with a 4-byte sequence number at byte 14, `len` bytes long. */
export function frame(dst: Uint8Array, src: Uint8Array, seq: number, len = 60): Uint8Array {
  const f = new Uint8Array(len);
  f.set(dst, 0);
  f.set(src, 6);
  f[12] = 0x88;
  f[13] = 0xb5; // local experimental EtherType
  new DataView(f.buffer).setUint32(14, seq);
  for (let i = 18; i < len; i++) f[i] = (seq + i) & 0xff;
  return f;
}

export function seqOf(f: Uint8Array, at = 14): number {
  return new DataView(f.buffer, f.byteOffset).getUint32(at);
}

type GuestCsb = ReturnType<typeof makeCsb>;

/** The guest side of `port`'s first TX ring: CSB entry 0. */
export function guestTxRing(port: NetmapPort, csb: GuestCsb, kick: (ring: number) => void): GuestRing {
  return new GuestRing(port.region, ringsFromIf(port.region, port.nifpOffset).tx[0]!, csb, 0, true, kick);
}

/** The guest side of `port`'s first RX ring: its CSB entry follows the TX rings'. */
export function guestRxRing(port: NetmapPort, csb: GuestCsb, kick: (ring: number) => void): GuestRing {
  const ofs = ringsFromIf(port.region, port.nifpOffset).rx[0]!;
  return new GuestRing(port.region, ofs, csb, port.numTxRings, false, kick);
}

/** A guest (first TX ring, first RX ring) on a port, with an inline kloop and an explicit queue. */
export interface InlineGuest {
  kloop: SyncKloop;
  tx: GuestRing;
  rx: GuestRing;
  irqs: number[];
  /** Runs queued wake-ups and interrupts until none is left. */
  drain(): void;
  /** Sends packets (single- or multi-slot) with one txsync, then runs the queue. */
  send(...frames: Uint8Array[]): void;
  /** Receives everything available (rxsync, take all, rxsync to return the slots). */
  recv(): { data: Uint8Array; flags: number[] }[];
}

export function inlineGuest(port: NetmapPort, queue: (() => void)[] = []): InlineGuest {
  const csb = makeCsb();
  const irqs: number[] = [];
  const kloop = new SyncKloop(port, csb, (r) => irqs.push(r), 'inline', { schedule: (f) => queue.push(f) });
  const kick = (r: number): void => kloop.kick(r);
  const g: InlineGuest = {
    kloop,
    tx: guestTxRing(port, csb, kick),
    rx: guestRxRing(port, csb, kick),
    irqs,
    drain(): void {
      while (queue.length > 0) queue.shift()!();
    },
    send(...frames): void {
      g.tx.txsync();
      for (const f of frames) g.tx.putChain(f);
      g.tx.txsync();
      g.drain();
    },
    recv() {
      g.drain();
      g.rx.rxsync();
      const out: { data: Uint8Array; flags: number[] }[] = [];
      for (let p = g.rx.take(); p !== null; p = g.rx.take()) out.push(p);
      g.rx.rxsync();
      g.drain();
      return out;
    },
  };
  kloop.start();
  g.tx.syncFromCsb();
  g.rx.syncFromCsb();
  return g;
}
