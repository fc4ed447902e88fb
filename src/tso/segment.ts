// Software GSO and checksum completion with Linux's exact output. A frame written to a vnet_hdr TAP
// goes through tun_get_user + virtio_net_hdr_to_skb (validation, "is it really GSO?"), and, on an
// egress device without offloads, through skb_gso_segment (inet_gso_segment / ipv6_gso_segment,
// tcp_gso_segment, __udp_gso_segment, udp4_ufo_fragment / udp6_ufo_fragment) or
// skb_checksum_help. This module reproduces those steps over raw bytes.
import { csumAdd, csumFold, csumPartial, inPacketMemory } from '../checksum/index.ts';
import { TapWriteInfo, tunGetUser, UPSTREAM_TAP_KERNEL, type TapKernelBehaviour } from '../vnethdr/index.ts';
import {
  VIRTIO_NET_HDR_F_NEEDS_CSUM,
  VIRTIO_NET_HDR_GSO_ECN,
  VIRTIO_NET_HDR_GSO_TCPV4,
  VIRTIO_NET_HDR_GSO_TCPV6,
  VIRTIO_NET_HDR_GSO_UDP_L4,
} from '../vnethdr/constants.ts';
import type { GsoHeader } from './constants.ts';
import { TsoError, type TsoErrorCode } from './errors.ts';
import type { SegmentList } from './segment-list.ts';
import { EtherType, IpProto, IPV6_HLEN, TcpFlags } from '../wire/constants.ts';

export interface SegmentOptions {
  /** Size of the virtio-net header on the TAP (10, 12, 20…): hdr_len may exceed the frame by size − 10. */
  vnetHdrSz?: number;
  /** Which TAP write behaviour to reproduce (src/vnethdr); the upstream source's by default. */
  kernel?: TapKernelBehaviour;
  /** Identification of the IPv6 Fragment header inserted by UFO (Linux draws it at random). */
  ipv6FragId?: number;
}

function fail(code: TsoErrorCode, message: string, offset?: number): never {
  throw new TsoError(code, message, offset);
}

function be16(b: Uint8Array, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}

function put16(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 8;
  b[o + 1] = v & 0xff;
}

function be32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

function put32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}

/** 16-bit one's-complement add with end-around carry (csum16_add). */
function add16(a: number, b: number): number {
  const s = a + b;
  return (s & 0xffff) + (s >>> 16);
}

/** Result of the write-time checks: whether the kernel keeps the frame as GSO (SKB_GSO_DODGY). */
export interface WriteVerdict {
  gso: boolean;
  needsCsum: boolean;
}

const verdict: WriteVerdict = { gso: false, needsCsum: false };
const writeInfo = new TapWriteInfo();
const NO_OPTIONS: SegmentOptions = {};

/**
 * The checks tun_get_user, tun_vnet_hdr_get and virtio_net_hdr_to_skb (6.18) make on a TAP write
 * of `frame` (without the virtio-net header), as src/vnethdr models them for `kernel`; throws the
 * EINVAL cases. The result object is reused by the next call.
 */
export function checkTapWrite(
  h: GsoHeader,
  frame: Uint8Array,
  vnetHdrSz = 12,
  kernel: TapKernelBehaviour = UPSTREAM_TAP_KERNEL,
): WriteVerdict {
  const code = tunGetUser(h, frame, 0, frame.length, vnetHdrSz, writeInfo, kernel);
  // tunGetUser() returns only write()-time (EINVAL) codes, all of which TsoErrorCode carries.
  if (code !== null) fail(code as TsoErrorCode, `${code} (write() fails with EINVAL)`, writeInfo.errorOffset);
  verdict.needsCsum = (h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) !== 0;
  verdict.gso = writeInfo.gso;
  return verdict;
}

/** Where the kernel's GSO code finds the headers (skb_network_protocol, ipv6_gso_pull_exthdrs). */
interface Layout {
  /** Network header offset. */
  nh: number;
  v6: boolean;
  /** Transport header offset. */
  th: number;
  proto: number;
}

