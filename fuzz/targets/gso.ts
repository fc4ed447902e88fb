// Software GSO and GRO: the first 10 bytes are the virtio_net_hdr fields, the rest a frame. trySegment
// ends in segments or a kernel verdict under both TAP behaviours; segments never exceed the frame's
// headers plus gso_size, and GRO over them never throws. The same frame gathered in a window of a
// shared packet memory, with places offered as VALE offers its receiver's slot buffers, gets the
// same verdict and the same segments, each inside its place when the list took them.
import { createPacketMemory } from '../../src/checksum/index.ts';
import { GroEngine, GroOutput, SegmentList, trySegment, type GsoHeader } from '../../src/tso/index.ts';
import { PROBING_TAP_KERNEL, UPSTREAM_TAP_KERNEL } from '../../src/vnethdr/index.ts';

export const maxLen = 70_000;
const out = new SegmentList();
// Places: 64 buffers of 2 KiB in reverse order below the window, as a receiver's slots may be.
const PLACES = 64;
const pm = createPacketMemory(1 << 20);
const places = Int32Array.from({ length: PLACES }, (_, i) => (PLACES - 1 - i) * 2048);
const win = new SegmentList(64 * 1024, 16, { buffer: pm.buffer, base: 256 * 1024, size: 512 * 1024 });
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

/** The window list's verdict and segments against the plain list's (`verdict`, `out`). */
function sameInWindow(frame: Uint8Array, verdict: string | null, salt: number): void {
  const cap = salt & 1 ? 2048 : 1514;
  const room = win.frameRoom(frame.length, salt >>> 1);
  room.set(frame);
  win.place(places, PLACES, cap);
  let placed: boolean;
  let v: string | null;
  try {
    v = trySegment(h, room, win);
    placed = win.placed;
  } finally {
    win.unplace();
  }
  if (v !== verdict) throw new Error(`window verdict ${v} against ${verdict}`);
  if (v !== null) return;
  if (win.count !== out.count) throw new Error(`window: ${win.count} segments against ${out.count}`);
  for (let i = 0; i < out.count; i++) {
    const a = out.start(i);
    const b = win.start(i);
    const len = out.length(i);
    if (win.length(i) !== len) throw new Error(`window segment ${i}: ${win.length(i)} B against ${len}`);
    if (placed && (b !== places[i] || len > cap)) throw new Error(`segment ${i} outside its place`);
    for (let k = 0; k < len; k++)
      if (win.data[b + k] !== out.data[a + k]) throw new Error(`window segment ${i} byte ${k}`);
  }
}

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
    const verdict = trySegment(h, frame, out, { kernel });
    if (kernel === UPSTREAM_TAP_KERNEL) sameInWindow(frame, verdict, data.length & 15);
    if (verdict !== null) continue;
    if (out.count < 1) throw new Error('segmented into nothing');
    got.clear();
    for (let i = 0; i < out.count; i++) {
      if (out.length(i) > frame.length + 8) throw new Error(`segment ${i} longer than the frame`);
      gro.receive(out.data.subarray(out.start(i), out.end(i)), got);
    }
    gro.flush(got);
  }
}
