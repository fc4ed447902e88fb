// What Linux does with a virtio_net_hdr written by userspace into a TAP (IFF_VNET_HDR), check by
// check and in order, so our host and tests can predict write() results and silent drops:
//   1. tun_vnet_hdr_get():       write length, hdr_len raised to cover the checksum, hdr_len fit
//   2. tun_get_user() (IFF_TAP): Ethernet-sized frame and hdr_len
//   3. virtio_net_hdr_tnl_to_skb() / __virtio_net_hdr_to_skb(): gso type and size, partial
//      checksum bounds, per-type rules, "too small to be GSO"; for GSO without NEEDS_CSUM, what a
//      kernel checks depends on the build (kernel-behaviour.ts: upstream, or a flow-dissector probe)
//   4. software GSO at egress (skb_mac_gso_segment → inet/ipv6_gso_segment → tcp/udp handlers),
//      where SKB_GSO_DODGY frames are re-checked and dropped without telling the writer.
// Steps 1–3 fail the write() with EINVAL; step 4 is the "accepted then dropped" class.
import {
  GSO_BY_FRAGS,
  UDP_MAX_SEGMENTS,
  VIRTIO_NET_HDR_F_NEEDS_CSUM,
  VIRTIO_NET_HDR_GSO_ECN,
  VIRTIO_NET_HDR_GSO_NONE,
  VIRTIO_NET_HDR_GSO_TCPV4,
  VIRTIO_NET_HDR_GSO_TCPV6,
  VIRTIO_NET_HDR_GSO_UDP,
  VIRTIO_NET_HDR_GSO_UDP_L4,
  VIRTIO_NET_HDR_GSO_UDP_TUNNEL_IPV4,
  VIRTIO_NET_HDR_GSO_UDP_TUNNEL_IPV6,
  VNET_HDR_LEN,
  VNET_OFF_CSUM_OFFSET,
  VNET_OFF_CSUM_START,
  VNET_OFF_GSO_SIZE,
  VNET_OFF_GSO_TYPE,
  VNET_OFF_HDR_LEN,
} from './constants.ts';
import type { TapVerdict, VnetHdrErrorCode } from './errors.ts';
import { FlowKeysBasic, flowDissectBasic } from './flow-dissect.ts';
import { UPSTREAM_TAP_KERNEL, type TapKernelBehaviour } from './kernel-behaviour.ts';
import { decodeVnetHdr, VnetHdr } from './vnet-hdr.ts';
import {
  ETH_HLEN,
  EtherType,
  get16,
  IPV4_MIN_HLEN,
  IPV6_HLEN,
  IpProto,
  TCP_MIN_HLEN,
  UDP_HLEN,
} from '../wire/index.ts';

/** sizeof(struct virtio_net_hdr_v1_hash_tunnel): TUN_VNET_TNL_SIZE. */
const VNET_HDR_TUNNEL_LEN = 24;

/** The virtio_net_hdr fields the write path reads (a decoded VnetHdr, or src/tso's GsoHeader). */
export type VnetHdrFields = Pick<
  VnetHdr,
  'flags' | 'gsoType' | 'hdrLen' | 'gsoSize' | 'csumStart' | 'csumOffset'
>;

/** What __virtio_net_hdr_to_skb() decided, for the caller (and the segmentation model). */
export class SkbState {
  /** The frame stays a GSO super-frame (payload beyond nh_off exceeds gso_size). */
  gso = false;
  /** gso_type without the ECN bit, or 0. */
  gsoBase = 0;
  /** NEEDS_CSUM: skb_partial_csum_set() accepted csum_start/csum_offset. */
  partial = false;
  /** Where the fault lies: header field offset for header checks, frame offset for frame checks. */
  errorOffset = 0;

  clear(): void {
    this.gso = false;
    this.gsoBase = 0;
    this.partial = false;
    this.errorOffset = 0;
  }
}

function fail(st: SkbState, code: VnetHdrErrorCode, at: number): VnetHdrErrorCode {
  st.errorOffset = at;
  return code;
}

/**
 * Linux __virtio_net_hdr_to_skb() for the frame buf[off, off + frameLen), as tun_get_user() calls
 * it. What a GSO frame without NEEDS_CSUM goes through depends on the kernel (see
 * TapKernelBehaviour): upstream checks only the IP + L4 minimum length from the frame start (a
 * wrong EtherType is caught later, at segmentation); a probing kernel dissects the frame. Tunnel
 * GSO types are refused as virtio_net_hdr_tnl_to_skb() does without the 24-byte tunnel header.
 * @mirrors linux/virtio_net.h:__virtio_net_hdr_to_skb
 */