function dissect(f: Uint8Array, len: number, layout: Layout): void {
  let off = 12;
  let type = be16(f, off);
  while (type === EtherType.VLAN || type === EtherType.QINQ) {
    off += 4;
    if (off + 2 > len) fail('DROP_GSO_PROTO_MISMATCH', 'truncated VLAN tag', off);
    type = be16(f, off);
  }
  const nh = off + 2;
  layout.nh = nh;
  if (type === EtherType.IPV4) {
    layout.v6 = false;
    if (nh + 20 > len) fail('DROP_GSO_BAD_HEADERS', 'truncated IPv4 header', nh);
    const ihl = (f[nh]! & 0x0f) * 4;
    if (ihl < 20 || nh + ihl > len) fail('DROP_GSO_BAD_HEADERS', `IPv4 ihl ${ihl}`, nh);
    layout.th = nh + ihl;
    layout.proto = f[nh + 9]!;
  } else if (type === EtherType.IPV6) {
    layout.v6 = true;
    if (nh + IPV6_HLEN > len) fail('DROP_GSO_BAD_HEADERS', 'truncated IPv6 header', nh);
    let proto = f[nh + 6]!;
    let p = nh + IPV6_HLEN;
    // Hop-by-hop, routing and destination options carry INET6_PROTO_GSO_EXTHDR; a truncated one
    // ends the walk with its own type as "protocol", which has no GSO handler.
    while (proto === IpProto.HOPOPTS || proto === IpProto.IPV6_ROUTING || proto === IpProto.IPV6_DSTOPTS) {
      if (p + 8 > len) break;
      const elen = (f[p + 1]! + 1) * 8;
      if (p + elen > len) break;
      proto = f[p]!;
      p += elen;
    }
    layout.th = p;
    layout.proto = proto;
  } else fail('DROP_GSO_PROTO_MISMATCH', `EtherType 0x${type.toString(16)}`, nh - 2);
}

/** First fragmentable header offset after the IPv6 header (ip6_find_1stfragopt, without HAO). */
function firstFragOffset(f: Uint8Array, nh: number, len: number): { off: number; prev: number } {
  let off = nh + IPV6_HLEN;
  let prev = nh + 6;
  let nexthdr = f[prev]!;
  let foundRouting = false;
  while (off + 8 <= len) {
    if (nexthdr === IpProto.IPV6_ROUTING) foundRouting = true;
    else if (nexthdr === IpProto.IPV6_DSTOPTS) {
      if (foundRouting) break;
    } else if (nexthdr !== IpProto.HOPOPTS) break;
    prev = off;
    nexthdr = f[off]!;
    off += (f[off + 1]! + 1) * 8;
  }
  return { off, prev };
}

/**
 * Turns d = [headers (hl bytes)][data (total bytes)] into n segments of hl + gso bytes, in place and
 * without allocating: each chunk moves to a place at or after where it is, so moving the last one
 * first never overwrites unread data, and the headers are replicated from the first segment's.
 */
function spread(d: Uint8Array, hl: number, total: number, mss: number, n: number): void {
  for (let i = n - 1; i > 0; i--) {
    const from = hl + i * mss;
    const o = i * (hl + mss);
    d.copyWithin(o + hl, from, from + (i === n - 1 ? total - i * mss : mss));
    d.copyWithin(o, 0, hl);
  }
}

const scratch: Layout = { nh: 0, v6: false, th: 0, proto: 0 };

/**
 * Segments (or checksum-completes, or copies) one frame as Linux does after a TAP write, into
 * `out`. Returns the number of frames the kernel puts on the wire. Throws TsoError with verdict
 * 'reject' (write() fails with EINVAL) or 'drop' (accepted, then dropped).
 * @mirrors gso.c:__skb_gso_segment
 */
