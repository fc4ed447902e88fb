// Checksum verdicts for one captured packet, for `ptnet-ts pcap verify`: the IPv4 header checksum
// whenever the header is captured, and the TCP/UDP/ICMP/ICMPv6 checksum of an unfragmented packet
// captured whole. `partial` is a NEEDS_CSUM super-frame whose L4 field holds just the folded
// pseudo-header sum at csum_start + csum_offset (what Linux hands a vnet_hdr tap reader).
import { csumValid, ipv4HeaderValid, pseudoV4, pseudoV6 } from '../checksum/index.ts';
import {
  LINKTYPE_ETHERNET,
  LINKTYPE_IPV4,
  LINKTYPE_IPV6,
  LINKTYPE_LINUX_SLL,
  LINKTYPE_LINUX_SLL2,
  LINKTYPE_LOOP,
  LINKTYPE_NULL,
  LINKTYPE_RAW,
  parseVnetComment,
  type CapturePacket,
} from '../pcap/index.ts';
import { EtherType, FrameInfo, IpProto, dissectFrame, dissectL3 } from '../wire/index.ts';

export type Verdict = 'good' | 'bad' | 'partial';

/** The checks of one packet, in output order; a key is absent where that checksum is. */
export interface Verdicts {
  ipv4?: Verdict;
  tcp?: Verdict;
  udp?: Verdict;
  icmp?: Verdict;
  icmpv6?: Verdict;
}

/** VIRTIO_NET_HDR_F_NEEDS_CSUM. */
const NEEDS_CSUM = 1;
/** BSD/Linux/Darwin values of AF_INET6 seen in DLT_NULL/DLT_LOOP headers; AF_INET is 2 everywhere. */
const AF_INET = 2;
const AF_INET6 = new Set([10, 24, 28, 30]);

const info = new FrameInfo();

/** EtherType for a 4-byte DLT_NULL/LOOP family word written in either byte order, or 0. */
function familyType(buf: Uint8Array, off: number): number {
  const le = buf[off]! | (buf[off + 1]! << 8) | (buf[off + 2]! << 16) | (buf[off + 3]! << 24);
  const be = (buf[off]! << 24) | (buf[off + 1]! << 16) | (buf[off + 2]! << 8) | buf[off + 3]!;
  if (le === AF_INET || be === AF_INET) return EtherType.IPV4;
  if (AF_INET6.has(le) || AF_INET6.has(be)) return EtherType.IPV6;
  return 0;
}

/** Dissects the packet per its linktype into `info`; false when the linktype carries no IP. */
function dissect(p: CapturePacket): boolean {
  const buf = p.buffer;
  const off = p.dataOffset;
  const len = p.caplen;
  let hdr: number;
  let type: number;
  switch (p.linktype) {
    case LINKTYPE_ETHERNET:
      dissectFrame(buf, off, len, info);
      return true;
    case LINKTYPE_RAW:
      dissectL3(buf, off, len, info, 0);
      return true;
    case LINKTYPE_IPV4:
      dissectL3(buf, off, len, info, EtherType.IPV4);
      return true;
    case LINKTYPE_IPV6:
      dissectL3(buf, off, len, info, EtherType.IPV6);
      return true;
    case LINKTYPE_LINUX_SLL: // pkttype, ARPHRD, addr_len, addr[8], protocol
      hdr = 16;
      type = len >= hdr ? (buf[off + 14]! << 8) | buf[off + 15]! : 0;
      break;
    case LINKTYPE_LINUX_SLL2: // protocol, reserved, ifindex, ARPHRD, pkttype, addr_len, addr[8]
      hdr = 20;
      type = len >= hdr ? (buf[off]! << 8) | buf[off + 1]! : 0;
      break;
    case LINKTYPE_NULL:
    case LINKTYPE_LOOP:
      hdr = 4;
      type = len >= hdr ? familyType(buf, off) : 0;
      break;
    default:
      return false;
  }
  if (type !== EtherType.IPV4 && type !== EtherType.IPV6) return false;
  dissectL3(buf, off + hdr, len - hdr, info, type);
  return true;
}

