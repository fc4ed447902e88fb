// TCP sequence-space arithmetic (RFC 9293 §3.4): 32-bit unsigned numbers compared modulo 2^32,
// like the kernel's before()/after() macros in include/net/tcp.h. Values are JS numbers in
// [0, 2^32); `(a - b) | 0` is the signed 32-bit distance, valid while |a - b| < 2^31.

/** a + n modulo 2^32. */
export function seqAdd(a: number, n: number): number {
  return (a + n) >>> 0;
}

/** Signed distance a - b in sequence space (kernel: (s32)(a - b)). */
export function seqDiff(a: number, b: number): number {
  return (a - b) | 0;
}

/** a < b (kernel before()). */
export function seqLt(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}

/** a <= b. */
export function seqLeq(a: number, b: number): boolean {
  return ((a - b) | 0) <= 0;
}

/** a > b (kernel after()). */
export function seqGt(a: number, b: number): boolean {
  return ((a - b) | 0) > 0;
}

/** a >= b. */
export function seqGeq(a: number, b: number): boolean {
  return ((a - b) | 0) >= 0;
}

/** The later of a and b. */
export function seqMax(a: number, b: number): number {
  return ((a - b) | 0) >= 0 ? a : b;
}

/** The earlier of a and b. */
export function seqMin(a: number, b: number): number {
  return ((a - b) | 0) <= 0 ? a : b;
}

/** lo <= s < hi (kernel between(s, lo, hi - 1)), wrap-safe for windows shorter than 2^31. */
export function seqInRange(s: number, lo: number, hi: number): boolean {
  return ((s - lo) | 0) >= 0 && ((s - hi) | 0) < 0;
}