export function gsoSegment(
  h: GsoHeader,
  frame: Uint8Array,
  out: SegmentList,
  opts: SegmentOptions = NO_OPTIONS,
): number {
  const len = frame.length;
  const w = checkTapWrite(h, frame, opts.vnetHdrSz ?? 12, opts.kernel);
  if (!w.gso) {
    out.reset(len, 1);
    out.data.set(frame, 0);
    out.push(len);
    if (w.needsCsum) {
      // skb_checksum_help: sum from csum_start to the end, store folded, 0 sent as 0xFFFF.
      const s = csumPartial(out.data, h.csumStart, len - h.csumStart);
      put16(out.data, h.csumStart + h.csumOffset, ~s & 0xffff || 0xffff);
    }
    return 1;
  }
  const l = scratch;
  dissect(frame, len, l);
  const base = h.gsoType & ~VIRTIO_NET_HDR_GSO_ECN;
  if (base === VIRTIO_NET_HDR_GSO_TCPV4 || base === VIRTIO_NET_HDR_GSO_TCPV6) {
    if ((base === VIRTIO_NET_HDR_GSO_TCPV6) !== l.v6)
      fail('DROP_GSO_PROTO_MISMATCH', 'IP version does not match gso_type', l.nh);
    if (l.proto !== IpProto.TCP) fail('DROP_GSO_PROTO_MISMATCH', `protocol ${l.proto} for TCP GSO`, l.nh);
    return segmentTcp(h, frame, out, l, w.needsCsum);
  }
  if (l.proto !== IpProto.UDP) fail('DROP_GSO_PROTO_MISMATCH', `protocol ${l.proto} for UDP GSO`, l.nh);
  if (l.th + 8 > len) fail('DROP_GSO_BAD_HEADERS', 'truncated UDP header', l.th);
  if (base === VIRTIO_NET_HDR_GSO_UDP_L4) return segmentUdpL4(h, frame, out, l);
  return l.v6 ? fragmentUdp6(h, frame, out, l, opts.ipv6FragId ?? 0) : fragmentUdp4(h, frame, out, l);
}

/** Pseudo-header partial with the given L4 length (csum_tcpudp_nofold / csum_ipv6_magic, folded). */
function pseudo(f: Uint8Array, l: Layout, proto: number, l4len: number): number {
  const s = l.v6 ? csumPartial(f, l.nh + 8, 32) : csumPartial(f, l.nh + 12, 8);
  return csumFold(s + proto + (l4len >>> 16) + (l4len & 0xffff));
}

/**
 * Writes the per-segment IP fields of segment `i` (header at `o`, total frame length `segLen`):
 * inet_gso_segment (tot_len, id + i, header checksum) or ipv6_gso_segment (payload_len).
 */
function fixIp(d: Uint8Array, o: number, l: Layout, segLen: number, id: number): void {
  const nh = o + l.nh;
  if (l.v6) {
    put16(d, nh + 4, segLen - l.nh - IPV6_HLEN);
    return;
  }
  put16(d, nh + 2, segLen - l.nh);
  put16(d, nh + 4, id & 0xffff);
  put16(d, nh + 10, 0);
  put16(d, nh + 10, ~csumPartial(d, nh, (d[nh]! & 0x0f) * 4) & 0xffff);
}

/**
 * tcp4_gso_segment / tcp6_gso_segment + tcp_gso_segment.
 * @mirrors tcp_offload.c:tcp_gso_segment
 */
