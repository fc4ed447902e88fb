// The ptnet PCI function (1b36:000d), modelled on QEMU's hw/net/ptnetmap-netif.c (newest revision:
// split GH/HG CSB, per-ring kicks, sync-kloop backend). BAR0 holds the registers of docs/SPEC.md §2.2;
// PTCTL CREATE starts the host sync loop over the CSB the guest placed in its memory, kicks go to
// that loop and its interrupts come back as MSI-X vector i for ring i.

import createDebug from 'debug';
import type { KloopMode, KloopOptions, NetmapPort } from '../host/index.ts';
import { HostError, SyncKloop } from '../host/index.ts';
import { NM_CSB_ATOK_SIZE, NM_CSB_KTOA_SIZE } from '../netmap/index.ts';
import type { GuestMemory, GuestMapping, PciBar, PciFunction, RegisterSpace } from './interface.ts';
import {
  EBUSY,
  EINVAL,
  ENXIO,
  PCI_CLASS_NETWORK_ETHERNET,
  PTNETMAP_F_VNET_HDR,
  PTNETMAP_PCI_NETIF_ID,
  PTNETMAP_PCI_VENDOR_ID,
  PTNETMAP_PTCTL_CREATE,
  PTNETMAP_PTCTL_DELETE,
  PTNET_IO_CSBBAH,
  PTNET_IO_CSBBAL,
  PTNET_IO_CSB_GH_BAH,
  PTNET_IO_CSB_GH_BAL,
  PTNET_IO_CSB_HG_BAH,
  PTNET_IO_CSB_HG_BAL,
  PTNET_IO_END,
  PTNET_IO_HOSTMEMID,
  PTNET_IO_KICK_BASE,
  PTNET_IO_MAC_HI,
  PTNET_IO_MAC_LO,
  PTNET_IO_MASK,
  PTNET_IO_NIFP_OFS,
  PTNET_IO_NUM_RX_RINGS,
  PTNET_IO_NUM_RX_SLOTS,
  PTNET_IO_NUM_TX_RINGS,
  PTNET_IO_NUM_TX_SLOTS,
  PTNET_IO_PTCTL,
  PTNET_IO_PTFEAT,
  PTNET_IO_VNET_HDR_LEN,
  PTNET_MAX_KICK_RINGS,
} from './interface.ts';
import { MsixTable } from './msix.ts';
import { DeviceError } from './errors.ts';

const log = createDebug('ptnet:device');

/** The netmap port passed through: a NetmapPort less what only the host's own threads use. */
export type PtnetBackendPort = Omit<NetmapPort, 'datapath' | 'shared'>;

/** The two CSB arrays as the host sync loop addresses them (src/host's CsbWindow). */
export interface CsbLocation {
  /** Guest memory holding both arrays. */
  readonly csb: SharedArrayBuffer;
  /** Byte offset in `csb` of the nm_csb_atok array (guest → host). */
  readonly ghOffset: number;
  /** Byte offset in `csb` of the nm_csb_ktoa array (host → guest). */
  readonly hgOffset: number;
}

/** The host sync loop (src/host's SyncKloop): NETMAP_REQ_SYNC_KLOOP_START / STOP and a kick. */
export interface SyncKloopLike {
  start(): void;
  /** Synchronous: the loop no longer touches the CSB when it returns. */
  stop(): void;
  kick(ring: number): void;
}

/** Builds a sync loop for the port over the CSB; `irq(ring)` raises the ring's interrupt. */
export type KloopFactory<P extends PtnetBackendPort> = (
  port: P,
  csb: CsbLocation,
  irq: (ring: number) => void,
) => SyncKloopLike;

export interface PtnetCounters {
  /** Kicks forwarded to a running loop. */
  kicks: number;
  /** Kick writes with no running loop, or to a ring that does not exist. */
  kicksDropped: number;
  /** Accesses that are not aligned 32-bit accesses inside the BAR. */
  badAccess: number;
  /** Nonzero CSB addresses that are not guest RAM. */
  csbMapFailures: number;
}

/** The host's sync loop as the device's loop: what QEMU's netmap backend starts on CREATE. */
export function hostKloop(mode: KloopMode, opts?: KloopOptions): KloopFactory<NetmapPort> {
  return (port, csb, irq) => new SyncKloop(port, csb, irq, mode, opts);
}

/** BAR0 size (PTNET_IO_MASK + 1). */
export const PTNET_IO_SIZE = PTNET_IO_MASK + 1;

