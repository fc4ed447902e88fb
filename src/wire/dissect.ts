// Allocation-free L2 → L3 → L4 walk of one frame into a reusable FrameInfo: what virtio_net_hdr
// building (FreeBSD virtio_net_tx_offload), software GSO, checksum verification and the stack's
// input demux all need. Mirrors the kernel flow dissector's offsets, not its hashing.
import { EtherType, ETH_HLEN, ICMP_HLEN, IPV6_HLEN, IpProto, UDP_HLEN, VLAN_HLEN } from './constants.ts';
import type { WireErrorCode } from './errors.ts';
import { isVlanTpid } from './ethernet.ts';
import { Ipv4View } from './ipv4.ts';
import { Ipv6View } from './ipv6.ts';
import { TcpView } from './tcp.ts';
import { UdpView } from './udp.ts';
import { get16 } from './bytes.ts';

export type L3Kind = 'none' | 'ipv4' | 'ipv6' | 'arp' | 'other';

/**
 * Result of dissectFrame()/dissectL3(). Offsets index the buffer; -1 where a layer is absent. On
 * an error, the layers before the fault stay filled (an IPv4/IPv6 fixed header that was whole is
 * reported even when its payload is cut short).
 */
export class FrameInfo {
  /** null when every layer present parsed; otherwise the first fault and where it is. */
  error: WireErrorCode | null = null;
  errorOffset = 0;
  /** Start and end (exclusive) of the frame window. */
  start = 0;
  end = 0;
  /** Ethernet header length incl. VLAN tags; 0 when dissection started at L3. */
  l2Len = 0;
  vlanCount = 0;
  /** TCI of the outermost tag, -1 if untagged. */
  outerTci = -1;
  /** EtherType after the VLAN tags (or implied by the L3 start). */
  etherType = 0;
  l3Kind: L3Kind = 'none';
  l3Off = -1;
  /** IPv4 IHL*4, or 40 + IPv6 extension headers, or the ARP packet length. */
  l3HdrLen = 0;
  /** Length by the IP header's own length field (excludes Ethernet padding). */
  l3Len = 0;
  /** IPv4 more-fragments or offset, or an IPv6 fragment header. */
  isFragment = false;
  /** A fragment with offset 0 (its L4 header is present). */
  isFirstFragment = false;
  fragOffset = 0;
  moreFrags = false;
  /** IPv4 protocol / final IPv6 next header; -1 without IP. */
  l4Proto = -1;
  l4Off = -1;
  /** TCP data offset * 4, UDP 8, ICMP/ICMPv6 8; 0 for other protocols and non-first fragments. */
  l4HdrLen = 0;
  payloadOff = -1;
  payloadLen = 0;

  clear(start: number, end: number): void {
    this.error = null;
    this.errorOffset = 0;
    this.start = start;
    this.end = end;
    this.l2Len = 0;
    this.vlanCount = 0;
    this.outerTci = -1;
    this.etherType = 0;
    this.l3Kind = 'none';
    this.l3Off = -1;
    this.l3HdrLen = 0;
    this.l3Len = 0;
    this.isFragment = false;
    this.isFirstFragment = false;
    this.fragOffset = 0;
    this.moreFrags = false;
    this.l4Proto = -1;
    this.l4Off = -1;
    this.l4HdrLen = 0;
    this.payloadOff = -1;
    this.payloadLen = 0;
  }

  /** Index in buf where the L3 packet ends by its length field. */
  get l3End(): number {
    return this.l3Off + this.l3Len;
  }
}

// One set of views for the whole module: dissection is synchronous and never re-entered.
const v4 = new Ipv4View();
const v6 = new Ipv6View();
const tcp = new TcpView();
const udp = new UdpView();

function fail(out: FrameInfo, code: WireErrorCode, at: number): WireErrorCode {
  out.error = code;
  out.errorOffset = at;
  return code;
}

function badWindow(buf: Uint8Array, off: number, len: number): boolean {
  return !Number.isInteger(off) || !Number.isInteger(len) || off < 0 || len < 0 || off + len > buf.length;
}

/** Dissect the Ethernet frame buf[off, off+len) into out; returns out.error. */
export function dissectFrame(
  buf: Uint8Array,
  off: number,
  len: number,
  out: FrameInfo,
): WireErrorCode | null {
  if (badWindow(buf, off, len)) {
    out.clear(0, 0);
    return fail(out, 'TRUNCATED', Math.min(Math.max(off, 0), buf.length));
  }
  const end = off + len;
  out.clear(off, end);
  if (len < ETH_HLEN) return fail(out, 'TRUNCATED', end);
  let t = off + 12;
  let type = get16(buf, t);
  while (isVlanTpid(type)) {
    if (t + VLAN_HLEN + 2 > end) return fail(out, 'TRUNCATED', end);
    if (out.vlanCount === 0) out.outerTci = get16(buf, t + 2);
    out.vlanCount++;
    t += VLAN_HLEN;
    type = get16(buf, t);
  }
  out.l2Len = t + 2 - off;
  return l3(buf, t + 2, end, type, out);
}

