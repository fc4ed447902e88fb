// ptnet attach and lifecycle (docs/SPEC.md §2.5; if_ptnet.c ptnet_attach / ptnet_nm_register, Linux
// netmap_ptnet.c ptnet_probe): probe the NIC and its memdev, negotiate features, place the CSB in
// guest memory, wire MSI-X, find the rings in the memdev BAR, then CREATE the host sync loop.
// Every step that takes something registers its undo, so a failure leaves the device detached.

import createDebug from 'debug';
import {
  CsbAtok,
  CsbKtoa,
  NETMAP_IF_SIZE,
  NETMAP_RING_SIZE,
  NETMAP_SLOT_SIZE,
  NetmapIfView,
  NetmapRingView,
  NAF_FORCE_READ,
  NAF_FORCE_RECLAIM,
  NKR_PENDINTR,
  NM_CSB_ATOK_SIZE,
  nmSyncKloopApplWrite,
  NM_CSB_KTOA_SIZE,
} from '../netmap/index.ts';
import type {
  GuestPlatform,
  MemoryBar,
  MsixCapability,
  PciFunction,
  RegisterSpace,
} from '../device/interface.ts';
import {
  GUEST_PAGE_SIZE,
  PTNETMAP_F_VNET_HDR,
  PTNETMAP_IO_PCI_BAR,
  PTNETMAP_MEM_PCI_BAR,
  PTNETMAP_PCI_DEVICE_ID,
  PTNETMAP_PCI_NETIF_ID,
  PTNETMAP_PCI_VENDOR_ID,
  PTNETMAP_PTCTL_CREATE,
  PTNETMAP_PTCTL_DELETE,
  PTNET_IO_CSB_GH_BAH,
  PTNET_IO_CSB_GH_BAL,
  PTNET_IO_CSB_HG_BAH,
  PTNET_IO_CSB_HG_BAL,
  PTNET_IO_HOSTMEMID,
  PTNET_IO_KICK_BASE,
  PTNET_IO_MAC_HI,
  PTNET_IO_MAC_LO,
  PTNET_IO_NIFP_OFS,
  PTNET_IO_NUM_RX_RINGS,
  PTNET_IO_NUM_RX_SLOTS,
  PTNET_IO_NUM_TX_RINGS,
  PTNET_IO_NUM_TX_SLOTS,
  PTNET_IO_PTCTL,
  PTNET_IO_PTFEAT,
  PTNET_IO_VNET_HDR_LEN,
  PTNET_MAX_KICK_RINGS,
  PTNET_MDEV_IO_BUF_POOL_OBJNUM,
  PTNET_MDEV_IO_BUF_POOL_OBJSZ,
  PTNET_MDEV_IO_BUF_POOL_OFS,
  PTNET_MDEV_IO_MEMID,
  PTNET_MDEV_IO_MEMSIZE_HI,
  PTNET_MDEV_IO_MEMSIZE_LO,
} from '../device/interface.ts';
import type { AttachStep, DriverErrorCode } from './errors.ts';
import { DriverError } from './errors.ts';
import { GuestKring } from './kring.ts';
import {
  ptGuestRxsync,
  ptGuestTxsync,
  ringReinit,
  rxsyncPrologue,
  syncFinalize,
  txsyncPrologue,
} from './sync.ts';

const log = createDebug('ptnet:driver');

/** Largest packet the driver handles (NETMAP/ptnet: 64 KiB). */
export const PTNET_MAX_PKT_SIZE = 65536;
/** The virtio-net header length drivers ask for when the tunable is on. */
export const PTNET_VNET_HDR_LEN = 12;

/** Who drives the rings of an attached adapter (docs/SPEC.md §4: exclusive, as in the kernel). */
export type RingUser = 'netmap' | 'netif';

export interface AttachOptions {
  /** Which ptnet function, counting from 0 in bus order (default 0). */
  unit?: number;
  /** The `ptnet_vnet_hdr` tunable: negotiate the 12-byte virtio-net header (default true). */
  vnetHdr?: boolean;
  /** Runs from MSI-X vector i for ring i, after NKR_PENDINTR is set on the ring. */
  onInterrupt?: (ring: number) => void;
}

