// Pseudo-header sums for TCP/UDP/ICMPv6 checksums (RFC 793/768 for IPv4, RFC 8200 §8.1 for IPv6),
// from addresses held as numbers / byte arrays (reprs) or in place in an IP header (views).
import { csumPartial, pseudoV4, pseudoV6 } from '../checksum/index.ts';
import { get32 } from './bytes.ts';

/** IPv4 address as a u32 (or the stack's In4: the same bits, signed), IPv6 address as 16 bytes. */
export type IpAddr = number | Uint8Array;

/** Folded partial sum of the pseudo-header (not inverted), like csum_tcpudp_nofold + csum_fold. */
export function pseudoSum(src: IpAddr, dst: IpAddr, proto: number, len: number): number {
  if (typeof src === 'number' && typeof dst === 'number') return pseudoV4(src, dst, proto, len);
  if (typeof src === 'number' || typeof dst === 'number')
    throw new TypeError('pseudoSum: mixed address families');
  // Two separate arrays: pseudoV6 wants both addresses in one buffer.
  return csumPartial(src, 0, 16, csumPartial(dst, 0, 16, proto + (len >>> 16) + (len & 0xffff)));
}

/** Pseudo-header sum with addresses read in place: 8 bytes at addrOff (IPv4) or 32 (IPv6). */
export function pseudoSumAt(
  buf: Uint8Array,
  addrOff: number,
  addrBytes: 8 | 32,
  proto: number,
  len: number,
): number {
  return addrBytes === 8
    ? pseudoV4(get32(buf, addrOff), get32(buf, addrOff + 4), proto, len)
    : pseudoV6(buf, addrOff, addrOff + 16, proto, len);
}
