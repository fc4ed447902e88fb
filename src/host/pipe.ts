// netmap pipes (netmap_pipe.c): two ports joined back to back, TX ring i of one end feeding RX
// ring i of the other. Zero copy: a transmitted slot's buffer index is swapped with the receiving
// slot's, both marked NS_BUF_CHANGED, so the sender gets a fresh empty buffer back at once.

import createDebug from 'debug';
import { NS_BUF_CHANGED, NS_MOREFRAG } from '../netmap/constants.ts';
import { RING_SLOTS } from '../netmap/layout.ts';
import { SLOT_WORDS, SLOT_W_BUF_IDX, SLOT_W_LEN_FLAGS } from '../netmap/ring-view.ts';

/** NS_BUF_CHANGED in the flags half of a len|flags word, and the len plus NS_MOREFRAG bits of it. */
const CHANGED_HI = NS_BUF_CHANGED << 16;
const MOREFRAG_LEN = (NS_MOREFRAG << 16) | 0xffff;
import type { NetmapRegion } from '../netmap/region.ts';
import { HostError } from './errors.ts';
import { KR, type Kring } from './kring.ts';
import { DROP, PC } from './port-layout.ts';
import {
  LaidOutPort,
  type NetmapPort,
  type PipeShared,
  type PortSharedBase,
  PortDatapath,
  makeMac,
  portWords,
  storeVnetHdrLen,
} from './port.ts';
import { packetRegion } from './packet-region.ts';
import { RegionView, regionShared, ringsShared } from './region-view.ts';

export interface PipeOptions {
  /** Region to allocate the rings in; a small private one (4096 buffers) if absent. */
  region?: NetmapRegion;
  rings?: number;
  slots?: number;
  /**
   * Extra buffers chained from each end's ni_bufs_head (fewer if the region runs short). Default
   * PIPE_DEFAULT_EXTRA_BUFS in the region the pipe makes, 0 in a region the caller gives it.
   */
  extraBufs?: number;
}

/** Extra buffers per pipe end: the guest driver's packet pool (see VALE_DEFAULT_EXTRA_BUFS). */
export const PIPE_DEFAULT_EXTRA_BUFS = 2048;

/** The datapath of one pipe end. */
export class PipeDatapath extends PortDatapath {
  /** The other end, as seen from this thread. */
  peer!: PipeDatapath;

