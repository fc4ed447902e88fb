// Hand-built frames with checksums computed here by a naive RFC 1071 loop (independent of
// src/checksum), for the `pcap verify` tests.

/** Naive one's-complement sum of bytes (big-endian words), folded, not inverted. */
export function sum16(bytes: ArrayLike<number>, seed = 0): number {
  let s = seed;
  for (let i = 0; i < bytes.length; i += 2) s += (bytes[i]! << 8) | (bytes[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return s;
}

function put16(b: number[], at: number, v: number): void {
  b[at] = v >>> 8;
  b[at + 1] = v & 0xff;
}

const SRC4 = [10, 0, 0, 1];
const DST4 = [10, 0, 0, 2];
const SRC6 = [0xfd, 0, ...new Array<number>(13).fill(0), 1];
const DST6 = [0xfd, 0, ...new Array<number>(13).fill(0), 2];

export const TCP = 6;
export const UDP = 17;
export const ICMP = 1;
export const ICMPV6 = 58;

/** An L4 segment with a zero checksum field: TCP 20-byte header, UDP, or ICMP echo. */
function l4(proto: number, payload: number[]): { bytes: number[]; field: number } {
  if (proto === TCP) {
    const h = [0x9c, 0x40, 0x13, 0x89, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0];
    return { bytes: [...h, ...payload], field: 16 };
  }
  if (proto === UDP) {
    const b = [0x03, 0xe8, 0x07, 0xd0, 0, 0, 0, 0, ...payload];
    put16(b, 4, b.length);
    return { bytes: b, field: 6 };
  }
  return { bytes: [proto === ICMP ? 8 : 128, 0, 0, 0, 0x12, 0x34, 0, 1, ...payload], field: 2 };
}

export interface Built {
  /** The IP packet (L3 onwards). */
  ip: number[];
  /** Offset of the L4 checksum field in `ip`. */
  l4Field: number;
  /** The pseudo-header sum that a NEEDS_CSUM field holds. */
  pseudo: number;
}

/** IPv4 packet with right checksums; `flags` = the IPv4 flags/fragment word. */
export function ipv4(proto: number, payload: number[], fragWord = 0x4000): Built {
  const seg = l4(proto, payload);
  const h = [0x45, 0, 0, 0, 0x12, 0x34, fragWord >>> 8, fragWord & 0xff, 64, proto, 0, 0, ...SRC4, ...DST4];
  put16(h, 2, 20 + seg.bytes.length);
  put16(h, 10, ~sum16(h) & 0xffff);
  const pseudo = sum16([...SRC4, ...DST4, 0, proto], seg.bytes.length);
  if (proto !== ICMP) put16(seg.bytes, seg.field, ~sum16(seg.bytes, pseudo) & 0xffff);
  else put16(seg.bytes, seg.field, ~sum16(seg.bytes) & 0xffff);
  return { ip: [...h, ...seg.bytes], l4Field: 20 + seg.field, pseudo };
}

/** IPv6 packet with a right L4 checksum. */
export function ipv6(proto: number, payload: number[]): Built {
  const seg = l4(proto, payload);
  const h = [0x60, 0, 0, 0, 0, 0, proto, 64, ...SRC6, ...DST6];
  put16(h, 4, seg.bytes.length);
  const pseudo = sum16([...SRC6, ...DST6, 0, 0, 0, proto], seg.bytes.length);
  put16(seg.bytes, seg.field, ~sum16(seg.bytes, pseudo) & 0xffff);
  return { ip: [...h, ...seg.bytes], l4Field: 40 + seg.field, pseudo };
}

/** Ethernet header for an EtherType. */
export function eth(type: number): number[] {
  return [2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, type >>> 8, type & 0xff];
}

/** Sets a 16-bit field. */
export function with16(bytes: number[], at: number, v: number): number[] {
  const b = [...bytes];
  put16(b, at, v);
  return b;
}
