// Address conversions. Inside the stack an IPv4 address is an In4 (its 32 bits as a signed int32,
// below), an IPv6 address 16 bytes and a MAC a 48-bit number; strings and ip-num objects exist only
// at API boundaries, where an IPv4 address is a u32. This file is the
// one place text becomes an address: Unikernel.boot options, the stack's configuration, connect /
// send / ping hosts and the CLI all parse through parseIpv4, parseIpv6 and the prefix forms below.
// Parsing is ip-num's (strict like inet_pton); formatting stays here because ip-num's IPv6 text is
// not RFC 5952 (it never compresses zero runs).
//
// Leading zeros: "010.0.0.1" is refused, as inet_pton(AF_INET) and node:net's isIPv4 refuse it.
// inet_aton() and many shells' tools read "010" as octal 8, so the text means 8.0.0.1 to some
// readers and 10.0.0.1 to others; no guess is safe. Prefix lengths follow the same rule ("/024"
// is refused: iproute2 reads it as octal 20).
import { IPv4, IPv4Prefix, IPv6, IPv6Prefix } from 'ip-num';
import { WireError } from './errors.ts';

declare const in4Brand: unique symbol;

/**
 * An IPv4 address as the stack holds it: the same 32 bits as the u32 (0x0a000001 = 10.0.0.1), read
 * as a signed int32, so 192.168.0.1 is -1062731775. Node's x64 build keeps an int32 inside the
 * value, while a number from 2^31 up (every address from 128.0.0.0: 192.168/16, 172.16/12) is a
 * heap object each time it crosses a call V8 did not inline, as TCP's sequence numbers were
 * (docs/PORTING.md, "Numbers"). The brand makes the compiler refuse a plain number (a u32 from
 * parseIpv4 or get32) where an In4 is expected: `in4()` converts, `getIn4` reads one off the wire.
 * Equality is `===` between two In4s; masks are `&` (which yields the int32 form); the limited
 * broadcast is -1. No In4 value is free to mean "none", so the stack says none with null.
 */
export type In4 = number & { readonly [in4Brand]: true };

/** A u32 address (or an In4 already) as the stack's In4. */
export function in4(a: number): In4 {
  return (a | 0) as In4;
}

/** An In4 as the u32 the public API and the snapshot carry. */
export function in4U32(a: In4): number {
  return a >>> 0;
}

/** 255.255.255.255, the limited broadcast. */
export const IN4_BROADCAST = -1 as In4;
/** 0.0.0.0 (INADDR_ANY). */
export const IN4_ANY = 0 as In4;

/** The In4 mask of a prefix length 0..32 (all ones shifted, as inet_make_mask). */
export function in4Mask(len: number): In4 {
  return (len === 0 ? 0 : -1 << (32 - len)) as In4;
}

/** `at`: the character offset of the fault in the text (a prefix length's first digit, else 0). */
function bad(s: string, what: string, at = 0): never {
  throw new WireError('BAD_ADDRESS', at, `not ${what}: ${JSON.stringify(s)}`);
}

// One-entry memo per family: connect/send callers pass the same host string again and again.
let last4 = '';
let last4Value = -1;
let last6 = '';
const last6Value = new Uint8Array(16);
let last6Valid = false;

/** Dotted quad → u32. Strict like inet_pton(): four decimal parts, no leading zeros (ip-num). */
export function parseIpv4(s: string): number {
  if (s === last4 && last4Value >= 0) return last4Value;
  let v: IPv4;
  try {
    v = IPv4.fromString(s);
  } catch {
    return bad(s, 'an IPv4 address');
  }
  const n = Number(v.getValue());
  last4 = s;
  last4Value = n;
  return n;
}

/** Dotted quad → the stack's In4 (parseIpv4's rules). */
export function parseIn4(s: string): In4 {
  return in4(parseIpv4(s));
}

/**
 * Text → 16 bytes (ip-num; inet_pton6 rules): hex groups of 1-4 digits, one "::", an optional
 * dotted-quad tail. A zone ("fe80::1%eth0") is refused: the stack has one link and no scopes.
 */
export function parseIpv6(s: string): Uint8Array {
  if (last6Valid && s === last6) return last6Value.slice();
  if (s.includes('%')) bad(s, 'an IPv6 address (zones are not supported)');
  let v: IPv6;
  try {
    v = IPv6.fromString(s);
  } catch {
    return bad(s, 'an IPv6 address');
  }
  const out = ipv6FromIpNum(v);
  last6 = s;
  last6Value.set(out);
  last6Valid = true;
  return out;
}

/** An address with its prefix length, "10.0.0.1/24" or "fd00::1/64". */
export interface Ipv4Prefixed {
  addr: number;
  prefixLen: number;
}
export interface Ipv6Prefixed {
  addr: Uint8Array;
  prefixLen: number;
}

/**
 * "LEN" → number, decimal without leading zeros, validated by ip-num's prefix type. A refusal's
 * WireError offset is where LEN starts in `text`, so callers can tell a bad prefix from a bad address.
 */
