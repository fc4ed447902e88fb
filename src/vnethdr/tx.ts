// Building the header a transmitted frame carries, from its PacketMeta and its own headers, the
// way FreeBSD's virtio_net_tx_offload() does: parse L2 (+VLAN tags) / L3 (+IPv6 extension
// headers) / L4, put csum_start at the real L4 offset and hdr_len at the exact end of the L4
// header. Linux's ptnet_start_xmit() sends skb_headlen() as hdr_len instead; the exact value is
// what VIRTIO_NET_F_GUEST_HDRLEN promises and what a segmenting host can rely on.
import {
  META_F_NEEDS_CSUM,
  META_GSO_ECN,
  META_GSO_NONE,
  META_GSO_TCPV4,
  META_GSO_TCPV6,
  META_GSO_UDP,
  META_GSO_UDP_L4,
  type Mbuf,
  type PacketMeta,
} from '../mbuf/index.ts';
import {
  get16,
  Ipv4View,
  Ipv6ExtWalk,
  Ipv6View,
  TcpView,
  isVlanTpid,
  setLe16,
  walkIpv6Ext,
} from '../wire/index.ts';
import {
  UDP_MAX_SEGMENTS,
  VIRTIO_NET_HDR_F_NEEDS_CSUM,
  VIRTIO_NET_HDR_GSO_ECN,
  VIRTIO_NET_HDR_GSO_NONE,
  VNET_HDR_LEN,
  VNET_HDR_MRG_LEN,
  VNET_OFF_CSUM_OFFSET,
  VNET_OFF_CSUM_START,
  VNET_OFF_FLAGS,
  VNET_OFF_GSO_SIZE,
  VNET_OFF_GSO_TYPE,
  VNET_OFF_HDR_LEN,
  VNET_OFF_NUM_BUFFERS,
} from './constants.ts';
import type { VnetHdrErrorCode } from './errors.ts';
import type { VnetHdr } from './vnet-hdr.ts';
import { ETH_HLEN, IPV6_HLEN, IpProto, TcpFlags, UDP_HLEN } from '../wire/constants.ts';

/** Bytes made contiguous before parsing an mbuf: any Ethernet + IP + TCP header stack we emit. */
const TX_PULLUP = 256;
/** The fixed part of a TCP header. */
const TCP_MIN_HLEN = 20;

// One set of views for the module: header building is synchronous and never re-entered.
const v4 = new Ipv4View();
const v6 = new Ipv6View();
const ext = new Ipv6ExtWalk();
const tcp = new TcpView();

export interface TxHdrOptions {
  /** Allow TSO of a segment carrying CWR by setting the ECN gso bit (FreeBSD allow_ecn). */
  allowEcn?: boolean;
}

/**
 * Fills out for the frame whose first headLen bytes (at least its headers) are buf[off...] and
 * whose total length is frameLen. A meta without NEEDS_CSUM or GSO gives an all-zero header.
 * Returns a TX_* code (the driver drops and counts the frame, like FreeBSD) or null.
 * @mirrors freebsd/virtio_net.h:virtio_net_tx_offload
 */
