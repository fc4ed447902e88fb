// Short ranges: byte loads, four 16-bit words per iteration into two int32 accumulators. No
// typed-array `.buffer`/`.byteOffset` reads (each costs a few ns), which is what wins below ~100 B.
import { csumFold } from './fold.ts';

/** Largest len for which the int32 accumulators cannot overflow (2 x 0xFFFF per word pair). */
export const BYTES_MAX_LEN = 64 * 1024;

/** Folded one's-complement sum of buf[off, off+len), len <= BYTES_MAX_LEN (not checked here). */
export function sumBytes(buf: Uint8Array, off: number, len: number): number {
  let a = 0;
  let b = 0;
  let i = off;
  const end8 = off + (len & ~7);
  for (; i < end8; i += 8) {
    a = (a + ((buf[i]! << 8) | buf[i + 1]!) + ((buf[i + 4]! << 8) | buf[i + 5]!)) | 0;
    b = (b + ((buf[i + 2]! << 8) | buf[i + 3]!) + ((buf[i + 6]! << 8) | buf[i + 7]!)) | 0;
  }
  const end = off + len;
  for (; i < end - 1; i += 2) a = (a + ((buf[i]! << 8) | buf[i + 1]!)) | 0;
  if (i < end) a = (a + (buf[i]! << 8)) | 0;
  return csumFold(a + b);
}
