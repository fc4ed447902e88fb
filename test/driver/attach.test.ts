import { describe, expect, it } from 'vitest';
import type { GuestPlatform, PciFunction, RegisterSpace } from '../../src/device/index.ts';
import {
  EINVAL,
  GuestPhysMemory,
  Machine,
  PtnetDevice,
  PtnetmapMemdev,
  PTNETMAP_F_VNET_HDR,
  PTNET_IO_CSB_GH_BAH,
  PTNET_IO_CSB_GH_BAL,
  PTNET_IO_CSB_HG_BAH,
  PTNET_IO_CSB_HG_BAL,
  PTNET_IO_NIFP_OFS,
  PTNET_IO_NUM_TX_RINGS,
  PTNET_IO_PTCTL,
  PTNET_IO_PTFEAT,
  PTNET_IO_VNET_HDR_LEN,
  PTNET_MDEV_IO_BUF_POOL_OFS,
} from '../../src/device/index.ts';
import { DriverError, PtnetAdapter } from '../../src/driver/index.ts';
import { NKR_PENDINTR, NetmapRegion } from '../../src/netmap/index.ts';
import { FakeKloop, FakePort, smallParams } from '../device/fake-backend.ts';

function rig(port = new FakePort('p0'), memPages = 16) {
  const machine = new Machine({ size: memPages * 4096 });
  const loops: FakeKloop[] = [];
  const dev = machine.addPtnet(port, (p, csb, irq) => {
    const l = new FakeKloop(p, csb, irq);
    loops.push(l);
    return l;
  });
  return { machine, dev, port, loops };
}

/** A function whose BAR0 goes through `wrap` (to log or falsify register accesses). */
function proxied(f: PciFunction, wrap: (inner: RegisterSpace) => RegisterSpace): PciFunction {
  const b0 = f.bars[0];
  if (b0?.kind !== 'io') throw new Error('no io bar');
  return {
    vendorId: f.vendorId,
    deviceId: f.deviceId,
    classCode: f.classCode,
    msix: f.msix,
    bars: [{ kind: 'io', size: b0.size, regs: wrap(b0.regs) }, ...f.bars.slice(1)],
  };
}

function expectDetached(r: ReturnType<typeof rig>): void {
  expect(r.dev.running).toBe(false);
  for (const reg of [PTNET_IO_CSB_GH_BAH, PTNET_IO_CSB_GH_BAL, PTNET_IO_CSB_HG_BAH, PTNET_IO_CSB_HG_BAL])
    expect(r.dev.read32(reg)).toBe(0);
  expect(r.dev.msix.enabled).toBe(false);
  // The CSB pages went back: the whole memory is free again.
  const all = r.machine.memory.allocPages(r.machine.memory.size / 4096);
  r.machine.memory.freePages(all, r.machine.memory.size / 4096);
}

function attachError(platform: GuestPlatform, opts = {}): DriverError {
  try {
    PtnetAdapter.attach(platform, opts);
  } catch (e) {
    expect(e).toBeInstanceOf(DriverError);
    return e as DriverError;
  }
  throw new Error('attach succeeded');
}