function segmentTcp(h: GsoHeader, f: Uint8Array, out: SegmentList, l: Layout, needsCsum: boolean): number {
  const len = f.length;
  const th = l.th;
  if (th + 20 > len) fail('DROP_GSO_BAD_HEADERS', 'truncated TCP header', th);
  const l4len = len - th;
  // Without NEEDS_CSUM the kernel itself first stores the pseudo-header sum (__tcp_v4_send_check).
  const check = needsCsum ? be16(f, th + 16) : pseudo(f, l, IpProto.TCP, l4len);
  const thlen = (f[th + 12]! >>> 4) * 4;
  if (thlen < 20) fail('DROP_GSO_BAD_HEADERS', `TCP doff ${thlen / 4}`, th + 12);
  if (needsCsum && h.csumStart !== th)
    fail('DROP_CSUM_NOT_TRANSPORT', `csum_start ${h.csumStart} != transport ${th}`, h.csumStart);
  if (th + thlen > len) fail('DROP_GSO_BAD_HEADERS', 'truncated TCP options', th);
  const hl = th + thlen;
  const mss = h.gsoSize;
  const payload = len - hl;
  if (payload <= mss) fail('DROP_GSO_TOO_SMALL', `payload ${payload} <= gso_size ${mss}`);
  const n = Math.ceil(payload / mss);
  out.reset(n * hl + payload, n);
  const d = out.data;
  const id0 = l.v6 ? 0 : be16(f, l.nh + 4);
  const seq0 = be32(f, th + 4);
  const flags = f[th + 13]!;
  const fromPm = inPacketMemory(f);
  d.set(f, 0);
  spread(d, hl, payload, mss, n);
  let o = 0;
  for (let i = 0; i < n; i++) {
    const chunk = i === n - 1 ? payload - i * mss : mss;
    const segLen = hl + chunk;
    fixIp(d, o, l, segLen, id0 + i);
    const t = o + th;
    put32(d, t + 4, (seq0 + i * mss) >>> 0);
    let fl = flags;
    if (i !== n - 1) fl &= ~(TcpFlags.FIN | TcpFlags.PSH);
    if (i !== 0) fl &= ~TcpFlags.CWR;
    d[t + 13] = fl;
    // The given check value is adjusted by the length change (htonl(~oldlen + newlen)), then the
    // segment is summed with it in place: a wrong input value stays wrong, exactly like Linux.
    const x = ((~l4len >>> 0) + thlen + chunk) >>> 0;
    put16(d, t + 16, csumFold(check + (x >>> 16) + (x & 0xffff)));
    // A super-frame in packet memory (VALE gathers it there) has its payload summed where it is,
    // by the in-place SIMD kernel (the same bytes; thlen is even, so the word alignment is the
    // same); otherwise the segment is summed in one pass over `d`.
    const s = fromPm
      ? csumAdd(csumPartial(d, t, thlen), csumPartial(f, hl + i * mss, chunk))
      : csumPartial(d, t, thlen + chunk);
    put16(d, t + 16, ~s & 0xffff);
    out.push(segLen);
    o += segLen;
  }
  return n;
}

/**
 * __udp_gso_segment (USO): per-segment UDP length and checksum, IP fields as for TCP.
 * @mirrors ipv4/udp_offload.c:__udp_gso_segment
 */
function segmentUdpL4(h: GsoHeader, f: Uint8Array, out: SegmentList, l: Layout): number {
  const len = f.length;
  const th = l.th;
  const mss = h.gsoSize;
  if (len - th <= 8 + mss) fail('DROP_GSO_TOO_SMALL', `UDP length ${len - th} <= 8 + gso_size ${mss}`);
  if (h.csumStart !== th)
    fail('DROP_CSUM_NOT_TRANSPORT', `csum_start ${h.csumStart} != transport ${th}`, h.csumStart);
  const hl = th + 8;
  const payload = len - hl;
  const n = Math.ceil(payload / mss);
  out.reset(n * hl + payload, n);
  const d = out.data;
  const id0 = l.v6 ? 0 : be16(f, l.nh + 4);
  // csum16_add(csum16_sub(uh->check, uh->len), newlen): derived from the header's own len field.
  const partial = add16(be16(f, th + 6), ~be16(f, th + 4) & 0xffff);
  d.set(f, 0);
  spread(d, hl, payload, mss, n);
  let o = 0;
  for (let i = 0; i < n; i++) {
    const chunk = i === n - 1 ? payload - i * mss : mss;
    const segLen = hl + chunk;
    fixIp(d, o, l, segLen, id0 + i);
    const t = o + th;
    put16(d, t + 4, 8 + chunk);
    put16(d, t + 6, add16(partial, 8 + chunk));
    put16(d, t + 6, ~csumPartial(d, t, 8 + chunk) & 0xffff || 0xffff);
    out.push(segLen);
    o += segLen;
  }
  return n;
}

/** The full-datagram UDP checksum UFO computes before fragmenting (udp_v4_check / udp_v6_check). */
function ufoChecksum(d: Uint8Array, l: Layout, th: number, l4len: number, pseudoBase: Uint8Array): number {
  put16(d, th + 6, 0);
  const s = csumPartial(d, th, l4len, pseudo(pseudoBase, l, IpProto.UDP, l4len));
  return ~s & 0xffff || 0xffff;
}

/**
 * udp4_ufo_fragment + inet_gso_segment's udpfrag branch: IPv4 fragments of the whole datagram.
 * @mirrors ipv4/udp_offload.c:udp4_ufo_fragment
 */