/**
 * Dissect a packet that starts at L3 (pcap LINKTYPE_RAW/IPV4/IPV6). etherType selects IPv4/IPv6;
 * 0 means "by the version nibble" (LINKTYPE_RAW).
 */
export function dissectL3(
  buf: Uint8Array,
  off: number,
  len: number,
  out: FrameInfo,
  etherType = 0,
): WireErrorCode | null {
  if (badWindow(buf, off, len)) {
    out.clear(0, 0);
    return fail(out, 'TRUNCATED', Math.min(Math.max(off, 0), buf.length));
  }
  out.clear(off, off + len);
  let type = etherType;
  if (type === 0) {
    if (len < 1) return fail(out, 'TRUNCATED', off);
    const ver = buf[off]! >> 4;
    if (ver === 4) type = EtherType.IPV4;
    else if (ver === 6) type = EtherType.IPV6;
    else return fail(out, 'BAD_VERSION', off);
  }
  return l3(buf, off, off + len, type, out);
}

function l3(buf: Uint8Array, off: number, end: number, type: number, out: FrameInfo): WireErrorCode | null {
  out.etherType = type;
  out.l3Off = off;
  let avail: number; // L4 bytes by the IP length field
  if (type === EtherType.IPV4) {
    out.l3Kind = 'ipv4';
    // Header first, so a capture cut short (snaplen) still reports the IPv4 header it holds.
    const e = v4.reset(buf, off, end - off).checkHeader();
    if (e !== null) return fail(out, e, v4.errorOffset);
    out.l3HdrLen = v4.headerLen;
    out.l3Len = v4.totalLength;
    out.l4Proto = v4.protocol;
    out.isFragment = v4.isFragment;
    out.fragOffset = v4.fragOffset;
    out.moreFrags = v4.moreFrags;
    if (out.l3Len < out.l3HdrLen) return fail(out, 'BAD_TOTAL_LENGTH', off + 2);
    if (off + out.l3Len > end) return fail(out, 'TRUNCATED', end);
    avail = out.l3Len - out.l3HdrLen;
  } else if (type === EtherType.IPV6) {
    out.l3Kind = 'ipv6';
    const h = v6.reset(buf, off, end - off).checkHeader();
    if (h !== null) return fail(out, h, v6.errorOffset);
    out.l3HdrLen = IPV6_HLEN;
    out.l3Len = IPV6_HLEN + v6.payloadLength;
    out.l4Proto = v6.nextHeader;
    const e = v6.check();
    if (e !== null) return fail(out, e, v6.errorOffset);
    out.l3HdrLen = IPV6_HLEN + v6.ext.hdrLen;
    out.l4Proto = v6.ext.nextHeader;
    out.isFragment = v6.ext.isFragment;
    out.fragOffset = v6.ext.fragOffset;
    out.moreFrags = v6.ext.moreFrags;
    avail = out.l3Len - out.l3HdrLen;
  } else if (type === EtherType.ARP) {
    out.l3Kind = 'arp';
    if (off + 8 > end) return fail(out, 'TRUNCATED', end);
    const n = 8 + 2 * (buf[off + 4]! + buf[off + 5]!);
    if (off + n > end) return fail(out, 'TRUNCATED', end);
    out.l3HdrLen = n;
    out.l3Len = n;
    return null;
  } else {
    out.l3Kind = 'other';
    return null;
  }
  out.isFirstFragment = out.isFragment && out.fragOffset === 0;
  const l4 = off + out.l3HdrLen;
  out.l4Off = l4;
  out.payloadOff = l4;
  out.payloadLen = avail;
  if (out.fragOffset !== 0) return null; // a later fragment: no L4 header here
  let hl = 0;
  switch (out.l4Proto) {
    case IpProto.TCP: {
      const e = tcp.reset(buf, l4, avail).checkHeader();
      if (e !== null) return fail(out, e, tcp.errorOffset);
      hl = tcp.headerLen;
      break;
    }
    case IpProto.UDP: {
      if (avail < UDP_HLEN) return fail(out, 'TRUNCATED', l4 + avail);
      hl = UDP_HLEN;
      // A first fragment's UDP length covers the whole datagram, not this fragment.
      if (!out.isFragment) {
        const e = udp.reset(buf, l4, avail).check();
        if (e !== null) return fail(out, e, udp.errorOffset);
        avail = udp.length;
      }
      break;
    }
    case IpProto.ICMP:
    case IpProto.ICMPV6:
      if (out.l4Proto === (type === EtherType.IPV4 ? IpProto.ICMP : IpProto.ICMPV6)) {
        if (avail < ICMP_HLEN) return fail(out, 'TRUNCATED', l4 + avail);
        hl = ICMP_HLEN;
      }
      break;
  }
  out.l4HdrLen = hl;
  out.payloadOff = l4 + hl;
  out.payloadLen = avail - hl;
  return null;
}
