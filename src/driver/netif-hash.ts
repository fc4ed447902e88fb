// TX queue selection for the interface mode. Linux leaves it to the stack (skb_get_queue_mapping,
// i.e. skb_get_hash over the flow dissector's 5-tuple); FreeBSD ptnet_transmit uses the mbuf's
// flowid when a hash type is set. Here: PacketMeta.flowHash when the stack set one, otherwise a
// cheap hash of the addresses, the protocol and (unfragmented TCP/UDP/SCTP only) the ports, so
// every packet of a flow, IP fragments included, takes one ring and stays in order.
import type { Mbuf } from '../mbuf/index.ts';
import { EtherType, IpProto, isVlanTpid } from '../wire/index.ts';

/** Bytes made contiguous before parsing: Ethernet + 2 VLAN tags + IPv6 + ports. */
const HASH_PULLUP = 14 + 8 + 40 + 4;

function u32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

/** One murmur3 round: mixes k into h. */
function mix(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  h ^= Math.imul(k, 0x1b873593);
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** murmur3's fmix32: every input bit reaches every output bit. */
function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * Hash of m's flow (IPv4/IPv6 addresses, protocol, ports), or 0 for frames that are not IP or whose
 * headers are cut short. Makes the first bytes contiguous (m_pullup), which leaves the content as is.
 */
export function flowHash(m: Mbuf): number {
  const want = Math.min(m.length, HASH_PULLUP, m.pool.segmentSize);
  if (want < 14 || !m.pullup(want)) return 0;
  const b = m.pool.data;
  const end = m.dataOffset + m.headLength;
  let t = m.dataOffset + 12;
  let type = (b[t]! << 8) | b[t + 1]!;
  while (isVlanTpid(type)) {
    t += 4;
    if (t + 2 > end) return 0;
    type = (b[t]! << 8) | b[t + 1]!;
  }
  const l3 = t + 2;
  let h = 0;
  let proto: number;
  let l4: number;
  let frag: boolean;
  if (type === EtherType.IPV4) {
    if (l3 + 20 > end) return 0;
    proto = b[l3 + 9]!;
    h = mix(mix(h, u32(b, l3 + 12)), u32(b, l3 + 16));
    l4 = l3 + (b[l3]! & 0x0f) * 4;
    // MF set or a nonzero offset: only the first fragment has ports, so none of them uses any.
    frag = (((b[l3 + 6]! << 8) | b[l3 + 7]!) & 0x3fff) !== 0;
  } else if (type === EtherType.IPV6) {
    if (l3 + 40 > end) return 0;
    proto = b[l3 + 6]!;
    for (let o = l3 + 8; o < l3 + 40; o += 4) h = mix(h, u32(b, o));
    l4 = l3 + 40;
    // Extension headers are not walked: such packets hash on addresses and next header alone.
    frag = false;
  } else {
    return 0;
  }
  h = mix(h, proto);
  if (!frag && (proto === IpProto.TCP || proto === IpProto.UDP || proto === IpProto.SCTP) && l4 + 4 <= end)
    h = mix(h, u32(b, l4));
  return fmix(h) || 1;
}

/** The TX queue for m among nq: flowHash from the meta when set, else from the packet. */
export function txQueueOf(m: Mbuf, nq: number): number {
  if (nq <= 1) return 0;
  const h = m.meta.flowHash !== 0 ? m.meta.flowHash >>> 0 : flowHash(m);
  return h % nq;
}
