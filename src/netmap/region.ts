// The netmap memory region (netmap_mem2.c's global allocator, seen as one contiguous area as the
// memdev BAR exposes it): [if pool][ring pool][buffer pool], each pool made of page-multiple
// clusters of equal objects, a bitmap of free objects per pool, buffers 0 and 1 reserved.

import { NM_BUF_ALIGN, NR_RX, NR_TX, PAGE_SIZE } from './constants.ts';
import { NetmapError } from './errors.ts';
import {
  IF_BUFS_HEAD,
  IF_HOST_RX_RINGS,
  IF_HOST_TX_RINGS,
  IF_NAME,
  IF_NAME_SIZE,
  IF_RING_OFS,
  IF_RX_RINGS,
  IF_TX_RINGS,
  NETMAP_IF_RING_OFS_SIZE,
  NETMAP_IF_SIZE,
  NETMAP_RING_SIZE,
  NETMAP_SLOT_SIZE,
  RING_BUF_OFS,
  RING_CUR,
  RING_DIR,
  RING_HEAD,
  RING_NR_BUF_SIZE,
  RING_NUM_SLOTS,
  RING_RINGID,
  RING_SLOTS,
  RING_TAIL,
  SLOT_BUF_IDX,
  SLOT_LEN,
} from './layout.ts';

/** Requested size and count of one pool's objects (struct netmap_obj_params). */
export interface PoolParams {
  objSize: number;
  objNum: number;
}

export interface NetmapMemParams {
  if: PoolParams;
  ring: PoolParams;
  buf: PoolParams;
}

/** netmap_mem2.c's netmap_params: the global allocator's defaults. */
export const NETMAP_DEFAULT_PARAMS: Readonly<NetmapMemParams> = Object.freeze({
  if: Object.freeze({ objSize: 1024, objNum: 100 }),
  ring: Object.freeze({ objSize: 9 * PAGE_SIZE, objNum: 200 }),
  buf: Object.freeze({ objSize: 2048, objNum: 20 * 4096 * 2 }),
});

export interface PoolLimits {
  minSize: number;
  maxSize: number;
  minNum: number;
  maxNum: number;
}

/** objminsize/objmaxsize/nummin/nummax of the pools of nm_mem (netmap_mem2.c). */
export const NETMAP_POOL_LIMITS: Readonly<Record<keyof NetmapMemParams, Readonly<PoolLimits>>> =
  Object.freeze({
    if: Object.freeze({ minSize: NETMAP_IF_SIZE, maxSize: 4096, minNum: 10, maxNum: 10000 }),
    ring: Object.freeze({ minSize: NETMAP_RING_SIZE, maxSize: 32 * PAGE_SIZE, minNum: 2, maxNum: 1024 }),
    buf: Object.freeze({ minSize: 64, maxSize: 65536, minNum: 4, maxNum: 1_000_000 }),
  });

/** netmap_mem2.c's MAX_CLUSTSIZE: a cluster never exceeds 4 MiB. */
const MAX_CLUSTSIZE = 1 << 22;

/** The geometry netmap_config_obj_allocator computes for one pool, placed at `offset` in the region. */
export interface PoolGeometry {
  readonly name: string;
  /** Byte offset of the pool in the region. */
  readonly offset: number;
  /** Object size after rounding up to NM_BUF_ALIGN. */
  readonly objSize: number;
  /** Objects actually available (requested count rounded up to whole clusters). */
  readonly objTotal: number;
  readonly clustEntries: number;
  readonly clustSize: number;
  readonly numClusters: number;
  /** Pool bytes: numClusters * clustSize. */
  readonly memTotal: number;
}

/**
 * netmap_config_obj_allocator: round the size to 64 bytes, check the limits, find the smallest
 * number of objects that fills a whole number of pages (at most 4 MiB), round the count up to whole
 * clusters. Objects are then contiguous: object j is at offset + j * objSize.
 * @mirrors netmap_mem2.c:netmap_config_obj_allocator
 */
