// RFC 1071 Internet checksum primitives. A "partial" is a folded 16-bit one's-complement sum
// (0..0xFFFF, not inverted) of big-endian 16-bit words, like Linux's csum_partial() after
// csum_fold() minus the final inversion. Partials compose with csumAdd.

/** One's-complement sum of buf[off, off+len) as big-endian words, added to `seed`, folded to 16 bits. */
export function csumPartial(buf: Uint8Array, off: number, len: number, seed = 0): number {
  if (off < 0 || len < 0 || off + len > buf.length) throw new RangeError('csumPartial: range out of bounds');
  let s = seed;
  const end = off + len - 1;
  let i = off;
  for (; i < end; i += 2) s += (buf[i]! << 8) | buf[i + 1]!;
  if (i === end) s += buf[i]! << 8;
  return csumFold(s);
}

/** Fold a 32-bit (or up to 2^53) accumulator to 16 bits with end-around carry. */
export function csumFold(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}

/** One's-complement addition of two partials. */
export function csumAdd(a: number, b: number): number {
  const s = a + b;
  return (s & 0xffff) + (s >>> 16);
}

/** The checksum field value for a partial: its one's complement. */
export function csumFinish(partial: number): number {
  return ~partial & 0xffff;
}
