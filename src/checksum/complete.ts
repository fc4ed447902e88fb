// Completing a partial checksum the way a virtio device does for VIRTIO_NET_HDR_F_NEEDS_CSUM
// (Linux skb_checksum_help): the field at csum_start + csum_offset already holds the folded
// pseudo-header sum, so summing [csum_start, end) with the field in place and storing the
// complement gives the final checksum.
import { ChecksumError, checkRange } from './errors.ts';
import { csumFinish } from './fold.ts';
import { csumPartial } from './partial.ts';

/** Linux CSUM_MANGLED_0: the value sent instead of a computed 0x0000. */
export const CSUM_MANGLED_0 = 0xffff;

/**
 * UDP's rule (RFC 768): a transmitted checksum of 0 means "none", so a computed 0 is sent as
 * 0xFFFF. completePartial does not apply it (TCP may send 0); UDP callers pass mangleZero or use
 * this on values they compute themselves.
 */
export function udpCheckValue(check: number): number {
  return check === 0 ? CSUM_MANGLED_0 : check;
}

/**
 * Sums frame[csumStart, end), stores the checksum big-endian at csumStart + csumOffset and returns
 * it. With mangleZero a 0 result is stored as 0xFFFF (UDP, and what Linux's skb_checksum_help
 * writes for every protocol). Throws ChecksumError CSUM_RANGE if [csumStart, end) is not inside
 * the frame, CSUM_OFFSET if the 2-byte field does not lie inside [csumStart, end); nothing is
 * written then. Like a device, any csumOffset is accepted; real ones are even (TCP 16, UDP 6), and
 * only then does a field holding a pseudo-header sum add up in word order.
 * @mirrors dev.c:skb_checksum_help
 */
export function completePartial(
  frame: Uint8Array,
  csumStart: number,
  csumOffset: number,
  end = frame.length,
  mangleZero = false,
): number {
  if (end >>> 0 !== end || end > frame.length) {
    throw new ChecksumError('CSUM_RANGE', `completePartial: end ${end} past ${frame.length} bytes`, end);
  }
  checkRange(end, csumStart, end - csumStart, 'completePartial');
  const field = csumStart + csumOffset;
  if (csumOffset >>> 0 !== csumOffset || field + 2 > end) {
    throw new ChecksumError(
      'CSUM_OFFSET',
      `completePartial: field at ${field} outside [${csumStart}, ${end})`,
      field,
    );
  }
  let check = csumFinish(csumPartial(frame, csumStart, end - csumStart));
  if (mangleZero && check === 0) check = CSUM_MANGLED_0;
  frame[field] = check >>> 8;
  frame[field + 1] = check & 0xff;
  return check;
}
