// Address conversions. Inside the stack an IPv4 address is a u32, an IPv6 address 16 bytes and a
// MAC a 48-bit number; strings (inet_pton/inet_ntop rules, RFC 5952 for IPv6 output) and ip-num
// objects exist only at API boundaries.
import { IPv4, IPv6 } from 'ip-num';
import { WireError } from './errors.ts';

function bad(s: string, what: string): never {
  throw new WireError('BAD_ADDRESS', 0, `not ${what}: ${JSON.stringify(s)}`);
}

/** Dotted quad → u32. Strict like inet_pton(): four decimal parts, no leading zeros. */
export function parseIpv4(s: string): number {
  const parts = s.split('.');
  if (parts.length !== 4) bad(s, 'an IPv4 address');
  let n = 0;
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) bad(s, 'an IPv4 address');
    const v = Number(p);
    if (v > 255) bad(s, 'an IPv4 address');
    n = n * 256 + v;
  }
  return n;
}

export function ipv4ToString(a: number): string {
  return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
}

/** Text → 16 bytes: hex groups, one "::", an optional dotted-quad tail (inet_pton6). */
export function parseIpv6(s: string): Uint8Array {
  const out = new Uint8Array(16);
  const dbl = s.indexOf('::');
  if (dbl !== s.lastIndexOf('::')) bad(s, 'an IPv6 address');
  const head = dbl < 0 ? s : s.slice(0, dbl);
  const tail = dbl < 0 ? '' : s.slice(dbl + 2);
  const groups = (part: string, last: boolean): number[] => {
    if (part === '') return [];
    const words: number[] = [];
    const fields = part.split(':');
    fields.forEach((f, i) => {
      if (last && i === fields.length - 1 && f.includes('.')) {
        const v4 = parseIpv4(f);
        words.push(v4 >>> 16, v4 & 0xffff);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(f)) words.push(parseInt(f, 16));
      else bad(s, 'an IPv6 address');
    });
    return words;
  };
  const h = groups(head, dbl < 0);
  const t = dbl < 0 ? [] : groups(tail, true);
  if (dbl < 0 ? h.length !== 8 : h.length + t.length > 7) bad(s, 'an IPv6 address');
  const words = [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  words.forEach((w, i) => {
    out[2 * i] = w >> 8;
    out[2 * i + 1] = w & 0xff;
  });
  return out;
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