function ptnetId(f: PciFunction, device: number): boolean {
  return f.vendorId === PTNETMAP_PCI_VENDOR_ID && f.deviceId === device;
}

function ioBar(f: PciFunction, step: AttachStep): RegisterSpace {
  const b = f.bars[PTNETMAP_IO_PCI_BAR];
  if (b?.kind !== 'io') throw new DriverError('NO_BAR', 'function has no I/O BAR0', step);
  return b.regs;
}

/** An attached ptnet NIC: registers, CSB, MSI-X and rings, with the host sync loop running. */
export class PtnetAdapter {
  readonly regs: RegisterSpace;
  readonly mac: Uint8Array;
  /** PTFEAT as acked by the device. */
  readonly features: number;
  /** The virtio-net header length in force (VNET_HDR_LEN read back). */
  readonly vnetHdrLen: number;
  readonly numTxRings: number;
  readonly numRxRings: number;
  readonly numTxSlots: number;
  readonly numRxSlots: number;
  readonly memId: number;
  readonly bufSize: number;
  readonly bufCount: number;
  /** Room for one maximum-size packet: 65536 / buf_size + 2. */
  readonly minTxSlots: number;
  /** The memdev region as mapped through BAR1. */
  readonly memBar: MemoryBar;
  /** The port's netmap_if (ni_bufs_head: the extra buffers). */
  readonly nifp: NetmapIfView;
  /** Byte offset in memBar.buffer of netmap buffer 0. */
  readonly bufBase: number;
  /** All rings in ptnet numbering: TX 0..T−1, then RX. */
  readonly krings: readonly GuestKring[];
  private readonly msix: MsixCapability;
  private readonly memory: GuestPlatform['memory'];
  private readonly csbGpa: number;
  private onInterrupt: ((ring: number) => void) | undefined;
  private attached = true;
  private user: RingUser | null = null;

  private constructor(init: {
    regs: RegisterSpace;
    mac: Uint8Array;
    features: number;
    vnetHdrLen: number;
    numTxRings: number;
    numRxRings: number;
    numTxSlots: number;
    numRxSlots: number;
    memId: number;
    bufSize: number;
    bufCount: number;
    memBar: MemoryBar;
    nifp: NetmapIfView;
    bufBase: number;
    krings: GuestKring[];
    msix: MsixCapability;
    memory: GuestPlatform['memory'];
    csbGpa: number;
    onInterrupt: ((ring: number) => void) | undefined;
  }) {
    this.regs = init.regs;
    this.mac = init.mac;
    this.features = init.features;
    this.vnetHdrLen = init.vnetHdrLen;
    this.numTxRings = init.numTxRings;
    this.numRxRings = init.numRxRings;
    this.numTxSlots = init.numTxSlots;
    this.numRxSlots = init.numRxSlots;
    this.memId = init.memId;
    this.bufSize = init.bufSize;
    this.bufCount = init.bufCount;
    this.minTxSlots = Math.floor(PTNET_MAX_PKT_SIZE / init.bufSize) + 2;
    this.memBar = init.memBar;
    this.nifp = init.nifp;
    this.bufBase = init.bufBase;
    this.krings = init.krings;
    this.msix = init.msix;
    this.memory = init.memory;
    this.csbGpa = init.csbGpa;
    this.onInterrupt = init.onInterrupt;
  }