export function buildTxHdr(
  meta: PacketMeta,
  buf: Uint8Array,
  off: number,
  headLen: number,
  frameLen: number,
  out: VnetHdr,
  opts?: TxHdrOptions,
): VnetHdrErrorCode | null {
  out.clear();
  const gso = meta.gsoType & ~META_GSO_ECN;
  if ((meta.flags & META_F_NEEDS_CSUM) === 0 && gso === META_GSO_NONE) return null;
  if (off < 0 || headLen < 0 || off + headLen > buf.length || headLen > frameLen) return 'TX_UNPARSABLE';
  const end = off + headLen;
  if (headLen < ETH_HLEN) return 'TX_UNPARSABLE';
  // L2: Ethernet and any 802.1Q / 802.1ad tags.
  let t = off + 12;
  let type = get16(buf, t);
  while (isVlanTpid(type)) {
    if (t + 6 > end) return 'TX_UNPARSABLE';
    t += 4;
    type = get16(buf, t);
  }
  const l3 = t + 2;
  let l4: number;
  let proto: number;
  let isV6: boolean;
  if (type === 0x0800) {
    if (v4.reset(buf, l3, end - l3).checkHeader() !== null) return 'TX_UNPARSABLE';
    isV6 = false;
    l4 = l3 + v4.headerLen;
    proto = v4.protocol;
    if (v4.fragOffset !== 0) return 'TX_NO_L4';
  } else if (type === 0x86dd) {
    if (v6.reset(buf, l3, end - l3).checkHeader() !== null) return 'TX_UNPARSABLE';
    // ip6_lasthdr(): skip extension headers to the upper-layer header.
    if (walkIpv6Ext(buf, l3 + IPV6_HLEN, end, buf[l3 + 6]!, l3 + 6, ext) !== null) return 'TX_UNPARSABLE';
    if (ext.isFragment && ext.fragOffset !== 0) return 'TX_NO_L4';
    isV6 = true;
    l4 = l3 + IPV6_HLEN + ext.hdrLen;
    proto = ext.nextHeader;
  } else {
    return 'TX_NO_L4';
  }
  const csumStart = l4 - off;
  const csumOffset =
    meta.csumOffset !== 0 ? meta.csumOffset : proto === IpProto.TCP ? 16 : proto === IpProto.UDP ? 6 : 0;
  if (csumOffset === 0) return 'TX_NO_L4';
  if (csumStart + csumOffset + 2 > frameLen) return 'TX_UNPARSABLE';
  out.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
  out.csumStart = csumStart;
  out.csumOffset = csumOffset;
  if (gso === META_GSO_NONE) return null;

  if (meta.gsoSize <= 0 || meta.gsoSize >= 0xffff) return 'TX_GSO_SIZE';
  let ecn = meta.gsoType & META_GSO_ECN;
  if (gso === META_GSO_TCPV4 || gso === META_GSO_TCPV6) {
    if (proto !== IpProto.TCP || isV6 !== (gso === META_GSO_TCPV6)) return 'TX_GSO_MISMATCH';
    if (tcp.reset(buf, l4, end - l4).checkHeader() !== null) return 'TX_UNPARSABLE';
    out.hdrLen = csumStart + tcp.headerLen;
    if ((buf[l4 + 13]! & TcpFlags.CWR) !== 0 && ecn === 0) {
      if (opts?.allowEcn !== true) return 'TX_TSO_CWR';
      ecn = META_GSO_ECN;
    }
  } else if (gso === META_GSO_UDP_L4 || gso === META_GSO_UDP) {
    if (proto !== IpProto.UDP) return 'TX_GSO_MISMATCH';
    if (ecn !== 0) return 'TX_GSO_MISMATCH';
    if (l4 + UDP_HLEN > end) return 'TX_UNPARSABLE';
    out.hdrLen = csumStart + UDP_HLEN;
  } else {
    return 'TX_GSO_MISMATCH';
  }
  // The IP length fields cap a super-frame: IPv4 tot_len, IPv6 payload_len.
  const l3Bytes = frameLen - (l3 - off);
  if ((isV6 ? l3Bytes - IPV6_HLEN : l3Bytes) > 0xffff) return 'TX_GSO_TOO_LONG';
  const payload = frameLen - out.hdrLen;
  // Linux refuses USO beyond UDP_MAX_SEGMENTS (udp_send_skb); a writer must not send it.
  if (gso === META_GSO_UDP_L4 && payload > meta.gsoSize * UDP_MAX_SEGMENTS) return 'TX_GSO_TOO_LONG';
  if (payload <= meta.gsoSize) {
    // One segment is not a super-frame (tcp_set_skb_tso_segs): send it checksum-offloaded only.
    // Left as GSO, Linux would drop a TCP frame whose payload + options exceed gso_size.
    out.hdrLen = 0;
    return null;
  }
  out.gsoType = gso | (ecn !== 0 ? VIRTIO_NET_HDR_GSO_ECN : 0);
  out.gsoSize = meta.gsoSize;
  return null;
}

/**
 * The header written from the offload fields the stack set (skb->csum_start, csum_offset, gso_*)
 * straight into dst[dstOff, dstOff + size) (size 10 or 12; num_buffers 0), without parsing the
 * frame and without an intermediate VnetHdr: Linux's virtio_net_hdr_from_skb, which fills the
 * header in the skb's headroom. The stack that built the frame knows its layout, so the per-packet
 * header walk of buildTxHdr() is only needed for frames whose metadata says less (no csumStart, UDP
 * segmentation). The frame's first headLen bytes are buf[off...]. Returns false, having written
 * nothing, when the fields do not describe the frame completely or consistently (or dst has no
 * room); the caller then builds the header by parsing, which also gives a bad frame its TX_* code.
 * @mirrors linux/virtio_net.h:virtio_net_hdr_from_skb
 */