export function poolGeometry(name: keyof NetmapMemParams, p: PoolParams, offset: number): PoolGeometry {
  const lim = NETMAP_POOL_LIMITS[name];
  if (!Number.isInteger(p.objSize) || !Number.isInteger(p.objNum)) {
    throw new NetmapError('NM_POOL_PARAM', `${name}: size and count must be integers`);
  }
  let objSize = p.objSize;
  const rem = objSize & (NM_BUF_ALIGN - 1);
  if (rem !== 0) objSize += NM_BUF_ALIGN - rem;
  if (objSize < lim.minSize || objSize > lim.maxSize) {
    throw new NetmapError(
      'NM_POOL_PARAM',
      `${name}: object size ${objSize} outside [${lim.minSize}, ${lim.maxSize}]`,
    );
  }
  if (p.objNum < lim.minNum || p.objNum > lim.maxNum) {
    throw new NetmapError(
      'NM_POOL_PARAM',
      `${name}: object count ${p.objNum} outside [${lim.minNum}, ${lim.maxNum}]`,
    );
  }
  let clustEntries = 0;
  for (let i = 1; i * objSize <= MAX_CLUSTSIZE; i++) {
    if ((i * objSize) % PAGE_SIZE === 0) {
      clustEntries = i;
      break;
    }
  }
  if (clustEntries === 0) {
    throw new NetmapError('NM_POOL_CLUSTER', `${name}: no cluster fits objects of ${objSize} bytes`);
  }
  const clustSize = clustEntries * objSize;
  const numClusters = Math.ceil(p.objNum / clustEntries);
  return {
    name,
    offset,
    objSize,
    objTotal: numClusters * clustEntries,
    clustEntries,
    clustSize,
    numClusters,
    memTotal: numClusters * clustSize,
  };
}

/** The three pools of a region, in region order. */
export interface RegionGeometry {
  readonly if: PoolGeometry;
  readonly ring: PoolGeometry;
  readonly buf: PoolGeometry;
  /** nm_totalsize: the region size (MEMSIZE of the memdev). */
  readonly size: number;
}

export function regionGeometry(params: NetmapMemParams = NETMAP_DEFAULT_PARAMS): RegionGeometry {
  const ifp = poolGeometry('if', params.if, 0);
  const ring = poolGeometry('ring', params.ring, ifp.memTotal);
  const buf = poolGeometry('buf', params.buf, ifp.memTotal + ring.memTotal);
  return { if: ifp, ring, buf, size: buf.offset + buf.memTotal };
}

/** A free-object bitmap (netmap_obj_pool.bitmap): bit set = free. */
class ObjBitmap {
  private readonly bits: Uint32Array;
  /** No free bit lives in a word below this one. */
  private hint = 0;
  free: number;

  constructor(readonly total: number) {
    this.bits = new Uint32Array(Math.ceil(total / 32));
    for (let j = 0; j < total; j++) this.bits[j >>> 5]! |= 1 << (j & 31);
    this.free = total;
  }

  /** Reserve object j (buffers 0 and 1). */
  reserve(j: number): void {
    if (this.isFree(j)) {
      this.bits[j >>> 5]! &= ~(1 << (j & 31));
      this.free--;
    }
  }

  isFree(j: number): boolean {
    return ((this.bits[j >>> 5] ?? 0) & (1 << (j & 31))) !== 0;
  }

  /** netmap_obj_malloc's scan: the lowest free object, or −1. */
  alloc(): number {
    for (let w = this.hint; w < this.bits.length; w++) {
      const word = this.bits[w]!;
      if (word === 0) continue;
      const bit = 31 - Math.clz32(word & -word);
      this.bits[w] = word & ~(1 << bit);
      this.hint = w;
      this.free--;
      return w * 32 + bit;
    }
    this.hint = this.bits.length;
    return -1;
  }

  release(j: number): void {
    this.bits[j >>> 5]! |= 1 << (j & 31);
    if (j >>> 5 < this.hint) this.hint = j >>> 5;
    this.free++;
  }
}

/** Ring and if layout of one port registered in the region (netmap_mem_rings_create + if_new). */
export interface NetmapPortLayout {
  readonly name: string;
  /** Region offset of the port's netmap_if (the ptnet NIFP_OFS register). */
  readonly nifpOfs: number;
  readonly txRings: number;
  readonly rxRings: number;
  readonly txSlots: number;
  readonly rxSlots: number;
  readonly hostTxRings: number;
  readonly hostRxRings: number;
  /** Region offsets of the NIC TX rings, then the NIC RX rings. */
  readonly txRingOfs: readonly number[];
  readonly rxRingOfs: readonly number[];
}

export interface PortOptions {
  name: string;
  txRings: number;
  rxRings: number;
  txSlots: number;
  rxSlots: number;
  /** Host-stack rings counted in netmap_if (the kernel writes at least 1); not bound, ring_ofs 0. */
  hostTxRings?: number;
  hostRxRings?: number;
  /** Extra buffers chained from ni_bufs_head (NETMAP_REQ_OPT_EXTRA_BUFS). */
  extraBufs?: number;
}

