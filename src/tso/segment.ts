// Software GSO and checksum completion with Linux's exact output. A frame written to a vnet_hdr TAP
// goes through tun_get_user + virtio_net_hdr_to_skb (validation, "is it really GSO?"), and, on an
// egress device without offloads, through skb_gso_segment (inet_gso_segment / ipv6_gso_segment,
// tcp_gso_segment, __udp_gso_segment, udp4_ufo_fragment / udp6_ufo_fragment) or
// skb_checksum_help. This module reproduces those steps over raw bytes. Like the kernel, a
// super-frame's headers are read once: each segment gets a copy of them with the fields that change
// patched through src/wire's views, its IP and L4 checksums by RFC 1624 arithmetic from sums taken
// once, and its payload copied and summed in one kernel call (src/checksum's csum_copy, called
// straight through the SegmentList's bound kernels).
import { csumAdd, csumFold, csumPartial, packetCopy } from '../checksum/index.ts';
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
import {
  EtherType,
  get16,
  Ipv4View,
  Ipv6FragView,
  Ipv6OptHdrView,
  Ipv6View,
  IpProto,
  IPV6_HLEN,
  set16,
  set32,
  TcpFlags,
  TcpView,
  UdpView,
} from '../wire/index.ts';

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
  let type = get16(f, off);
  while (type === EtherType.VLAN || type === EtherType.QINQ) {
    off += 4;
    if (off + 2 > len) fail('DROP_GSO_PROTO_MISMATCH', 'truncated VLAN tag', off);
    type = get16(f, off);
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

const scratch: Layout = { nh: 0, v6: false, th: 0, proto: 0 };

// One set of views for the module: segmentation is synchronous and never re-entered.
const ip4 = new Ipv4View();
const ip6 = new Ipv6View();
const tcp = new TcpView();
const udp = new UdpView();
const frag6 = new Ipv6FragView();
const opt6 = new Ipv6OptHdrView();

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
    out.reset(0, 1, len + 8);
    const s0 = out.stage(frame);
    out.pushAt(s0, len);
    if (w.needsCsum) {
      // skb_checksum_help: sum from csum_start to the end, store folded, 0 sent as 0xFFFF. The
      // field is wherever csum_offset says, not a header field: a plain big-endian store.
      const s = csumPartial(out.data, s0 + h.csumStart, len - h.csumStart);
      set16(out.data, s0 + h.csumStart + h.csumOffset, ~s & 0xffff || 0xffff);
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

/** -w in 16-bit one's complement: adding it takes the word w out of a sum (RFC 1624). */
function neg(w: number): number {
  return ~w & 0xffff;
}

// Why the per-segment checksums below equal a full recomputation, bit for bit: each is the fold of
// a positive integer congruent (mod 0xFFFF) to the real sum, and the fold of a positive integer
// lies in 1..0xFFFF, where that congruence class has one member; the real sums are positive too
// (an IPv4 header has its version byte, a TCP header its data offset, a UDP header its length).

/**
 * The IPv4 header sum of the template at d[nh] without tot_len, id and check (the fields
 * inet_gso_segment rewrites before its ip_send_check), or 0 for IPv6.
 */
function ipBaseSum(d: Uint8Array, nh: number, v6: boolean): number {
  if (v6) return 0;
  const v = ip4.reset(d, nh);
  return csumPartial(d, nh, v.headerLen) + neg(v.totalLength) + neg(v.ident) + neg(v.checksum);
}

// The fields that change per segment are stored with wire/bytes.ts's set16/set32 at the header
// layouts' offsets (RFC 791, RFC 8200, RFC 9293, RFC 768), not through the views' setters: per 64
// KiB TCP frame 8.1–10.6 µs against 13.2–17.0 µs with the views (one process per figure, six each,
// in turn, this VM). Not pinned down why: the byte stores are monomorphic either way (V8's IC
// log); the views re-read their window from a shared object's fields for every field, and V8
// inlines their setters in some compilations of the loop and not in others. The rest of the
// segmenter reads and writes through the views.
const IP4_TOT_LEN = 2;
const IP4_ID = 4;
const IP4_CHECK = 10;
const IP6_PAYLOAD_LEN = 4;
const TCP_SEQ = 4;
const TCP_OFF_FLAGS = 12;
const TCP_CHECK = 16;
const UDP_LEN = 4;
const UDP_CHECK = 6;

/**
 * The IP fields of one segment (header at d[nh], `l3len` bytes from it on):
 * inet_gso_segment (tot_len, id, the header checksum from `ipBase`) or ipv6_gso_segment
 * (payload_len).
 */
function fixIp(d: Uint8Array, nh: number, v6: boolean, l3len: number, id: number, ipBase: number): void {
  if (v6) {
    set16(d, nh + IP6_PAYLOAD_LEN, l3len - IPV6_HLEN);
    return;
  }
  set16(d, nh + IP4_TOT_LEN, l3len);
  set16(d, nh + IP4_ID, id);
  set16(d, nh + IP4_CHECK, ~csumFold(ipBase + l3len + id) & 0xffff);
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
  const check = needsCsum ? get16(f, th + 16) : pseudo(f, l, IpProto.TCP, l4len);
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
  out.reset(n * hl + payload, n, len + 8, hl + mss);
  const d = out.data;
  // The staged frame is the template: its headers are copied to each segment, its payload read.
  const s0 = out.stage(f);
  const nh = l.nh;
  const v6 = l.v6;
  const ipBase = ipBaseSum(d, s0 + nh, v6);
  const id0 = v6 ? 0 : ip4.ident;
  const t0 = tcp.reset(d, s0 + th);
  const seq0 = t0.seq;
  const flags0 = t0.flags;
  const word12 = get16(d, s0 + th + 12);
  // The TCP header sum without seq, the flag word and check: those change per segment.
  const tcpBase =
    csumPartial(d, s0 + th, thlen) + neg(seq0 >>> 16) + neg(seq0 & 0xffff) + neg(word12) + neg(t0.checksum);
  // Segments are written after the staged frame (never over it), inside what reset() reserved.
  const copy = out.copy;
  const csumCopy = out.csumCopy;
  for (let i = 0; i < n; i++) {
    const chunk = i === n - 1 ? payload - i * mss : mss;
    const segLen = hl + chunk;
    const o = out.next;
    copy(o, s0, hl);
    // thlen is even, so the payload's sum has the word alignment it has inside the segment.
    const src = s0 + hl + i * mss;
    const paySum = csumCopy(src, chunk, o + hl - src);
    fixIp(d, o + nh, v6, segLen - nh, (id0 + i) & 0xffff, ipBase);
    let fl = flags0;
    if (i !== n - 1) fl &= ~(TcpFlags.FIN | TcpFlags.PSH);
    if (i !== 0) fl &= ~TcpFlags.CWR;
    const seq = (seq0 + i * mss) >>> 0;
    // The given check value is adjusted by the length change (htonl(~oldlen + newlen)), then the
    // segment is summed with it in place: a wrong input value stays wrong, exactly like Linux.
    const x = ((~l4len >>> 0) + thlen + chunk) >>> 0;
    const adjusted = csumFold(check + (x >>> 16) + (x & 0xffff));
    // The data offset byte and the flags are one word: the flags' changes reach the sum with it.
    const w12 = (word12 & 0xfe00) | fl;
    set32(d, o + th + TCP_SEQ, seq);
    set16(d, o + th + TCP_OFF_FLAGS, w12);
    set16(
      d,
      o + th + TCP_CHECK,
      ~csumFold(tcpBase + (seq >>> 16) + (seq & 0xffff) + w12 + adjusted + paySum) & 0xffff,
    );
    out.push(segLen);
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
  out.reset(n * hl + payload, n, len + 8, hl + mss);
  const d = out.data;
  const s0 = out.stage(f);
  const nh = l.nh;
  const v6 = l.v6;
  const ipBase = ipBaseSum(d, s0 + nh, v6);
  const id0 = v6 ? 0 : ip4.ident;
  const u0 = udp.reset(d, s0 + th);
  // csum16_add(csum16_sub(uh->check, uh->len), newlen): derived from the header's own len field.
  const partial = csumAdd(u0.checksum, neg(u0.length));
  const ports = u0.srcPort + u0.dstPort;
  const copy = out.copy;
  const csumCopy = out.csumCopy;
  for (let i = 0; i < n; i++) {
    const chunk = i === n - 1 ? payload - i * mss : mss;
    const segLen = hl + chunk;
    const o = out.next;
    copy(o, s0, hl);
    const src = s0 + hl + i * mss;
    const paySum = csumCopy(src, chunk, o + hl - src);
    fixIp(d, o + nh, v6, segLen - nh, (id0 + i) & 0xffff, ipBase);
    const ulen = 8 + chunk;
    const adjusted = csumAdd(partial, ulen);
    set16(d, o + th + UDP_LEN, ulen);
    set16(d, o + th + UDP_CHECK, ~csumFold(ports + ulen + adjusted + paySum) & 0xffff || 0xffff);
    out.push(segLen);
  }
  return n;
}

/**
 * The full-datagram UDP checksum UFO computes before fragmenting (udp_v4_check / udp_v6_check),
 * stored in the UDP header at d[uh], the datagram being d[uh, uh + l4len).
 */
function ufoChecksum(d: Uint8Array, uh: number, l4len: number, pseudoSum: number): void {
  const u = udp.reset(d, uh);
  u.checksum = 0;
  u.checksum = ~csumPartial(d, uh, l4len, pseudoSum) & 0xffff || 0xffff;
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
  out.reset(n * th + l4len, n, len + 8, th + mss);
  const d = out.data;
  // The datagram is checksummed before it is split, so that a UDP header split over fragments
  // (gso_size < 8) carries the new checksum, as in Linux.
  const s0 = out.stage(f);
  ufoChecksum(d, s0 + th, l4len, pseudo(f, l, IpProto.UDP, l4len));
  for (let i = 0; i < n; i++) {
    const chunk = i === n - 1 ? l4len - i * mss : mss;
    const o = out.next;
    packetCopy(d, o, s0, th);
    packetCopy(d, o + th, s0 + th + i * mss, chunk);
    const v = ip4.reset(d, o + l.nh);
    // frag_off is overwritten: the fragment offset in 8-byte units, MF on all but the last.
    v.fragWord = (((i * mss) >>> 3) | (i !== n - 1 ? 0x2000 : 0)) & 0xffff;
    v.totalLength = th - l.nh + chunk;
    v.fillChecksum();
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
  const nh = l.nh;
  const mss = h.gsoSize;
  const l4len = len - th;
  if (l4len <= mss) fail('DROP_GSO_TOO_SMALL', `UDP length ${l4len} <= gso_size ${mss}`);
  const { off: unfrag, prev } = firstFragOffset(f, nh, len);
  const hl = th + 8; // headers replicated in each fragment, Fragment header included
  const n = Math.ceil(l4len / mss);
  out.reset(n * hl + l4len, n, len + 8, hl + mss);
  const d = out.data;
  const s0 = out.stage(f);
  ufoChecksum(d, s0 + th, l4len, pseudo(f, l, IpProto.UDP, l4len));
  // ipv6_gso_segment advances the offset by payload_len − 8, i.e. it counts every extension header.
  const step = th - nh - IPV6_HLEN + mss;
  for (let i = 0; i < n; i++) {
    const chunk = i === n - 1 ? l4len - i * mss : mss;
    const o = out.next;
    // The unfragmentable part, the Fragment header, the rest of the headers, then the chunk.
    packetCopy(d, o, s0, unfrag);
    packetCopy(d, o + unfrag + 8, s0 + unfrag, th - unfrag);
    packetCopy(d, o + hl, s0 + th + i * mss, chunk);
    const fh = frag6.reset(d, o + unfrag);
    fh.nextHeader = f[prev]!;
    fh.reserved = 0;
    // frag_off = htons(offset) | MF: the byte offset lands in the field unshifted, as Linux does.
    fh.fragWord = ((i * step) & 0xffff) | (i !== n - 1 ? 1 : 0);
    fh.ident = fragId >>> 0;
    // The header that named the first fragmentable one now names the Fragment header.
    if (prev === nh + 6) ip6.reset(d, o + nh).nextHeader = IpProto.IPV6_FRAGMENT;
    else opt6.reset(d, o + prev).nextHeader = IpProto.IPV6_FRAGMENT;
    ip6.reset(d, o + nh).payloadLength = hl + chunk - nh - IPV6_HLEN;
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
