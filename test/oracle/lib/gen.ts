// Seeded generator of super-frames + virtio-net headers for the kernel oracle and the fixtures:
// every class of the issue (TCPv4/v6 with options and extension headers, USO, UFO, checksum-only,
// VLAN tags, wrap-around ids and sequence numbers, flag combinations, invalid headers).
import { csumPartial } from '../../../src/checksum/index.ts';
import { pseudoSumAt } from '../../../src/wire/index.ts';
import type { GsoHeader } from '../../../src/tso/index.ts';

/** mulberry32: small, fast, good enough to spread cases; the seed replays a run. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface GenCase {
  name: string;
  hdr: GsoHeader;
  frame: Uint8Array;
}

export interface FrameSpec {
  vlans?: number[];
  /** TPID of the outermost tag when there are two (802.1ad QinQ uses 0x88A8). */
  outerTpid?: number;
  v6?: boolean;
  /** IPv4 options (length a multiple of 4, ≤ 40). */
  ipOptions?: Uint8Array;
  /** IPv6 extension headers as [type, total length (multiple of 8)]. */
  ext?: [number, number][];
  proto: 6 | 17 | 1;
  /** TCP options (length a multiple of 4, ≤ 40). */
  tcpOptions?: Uint8Array;
  payload: number;
  id?: number;
  seq?: number;
  flags?: number;
  tos?: number;
  df?: boolean;
  sport?: number;
  dport?: number;
  /** Value of the L4 checksum field; 'pseudo' = the pseudo-header sum with the real L4 length. */
  check?: number | 'pseudo';
  /** UDP length field override (default: the real length). */
  udpLen?: number;
  fill?: number;
}

export interface Built {
  frame: Uint8Array;
  nh: number;
  th: number;
  l4len: number;
  thlen: number;
}