export class PtnetDevice<P extends PtnetBackendPort = PtnetBackendPort>
  implements PciFunction, RegisterSpace
{
  readonly vendorId = PTNETMAP_PCI_VENDOR_ID;
  readonly deviceId = PTNETMAP_PCI_NETIF_ID;
  readonly classCode = PCI_CLASS_NETWORK_ETHERNET;
  readonly bars: readonly (PciBar | undefined)[];
  readonly msix: MsixTable;
  /** Features offered: VNET_HDR iff the backend accepts a 12-byte header. */
  readonly offeredFeatures: number;
  readonly counters: PtnetCounters = { kicks: 0, kicksDropped: 0, badAccess: 0, csbMapFailures: 0 };
  private readonly ioregs = new Uint32Array(PTNET_IO_END >> 2);
  private readonly numRings: number;
  private csbGh: GuestMapping | undefined;
  private csbHg: GuestMapping | undefined;
  private kloop: SyncKloopLike | null = null;
  private readonly irq = (ring: number): void => this.msix.raise(ring);

  /**
   * @mirrors ptnetmap-netif.c:pci_ptnet_realize
   * @mirrors ptnetmap-netif.c:qdev_ptnet_reset
   */
  constructor(
    readonly port: P,
    private readonly memory: GuestMemory,
    private readonly kloopFactory: KloopFactory<P>,
  ) {
    this.numRings = port.numTxRings + port.numRxRings;
    if (port.mac.length !== 6) throw new DeviceError('DEV_BACKEND', 'backend MAC is not 6 bytes');
    // pci_ptnet_realize: an exclusive MSI-X BAR with one vector per ring.
    this.msix = new MsixTable(this.numRings);
    // netmap_has_vnet_hdr_len in QEMU's netmap backend: try 12, then restore.
    const prev = port.vnetHdrLen;
    const accepts12 = port.setVnetHdrLen(12);
    if (accepts12) port.setVnetHdrLen(prev);
    this.offeredFeatures = accepts12 ? PTNETMAP_F_VNET_HDR : 0;
    // qdev_ptnet_reset: MAC registers.
    const m = port.mac;
    this.ioregs[PTNET_IO_MAC_HI >> 2] = (m[0]! << 8) | m[1]!;
    this.ioregs[PTNET_IO_MAC_LO >> 2] = ((m[2]! << 24) | (m[3]! << 16) | (m[4]! << 8) | m[5]!) >>> 0;
    this.bars = [{ kind: 'io', size: PTNET_IO_SIZE, regs: this }];
    if (log.enabled)
      log(
        '%s: attach ptnet (%d+%d rings, mem %d, features %s)',
        port.name,
        port.numTxRings,
        port.numRxRings,
        port.memId,
        accepts12 ? 'VNET_HDR' : 'none',
      );
  }

  /** True while a sync loop started by CREATE runs. */
  get running(): boolean {
    return this.kloop !== null;
  }

  /** @mirrors ptnetmap-netif.c:ptnet_io_read */
  read32(offset: number): number {
    if (offset >>> 0 !== offset || (offset & 3) !== 0 || offset >= PTNET_IO_SIZE) {
      this.counters.badAccess++;
      return 0;
    }
    if (offset >= PTNET_IO_END) return 0;
    const p = this.port;
    switch (offset) {
      case PTNET_IO_NIFP_OFS:
        return p.nifpOffset >>> 0;
      case PTNET_IO_NUM_TX_RINGS:
        return p.numTxRings;
      case PTNET_IO_NUM_RX_RINGS:
        return p.numRxRings;
      case PTNET_IO_NUM_TX_SLOTS:
        return p.numTxSlots;
      case PTNET_IO_NUM_RX_SLOTS:
        return p.numRxSlots;
      case PTNET_IO_VNET_HDR_LEN:
        return p.vnetHdrLen;
      case PTNET_IO_HOSTMEMID:
        return p.memId >>> 0;
      default:
        return this.ioregs[offset >> 2] ?? 0;
    }
  }

  /** @mirrors ptnetmap-netif.c:ptnet_io_write */
  write32(offset: number, value: number): void {
    if (offset >>> 0 !== offset || (offset & 3) !== 0 || offset >= PTNET_IO_SIZE) {
      this.counters.badAccess++;
      return;
    }
    const v = value >>> 0;
    if (offset >= PTNET_IO_KICK_BASE) {
      this.kick((offset - PTNET_IO_KICK_BASE) >> 2);
      return;
    }
    switch (offset) {
      case PTNET_IO_PTFEAT:
        // ptnetmap_ack_features: keep what both sides support.
        this.ioregs[offset >> 2] = v & this.offeredFeatures;
        return;
      case PTNET_IO_PTCTL:
        this.ptctl(v);
        return;
      case PTNET_IO_CSBBAH:
      case PTNET_IO_CSBBAL:
      case PTNET_IO_CSB_GH_BAH:
      case PTNET_IO_CSB_HG_BAH:
        // The deprecated single-CSB pair is kept for read-back only; it maps nothing.
        this.ioregs[offset >> 2] = v;
        return;
      case PTNET_IO_CSB_GH_BAL:
      case PTNET_IO_CSB_HG_BAL:
        this.ioregs[offset >> 2] = v;
        // The loop must stop before the memory it reads is remapped (QEMU maps, then stops).
        this.ptctl(PTNETMAP_PTCTL_DELETE);
        if (offset === PTNET_IO_CSB_GH_BAL) this.csbGh = this.mapCsb(PTNET_IO_CSB_GH_BAH, NM_CSB_ATOK_SIZE);
        else this.csbHg = this.mapCsb(PTNET_IO_CSB_HG_BAH, NM_CSB_KTOA_SIZE);
        return;
      case PTNET_IO_VNET_HDR_LEN:
        // Applied only if the backend accepts it; reads return the length in force.
        this.port.setVnetHdrLen(v);
        return;
      default:
        // Read-only registers and the hole up to the kick area.
        return;
    }
  }

  /** Guest-physical address of a BAH/BAL pair. */
  private csbAddress(bah: number): number {
    return (this.ioregs[bah >> 2] ?? 0) * 2 ** 32 + (this.ioregs[(bah + 4) >> 2] ?? 0);
  }

  /**
   * ptnet_csb_map_one: 64 × (T + R) bytes at the programmed address; address 0 unmaps.
   * @mirrors ptnetmap-netif.c:ptnet_csb_map_one
   */
  private mapCsb(bah: number, entrySize: number): GuestMapping | undefined {
    const gpa = this.csbAddress(bah);
    const which = bah === PTNET_IO_CSB_GH_BAH ? 'gh' : 'hg';
    if (gpa === 0) {
      if (log.enabled) log('%s: CSB %s unmapped (guest detach)', this.port.name, which);
      return undefined;
    }
    const m = this.memory.map(gpa, entrySize * this.numRings);
    if (m === undefined) {
      this.counters.csbMapFailures++;
      if (log.enabled) log('%s: CSB address %s is not guest RAM', this.port.name, gpa.toString(16));
    } else if (log.enabled) {
      log('%s: CSB %s mapped at %s (%d entries)', this.port.name, which, gpa.toString(16), this.numRings);
    }
    return m;
  }

  /**
   * ptnet_ptctl: run the command, store the status (positive errno, 0 = ok).
   * @mirrors ptnetmap-netif.c:ptnet_ptctl
   */
  private ptctl(cmd: number): void {
    let status = EINVAL;
    if (cmd === PTNETMAP_PTCTL_CREATE) status = this.create();
    else if (cmd === PTNETMAP_PTCTL_DELETE) status = this.delete();
    this.ioregs[PTNET_IO_PTCTL >> 2] = status;
    if (log.enabled && cmd === PTNETMAP_PTCTL_CREATE) log('%s: PTCTL CREATE -> %d', this.port.name, status);
  }

  /** @mirrors ptnetmap-netif.c:ptnet_ptctl_create */
  private create(): number {
    // netmap refuses a second sync loop on the same port.
    if (this.kloop !== null) return EBUSY;
    const gh = this.csbGh;
    const hg = this.csbHg;
    if (gh === undefined || hg === undefined) return ENXIO;
    // netmap_csb_validate: each array aligned to its entry size. Both arrays must also be in
    // the one buffer the loop is given.
    if (
      this.csbAddress(PTNET_IO_CSB_GH_BAH) % NM_CSB_ATOK_SIZE !== 0 ||
      this.csbAddress(PTNET_IO_CSB_HG_BAH) % NM_CSB_KTOA_SIZE !== 0 ||
      gh.buffer !== hg.buffer
    ) {
      return EINVAL;
    }
    // The loop's interrupts are wired to MSI-X vectors: the guest must have enabled MSI-X.
    if (!this.msix.enabled) return EINVAL;
    let loop: SyncKloopLike;
    try {
      // The host validates the CSB window when the loop is built: a refusal is a CREATE failure.
      loop = this.kloopFactory(
        this.port,
        { csb: gh.buffer, ghOffset: gh.byteOffset, hgOffset: hg.byteOffset },
        this.irq,
      );
      loop.start();
    } catch (e) {
      if (log.enabled) log('%s: sync loop did not start: %O', this.port.name, e);
      // netmap_sync_kloop refuses a second loop on a port with EBUSY; anything else is EINVAL.
      return e instanceof HostError && e.code === 'HOST_STATE' ? EBUSY : EINVAL;
    }
    this.kloop = loop;
    if (log.enabled) log('%s: sync loop running, kicks enabled on %d rings', this.port.name, this.numRings);
    return 0;
  }

  /** @mirrors ptnetmap-netif.c:ptnet_ptctl_delete */
  private delete(): number {
    const loop = this.kloop;
    this.kloop = null;
    if (loop !== null) {
      loop.stop();
      // Only a DELETE that stopped a loop is a lifecycle event (every CSB write issues one).
      if (log.enabled) log('%s: PTCTL DELETE: sync loop stopped, kicks disabled', this.port.name);
    }
    return 0;
  }

  /** KICK[i]: the ioeventfd of ring i, bound only for rings that exist. */
  private kick(ring: number): void {
    if (this.kloop === null || ring >= this.numRings || ring >= PTNET_MAX_KICK_RINGS) {
      this.counters.kicksDropped++;
      return;
    }
    this.counters.kicks++;
    this.kloop.kick(ring);
  }
}