export function txHdrFromMeta(
  meta: PacketMeta,
  buf: Uint8Array,
  off: number,
  headLen: number,
  frameLen: number,
  dst: Uint8Array,
  dstOff: number,
  size: number,
  opts?: TxHdrOptions,
): boolean {
  if ((size !== VNET_HDR_LEN && size !== VNET_HDR_MRG_LEN) || dstOff < 0 || dstOff + size > dst.length)
    return false;
  const cs = meta.csumStart;
  const co = meta.csumOffset;
  const gso = meta.gsoType & ~META_GSO_ECN;
  // Nothing to offload: the all-zero header.
  if ((meta.flags & META_F_NEEDS_CSUM) === 0) {
    if (gso !== META_GSO_NONE) return false;
    dst.fill(0, dstOff, dstOff + size);
    return true;
  }
  if (cs + co + 2 > frameLen || cs > headLen || off + cs > buf.length) return false;
  // Two byte reads confirm the fields name the frame's real L4 header (an untagged IPv4 header
  // of IHL words, or an IPv6 header with no extension header, carrying TCP or UDP); anything
  // else is left to the parser.
  const proto = co === 16 ? IpProto.TCP : co === 6 ? IpProto.UDP : -1;
  const type = cs >= ETH_HLEN ? get16(buf, off + 12) : -1;
  if (type === 0x0800) {
    const ihl = buf[off + ETH_HLEN]! & 0x0f;
    if (ihl < 5 || cs !== ETH_HLEN + ihl * 4 || buf[off + ETH_HLEN + 9] !== proto) return false;
  } else if (type !== 0x86dd || cs !== ETH_HLEN + IPV6_HLEN || buf[off + ETH_HLEN + 6] !== proto) {
    return false;
  }
  let gsoType = VIRTIO_NET_HDR_GSO_NONE;
  let hdrLen = 0;
  let gsoSize = 0;
  if (gso !== META_GSO_NONE) {
    if ((gso !== META_GSO_TCPV4 || type !== 0x0800) && (gso !== META_GSO_TCPV6 || type !== 0x86dd))
      return false;
    // The TCP header, whose data offset it confirms, ends the replicated headers; the IP length
    // fields cap the frame.
    const hl = meta.hdrLen;
    if (proto !== IpProto.TCP || cs + TCP_MIN_HLEN > headLen || off + cs + TCP_MIN_HLEN > buf.length)
      return false;
    if (hl !== cs + (buf[off + cs + 12]! >> 4) * 4 || hl < cs + TCP_MIN_HLEN || hl > headLen) return false;
    if (meta.gsoSize <= 0 || meta.gsoSize >= 0xffff) return false;
    if (frameLen - ETH_HLEN - (gso === META_GSO_TCPV6 ? IPV6_HLEN : 0) > 0xffff) return false;
    let ecn = meta.gsoType & META_GSO_ECN;
    if ((buf[off + cs + 13]! & TcpFlags.CWR) !== 0 && ecn === 0) {
      if (opts?.allowEcn !== true) return false;
      ecn = META_GSO_ECN;
    }
    // One segment is not a super-frame (as in buildTxHdr): checksum offload only.
    if (frameLen - hl > meta.gsoSize) {
      hdrLen = hl;
      gsoType = gso | (ecn !== 0 ? VIRTIO_NET_HDR_GSO_ECN : 0);
      gsoSize = meta.gsoSize;
    }
  }
  dst[dstOff + VNET_OFF_FLAGS] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
  dst[dstOff + VNET_OFF_GSO_TYPE] = gsoType;
  setLe16(dst, dstOff + VNET_OFF_HDR_LEN, hdrLen);
  setLe16(dst, dstOff + VNET_OFF_GSO_SIZE, gsoSize);
  setLe16(dst, dstOff + VNET_OFF_CSUM_START, cs);
  setLe16(dst, dstOff + VNET_OFF_CSUM_OFFSET, co);
  if (size === VNET_HDR_MRG_LEN) setLe16(dst, dstOff + VNET_OFF_NUM_BUFFERS, 0);
  return true;
}

/** buildTxHdr() for an mbuf: makes its headers contiguous first (m_pullup). */
export function buildTxHdrMbuf(m: Mbuf, out: VnetHdr, opts?: TxHdrOptions): VnetHdrErrorCode | null {
  const want = Math.min(m.length, TX_PULLUP, m.pool.segmentSize);
  if (!m.pullup(want)) return 'TX_UNPARSABLE';
  return buildTxHdr(m.meta, m.pool.data, m.dataOffset, m.headLength, m.length, out, opts);
}