  /**
   * netmap_pipe_txsync: moves slots [hwcur, rhead) of TX ring `ring` into the peer's RX ring,
   * as many as it has room for; the TX slots get the receiver's spare buffers, so they are free
   * again at once (hwtail = prev(hwcur)). Slots with a bad buffer are skipped and counted.
   * @mirrors netmap_pipe.c:netmap_pipe_txsync
   */
  txsync(ring: number, _flags: number): void {
    const tx = this.krings[ring]!;
    const rxRing = this.peer.numTx + (ring % this.peer.numRx);
    const rx = this.peer.krings[rxRing]!;
    const v = this.view;
    // One loop over both slot arrays (netmap_pipe_txsync's swap of buf_idx/len/flags), straight
    // on the region's words: no call per slot, len and flags read and written as one word.
    const u32 = v.u32;
    const bufCount = v.bufCount;
    const bufSize = v.bufSize;
    const txW = (this.ringOfs[ring]! + RING_SLOTS) >>> 2;
    const rxW = (this.peer.ringOfs[rxRing]! + RING_SLOTS) >>> 2;
    const txLim = tx.lim;
    const rxLim = rx.lim;
    // The kloop's own words (Kring.ownHwcur); the peer's RX kring is read under its lock.
    const head = tx.ownRhead;
    let k = tx.ownHwcur;
    let moved = 0;
    let bytes = 0;
    let badTx = 0;
    let badLen = 0;
    rx.lock();
    let j = rx.btail;
    const stop = rx.prev(rx.hwcur);
    while (k !== head && j !== stop) {
      const rw = rxW + j * SLOT_WORDS;
      const spare = u32[rw + SLOT_W_BUF_IDX]!;
      // The receiver's spare buffer goes to the sender: one the receiving guest broke stays
      // there (counted), and delivery waits until that guest repairs its ring.
      if (spare < 2 || spare >= bufCount) {
        this.peer.drop(DROP.BAD_BUF_IDX);
        break;
      }
      const tw = txW + k * SLOT_WORDS;
      const idx = u32[tw + SLOT_W_BUF_IDX]!;
      // len and flags as one word (little-endian, as every view of the ring here): len low.
      const lf = u32[tw + SLOT_W_LEN_FLAGS]!;
      const len = lf & 0xffff;
      k = k === txLim ? 0 : k + 1;
      if (idx < 2 || idx >= bufCount) {
        badTx++;
        continue;
      }
      if (len > bufSize) {
        badLen++;
        continue;
      }
      u32[tw + SLOT_W_BUF_IDX] = spare;
      u32[tw + SLOT_W_LEN_FLAGS] = lf | CHANGED_HI;
      u32[rw + SLOT_W_BUF_IDX] = idx;
      u32[rw + SLOT_W_LEN_FLAGS] = (lf & MOREFRAG_LEN) | CHANGED_HI;
      j = j === rxLim ? 0 : j + 1;
      moved++;
      bytes += len;
    }
    if (moved !== 0) {
      rx.btail = j;
      Atomics.add(rx.state, rx.base + KR.PKTS, moved);
      Atomics.add(rx.state, rx.base + KR.BYTES, bytes);
    }
    rx.unlock();
    if (badTx !== 0) this.dropN(DROP.BAD_BUF_IDX, badTx);
    if (badLen !== 0) this.dropN(DROP.BAD_LEN, badLen);
    Atomics.add(tx.state, tx.base + KR.PKTS, moved);
    tx.hwcur = k;
    tx.hwtail = tx.prev(k);
    if (moved !== 0) this.peer.wake(rxRing);
  }

  /**
   * The user returned RX slots: the peer's blocked TX ring may move again (netmap_pipe_rxsync).
   * @mirrors netmap_pipe.c:netmap_pipe_rxsync
   */
  protected rxReturned(ring: number): void {
    const txRing = (ring - this.numTx) % this.peer.numTx;
    const tx: Kring = this.peer.krings[txRing]!;
    if (tx.hwcur !== tx.rhead) this.peer.wake(txRing);
  }

  /**
   * The peer's TX ring waits for room in RX ring `ring` (its packets are pending and the ring is
   * full): the kloop must then sleep with kicks on, so that the guest returning slots wakes it.
   */
  override rxHeld(ring: number): boolean {
    const rx = this.krings[ring]!;
    const tx = this.peer.krings[(ring - this.numTx) % this.peer.numTx]!;
    return tx.hwcur !== tx.rhead && rx.btail === rx.prev(rx.hwcur);
  }

  /** Builds both ends' datapaths in this thread from a descriptor. */
  static open(shared: PipeShared): PipeDatapath {
    const view = new RegionView(shared.region);
    const a = new PipeDatapath(view, shared.rings, shared.state, shared.ctl);
    const b = new PipeDatapath(view, shared.peer.rings, shared.peer.state, shared.peer.ctl);
    a.peer = b;
    b.peer = a;
    return a;
  }
}

const log = createDebug('ptnet:host');

/** One end of a pipe, as a NetmapPort. */
export class PipeEnd extends LaidOutPort implements NetmapPort {
  readonly mac = makeMac();
  peer!: PipeEnd;
  private closed = false;

  constructor(
    readonly name: string,
    readonly region: NetmapRegion,
    readonly layout: ReturnType<NetmapRegion['createPort']>,
    readonly base: PortSharedBase,
    readonly datapath: PipeDatapath,
  ) {
    super();
  }

  /** Pipes copy nothing, so the header is opaque to them; the length is only recorded. */
  setVnetHdrLen(n: number): boolean {
    return storeVnetHdrLen(this.datapath.state, this.base.ctl, n, this.region.bufSize);
  }
  shared(): PipeShared {
    return { kind: 'pipe', ...this.base, peer: this.peer.base };
  }