  /**
   * Probe and bring up a ptnet NIC (docs/SPEC.md §2.5 steps 1–9). Throws a DriverError naming the step.
   * @mirrors if_ptnet.c:ptnet_attach
   * @mirrors netmap_ptnet.c:ptnet_probe
   */
  static attach(platform: GuestPlatform, opts: AttachOptions = {}): PtnetAdapter {
    const undo: (() => void)[] = [];
    let step: AttachStep = 'probe';
    const fail = (code: DriverErrorCode, msg: string, status?: number): never => {
      throw new DriverError(code, msg, step, status);
    };
    try {
      // 1. Probe: the NIC, then the memdev of its host allocator (either may come first on the bus).
      const nics = platform.functions.filter((f) => ptnetId(f, PTNETMAP_PCI_NETIF_ID));
      const nic = nics[opts.unit ?? 0] ?? fail('NO_PTNET', `no ptnet unit ${opts.unit ?? 0}`);
      const regs = ioBar(nic, step);
      const memId = regs.read32(PTNET_IO_HOSTMEMID);
      const memdev =
        platform.functions.find(
          (f) => ptnetId(f, PTNETMAP_PCI_DEVICE_ID) && ioBar(f, step).read32(PTNET_MDEV_IO_MEMID) === memId,
        ) ?? fail('NO_MEMDEV', `no memdev with MEMID ${memId}`, memId);
      const mdRegs = ioBar(memdev, step);

      // 2. Features.
      step = 'features';
      regs.write32(PTNET_IO_PTFEAT, opts.vnetHdr === false ? 0 : PTNETMAP_F_VNET_HDR);
      const features = regs.read32(PTNET_IO_PTFEAT);

      // 3. Ring counts: one CSB entry per ring in a page, one kick register per ring.
      step = 'rings';
      const numTxRings = regs.read32(PTNET_IO_NUM_TX_RINGS);
      const numRxRings = regs.read32(PTNET_IO_NUM_RX_RINGS);
      const nrings = numTxRings + numRxRings;
      if (numTxRings === 0 || numRxRings === 0)
        fail('RING_COUNT', `${numTxRings} TX / ${numRxRings} RX rings`);
      if (nrings * NM_CSB_ATOK_SIZE > GUEST_PAGE_SIZE)
        fail('RING_COUNT', `${nrings} rings do not fit a CSB page`, nrings);
      if (nrings > PTNET_MAX_KICK_RINGS)
        fail('RING_COUNT', `${nrings} rings exceed the ${PTNET_MAX_KICK_RINGS} kick registers`, nrings);

      // 4. CSB: two zeroed pages, GH in the first, HG in the second; BAH before BAL.
      step = 'csb';
      let csbGpa = 0;
      try {
        csbGpa = platform.memory.allocPages(2);
      } catch (e) {
        fail('CSB_ALLOC', `no pages for the CSB (${(e as Error).message})`);
      }
      undo.push(() => platform.memory.freePages(csbGpa, 2));
      const ghGpa = csbGpa;
      const hgGpa = csbGpa + GUEST_PAGE_SIZE;
      const gh = platform.memory.map(ghGpa, GUEST_PAGE_SIZE) ?? fail('CSB_ALLOC', 'CSB GH page does not map');
      const hg = platform.memory.map(hgGpa, GUEST_PAGE_SIZE) ?? fail('CSB_ALLOC', 'CSB HG page does not map');
      regs.write32(PTNET_IO_CSB_GH_BAH, Math.floor(ghGpa / 2 ** 32));
      regs.write32(PTNET_IO_CSB_GH_BAL, ghGpa >>> 0);
      regs.write32(PTNET_IO_CSB_HG_BAH, Math.floor(hgGpa / 2 ** 32));
      regs.write32(PTNET_IO_CSB_HG_BAL, hgGpa >>> 0);
      undo.push(() => unmapCsb(regs));

      // 6. MSI-X: one vector per ring; handlers are installed below, once the krings exist.
      step = 'msix';
      const msix = nic.msix ?? fail('MSIX_VECTORS', 'no MSI-X capability');
      if (msix.vectors < nrings)
        fail('MSIX_VECTORS', `${msix.vectors} MSI-X vectors for ${nrings} rings`, msix.vectors);

      // 7. MAC, port geometry, and the netmap memory through the memdev BAR.
      step = 'memory';
      const hi = regs.read32(PTNET_IO_MAC_HI);
      const lo = regs.read32(PTNET_IO_MAC_LO);
      const mac = new Uint8Array([hi >>> 8, hi, lo >>> 24, lo >>> 16, lo >>> 8, lo]);
      const nifpOfs = regs.read32(PTNET_IO_NIFP_OFS);
      const numTxSlots = regs.read32(PTNET_IO_NUM_TX_SLOTS);
      const numRxSlots = regs.read32(PTNET_IO_NUM_RX_SLOTS);
      const bar = memdev.bars[PTNETMAP_MEM_PCI_BAR];
      const memBar = bar?.kind === 'mem' ? bar.mem : fail('NO_BAR', 'memdev has no memory BAR1');
      const memSize =
        mdRegs.read32(PTNET_MDEV_IO_MEMSIZE_HI) * 2 ** 32 + mdRegs.read32(PTNET_MDEV_IO_MEMSIZE_LO);
      const bufPoolOfs = mdRegs.read32(PTNET_MDEV_IO_BUF_POOL_OFS);
      const bufCount = mdRegs.read32(PTNET_MDEV_IO_BUF_POOL_OBJNUM);
      const bufSize = mdRegs.read32(PTNET_MDEV_IO_BUF_POOL_OBJSZ);
      // netmap_mem_pt_guest_finalize trusts these; we check them against the mapping.
      if (memSize > memBar.size || memSize > memBar.barSize)
        fail('BAD_MEMORY', `MEMSIZE ${memSize} exceeds BAR1`, memSize);
      if (bufSize === 0 || bufCount < 2 || bufPoolOfs + bufCount * bufSize > memSize) {
        fail(
          'BAD_MEMORY',
          `buffer pool [${bufPoolOfs}, +${bufCount}×${bufSize}) outside ${memSize} bytes`,
          bufPoolOfs,
        );
      }
      if (nifpOfs % 8 !== 0 || nifpOfs + NETMAP_IF_SIZE > memSize)
        fail('BAD_MEMORY', `NIFP_OFS ${nifpOfs} outside the region`, nifpOfs);
      const { krings, nifp } = findRings(
        memBar,
        memSize,
        nifpOfs,
        numTxRings,
        numRxRings,
        numTxSlots,
        numRxSlots,
        bufPoolOfs,
        bufSize,
        bufCount,
        gh,
        hg,
        fail,
      );

      // 8. Virtio-net header length: ask, then believe only what reads back.
      step = 'vnet-hdr';
      regs.write32(PTNET_IO_VNET_HDR_LEN, features & PTNETMAP_F_VNET_HDR ? PTNET_VNET_HDR_LEN : 0);
      const vnetHdrLen = regs.read32(PTNET_IO_VNET_HDR_LEN);
      if (vnetHdrLen !== 0 && vnetHdrLen !== 10 && vnetHdrLen !== 12)
        fail('VNET_HDR_LEN', `device reports ${vnetHdrLen}`, vnetHdrLen);

      const adapter = new PtnetAdapter({
        regs,
        mac,
        features,
        vnetHdrLen,
        numTxRings,
        numRxRings,
        numTxSlots,
        numRxSlots,
        memId,
        bufSize,
        bufCount,
        memBar,
        nifp,
        bufBase: memBar.byteOffset + bufPoolOfs,
        krings,
        msix,
        memory: platform.memory,
        csbGpa,
        onInterrupt: opts.onInterrupt,
      });
      step = 'msix';
      msix.enable();
      for (const kr of krings) msix.setHandler(kr.id, adapter.interruptHandler(kr));
      undo.push(() => {
        for (const kr of krings) msix.setHandler(kr.id, null);
        msix.disable();
      });

      // 9. Kick flags before CREATE (the host rewrites them when it enables CSB mode).
      step = 'kick-flags';
      for (const kr of krings) {
        kr.ktoa.kernNeedKick = 1;
        kr.atok.applNeedKick = kr.tx ? 0 : 1;
      }
      step = 'create';
      regs.write32(PTNET_IO_PTCTL, PTNETMAP_PTCTL_CREATE);
      const status = regs.read32(PTNET_IO_PTCTL);
      if (status !== 0) fail('PTCTL', `CREATE failed with errno ${status}`, status);
      undo.push(() => regs.write32(PTNET_IO_PTCTL, PTNETMAP_PTCTL_DELETE));

      // Only now is the CSB the host's: copy it into the krings and rings (ptnet_sync_from_csb).
      step = 'sync-from-csb';
      for (const kr of krings) adapter.syncFromCsb(kr, fail);
      if (log.enabled)
        log('attached: %d+%d rings, vnet %d, mem %d', numTxRings, numRxRings, vnetHdrLen, memId);
      return adapter;
    } catch (e) {
      for (let k = undo.length - 1; k >= 0; k--) undo[k]!();
      if (log.enabled) log('attach failed at %s: %O', step, e);
      throw e;
    }
  }