export interface RegionOptions {
  params?: NetmapMemParams;
  /** Allocator id (nm_id, the memdev MEMID); a fresh one from 1 upwards if absent. */
  memId?: number;
  /** Place the region in an existing SharedArrayBuffer (e.g. a shared WebAssembly.Memory). */
  backing?: { buffer: SharedArrayBuffer; byteOffset: number };
}

let nextMemId = 1;

const IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** A netmap memory region over a SharedArrayBuffer. */
export class NetmapRegion {
  readonly memId: number;
  /** What the geometry was computed from: another thread rebuilds the same layout from it. */
  readonly params: NetmapMemParams;
  readonly geometry: RegionGeometry;
  readonly buffer: SharedArrayBuffer;
  /** Byte offset of the region in `buffer`. */
  readonly base: number;
  readonly size: number;
  /** The region's bytes (index 0 = region offset 0). */
  readonly bytes: Uint8Array;
  private readonly dv: DataView;
  private readonly u32: Uint32Array;
  private readonly u16: Uint16Array;
  private readonly ifMap: ObjBitmap;
  private readonly ringMap: ObjBitmap;
  private readonly bufMap: ObjBitmap;

  constructor(opts: RegionOptions = {}) {
    // Typed-array views below read the structs natively; the structs are little-endian.
    if (!IS_LITTLE_ENDIAN) throw new NetmapError('NM_ARG', 'netmap region needs a little-endian host');
    this.params = opts.params ?? NETMAP_DEFAULT_PARAMS;
    this.geometry = regionGeometry(this.params);
    this.size = this.geometry.size;
    if (opts.backing === undefined) {
      this.buffer = new SharedArrayBuffer(this.size);
      this.base = 0;
    } else {
      const { buffer, byteOffset } = opts.backing;
      if (
        byteOffset >>> 0 !== byteOffset ||
        byteOffset % 8 !== 0 ||
        byteOffset + this.size > buffer.byteLength
      ) {
        throw new NetmapError(
          'NM_ARG',
          `backing: ${this.size} bytes at ${byteOffset} do not fit ${buffer.byteLength} or misaligned`,
          byteOffset,
        );
      }
      this.buffer = buffer;
      this.base = byteOffset;
    }
    this.memId = opts.memId ?? nextMemId++;
    this.bytes = new Uint8Array(this.buffer, this.base, this.size);
    this.dv = new DataView(this.buffer, this.base, this.size);
    this.u32 = new Uint32Array(this.buffer, this.base, this.size >>> 2);
    this.u16 = new Uint16Array(this.buffer, this.base, this.size >>> 1);
    this.ifMap = new ObjBitmap(this.geometry.if.objTotal);
    this.ringMap = new ObjBitmap(this.geometry.ring.objTotal);
    this.bufMap = new ObjBitmap(this.geometry.buf.objTotal);
    // netmap_mem_init_bitmaps: buffers 0 and 1 are never handed out.
    this.bufMap.reserve(0);
    this.bufMap.reserve(1);
  }

  get bufSize(): number {
    return this.geometry.buf.objSize;
  }

  get bufCount(): number {
    return this.geometry.buf.objTotal;
  }

  /** Free buffers left. */
  get bufFree(): number {
    return this.bufMap.free;
  }

  /** Region offset of buffer `idx` (the memdev's BUF_POOL_OFS + idx * BUF_POOL_OBJSZ). */
  bufOffset(idx: number): number {
    return this.geometry.buf.offset + idx * this.geometry.buf.objSize;
  }

  /** True if `idx` is a buffer index currently handed out. */
  isBufAllocated(idx: number): boolean {
    return idx >>> 0 === idx && idx >= 2 && idx < this.bufCount && !this.bufMap.isFree(idx);
  }

  /** netmap_buf_malloc: the lowest free buffer index; throws NM_NOMEM when none is left. */
  allocBuf(): number {
    const idx = this.bufMap.alloc();
    if (idx < 0) throw new NetmapError('NM_NOMEM', 'buffer pool exhausted');
    return idx;
  }

  /** netmap_free_buf: refuses reserved, out-of-range and already free indices. */
  freeBuf(idx: number): void {
    if (!this.isBufAllocated(idx)) throw new NetmapError('NM_BAD_BUF', `cannot free buffer ${idx}`);
    this.bufMap.release(idx);
  }

