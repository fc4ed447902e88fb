// IPv6 extension-header helpers for input (RFC 8200 §4): the hop-by-hop / destination options TLV
// walk (ip6_parse_tlv) and the RFC 7112 check that a first fragment carries the whole header chain.
import { IpProto } from '../../wire/index.ts';

/** parseTlvOptions: every option known or skippable. */
export const TLV_OK = -1;
/** parseTlvOptions: drop the packet silently. */
export const TLV_DROP = -2;

/**
 * Walks the options in buf[o, end) (ip6_parse_tlv). An unknown option is handled by its two high
 * bits (RFC 8200 §4.2): skip, discard, discard + ICMP, discard + ICMP unless the destination was
 * multicast. Returns TLV_OK, TLV_DROP, or the offset of the option an ICMPv6 parameter problem
 * (code 2) must point at.
 * @mirrors exthdrs.c:ip6_parse_tlv
 */
export function parseTlvOptions(buf: Uint8Array, o: number, end: number, mcast: boolean): number {
  while (o < end) {
    const t = buf[o]!;
    if (t === 0) {
      o++;
      continue;
    }
    // PadN (1) and Router Alert (5) are known; anything else follows its action bits.
    if (t !== 1 && t !== 5) {
      const action = t >> 6;
      if (action !== 0) return action === 2 || (action === 3 && !mcast) ? o : TLV_DROP;
    }
    o += 2 + buf[o + 1]!;
  }
  return TLV_OK;
}

/**
 * The extension headers from next header nh at buf[o] end inside buf[o, end), followed by the
 * upper header's first 8 bytes (RFC 7112; ipv6_frag_rcv's first-fragment check).
 */
export function chainFits(buf: Uint8Array, nh: number, o: number, end: number): boolean {
  while (nh === IpProto.HOPOPTS || nh === IpProto.IPV6_DSTOPTS || nh === IpProto.IPV6_ROUTING) {
    if (o + 2 > end) return false;
    nh = buf[o]!;
    o += (buf[o + 1]! + 1) * 8;
  }
  return nh === IpProto.IPV6_NONXT || o + 8 <= end;
}
