// The VALE switch's control plane (netmap_bdg.c): create a switch, attach and detach ports, close.
// Attaching lays a port out in the shared region, writes its record into the switch's words and
// builds its datapath (vale.ts, the forwarding side, as netmap_vale.c).
import createDebug from 'debug';
import type { NetmapPortLayout, NetmapRegion } from '../netmap/region.ts';
import { HostError } from './errors.ts';
import { SMALL_REGION_BUF_SIZE, smallRegion } from './pipe.ts';
import { PC } from './port-layout.ts';
import { LaidOutPort, type NetmapPort, type ValeShared, makeMac, storeVnetHdrLen } from './port.ts';
import { regionShared } from './region-view.ts';
import { ValeDatapath, ValeView } from './vale.ts';
import { gsoScratchAt, gsoScratchBytes } from './vale-gso-scratch.ts';
import {
  R_ACTIVE,
  R_GEN,
  R_NIFP,
  R_NRX,
  R_NTX,
  R_RINGS,
  R_RXSLOTS,
  R_TXSLOTS,
  SW_GEN,
  VALE_DEFAULT_EXTRA_BUFS,
  VALE_DEFAULT_SLOTS,
  VALE_MAX_PORTS,
  VALE_MAX_RINGS,
  VALE_MAX_SLOTS,
  geometry,
} from './vale-layout.ts';

export interface ValeOptions {
  /** Region shared by every port; a private one sized for maxPorts small ports if absent. */
  region?: NetmapRegion;
  maxPorts?: number;
  /** Default vnet header length of attached ports (0, 10, 12). */
  vnetHdrLen?: number;
}

export interface ValeAttachOptions {
  txRings?: number;
  rxRings?: number;
  txSlots?: number;
  rxSlots?: number;
  vnetHdrLen?: number;
  mac?: Uint8Array;
  /**
   * Extra buffers chained from the port's ni_bufs_head (fewer if the region runs short). Default
   * VALE_DEFAULT_EXTRA_BUFS in the region the switch made, 0 in a region the caller gave it.
   */
  extraBufs?: number;
}

const log = createDebug('ptnet:host');

/** A VALE switch; `attach` creates ports (netmap's `vale0:name`). */
export class ValeSwitch {
  readonly region: NetmapRegion;
  readonly sw: ValeView;
  private readonly names = new Map<string, number>();
  private readonly ports = new Set<ValePort>();
  private closed = false;

  constructor(
    readonly name: string,
    private readonly opts: ValeOptions = {},
  ) {
    const maxPorts = opts.maxPorts ?? VALE_MAX_PORTS;
    if (!Number.isInteger(maxPorts) || maxPorts < 2 || maxPorts > VALE_MAX_PORTS) {
      throw new HostError('HOST_ARG', `maxPorts must be 2..${VALE_MAX_PORTS}`);
    }
    // Default region: buffers for up to 32 ports of two 1024-slot rings and their extra buffers
    // (an attach takes its rings' buffers; past that it fails with NM_NOMEM: pass a bigger region).
    const cap = Math.min(maxPorts, 32);
    // The switch's own region also carries its segmentation scratch, after the region's end.
    const bufs = cap * (2 * VALE_DEFAULT_SLOTS + VALE_DEFAULT_EXTRA_BUFS) + 64;
    this.region = opts.region ?? smallRegion(bufs, cap, gsoScratchBytes(SMALL_REGION_BUF_SIZE));
    const g = geometry(maxPorts, VALE_MAX_RINGS);
    this.sw = new ValeView({
      region: regionShared(this.region),
      switchState: new SharedArrayBuffer(g.words * 4),
      maxPorts,
      maxRings: VALE_MAX_RINGS,
      gsoScratch:
        opts.region === undefined
          ? gsoScratchAt(this.region.base + this.region.size, this.region.bufSize)
          : undefined,
    });
  }

