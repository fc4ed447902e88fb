// The region can live in the checksum folder's shared WebAssembly memory, so sums run in place.
import { describe, expect, it } from 'vitest';
import { createPacketMemory, csumPartial } from '../../src/checksum/index.ts';
import { NetmapRegion, NetmapRingView, regionGeometry } from '../../src/netmap/index.ts';
import type { NetmapMemParams } from '../../src/netmap/index.ts';

const params: NetmapMemParams = {
  if: { objSize: 1024, objNum: 16 },
  ring: { objSize: 4096, objNum: 16 },
  buf: { objSize: 2048, objNum: 256 },
};

describe('NetmapRegion in a shared WebAssembly memory', () => {
  it('slots address buffers inside the Wasm memory and in-place sums match copies', () => {
    const base = 65536;
    const pm = createPacketMemory(base + regionGeometry(params).size);
    const r = new NetmapRegion({ params, backing: { buffer: pm.buffer, byteOffset: base } });
    const p = r.createPort({ name: 'wasm', txRings: 1, rxRings: 1, txSlots: 32, rxSlots: 32 });
    const ring = new NetmapRingView(pm.buffer, base + p.txRingOfs[0]!, r.bufCount);
    expect(ring.bytes.buffer).toBe(pm.buffer);
    for (let i = 0; i < 32; i++) {
      const off = ring.slotBufOffset(i);
      const len = 60 + 47 * i;
      for (let k = 0; k < len; k++) ring.bytes[off + k] = (k * 7 + i) & 0xff;
      const copy = ring.bytes.slice(off, off + len);
      expect(csumPartial(ring.bytes, off, len)).toBe(csumPartial(copy, 0, len));
    }
  });
});