  /** Replace the interrupt callback (ring i's MSI-X vector). */
  setInterruptCallback(cb: ((ring: number) => void) | undefined): void {
    this.onInterrupt = cb;
  }

  /**
   * Take the rings for a netmap-native port or the interface mode. In the kernel a netmap
   * application opening the port bypasses the interface datapath; here the second user is refused
   * (MODE_BUSY) until the first one releases. Claiming again for the same user is allowed.
   */
  claim(who: RingUser): void {
    if (!this.attached) throw new DriverError('DETACHED', 'adapter is detached');
    if (this.user !== null && this.user !== who) {
      const holder = this.user === 'netmap' ? 'a netmap-native port' : 'the network interface';
      throw new DriverError('MODE_BUSY', `the rings are in use by ${holder}`);
    }
    this.user = who;
  }

  /** Give the rings back and drop the interrupt callback (nothing happens unless `who` holds them). */
  release(who: RingUser): void {
    if (this.user !== who) return;
    this.user = null;
    this.onInterrupt = undefined;
  }

  /** Who holds the rings, if anyone. */
  get ringUser(): RingUser | null {
    return this.user;
  }

  get isAttached(): boolean {
    return this.attached;
  }

  /**
   * PTCTL DELETE, then unmap the CSB, release MSI-X and the CSB pages (docs/SPEC.md §2.4 shutdown).
   * @mirrors if_ptnet.c:ptnet_detach
   */
  detach(): void {
    if (!this.attached) return;
    this.attached = false;
    this.regs.write32(PTNET_IO_PTCTL, PTNETMAP_PTCTL_DELETE);
    unmapCsb(this.regs);
    for (const kr of this.krings) this.msix.setHandler(kr.id, null);
    this.msix.disable();
    this.memory.freePages(this.csbGpa, 2);
    if (log.enabled) log('detached');
  }