function fragmentUdp4(h: GsoHeader, f: Uint8Array, out: SegmentList, l: Layout): number {
  const len = f.length;
  const th = l.th;
  const mss = h.gsoSize;
  const l4len = len - th;
  if (l4len <= mss) fail('DROP_GSO_TOO_SMALL', `UDP length ${l4len} <= gso_size ${mss}`);
  const n = Math.ceil(l4len / mss);
  out.reset(n * th + l4len, n);
  const d = out.data;
  // Checksum the datagram in place before spreading it, so that a UDP header split over
  // fragments (gso_size < 8) carries the new checksum, as in Linux.
  d.set(f, 0);
  put16(d, th + 6, ufoChecksum(d, l, th, l4len, f));
  spread(d, th, l4len, mss, n);
  for (let i = 0; i < n; i++) {
    const chunk = i === n - 1 ? l4len - i * mss : mss;
    const o = i * (th + mss);
    const nh = o + l.nh;
    // frag_off is overwritten: the fragment offset in 8-byte units, MF on all but the last.
    put16(d, nh + 6, (((i * mss) >>> 3) | (i !== n - 1 ? 0x2000 : 0)) & 0xffff);
    put16(d, nh + 2, th - l.nh + chunk);
    put16(d, nh + 10, 0);
    put16(d, nh + 10, ~csumPartial(d, nh, (d[nh]! & 0x0f) * 4) & 0xffff);
    out.push(th + chunk);
  }
  return n;
}

/**
 * udp6_ufo_fragment + ipv6_gso_segment's udpfrag branch: a Fragment header after the unfragmentable part.
 * @mirrors ipv6/udp_offload.c:udp6_ufo_fragment
 */
function fragmentUdp6(h: GsoHeader, f: Uint8Array, out: SegmentList, l: Layout, fragId: number): number {
  const len = f.length;
  const th = l.th;
  const mss = h.gsoSize;
  const l4len = len - th;
  if (l4len <= mss) fail('DROP_GSO_TOO_SMALL', `UDP length ${l4len} <= gso_size ${mss}`);
  const { off: unfrag, prev } = firstFragOffset(f, l.nh, len);
  const hl = th + 8; // headers replicated in each fragment, Fragment header included
  const n = Math.ceil(l4len / mss);
  out.reset(n * hl + l4len, n);
  const d = out.data;
  // The unfragmentable part, the Fragment header, then the rest of the frame; as for IPv4 the
  // datagram is checksummed in place before it is spread.
  d.set(f.subarray(0, unfrag), 0);
  d.set(f.subarray(unfrag, len), unfrag + 8);
  put16(d, hl + 6, ufoChecksum(d, l, hl, l4len, f));
  d[unfrag] = f[prev]!;
  d[unfrag + 1] = 0;
  put32(d, unfrag + 4, fragId >>> 0);
  d[prev] = IpProto.IPV6_FRAGMENT;
  // ipv6_gso_segment advances the offset by payload_len − 8, i.e. it counts every extension header.
  const step = th - l.nh - IPV6_HLEN + mss;
  spread(d, hl, l4len, mss, n);
  for (let i = 0; i < n; i++) {
    const chunk = i === n - 1 ? l4len - i * mss : mss;
    const o = i * (hl + mss);
    put16(d, o + l.nh + 4, hl + chunk - l.nh - IPV6_HLEN);
    // frag_off = htons(offset) | MF: the byte offset lands in the field unshifted, as Linux does.
    put16(d, o + unfrag + 2, ((i * step) & 0xffff) | (i !== n - 1 ? 1 : 0));
    out.push(hl + chunk);
  }
  return n;
}

/**
 * gsoSegment for datapath loops: never throws on bad input; returns null with the frames in `out`,
 * or the code of the kernel verdict (out then holds nothing) for the caller's drop counter.
 */
export function trySegment(
  h: GsoHeader,
  frame: Uint8Array,
  out: SegmentList,
  opts: SegmentOptions = NO_OPTIONS,
): TsoErrorCode | null {
  try {
    gsoSegment(h, frame, out, opts);
    return null;
  } catch (e) {
    if (!(e instanceof TsoError)) throw e;
    out.count = 0;
    return e.code;
  }
}