export function virtioNetHdrToSkb(
  h: VnetHdrFields,
  buf: Uint8Array,
  off: number,
  frameLen: number,
  st: SkbState,
  kernel: TapKernelBehaviour = UPSTREAM_TAP_KERNEL,
): VnetHdrErrorCode | null {
  st.clear();
  const type = h.gsoType;
  if ((type & (VIRTIO_NET_HDR_GSO_UDP_TUNNEL_IPV4 | VIRTIO_NET_HDR_GSO_UDP_TUNNEL_IPV6)) !== 0) {
    return fail(st, 'BAD_GSO_TYPE', VNET_OFF_GSO_TYPE);
  }
  let nhMinLen = IPV4_MIN_HLEN;
  let thlen = 0;
  const base = type & ~VIRTIO_NET_HDR_GSO_ECN;
  if (type !== VIRTIO_NET_HDR_GSO_NONE) {
    switch (base) {
      case VIRTIO_NET_HDR_GSO_TCPV4:
        thlen = TCP_MIN_HLEN;
        break;
      case VIRTIO_NET_HDR_GSO_TCPV6:
        thlen = TCP_MIN_HLEN;
        nhMinLen = IPV6_HLEN;
        break;
      case VIRTIO_NET_HDR_GSO_UDP:
      case VIRTIO_NET_HDR_GSO_UDP_L4:
        thlen = UDP_HLEN;
        break;
      default:
        return fail(st, 'BAD_GSO_TYPE', VNET_OFF_GSO_TYPE);
    }
    if (h.gsoSize === 0) return fail(st, 'GSO_SIZE_ZERO', VNET_OFF_GSO_SIZE);
    st.gsoBase = base;
  }
  let pOff = 0;
  const needsCsum = (h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) !== 0;
  if (needsCsum) {
    const start = h.csumStart;
    const off = h.csumOffset;
    // pskb_may_pull(start + max(thlen, off + 2)), then skb_partial_csum_set's csum_end check.
    const needed = start + Math.max(thlen, off + 2);
    if (needed > frameLen) return fail(st, 'CSUM_BEYOND_FRAME', VNET_OFF_CSUM_START);
    // csum_start is measured from the Ethernet header, so this bound is weak (20 passes).
    if (start < nhMinLen) return fail(st, 'CSUM_START_TOO_SMALL', VNET_OFF_CSUM_START);
    st.partial = true;
    pOff = start + thlen;
  } else if (type !== VIRTIO_NET_HDR_GSO_NONE) {
    if (kernel.probeNoCsumGso) {
      const e = probeNoCsumGso(buf, off, frameLen, type, st);
      if (e !== null) return e;
      pOff = keys.thoff + thlen;
      // pskb_may_pull(skb, p_off) and keys.basic.ip_proto == the gso_type's protocol
      if (pOff > frameLen) return fail(st, 'GSO_HEADERS_TRUNCATED', frameLen);
      const want = thlen === TCP_MIN_HLEN ? IpProto.TCP : IpProto.UDP;
      if (keys.ipProto !== want) return fail(st, 'GSO_L4_MISMATCH', keys.thoff);
    } else {
      pOff = nhMinLen + thlen;
      if (pOff > frameLen) return fail(st, 'GSO_HEADERS_TRUNCATED', frameLen);
    }
  }
  if (type !== VIRTIO_NET_HDR_GSO_NONE) {
    let nhOff = pOff;
    switch (base) {
      case VIRTIO_NET_HDR_GSO_UDP:
        nhOff -= thlen; // UFO may not include the transport header in gso_size
        break;
      case VIRTIO_NET_HDR_GSO_UDP_L4:
        if (!needsCsum) return fail(st, 'USO_WITHOUT_CSUM', 0);
        if (h.csumOffset !== 6) return fail(st, 'USO_BAD_CSUM_OFFSET', VNET_OFF_CSUM_OFFSET);
        if (frameLen - pOff > h.gsoSize * UDP_MAX_SEGMENTS) {
          return fail(st, 'USO_TOO_MANY_SEGMENTS', VNET_OFF_GSO_SIZE);
        }
        if (type !== base) return fail(st, 'USO_ECN', VNET_OFF_GSO_TYPE);
        break;
      default:
        if (needsCsum && h.csumOffset !== 16) return fail(st, 'TCP_BAD_CSUM_OFFSET', VNET_OFF_CSUM_OFFSET);
    }
    if (h.gsoSize === GSO_BY_FRAGS) return fail(st, 'GSO_BY_FRAGS', VNET_OFF_GSO_SIZE);
    // "Too small packets are not really GSO ones": delivered as one ordinary frame.
    st.gso = frameLen - nhOff > h.gsoSize;
  }
  return null;
}

