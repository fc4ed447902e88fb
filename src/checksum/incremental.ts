// RFC 1624 incremental update of a checksum *field* (already inverted) when one 16- or 32-bit
// word it covers changes, eqn. 3: HC' = ~(~HC + ~m + m'), with end-around-carry adds. Unlike eqn.
// 2 it never turns a +0 field into -0 by mistake; results equal a full recomputation except that
// a field over all-zero data comes out 0x0000 here where recomputation gives 0xFFFF (both "zero").
import { ChecksumError } from './errors.ts';
import { csumAdd } from './fold.ts';

function checkU16(v: number, what: string): void {
  if (v >>> 0 !== v || v > 0xffff) throw new ChecksumError('CSUM_ARG', `${what}: ${v} is not a 16-bit value`);
}

function checkU32(v: number, what: string): void {
  if (v >>> 0 !== v) throw new ChecksumError('CSUM_ARG', `${what}: ${v} is not a 32-bit value`);
}

/**
 * New field value after a 16-bit word changes from oldWord to newWord (Linux csum_replace2).
 * @mirrors net/checksum.h:csum_replace2
 */
export function csumReplace16(check: number, oldWord: number, newWord: number): number {
  checkU16(check, 'csumReplace16');
  checkU16(oldWord, 'csumReplace16');
  checkU16(newWord, 'csumReplace16');
  // csum16_add(csum16_sub(~check, old), new), inverted: 16-bit end-around adds throughout.
  return ~csumAdd(csumAdd(~check & 0xffff, ~oldWord & 0xffff), newWord) & 0xffff;
}

/** 32-bit one's-complement add (Linux csum_add on a __wsum): end-around carry at bit 32. */
function add32(a: number, b: number): number {
  const s = a + b;
  return s > 0xffffffff ? s - 0xffffffff : s;
}

/**
 * New field value after a 32-bit word (e.g. an IPv4 address, as a u32 in network order) changes
 * (Linux csum_replace4: ~csum_fold(~unfold(check) - from + to) in 32-bit one's complement, so
 * its result is never 0xFFFF).
 * @mirrors net/checksum.h:csum_replace4
 */
export function csumReplace32(check: number, oldU32: number, newU32: number): number {
  checkU16(check, 'csumReplace32');
  checkU32(oldU32, 'csumReplace32');
  checkU32(newU32, 'csumReplace32');
  let s = add32(add32(~check >>> 0, ~oldU32 >>> 0), newU32);
  s = (s & 0xffff) + (s >>> 16);
  s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}