  /**
   * Write KICK[i] (drivers write 0).
   * @mirrors if_ptnet.c:ptnet_kick
   */
  kick(kr: GuestKring): void {
    kr.counters.kicks++;
    this.regs.write32(kr.kickOffset, 0);
  }

  /**
   * NIOCTXSYNC: the prologue on the shared ring (reinit and false if the application broke it),
   * netmap_pt_guest_txsync, the kick it asks for, then tail = hwtail.
   * @mirrors if_ptnet.c:ptnet_nm_txsync
   */
  txsync(kr: GuestKring, flags: number = NAF_FORCE_RECLAIM): boolean {
    if (!txsyncPrologue(kr)) {
      ringReinit(kr);
      return false;
    }
    if (ptGuestTxsync(kr, flags)) this.kick(kr);
    syncFinalize(kr);
    return true;
  }

  /**
   * NIOCRXSYNC: as txsync, with netmap_pt_guest_rxsync and NAF_FORCE_READ.
   * @mirrors if_ptnet.c:ptnet_nm_rxsync
   */
  rxsync(kr: GuestKring, flags: number = NAF_FORCE_READ): boolean {
    if (!rxsyncPrologue(kr)) {
      ringReinit(kr);
      return false;
    }
    if (ptGuestRxsync(kr, flags)) this.kick(kr);
    syncFinalize(kr);
    return true;
  }

  /**
   * ptnet_ring_update (docs/SPEC.md §3.4), the driver datapath's publication: head = cur = `head` on the ring
   * and the kring, appl_write, and a kick only if the host asked for one.
   * @mirrors if_ptnet.c:ptnet_ring_update
   */
  ringUpdate(kr: GuestKring, head: number, syncFlags: number): void {
    kr.ring.head = head;
    kr.ring.cur = head;
    kr.rhead = head;
    kr.rcur = head;
    nmSyncKloopApplWrite(kr.atok, head, head);
    if (kr.ktoa.kernNeedKick !== 0) {
      kr.atok.syncFlags = syncFlags;
      this.kick(kr);
    }
  }

  /** One closure per ring, made at attach: vector i → ring i. */
  private interruptHandler(kr: GuestKring): () => void {
    return () => {
      kr.counters.interrupts++;
      kr.flags |= NKR_PENDINTR;
      this.onInterrupt?.(kr.id);
    };
  }