function prefixLen(s: string, text: string, family: 4 | 6): number {
  const at = text.length - s.length;
  if (!/^(0|[1-9][0-9]{0,2})$/.test(s))
    bad(text, `a prefix length in ${family === 4 ? 'A.B.C.D/LEN' : 'ADDR/LEN'}`, at);
  try {
    return Number((family === 4 ? IPv4Prefix : IPv6Prefix).fromNumber(BigInt(s)).getValue());
  } catch {
    return bad(text, `a prefix length 0..${family === 4 ? 32 : 128}`, at);
  }
}

function splitPrefix(s: string, family: 4 | 6, defaultLen: number | undefined): [string, string | undefined] {
  const i = s.indexOf('/');
  if (i < 0) {
    if (defaultLen === undefined) bad(s, family === 4 ? 'A.B.C.D/LEN' : 'ADDR/LEN');
    return [s, undefined];
  }
  return [s.slice(0, i), s.slice(i + 1)];
}

/**
 * "A.B.C.D/LEN" → address and prefix length. Without "/LEN", `defaultLen` if given, else an error.
 * Host bits may be set (it is an interface address, not a network).
 */
export function parseIpv4Prefixed(s: string, defaultLen?: number): Ipv4Prefixed {
  const [a, p] = splitPrefix(s, 4, defaultLen);
  const addr = parseIpv4(a);
  return { addr, prefixLen: p === undefined ? defaultLen! : prefixLen(p, s, 4) };
}

/** "ADDR/LEN" → 16 bytes and prefix length; as parseIpv4Prefixed. */
export function parseIpv6Prefixed(s: string, defaultLen?: number): Ipv6Prefixed {
  const [a, p] = splitPrefix(s, 6, defaultLen);
  const addr = parseIpv6(a);
  return { addr, prefixLen: p === undefined ? defaultLen! : prefixLen(p, s, 6) };
}

/** Either family, by the text's shape (a ':' means IPv6), as node:net's isIP decides. */
export type IpAddress = { family: 4; addr: number } | { family: 6; addr: Uint8Array };
export function parseIp(s: string): IpAddress {
  return s.includes(':') ? { family: 6, addr: parseIpv6(s) } : { family: 4, addr: parseIpv4(s) };
}

/** 4 or 6 when `s` is an address of that family, 0 otherwise (node:net isIP, on this parser). */
export function ipFamilyOf(s: string): 0 | 4 | 6 {
  try {
    return parseIp(s).family;
  } catch (e) {
    if (e instanceof WireError) return 0;
    throw e;
  }
}

export function ipv4ToString(a: number): string {
  return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
}

/** 16 bytes at a[off] → RFC 5952 text (lowercase, longest zero run ≥ 2 as "::", ::ffff:a.b.c.d). */
export function ipv6ToString(a: Uint8Array, off = 0): string {
  const w: number[] = [];
  for (let i = 0; i < 8; i++) w.push((a[off + 2 * i]! << 8) | a[off + 2 * i + 1]!);
  if (w[0] === 0 && w[1] === 0 && w[2] === 0 && w[3] === 0 && w[4] === 0 && w[5] === 0xffff)
    return `::ffff:${a[off + 12]}.${a[off + 13]}.${a[off + 14]}.${a[off + 15]}`;
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (w[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (x: number[]): string => x.map((v) => v.toString(16)).join(':');
  if (best < 0) return hex(w);
  return `${hex(w.slice(0, best))}::${hex(w.slice(best + bestLen))}`;
}

/** "aa:bb:cc:dd:ee:ff" (or '-' separated) → 48-bit number. */
export function parseMac(s: string): number {
  if (!/^[0-9a-fA-F]{2}([:-][0-9a-fA-F]{2}){5}$/.test(s)) bad(s, 'a MAC address');
  return parseInt(s.replace(/[:-]/g, ''), 16);
}

export function macToString(m: number): string {
  return m
    .toString(16)
    .padStart(12, '0')
    .replace(/(..)(?!$)/g, '$1:');
}

/** Copy a MAC held as a number into 6 bytes at out[off]. */
export function macToBytes(m: number, out: Uint8Array, off = 0): void {
  const hi = Math.floor(m / 0x100000000);
  out[off] = hi >>> 8;
  out[off + 1] = hi;
  out[off + 2] = m >>> 24;
  out[off + 3] = m >>> 16;
  out[off + 4] = m >>> 8;
  out[off + 5] = m;
}

export function ipv4FromIpNum(a: IPv4): number {
  return Number(a.getValue());
}
export function ipv4ToIpNum(a: number): IPv4 {
  return IPv4.fromNumber(a >>> 0);
}
export function ipv6FromIpNum(a: IPv6): Uint8Array {
  let v = a.getValue();
  const out = new Uint8Array(16);
  for (let i = 15; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}
export function ipv6ToIpNum(a: Uint8Array, off = 0): IPv6 {
  let v = 0n;
  for (let i = 0; i < 16; i++) v = (v << 8n) | BigInt(a[off + i]!);
  return IPv6.fromBigInt(v);
}
