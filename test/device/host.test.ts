// The device model driving the real host sync loop (src/host), inline.
import { describe, expect, it } from 'vitest';
import {
  EBUSY,
  GuestPhysMemory,
  PTNETMAP_PTCTL_CREATE,
  PTNETMAP_PTCTL_DELETE,
  PTNET_IO_CSB_GH_BAH,
  PTNET_IO_CSB_GH_BAL,
  PTNET_IO_CSB_HG_BAH,
  PTNET_IO_CSB_HG_BAL,
  PTNET_IO_KICK_BASE,
  PTNET_IO_PTCTL,
  PtnetDevice,
  hostKloop,
} from '../../src/device/index.ts';
import type { RegisterSpace } from '../../src/device/index.ts';
import type { SyncKloop } from '../../src/host/index.ts';
import { createPipe } from '../../src/host/index.ts';
import { CsbAtok, CsbKtoa } from '../../src/netmap/index.ts';

function program(dev: RegisterSpace, gh: number, hg: number): void {
  dev.write32(PTNET_IO_CSB_GH_BAH, Math.floor(gh / 2 ** 32));
  dev.write32(PTNET_IO_CSB_GH_BAL, gh >>> 0);
  dev.write32(PTNET_IO_CSB_HG_BAH, Math.floor(hg / 2 ** 32));
  dev.write32(PTNET_IO_CSB_HG_BAL, hg >>> 0);
}

describe('ptnet device with the host sync loop', () => {
  it('CREATE enables CSB mode from the krings; kicks run the ring; DELETE stops it', () => {
    const [e0] = createPipe('dh', { slots: 32 });
    const mem = new GuestPhysMemory({ size: 8 * 4096 });
    const loops: SyncKloop[] = [];
    const make = hostKloop('inline');
    const dev = new PtnetDevice(e0, mem, (p, c, i) => {
      const l = make(p, c, i) as SyncKloop;
      loops.push(l);
      return l;
    });
    const gh = mem.allocPages(2);
    program(dev, gh, gh + 4096);
    dev.msix.enable();
    // Guest-written garbage before CREATE is overwritten by netmap_csb_validate.
    const at = mem.map(gh, 128)!;
    const kt = mem.map(gh + 4096, 128)!;
    const atok = [new CsbAtok(at.buffer, at.byteOffset), new CsbAtok(at.buffer, at.byteOffset + 64)];
    const ktoa = [new CsbKtoa(kt.buffer, kt.byteOffset), new CsbKtoa(kt.buffer, kt.byteOffset + 64)];
    atok[0]!.head = 17;
    ktoa[1]!.hwtail = 9;
    dev.write32(PTNET_IO_PTCTL, PTNETMAP_PTCTL_CREATE);
    expect(dev.read32(PTNET_IO_PTCTL)).toBe(0);
    expect([atok[0]!.head, atok[0]!.cur, atok[0]!.applNeedKick, atok[0]!.syncFlags]).toEqual([0, 0, 1, 1]);
    expect([ktoa[0]!.hwcur, ktoa[0]!.hwtail, ktoa[0]!.kernNeedKick]).toEqual([0, 31, 1]);
    expect([ktoa[1]!.hwcur, ktoa[1]!.hwtail]).toEqual([0, 0]);
    // Publish 3 TX slots and kick: the inline loop runs the ring in the register write.
    atok[0]!.cur = 3;
    atok[0]!.head = 3;
    const before = loops[0]!.runs;
    dev.write32(PTNET_IO_KICK_BASE, 0);
    expect(loops[0]!.runs).toBeGreaterThan(before);
    expect(ktoa[0]!.hwcur).toBe(3);
    dev.write32(PTNET_IO_PTCTL, PTNETMAP_PTCTL_DELETE);
    expect(dev.running).toBe(false);
    const runs = loops[0]!.runs;
    dev.write32(PTNET_IO_KICK_BASE, 0);
    expect(loops[0]!.runs).toBe(runs);
  });

  it('a second device on a port that already has a loop gets EBUSY', () => {
    const [e0] = createPipe('db', { slots: 8 });
    const mem = new GuestPhysMemory({ size: 8 * 4096 });
    const d1 = new PtnetDevice(e0, mem, hostKloop('inline'));
    const d2 = new PtnetDevice(e0, mem, hostKloop('inline'));
    const a = mem.allocPages(2);
    const b = mem.allocPages(2);
    for (const [d, g] of [
      [d1, a],
      [d2, b],
    ] as const) {
      program(d, g, g + 4096);
      d.msix.enable();
    }
    d1.write32(PTNET_IO_PTCTL, PTNETMAP_PTCTL_CREATE);
    expect(d1.read32(PTNET_IO_PTCTL)).toBe(0);
    d2.write32(PTNET_IO_PTCTL, PTNETMAP_PTCTL_CREATE);
    expect(d2.read32(PTNET_IO_PTCTL)).toBe(EBUSY);
    d1.write32(PTNET_IO_PTCTL, PTNETMAP_PTCTL_DELETE);
    d2.write32(PTNET_IO_PTCTL, PTNETMAP_PTCTL_CREATE);
    expect(d2.read32(PTNET_IO_PTCTL)).toBe(0);
    d2.write32(PTNET_IO_PTCTL, PTNETMAP_PTCTL_DELETE);
  });
});