const keys = new FlowKeysBasic();

/**
 * virtio_net_hdr_match_proto(): the EtherType a gso_type may carry.
 * @mirrors linux/virtio_net.h:virtio_net_hdr_match_proto
 */
function matchProto(proto: number, base: number): boolean {
  switch (base) {
    case VIRTIO_NET_HDR_GSO_TCPV4:
      return proto === EtherType.IPV4;
    case VIRTIO_NET_HDR_GSO_TCPV6:
      return proto === EtherType.IPV6;
    default:
      return proto === EtherType.IPV4 || proto === EtherType.IPV6;
  }
}

/**
 * The probe of a probing kernel's no-NEEDS_CSUM GSO branch: the protocol (the EtherType after any
 * VLAN tags, measured) must match gso_type; 0 is replaced as virtio_net_hdr_set_proto() does;
 * then skb_flow_dissect_flow_keys_basic() from the network header, retried as IPv6 for UFO,
 * which "does not specify ipv4 or 6". Leaves the dissection in `keys`.
 */
function probeNoCsumGso(
  buf: Uint8Array,
  off: number,
  frameLen: number,
  type: number,
  st: SkbState,
): VnetHdrErrorCode | null {
  const base = type & ~VIRTIO_NET_HDR_GSO_ECN;
  let nh = ETH_HLEN;
  if (frameLen < nh) return fail(st, 'GSO_NO_TRANSPORT', frameLen);
  let proto = get16(buf, off + nh - 2);
  while (proto === EtherType.VLAN || proto === EtherType.QINQ) {
    if (nh + 4 > frameLen) return fail(st, 'GSO_NO_TRANSPORT', frameLen);
    proto = get16(buf, off + nh + 2);
    nh += 4;
  }
  if (proto === 0) {
    // dev_parse_header_protocol() found none: virtio_net_hdr_set_proto() (UDP_L4 sets nothing).
    if (base === VIRTIO_NET_HDR_GSO_TCPV6) proto = EtherType.IPV6;
    else if (base !== VIRTIO_NET_HDR_GSO_UDP_L4) proto = EtherType.IPV4;
  } else if (!matchProto(proto, base)) {
    return fail(st, 'GSO_PROTO_MISMATCH', nh - 2);
  }
  flowDissectBasic(buf, off, frameLen, proto, nh, keys);
  if (!keys.ok && base === VIRTIO_NET_HDR_GSO_UDP && proto === EtherType.IPV4) {
    flowDissectBasic(buf, off, frameLen, EtherType.IPV6, nh, keys);
  }
  if (!keys.ok) return fail(st, 'GSO_NO_TRANSPORT', nh);
  return null;
}

/**
 * The checks software GSO makes on a DODGY super-frame at egress (skb_network_protocol,
 * inet_gso_segment / ipv6_gso_segment + ipv6_gso_pull_exthdrs, tcp4/6_gso_segment +
 * tcp_gso_segment, udp4/6_ufo_fragment + __udp_gso_segment). buf[off, off+frameLen) is the frame.
 * Only meaningful after virtioNetHdrToSkb() returned null with st.gso set.
 */
