// Verification: a range whose checksum field is right sums (field included) to 0xFFFF, -0 in one's
// complement (RFC 1071 §1 (3)); Linux tests csum_fold(...) == 0, the same thing inverted.
import { ChecksumError, checkRange } from './errors.ts';
import { csumPartial } from './partial.ts';

/** True if buf[off, off+len) plus `seed` (e.g. a pseudo-header partial) sums to 0xFFFF. */
export function csumValid(buf: Uint8Array, off: number, len: number, seed = 0): boolean {
  return csumPartial(buf, off, len, seed) === 0xffff;
}

/**
 * True if the IPv4 header at buf[off] has version 4, IHL >= 5 and a right header checksum (Linux
 * ip_fast_csum over IHL words). Throws ChecksumError CSUM_RANGE if the header (20 bytes, then IHL
 * x 4) runs past the buffer.
 * @mirrors checksum.c:ip_fast_csum
 */
export function ipv4HeaderValid(buf: Uint8Array, off: number): boolean {
  checkRange(buf.length, off, 20, 'ipv4HeaderValid');
  const vihl = buf[off]!;
  const hlen = (vihl & 0x0f) * 4;
  if (vihl >>> 4 !== 4 || hlen < 20) return false;
  if (off + hlen > buf.length) {
    throw new ChecksumError('CSUM_RANGE', `ipv4HeaderValid: IHL ${hlen} bytes past the buffer`, off);
  }
  return csumValid(buf, off, hlen);
}
