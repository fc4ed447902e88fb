// Pseudo-header sums for TCP/UDP/ICMPv6 checksums (RFC 793/768 for IPv4, RFC 8200 §8.1 for IPv6),
// from addresses held as numbers / byte arrays (reprs) or in place in an IP header (views).
import { csumFold, csumPartial } from '../checksum/index.ts';

/** IPv4 address as a u32, IPv6 address as 16 bytes. */
export type IpAddr = number | Uint8Array;

/** Folded partial sum of the pseudo-header (not inverted), like csum_tcpudp_nofold + csum_fold. */
export function pseudoSum(src: IpAddr, dst: IpAddr, proto: number, len: number): number {
  const lenWords = Math.floor(len / 0x10000) + (len & 0xffff);
  if (typeof src === 'number' && typeof dst === 'number')
    return csumFold((src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + proto + lenWords);
  if (typeof src === 'number' || typeof dst === 'number')
    throw new TypeError('pseudoSum: mixed address families');
  return csumPartial(src, 0, 16, csumPartial(dst, 0, 16, proto + lenWords));
}

/** Pseudo-header sum with addresses read from buf: 8 bytes at addrOff (IPv4) or 32 (IPv6). */
export function pseudoSumAt(
  buf: Uint8Array,
  addrOff: number,
  addrBytes: 8 | 32,
  proto: number,
  len: number,
): number {
  return csumPartial(buf, addrOff, addrBytes, proto + Math.floor(len / 0x10000) + (len & 0xffff));
}