  /**
   * Releases this end (HOST_BUSY while a kloop serves it). The peer may still write into this
   * end's RX rings, so the rings of both ends go back to the region when the second end closes
   * (netmap frees a pipe's memory when both ends are released). Idempotent.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    const st = this.datapath.state;
    if (Atomics.load(st, this.base.ctl + PC.KLOOP) !== 0)
      throw new HostError(
        'HOST_BUSY',
        `${this.name}: stop its kloop (close its unikernel) before closing it`,
      );
    this.closed = true;
    if (log.enabled) log('%s: pipe end close', this.name);
    Atomics.store(st, this.base.ctl + PC.ACTIVE, 0);
    if (this.peer.closed) {
      this.region.deletePort(this.layout);
      this.region.deletePort(this.peer.layout);
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** The buffer size of smallRegion's regions. */
export const SMALL_REGION_BUF_SIZE = 2048;

/**
 * A region sized for a few ports instead of netmap's global defaults (335 MB): `bufs` buffers of
 * 2048 bytes, netmap_ifs for `ports` ports and four rings each, and `extraBytes` of the caller's
 * own after it (packetRegion).
 */
export function smallRegion(bufs = 4096, ports = 16, extraBytes = 0): NetmapRegion {
  return packetRegion(
    {
      if: { objSize: 1024, objNum: Math.max(10, ports) },
      ring: { objSize: 9 * 4096, objNum: 4 * ports },
      buf: { objSize: SMALL_REGION_BUF_SIZE, objNum: bufs },
    },
    undefined,
    extraBytes,
  );
}

/**
 * Creates a pipe `name{0` ⇄ `name}0` (netmap's master and slave ends) with `rings` rings of
 * `slots` slots per direction on each end.
 */
export function createPipe(name: string, opts: PipeOptions = {}): [PipeEnd, PipeEnd] {
  const rings = opts.rings ?? 1;
  const slots = opts.slots ?? 1024;
  if (!Number.isInteger(rings) || rings < 1 || rings > 16)
    throw new HostError('HOST_ARG', 'pipe rings must be 1..16');
  if (!Number.isInteger(slots) || slots < 2 || slots > 4096)
    throw new HostError('HOST_ARG', 'pipe slots must be 2..4096');
  const extraBufs = opts.extraBufs ?? (opts.region === undefined ? PIPE_DEFAULT_EXTRA_BUFS : 0);
  const region = opts.region ?? smallRegion(Math.max(4096, 4 * rings * slots + 2 * extraBufs + 64));
  const rs = regionShared(region);
  const view = new RegionView(rs);
  const words = portWords(2 * rings);
  const state = new SharedArrayBuffer(2 * words * 4);
  const ends: PipeEnd[] = [];
  const dps: PipeDatapath[] = [];
  for (const [e, suffix] of [
    [0, '{0'],
    [1, '}0'],
  ] as const) {
    const layout = region.createPort({
      name: `${name}${suffix}`.slice(0, 15),
      txRings: rings,
      rxRings: rings,
      txSlots: slots,
      rxSlots: slots,
      extraBufs,
    });
    const base: PortSharedBase = { region: rs, rings: ringsShared(layout), state, ctl: e * words };
    const dp = new PipeDatapath(view, base.rings, state, base.ctl);
    for (const kr of dp.krings) kr.reset();
    storeVnetHdrLen(dp.state, base.ctl, 0, region.bufSize);
    Atomics.store(dp.state, base.ctl + PC.ACTIVE, 1);
    dps.push(dp);
    ends.push(new PipeEnd(layout.name, region, layout, base, dp));
  }
  const [a, b] = ends as [PipeEnd, PipeEnd];
  a.peer = b;
  b.peer = a;
  dps[0]!.peer = dps[1]!;
  dps[1]!.peer = dps[0]!;
  if (log.enabled) log('pipe %s <-> %s: create (%d rings of %d slots)', a.name, b.name, rings, slots);
  return [a, b];
}