  /**
   * netmap_extra_alloc: allocate up to n buffers chained through their first u32 (0 ends the
   * list); returns the list head. Stops early, without error, when the pool runs dry.
   * @mirrors netmap_mem2.c:netmap_extra_alloc
   */
  allocExtraBufs(n: number): { head: number; count: number } {
    let head = 0;
    let count = 0;
    for (; count < n; count++) {
      const idx = this.bufMap.alloc();
      if (idx < 0) break;
      this.dv.setUint32(this.bufOffset(idx), head, true);
      head = idx;
    }
    return { head, count };
  }

  /**
   * netmap_extra_free: free a chain; stops at an invalid link (bounded, so a cycle cannot loop).
   * @mirrors netmap_mem2.c:netmap_extra_free
   */
  freeExtraBufs(head: number): number {
    let freed = 0;
    while (freed < this.bufCount && this.isBufAllocated(head)) {
      const next = this.dv.getUint32(this.bufOffset(head), true);
      this.bufMap.release(head);
      freed++;
      head = next;
    }
    return freed;
  }

  /**
   * Register a port: its rings (netmap_mem_rings_create / netmap_mem2_rings_create) and its netmap_if
   * (netmap_mem_if_new). On ENOMEM everything taken so far is given back.
   * @mirrors netmap_mem2.c:netmap_mem_rings_create
   * @mirrors netmap_mem2.c:netmap_mem2_if_new
   */
  createPort(o: PortOptions): NetmapPortLayout {
    const hostTx = o.hostTxRings ?? 1;
    const hostRx = o.hostRxRings ?? 1;
    for (const [k, v] of [
      ['txRings', o.txRings],
      ['rxRings', o.rxRings],
      ['txSlots', o.txSlots],
      ['rxSlots', o.rxSlots],
    ] as const) {
      if (!Number.isInteger(v) || v < 1) throw new NetmapError('NM_ARG', `${k} must be a positive integer`);
    }
    if (!Number.isInteger(hostTx) || hostTx < 1 || !Number.isInteger(hostRx) || hostRx < 1) {
      throw new NetmapError('NM_ARG', 'host ring counts must be at least 1');
    }
    const name = new TextEncoder().encode(o.name);
    if (name.length >= IF_NAME_SIZE)
      throw new NetmapError('NM_ARG', `port name longer than ${IF_NAME_SIZE - 1} bytes`);
    const tx: number[] = [];
    const rx: number[] = [];
    try {
      for (let i = 0; i < o.txRings; i++) tx.push(this.newRing(i, NR_TX, o.txSlots));
      for (let i = 0; i < o.rxRings; i++) rx.push(this.newRing(i, NR_RX, o.rxSlots));
    } catch (e) {
      for (const r of tx) this.deleteRing(r);
      for (const r of rx) this.deleteRing(r);
      throw e;
    }
    const ntot = o.txRings + hostTx + o.rxRings + hostRx;
    let nifp: number;
    try {
      nifp = this.objAlloc(this.ifMap, this.geometry.if, NETMAP_IF_SIZE + ntot * NETMAP_IF_RING_OFS_SIZE);
    } catch (e) {
      for (const r of tx) this.deleteRing(r);
      for (const r of rx) this.deleteRing(r);
      throw e;
    }
    this.bytes.set(name, nifp + IF_NAME);
    this.setU32(nifp + IF_TX_RINGS, o.txRings);
    this.setU32(nifp + IF_RX_RINGS, o.rxRings);
    this.setU32(nifp + IF_HOST_TX_RINGS, hostTx);
    this.setU32(nifp + IF_HOST_RX_RINGS, hostRx);
    // ring_ofs order: NIC TX, host TX, NIC RX, host RX; unbound host rings stay 0.
    const ringOfs = (k: number, ofs: number): void =>
      this.dv.setBigInt64(nifp + IF_RING_OFS + k * NETMAP_IF_RING_OFS_SIZE, BigInt(ofs - nifp), true);
    tx.forEach((r, i) => ringOfs(i, r));
    rx.forEach((r, i) => ringOfs(o.txRings + hostTx + i, r));
    if (o.extraBufs !== undefined && o.extraBufs > 0) {
      this.setU32(nifp + IF_BUFS_HEAD, this.allocExtraBufs(o.extraBufs).head);
    }
    return {
      name: o.name,
      nifpOfs: nifp,
      txRings: o.txRings,
      rxRings: o.rxRings,
      txSlots: o.txSlots,
      rxSlots: o.rxSlots,
      hostTxRings: hostTx,
      hostRxRings: hostRx,
      txRingOfs: tx,
      rxRingOfs: rx,
    };
  }