describe('ptnet attach (§2.5)', () => {
  it('brings the NIC up: features, CSB, kick flags, vnet header, CREATE, rings from the CSB', () => {
    const r = rig();
    const writes: string[] = [];
    const platform: GuestPlatform = {
      memory: r.machine.memory,
      functions: r.machine.functions.map((f) =>
        f === r.dev
          ? proxied(f, (inner) => ({
              read32: (o) => inner.read32(o),
              write32: (o, v) => {
                writes.push(`${o}`);
                inner.write32(o, v);
              },
            }))
          : f,
      ),
    };
    const a = PtnetAdapter.attach(platform);
    expect(Array.from(a.mac)).toEqual([0x02, 0x11, 0x22, 0x33, 0x44, 0x55]);
    expect(a.features).toBe(PTNETMAP_F_VNET_HDR);
    expect(a.vnetHdrLen).toBe(12);
    expect(r.port.vnetHdrLen).toBe(12);
    expect([a.numTxRings, a.numRxRings, a.numTxSlots, a.numRxSlots]).toEqual([2, 2, 64, 128]);
    expect(a.memId).toBe(r.port.memId);
    expect([a.bufSize, a.minTxSlots]).toEqual([2048, 34]);
    // Order: PTFEAT, CSB pairs BAH before BAL, VNET_HDR_LEN, then PTCTL CREATE last.
    expect(writes).toEqual(
      [PTNET_IO_PTFEAT, 52, 56, 60, 64, PTNET_IO_VNET_HDR_LEN, PTNET_IO_PTCTL].map(String),
    );
    const gh = r.dev.read32(PTNET_IO_CSB_GH_BAH) * 2 ** 32 + r.dev.read32(PTNET_IO_CSB_GH_BAL);
    const hg = r.dev.read32(PTNET_IO_CSB_HG_BAH) * 2 ** 32 + r.dev.read32(PTNET_IO_CSB_HG_BAL);
    expect(gh).toBeGreaterThanOrEqual(2 ** 32);
    expect(hg).toBe(gh + 4096);
    expect(r.loops[0]!.csb.ghOffset).toBe(gh - r.machine.memory.base);
    // Kick flags the guest set before CREATE: kern_need_kick 1; appl_need_kick 0 TX, 1 RX.
    expect(r.loops[0]!.flagsAtStart).toEqual({ kern: [1, 1, 1, 1], appl: [0, 0, 1, 1] });
    // Rings follow the CSB the host wrote at CREATE, not their values before.
    expect(
      a.krings.map((k) => [k.id, k.tx, k.rhead, k.rcur, k.hwcur, k.hwtail, k.rtail, k.ring.tail]),
    ).toEqual([
      [0, true, 0, 0, 0, 63, 63, 63],
      [1, true, 0, 0, 0, 63, 63, 63],
      [2, false, 0, 0, 0, 0, 0, 0],
      [3, false, 0, 0, 0, 0, 0, 0],
    ]);
    expect(a.krings.map((k) => k.kickOffset)).toEqual([128, 132, 136, 140]);
    // The ring views sit where the host's rings are.
    const region = r.port.region;
    // RX ring 0 is ring_ofs[T + host TX rings] = ring_ofs[3], relative to the netmap_if.
    const rx0 =
      Number(new DataView(region.buffer).getBigInt64(r.port.nifpOffset + 56 + 8 * 3, true)) +
      r.port.nifpOffset;
    expect(a.krings[2]!.ring.ringOffset - a.memBar.byteOffset).toBe(rx0);
    expect(a.krings[0]!.ring.slotBufOffset(0)).toBe(
      region.base + region.bufOffset(a.krings[0]!.ring.slotBufIdx(0)),
    );
    expect(r.dev.running).toBe(true);
    expect(r.dev.msix.enabled).toBe(true);
  });

  it('interrupts mark the ring and reach the callback', async () => {
    const r = rig();
    const got: number[] = [];
    const a = PtnetAdapter.attach(r.machine, { onInterrupt: (i) => got.push(i) });
    r.loops[0]!.irq(3);
    r.loops[0]!.irq(0);
    await Promise.resolve();
    expect(got).toEqual([0, 3]);
    expect(a.krings[3]!.flags & NKR_PENDINTR).toBe(NKR_PENDINTR);
    expect(a.krings[1]!.flags & NKR_PENDINTR).toBe(0);
    expect(a.krings[3]!.counters.interrupts).toBe(1);
  });

  it('kicks write KICK[i]', () => {
    const r = rig();
    const a = PtnetAdapter.attach(r.machine);
    a.kick(a.krings[2]!);
    a.kick(a.krings[0]!);
    expect(r.loops[0]!.kicks).toEqual([2, 0]);
  });

  it('without the tunable, or with a backend refusing 12 bytes, runs headerless', () => {
    const r = rig();
    const a = PtnetAdapter.attach(r.machine, { vnetHdr: false });
    expect([a.features, a.vnetHdrLen]).toEqual([0, 0]);
    const r2 = rig(new FakePort('q', 1, 1, 32, 32, [0, 10]));
    const b = PtnetAdapter.attach(r2.machine);
    expect([b.features, b.vnetHdrLen]).toEqual([0, 0]);
  });

  it('matches HOSTMEMID with MEMID whatever the bus order, among several memdevs', () => {
    const other = new PtnetmapMemdev(new NetmapRegion({ params: smallParams }));
    const r = rig();
    const [md, nic] = r.machine.functions;
    const a = PtnetAdapter.attach({ memory: r.machine.memory, functions: [nic!, other, md!] });
    expect(a.memId).toBe(r.port.memId);
    expect(a.memBar.buffer).toBe(r.port.region.buffer);
  });

  it('detach: DELETE, CSB registers zeroed, MSI-X released, pages freed; idempotent', () => {
    const r = rig();
    const a = PtnetAdapter.attach(r.machine);
    a.detach();
    expect(a.isAttached).toBe(false);
    expect(r.loops[0]!.stopped).toBeGreaterThanOrEqual(1);
    expectDetached(r);
    a.detach();
    // And it can attach again.
    const b = PtnetAdapter.attach(r.machine);
    expect(b.isAttached).toBe(true);
    expect(r.dev.running).toBe(true);
  });
});