  /**
   * ptnet_sync_from_csb, refusing host values that are not indices of the ring.
   * @mirrors if_ptnet.c:ptnet_sync_from_csb
   * @mirrors netmap_ptnet.c:ptnet_sync_from_csb
   */
  private syncFromCsb(
    kr: GuestKring,
    fail: (code: DriverErrorCode, msg: string, status?: number) => never,
  ): void {
    const head = kr.atok.head;
    const cur = kr.atok.cur;
    const hwcur = kr.ktoa.hwcur;
    const hwtail = kr.ktoa.hwtail;
    const n = kr.numSlots;
    if (head >= n || cur >= n || hwcur >= n || hwtail >= n) {
      fail(
        'BAD_CSB',
        `ring ${kr.id}: CSB indices ${head}/${cur}/${hwcur}/${hwtail} outside ${n} slots`,
        kr.id,
      );
    }
    kr.ring.head = kr.rhead = head;
    kr.ring.cur = kr.rcur = cur;
    kr.hwcur = hwcur;
    kr.hwtail = kr.rtail = hwtail;
    kr.ring.tail = hwtail;
  }
}

/** Writes 0 to the four CSB address registers (each BAL write also stops the host loop). */
function unmapCsb(regs: RegisterSpace): void {
  regs.write32(PTNET_IO_CSB_GH_BAH, 0);
  regs.write32(PTNET_IO_CSB_GH_BAL, 0);
  regs.write32(PTNET_IO_CSB_HG_BAH, 0);
  regs.write32(PTNET_IO_CSB_HG_BAL, 0);
}

/**
 * netmap_mem_pt_guest_rings_create: ring i at nifp + ring_ofs[i]; each ring checked against the
 * region and the memdev's buffer pool before a view is built on it.
 * @mirrors netmap_mem2.c:netmap_mem_pt_guest_rings_create
 */
function findRings(
  bar: MemoryBar,
  memSize: number,
  nifpOfs: number,
  numTx: number,
  numRx: number,
  txSlots: number,
  rxSlots: number,
  bufPoolOfs: number,
  bufSize: number,
  bufCount: number,
  gh: { buffer: SharedArrayBuffer; byteOffset: number },
  hg: { buffer: SharedArrayBuffer; byteOffset: number },
  fail: (code: DriverErrorCode, msg: string, status?: number) => never,
): { krings: GuestKring[]; nifp: NetmapIfView } {
  const wrap = <T>(what: string, f: () => T): T => {
    try {
      return f();
    } catch (e) {
      return fail('BAD_MEMORY', `${what}: ${(e as Error).message}`);
    }
  };
  const nif = wrap('netmap_if', () => new NetmapIfView(bar.buffer, bar.byteOffset + nifpOfs));
  if (nif.txRings !== numTx || nif.rxRings !== numRx) {
    fail('BAD_MEMORY', `netmap_if has ${nif.txRings}/${nif.rxRings} rings, registers say ${numTx}/${numRx}`);
  }
  const krings: GuestKring[] = [];
  for (let i = 0; i < numTx + numRx; i++) {
    const tx = i < numTx;
    const slots = tx ? txSlots : rxSlots;
    const abs = wrap(`ring ${i}`, () => nif.ringOffset(tx ? 'tx' : 'rx', tx ? i : i - numTx));
    const rel = abs - bar.byteOffset;
    if (rel < 0 || rel % 8 !== 0 || rel + NETMAP_RING_SIZE + slots * NETMAP_SLOT_SIZE > memSize) {
      fail('BAD_MEMORY', `ring ${i} at ${rel} outside the region`, rel);
    }
    const view = wrap(`ring ${i}`, () => new NetmapRingView(bar.buffer, abs, bufCount));
    if (view.numSlots !== slots || view.bufSize !== bufSize || view.bufBase !== bar.byteOffset + bufPoolOfs) {
      fail(
        'BAD_MEMORY',
        `ring ${i}: ${view.numSlots} slots of ${view.bufSize} bytes, pool at ${view.bufBase - bar.byteOffset}`,
        i,
      );
    }
    krings.push(
      new GuestKring(
        i,
        tx,
        view,
        new CsbAtok(gh.buffer, gh.byteOffset + i * NM_CSB_ATOK_SIZE),
        new CsbKtoa(hg.buffer, hg.byteOffset + i * NM_CSB_KTOA_SIZE),
        PTNET_IO_KICK_BASE + 4 * i,
      ),
    );
  }
  return { krings, nifp: nif };
}
