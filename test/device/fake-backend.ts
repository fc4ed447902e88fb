// A stand-in for src/host's NetmapPort and SyncKloop, recording what the device asks of them.
import {
  CsbAtok,
  CsbKtoa,
  NetmapRegion,
  NM_CSB_ATOK_SIZE,
  NM_CSB_KTOA_SIZE,
} from '../../src/netmap/index.ts';
import type { NetmapMemParams } from '../../src/netmap/index.ts';
import type { CsbLocation, PtnetBackendPort, SyncKloopLike } from '../../src/device/index.ts';

export const smallParams: NetmapMemParams = {
  if: { objSize: 1024, objNum: 16 },
  ring: { objSize: 4 * 4096, objNum: 16 },
  buf: { objSize: 2048, objNum: 512 },
};

export class FakePort implements PtnetBackendPort {
  readonly region: NetmapRegion;
  readonly nifpOffset: number;
  readonly mac = new Uint8Array([0x02, 0x11, 0x22, 0x33, 0x44, 0x55]);
  vnetHdrLen = 0;
  constructor(
    readonly name: string,
    readonly numTxRings = 2,
    readonly numRxRings = 2,
    readonly numTxSlots = 64,
    readonly numRxSlots = 128,
    /** Header lengths this port accepts. */
    readonly accepted: readonly number[] = [0, 10, 12],
    region?: NetmapRegion,
    /** Extra buffers chained from the port's ni_bufs_head. */
    extraBufs = 0,
  ) {
    this.region = region ?? new NetmapRegion({ params: smallParams });
    this.nifpOffset = this.region.createPort({
      name,
      txRings: numTxRings,
      rxRings: numRxRings,
      txSlots: numTxSlots,
      rxSlots: numRxSlots,
      extraBufs,
    }).nifpOfs;
  }
  get memId(): number {
    return this.region.memId;
  }
  setVnetHdrLen(n: number): boolean {
    if (!this.accepted.includes(n)) return false;
    this.vnetHdrLen = n;
    return true;
  }
}

/** Records start/stop/kick; on start does what netmap_csb_validate does to the CSB (§2.4). */
export class FakeKloop implements SyncKloopLike {
  readonly kicks: number[] = [];
  started = 0;
  stopped = 0;
  /** kern_need_kick / appl_need_kick per ring as the guest left them before CREATE. */
  flagsAtStart: { kern: number[]; appl: number[] } = { kern: [], appl: [] };
  /** Test hook: what the "host" writes into ring 0's ktoa.hwtail on start. */
  hwtailOverride: number | undefined;
  constructor(
    readonly port: FakePort,
    readonly csb: CsbLocation,
    readonly irq: (ring: number) => void,
  ) {}
  start(): void {
    this.started++;
    const n = this.port.numTxRings + this.port.numRxRings;
    for (let i = 0; i < n; i++) {
      const tx = i < this.port.numTxRings;
      const atok = new CsbAtok(this.csb.csb, this.csb.ghOffset + i * NM_CSB_ATOK_SIZE);
      const ktoa = new CsbKtoa(this.csb.csb, this.csb.hgOffset + i * NM_CSB_KTOA_SIZE);
      const slots = tx ? this.port.numTxSlots : this.port.numRxSlots;
      this.flagsAtStart.kern.push(ktoa.kernNeedKick);
      this.flagsAtStart.appl.push(atok.applNeedKick);
      atok.head = 0;
      atok.cur = 0;
      atok.applNeedKick = 1;
      atok.syncFlags = 1;
      ktoa.hwcur = 0;
      ktoa.hwtail = i === 0 && this.hwtailOverride !== undefined ? this.hwtailOverride : tx ? slots - 1 : 0;
      ktoa.kernNeedKick = 1;
    }
  }
  stop(): void {
    this.stopped++;
  }
  kick(ring: number): void {
    this.kicks.push(ring);
  }
}