export function gsoSegmentCheck(
  buf: Uint8Array,
  off: number,
  frameLen: number,
  h: VnetHdrFields,
  st: SkbState,
): VnetHdrErrorCode | null {
  const end = off + frameLen;
  // skb_network_protocol(): walk 802.1Q / 802.1ad tags.
  let p = off + 12;
  let proto = get16(buf, p);
  while (proto === EtherType.VLAN || proto === EtherType.QINQ) {
    if (p + 4 + 2 > end) return fail(st, 'DROP_GSO_BAD_HEADERS', end - off);
    p += 4;
    proto = get16(buf, p);
  }
  const l3 = p + 2;
  let l4: number;
  let ipProto: number;
  let v6: boolean;
  if (proto === EtherType.IPV4) {
    v6 = false;
    if (l3 + IPV4_MIN_HLEN > end) return fail(st, 'DROP_GSO_BAD_HEADERS', end - off);
    const ihl = (buf[l3]! & 0x0f) * 4; // inet_gso_segment reads IHL, not the version
    if (ihl < IPV4_MIN_HLEN || l3 + ihl > end) return fail(st, 'DROP_GSO_BAD_HEADERS', l3 - off);
    ipProto = buf[l3 + 9]!;
    l4 = l3 + ihl;
  } else if (proto === EtherType.IPV6) {
    v6 = true;
    if (l3 + IPV6_HLEN > end) return fail(st, 'DROP_GSO_BAD_HEADERS', end - off);
    ipProto = buf[l3 + 6]!;
    l4 = l3 + IPV6_HLEN;
    // Only hop-by-hop, routing and destination options are pulled (INET6_PROTO_GSO_EXTHDR).
    while (
      ipProto === IpProto.HOPOPTS ||
      ipProto === IpProto.IPV6_ROUTING ||
      ipProto === IpProto.IPV6_DSTOPTS
    ) {
      if (l4 + 8 > end) break;
      const len = (buf[l4 + 1]! + 1) * 8;
      if (l4 + len > end) break;
      ipProto = buf[l4]!;
      l4 += len;
    }
  } else {
    return fail(st, 'DROP_GSO_PROTO_MISMATCH', 12); // no GSO handler for this EtherType
  }
  const base = st.gsoBase;
  const l4Len = end - l4;
  if (ipProto === IpProto.TCP) {
    // tcp4_gso_segment / tcp6_gso_segment insist on their own gso type.
    if (base !== (v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4)) {
      return fail(st, 'DROP_GSO_PROTO_MISMATCH', l3 - off);
    }
    if (l4Len < TCP_MIN_HLEN) return fail(st, 'DROP_GSO_BAD_HEADERS', l4 - off);
    const thlen = (buf[l4 + 12]! >> 4) * 4;
    if (thlen < TCP_MIN_HLEN) return fail(st, 'DROP_GSO_BAD_HEADERS', l4 + 12 - off);
    // Without NEEDS_CSUM the kernel set the checksum start to the transport header itself.
    if (st.partial && h.csumStart !== l4 - off) return fail(st, 'DROP_CSUM_NOT_TRANSPORT', h.csumStart);
    if (thlen > l4Len) return fail(st, 'DROP_GSO_BAD_HEADERS', end - off);
    if (l4Len - thlen <= h.gsoSize) return fail(st, 'DROP_GSO_TOO_SMALL', l4 + thlen - off);
    return null;
  }
  if (ipProto === IpProto.UDP) {
    if (base !== VIRTIO_NET_HDR_GSO_UDP && base !== VIRTIO_NET_HDR_GSO_UDP_L4) {
      return fail(st, 'DROP_GSO_PROTO_MISMATCH', l3 - off);
    }
    if (l4Len < UDP_HLEN) return fail(st, 'DROP_GSO_BAD_HEADERS', l4 - off);
    if (base === VIRTIO_NET_HDR_GSO_UDP_L4) {
      if (l4Len <= UDP_HLEN + h.gsoSize) return fail(st, 'DROP_GSO_TOO_SMALL', l4 + UDP_HLEN - off);
      if (h.csumStart !== l4 - off) return fail(st, 'DROP_CSUM_NOT_TRANSPORT', h.csumStart);
      return null;
    }
    // UFO computes the UDP checksum itself: only the size matters.
    if (l4Len <= h.gsoSize) return fail(st, 'DROP_GSO_TOO_SMALL', l4 - off);
    return null;
  }
  return fail(st, 'DROP_GSO_PROTO_MISMATCH', l3 - off);
}

/** Extra results of validateTapWrite(). */
export class TapWriteInfo {
  /** hdr_len after tun_vnet_hdr_get() raised it to cover the checksum (u16, as the kernel keeps it). */
  hdrLen = 0;
  /** Linux keeps the frame a GSO super-frame (it is segmented at egress). */
  gso = false;
  /** Where the failing check looked: a header field offset, or a frame offset for frame checks. */
  errorOffset = 0;
  readonly hdr = new VnetHdr();
  readonly skb = new SkbState();
}

const scratch = new TapWriteInfo();

/**
 * What Linux does with one write() of `len` bytes at buf[off] into a TAP with IFF_VNET_HDR and
 * TUNSETVNETHDRSZ = vnetHdrSz (10..23; from 24 Linux parses the tunnel header, not modelled): null
 * when the frame is accepted and goes out, a code whose tapVerdict() is 'einval' when write()
 * fails, or 'dropped' when write() succeeds and the frame is dropped at segmentation. `kernel`
 * says which TAP behaviour to model (upstream by default). Never throws on hostile input.
 */
