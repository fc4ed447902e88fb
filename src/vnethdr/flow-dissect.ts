// The part of Linux's flow dissector that virtio_net_hdr_to_skb() uses to find the transport header
// of a GSO frame written without NEEDS_CSUM: __skb_flow_dissect() with flow_keys_basic (control and
// basic keys only) and flags 0 (skb_flow_dissect_flow_keys_basic). With those keys and flags the
// dissector walks VLAN tags, IPv4, IPv6 and its extension headers, IP-in-IP and GRE version 0, and
// stops at the first fragment without parsing it. It reports success, the transport offset
// (key_control->thoff) and the last protocol number (key_basic->ip_proto).
import { EtherType, get16, IpProto } from '../wire/index.ts';

/** MAX_FLOW_DISSECT_HDRS: how many PROTO_AGAIN / IPPROTO_AGAIN steps the dissector allows. */
const MAX_FLOW_DISSECT_HDRS = 15;

const GRE_CSUM = 0x8000;
const GRE_ROUTING = 0x4000;
const GRE_KEY = 0x2000;
const GRE_SEQ = 0x1000;
const GRE_VERSION = 0x0007;
/** ETH_P_TEB: transparent Ethernet bridging inside GRE. */
const ETH_P_TEB = 0x6558;

/** flow_keys_basic as virtio_net_hdr_to_skb() reads it. Reused between calls. */
export class FlowKeysBasic {
  /** The dissector returned true (FLOW_DISSECT_RET_OUT_GOOD). */
  ok = false;
  /** key_control->thoff, from the frame start: min(nhoff, frame length) as u16. */
  thoff = 0;
  /** key_basic->ip_proto. */
  ipProto = 0;
  /** key_basic->n_proto: the last network protocol (EtherType) dissected. */
  nProto = 0;
}

// enum flow_dissect_ret: what the dissection loop does next.
const OUT_GOOD = 0;
const OUT_BAD = 1;
const PROTO_AGAIN = 2;
const IPPROTO_AGAIN = 3;
const CONTINUE = 4;

/** Whether `n` bytes at frame offset `at` exist (__skb_header_pointer() returns NULL otherwise). */
function fits(at: number, n: number, len: number): boolean {
  return at >= 0 && at + n <= len;
}

/**
 * __skb_flow_dissect(NULL, skb, &flow_keys_basic_dissector, &keys, NULL, proto, nhoff, 0, 0) over
 * buf[off, off + len): `proto` is the EtherType to start from, `nhoff` the network header's offset
 * from the frame start. Never reads outside the frame; the result is left in `keys`.
 * @mirrors flow_dissector.c:__skb_flow_dissect
 */
