// Helpers for the IP-layer tests: two IPv6-enabled stacks, raw frames and injection.
import { expect } from 'vitest';
import type { NetIfPairOptions } from '../../src/netif/index.ts';
import type { Stack } from '../../src/stack/index.ts';
import {
  EtherType,
  EthernetRepr,
  Icmpv4Repr,
  IcmpUnreachCode,
  IpProto,
  Ipv4Repr,
  get48,
  parseIpv6,
  pseudoSum,
} from '../../src/wire/index.ts';
import { csumFinish, csumPartial } from '../../src/checksum/index.ts';
import { makePair, runUntil, type Pair } from './harness.ts';

export const A6 = '2001:db8::1';
export const B6 = '2001:db8::2';

export async function pair6(extra: { a?: object; b?: object; pair?: NetIfPairOptions } = {}): Promise<Pair> {
  const p = makePair({
    pair: extra.pair,
    a: { ipv6: { addresses: [`${A6}/64`], dadDelay: 0 }, ...extra.a },
    b: { ipv6: { addresses: [`${B6}/64`], dadDelay: 0 }, ...extra.b },
  });
  await runUntil(p, () => [p.a, p.b].every((s) => s.ip6!.addresses.every((x) => x.state === 'PREFERRED')));
  return p;
}

/** An Ethernet + IPv6 frame to `to` (its MAC) with the given next header chain bytes and payload. */
export function frame6(
  to: Stack,
  from: Stack,
  src: string,
  dst: string,
  nh: number,
  body: Uint8Array,
  hop = 64,
  /** Upper-layer checksum: the offset in body of a 16-bit field to fill, and the upper offset/proto. */
  csum?: { at: number; l4: number; proto: number },
): Uint8Array {
  const f = new Uint8Array(14 + 40 + body.length);
  f.set(to.netif.mac, 0);
  f.set(from.netif.mac, 6);
  f[12] = 0x86;
  f[13] = 0xdd;
  f[14] = 0x60;
  f[18] = body.length >> 8;
  f[19] = body.length & 0xff;
  f[20] = nh;
  f[21] = hop;
  const s = parseIpv6(src);
  const d = parseIpv6(dst);
  f.set(s, 22);
  f.set(d, 38);
  f.set(body, 54);
  if (csum !== undefined) {
    const l4Len = body.length - csum.l4;
    const o = 54 + csum.l4;
    f[54 + csum.at] = 0;
    f[55 + csum.at] = 0;
    const v = csumFinish(csumPartial(f, o, l4Len, pseudoSum(s, d, csum.proto, l4Len)));
    f[54 + csum.at] = v >> 8;
    f[55 + csum.at] = v & 0xff;
  }
  return f;
}

/** Hands a raw frame to a stack's receive path. */
export function inject(s: Stack, f: Uint8Array): void {
  const m = s.pool.alloc()!;
  expect(m.append(f)).toBe(true);
  s.input(m);
}

/**
 * An ICMP fragmentation-needed frame from `from` to `to` (next-hop MTU `mtu`), quoting the header
 * and 8 bytes of a 1500-byte UDP datagram src → dst (addresses as 32 bits, either form).
 */
export function fragNeeded4(from: Stack, to: Stack, mtu: number, src: number, dst: number): Uint8Array {
  const ip = (s: number, d: number, protocol: number, payloadLen: number): Ipv4Repr => ({
    src: s >>> 0,
    dst: d >>> 0,
    protocol,
    ttl: 64,
    dscp: 0,
    ecn: 0,
    ident: 1,
    dontFrag: false,
    moreFrags: false,
    fragOffset: 0,
    payloadLen,
    options: new Uint8Array(0),
  });
  const quote = new Uint8Array(28);
  Ipv4Repr.emit(ip(src, dst, IpProto.UDP, 1480), quote, 0);
  const icmp: Icmpv4Repr = {
    kind: 'destUnreachable',
    code: IcmpUnreachCode.FRAG_NEEDED,
    nextHopMtu: mtu,
    data: quote,
  };
  const f = new Uint8Array(14 + 20 + Icmpv4Repr.bufferLen(icmp));
  const eth = {
    dst: get48(to.netif.mac, 0),
    src: get48(from.netif.mac, 0),
    vlans: [],
    etherType: EtherType.IPV4,
  };
  EthernetRepr.emit(eth, f, 0);
  Ipv4Repr.emit(ip(from.addr, to.addr, IpProto.ICMP, Icmpv4Repr.bufferLen(icmp)), f, 14);
  Icmpv4Repr.emit(icmp, f, 34);
  return f;
}

/** A UDP datagram (header + data) as bytes, checksum left 0 for frame6 to fill. */
export function udp(sport: number, dport: number, data: Uint8Array): Uint8Array {
  const u = new Uint8Array(8 + data.length);
  u[0] = sport >> 8;
  u[1] = sport & 0xff;
  u[2] = dport >> 8;
  u[3] = dport & 0xff;
  u[4] = u.length >> 8;
  u[5] = u.length & 0xff;
  u.set(data, 8);
  return u;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