  /**
   * netmap_vale attach: a new port with its rings in the switch's region.
   * @mirrors netmap_vale.c:netmap_vale_vp_create
   * @mirrors netmap_bdg.c:netmap_bdg_attach
   */
  attach(portName: string, o: ValeAttachOptions = {}): ValePort {
    if (this.closed) throw new HostError('HOST_STATE', `${this.name} is closed`);
    if (this.names.has(portName))
      throw new HostError('HOST_BUSY', `${this.name}:${portName} already attached`);
    const txRings = o.txRings ?? 1;
    const rxRings = o.rxRings ?? 1;
    const txSlots = o.txSlots ?? VALE_DEFAULT_SLOTS;
    const rxSlots = o.rxSlots ?? VALE_DEFAULT_SLOTS;
    for (const r of [txRings, rxRings]) {
      if (!Number.isInteger(r) || r < 1 || r > VALE_MAX_RINGS)
        throw new HostError('HOST_ARG', `rings must be 1..${VALE_MAX_RINGS}`);
    }
    for (const s of [txSlots, rxSlots]) {
      if (!Number.isInteger(s) || s < 2 || s > VALE_MAX_SLOTS)
        throw new HostError('HOST_ARG', `slots must be 2..${VALE_MAX_SLOTS}`);
    }
    const sw = this.sw;
    const w = sw.words;
    let p = -1;
    for (let i = 0; i < sw.g.maxPorts; i++) {
      if (Atomics.load(w, sw.rec(i) + R_ACTIVE) === 0) {
        p = i;
        break;
      }
    }
    if (p < 0) throw new HostError('HOST_SWITCH_FULL', `${this.name} has ${sw.g.maxPorts} ports`);
    const layout = this.region.createPort({
      name: `${this.name}:${portName}`.slice(0, 15),
      txRings,
      rxRings,
      txSlots,
      rxSlots,
      extraBufs: o.extraBufs ?? (this.opts.region === undefined ? VALE_DEFAULT_EXTRA_BUFS : 0),
    });
    const r = sw.rec(p);
    w[r + R_NTX] = txRings;
    w[r + R_NRX] = rxRings;
    w[r + R_TXSLOTS] = txSlots;
    w[r + R_RXSLOTS] = rxSlots;
    w[r + R_NIFP] = layout.nifpOfs;
    layout.txRingOfs.forEach((ofs, i) => (w[r + R_RINGS + i] = ofs));
    layout.rxRingOfs.forEach((ofs, i) => (w[r + R_RINGS + VALE_MAX_RINGS + i] = ofs));
    const ctl = sw.ctl(p);
    w.fill(0, ctl, ctl + sw.g.stateWords);
    const dp = new ValeDatapath(sw, p, sw.ringsOf(p));
    for (const kr of dp.krings) kr.reset();
    storeVnetHdrLen(w, ctl, o.vnetHdrLen ?? this.opts.vnetHdrLen ?? 0, this.region.bufSize);
    Atomics.store(w, ctl + PC.ACTIVE, 1);
    Atomics.add(w, r + R_GEN, 1);
    Atomics.store(w, r + R_ACTIVE, 1);
    Atomics.add(w, SW_GEN, 1);
    sw.adopt(dp);
    this.names.set(portName, p);
    const port = new ValePort(`${this.name}:${portName}`, this, p, layout, dp, o.mac ?? makeMac());
    this.ports.add(port);
    if (log.enabled)
      log('%s: attach port %d (%d+%d rings, %d/%d slots)', port.name, p, txRings, rxRings, txSlots, rxSlots);
    return port;
  }

  /**
   * Detaches every port still attached and refuses further attaches. Rejects with HostError
   * HOST_BUSY, detaching nothing, while a port still has a kloop: close its unikernel first (with
   * `await using`, declare the switch before the unikernels on it). Holds no thread or handle of
   * its own; idempotent.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    const w = this.sw.words;
    for (const port of this.ports) {
      if (Atomics.load(w, this.sw.ctl(port.index) + PC.KLOOP) !== 0)
        throw new HostError(
          'HOST_BUSY',
          `${port.name}: stop its kloop (close its unikernel) before closing ${this.name}`,
        );
    }
    this.closed = true;
    if (log.enabled) log('%s: switch close (%d ports attached)', this.name, this.ports.size);
    for (const port of [...this.ports]) this.detach(port);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /**
   * Detaches a port: it stops receiving, its learnt addresses are forgotten, its rings freed.
   * @mirrors netmap_bdg.c:netmap_bdg_detach
   */
  detach(port: ValePort): void {
    const w = this.sw.words;
    if (this.names.get(port.name.slice(this.name.length + 1)) !== port.index) return;
    if (Atomics.load(w, this.sw.ctl(port.index) + PC.KLOOP) !== 0) {
      throw new HostError('HOST_BUSY', `${port.name}: stop its kloop before detaching`);
    }
    Atomics.store(w, this.sw.rec(port.index) + R_ACTIVE, 0);
    Atomics.add(w, SW_GEN, 1);
    Atomics.store(w, this.sw.ctl(port.index) + PC.ACTIVE, 0);
    // A sender that found the port before it went inactive re-checks under the RX lock: after one
    // lock/unlock of each RX kring, nobody writes into the rings any more.
    const dp = port.datapath;
    for (let r = dp.numTx; r < dp.numTx + dp.numRx; r++) {
      dp.krings[r]!.lock();
      dp.krings[r]!.unlock();
    }
    this.sw.fdb.forgetPort(port.index);
    this.names.delete(port.name.slice(this.name.length + 1));
    this.ports.delete(port);
    this.region.deletePort(port.layout);
    if (log.enabled) log('%s: detach port %d', port.name, port.index);
  }
}

/** A VALE port as a NetmapPort. */
export class ValePort extends LaidOutPort implements NetmapPort {
  constructor(
    readonly name: string,
    readonly vale: ValeSwitch,
    readonly index: number,
    readonly layout: NetmapPortLayout,
    readonly datapath: ValeDatapath,
    readonly mac: Uint8Array,
  ) {
    super();
  }

  get region(): NetmapRegion {
    return this.vale.region;
  }
  /** Detaches the port from its switch (HOST_BUSY while a kloop serves it); idempotent. */
  async close(): Promise<void> {
    this.vale.detach(this);
  }
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
  /** NETMAP_REQ_PORT_HDR_SET: 0, 10 or 12; the mfs follows (1514, or the buffer size). */
  setVnetHdrLen(n: number): boolean {
    return storeVnetHdrLen(this.datapath.state, this.datapath.ctl, n, this.vale.region.bufSize);
  }
  shared(): ValeShared {
    const s = this.vale.sw.shared;
    return {
      kind: 'vale',
      region: s.region,
      switchState: s.switchState,
      maxPorts: s.maxPorts,
      maxRings: s.maxRings,
      port: this.index,
      gsoScratch: s.gsoScratch,
    };
  }
}
