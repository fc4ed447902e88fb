// Folding and combining one's-complement partials (Linux csum_fold / csum_add without the
// final inversion). A "partial" is a 16-bit value 0..0xFFFF; both 0x0000 and 0xFFFF stand for zero
// in one's-complement arithmetic, and these helpers keep whichever the arithmetic produces.

/**
 * Fold an accumulator (a non-negative integer below 2^53) to 16 bits with end-around carry.
 * @mirrors asm-generic/checksum.h:csum_fold
 */
export function csumFold(sum: number): number {
  // Above 2^32 bitwise ops would truncate, so peel the high part off arithmetically first
  // (2^32 = 1 mod 0xFFFF). Multiply-subtract, not %: a float64 % is an fmod call (~20 ns).
  if (sum > 0xffffffff) {
    const hi = Math.floor(sum / 0x100000000);
    sum = sum - hi * 0x100000000 + hi;
    if (sum > 0xffffffff) sum -= 0xffffffff;
  }
  sum = (sum & 0xffff) + (sum >>> 16);
  return (sum & 0xffff) + (sum >>> 16);
}

/**
 * One's-complement addition of two partials (csum_add).
 * @mirrors net/checksum.h:csum_add
 */
export function csumAdd(a: number, b: number): number {
  const s = a + b;
  return (s & 0xffff) + (s >>> 16);
}

/**
 * One's-complement subtraction of partial b from partial a (csum_sub: add the complement).
 * @mirrors net/checksum.h:csum_sub
 */
export function csumSub(a: number, b: number): number {
  return csumAdd(a, ~b & 0xffff);
}

/** The checksum field value for a partial: its one's complement (the ~ of csum_fold). */
export function csumFinish(partial: number): number {
  return ~partial & 0xffff;
}

/** Swap the two bytes of a 16-bit value (RFC 1071 byte-order independence). */
export function swab16(x: number): number {
  return ((x & 0xff) << 8) | ((x >>> 8) & 0xff);
}
