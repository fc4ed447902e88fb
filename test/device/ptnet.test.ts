import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  EBUSY,
  EINVAL,
  ENXIO,
  GuestPhysMemory,
  PTNETMAP_F_VNET_HDR,
  PTNETMAP_PTCTL_CREATE,
  PTNETMAP_PTCTL_DELETE,
  PTNET_IO_CSBBAH,
  PTNET_IO_CSBBAL,
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
  PtnetDevice,
} from '../../src/device/index.ts';
import type { RegisterSpace } from '../../src/device/index.ts';
import { CsbKtoa } from '../../src/netmap/index.ts';
import { FakeKloop, FakePort } from './fake-backend.ts';

function setup(port = new FakePort('p0')) {
  const mem = new GuestPhysMemory({ size: 64 * 4096 });
  const loops: FakeKloop[] = [];
  const dev = new PtnetDevice(port, mem, (p, csb, irq) => {
    const l = new FakeKloop(p, csb, irq);
    loops.push(l);
    return l;
  });
  return { port, mem, dev, loops };
}

/** Program both CSB halves the way the drivers do: BAH before BAL. */
function mapCsb(dev: RegisterSpace, gh: number, hg: number): void {
  dev.write32(PTNET_IO_CSB_GH_BAH, Math.floor(gh / 2 ** 32));
  dev.write32(PTNET_IO_CSB_GH_BAL, gh >>> 0);
  dev.write32(PTNET_IO_CSB_HG_BAH, Math.floor(hg / 2 ** 32));
  dev.write32(PTNET_IO_CSB_HG_BAL, hg >>> 0);
}

function ptctl(dev: RegisterSpace, cmd: number): number {
  dev.write32(PTNET_IO_PTCTL, cmd);
  return dev.read32(PTNET_IO_PTCTL);
}

describe('ptnet BAR0 registers (§2.2)', () => {
  it('identity, MAC, port geometry and memory id', () => {
    const { dev, port } = setup();
    expect([dev.vendorId, dev.deviceId, dev.classCode]).toEqual([0x1b36, 0x000d, 0x0200]);
    expect(dev.bars[0]).toMatchObject({ kind: 'io', size: 256 });
    expect(dev.read32(PTNET_IO_MAC_HI)).toBe(0x0211);
    expect(dev.read32(PTNET_IO_MAC_LO)).toBe(0x22334455);
    expect(dev.read32(PTNET_IO_NIFP_OFS)).toBe(port.nifpOffset);
    expect(dev.read32(PTNET_IO_NUM_TX_RINGS)).toBe(2);
    expect(dev.read32(PTNET_IO_NUM_RX_RINGS)).toBe(2);
    expect(dev.read32(PTNET_IO_NUM_TX_SLOTS)).toBe(64);
    expect(dev.read32(PTNET_IO_NUM_RX_SLOTS)).toBe(128);
    expect(dev.read32(PTNET_IO_HOSTMEMID)).toBe(port.memId);
    expect(dev.msix.vectors).toBe(4);
    // Read-only registers ignore writes.
    dev.write32(PTNET_IO_MAC_LO, 0);
    dev.write32(PTNET_IO_NUM_TX_RINGS, 9);
    expect(dev.read32(PTNET_IO_MAC_LO)).toBe(0x22334455);
    expect(dev.read32(PTNET_IO_NUM_TX_RINGS)).toBe(2);
  });

  it('PTFEAT stores wanted & offered; VNET_HDR offered iff the backend takes 12', () => {
    const { dev, port } = setup();
    expect(dev.offeredFeatures).toBe(PTNETMAP_F_VNET_HDR);
    expect(port.vnetHdrLen).toBe(0); // the probe restored the previous length
    dev.write32(PTNET_IO_PTFEAT, 0xffffffff);
    expect(dev.read32(PTNET_IO_PTFEAT)).toBe(PTNETMAP_F_VNET_HDR);
    dev.write32(PTNET_IO_PTFEAT, 0);
    expect(dev.read32(PTNET_IO_PTFEAT)).toBe(0);
    const no12 = setup(new FakePort('p1', 1, 1, 8, 8, [0, 10]));
    expect(no12.dev.offeredFeatures).toBe(0);
    no12.dev.write32(PTNET_IO_PTFEAT, PTNETMAP_F_VNET_HDR);
    expect(no12.dev.read32(PTNET_IO_PTFEAT)).toBe(0);
  });

  it('VNET_HDR_LEN applies only accepted lengths and reads the length in force', () => {
    const { dev, port } = setup(new FakePort('p2', 1, 1, 8, 8, [0, 12]));
    dev.write32(PTNET_IO_VNET_HDR_LEN, 12);
    expect(dev.read32(PTNET_IO_VNET_HDR_LEN)).toBe(12);
    dev.write32(PTNET_IO_VNET_HDR_LEN, 10);
    expect(dev.read32(PTNET_IO_VNET_HDR_LEN)).toBe(12);
    expect(port.vnetHdrLen).toBe(12);
    dev.write32(PTNET_IO_VNET_HDR_LEN, 0);
    expect(dev.read32(PTNET_IO_VNET_HDR_LEN)).toBe(0);
    dev.write32(PTNET_IO_VNET_HDR_LEN, 0x1000c);
    expect(dev.read32(PTNET_IO_VNET_HDR_LEN)).toBe(0);
  });

  it('CSB address pairs and the deprecated pair read back what was written', () => {
    const { dev } = setup();
    const regs = [
      PTNET_IO_CSBBAH,
      PTNET_IO_CSBBAL,
      PTNET_IO_CSB_GH_BAH,
      PTNET_IO_CSB_GH_BAL,
      PTNET_IO_CSB_HG_BAH,
      PTNET_IO_CSB_HG_BAL,
    ];
    regs.forEach((r, k) => dev.write32(r, 0x1000 * (k + 1)));
    regs.forEach((r, k) => expect(dev.read32(r)).toBe(0x1000 * (k + 1)));
  });

  it('hostile accesses: unaligned, outside the BAR, past the register end', () => {
    const { dev } = setup();
    const snapshot = () => Array.from({ length: 17 }, (_, k) => dev.read32(4 * k));
    const before = snapshot();
    fc.assert(
      fc.property(
        fc.oneof(
          fc.integer({ min: 0, max: 255 }).filter((o) => o % 4 !== 0),
          fc.integer({ min: 68, max: 127 }).map((o) => o & ~3),
          fc.integer({ min: 256, max: 2 ** 32 }),
          fc.constantFrom(-4, 1.5, Number.NaN),
        ),
        fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        (off, v) => {
          dev.write32(off, v);
          if (off < 68 || off >= 128) expect(dev.read32(off)).toBe(0);
          expect(snapshot()).toEqual(before);
        },
      ),
    );
    expect(dev.counters.badAccess).toBeGreaterThan(0);
    for (let off = 68; off < 256; off += 4) expect(dev.read32(off)).toBe(0);
  });
});