  /**
   * netmap_mem_rings_delete + if_delete: free the buffers now in the slots, the rings, the if.
   * @mirrors netmap_mem2.c:netmap_mem2_rings_delete
   * @mirrors netmap_mem2.c:netmap_mem2_if_delete
   */
  deletePort(p: NetmapPortLayout): void {
    for (const r of p.txRingOfs) this.deleteRing(r);
    for (const r of p.rxRingOfs) this.deleteRing(r);
    this.freeExtraBufs(this.getU32(p.nifpOfs + IF_BUFS_HEAD));
    this.objFree(this.ifMap, this.geometry.if, p.nifpOfs);
  }

  private getU32(off: number): number {
    return this.u32[off >>> 2] ?? 0;
  }

  private setU32(off: number, v: number): void {
    this.u32[off >>> 2] = v;
  }

  /**
   * netmap_obj_malloc for the if/ring pools: a zeroed object, region offset returned.
   * @mirrors netmap_mem2.c:netmap_obj_malloc
   */
  private objAlloc(map: ObjBitmap, g: PoolGeometry, len: number): number {
    if (len > g.objSize)
      throw new NetmapError('NM_OBJ_SIZE', `${g.name}: ${len} bytes exceed object size ${g.objSize}`);
    const j = map.alloc();
    if (j < 0) throw new NetmapError('NM_NOMEM', `${g.name} pool exhausted`);
    const off = g.offset + j * g.objSize;
    this.bytes.fill(0, off, off + g.objSize);
    return off;
  }

  private objFree(map: ObjBitmap, g: PoolGeometry, off: number): void {
    const j = (off - g.offset) / g.objSize;
    if (Number.isInteger(j) && j >= 0 && j < g.objTotal && !map.isFree(j)) map.release(j);
  }

  /**
   * netmap_mem2_rings_create for one ring: header initialised like the kring reset, a buffer per slot.
   * @mirrors netmap_mem2.c:netmap_mem2_rings_create
   */
  private newRing(ringid: number, dir: number, n: number): number {
    const ring = this.objAlloc(this.ringMap, this.geometry.ring, NETMAP_RING_SIZE + n * NETMAP_SLOT_SIZE);
    // ring + buf_ofs = start of the buffer pool.
    this.dv.setBigInt64(ring + RING_BUF_OFS, BigInt(this.geometry.buf.offset - ring), true);
    this.setU32(ring + RING_NUM_SLOTS, n);
    this.setU32(ring + RING_NR_BUF_SIZE, this.bufSize);
    this.u16[(ring + RING_RINGID) >>> 1] = ringid;
    this.u16[(ring + RING_DIR) >>> 1] = dir;
    this.setU32(ring + RING_HEAD, 0);
    this.setU32(ring + RING_CUR, 0);
    // TX: everything but one slot is free for the user; RX: nothing received yet.
    this.setU32(ring + RING_TAIL, dir === NR_TX ? n - 1 : 0);
    for (let i = 0; i < n; i++) {
      const idx = this.bufMap.alloc();
      if (idx < 0) {
        for (let k = 0; k < i; k++)
          this.bufMap.release(this.getU32(ring + RING_SLOTS + k * NETMAP_SLOT_SIZE + SLOT_BUF_IDX));
        this.objFree(this.ringMap, this.geometry.ring, ring);
        throw new NetmapError('NM_NOMEM', `no more buffers after ${i} of ${n}`);
      }
      const s = ring + RING_SLOTS + i * NETMAP_SLOT_SIZE;
      this.setU32(s + SLOT_BUF_IDX, idx);
      this.u16[(s + SLOT_LEN) >>> 1] = this.bufSize;
    }
    return ring;
  }

  private deleteRing(ring: number): void {
    const n = this.getU32(ring + RING_NUM_SLOTS);
    for (let i = 0; i < n; i++) {
      const idx = this.getU32(ring + RING_SLOTS + i * NETMAP_SLOT_SIZE + SLOT_BUF_IDX);
      // netmap_free_bufs skips reserved indices (slots reset by netmap_ring_reinit).
      if (this.isBufAllocated(idx)) this.bufMap.release(idx);
    }
    this.objFree(this.ringMap, this.geometry.ring, ring);
  }
}
