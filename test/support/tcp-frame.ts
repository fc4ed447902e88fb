// Raw TCP segments as Ethernet/IPv4 frames, both ways, for tests and fuzz targets that play a TCP
// peer of stack b (10.0.0.2) as 10.0.0.1: tcpFrame builds what the peer sends (checksums valid,
// any header, any option bytes), decode reads what b sent. No test framework here, so fuzz
// targets can use it.
import type { Mbuf } from '../../src/mbuf/index.ts';
import { EthernetRepr, EtherType, IpProto, Ipv4Repr, TcpOptKind, pseudoSum } from '../../src/wire/index.ts';
import { csumFinish, csumPartial } from '../../src/checksum/index.ts';

export const PEER = 0x0a000001;
export const SUT = 0x0a000002;

/** One segment b sent, decoded. */
export interface Out {
  src: number;
  dst: number;
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  flags: number;
  window: number;
  len: number;
  payload: Uint8Array;
  mss: number;
  wscale: number;
  sackPermitted: boolean;
  ts: [number, number] | null;
  sack: Array<[number, number]>;
  /** Virtual time it was sent (scriptedPeer only). */
  at: number;
}

export interface SegIn {
  src?: number;
  sport?: number;
  dport?: number;
  seq: number;
  ack?: number;
  flags: number;
  window?: number;
  payload?: Uint8Array;
  /** Raw option bytes (a multiple of 4 long, or the header length is rounded down and cuts them). */
  opts?: Uint8Array | number[];
  /** The IP header's ECN field (RFC 3168), default 0. */
  ecn?: number;
}

const u32 = (b: Uint8Array, o: number): number =>
  ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;

/** Decodes one transmitted frame; null when it is not IPv4/TCP. */
export function decode(m: Mbuf): Out | null {
  const f = new Uint8Array(m.length);
  m.copyTo(f);
  if (f.length < 54 || f[12] !== 0x08 || f[13] !== 0x00 || f[23] !== IpProto.TCP) return null;
  const ihl = (f[14]! & 15) * 4;
  const totLen = (f[16]! << 8) | f[17]!;
  const t = 14 + ihl;
  const hl = (f[t + 12]! >> 4) * 4;
  const o: Out = {
    src: u32(f, 26),
    dst: u32(f, 30),
    sport: (f[t]! << 8) | f[t + 1]!,
    dport: (f[t + 2]! << 8) | f[t + 3]!,
    seq: u32(f, t + 4),
    ack: u32(f, t + 8),
    flags: f[t + 13]!,
    window: (f[t + 14]! << 8) | f[t + 15]!,
    len: 14 + totLen - t - hl,
    payload: f.slice(t + hl, 14 + totLen),
    mss: -1,
    wscale: -1,
    sackPermitted: false,
    ts: null,
    sack: [],
    at: 0,
  };
  for (let p = t + 20; p < t + hl;) {
    const k = f[p]!;
    if (k === TcpOptKind.EOL) break;
    if (k === TcpOptKind.NOP) {
      p++;
      continue;
    }
    const l = f[p + 1]!;
    if (k === TcpOptKind.MSS) o.mss = (f[p + 2]! << 8) | f[p + 3]!;
    else if (k === TcpOptKind.WSCALE) o.wscale = f[p + 2]!;
    else if (k === TcpOptKind.SACK_PERMITTED) o.sackPermitted = true;
    else if (k === TcpOptKind.TIMESTAMP) o.ts = [u32(f, p + 2), u32(f, p + 6)];
    else if (k === TcpOptKind.SACK)
      for (let q = p + 2; q < p + l; q += 8) o.sack.push([u32(f, q), u32(f, q + 4)]);
    p += Math.max(2, l);
  }
  return o;
}

/** An Ethernet/IPv4/TCP frame src -> dst carrying segment `s`, checksums valid. */
export function tcpFrame(
  dstMac: Uint8Array,
  srcMac: Uint8Array,
  src: number,
  dst: number,
  s: SegIn,
): Uint8Array {
  const macNum = (x: Uint8Array): number => x.reduce((n, b) => n * 256 + b, 0);
  const payload = s.payload ?? new Uint8Array(0);
  const ob = Uint8Array.from(s.opts ?? []);
  const hl = 20 + (ob.length & ~3);
  const tl = hl + payload.length;
  const frame = new Uint8Array(34 + tl);
  EthernetRepr.emit(
    { dst: macNum(dstMac), src: macNum(srcMac), vlans: [], etherType: EtherType.IPV4 },
    frame,
    0,
  );
  Ipv4Repr.emit(
    {
      src,
      dst,
      protocol: IpProto.TCP,
      ttl: 64,
      dscp: 0,
      ecn: s.ecn ?? 0,
      ident: 1,
      dontFrag: true,
      moreFrags: false,
      fragOffset: 0,
      payloadLen: tl,
      options: new Uint8Array(0),
    },
    frame,
    14,
  );
  const t = 34;
  const put16 = (o: number, v: number): void => {
    frame[o] = (v >>> 8) & 0xff;
    frame[o + 1] = v & 0xff;
  };
  const put32 = (o: number, v: number): void => {
    put16(o, (v >>> 16) & 0xffff);
    put16(o + 2, v & 0xffff);
  };
  put16(t, s.sport ?? 40000);
  put16(t + 2, s.dport ?? 80);
  put32(t + 4, s.seq >>> 0);
  put32(t + 8, (s.ack ?? 0) >>> 0);
  frame[t + 12] = (hl / 4) << 4;
  frame[t + 13] = s.flags;
  put16(t + 14, s.window ?? 65535);
  frame.set(ob.subarray(0, hl - 20), t + 20);
  frame.set(payload, t + hl);
  put16(t + 16, csumFinish(csumPartial(frame, t, tl, pseudoSum(src, dst, IpProto.TCP, tl))));
  return frame;
}
