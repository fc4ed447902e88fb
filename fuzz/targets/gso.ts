// Software GSO and GRO: the first 10 bytes are the virtio_net_hdr fields, the rest a frame. trySegment
// ends in segments or a kernel verdict under both TAP behaviours; segments never exceed the frame's
// headers plus gso_size, and GRO over them never throws.
import { GroEngine, GroOutput, SegmentList, trySegment, type GsoHeader } from '../../src/tso/index.ts';
import { PROBING_TAP_KERNEL, UPSTREAM_TAP_KERNEL } from '../../src/vnethdr/index.ts';

export const maxLen = 70_000;
const out = new SegmentList();
const gro = new GroEngine();
const got = new GroOutput();
const h: GsoHeader = { flags: 0, gsoType: 0, hdrLen: 0, gsoSize: 0, csumStart: 0, csumOffset: 0 };

export function seeds(): Uint8Array[] {
  const f = new Uint8Array(10 + 14 + 20 + 20 + 3000);
  f.set([1, 1, 54, 0, 0xe8, 0x03, 34, 0, 16, 0], 0);
  const e = 10;
  f.set([8, 0], e + 12);
  f[e + 14] = 0x45;
  f[e + 16] = (3040 >> 8) & 0xff;
  f[e + 17] = 3040 & 0xff;
  f[e + 23] = 6;
  f[e + 34 + 12] = 0x50;
  return [f];
}

const u16 = (b: Uint8Array, o: number): number => b[o]! | (b[o + 1]! << 8);

export function fuzz(data: Uint8Array): void {
  if (data.length < 10) return;
  h.flags = data[0]!;
  h.gsoType = data[1]!;
  h.hdrLen = u16(data, 2);
  h.gsoSize = u16(data, 4);
  h.csumStart = u16(data, 6);
  h.csumOffset = u16(data, 8);
  const frame = data.subarray(10);
  for (const kernel of [UPSTREAM_TAP_KERNEL, PROBING_TAP_KERNEL]) {
    if (trySegment(h, frame, out, { kernel }) !== null) continue;
    if (out.count < 1) throw new Error('segmented into nothing');
    got.clear();
    for (let i = 0; i < out.count; i++) {
      if (out.length(i) > frame.length + 8) throw new Error(`segment ${i} longer than the frame`);
      gro.receive(out.data.subarray(out.start(i), out.end(i)), got);
    }
    gro.flush(got);
  }
}
