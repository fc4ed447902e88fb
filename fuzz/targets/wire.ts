// The allocation-free frame dissector: any bytes end in layers or a WireErrorCode, never a throw,
// and every offset it reports lies inside the frame.
import { FrameInfo, dissectFrame, dissectL3 } from '../../src/wire/index.ts';

export const maxLen = 2048;
const info = new FrameInfo();

export function seeds(): Uint8Array[] {
  const f = new Uint8Array(14 + 20 + 20 + 8);
  f.set([8, 0], 12);
  f[14] = 0x45;
  f[14 + 9] = 6;
  f[34 + 12] = 0x50;
  const g = new Uint8Array(14 + 40 + 8 + 8);
  g.set([0x86, 0xdd], 12);
  g[14] = 0x60;
  g[14 + 6] = 17;
  return [f, g];
}

/** Every offset and length the dissector reports stays inside the frame. */
function check(len: number): void {
  const { l3Off, l4Off, payloadOff, payloadLen, errorOffset } = info;
  for (const [k, v] of [
    ['l3Off', l3Off],
    ['l4Off', l4Off],
    ['payloadOff', payloadOff],
  ] as const) {
    if (v !== -1 && (v < 0 || v > len)) throw new Error(`${k} ${v} outside a ${len}-byte frame`);
  }
  if (payloadOff !== -1 && payloadOff + payloadLen > len) throw new Error(`payload runs past the frame`);
  if (errorOffset < 0 || errorOffset > len) throw new Error(`errorOffset ${errorOffset}`);
}

export function fuzz(data: Uint8Array): void {
  dissectFrame(data, 0, data.length, info);
  check(data.length);
  dissectL3(data, 0, data.length, info);
  check(data.length);
}
