// TCP sequence-space arithmetic (RFC 9293 §3.4): 32-bit numbers compared modulo 2^32, like the
// kernel's before()/after() macros in include/net/tcp.h.
//
// The stack holds a sequence number (and a TSval, a SACK edge) as its 32 bits read as a signed
// int32, in [-2^31, 2^31): the kernel's u32 bits, a different reading. Why: V8 keeps an int32 as a
// small integer in the value itself, while a number in [2^31, 2^32) is a heap-allocated double
// whenever it crosses a call V8 did not inline. Unsigned, that was an allocation per number
// returned or passed on half of all connections (random ISNs): about half of what a bulk transfer
// allocated per packet (`npm run bench -- --only alloc`).
//
// Every function here accepts either form (their results depend only on the values modulo 2^32),
// and seqAdd returns the signed one. Plain `===` between two forms of one number is false: values
// from outside (the wire, a snapshot) are taken in with seqOf, compared with seqEq when their form
// is not known, and given out with seqU32.

/** The stack's form of a 32-bit value given in either form (kernel: the u32 itself). */
export function seqOf(v: number): number {
  return v | 0;
}

/** The unsigned form, in [0, 2^32), for display and for values given out (snapshots). */
export function seqU32(s: number): number {
  return s >>> 0;
}

/** a + n modulo 2^32, in the stack's signed form. */
export function seqAdd(a: number, n: number): number {
  return (a + n) | 0;
}

/** a and b are the same sequence number, whatever their forms. */
export function seqEq(a: number, b: number): boolean {
  return ((a - b) | 0) === 0;
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
