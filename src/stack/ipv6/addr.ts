// IPv6 addresses as the stack handles them: our addresses with their DAD state (RFC 4862), the
// classification helpers (link-local, multicast, unspecified), modified EUI-64 link-local
// addresses (RFC 4291 appendix A), solicited-node groups (RFC 4291 §2.7.1) and the string keys the
// neighbour and path-MTU caches use.
import { ipv6ToString, parseIpv6 } from '../../wire/index.ts';
import type { Timer } from '../timer.ts';

export type AddrState = 'TENTATIVE' | 'PREFERRED' | 'DUPLICATE';

/** One of our addresses with its DAD state (RFC 4862 §5.4). */
export class Ipv6Address {
  state: AddrState = 'TENTATIVE';
  /** DAD solicitations sent so far. */
  probes = 0;
  constructor(
    readonly addr: Uint8Array,
    readonly prefixLen: number,
    readonly timer: Timer,
  ) {}
  get linkLocal(): boolean {
    return isLinkLocal(this.addr, 0);
  }
  toString(): string {
    return `${ipv6ToString(this.addr)}/${this.prefixLen}`;
  }
}

const HEX: string[] = [];
for (let i = 0; i < 256; i++) HEX.push(i.toString(16).padStart(2, '0'));

/** Neighbour-cache / path-MTU key for a 16-byte address. */
export function key6(b: Uint8Array, o = 0): string {
  let s = '';
  for (let i = 0; i < 16; i++) s += HEX[b[o + i]!]!;
  return s;
}

export function keyToAddr(k: string, out: Uint8Array): void {
  for (let i = 0; i < 16; i++) out[i] = parseInt(k.slice(i * 2, i * 2 + 2), 16);
}

export function isLinkLocal(b: Uint8Array, o: number): boolean {
  return b[o] === 0xfe && (b[o + 1]! & 0xc0) === 0x80;
}

export function isMulticast(b: Uint8Array, o: number): boolean {
  return b[o] === 0xff;
}

export function isUnspecified(b: Uint8Array, o: number): boolean {
  for (let i = 0; i < 16; i++) if (b[o + i] !== 0) return false;
  return true;
}

/** Leading bits a[0, 16) and b[bOff, bOff + 16) share (RFC 6724 CommonPrefixLen). */
export function commonPrefixLen(a: Uint8Array, b: Uint8Array, bOff: number): number {
  for (let i = 0; i < 16; i++) {
    const x = a[i]! ^ b[bOff + i]!;
    if (x !== 0) return i * 8 + Math.clz32(x) - 24;
  }
  return 128;
}

export function equal16(a: Uint8Array, ao: number, b: Uint8Array, bo: number): boolean {
  for (let i = 0; i < 16; i++) if (a[ao + i] !== b[bo + i]) return false;
  return true;
}

/** Modified EUI-64 link-local address from a 48-bit MAC (RFC 4291 appendix A). */
export function linkLocalFromMac(mac: Uint8Array): Uint8Array {
  const a = new Uint8Array(16);
  a[0] = 0xfe;
  a[1] = 0x80;
  a[8] = mac[0]! ^ 0x02;
  a[9] = mac[1]!;
  a[10] = mac[2]!;
  a[11] = 0xff;
  a[12] = 0xfe;
  a[13] = mac[3]!;
  a[14] = mac[4]!;
  a[15] = mac[5]!;
  return a;
}

/** ff02::1:ffXX:XXXX for address a (RFC 4291 §2.7.1). */
export function solicitedNode(a: Uint8Array, out: Uint8Array, outOff = 0): void {
  out.fill(0, outOff, outOff + 16);
  out[outOff] = 0xff;
  out[outOff + 1] = 0x02;
  out[outOff + 11] = 0x01;
  out[outOff + 12] = 0xff;
  out[outOff + 13] = a[13]!;
  out[outOff + 14] = a[14]!;
  out[outOff + 15] = a[15]!;
}

export const ALL_NODES = parseIpv6('ff02::1');
export const UNSPECIFIED = new Uint8Array(16);