/** Verdict of an L4 checksum over buf[l4, l4 + l4len) with pseudo-header sum `pseudo` (0: none). */
function l4Verdict(
  buf: Uint8Array,
  l4: number,
  l4len: number,
  pseudo: number,
  fieldOff: number,
  partialAt: number,
): Verdict {
  if (csumValid(buf, l4, l4len, pseudo)) return 'good';
  if (fieldOff === partialAt && ((buf[fieldOff]! << 8) | buf[fieldOff + 1]!) === pseudo) return 'partial';
  return 'bad';
}

/**
 * Fills `out` (cleared first) with the verdicts for packet `p`. Throws PcapError BAD_VNET_COMMENT
 * when the packet's comment is a malformed vnet comment.
 */
export function verifyPacket(p: CapturePacket, out: Verdicts): Verdicts {
  delete out.ipv4;
  delete out.tcp;
  delete out.udp;
  delete out.icmp;
  delete out.icmpv6;
  if (!dissect(p)) return out;
  const buf = p.buffer;
  const end = p.dataOffset + p.caplen;
  const l3 = info.l3Off;
  if (info.l3Kind === 'ipv4' && l3 >= 0 && l3 + 20 <= end) {
    const ihl = (buf[l3]! & 0x0f) * 4;
    if (buf[l3]! >> 4 === 4 && ihl >= 20 && l3 + ihl <= end)
      out.ipv4 = ipv4HeaderValid(buf, l3) ? 'good' : 'bad';
  }
  // L4: only a packet that dissected cleanly, is not a fragment and was captured whole.
  if (info.error !== null || info.isFragment || info.l4Off < 0 || info.l3End > end) return out;
  const v4 = info.l3Kind === 'ipv4';
  const l4 = info.l4Off;
  const l4len = info.l3End - l4;
  // Where a NEEDS_CSUM vnet comment says the partial checksum lives (buffer index), else -1.
  let partialAt = -1;
  const h = p.comment === null ? null : parseVnetComment(p.comment);
  // csum_start counts from the Ethernet header, so the convention applies to Ethernet frames only.
  if (h !== null && (h.flags & NEEDS_CSUM) !== 0 && p.linktype === LINKTYPE_ETHERNET) {
    partialAt = p.dataOffset + h.csumStart + h.csumOffset;
  }
  switch (info.l4Proto) {
    case IpProto.TCP:
      out.tcp = l4Verdict(buf, l4, l4len, pseudo(buf, l3, v4, IpProto.TCP, l4len), l4 + 16, partialAt);
      break;
    case IpProto.UDP: {
      const ulen = (buf[l4 + 4]! << 8) | buf[l4 + 5]!;
      // Over IPv4 a zero UDP checksum means "none" (RFC 768); over IPv6 it is an error (RFC 8200).
      if ((v4 && buf[l4 + 6] === 0 && buf[l4 + 7] === 0) || ulen < 8 || ulen > l4len) break;
      out.udp = l4Verdict(buf, l4, ulen, pseudo(buf, l3, v4, IpProto.UDP, ulen), l4 + 6, partialAt);
      break;
    }
    case IpProto.ICMP:
      if (v4) out.icmp = csumValid(buf, l4, l4len) ? 'good' : 'bad';
      break;
    case IpProto.ICMPV6:
      if (!v4)
        out.icmpv6 = l4Verdict(buf, l4, l4len, pseudo(buf, l3, v4, IpProto.ICMPV6, l4len), l4 + 2, partialAt);
      break;
  }
  return out;
}

/** Pseudo-header sum of the IPv4 or IPv6 header at buf[l3]. */
function pseudo(buf: Uint8Array, l3: number, v4: boolean, proto: number, len: number): number {
  if (!v4) return pseudoV6(buf, l3 + 8, l3 + 24, proto, len);
  const src = ((buf[l3 + 12]! << 24) | (buf[l3 + 13]! << 16) | (buf[l3 + 14]! << 8) | buf[l3 + 15]!) >>> 0;
  const dst = ((buf[l3 + 16]! << 24) | (buf[l3 + 17]! << 16) | (buf[l3 + 18]! << 8) | buf[l3 + 19]!) >>> 0;
  return pseudoV4(src, dst, proto, len);
}
