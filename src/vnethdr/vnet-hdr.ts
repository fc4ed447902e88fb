// The 10/12-byte virtio_net_hdr codec: little-endian 16-bit fields (virtio 1.0, and legacy on
// x86), decoded into a reusable object so the datapath allocates nothing.
import {
  VNET_HDR_LEN,
  VNET_HDR_MRG_LEN,
  VNET_OFF_CSUM_OFFSET,
  VNET_OFF_CSUM_START,
  VNET_OFF_FLAGS,
  VNET_OFF_GSO_SIZE,
  VNET_OFF_GSO_TYPE,
  VNET_OFF_HDR_LEN,
  VNET_OFF_NUM_BUFFERS,
} from './constants.ts';
import { VnetHdrError, type VnetHdrErrorCode } from './errors.ts';
import { getLe16, setLe16 } from '../wire/index.ts';

export class VnetHdr {
  flags = 0;
  gsoType = 0;
  hdrLen = 0;
  gsoSize = 0;
  csumStart = 0;
  csumOffset = 0;
  /** Only in the 12-byte form; 0 on transmit. */
  numBuffers = 0;

  clear(): this {
    this.flags = 0;
    this.gsoType = 0;
    this.hdrLen = 0;
    this.gsoSize = 0;
    this.csumStart = 0;
    this.csumOffset = 0;
    this.numBuffers = 0;
    return this;
  }

  copyFrom(o: VnetHdr): this {
    this.flags = o.flags;
    this.gsoType = o.gsoType;
    this.hdrLen = o.hdrLen;
    this.gsoSize = o.gsoSize;
    this.csumStart = o.csumStart;
    this.csumOffset = o.csumOffset;
    this.numBuffers = o.numBuffers;
    return this;
  }
}

/**
 * Decodes the size-byte header (10 or 12) at buf[off] into out. Returns null, 'BAD_HDR_SIZE' or
 * 'TRUNCATED'. With size 10, numBuffers is set to 0.
 */
export function decodeVnetHdr(
  buf: Uint8Array,
  off: number,
  size: number,
  out: VnetHdr,
): VnetHdrErrorCode | null {
  if (size !== VNET_HDR_LEN && size !== VNET_HDR_MRG_LEN) return 'BAD_HDR_SIZE';
  if (!Number.isInteger(off) || off < 0 || off + size > buf.length) return 'TRUNCATED';
  out.flags = buf[off + VNET_OFF_FLAGS]!;
  out.gsoType = buf[off + VNET_OFF_GSO_TYPE]!;
  out.hdrLen = getLe16(buf, off + VNET_OFF_HDR_LEN);
  out.gsoSize = getLe16(buf, off + VNET_OFF_GSO_SIZE);
  out.csumStart = getLe16(buf, off + VNET_OFF_CSUM_START);
  out.csumOffset = getLe16(buf, off + VNET_OFF_CSUM_OFFSET);
  out.numBuffers = size === VNET_HDR_MRG_LEN ? getLe16(buf, off + VNET_OFF_NUM_BUFFERS) : 0;
  return null;
}

function u16(v: number): boolean {
  return Number.isInteger(v) && v >= 0 && v <= 0xffff;
}

function u8(v: number): boolean {
  return Number.isInteger(v) && v >= 0 && v <= 0xff;
}

/** Encodes h as a size-byte header (10 or 12) at buf[off]. Throws VnetHdrError on bad input. */
export function encodeVnetHdr(h: VnetHdr, buf: Uint8Array, off: number, size: number): void {
  if (size !== VNET_HDR_LEN && size !== VNET_HDR_MRG_LEN) throw new VnetHdrError('BAD_HDR_SIZE', 0);
  if (!Number.isInteger(off) || off < 0 || off + size > buf.length) {
    throw new VnetHdrError('TRUNCATED', Math.max(0, buf.length - Math.max(0, off)));
  }
  if (!u8(h.flags)) throw new VnetHdrError('FIELD_RANGE', VNET_OFF_FLAGS, `flags ${h.flags}`);
  if (!u8(h.gsoType)) throw new VnetHdrError('FIELD_RANGE', VNET_OFF_GSO_TYPE, `gso_type ${h.gsoType}`);
  if (!u16(h.hdrLen)) throw new VnetHdrError('FIELD_RANGE', VNET_OFF_HDR_LEN, `hdr_len ${h.hdrLen}`);
  if (!u16(h.gsoSize)) throw new VnetHdrError('FIELD_RANGE', VNET_OFF_GSO_SIZE, `gso_size ${h.gsoSize}`);
  if (!u16(h.csumStart))
    throw new VnetHdrError('FIELD_RANGE', VNET_OFF_CSUM_START, `csum_start ${h.csumStart}`);
  if (!u16(h.csumOffset)) {
    throw new VnetHdrError('FIELD_RANGE', VNET_OFF_CSUM_OFFSET, `csum_offset ${h.csumOffset}`);
  }
  if (size === VNET_HDR_MRG_LEN && !u16(h.numBuffers)) {
    throw new VnetHdrError('FIELD_RANGE', VNET_OFF_NUM_BUFFERS, `num_buffers ${h.numBuffers}`);
  }
  buf[off + VNET_OFF_FLAGS] = h.flags;
  buf[off + VNET_OFF_GSO_TYPE] = h.gsoType;
  setLe16(buf, off + VNET_OFF_HDR_LEN, h.hdrLen);
  setLe16(buf, off + VNET_OFF_GSO_SIZE, h.gsoSize);
  setLe16(buf, off + VNET_OFF_CSUM_START, h.csumStart);
  setLe16(buf, off + VNET_OFF_CSUM_OFFSET, h.csumOffset);
  if (size === VNET_HDR_MRG_LEN) setLe16(buf, off + VNET_OFF_NUM_BUFFERS, h.numBuffers);
}
