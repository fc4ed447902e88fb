// The reference sum: RFC 1071 §4.1's loop over big-endian 16-bit words, one word at a time, an odd
// last byte padded with a zero low byte. Every faster variant is tested against it.
import { csumFold } from './fold.ts';

/** Folded one's-complement sum of buf[off, off+len) (no range check: callers check). */
export function sumNaive(buf: Uint8Array, off: number, len: number): number {
  let s = 0;
  const last = off + len - 1;
  let i = off;
  for (; i < last; i += 2) s += (buf[i]! << 8) | buf[i + 1]!;
  if (i === last) s += buf[i]! << 8;
  return csumFold(s);
}
