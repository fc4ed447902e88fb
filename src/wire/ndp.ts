// NDP options (RFC 4861 §4.6): type, length in 8-octet units (0 is invalid), body. The walk
// mirrors Linux ndisc_parse_options(): a zero length or one running past the message ends
// parsing as invalid. Known types with their standard length become typed options; anything else
// (other lengths, Redirected Header, unknown types) is kept verbatim.
import { NdpOptType } from './constants.ts';
import { WireError } from './errors.ts';
import { inRange } from './view.ts';
import { get16, get32, get48, set16, set32, set48 } from './bytes.ts';

export type NdpOption =
  | { type: 'sourceLinkAddr' | 'targetLinkAddr'; addr: number }
  | {
      type: 'prefixInfo';
      prefixLen: number;
      /** L (0x80), A (0x40), R (0x20) and the reserved bits of that byte. */
      flags: number;
      validLifetime: number;
      preferredLifetime: number;
      prefix: Uint8Array;
    }
  | { type: 'mtu'; mtu: number }
  /** `data` is the option without its type and length bytes (8 * length - 2 bytes). */
  | { type: 'unknown'; optType: number; data: Uint8Array };

/** -1 if the options in buf[off, end) are well formed, else the offset of the bad one. */
export function badNdpOption(buf: Uint8Array, off: number, end: number): number {
  let o = off;
  while (o < end) {
    if (o + 2 > end) return o;
    const l = buf[o + 1]! * 8;
    if (l === 0 || o + l > end) return o;
    o += l;
  }
  return -1;
}

/** Parse well-formed options (checked with badNdpOption first). */
export function parseNdpOptions(buf: Uint8Array, off: number, end: number): NdpOption[] {
  const out: NdpOption[] = [];
  for (let o = off; o < end;) {
    const t = buf[o]!;
    const units = buf[o + 1]!;
    if ((t === NdpOptType.SOURCE_LL_ADDR || t === NdpOptType.TARGET_LL_ADDR) && units === 1)
      out.push({
        type: t === NdpOptType.SOURCE_LL_ADDR ? 'sourceLinkAddr' : 'targetLinkAddr',
        addr: get48(buf, o + 2),
      });
    else if (t === NdpOptType.PREFIX_INFO && units === 4 && get32(buf, o + 12) === 0)
      out.push({
        type: 'prefixInfo',
        prefixLen: buf[o + 2]!,
        flags: buf[o + 3]!,
        validLifetime: get32(buf, o + 4),
        preferredLifetime: get32(buf, o + 8),
        prefix: buf.slice(o + 16, o + 32),
      });
    else if (t === NdpOptType.MTU && units === 1 && get16(buf, o + 2) === 0)
      out.push({ type: 'mtu', mtu: get32(buf, o + 4) });
    else out.push({ type: 'unknown', optType: t, data: buf.slice(o + 2, o + units * 8) });
    o += units * 8;
  }
  return out;
}

export function ndpOptionLen(o: NdpOption): number {
  switch (o.type) {
    case 'sourceLinkAddr':
    case 'targetLinkAddr':
    case 'mtu':
      return 8;
    case 'prefixInfo':
      return 32;
    case 'unknown':
      return 2 + o.data.length;
  }
}

/** Write one option at buf[p] (room checked by the caller); returns the offset after it. */
export function emitNdpOption(o: NdpOption, buf: Uint8Array, p: number): number {
  const l = ndpOptionLen(o);
  buf.fill(0, p, p + l);
  switch (o.type) {
    case 'sourceLinkAddr':
    case 'targetLinkAddr':
      inRange(o.addr, 0xffffffffffff, 'link-layer address');
      buf[p] = o.type === 'sourceLinkAddr' ? NdpOptType.SOURCE_LL_ADDR : NdpOptType.TARGET_LL_ADDR;
      set48(buf, p + 2, o.addr);
      break;
    case 'prefixInfo':
      inRange(o.prefixLen, 128, 'prefixLen');
      inRange(o.flags, 255, 'flags');
      inRange(o.validLifetime, 0xffffffff, 'validLifetime');
      inRange(o.preferredLifetime, 0xffffffff, 'preferredLifetime');
      if (o.prefix.length !== 16) throw new WireError('BAD_REPR', p, 'prefix must be 16 bytes');
      buf[p] = NdpOptType.PREFIX_INFO;
      buf[p + 2] = o.prefixLen;
      buf[p + 3] = o.flags;
      set32(buf, p + 4, o.validLifetime);
      set32(buf, p + 8, o.preferredLifetime);
      buf.set(o.prefix, p + 16);
      break;
    case 'mtu':
      inRange(o.mtu, 0xffffffff, 'mtu');
      buf[p] = NdpOptType.MTU;
      set16(buf, p + 2, 0);
      set32(buf, p + 4, o.mtu);
      break;
    case 'unknown':
      inRange(o.optType, 255, 'optType');
      if (l % 8 !== 0 || l > 255 * 8)
        throw new WireError('BAD_REPR', p, 'NDP option length not 8k-2 data bytes');
      buf[p] = o.optType;
      buf.set(o.data, p + 2);
      buf[p + 1] = l / 8;
      if (parseNdpOptions(buf, p, p + l)[0]?.type !== 'unknown')
        throw new WireError('BAD_REPR', p, `unknown NDP option ${o.optType} has a known form`);
      return p + l;
  }
  buf[p + 1] = l / 8;
  return p + l;
}

/**
 * A source/target link-layer address option for Ethernet at buf[p] (RFC 4861 §4.6.1: type, length
 * 1 = 8 bytes, the 6-byte MAC). Returns the offset after it.
 */
export function writeLinkLayerOption(buf: Uint8Array, p: number, type: number, mac: Uint8Array): number {
  buf[p] = type;
  buf[p + 1] = 1;
  buf.set(mac, p + 2);
  return p + 8;
}