export function flowDissectBasic(
  buf: Uint8Array,
  off: number,
  len: number,
  proto: number,
  nhoff: number,
  keys: FlowKeysBasic,
): FlowKeysBasic {
  let ipProto = 0;
  let hdrs = 0;
  let ret: number;
  outer: for (;;) {
    // proto_again
    ret = OUT_BAD;
    if (proto === EtherType.IPV4) {
      if (!fits(nhoff, 20, len) || (buf[off + nhoff]! & 0x0f) < 5) {
        ret = OUT_BAD;
      } else {
        const ih = off + nhoff;
        ipProto = buf[ih + 9]!;
        const frag = get16(buf, ih + 6);
        nhoff += (buf[ih]! & 0x0f) * 4;
        // A fragment (MF or an offset) ends the walk: flags 0 means no FLOW_DISSECTOR_F_PARSE_1ST_FRAG.
        ret = (frag & 0x3fff) !== 0 ? OUT_GOOD : CONTINUE;
      }
    } else if (proto === EtherType.IPV6) {
      if (!fits(nhoff, 40, len)) {
        ret = OUT_BAD;
      } else {
        ipProto = buf[off + nhoff + 6]!;
        nhoff += 40;
        ret = CONTINUE;
      }
    } else if (proto === EtherType.VLAN || proto === EtherType.QINQ) {
      if (!fits(nhoff, 4, len)) {
        ret = OUT_BAD;
      } else {
        proto = get16(buf, off + nhoff + 2);
        nhoff += 4;
        ret = PROTO_AGAIN;
      }
    } else if (proto === EtherType.ARP) {
      // Without the ARP key the dissector stops here, successfully, with ip_proto unset.
      ret = OUT_GOOD;
    }
    // Every other EtherType either fails or stops without an IP protocol; to the caller both mean
    // "no TCP/UDP transport header", so they are folded into OutBad/OutGood above.
    if (ret === OUT_GOOD) break;
    if (ret === OUT_BAD) {
      keys.ok = false;
      return finish(keys, nhoff, len, proto, ipProto);
    }
    if (ret === PROTO_AGAIN) {
      if (++hdrs <= MAX_FLOW_DISSECT_HDRS) continue;
      break;
    }
    // ip_proto_again
    for (;;) {
      ret = CONTINUE;
      if (
        ipProto === IpProto.HOPOPTS ||
        ipProto === IpProto.IPV6_ROUTING ||
        ipProto === IpProto.IPV6_DSTOPTS
      ) {
        if (proto === EtherType.IPV6) {
          if (!fits(nhoff, 2, len)) ret = OUT_BAD;
          else {
            const o = off + nhoff;
            ipProto = buf[o]!;
            nhoff += (buf[o + 1]! + 1) << 3;
            ret = IPPROTO_AGAIN;
          }
        }
      } else if (ipProto === IpProto.IPV6_FRAGMENT) {
        if (proto === EtherType.IPV6) {
          if (!fits(nhoff, 8, len)) ret = OUT_BAD;
          else {
            ipProto = buf[off + nhoff]!;
            nhoff += 8;
            ret = OUT_GOOD; // first fragment or not: PARSE_1ST_FRAG is not set
          }
        }
      } else if (ipProto === IpProto.IPIP || ipProto === IpProto.IPV6) {
        proto = ipProto === IpProto.IPIP ? EtherType.IPV4 : EtherType.IPV6;
        ret = PROTO_AGAIN;
      } else if (ipProto === IpProto.GRE) {
        const g = greStep(buf, off, len, nhoff);
        if (g < 0) ret = g === GRE_BAD ? OUT_BAD : OUT_GOOD;
        else {
          proto = greProto;
          nhoff = g;
          ret = PROTO_AGAIN;
        }
      }
      if (ret === OUT_BAD) {
        keys.ok = false;
        return finish(keys, nhoff, len, proto, ipProto);
      }
      if (ret === IPPROTO_AGAIN) {
        if (++hdrs <= MAX_FLOW_DISSECT_HDRS) continue;
        break outer;
      }
      if (ret === PROTO_AGAIN) {
        if (++hdrs <= MAX_FLOW_DISSECT_HDRS) continue outer;
      }
      break outer;
    }
  }
  keys.ok = true;
  return finish(keys, nhoff, len, proto, ipProto);
}

function finish(
  keys: FlowKeysBasic,
  nhoff: number,
  len: number,
  proto: number,
  ipProto: number,
): FlowKeysBasic {
  // min_t(u16, nhoff, skb->len): both sides are cast to u16 first.
  keys.thoff = Math.min(nhoff & 0xffff, len & 0xffff);
  keys.nProto = proto;
  keys.ipProto = ipProto;
  return keys;
}

const GRE_BAD = -1;
const GRE_STOP = -2;
let greProto = 0;

/**
 * __skb_flow_dissect_gre() for the base header at frame offset `at`: the offset of the inner
 * header (and its EtherType in greProto), GRE_STOP where Linux stops successfully (routing,
 * version > 1, PPTP which is not followed here), or GRE_BAD.
 */
function greStep(buf: Uint8Array, off: number, len: number, at: number): number {
  if (at + 4 > len) return GRE_BAD;
  const flags = get16(buf, off + at);
  if ((flags & GRE_ROUTING) !== 0 || (flags & GRE_VERSION) !== 0) return GRE_STOP;
  greProto = get16(buf, off + at + 2);
  let o = 4;
  if ((flags & GRE_CSUM) !== 0) o += 4;
  if ((flags & GRE_KEY) !== 0) {
    if (at + o + 4 > len) return GRE_BAD;
    o += 4;
  }
  if ((flags & GRE_SEQ) !== 0) o += 4;
  if (greProto === ETH_P_TEB) {
    if (at + o + 14 > len) return GRE_BAD;
    greProto = get16(buf, off + at + o + 12);
    o += 14;
  }
  return at + o;
}
