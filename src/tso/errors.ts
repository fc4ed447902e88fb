// Typed verdicts of the software GSO engine, named with src/vnethdr's codes. Linux answers a bad
// TAP write in two ways: write() fails with EINVAL (tun_vnet_hdr_get, tun_get_user,
// virtio_net_hdr_to_skb reject it: verdict 'reject'), or write() succeeds and the frame vanishes
// in skb_gso_segment (codes DROP_*, verdict 'drop'; visible only as the egress TX dropped count).
import type { VnetHdrErrorCode } from '../vnethdr/index.ts';

export type TsoErrorCode = Extract<
  VnetHdrErrorCode,
  | 'FRAME_TOO_SHORT'
  | 'HDR_LEN_TOO_SHORT'
  | 'HDR_LEN_BEYOND_FRAME'
  | 'CSUM_BEYOND_FRAME'
  | 'BAD_GSO_TYPE'
  | 'GSO_SIZE_ZERO'
  | 'GSO_BY_FRAGS'
  | 'CSUM_START_TOO_SMALL'
  | 'GSO_HEADERS_TRUNCATED'
  | 'GSO_PROTO_MISMATCH'
  | 'GSO_NO_TRANSPORT'
  | 'GSO_L4_MISMATCH'
  | 'TCP_BAD_CSUM_OFFSET'
  | 'USO_WITHOUT_CSUM'
  | 'USO_BAD_CSUM_OFFSET'
  | 'USO_TOO_MANY_SEGMENTS'
  | 'USO_ECN'
  | 'DROP_GSO_PROTO_MISMATCH'
  | 'DROP_GSO_BAD_HEADERS'
  | 'DROP_CSUM_NOT_TRANSPORT'
  | 'DROP_GSO_TOO_SMALL'
>;

export class TsoError extends Error {
  override readonly name = 'TsoError';
  constructor(
    readonly code: TsoErrorCode,
    message: string,
    /** Byte offset in the frame (or header value) at fault, where one exists. */
    readonly offset?: number,
  ) {
    super(message);
  }

  /** 'reject' = write() fails with EINVAL; 'drop' = accepted, then silently dropped. */
  get verdict(): 'reject' | 'drop' {
    return this.code.startsWith('DROP_') ? 'drop' : 'reject';
  }
}
