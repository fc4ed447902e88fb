// Port handles (src/host/port-handle.ts): a port made here, opened as another thread would open it
// (here, in the same thread, from a structured clone of its handle), is the same port: the same
// geometry and memory, one control block, one set of krings.
import { describe, expect, it } from 'vitest';
import {
  HostError,
  ValeSwitch,
  createPipe,
  openPort,
  portHandle,
  type NetmapPort,
} from '../../src/host/index.ts';

/** What the device model reads of a port. */
function face(p: NetmapPort): unknown {
  return {
    name: p.name,
    mac: [...p.mac],
    nifp: p.nifpOffset,
    rings: [p.numTxRings, p.numRxRings, p.numTxSlots, p.numRxSlots],
    memId: p.memId,
    geometry: p.region.geometry,
    base: p.region.base,
  };
}

describe('portHandle / openPort', () => {
  it.each(['vale', 'pipe'] as const)(
    'a %s port opened from a cloned handle is the same port',
    async (kind) => {
      const vale = new ValeSwitch('vale0', { vnetHdrLen: 12 });
      const [p0, p1] = createPipe('ph');
      const p = kind === 'vale' ? vale.attach('x', { txRings: 2, rxSlots: 512 }) : p1;
      const o = openPort(structuredClone(portHandle(p)));
      expect(face(o)).toEqual(face(p));
      // The same memory (a clone of a SharedArrayBuffer is another object over it).
      const at = p.region.bufOffset(2);
      p.region.bytes[at] = 0xa5;
      expect(o.region.bytes[at]).toBe(0xa5);
      p.region.bytes[at] = 0;
      // One control block: a header length set through either is the other's.
      expect(o.setVnetHdrLen(10)).toBe(true);
      expect(p.vnetHdrLen).toBe(10);
      expect(o.setVnetHdrLen(7)).toBe(false);
      expect(p.setVnetHdrLen(0)).toBe(true);
      expect(o.vnetHdrLen).toBe(0);
      // One set of krings.
      expect(o.datapath.krings.length).toBe(p.datapath.krings.length);
      const kr = p.datapath.krings[0]!;
      kr.hwcur = 5;
      expect(o.datapath.krings[0]!.hwcur).toBe(5);
      kr.hwcur = 0;
      expect(o.shared()).toEqual(p.shared());
      if (kind === 'vale') vale.detach(p as Parameters<ValeSwitch['detach']>[0]);
      await vale.close();
      await p0.close();
      await p1.close();
    },
  );

  it('refuses a TAP port (its readiness source is chosen per thread)', () => {
    const [p0] = createPipe('ph');
    const tapLike = Object.create(p0) as NetmapPort;
    Object.defineProperty(tapLike, 'shared', { value: () => ({ ...p0.shared(), kind: 'tap' }) });
    expect(() => portHandle(tapLike)).toThrow(HostError);
    expect(() => portHandle(tapLike)).toThrow(/TAP/);
  });
});
