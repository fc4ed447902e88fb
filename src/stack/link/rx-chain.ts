// Which chained frames (GRO / TSO super-frames that arrive as multi-slot chains) the layers can
// take without linearising: the Ethernet, IP and TCP headers all lie in the first segment, so the
// layers parse them there and only the TCP payload is read from the chain, straight into the
// receive buffer. Linux asks the same of an skb's linear part with pskb_may_pull() before a header
// is read; what fails here is linearised by the link instead (counted).
import {
  EtherType,
  ETH_HLEN,
  get16,
  IpProto,
  IPV4_MIN_HLEN,
  IPV6_HLEN,
  TCP_MIN_HLEN,
} from '../../wire/index.ts';

/**
 * True when the frame at buf[off, off+head) (its first segment; the frame is longer) is untagged
 * IPv4 or IPv6 carrying TCP, not an IP fragment, with no IPv6 extension header, and its TCP header
 * with options ends inside those `head` bytes. Reads only inside them. The layers still check
 * every header: this only decides where the payload is read from.
 */
export function tcpHeadersInHead(buf: Uint8Array, off: number, head: number): boolean {
  if (head < ETH_HLEN + IPV4_MIN_HLEN + TCP_MIN_HLEN) return false;
  const l3 = off + ETH_HLEN;
  const end = off + head;
  let l4: number;
  const type = get16(buf, off + 12);
  if (type === EtherType.IPV4) {
    const ihl = (buf[l3]! & 0x0f) * 4;
    // Version, IHL, protocol; MF or a fragment offset makes a fragment (reassembled from copies).
    if (buf[l3]! >> 4 !== 4 || ihl < IPV4_MIN_HLEN || buf[l3 + 9] !== IpProto.TCP) return false;
    if ((get16(buf, l3 + 6) & 0x3fff) !== 0) return false;
    l4 = l3 + ihl;
  } else if (type === EtherType.IPV6) {
    if (head < ETH_HLEN + IPV6_HLEN + TCP_MIN_HLEN) return false;
    if (buf[l3]! >> 4 !== 6 || buf[l3 + 6] !== IpProto.TCP) return false;
    l4 = l3 + IPV6_HLEN;
  } else {
    return false;
  }
  if (l4 + TCP_MIN_HLEN > end) return false;
  const thl = (buf[l4 + 12]! >> 4) * 4;
  return thl >= TCP_MIN_HLEN && l4 + thl <= end;
}