const SRC4 = [10, 99, 0, 1];
const DST4 = [10, 99, 0, 2];
const SRC6 = [0xfd, 0, 0, 0x99, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
const DST6 = [0xfd, 0, 0, 0x99, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];

export function buildFrame(s: FrameSpec, rand: () => number = Math.random): Built {
  const vlans = s.vlans ?? [];
  const l2 = 14 + vlans.length * 4;
  const ipo = s.ipOptions?.length ?? 0;
  const ext = s.ext ?? [];
  const extLen = ext.reduce((a, e) => a + e[1], 0);
  const l3 = s.v6 ? 40 + extLen : 20 + ipo;
  const thlen = s.proto === 6 ? 20 + (s.tcpOptions?.length ?? 0) : 8;
  const nh = l2;
  const th = nh + l3;
  const len = th + thlen + s.payload;
  const f = new Uint8Array(len);
  const v = new DataView(f.buffer);
  f.set([2, 0, 0, 0, 0, 0xbb, 2, 0, 0, 0, 0, 0xaa], 0);
  let o = 12;
  for (const [k, tci] of vlans.entries()) {
    v.setUint16(o, k === 0 && vlans.length > 1 ? (s.outerTpid ?? 0x8100) : 0x8100);
    v.setUint16(o + 2, tci);
    o += 4;
  }
  v.setUint16(o, s.v6 ? 0x86dd : 0x0800);
  const l4len = len - th;
  if (s.v6) {
    v.setUint32(nh, (6 << 28) | ((s.tos ?? 0) << 20) | 0x12345);
    v.setUint16(nh + 4, len - nh - 40);
    f[nh + 6] = ext.length > 0 ? ext[0]![0] : s.proto;
    f[nh + 7] = 64;
    f.set(SRC6, nh + 8);
    f.set(DST6, nh + 24);
    let p = nh + 40;
    ext.forEach(([, elen], i) => {
      f[p] = i + 1 < ext.length ? ext[i + 1]![0] : s.proto;
      f[p + 1] = elen / 8 - 1;
      // PadN option filling the rest (valid for hop-by-hop / destination options).
      f[p + 2] = 1;
      f[p + 3] = elen - 4;
      p += elen;
    });
  } else {
    f[nh] = 0x40 | ((20 + ipo) / 4);
    f[nh + 1] = s.tos ?? 0;
    v.setUint16(nh + 2, len - nh);
    v.setUint16(nh + 4, s.id ?? 1);
    v.setUint16(nh + 6, s.df === false ? 0 : 0x4000);
    f[nh + 8] = 64;
    f[nh + 9] = s.proto;
    f.set(SRC4, nh + 12);
    f.set(DST4, nh + 16);
    if (s.ipOptions) f.set(s.ipOptions, nh + 20);
    v.setUint16(nh + 10, ~csumPartial(f, nh, 20 + ipo) & 0xffff);
  }
  const sport = s.sport ?? 40000;
  const dport = s.dport ?? 5001;
  if (s.proto === 6) {
    v.setUint16(th, sport);
    v.setUint16(th + 2, dport);
    v.setUint32(th + 4, s.seq ?? 1000);
    v.setUint32(th + 8, 0x01020304);
    f[th + 12] = (thlen / 4) << 4;
    f[th + 13] = s.flags ?? 0x10;
    v.setUint16(th + 14, 502);
    if (s.tcpOptions) f.set(s.tcpOptions, th + 20);
  } else if (s.proto === 17) {
    v.setUint16(th, sport);
    v.setUint16(th + 2, dport);
    v.setUint16(th + 4, s.udpLen ?? l4len & 0xffff);
  } else {
    f[th] = 8; // ICMP echo request
  }
  const p0 = th + thlen;
  const fill = s.fill ?? -1;
  if (fill >= 0) f.fill(fill, p0);
  else for (let i = p0; i < len; i++) f[i] = (rand() * 256) | 0;
  const co = s.proto === 6 ? 16 : s.proto === 17 ? 6 : 2;
  const check = s.check ?? 'pseudo';
  v.setUint16(th + co, check === 'pseudo' ? pseudoSum(f, nh, !!s.v6, s.proto, l4len) : check);
  return { frame: f, nh, th, l4len, thlen };
}

/** The pseudo-header sum of the IP header at `nh` (addresses read in place). */
export function pseudoSum(f: Uint8Array, nh: number, v6: boolean, proto: number, l4len: number): number {
  return v6 ? pseudoSumAt(f, nh + 8, 32, proto, l4len) : pseudoSumAt(f, nh + 12, 8, proto, l4len);
}

/** A TCP option block: MSS, SACK-permitted, timestamps, window scale, NOP-padded. */
function tcpOptions(r: () => number): Uint8Array | undefined {
  const k = Math.floor(r() * 5);
  if (k === 0) return undefined;
  if (k === 1) return new Uint8Array([1, 1, 8, 10, 0, 0, 0, 7, 0, 0, 0, 9]);
  if (k === 2) return new Uint8Array([2, 4, 5, 0xb4]);
  if (k === 3) return new Uint8Array([1, 3, 3, 7, 4, 2, 1, 1]);
  const n = 4 * (1 + Math.floor(r() * 10));
  const o = new Uint8Array(n).fill(1);
  o[n - 1] = 0;
  return o;
}

function ipOptions(r: () => number): Uint8Array | undefined {
  if (r() < 0.7) return undefined;
  const n = 4 * (1 + Math.floor(r() * 10));
  const o = new Uint8Array(n).fill(1); // NOPs
  o[n - 1] = 0;
  return o;
}

function extHeaders(r: () => number): [number, number][] {
  const k = Math.floor(r() * 7);
  if (k === 0) return [];
  if (k === 1) return [[0, 8]];
  if (k === 2) return [[0, 16], [60, 8]]; // prettier-ignore
  if (k === 3) return [[43, 24]]; // routing header: walked over, never parsed
  if (k === 4) return [[44, 8]]; // Fragment header: no GSO handler, dropped
  if (k === 5) return [[0, 8], [43, 16], [60, 8]]; // prettier-ignore
  return [[60, 24]];
}

/** Sometimes break the IP length field: GSO takes lengths from the frame, not from it. */
function breakIpLength(r: () => number, b: Built, v6: boolean): void {
  if (r() >= 0.08) return;
  const v = new DataView(b.frame.buffer);
  const at = b.nh + (v6 ? 4 : 2);
  v.setUint16(at, Math.floor(r() * 65536));
  if (!v6) {
    v.setUint16(b.nh + 10, 0);
    v.setUint16(b.nh + 10, ~csumPartial(b.frame, b.nh, b.th - b.nh) & 0xffff);
  }
}

function vlans(r: () => number): number[] {
  const k = r();
  return k < 0.8 ? [] : k < 0.95 ? [100 + Math.floor(r() * 3000)] : [5, 0x2007];
}

/** A log-uniform integer in [lo, hi]. */
function logInt(r: () => number, lo: number, hi: number): number {
  return Math.min(hi, Math.floor(Math.exp(Math.log(lo) + r() * (Math.log(hi + 1) - Math.log(lo)))));
}

const MAX_FRAME = 65535 + 14 - 100;

/** Payload for `n` segments of `mss` (last one partial or full), bounded by the frame limit. */
function payloadFor(r: () => number, mss: number, maxSegs: number, overhead: number): number {
  const room = MAX_FRAME - overhead;
  const segs = 2 + Math.floor(r() * (maxSegs - 1));
  let p = (segs - 1) * mss + 1 + Math.floor(r() * mss);
  if (r() < 0.2) p = segs * mss;
  return Math.max(mss + 1, Math.min(p, room));
}

function hdr(
  flags: number,
  gsoType: number,
  hdrLen: number,
  gsoSize: number,
  csumStart: number,
  csumOffset: number,
): GsoHeader {
  return { flags, gsoType, hdrLen, gsoSize, csumStart, csumOffset };
}

function tcpCase(r: () => number, v6: boolean, i: number): GenCase {
  const mss = r() < 0.1 ? 1 + Math.floor(r() * 8) : logInt(r, 1, 9000);
  const topts = tcpOptions(r);
  const spec: FrameSpec = {
    v6,
    vlans: vlans(r),
    outerTpid: r() < 0.5 ? 0x88a8 : 0x8100,
    proto: 6,
    tcpOptions: topts,
    payload: 0,
    id: r() < 0.3 ? 0xfff0 + Math.floor(r() * 16) : Math.floor(r() * 65536),
    seq: r() < 0.3 ? (0xffffffff - Math.floor(r() * 20000)) >>> 0 : Math.floor(r() * 2 ** 32),
    flags: (Math.floor(r() * 256) & ~0x02) | 0x10,
    tos: Math.floor(r() * 256),
    sport: 10000 + i,
  };
  if (v6) spec.ext = extHeaders(r);
  else spec.ipOptions = ipOptions(r);
  const overhead = 14 + 8 + (v6 ? 40 + 48 : 60) + 60;
  spec.payload = payloadFor(r, mss, mss < 50 ? 40 : 48, overhead);
  const needs = r() < 0.75;
  const kind = r();
  if (!needs) spec.check = Math.floor(r() * 65536);
  else if (kind < 0.15) spec.check = Math.floor(r() * 65536); // docs/SPEC.md §6.4: a non-pseudo value is carried along
  const b = buildFrame(spec, r);
  breakIpLength(r, b, v6);
  const ecn = r() < 0.3 ? 0x80 : 0;
  const type = (v6 ? 4 : 1) | ecn;
  return {
    name: `tcp${v6 ? 6 : 4} mss=${mss} len=${b.frame.length}${needs ? '' : ' no-csum'}${ecn ? ' ecn' : ''}`,
    hdr: hdr(needs ? 1 : 0, type, b.th + b.thlen, mss, needs ? b.th : 0, needs ? 16 : 0),
    frame: b.frame,
  };
}

function usoCase(r: () => number, v6: boolean, i: number): GenCase {
  const mss = logInt(r, 1, 9000);
  const spec: FrameSpec = {
    v6,
    vlans: vlans(r),
    proto: 17,
    payload: 0,
    id: Math.floor(r() * 65536),
    sport: 20000 + i,
  };
  if (v6) spec.ext = extHeaders(r);
  spec.payload = payloadFor(r, mss, mss < 50 ? 40 : 100, 14 + 8 + 90 + 8);
  if (r() < 0.1) spec.udpLen = Math.floor(r() * 65536);
  if (r() < 0.1) spec.check = Math.floor(r() * 65536);
  const b = buildFrame(spec, r);
  breakIpLength(r, b, v6);
  return {
    name: `uso${v6 ? 6 : 4} mss=${mss} len=${b.frame.length}`,
    hdr: hdr(1, 5, b.th + 8, mss, b.th, 6),
    frame: b.frame,
  };
}

function ufoCase(r: () => number, v6: boolean, i: number): GenCase {
  const mss = r() < 0.8 ? 8 * logInt(r, 1, 1100) : logInt(r, 1, 9000);
  const spec: FrameSpec = {
    v6,
    proto: 17,
    payload: 0,
    id: Math.floor(r() * 65536),
    df: r() < 0.5,
    sport: 30000 + i,
    check: Math.floor(r() * 65536),
  };
  if (v6 && r() < 0.3) spec.ext = [[0, 8]];
  spec.payload = Math.max(1, payloadFor(r, mss, mss < 50 ? 30 : 40, 14 + 60 + 8) - 8);
  const b = buildFrame(spec, r);
  const needs = r() < 0.5;
  return {
    name: `ufo${v6 ? 6 : 4} mss=${mss} len=${b.frame.length}${needs ? '' : ' no-csum'}`,
    hdr: hdr(needs ? 1 : 0, 3, b.th + 8, mss, needs ? b.th : 0, needs ? 6 : 0),
    frame: b.frame,
  };
}

function csumOnlyCase(r: () => number, i: number): GenCase {
  const v6 = r() < 0.4;
  const proto = ([6, 17, 1] as const)[Math.floor(r() * 3)]!;
  const spec: FrameSpec = { v6, vlans: vlans(r), proto, payload: Math.floor(r() * 3000), sport: 40000 + i };
  if (r() < 0.2) spec.fill = 0;
  if (v6 && proto === 1) spec.proto = 17;
  const b = buildFrame(spec, r);
  const co = spec.proto === 6 ? 16 : spec.proto === 17 ? 6 : 2;
  let start = b.th;
  // Any start/offset the kernel accepts: odd starts and offsets inside the payload too.
  if (r() < 0.2) start = 20 + Math.floor(r() * (b.frame.length - 22));
  const off = start === b.th ? co : Math.floor(r() * Math.max(1, b.frame.length - start - 2));
  return {
    name: `csum-only start=${start} off=${off} len=${b.frame.length}`,
    hdr: hdr(1, 0, r() < 0.5 ? 0 : b.th, 0, start, off),
    frame: b.frame,
  };
}

/** Valid-looking headers with one field broken, for the EINVAL and silent-drop verdicts. */
function invalidCase(r: () => number, i: number): GenCase {
  const c = r() < 0.5 ? tcpCase(r, r() < 0.3, 50000 + i) : usoCase(r, r() < 0.3, 50000 + i);
  const h = { ...c.hdr };
  let frame = c.frame;
  const k = Math.floor(r() * 20);
  const what = [
    () => (h.gsoSize = 0),
    () => (h.gsoType = [2, 6, 7, 0x10, 0x11, 0x40, 0x20, 0x83][Math.floor(r() * 8)]!),
    () => (h.csumOffset = Math.floor(r() * 40)),
    () => (h.csumStart = Math.floor(r() * 200)),
    () => (h.csumStart = 60000),
    () => (h.hdrLen = frame.length + Math.floor(r() * 5)),
    () => (h.hdrLen = 1 + Math.floor(r() * 13)),
    () => (h.flags = 0),
    () => (h.gsoSize = 0xffff),
    () => (h.gsoType |= 0x80),
    () => (frame = frame.slice(0, Math.floor(r() * 80))),
    () => (h.gsoSize = Math.max(1, Math.floor(frame.length / 200))),
    () => (h.gsoType = h.gsoType === 1 ? 4 : h.gsoType === 4 ? 1 : 3),
    () => (frame[h.csumStart + 12] = (Math.floor(r() * 5) << 4) | (frame[h.csumStart + 12]! & 15)),
    () => (h.gsoSize = frame.length - h.hdrLen + Math.floor(r() * 60) - 30),
    () => (h.gsoSize = Math.max(1, frame.length - h.csumStart - 20 - Math.floor(r() * 40))),
    () => (h.csumStart += 4 * (1 + Math.floor(r() * 3))),
    () => ((frame[12] = 0x08), (frame[13] = 0x06)),
    () => (h.flags = 3),
    () => (h.gsoType = 0),
  ][k]!;
  what();
  h.gsoSize &= 0xffff;
  return { name: `invalid#${k} ${c.name}`, hdr: h, frame };
}

/** `n` cases for `seed`, classes interleaved. */
export function generate(seed: number, n: number): GenCase[] {
  const r = rng(seed);
  const out: GenCase[] = [];
  for (let i = 0; i < n; i++) {
    const k = r();
    if (k < 0.25) out.push(tcpCase(r, false, i));
    else if (k < 0.42) out.push(tcpCase(r, true, i));
    else if (k < 0.52) out.push(usoCase(r, r() < 0.5, i));
    else if (k < 0.6) out.push(ufoCase(r, false, i));
    else if (k < 0.65) out.push(ufoCase(r, true, i));
    else if (k < 0.75) out.push(csumOnlyCase(r, i));
    else out.push(invalidCase(r, i));
  }
  return out;
}

/** The 12-byte virtio_net_hdr_v1 (little-endian) followed by the frame: one TAP write. */
export function tapRecord(h: GsoHeader, frame: Uint8Array): Uint8Array {
  const b = new Uint8Array(12 + frame.length);
  const v = new DataView(b.buffer);
  b[0] = h.flags;
  b[1] = h.gsoType;
  v.setUint16(2, h.hdrLen, true);
  v.setUint16(4, h.gsoSize, true);
  v.setUint16(6, h.csumStart, true);
  v.setUint16(8, h.csumOffset, true);
  b.set(frame, 12);
  return b;
}
