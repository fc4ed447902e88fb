// virtio_net_hdr decode and Linux's TAP write validation under both kernel behaviours, and the
// receive-side header application: never throws, and reports fault offsets inside what it read.
import { PacketMeta } from '../../src/mbuf/index.ts';
import {
  PROBING_TAP_KERNEL,
  TapWriteInfo,
  UPSTREAM_TAP_KERNEL,
  VnetHdr,
  applyRxHdr,
  decodeVnetHdr,
  tapVerdict,
  validateTapWrite,
} from '../../src/vnethdr/index.ts';

export const maxLen = 4096;
const info = new TapWriteInfo();
const h = new VnetHdr();
const meta = new PacketMeta();

export function seeds(): Uint8Array[] {
  const tcp = new Uint8Array(12 + 14 + 20 + 20 + 200);
  tcp.set([1, 1, 54, 0, 100, 0, 34, 0, 16, 0], 0);
  tcp.set([8, 0], 12 + 12);
  tcp[12 + 14] = 0x45;
  tcp[12 + 14 + 9] = 6;
  tcp[12 + 34 + 12] = 0x50;
  return [tcp, new Uint8Array(12)];
}

export function fuzz(data: Uint8Array): void {
  for (const size of [10, 12, 20]) {
    for (const k of [UPSTREAM_TAP_KERNEL, PROBING_TAP_KERNEL]) {
      const code = validateTapWrite(data, 0, data.length, size, info, k);
      const v = tapVerdict(code);
      if (v === 'accepted' && data.length < size + 14)
        throw new Error('accepted a write shorter than a frame');
      if (info.errorOffset < 0 || info.errorOffset > Math.max(data.length, 0xffff))
        throw new Error(`errorOffset ${info.errorOffset}`);
    }
  }
  if (data.length >= 12) {
    decodeVnetHdr(data, 0, 12, h);
    applyRxHdr(h, data.length - 12, meta);
  }
}