describe('PTCTL and the CSB mapping', () => {
  let s: ReturnType<typeof setup>;
  let gh: number;
  beforeEach(() => {
    s = setup();
    gh = s.mem.allocPages(2);
  });

  it('unknown commands give EINVAL', () => {
    expect(ptctl(s.dev, 0)).toBe(EINVAL);
    expect(ptctl(s.dev, 3)).toBe(EINVAL);
    expect(ptctl(s.dev, 0xffffffff)).toBe(EINVAL);
  });

  it('CREATE before mapping, with one half, or with a non-RAM address gives ENXIO', () => {
    s.dev.msix.enable();
    expect(ptctl(s.dev, PTNETMAP_PTCTL_CREATE)).toBe(ENXIO);
    s.dev.write32(PTNET_IO_CSB_GH_BAH, Math.floor(gh / 2 ** 32));
    s.dev.write32(PTNET_IO_CSB_GH_BAL, gh >>> 0);
    expect(ptctl(s.dev, PTNETMAP_PTCTL_CREATE)).toBe(ENXIO);
    // HG at an address beyond guest RAM, then one whose array would run past its end.
    mapCsb(s.dev, gh, 0x7_0000_0000);
    expect(ptctl(s.dev, PTNETMAP_PTCTL_CREATE)).toBe(ENXIO);
    mapCsb(s.dev, gh, s.mem.base + s.mem.size - 64);
    expect(ptctl(s.dev, PTNETMAP_PTCTL_CREATE)).toBe(ENXIO);
    expect(s.dev.counters.csbMapFailures).toBe(2);
    expect(s.loops).toHaveLength(0);
  });

  it('CREATE needs 64-byte aligned arrays and MSI-X enabled', () => {
    mapCsb(s.dev, gh, gh + 4096);
    expect(ptctl(s.dev, PTNETMAP_PTCTL_CREATE)).toBe(EINVAL);
    s.dev.msix.enable();
    mapCsb(s.dev, gh + 32, gh + 4096);
    expect(ptctl(s.dev, PTNETMAP_PTCTL_CREATE)).toBe(EINVAL);
    expect(s.loops).toHaveLength(0);
  });

  it('CREATE starts the loop on the programmed CSB; a second CREATE is EBUSY; DELETE stops it', () => {
    s.dev.msix.enable();
    mapCsb(s.dev, gh, gh + 4096);
    expect(ptctl(s.dev, PTNETMAP_PTCTL_CREATE)).toBe(0);
    expect(s.dev.running).toBe(true);
    const loop = s.loops[0]!;
    expect(loop.started).toBe(1);
    expect(loop.csb).toEqual({
      csb: s.mem.buffer,
      ghOffset: gh - s.mem.base,
      hgOffset: gh + 4096 - s.mem.base,
    });
    // The loop wrote the HG array where the guest put it.
    const ktoa = new CsbKtoa(s.mem.map(gh + 4096, 64)!.buffer, s.mem.map(gh + 4096, 64)!.byteOffset);
    expect([ktoa.hwtail, ktoa.kernNeedKick]).toEqual([63, 1]);
    expect(ptctl(s.dev, PTNETMAP_PTCTL_CREATE)).toBe(EBUSY);
    expect(ptctl(s.dev, PTNETMAP_PTCTL_DELETE)).toBe(0);
    expect(loop.stopped).toBe(1);
    expect(s.dev.running).toBe(false);
    expect(ptctl(s.dev, PTNETMAP_PTCTL_DELETE)).toBe(0);
    expect(loop.stopped).toBe(1);
  });

  it('a loop that fails to start leaves the device stopped with a nonzero status', () => {
    const f = setup();
    f.dev.msix.enable();
    const g = f.mem.allocPages(2);
    mapCsb(f.dev, g, g + 4096);
    const orig = FakeKloop.prototype.start;
    FakeKloop.prototype.start = function () {
      throw new Error('refused');
    };
    try {
      expect(ptctl(f.dev, PTNETMAP_PTCTL_CREATE)).toBe(EINVAL);
    } finally {
      FakeKloop.prototype.start = orig;
    }
    expect(f.dev.running).toBe(false);
  });

  it('writing a BAL stops the loop; writing 0 unmaps', () => {
    s.dev.msix.enable();
    mapCsb(s.dev, gh, gh + 4096);
    expect(ptctl(s.dev, PTNETMAP_PTCTL_CREATE)).toBe(0);
    s.dev.write32(PTNET_IO_CSB_HG_BAL, (gh + 4096) >>> 0);
    expect(s.dev.running).toBe(false);
    expect(s.loops[0]!.stopped).toBe(1);
    expect(s.dev.read32(PTNET_IO_PTCTL)).toBe(0);
    // Remapped to the same place: CREATE works again.
    expect(ptctl(s.dev, PTNETMAP_PTCTL_CREATE)).toBe(0);
    s.dev.write32(PTNET_IO_CSB_GH_BAH, 0);
    s.dev.write32(PTNET_IO_CSB_GH_BAL, 0);
    expect(s.dev.running).toBe(false);
    expect(ptctl(s.dev, PTNETMAP_PTCTL_CREATE)).toBe(ENXIO);
  });

  it('kicks reach the running loop for existing rings only', () => {
    s.dev.write32(PTNET_IO_KICK_BASE, 0);
    expect(s.dev.counters.kicksDropped).toBe(1);
    s.dev.msix.enable();
    mapCsb(s.dev, gh, gh + 4096);
    ptctl(s.dev, PTNETMAP_PTCTL_CREATE);
    for (let i = 0; i < 32; i++) s.dev.write32(PTNET_IO_KICK_BASE + 4 * i, 0xdead);
    expect(s.loops[0]!.kicks).toEqual([0, 1, 2, 3]);
    expect(s.dev.counters.kicks).toBe(4);
    expect(s.dev.counters.kicksDropped).toBe(1 + 28);
    s.dev.write32(PTNET_IO_KICK_BASE + 2, 0);
    expect(s.loops[0]!.kicks).toHaveLength(4);
  });

  it('loop interrupts arrive as MSI-X vector i, queued, coalesced, and only when enabled', async () => {
    s.dev.msix.enable();
    mapCsb(s.dev, gh, gh + 4096);
    ptctl(s.dev, PTNETMAP_PTCTL_CREATE);
    const got: number[] = [];
    for (let v = 0; v < 4; v++) s.dev.msix.setHandler(v, () => got.push(v));
    const irq = s.loops[0]!.irq;
    irq(3);
    irq(1);
    irq(3);
    expect(got).toEqual([]); // never inside the raiser
    await Promise.resolve();
    expect(got).toEqual([1, 3]);
    expect(s.dev.msix.stats).toMatchObject({ delivered: 2, coalesced: 1, lost: 0 });
    s.dev.msix.setHandler(2, () => {
      throw new Error('guest bug');
    });
    irq(2);
    irq(0);
    expect(s.dev.msix.deliverPending()).toBe(2);
    expect(got).toEqual([1, 3, 0]);
    s.dev.msix.disable();
    irq(0);
    await Promise.resolve();
    expect(got).toEqual([1, 3, 0]);
    expect(s.dev.msix.stats.lost).toBe(1);
    expect(() => s.dev.msix.setHandler(4, null)).toThrow(
      expect.objectContaining({ code: 'DEV_MSIX_VECTOR' }),
    );
  });
});
