// Pseudo-header sums for TCP/UDP/ICMPv6, as partials (Linux csum_tcpudp_nofold + fold, and
// csum_ipv6_magic before its final inversion). This is what a NEEDS_CSUM field holds.
import { ChecksumError, checkRange } from './errors.ts';
import { csumFold } from './fold.ts';
import { sumBytes } from './js-bytes.ts';

function checkArgs(proto: number, l4len: number, what: string): void {
  if (proto >>> 0 !== proto || proto > 0xff)
    throw new ChecksumError('CSUM_ARG', `${what}: protocol ${proto}`);
  if (l4len >>> 0 !== l4len) throw new ChecksumError('CSUM_ARG', `${what}: length ${l4len}`);
}

/** The 32 bits of an address given as a u32 or as the same bits read signed (the stack's In4). */
function isAddr32(a: number): boolean {
  return a >>> 0 === a || (a | 0) === a;
}

/**
 * IPv4 pseudo-header (RFC 793 §3.1 / RFC 768): source and destination as 32 bits in network order
 * (0x0a000001 = 10.0.0.1; either the u32 or its signed int32 form), zero, protocol, and the L4
 * length (header + payload).
 * @mirrors checksum.c:csum_tcpudp_nofold
 */
export function pseudoV4(src: number, dst: number, proto: number, l4len: number): number {
  if (!isAddr32(src) || !isAddr32(dst)) throw new ChecksumError('CSUM_ARG', 'pseudoV4: address not 32 bits');
  checkArgs(proto, l4len, 'pseudoV4');
  return csumFold(
    (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + proto + (l4len >>> 16) + (l4len & 0xffff),
  );
}

/**
 * IPv6 pseudo-header (RFC 8200 §8.1): the 16-byte addresses at buf[srcOff] and buf[dstOff], the
 * 32-bit upper-layer length, three zero bytes and the next-header value.
 * @mirrors ip6_checksum.c:csum_ipv6_magic
 */
export function pseudoV6(
  buf: Uint8Array,
  srcOff: number,
  dstOff: number,
  nextHeader: number,
  l4len: number,
): number {
  checkRange(buf.length, srcOff, 16, 'pseudoV6 source');
  checkRange(buf.length, dstOff, 16, 'pseudoV6 destination');
  checkArgs(nextHeader, l4len, 'pseudoV6');
  return csumFold(
    sumBytes(buf, srcOff, 16) + sumBytes(buf, dstOff, 16) + (l4len >>> 16) + (l4len & 0xffff) + nextHeader,
  );
}