export function validateTapWrite(
  buf: Uint8Array,
  off: number,
  len: number,
  vnetHdrSz = 12,
  info: TapWriteInfo = scratch,
  kernel: TapKernelBehaviour = UPSTREAM_TAP_KERNEL,
): VnetHdrErrorCode | null {
  info.hdrLen = 0;
  info.gso = false;
  info.errorOffset = 0;
  // From 24 bytes (virtio_net_hdr_v1_hash_tunnel) Linux parses tunnel GSO, which is not modelled.
  if (!Number.isInteger(vnetHdrSz) || vnetHdrSz < VNET_HDR_LEN || vnetHdrSz >= VNET_HDR_TUNNEL_LEN) {
    return 'BAD_HDR_SIZE';
  }
  if (!Number.isInteger(off) || !Number.isInteger(len) || off < 0 || len < 0 || off + len > buf.length) {
    return 'TRUNCATED';
  }
  // tun_vnet_hdr_get()
  if (len < vnetHdrSz) {
    info.errorOffset = len;
    return 'SHORT_WRITE';
  }
  const h = info.hdr;
  decodeVnetHdr(buf, off, VNET_HDR_LEN, h);
  h.numBuffers = 0;
  const frameLen = len - vnetHdrSz;
  const e = tunGetUser(h, buf, off + vnetHdrSz, frameLen, vnetHdrSz, info, kernel);
  if (e !== null || !info.gso) return e;
  const d = gsoSegmentCheck(buf, off + vnetHdrSz, frameLen, h, info.skb);
  info.errorOffset = info.skb.errorOffset;
  return d;
}

/**
 * The EINVAL checks of one TAP write for a header already read: the hdr_len rules of
 * tun_vnet_hdr_get(), tun_get_user()'s IFF_TAP length checks and virtio_net_hdr_to_skb() on the
 * frame buf[frameOff, frameOff + frameLen). Sets info.hdrLen, info.gso and info.errorOffset.
 * @mirrors tun_vnet.h:tun_vnet_hdr_get
 * @mirrors tun.c:tun_get_user
 */
export function tunGetUser(
  h: VnetHdrFields,
  buf: Uint8Array,
  frameOff: number,
  frameLen: number,
  vnetHdrSz: number,
  info: TapWriteInfo,
  kernel: TapKernelBehaviour = UPSTREAM_TAP_KERNEL,
): VnetHdrErrorCode | null {
  info.gso = false;
  info.errorOffset = 0;
  let hdrLen = h.hdrLen;
  let raised = false;
  if ((h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) !== 0) {
    const c = h.csumStart + h.csumOffset + 2;
    // max() in int, stored back into a u16: a sum past 65535 wraps and may slip through here.
    if (c > hdrLen) {
      hdrLen = c & 0xffff;
      raised = true;
    }
  }
  info.hdrLen = hdrLen;
  // Checked against what is left after the 10 legacy bytes, before the rest of the header is
  // skipped: with a 12-byte header, hdr_len may exceed the frame by 2 (measured on 6.18).
  if (hdrLen > frameLen + vnetHdrSz - VNET_HDR_LEN) {
    info.errorOffset = raised ? VNET_OFF_CSUM_START : VNET_OFF_HDR_LEN;
    return raised ? 'CSUM_BEYOND_FRAME' : 'HDR_LEN_BEYOND_FRAME';
  }
  // tun_get_user(), IFF_TAP
  if (frameLen < ETH_HLEN) {
    info.errorOffset = frameLen;
    return 'FRAME_TOO_SHORT';
  }
  if (hdrLen !== 0 && hdrLen < ETH_HLEN) {
    info.errorOffset = VNET_OFF_HDR_LEN;
    return 'HDR_LEN_TOO_SHORT';
  }
  const st = info.skb;
  const e = virtioNetHdrToSkb(h, buf, frameOff, frameLen, st, kernel);
  info.errorOffset = st.errorOffset;
  if (e !== null) return e;
  info.gso = st.gso;
  return null;
}

/** How write() ends for a validateTapWrite() result. */
export function tapVerdict(code: VnetHdrErrorCode | null): TapVerdict {
  if (code === null) return 'accepted';
  return code.startsWith('DROP_') ? 'dropped' : 'einval';
}