describe('attach failures leave the device detached and name the step', () => {
  it('probe: no ptnet, no matching memdev', () => {
    const r = rig();
    expect(attachError({ memory: r.machine.memory, functions: [] })).toMatchObject({
      step: 'probe',
      code: 'NO_PTNET',
    });
    expect(attachError(r.machine, { unit: 1 })).toMatchObject({ step: 'probe', code: 'NO_PTNET' });
    const e = attachError({ memory: r.machine.memory, functions: [r.dev] });
    expect(e).toMatchObject({ step: 'probe', code: 'NO_MEMDEV', status: r.port.memId });
    expect(e.message).toMatch(/^probe: /);
    expectDetached(r);
  });

  it('rings: counts the CSB page or the kick registers cannot hold', () => {
    for (const [t, rx] of [
      [17, 16],
      [40, 40],
    ] as const) {
      const region = new NetmapRegion({
        params: {
          if: { objSize: 2048, objNum: 16 },
          ring: { objSize: 4096, objNum: 100 },
          buf: { objSize: 2048, objNum: 1024 },
        },
      });
      const r = rig(new FakePort('big', t, rx, 4, 4, [0, 10, 12], region));
      expect(attachError(r.machine)).toMatchObject({ step: 'rings', code: 'RING_COUNT', status: t + rx });
      expectDetached(r);
    }
  });

  it('csb: no room for two pages in guest memory', () => {
    const r = rig(new FakePort('p'), 1);
    expect(attachError(r.machine)).toMatchObject({ step: 'csb', code: 'CSB_ALLOC' });
    expectDetached(r);
  });

  it('msix: fewer vectors than rings', () => {
    const r = rig();
    const [md, nic] = r.machine.functions;
    const small = { ...proxied(nic!, (x) => x), msix: { ...nic!.msix!, vectors: 3 } } as PciFunction;
    Object.setPrototypeOf(small.msix!, Object.getPrototypeOf(nic!.msix!));
    expect(attachError({ memory: r.machine.memory, functions: [md!, small] })).toMatchObject({
      step: 'msix',
      code: 'MSIX_VECTORS',
    });
    expectDetached(r);
  });

  it('memory: a hostile NIFP_OFS, ring count or buffer pool offset', () => {
    const lie = (off: number, v: number) => (inner: RegisterSpace) => ({
      read32: (o: number) => (o === off ? v : inner.read32(o)),
      write32: (o: number, x: number) => inner.write32(o, x),
    });
    for (const [target, off, v] of [
      ['nic', PTNET_IO_NIFP_OFS, 0xfffff000],
      ['nic', PTNET_IO_NIFP_OFS, 8],
      ['nic', PTNET_IO_NUM_TX_RINGS, 1],
      ['md', PTNET_MDEV_IO_BUF_POOL_OFS, 64],
      ['md', PTNET_MDEV_IO_BUF_POOL_OFS, 0x7fff0000],
    ] as const) {
      const r = rig();
      const [md, nic] = r.machine.functions;
      const fns = target === 'nic' ? [md!, proxied(nic!, lie(off, v))] : [proxied(md!, lie(off, v)), nic!];
      expect(attachError({ memory: r.machine.memory, functions: fns })).toMatchObject({
        step: 'memory',
        code: 'BAD_MEMORY',
      });
      expectDetached(r);
    }
  });

  it('vnet-hdr: a length that is not 0, 10 or 12', () => {
    const r = rig();
    const [md, nic] = r.machine.functions;
    const bad = proxied(nic!, (inner) => ({
      read32: (o) => (o === PTNET_IO_VNET_HDR_LEN ? 7 : inner.read32(o)),
      write32: (o, v) => inner.write32(o, v),
    }));
    expect(attachError({ memory: r.machine.memory, functions: [md!, bad] })).toMatchObject({
      step: 'vnet-hdr',
      code: 'VNET_HDR_LEN',
      status: 7,
    });
    expectDetached(r);
  });

  it('create: the device refuses CREATE', () => {
    const r = rig();
    const orig = FakeKloop.prototype.start;
    FakeKloop.prototype.start = () => {
      throw new Error('backend refused');
    };
    try {
      expect(attachError(r.machine)).toMatchObject({ step: 'create', code: 'PTCTL', status: EINVAL });
    } finally {
      FakeKloop.prototype.start = orig;
    }
    expectDetached(r);
  });

  it('sync-from-csb: the host publishes an index outside the ring; the loop is deleted again', () => {
    const r = rig();
    const orig = FakeKloop.prototype.start;
    FakeKloop.prototype.start = function (this: FakeKloop) {
      this.hwtailOverride = 64;
      orig.call(this);
    };
    try {
      expect(attachError(r.machine)).toMatchObject({ step: 'sync-from-csb', code: 'BAD_CSB', status: 0 });
    } finally {
      FakeKloop.prototype.start = orig;
    }
    expect(r.loops[0]!.stopped).toBeGreaterThanOrEqual(1);
    expectDetached(r);
  });

  it('a device model without a memdev BAR1 is refused at memory', () => {
    const r = rig();
    const [md, nic] = r.machine.functions;
    const noBar = { ...proxied(md!, (x) => x), bars: [md!.bars[0]] } as PciFunction;
    expect(attachError({ memory: r.machine.memory, functions: [noBar, nic!] })).toMatchObject({
      step: 'memory',
      code: 'NO_BAR',
    });
    expectDetached(r);
  });

  it('guest memory separate from the machine (a fresh GuestPhysMemory) still works', () => {
    const region = new NetmapRegion({ params: smallParams });
    const port = new FakePort('x', 1, 1, 16, 16, [0, 10, 12], region);
    const memory = new GuestPhysMemory({ size: 4 * 4096, base: 0x10000 });
    const dev = new PtnetDevice(port, memory, (p, c, i) => new FakeKloop(p, c, i));
    const a = PtnetAdapter.attach({ memory, functions: [dev, new PtnetmapMemdev(region)] });
    expect(dev.read32(PTNET_IO_CSB_GH_BAH)).toBe(0);
    expect(a.krings).toHaveLength(2);
  });
});
